"""Sandbox lifecycle figures: `up` from warm binaries, three EKS clusters with 3 Ready nodes
each, created in parallel through boto3, then `down` with no process left.

    .venv/bin/python benchmarks/sandbox_lifecycle.py [--time-factor 0.001]

Prints wall times and the memory (RSS) of the sandbox's processes. The simulated cloud delays
are scaled by the time factor, so the default of 0.001 measures the sandbox's own cost.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import yaml
from kubernetes import client as k8s
from mc_sandbox import procs
from mc_sandbox.aws_auth import eks_token

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
    session = boto3.Session(
        aws_access_key_id=aws["access_key"], aws_secret_access_key=aws["secret_key"], region_name=region
    )
    started = time.monotonic()
    ec2 = session.client("ec2", endpoint_url=aws["endpoint_url"])
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{region}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    ]
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
    with tempfile.NamedTemporaryFile("wb", suffix=".crt", delete=False) as ca:
        ca.write(base64.b64decode(cluster["certificateAuthority"]["data"]))
    config = k8s.Configuration()
    config.host = cluster["endpoint"]
    config.ssl_ca_cert = ca.name
    config.api_key = {
        "authorization": "Bearer " + eks_token(session.client("sts", endpoint_url=aws["endpoint_url"]), name)
    }
    core = k8s.CoreV1Api(k8s.ApiClient(config))
    while True:
        nodes = core.list_node().items
        ready = [n for n in nodes if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])]
        if len(ready) == 3:
            break
        time.sleep(0.2)
    os.unlink(ca.name)
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
