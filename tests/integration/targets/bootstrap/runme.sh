#!/usr/bin/env bash
# The bootstrap role through the main job, on the sandbox of this integration run (the role's
# scenario): site.yml --check writes nothing and plans three clusters, site.yml builds three
# clusters with 3 Ready nodes, the VPN mesh between them (12 tunnels, probed) and the application
# (3/3/2 replicas, answering through each load balancer) behind the global load balancer (steering
# and failover measured through the sandbox's Cloudflare edge and, with the role on Route 53, its
# DNS) and prints the
# summary as a table with each cloud's own time
# (after a site.yml killed mid-way that leaves no credential on disk and converges on the rerun),
# --check on the existing fabric reports the real Ready counts, a rerun changes nothing, --limit
# tears down and rebuilds one cloud alone, teardown.yml leaves the clouds as it found them
# (clusters, EC2 VPCs, subnets, internet gateways, route tables and security groups, Compute
# networks, Azure resource groups and network resources) and a second teardown is a no-op.
set -eux -o pipefail
config=../../integration_config.yml
root=$(python3 -c "import yaml; print(yaml.safe_load(open('$config'))['mc_collection_root'])")
inventory=$root/inventories/sandbox
out=$OUTPUT_DIR/site
# Every name of this run (deployment, hence clusters, networks and the VPN mesh, and the Azure resource group)
# starts with its own prefix; the inventory hosts keep theirs (fabric-aws, ...).
MC_PREFIX=it$(python3 -c 'import secrets; print(secrets.token_hex(3))')
export MC_PREFIX
site_args=(-e "mc_output_dir=$out" -e "mc_deployment=$MC_PREFIX" -e "{\"mc_azure\": {\"resource_group\": \"$MC_PREFIX-rg\"}}")
sandbox_cli=$(python3 -c "import yaml; print(yaml.safe_load(open('$config'))['mc_sandbox_cli'])")
# The sandbox inventory finds the running sandbox through MC_SANDBOX_DIR, as `make demo` does.
MC_SANDBOX_DIR=$(python3 -c "import yaml; print(yaml.safe_load(open('$config'))['mc_sandbox_dir'])")
export MC_SANDBOX_DIR
# The user's view: the default stdout callback in its default (JSON) result format.
export ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_CALLBACK_RESULT_FORMAT=json

writes() {
  "$sandbox_cli" status --json | python3 -c '
import json, re, sys
requests = json.load(sys.stdin)["faults"]["requests"]
write = re.compile(r"(?i)^(?!.*list)(?!.*/get)(?=.*(create|delete|insert|update|set|modify|attach|detach|associate|replace|tag|write|action|upgrade|patch))")
print(sum(n for ops in requests.values() for op, n in ops.items() if write.search(op)))'
}

# The printed summary: a header line and one plain row per cluster, as `<cloud> <region> <cluster>
# <k8s> <nodes...> <endpoint> <took> s`; prints the rows found as JSON, one object per cloud.
table() {
  python3 - "$1" <<'PY'
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
header = [i for i, line in enumerate(lines) if line.split() == ["cloud", "region", "cluster", "k8s", "nodes", "endpoint", "took"]]
assert len(header) == 1, "no summary table printed"
rows = {}
for line in lines[header[0] + 1:]:
    if not line.strip():
        break
    m = re.fullmatch(r"(aws|gcp|azure) +(\S+) +(\S+(?: \(planned\))?) +(\S+) +(\S+/\d+ Ready|\d+ \(planned\)) +(\S+(?: \S+ \S+)?) +([\d.]+) s", line)
    assert m, f"not a table row: {line!r}"
    rows[m[1]] = {"region": m[2], "cluster": m[3], "version": m[4], "nodes": m[5], "endpoint": m[6], "seconds": float(m[7])}
assert not any(re.search(r'"cloud +region', line) for line in lines), "the summary was printed as JSON strings"
print(json.dumps(rows))
PY
}

