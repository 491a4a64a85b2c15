#!/usr/bin/env bash
# site.yml as AWX / Automation Controller runs a job: through ansible-runner, with a private data
# directory laid out as Controller lays one out (project/, inventory/hosts as the script Controller
# writes from an inventory it imported with `ansible-inventory --list --export`, env/envvars and
# env/extravars from the `multicloud.fabric sandbox endpoints` credential's injectors), against the
# sandbox of this integration run. Then the `fabric-verify` job (check mode) reports no drift and
# the `fabric-teardown` job removes everything. Each job's events are asserted on (ok/changed/
# failed counts, the summary artifact) and no secret of the sandbox is in any event or artifact.
set -eux -o pipefail
config=../../integration_config.yml
root=$(python3 -c "import yaml; print(yaml.safe_load(open('$config'))['mc_collection_root'])")
sandbox_dir=$(python3 -c "import yaml; print(yaml.safe_load(open('$config'))['mc_sandbox_dir'])")
sandbox_cli=$(python3 -c "import yaml; print(yaml.safe_load(open('$config'))['mc_sandbox_cli'])")
runner=$(dirname "$sandbox_cli")/ansible-runner
prefix=rj$(python3 -c 'import secrets; print(secrets.token_hex(3))')
jobs=$OUTPUT_DIR/jobs
rm -rf "$jobs"
mkdir -p "$jobs"
# The collection as the execution environment has it installed (not this checkout's ansible.cfg).
collections=$(cd "$root/../../.." && pwd)
ca_bundle=$(python3 -c "import yaml; print(yaml.safe_load(open('$sandbox_dir/endpoints.yml'))['ca_bundle'])")

# The inventory: Controller imports the project's inventory file with --export once (an inventory
# sync) and, for each job, writes it back as an executable script that prints the imported hosts,
# groups and variables.
mkdir -p "$jobs/sync"
cp -r "$root/inventories" "$jobs/sync/"
env -u MC_SANDBOX_DIR MC_SANDBOX_ENDPOINTS_FILE="$sandbox_dir/endpoints.yml" ANSIBLE_COLLECTIONS_PATH="$collections" \
  ansible-inventory -i "$jobs/sync/inventories/sandbox/hosts.yml" --list --export > "$jobs/imported.json"
python3 - "$jobs/imported.json" <<'PY'
import json, sys
imported = json.load(open(sys.argv[1]))
assert set(imported["_meta"]["hostvars"]) >= {"fabric-aws", "fabric-gcp", "fabric-azure"}, imported["_meta"]
# The group variables come along unrendered, as templates: the job renders them with its credential.
assert "lookup(" in imported["all"]["vars"]["mc_sandbox_endpoints"], imported["all"]["vars"]
PY

# A job's private data directory, fresh for each job as Controller makes it: the project (what a
# project sync checks out), the inventory script, and what the credential's injectors write (the
# endpoints file and the CA bundle as files of the job, mode 0600, named by MC_SANDBOX_ENDPOINTS_FILE,
# MC_SANDBOX_CA_BUNDLE and the extra variable mc_sandbox_endpoints_file); `--check` for a Check job.
prepare_job() {
  dir=$jobs/$1
  mkdir -p "$dir/project" "$dir/inventory" "$dir/env"
  chmod 0700 "$dir"
  cp -r "$root/playbooks" "$root/inventories" "$dir/project/"
  install -m 0600 "$sandbox_dir/endpoints.yml" "$dir/env/tmp_endpoints"
  install -m 0600 "$ca_bundle" "$dir/env/tmp_ca"
  python3 - "$dir" "$collections" "$prefix" "$jobs/imported.json" "$2" <<'PY'
import json, os, sys
job, collections, prefix, imported, job_type = sys.argv[1:]
env = {
    "MC_SANDBOX_ENDPOINTS_FILE": f"{job}/env/tmp_endpoints",
    "MC_SANDBOX_CA_BUNDLE": f"{job}/env/tmp_ca",
    "ANSIBLE_COLLECTIONS_PATH": collections,
}
extravars = {
    "mc_sandbox_endpoints_file": f"{job}/env/tmp_endpoints",
    "mc_output_dir": f"{job}/output",
    "mc_deployment": prefix,
    "mc_azure": {"resource_group": f"{prefix}-rg"},
}
files = {"envvars": env, "extravars": extravars, "settings": {"suppress_ansible_output": True}}
for name, data in files.items():
    with open(f"{job}/env/{name}", "w") as out:
        json.dump(data, out)
if job_type == "check":
    with open(f"{job}/env/cmdline", "w") as out:
        out.write("--check")
with open(f"{job}/inventory/hosts", "w") as out:
    out.write(f"#!/usr/bin/env python3\nprint({open(imported).read().strip()!r})\n")
os.chmod(f"{job}/inventory/hosts", 0o700)
for name in os.listdir(f"{job}/env"):
    os.chmod(f"{job}/env/{name}", 0o600)
PY
}

# One job: `ansible-runner run` as Controller's dispatcher calls it; its exit status is the
# playbook's. The sandbox comes from the credential, not from this test's environment.
run_job() {
  ident=$1 job_type=$2 playbook=$3
  prepare_job "$ident" "$job_type"
  env -u MC_SANDBOX_DIR "$runner" run "$jobs/$ident" --ident "$ident" -p "$playbook"
  python3 "$here/events.py" "$jobs/$ident/artifacts/$ident" --expect "$ident"
}

# Whatever fails, the deployment of this target does not outlive it.
torn_down=
cleanup() {
  if [ -z "$torn_down" ]; then
    prepare_job cleanup run
    env -u MC_SANDBOX_DIR "$runner" run "$jobs/cleanup" --ident cleanup -p playbooks/teardown.yml >/dev/null ||
      echo "runner_job: the cleanup teardown of $prefix failed" >&2
  fi
}
trap cleanup EXIT

here=$(pwd)
run_job site run playbooks/site.yml
run_job verify check playbooks/site.yml
run_job teardown run playbooks/teardown.yml
torn_down=1

# No secret of the sandbox in any event, output or artifact of the three jobs.
python3 "$here/secrets_absent.py" "$sandbox_dir/endpoints.yml" "$jobs"/*/artifacts

# The teardown job left nothing of this deployment in the clouds.
MC_SANDBOX_DIR=$sandbox_dir "$sandbox_cli" status --json | python3 -c '
import json, sys
prefix = sys.argv[1]
clouds = json.load(sys.stdin)["clouds"]
left = [c["name"] for cloud in ("aws", "gcp", "azure") for c in clouds[cloud]["clusters"] if c["name"].startswith(prefix)]
left += [g for g in clouds["azure"]["resource_groups"] if str(g).startswith(prefix)]
left += list(clouds["cloudflare"]["load_balancers"].values())
assert not left, left' "$prefix"
