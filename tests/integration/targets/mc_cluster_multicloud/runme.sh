#!/usr/bin/env bash
# Three inventory hosts (aws, gcp, azure) create their networks and 3-node clusters in parallel,
# write one kubeconfig with three contexts, and a rerun reports changed=0 for every host.
set -eux -o pipefail
config=../../integration_config.yml
export ANSIBLE_FORKS=3
kubeconfig="${OUTPUT_DIR}/kubeconfig"

ansible-playbook -i inventory.yml site.yml -e "@${config}" -e "kubeconfig_path=${kubeconfig}" "$@"
ansible-playbook -i inventory.yml site.yml -e "@${config}" -e "kubeconfig_path=${kubeconfig}" "$@" | tee "${OUTPUT_DIR}/rerun.log"
for host in aws gcp azure; do
  grep -E "^${host} +: ok=[0-9]+ +changed=0 " "${OUTPUT_DIR}/rerun.log"
done
ansible-playbook -i inventory.yml verify.yml -e "@${config}" -e "kubeconfig_path=${kubeconfig}" "$@"
ansible-playbook -i inventory.yml site.yml -e "@${config}" -e "kubeconfig_path=${kubeconfig}" -e state=absent "$@"