# What the clouds hold, by identity: clusters of every cloud, every non-default EC2 network piece
# (moto's default VPC per region is not in the status), Compute resources, Azure groups and
# network resources, Cloudflare pools, load balancers and monitors, Route 53 health checks.
holdings() {
  "$sandbox_cli" status --json | python3 -c '
import json, sys
clouds = json.load(sys.stdin)["clouds"]
aws, gcp, azure = clouds["aws"], clouds["gcp"], clouds["azure"]
held = {
    "aws clusters": sorted("%s/%s" % (c.get("region"), c["name"]) for c in aws["clusters"]),
    "aws ec2": {
        "%s/%s" % (region, kind): sorted(item["id"] for item in items)
        for region, pieces in aws["ec2"].items()
        for kind, items in pieces.items()
    },
    "gcp clusters": sorted("%s/%s" % (c["location"], c["name"]) for c in gcp["clusters"]),
    "gcp compute": gcp["compute"]["resources"],
    "azure clusters": sorted("%s/%s" % (c["resource_group"], c["name"]) for c in azure["clusters"]),
    "azure resource groups": azure["resource_groups"],
    "azure network": sorted("%s/%s/%s" % (r["resource_group"], r["type"], r["name"]) for r in azure["network"]),
    "cloudflare": sorted([*clouds["cloudflare"]["pools"].values(), *clouds["cloudflare"]["load_balancers"].values(),
                          *clouds["cloudflare"]["monitors"]]),
    "route53 health checks": sorted(aws["route53"]["health_checks"]),
}
print(json.dumps(held, sort_keys=True))'
}

cleanup() {
  ansible-playbook -i "$inventory" "$root/playbooks/teardown.yml" "${site_args[@]}" >/dev/null 2>&1 || true
}
trap cleanup EXIT

held_before=$(holdings)
before=$(writes)
ansible-playbook -i "$inventory" "$root/playbooks/site.yml" "${site_args[@]}" --check "$@" | tee "$OUTPUT_DIR/check.log"
test "$(writes)" = "$before"
grep -E "^fabric-(aws|gcp|azure) +: ok=[0-9]+ +changed=[1-9]" "$OUTPUT_DIR/check.log" | wc -l | grep -qx 3
test ! -e "$out/kubeconfig"
table "$OUTPUT_DIR/check.log" | python3 -c '
import json, os, sys
rows = json.load(sys.stdin)
prefix = os.environ["MC_PREFIX"]
assert sorted(rows) == ["aws", "azure", "gcp"], rows
for cloud, row in rows.items():
    assert row["cluster"] == f"{prefix}-{cloud} (planned)" and row["nodes"] == "3 (planned)", row
    assert row["endpoint"] == "(known after apply)", row'

# Task names run for every host: none names one of them.
! grep -E "^TASK \[.*fabric-(aws|gcp|azure)" "$OUTPUT_DIR/check.log"

# site.yml killed with SIGKILL (its whole process group: nothing gets to clean up) while the
# clusters are being created leaves no credential in the Ansible temporary directories (the
# controller's, the remote one and the system one the AnsiballZ payload goes to); the run after
# it converges, and teardown below proves it left no stray resource.
tmp_root=$OUTPUT_DIR/killed-tmp
mkdir -p "$tmp_root/local" "$tmp_root/remote" "$tmp_root/system"
ANSIBLE_LOCAL_TEMP=$tmp_root/local ANSIBLE_REMOTE_TMP=$tmp_root/remote TMPDIR=$tmp_root/system \
  setsid ansible-playbook -i "$inventory" "$root/playbooks/site.yml" "${site_args[@]}" "$@" \
  >"$OUTPUT_DIR/killed.log" 2>&1 &
