#!/usr/bin/env bash
# mc_global_lb and mc_global_lb_info on both providers of the sandbox (its Cloudflare API and its
# Route 53): check -> apply -> check -> apply with no write on the second pass, every pool healthy
# as the provider sees it, a drain and a restore of one pool, bad input refused before any write,
# 30% throttled Cloudflare calls still converging, no token in -vvv output, and state=absent
# leaving nothing. The pools' origins are three stand-in HTTP servers on loopback.
set -eux -o pipefail
config=../../integration_config.yml
export ANSIBLE_ROLES_PATH=..
prefix=it$(python3 -c 'import secrets; print(secrets.token_hex(3))')
sandbox_dir=$(python3 -c "import yaml; print(yaml.safe_load(open('$config'))['mc_sandbox_dir'])")
# Three loopback addresses of this run (127.64.0.0/10 is outside the sandbox's own LB range).
read -r -a addresses <<< "$(python3 -c 'import random; b = random.randrange(64, 127); c = random.randrange(256); print(" ".join(f"127.{b}.{c}.{i}" for i in (11, 12, 13)))')"
python3 origins.py --addresses "${addresses[@]}" --out "$OUTPUT_DIR/origins.json" &
origins_pid=$!
cleanup() {
  local rc=$?
  trap - EXIT
  ansible-playbook absent.yml "${args[@]}" >/dev/null 2>&1 || true
  kill "$origins_pid" 2>/dev/null || true
  wait "$origins_pid" 2>/dev/null || true
  exit "$rc"
}
args=()
trap cleanup EXIT
for _ in $(seq 50); do [ -s "$OUTPUT_DIR/origins.json" ] && break; sleep 0.1; done

# The Route 53 side needs a public hosted zone of its own for this run.
zone="$prefix.fabric.test"
python3 - "$sandbox_dir/endpoints.yml" "$zone" <<'PY'
import sys, uuid, boto3, yaml
aws = yaml.safe_load(open(sys.argv[1]))["aws"]
r53 = boto3.client("route53", region_name="us-east-1", endpoint_url=aws["endpoint_url"],
                   aws_access_key_id=aws["access_key"], aws_secret_access_key=aws["secret_key"])
r53.create_hosted_zone(Name=sys.argv[2], CallerReference=str(uuid.uuid4()))
PY
args=(-i inventory.yml -e "@${config}" -e "resource_prefix=${prefix}" -e "route53_zone=${zone}" -e "@$OUTPUT_DIR/origins.json")

ansible-playbook converge.yml "${args[@]}" -e provider=cloudflare "$@"
ansible-playbook converge.yml "${args[@]}" -e provider=route53 "$@"
ansible-playbook bad_input.yml "${args[@]}" "$@"
ansible-playbook throttled.yml "${args[@]}" -vvv "$@" > "$OUTPUT_DIR/throttled.log" 2>&1 || { tail -150 "$OUTPUT_DIR/throttled.log"; exit 1; }

# Neither provider's secret is in the -vvv output of a run that created, retried and read.
python3 - "$sandbox_dir/endpoints.yml" "$OUTPUT_DIR/throttled.log" <<'PY'
import sys, yaml
endpoints = yaml.safe_load(open(sys.argv[1]))
log = open(sys.argv[2]).read()
secrets = {"cloudflare api_token": endpoints["cloudflare"]["api_token"], "aws secret_key": endpoints["aws"]["secret_key"]}
assert len(log) > 20000 and "mc_global_lb" in log, "the -vvv log is missing"
leaks = [name for name, value in secrets.items() if value in log]
assert not leaks, leaks
print(f"no secret in {len(log)} characters of -vvv output")
PY

ansible-playbook absent.yml "${args[@]}" "$@"
