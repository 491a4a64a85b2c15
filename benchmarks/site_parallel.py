"""How close `site.yml` on three clouds comes to the slowest single cloud's path alone.

    .venv/bin/python benchmarks/site_parallel.py [--time-factor 0.0166] [--json] [--log-dir DIR]

On one fresh sandbox (its own state directory, started and stopped here) this runs, each under a
deployment name of its own so nothing is shared between the runs:

1. `site.yml --limit localhost,fabric-<cloud>` for each cloud alone: that cloud's network, cluster
   and VPN gateway (the path a cloud takes when nothing waits for the others), then its teardown;
2. `site.yml` on all three: networks, clusters, the gateways started while the clusters are made
   (an Azure VPN gateway takes 30-45 minutes, scaled by the time factor like everything else), the
   peerings, the wait for 12 tunnels and 12 BGP sessions, the probes between every two VPCs.

and prints each wall time and the ratio of the full run to the slowest single cloud (the target
is <= 1.15: the clouds work in parallel, and what only the full run does, the peerings and the
probes, is short). Wall times are of the whole `ansible-playbook` command; `--log-dir` keeps each
run's output with every task's time. Nothing here asserts timings: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent
CLOUDS = ("aws", "gcp", "azure")


def playbook(env, name, deployment, limit=None, log_dir=None):
    argv = [
        str(BIN / "ansible-playbook"),
        "-i",
        str(ROOT / "inventories" / "sandbox"),
        str(ROOT / "playbooks" / name),
        "-e",
        f"mc_deployment={deployment}",
        "-e",
        json.dumps({"mc_azure": {"resource_group": f"{deployment}-rg"}}),
    ]
    if limit:
        argv += ["--limit", limit]
    started = time.monotonic()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if log_dir is not None:
        label = f"{name.removesuffix('.yml')}-{deployment}"
        (log_dir / f"{label}.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-6000:] + proc.stderr[-2000:])
        raise SystemExit(f"{name} --limit {limit or 'all'} failed ({proc.returncode})")
    return seconds, proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--time-factor", type=float, default=None, help="MC_SANDBOX_TIME_FACTOR (default: the sandbox's)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument(
        "--log-dir",
        type=pathlib.Path,
        help="keep each run's output here, with the time of every task (ansible.posix.profile_tasks)",
    )
    args = parser.parse_args()
    state = pathlib.Path(tempfile.mkdtemp(prefix="mc-bench-site-"))
    env = dict(os.environ, MC_SANDBOX_DIR=str(state / "sandbox"), MC_OUTPUT_DIR=str(state / "output"))
    env["ANSIBLE_STDOUT_CALLBACK"] = "default"
    if args.log_dir is not None:
        args.log_dir.mkdir(parents=True, exist_ok=True)
        env["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
        env["PROFILE_TASKS_TASK_OUTPUT_LIMIT"] = "all"
    if args.time_factor is not None:
        env["MC_SANDBOX_TIME_FACTOR"] = str(args.time_factor)
    sandbox = [str(BIN / "mc-sandbox")]
    subprocess.run([*sandbox, "up"], env=env, check=True, stdout=subprocess.DEVNULL)
    figures = {"single": {}, "teardown": {}}
    try:
        for cloud in CLOUDS:
            deployment = f"bench{cloud[:2]}"
            seconds, _out = playbook(env, "site.yml", deployment, f"localhost,fabric-{cloud}", args.log_dir)
            figures["single"][cloud] = round(seconds, 1)
            print(f"{cloud:6} alone     {seconds:6.1f} s", flush=True)
            figures["teardown"][cloud] = round(
                playbook(env, "teardown.yml", deployment, f"localhost,fabric-{cloud}", args.log_dir)[0], 1
            )
        seconds, _out = playbook(env, "site.yml", "benchall", log_dir=args.log_dir)
        figures["full"] = round(seconds, 1)
        summary = json.loads((state / "output" / "summary.json").read_text())
        figures["vpn"] = summary.get("vpn")
        print(f"all three   {seconds:6.1f} s", flush=True)
        figures["teardown"]["all"] = round(playbook(env, "teardown.yml", "benchall", log_dir=args.log_dir)[0], 1)
    finally:
        subprocess.run([*sandbox, "down"], env=env, check=False, stdout=subprocess.DEVNULL)
        shutil.rmtree(state, ignore_errors=True)
    slowest = max(figures["single"], key=figures["single"].get)
    figures["ratio"] = round(figures["full"] / figures["single"][slowest], 2)
    vpn = figures["vpn"] or {}
    print(
        f"\nsite.yml on three clouds {figures['full']:.1f} s / slowest single cloud ({slowest}) "
        f"{figures['single'][slowest]:.1f} s = {figures['ratio']:.2f} (target <= 1.15)"
    )
    print(
        f"mesh of the full run: {vpn.get('tunnels_up')}/{vpn.get('tunnels_total')} tunnels up, "
        f"{vpn.get('bgp_established')}/{vpn.get('bgp_total')} BGP sessions; "
        + ", ".join(f"{p['a']}-{p['b']} {p['latency_ms']} ms" for p in vpn.get("pairs") or [])
    )
    if args.json:
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