killed=$!
clusters_seen() {
  "$sandbox_cli" status --json | python3 -c '
import json, sys
print(sum(len(cloud.get("clusters") or []) for cloud in json.load(sys.stdin)["clouds"].values()))'
}
for _ in $(seq 600); do
  kill -0 "$killed" 2>/dev/null || { cat "$OUTPUT_DIR/killed.log"; echo "site.yml ended before it was killed"; exit 1; }
  [ "$(clusters_seen)" -gt 0 ] && break
  sleep 0.5
done
sleep 2  # the cluster tasks of every host are waiting now
kill -9 -- "-$killed"
wait "$killed" || true
python3 - "$MC_SANDBOX_DIR/endpoints.yml" "$tmp_root" <<'PY'
import pathlib, sys, yaml
options = yaml.safe_load(open(sys.argv[1]))["provider_options"]
secrets = {key: options[key] for key in ("aws_secret_key", "azure_client_secret") if options.get(key)}
key_file = options.get("gcp_service_account_file")
if key_file:
    key = yaml.safe_load(open(key_file))["private_key"]
    secrets["gcp private key"] = [line for line in key.splitlines() if line and "-----" not in line][5]
assert len(secrets) == 3, sorted(secrets)
leaks = [
    f"{what} in {path}"
    for path in pathlib.Path(sys.argv[2]).rglob("*")
    if path.is_file()
    for what, secret in secrets.items()
    if secret.encode() in path.read_bytes()
]
assert not leaks, leaks
PY

# The log file timestamps each line, so each host's own time can be read independently.
ANSIBLE_LOG_PATH=$OUTPUT_DIR/site.timed.log \
  ansible-playbook -i "$inventory" "$root/playbooks/site.yml" "${site_args[@]}" "$@" | tee "$OUTPUT_DIR/site.log"
! grep -E "^TASK \[.*fabric-(aws|gcp|azure)" "$OUTPUT_DIR/site.log"
table "$OUTPUT_DIR/site.log" > "$OUTPUT_DIR/site.table.json"
python3 - "$out/summary.json" "$OUTPUT_DIR/site.table.json" "$OUTPUT_DIR/site.timed.log" <<'PY'
import datetime, json, re, sys
summary = json.load(open(sys.argv[1]))
printed = json.load(open(sys.argv[2]))
rows = {row["cloud"]: row for row in summary["clusters"]}
assert sorted(rows) == sorted(printed) == ["aws", "azure", "gcp"], (rows, printed)
for cloud, row in rows.items():
    assert int(row["nodes_ready"]) == 3 == int(row["nodes_expected"]), row
    assert row["version"] == "1.31" and row["endpoint"].startswith("https://"), row
    assert printed[cloud]["nodes"] == "3/3 Ready" and printed[cloud]["endpoint"] == row["endpoint"], printed
    assert printed[cloud]["seconds"] == round(float(row["seconds"]), 1), (printed, row)

# Each host's own time, from the log: its role start to its own cluster's result line.
task, started, finished = None, {}, {}
for line in open(sys.argv[3]):
    m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*?\| (.*)$", line.rstrip("\n"))
    if not m:
        continue
    when = datetime.datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    banner = re.match(r"TASK \[(?:[\w.]+ : )?(.*?)\]", m[2])
    if banner:
        task = banner[1]
        continue
    host = re.match(r"(?:ok|changed): \[fabric-(\w+)\]", m[2])
    if host and task == "Record when this host started":
        started[host[1]] = when
    elif host and task == "Cluster":
        finished[host[1]] = when
seconds = {cloud: float(row["seconds"]) for cloud, row in rows.items()}
own = {cloud: finished[cloud] - started[cloud] for cloud in rows}
print("took", seconds, "own", own)
for cloud in rows:
    assert abs(seconds[cloud] - own[cloud]) < 1.5, f"{cloud} took {seconds[cloud]} s, its own work {own[cloud]:.1f} s"
# Two clouds may well take the same tenth of a second; all three the same was the old bug.
assert len(set(seconds.values())) > 1, f"every cloud reports the same time: {seconds}"
assert summary["seconds"] >= max(seconds.values()), summary
PY

