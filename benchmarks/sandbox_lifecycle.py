"""Sandbox lifecycle figures: `up` from warm binaries, three EKS clusters with 3 Ready nodes
each, created in parallel through boto3, then `down` with no process left.

    .venv/bin/python benchmarks/sandbox_lifecycle.py [--time-factor 0.001]

Prints wall times and the memory (RSS) of the sandbox's processes. The simulated cloud delays
are scaled by the time factor, so the default of 0.001 measures the sandbox's own cost.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import yaml
from mc_sandbox.clouds.aws.auth import eks_token
from mc_sandbox.core import procs
from mc_sandbox.core.clients import aws_session, eks_subnets, kube_api, ready_nodes

MC_SANDBOX = pathlib.Path(sys.executable).parent / "mc-sandbox"
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")


def cli(env, *args):
    return subprocess.run([str(MC_SANDBOX), *args], env=env, check=True, capture_output=True, text=True, timeout=1800)


def rss_mib(pgid: int) -> float:
    total = 0
    for pid in procs.group_members(pgid):
        try:
            for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def create_cluster(endpoints: dict, region: str) -> float:
    aws = endpoints["aws"]
    session = aws_session(endpoints, region)
    started = time.monotonic()
    subnets = eks_subnets(session.client("ec2", endpoint_url=aws["endpoint_url"]), region)
    eks = session.client("eks", endpoint_url=aws["endpoint_url"])
    name = f"bench-{region}"
    eks.create_cluster(
        name=name, roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={"subnetIds": subnets}
    )
    eks.get_waiter("cluster_active").wait(name=name, WaiterConfig={"Delay": 1, "MaxAttempts": 600})
    eks.create_nodegroup(
        clusterName=name,
        nodegroupName="workers",
        scalingConfig={"minSize": 3, "maxSize": 3, "desiredSize": 3},
        subnets=subnets,
        nodeRole="arn:aws:iam::123456789012:role/node",
    )
    eks.get_waiter("nodegroup_active").wait(clusterName=name, nodegroupName="workers", WaiterConfig={"Delay": 1})
    cluster = eks.describe_cluster(name=name)["cluster"]
    token = eks_token(session.client("sts", endpoint_url=aws["endpoint_url"]), name)
    with tempfile.TemporaryDirectory() as directory:
        api = kube_api(cluster, token, pathlib.Path(directory))
        while len(ready_nodes(api)) < 3:
            time.sleep(0.2)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-factor", default="0.001")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        env = dict(os.environ, MC_SANDBOX_DIR=state, MC_SANDBOX_TIME_FACTOR=args.time_factor)
        started = time.monotonic()
        cli(env, "up")
        up = time.monotonic() - started
        endpoints = yaml.safe_load(pathlib.Path(state, "endpoints.yml").read_text())
        pgid = json.loads(pathlib.Path(state, "daemon.json").read_text())["pgid"]
        try:
            idle_rss = rss_mib(pgid)
            started = time.monotonic()
            with ThreadPoolExecutor(len(REGIONS)) as pool:
                per_cluster = list(pool.map(lambda region: create_cluster(endpoints, region), REGIONS))
            clusters = time.monotonic() - started
            busy_rss = rss_mib(pgid)
            members = len(procs.group_members(pgid))
        finally:
            started = time.monotonic()
            cli(env, "down")
        down = time.monotonic() - started
        left = procs.group_members(pgid)
    print(f"time factor              {args.time_factor}")
    print(f"up (warm binaries)       {up:6.1f} s   RSS {idle_rss:7.0f} MiB")
    print(
        f"3 clusters, 3 nodes each {clusters:6.1f} s   RSS {busy_rss:7.0f} MiB in {members} processes "
        f"(per cluster: {', '.join(f'{t:.1f}' for t in per_cluster)} s)"
    )
    print(f"down                     {down:6.1f} s   processes left: {len(left)}")
    print(f"ratio clusters/up        {clusters / up:6.2f}")
    if left:
        sys.exit(f"processes left after down: {left}")


if __name__ == "__main__":
    main()
