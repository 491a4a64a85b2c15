#!/usr/bin/env bash
# The bootstrap role through the main job, on the sandbox of this integration run (the role's
# scenario): site.yml --check writes nothing, site.yml builds three clusters with 3 Ready nodes,
# a rerun changes nothing, teardown.yml leaves the clouds empty and a second teardown is a no-op.
set -eux -o pipefail
config=../../integration_config.yml
root=$(python3 -c "import yaml; print(yaml.safe_load(open('$config'))['mc_collection_root'])")
inventory=$root/inventories/sandbox
out=$OUTPUT_DIR/site
sandbox_cli=$(python3 -c "import yaml; print(yaml.safe_load(open('$config'))['mc_sandbox_cli'])")
# The sandbox inventory finds the running sandbox through MC_SANDBOX_DIR, as `make demo` does.
MC_SANDBOX_DIR=$(python3 -c "import yaml; print(yaml.safe_load(open('$config'))['mc_sandbox_dir'])")
export MC_SANDBOX_DIR

writes() {
  "$sandbox_cli" status --json | python3 -c '
import json, re, sys
requests = json.load(sys.stdin)["faults"]["requests"]
write = re.compile(r"(?i)^(?!.*list)(?=.*(create|delete|insert|update|set|modify|attach|detach|associate|replace|tag|write|action|upgrade|patch))")
print(sum(n for ops in requests.values() for op, n in ops.items() if write.search(op)))'
}

cleanup() {
  ansible-playbook -i "$inventory" "$root/playbooks/teardown.yml" -e "mc_output_dir=$out" >/dev/null 2>&1 || true
}
trap cleanup EXIT

before=$(writes)
ansible-playbook -i "$inventory" "$root/playbooks/site.yml" -e "mc_output_dir=$out" --check "$@" | tee "$OUTPUT_DIR/check.log"
test "$(writes)" = "$before"
grep -E "^fabric-(aws|gcp|azure) +: ok=[0-9]+ +changed=[1-9]" "$OUTPUT_DIR/check.log" | wc -l | grep -qx 3
test ! -e "$out/kubeconfig"

ansible-playbook -i "$inventory" "$root/playbooks/site.yml" -e "mc_output_dir=$out" "$@" | tee "$OUTPUT_DIR/site.log"
python3 - "$out/summary.json" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
rows = {row["cloud"]: row for row in summary["clusters"]}
assert sorted(rows) == ["aws", "azure", "gcp"], rows
for cloud, row in rows.items():
    assert int(row["nodes_ready"]) == 3 == int(row["nodes_expected"]), row
    assert row["version"] == "1.31" and row["endpoint"].startswith("https://"), row
PY

ansible-playbook -i "$inventory" "$root/playbooks/site.yml" -e "mc_output_dir=$out" "$@" | tee "$OUTPUT_DIR/rerun.log"
for host in fabric-aws fabric-gcp fabric-azure; do
  grep -E "^${host} +: ok=[0-9]+ +changed=0 " "$OUTPUT_DIR/rerun.log"
done

ansible-playbook -i "$inventory" "$root/playbooks/teardown.yml" -e "mc_output_dir=$out" "$@"
ansible-playbook -i "$inventory" "$root/playbooks/teardown.yml" -e "mc_output_dir=$out" "$@" | tee "$OUTPUT_DIR/teardown2.log"
for host in fabric-aws fabric-gcp fabric-azure; do
  grep -E "^${host} +: ok=[0-9]+ +changed=0 " "$OUTPUT_DIR/teardown2.log"
done
trap - EXIT