# The VPN mesh: 12 tunnels UP and 12 BGP sessions established across the three pairs, and a
# probe between every two VPCs lost nothing and stayed under the seeds' 100 ms; the printed
# summary says so with a line per pair.
python3 - "$out/summary.json" "$OUTPUT_DIR/site.log" <<'PY'
import json, re, sys
vpn = json.load(open(sys.argv[1]))["vpn"]
assert (vpn["tunnels_up"], vpn["tunnels_total"], vpn["bgp_established"], vpn["bgp_total"]) == (12, 12, 12, 12), vpn
assert [(p["a"], p["b"]) for p in vpn["pairs"]] == [("aws", "gcp"), ("aws", "azure"), ("gcp", "azure")], vpn
assert all(p["loss_pct"] == 0 and 0 < p["latency_ms"] < 100 for p in vpn["pairs"]), vpn
log = open(sys.argv[2]).read()
assert "vpn: 12/12 tunnels up, 12/12 BGP sessions established" in log
for p in vpn["pairs"]:
    assert re.search(rf"^  {p['a']} <-> {p['b']} +{p['latency_ms']:.1f} ms +0 %$", log, re.M), p
print("vpn", vpn)
PY

# The application: Ready in every cluster with the seeds' 3/3/2 of 8 replicas, each cluster's load
# balancer answering /health with its own cloud and as many ready endpoints; the printed summary
# has a line per cluster.
python3 - "$out/summary.json" "$OUTPUT_DIR/site.log" <<'PY'
import json, re, sys, urllib.request
app = {row["cloud"]: row for row in json.load(open(sys.argv[1]))["app"]}
want = {"aws": 3, "gcp": 3, "azure": 2}
assert sorted(app) == sorted(want), app
log = open(sys.argv[2]).read()
for cloud, row in app.items():
    assert int(row["replicas"]) == int(row["ready"]) == want[cloud], row
    assert str(row["healthy"]) == "True" and str(row["planned"]) == "False", row
    assert row["release"] == "global-web-app" and row["chart_version"] == "0.1.0", row
    body = json.load(urllib.request.urlopen(f"http://{row['address']}:{row['port']}/health", timeout=5))
    assert (body["cloud"], body["cluster"], body["status"]) == (cloud, row["cluster"], "healthy"), body
    assert body["ready_endpoints"] == want[cloud], body
    line = rf"^{cloud}/{row['cluster']} +{want[cloud]}/{want[cloud]} Ready +{re.escape(row['address'])}:{row['port']} +healthy$"
    assert re.search(line, log, re.M), line
print("app", app)
PY

# The app role alone: bad input is refused naming the field before Helm writes anything (no
# release gets a new revision); then app.yml drains one cluster and restores it.
revisions() {
  python3 - "$out/summary.json" "$out/kubeconfig" <<'PY'
import json, subprocess, sys
rows = json.load(open(sys.argv[1]))["app"]
print(json.dumps({row["cloud"]: len(json.loads(subprocess.run(
    ["helm", "history", "global-web-app", "-n", "global-web-app", "-o", "json", "--kubeconfig", sys.argv[2],
     "--kube-context", row["kube_context"]], capture_output=True, text=True, check=True).stdout)) for row in rows}, sort_keys=True))
PY
}
app_args=(-e "site_out=$out")
revisions_before=$(revisions)
while IFS='|' read -r vars error; do
  if ansible-playbook -i "$inventory" app_role.yml "${site_args[@]}" "${app_args[@]}" -e "$vars" >"$OUTPUT_DIR/app-bad.log" 2>&1; then
    echo "the app role accepted $vars"; exit 1
  fi
  grep -qF -- "$error" "$OUTPUT_DIR/app-bad.log" || { tail -40 "$OUTPUT_DIR/app-bad.log"; echo "no '$error' for $vars"; exit 1; }
