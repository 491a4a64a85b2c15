"""`mc-sandbox`: start, inspect, fault and stop the local rehearsal clouds."""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

import requests
import yaml

from mc_sandbox.core import config, procs
from mc_sandbox.core.daemon import DAEMON, ENDPOINTS

UP_TIMEOUT = 180.0


def _say(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def _daemon_info() -> dict | None:
    """The running daemon's record, or None (a stale record of a dead daemon counts as None)."""
    path = config.state_dir() / DAEMON
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not procs.group_members(info["pgid"]):
        return None
    try:
        requests.get(info["admin_url"] + "/health", timeout=10).raise_for_status()
    except requests.RequestException:
        return None
    return info


def _admin_headers() -> dict:
    """The admin token from endpoints.yml (mode 0600, so only its owner can change the sandbox)."""
    try:
        token = yaml.safe_load((config.state_dir() / ENDPOINTS).read_text())["admin_token"]
    except (OSError, ValueError, TypeError, KeyError, yaml.YAMLError):
        return {}
    return {"Authorization": f"Bearer {token}"}


def _admin(method: str, path: str, body: dict | None = None, info: dict | None = None) -> dict:
    info = info or _daemon_info()
    if info is None:
        raise SystemExit("error: the sandbox is not running (start it with: mc-sandbox up)")
    response = requests.request(method, info["admin_url"] + path, json=body, headers=_admin_headers(), timeout=600)
    data = response.json()
    if response.status_code >= 400:
        raise SystemExit(f"error: {data.get('error', response.text)}")
    return data


def build_binaries() -> str:
    """Build (or reuse from the cache) the mc-kube binary; returns its path."""
    script = config.KUBE_SOURCE / "build.sh"
    # through bash: an installed package's copy need not keep its executable bit
    result = subprocess.run(["bash", str(script)], stdout=subprocess.PIPE, text=True, check=False)  # noqa: S603, S607
    if result.returncode != 0:
        raise SystemExit(f"error: building the Kubernetes binaries failed ({script}, exit {result.returncode})")
    return result.stdout.strip().splitlines()[-1]


def cmd_up(args) -> int:
    state = config.state_dir()
    info = _daemon_info()
    if info is not None:
        _say(f"sandbox already running (pid {info['pid']}, state {state})")
        _print_result(args, {"changed": False, "state_dir": str(state), "endpoints_file": str(state / ENDPOINTS)})
        return 0
    _stop_stale(state)
    binary = build_binaries()
    state.mkdir(parents=True, exist_ok=True)
    (state / "logs").mkdir(exist_ok=True)
    for name in (ENDPOINTS, DAEMON):
        (state / name).unlink(missing_ok=True)
    log_path = state / "logs" / "daemon.log"
    _say(f"starting the sandbox daemon (state {state}, log {log_path})")
    started = time.monotonic()
    with open(log_path, "ab") as log:
        daemon = subprocess.Popen(  # noqa: S603 - our own module
            [
                sys.executable,
                "-m",
                "mc_sandbox.cli",
                "serve",
                "--binary",
                binary,
                "--kwok-config",
                str(config.KUBE_SOURCE / "kwok-stages.yaml"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            # moto reloads thousands of default AMIs into every EC2 region on each reset; nothing
            # here uses them
            env=dict(os.environ, MC_SANDBOX_DIR=str(state), MOTO_EC2_LOAD_DEFAULT_AMIS="false"),
        )
    while _daemon_info() is None or not (state / ENDPOINTS).exists():
        if daemon.poll() is not None:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
            raise SystemExit(f"error: the sandbox daemon exited with {daemon.returncode}:\n{tail}")
        if time.monotonic() - started > UP_TIMEOUT:
            procs.stop_group(daemon.pid)
            raise SystemExit(f"error: the sandbox did not come up within {UP_TIMEOUT:.0f}s (see {log_path})")
        time.sleep(0.2)
    _say(f"sandbox up in {time.monotonic() - started:.1f}s; endpoints in {state / ENDPOINTS}")
    _print_result(args, {"changed": True, "state_dir": str(state), "endpoints_file": str(state / ENDPOINTS)})
    return 0


def _stop_stale(state) -> None:
    """A daemon whose admin API no longer answers still owns processes: stop them first."""
    try:
        info = json.loads((state / DAEMON).read_text())
    except (OSError, ValueError):
        return
    if procs.group_members(info["pgid"]):
        _say(f"stopping an unresponsive earlier sandbox (process group {info['pgid']})")
        left = procs.stop_group(info["pgid"])
        if left:
            raise SystemExit(f"error: processes of an earlier sandbox survive SIGKILL: {left}")


def cmd_down(args) -> int:
    state = config.state_dir()
    path = state / DAEMON
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        _print_result(args, {"changed": False, "left": []})
        return 0
    _say("stopping the sandbox")
    try:
        requests.post(info["admin_url"] + "/shutdown", headers=_admin_headers(), timeout=10)
    except requests.RequestException:
        pass  # a dead or wedged daemon is handled by signalling its process group below
    deadline = time.monotonic() + 30
    while procs.group_members(info["pgid"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = procs.stop_group(info["pgid"])
    for name in (ENDPOINTS, DAEMON):
        (state / name).unlink(missing_ok=True)
    if left:
        print(f"error: processes still running after down: {left}", file=sys.stderr)
        return 1
    _print_result(args, {"changed": True, "left": []})
    return 0


def cmd_status(args) -> int:
    info = _daemon_info()
    status = _admin("GET", "/status", info=info) if info else {"running": False, "state_dir": str(config.state_dir())}
    if args.json:
        print(json.dumps(status, indent=2, default=str))
    else:
        print(_format_status(status))
    return 0


def cmd_reset(args) -> int:
    _admin("POST", "/reset")
    _print_result(args, {"changed": True})
    return 0


def _fields(args, *names: str, **renamed: str) -> dict:
    """The admin API's body from parsed arguments: `names` as they are, `renamed` field=argument."""
    return {**{name: getattr(args, name) for name in names}, **{f: getattr(args, a) for f, a in renamed.items()}}


def cmd_fault(args) -> int:
    if args.fault == "add":
        rule = _fields(args, "cloud", "operation", "region", "retry_after", "latency_ms", error_rate="rate")
        result = _admin("POST", "/faults", {**rule, "statuses": args.status or [429]})
    elif args.fault == "fail-create":
        result = _admin("POST", "/faults/fail-create", _fields(args, "cloud", "region", "name", "message", "count"))
    elif args.fault == "region-down":
        cloud, _, region = args.target.partition("/")
        if not region:
            raise SystemExit("error: region-down takes CLOUD/REGION, e.g. aws/us-east-1")
        result = _admin("POST", "/faults/region-down", {"cloud": cloud, "region": region})
    else:
        result = _admin("DELETE", "/faults")
    _print_result(args, result)
    return 0


def cmd_clock(args) -> int:
    result = _admin("POST", "/clock", {"advance_seconds": args.seconds})
    if not getattr(args, "json", False):
        print(f"sandbox clock: {result['offset_seconds']:g}s ahead of real time")
    _print_result(args, result)
    return 0


def cmd_vpc_exec(args) -> int:
    """Run a command inside the namespace that stands for a VPC of the VPN data plane, as a probe
    on a machine of that VPC would (ping, curl): its traffic to another VPC crosses the tunnels."""
    status = _admin("GET", "/status")
    vpn = status.get("vpn") or {}
    if vpn.get("mode") != "dataplane":
        missing = "; ".join(vpn.get("missing") or []) or "unknown reason"
        raise SystemExit(f"error: the sandbox's VPN data plane is not running ({missing}); no VPC to run in")
    vpc = (vpn.get("vpcs") or {}).get(args.vpc)
    if vpc is None:
        known = ", ".join(sorted(vpn.get("vpcs") or {})) or "none yet (no VPN gateway has been made)"
        raise SystemExit(f"error: no VPC {args.vpc} in the VPN data plane; VPCs: {known}")
    argv = args.argv[1:] if args.argv[:1] == ["--"] else list(args.argv)
    if not argv:
        raise SystemExit("error: vpc-exec needs a command, e.g. mc-sandbox vpc-exec aws/us-east-1 -- ping 10.1.0.2")
    os.execvp("ip", ["ip", "netns", "exec", vpc["namespace"], *argv])  # noqa: S606, S607 - the user's command
    return 127


def cmd_serve(args) -> int:
    from mc_sandbox.core.daemon import serve  # noqa: PLC0415 - only the daemon needs the cloud emulators

    serve(pathlib.Path(args.binary), pathlib.Path(args.kwok_config))
    return 0


def _print_result(args, result: dict) -> None:
    if getattr(args, "json", False):
        print(json.dumps(result, default=str))


def _format_status(status: dict) -> str:
    if not status.get("running"):
        return f"sandbox: down (state {status['state_dir']})"
    lines = [
        f"sandbox: up {status['uptime_seconds']}s, pid {status['pid']}, state {status['state_dir']}, "
        f"time factor {status['time_factor']:g}",
        f"kubernetes {status['kubernetes']['kubernetes']}, etcd {status['kubernetes']['etcd']}",
    ]
    for cloud, info in status.get("clouds", {}).items():
        if "clusters" not in info and "counts" in info:  # an API without clusters (Cloudflare)
            counts = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in info["counts"].items())
            lines.append(f"{cloud}: {counts}")
            continue
        clusters = info.get("clusters") or []
        lines.append(f"{cloud}: {len(clusters)} cluster(s)")
        for cluster in clusters:
            where = cluster.get("region") or cluster.get("location") or ""
            state = cluster.get("status") or cluster.get("provisioning_state") or ""
            lines.append(f"  {where}/{cluster.get('name')}: {state} {cluster.get('version', '')}".rstrip())
    for region, pieces in status.get("clouds", {}).get("aws", {}).get("ec2", {}).items():
        counts = ", ".join(f"{len(items)} {kind.replace('_', ' ')}" for kind, items in pieces.items())
        lines.append(f"aws ec2 {region} (default VPC not counted): {counts}")
        for kind, items in pieces.items():
            for item in items:
                where = f" in {item['vpc_id']}" if item.get("vpc_id") else " (attached to nothing)"
                if kind == "vpcs":
                    where = f" {item.get('cidr')}"
                label = f" {item['name']}" if item.get("name") else ""
                lines.append(f"  {kind[:-1].replace('_', ' ')} {item['id']}{label}{where}")
    for key, cluster in status["kubernetes"]["clusters"].items():
        reach = "reachable" if cluster["reachable"] else "UNREACHABLE (region down)"
        pools = ", ".join(f"{k}={v}" for k, v in cluster["node_pools"].items()) or "no node pools"
        lines.append(f"  cluster {key}: {cluster['endpoint']} {reach}; {pools}")
    for key, services in status["load_balancers"].items():
        for name, lb in services.items():
            state = "listening" if lb["listening"] else "down"
            lines.append(f"  load balancer {key} {name}: {lb['ip']}:{lb['ports']} {state}, {lb['requests']} requests")
    faults = status["faults"]
    lines.append("faults: " + (", ".join(faults["regions_down"]) or "no region down"))
    for rule in faults["rules"]:
        lines.append(
            f"  rule {rule['id']}: {rule['cloud']} {rule['operation']} rate {rule['error_rate']} "
            f"{rule['statuses']} latency {rule['latency_ms']}ms"
        )
    for rule in faults.get("provisioning_failures", []):
        count = "every creation" if rule["count"] == 0 else f"{rule['count'] - rule['failed']} more creation(s)"
        lines.append(
            f"  fail-create {rule['id']}: {rule['cloud']} {rule['region'] or '*'}/{rule['name']} "
            f"({count}): {rule['message']}"
        )
    for cloud, failed in faults.get("provisioning_failed", {}).items():
        lines.append(f"  failed creations {cloud}: {failed}")
    lines.append("requests: " + (", ".join(f"{c}={n}" for c, n in faults["requests_total"].items()) or "none"))
    for cloud, operations in faults["injected"].items():
        total = sum(sum(by_status.values()) for by_status in operations.values())
        lines.append(f"  injected errors {cloud}: {total}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mc-sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("up", "start the sandbox (builds the Kubernetes binaries the first time)"),
        ("down", "stop the sandbox and every process it started"),
        ("status", "clouds, clusters, endpoints, faults and request counts"),
        ("reset", "empty every cloud, keep the binaries"),
    ):
        command = sub.add_parser(name, help=help_text)
        command.add_argument("--json", action="store_true", help="machine-readable output")
    fault = sub.add_parser("fault", help="inject or clear faults")
    fault.add_argument("--json", action="store_true")
    fault_sub = fault.add_subparsers(dest="fault", required=True)
    add = fault_sub.add_parser("add", help="errors and latency for one cloud's API calls")
    add.add_argument("--cloud", required=True, choices=["aws", "gcp", "azure", "cloudflare"])
    add.add_argument("--operation", default="*", help="operation name or glob, e.g. CreateCluster, Describe*")
    add.add_argument("--region")
    add.add_argument("--rate", type=float, default=0.0, help="share of calls that fail, 0..1")
    add.add_argument("--status", type=int, action="append", choices=[429, 500, 503])
    add.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds on 429")
    add.add_argument("--latency-ms", type=float, default=0.0)
    fail = fault_sub.add_parser(
        "fail-create", help="make cluster creations end in the cloud's failed state with its error message"
    )
    fail.add_argument("--cloud", required=True, choices=["aws", "gcp", "azure"])
    fail.add_argument("--region", help="only clusters in this region (GKE: or zone; Azure: location)")
    fail.add_argument("--name", default="*", help="cluster name or glob, e.g. 'demo-*' (default: every cluster)")
    fail.add_argument("--message", help="the error message (default: a realistic one of the cloud)")
    fail.add_argument("--count", type=int, default=1, help="how many creations fail (default 1; 0 = every one)")
    down = fault_sub.add_parser("region-down", help="take CLOUD/REGION's clusters and load balancers down")
    down.add_argument("target")
    clear = fault_sub.add_parser("clear", help="remove every fault and bring every region back")
    for command in (add, fail, down, clear):  # `fault --json X` and `fault X --json` both work
        command.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")
    clock = sub.add_parser("clock", help="move the sandbox's time forward (e.g. past a token's expiry)")
    clock_sub = clock.add_subparsers(dest="clock", required=True)
    advance = clock_sub.add_parser("advance", help="move the sandbox's clock SECONDS forward")
    advance.add_argument("seconds", type=float)
    advance.add_argument("--json", action="store_true", help="machine-readable output")
    vpc_exec = sub.add_parser(
        "vpc-exec", help="run a command inside a VPC of the VPN data plane (CLOUD/REGION), e.g. ping"
    )
    vpc_exec.add_argument("vpc", help="CLOUD/REGION of the VPC, e.g. aws/us-east-1")
    vpc_exec.add_argument("argv", nargs=argparse.REMAINDER, help="the command, after --")
    serve = sub.add_parser("serve", help=argparse.SUPPRESS)
    serve.add_argument("--binary", required=True)
    serve.add_argument("--kwok-config", required=True)
    args = parser.parse_args(argv)
    handlers = {
        "up": cmd_up,
        "down": cmd_down,
        "status": cmd_status,
        "reset": cmd_reset,
        "fault": cmd_fault,
        "clock": cmd_clock,
        "vpc-exec": cmd_vpc_exec,
        "serve": cmd_serve,
    }
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
