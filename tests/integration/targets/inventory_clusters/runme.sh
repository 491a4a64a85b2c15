#!/usr/bin/env bash
# The multicloud.fabric.clusters inventory plugin against the sandbox: three 1-node clusters
# (one per cloud) become hosts with their groups and variables, a kubeconfig, a faulted region
# only warns, the cache serves a second listing without a request, and a play over the `aws`
# group reaches exactly the EKS cluster. Everything created is deleted at the end, also on failure.
set -eux -o pipefail
config=../../integration_config.yml
export ANSIBLE_FORKS=3
args=(-e "@${config}" -e "output_dir=${OUTPUT_DIR}")

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