done <<'CASES'
{"app_replicas_total": -1}|app_replicas_total must be >= 0, got -1
{"app_replicas": -2}|app_replicas must be >= 0, got -2
{"app_hosts_group": "nowhere"}|app_hosts_group: no inventory group nowhere
{"app_replicas_total": "eight"}|app_replicas_total
{"app_values": {"service": {"port": 0}}}|at '/service/port'
{"app_values": {"image": {"pullPolicy": "Sometimes"}}}|at '/image/pullPolicy'
{"app_replica_weights": {"aws": -3}}|replica_split: weights.fabric-aws must be a number >= 0, got -3
CASES
test "$(revisions)" = "$revisions_before"
ansible-playbook -i "$inventory" app.yml "${site_args[@]}" "${app_args[@]}" "$@" | tee "$OUTPUT_DIR/app.log"
python3 - "$revisions_before" "$(revisions)" <<'PY'
import json, sys
before, after = json.loads(sys.argv[1]), json.loads(sys.argv[2])
# aws: drained, then restored; the others untouched.
assert after == {**before, "aws": before["aws"] + 2}, (before, after)
PY

# The global load balancer site.yml put in front of the application (Cloudflare, the sandbox
# inventory's provider): every pool healthy and the seeds' steering in the summary and its table;
# then, measured from the client's side, New York, Tokyo and London reach aws, gcp and azure,
# New York is served by gcp within the monitor's bound after aws/us-east-1 goes down, and by aws
# again after it comes back. The same through DNS answers with the role on Route 53.
python3 - "$out/summary.json" "$OUTPUT_DIR/site.log" <<'PY'
import json, sys
glb = json.load(open(sys.argv[1]))["global_lb"]
assert glb["provider"] == "cloudflare" and glb["hostname"].startswith("app."), glb
pools = {p["name"]: p for p in glb["pools"]}
assert sorted(pools) == ["aws", "azure", "gcp"], glb
assert all(str(p["healthy"]) == "True" and str(p["enabled"]) == "True" for p in pools.values()), glb
assert {k: glb["steering"][k] for k in ("ENAM", "NEAS", "WEU", "default")} == {
    "ENAM": "aws", "NEAS": "gcp", "WEU": "azure", "default": "aws"}, glb
log = open(sys.argv[2]).read()
assert f"global load balancer: {glb['hostname']} on cloudflare" in log
assert "  steering: " in log and "ENAM -> aws" in log
print("global_lb", glb)
PY
glb_hostname=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['global_lb']['hostname'])" "$out/summary.json")
steering=(--endpoints "$MC_SANDBOX_DIR/endpoints.yml" --summary "$out/summary.json" --sandbox-cli "$sandbox_cli" --retries 2)
python3 steering.py --provider cloudflare --hostname "$glb_hostname" --interval 60 "${steering[@]}" | tee "$OUTPUT_DIR/steering-cloudflare.log"
route53_zone=$MC_PREFIX.fabric.test
python3 - "$MC_SANDBOX_DIR/endpoints.yml" "$route53_zone" <<'PY'
import sys, uuid, boto3, yaml
aws = yaml.safe_load(open(sys.argv[1]))["aws"]
boto3.client("route53", region_name="us-east-1", endpoint_url=aws["endpoint_url"], aws_access_key_id=aws["access_key"],
             aws_secret_access_key=aws["secret_key"]).create_hosted_zone(Name=sys.argv[2], CallerReference=str(uuid.uuid4()))
