#!/usr/bin/env bash
# The multicloud.fabric.clusters inventory plugin against the sandbox: three 1-node clusters
# (one per cloud) become hosts with their groups and variables, a kubeconfig, a faulted region
# only warns, the cache serves a second listing (and the same kubeconfig) without listing again, and a play over the `aws`
# group reaches exactly the EKS cluster. Everything created is deleted at the end, also on failure.
set -eux -o pipefail
config=../../integration_config.yml
# The shared setup role (setup_sandbox, see aliases) is found next to this target.
export ANSIBLE_ROLES_PATH=..
export ANSIBLE_FORKS=3
# Every name of this run starts with its own prefix.
prefix=it$(python3 -c 'import secrets; print(secrets.token_hex(3))')
args=(-e "@${config}" -e "output_dir=${OUTPUT_DIR}" -e "resource_prefix=${prefix}")

cleanup() {
  local rc=$?
  trap - EXIT
  ansible-playbook -i hosts.yml cleanup.yml "${args[@]}" || rc=1
  exit "$rc"
}
trap cleanup EXIT

ansible-playbook -i hosts.yml clusters.yml "${args[@]}" "$@"
ansible-playbook -i hosts.yml discover.yml "${args[@]}" "$@"
ansible-playbook -i "${OUTPUT_DIR}/sandbox.clusters.yml" aws_hosts.yml "${args[@]}" "$@"
ansible-playbook -i hosts.yml cache.yml "${args[@]}" "$@"
