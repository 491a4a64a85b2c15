#!/usr/bin/env bash
# The VPN mesh module by module on three sandbox clouds: every phase check -> apply -> check ->
# apply on every side, bad input refused before any write, the whole mesh UP and probed, a wrong
# key and a wrong ASN seen in each cloud's own status, keys in no output at -vvv, and a teardown
# that leaves no VPN resource or namespace. Everything created is deleted at the end, also on failure.
set -eux -o pipefail
config=../../integration_config.yml
export ANSIBLE_ROLES_PATH=..
export ANSIBLE_FORKS=3
prefix=it$(python3 -c 'import secrets; print(secrets.token_hex(3))')
args=(-i inventory.yml -e "@${config}" -e "resource_prefix=${prefix}")
root=$(python3 -c "import yaml; print(yaml.safe_load(open('$config'))['mc_collection_root'])")

cleanup() {
  local rc=$?
  trap - EXIT
  ansible-playbook teardown.yml "${args[@]}" >/dev/null 2>&1 || true
  ansible-playbook networks.yml "${args[@]}" -e state=absent || rc=1
  exit "$rc"
}
trap cleanup EXIT

ansible-playbook networks.yml "${args[@]}" "$@"
ansible-playbook bad_input.yml "${args[@]}" "$@"
ansible-playbook mesh.yml "${args[@]}" -vvv "$@" > "$OUTPUT_DIR/mesh.log" 2>&1 || { tail -150 "$OUTPUT_DIR/mesh.log"; exit 1; }
ansible-playbook faults.yml "${args[@]}" -vvv "$@" > "$OUTPUT_DIR/faults.log" 2>&1 || { tail -150 "$OUTPUT_DIR/faults.log"; exit 1; }

# No key of the mesh (the explicit ones, the seed and every key derived from it) is in any output.
PYTHONPATH=$(dirname "$(dirname "$(dirname "$root")")") python3 - "$OUTPUT_DIR" "$prefix" <<'PY'
import pathlib, sys, yaml
from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.spec import derive_psk
out, prefix = pathlib.Path(sys.argv[1]), sys.argv[2]
hostvars = yaml.safe_load(open("inventory.yml"))["all"]["children"]["vpn"]["vars"]
seed = hostvars["psk_seed"]
keys = set(hostvars["aws_gcp_psks"]) | {seed, "ItKeyThatDoesNotMatch9"}
keys |= {derive_psk(seed, pair, i) for pair in ("aws-gcp", "aws-azure", "gcp-azure") for i in range(4)}
logs = {p.name: p.read_text() for p in (out / "mesh.log", out / "faults.log")}
assert all(len(text) > 10000 for text in logs.values()), "the -vvv logs are missing"
leaks = sorted({f"{name}: key #{sorted(keys).index(k)}" for name, text in logs.items() for k in keys if k in text})
assert not leaks, leaks
print(f"{len(keys)} keys, none in {sum(len(t) for t in logs.values())} characters of -vvv output")
PY

ansible-playbook teardown.yml "${args[@]}" "$@"