PY
glb_args=(-e "site_out=$out" -e "route53_zone=$route53_zone")
ansible-playbook -i "$inventory" global_lb_route53.yml "${site_args[@]}" "${glb_args[@]}" "$@"
python3 -c '
import json, sys
glb = json.load(open(sys.argv[1]))
assert glb["provider"] == "route53" and all(str(p["healthy"]) == "True" for p in glb["pools"]), glb
assert glb["steering"] == {"NA": "aws", "AS": "gcp", "EU": "azure", "default": "gcp"}, glb' "$out/route53.json"
python3 steering.py --provider route53 --hostname "app.$route53_zone" --interval 10 "${steering[@]}" | tee "$OUTPUT_DIR/steering-route53.log"
ansible-playbook -i "$inventory" global_lb_route53.yml "${site_args[@]}" "${glb_args[@]}" -e glb_state=absent "$@"

# Check mode on the existing fabric reads the clusters' nodes; nothing is planned, nothing written.
before=$(writes)
ansible-playbook -i "$inventory" "$root/playbooks/site.yml" "${site_args[@]}" --check "$@" | tee "$OUTPUT_DIR/check-existing.log"
test "$(writes)" = "$before"
table "$OUTPUT_DIR/check-existing.log" | python3 -c '
import json, os, sys
rows = json.load(sys.stdin)
prefix = os.environ["MC_PREFIX"]
assert sorted(rows) == ["aws", "azure", "gcp"], rows
for cloud, row in rows.items():
    assert row["cluster"] == f"{prefix}-{cloud}" and row["nodes"] == "3/3 Ready", row
    assert row["endpoint"].startswith("https://"), row'
grep -q "check mode: nothing was changed" "$OUTPUT_DIR/check-existing.log"

ansible-playbook -i "$inventory" "$root/playbooks/site.yml" "${site_args[@]}" "$@" | tee "$OUTPUT_DIR/rerun.log"
for host in fabric-aws fabric-gcp fabric-azure; do
  grep -E "^${host} +: ok=[0-9]+ +changed=0 " "$OUTPUT_DIR/rerun.log"
done

# One cloud alone: its teardown checks only that cloud, and site.yml rebuilds and summarises it.
ansible-playbook -i "$inventory" "$root/playbooks/teardown.yml" "${site_args[@]}" --limit 'localhost,fabric-aws' "$@" \
  | tee "$OUTPUT_DIR/teardown-aws.log"
grep -E "^fabric-aws +: ok=[0-9]+ +changed=[1-9]" "$OUTPUT_DIR/teardown-aws.log"
! grep -E "^fabric-(gcp|azure) " "$OUTPUT_DIR/teardown-aws.log"
ansible-playbook -i "$inventory" "$root/playbooks/site.yml" "${site_args[@]}" --limit 'localhost,fabric-aws' "$@" \
  | tee "$OUTPUT_DIR/site-aws.log"
grep -E "^fabric-aws +: ok=[0-9]+ +changed=[1-9]" "$OUTPUT_DIR/site-aws.log"
table "$OUTPUT_DIR/site-aws.log" | python3 -c '
import json, sys
rows = json.load(sys.stdin)
assert sorted(rows) == ["aws"] and rows["aws"]["nodes"] == "3/3 Ready", rows'
python3 -c '
import json, sys
summary = json.load(open(sys.argv[1]))
assert [row["cloud"] for row in summary["clusters"]] == ["aws"], summary' "$out/summary.json"

ansible-playbook -i "$inventory" "$root/playbooks/teardown.yml" "${site_args[@]}" "$@"
python3 - "$held_before" "$(holdings)" <<'PY'
import json, sys
before, after = json.loads(sys.argv[1]), json.loads(sys.argv[2])
left = {kind: after[kind] for kind in after if after[kind] != before.get(kind)}
assert not left, f"teardown left: {left} (before site.yml: {before})"
PY
ansible-playbook -i "$inventory" "$root/playbooks/teardown.yml" "${site_args[@]}" "$@" | tee "$OUTPUT_DIR/teardown2.log"
for host in fabric-aws fabric-gcp fabric-azure; do
  grep -E "^${host} +: ok=[0-9]+ +changed=0 " "$OUTPUT_DIR/teardown2.log"
done
trap - EXIT
