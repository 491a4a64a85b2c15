#!/usr/bin/env bash
# Three inventory hosts (aws, gcp, azure) create their networks and 3-node clusters in parallel,
# write one kubeconfig with three contexts, and a rerun reports changed=0 for every host. Then a
# long run: once the kubeconfig's EKS token expired, a later layer reaches every cluster through
# the multicloud.fabric.kubeconfig role (and the EKS cluster refuses it without). Everything
# created is deleted at the end, also on failure.
set -eux -o pipefail
config=../../integration_config.yml
# The shared setup role (setup_sandbox, see aliases) is found next to this target.
export ANSIBLE_ROLES_PATH=..
export ANSIBLE_FORKS=3
kubeconfig="${OUTPUT_DIR}/kubeconfig"
# Every name of this run starts with its own prefix.
prefix=it$(python3 -c 'import secrets; print(secrets.token_hex(3))')
args=(-e "@${config}" -e "kubeconfig_path=${kubeconfig}" -e "resource_prefix=${prefix}")

cleanup() {
  local rc=$?
  trap - EXIT
  ansible-playbook -i inventory.yml site.yml "${args[@]}" -e state=absent || rc=1
  exit "$rc"
}
trap cleanup EXIT

ansible-playbook -i inventory.yml site.yml "${args[@]}" "$@"
ansible-playbook -i inventory.yml site.yml "${args[@]}" "$@" | tee "${OUTPUT_DIR}/rerun.log"
for host in aws gcp azure; do
  grep -E "^${host} +: ok=[0-9]+ +changed=0 " "${OUTPUT_DIR}/rerun.log"
done
ansible-playbook -i inventory.yml verify.yml "${args[@]}" "$@"
ansible-playbook -i inventory.yml long_run.yml "${args[@]}" "$@"
