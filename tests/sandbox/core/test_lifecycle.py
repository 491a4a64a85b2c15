"""up / reset / down on a sandbox of its own: idempotent, and nothing left behind."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import yaml
from mc_sandbox.core import procs
from mc_sandbox.core.clients import aws_session, eks_subnets

MC_SANDBOX = pathlib.Path(sys.executable).parent / "mc-sandbox"


def test_up_is_idempotent_reset_empties_clouds_and_down_leaves_nothing(tmp_path):
    env = dict(os.environ, MC_SANDBOX_DIR=str(tmp_path), MC_SANDBOX_TIME_FACTOR="0.001")

    def cli(*args):
        result = subprocess.run(
            [str(MC_SANDBOX), *args], env=env, capture_output=True, text=True, timeout=600, check=False
        )
        assert result.returncode == 0, result.stderr
        return result

    assert json.loads(cli("up", "--json").stdout)["changed"] is True
    pgid = json.loads((tmp_path / "daemon.json").read_text())["pgid"]
    try:
        assert json.loads(cli("up", "--json").stdout)["changed"] is False
        assert (tmp_path / "endpoints.yml").stat().st_mode & 0o077 == 0, "endpoints.yml must be private"
        endpoints = yaml.safe_load((tmp_path / "endpoints.yml").read_text())
        aws = endpoints["aws"]
        session = aws_session(endpoints, "us-west-2")
        ec2 = session.client("ec2", endpoint_url=aws["endpoint_url"])
        subnets = eks_subnets(ec2, "us-west-2", "10.9")
        vpcs = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v["CidrBlock"] == "10.9.0.0/16"]
        assert len(vpcs) == 1
        eks = session.client("eks", endpoint_url=aws["endpoint_url"])
        eks.create_cluster(
            name="short-lived", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={"subnetIds": subnets}
        )
        eks.get_waiter("cluster_active").wait(name="short-lived", WaiterConfig={"Delay": 1, "MaxAttempts": 300})
        with_cluster = len(procs.group_members(pgid))
        status = json.loads(cli("status", "--json").stdout)
        assert list(status["kubernetes"]["clusters"]) == ["aws/us-west-2/short-lived"]
        binary = pathlib.Path(json.loads((tmp_path / "daemon.json").read_text())["binary"])

        cli("reset", "--json")
        status = json.loads(cli("status", "--json").stdout)
        assert status["kubernetes"]["clusters"] == {}
        assert eks.list_clusters()["clusters"] == []
        assert vpcs[0] not in {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
        # the control plane's four processes are gone; the daemon and etcd stay
        assert len(procs.group_members(pgid)) == with_cluster - 4
        assert binary.is_file(), "reset must keep the built binaries"
    finally:
        result = subprocess.run(
            [str(MC_SANDBOX), "down", "--json"], env=env, capture_output=True, text=True, timeout=120, check=False
        )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["left"] == []
    assert procs.group_members(pgid) == []
    assert not (tmp_path / "daemon.json").exists()
    # down again is a no-op
    again = subprocess.run(
        [str(MC_SANDBOX), "down", "--json"], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(again.stdout)["changed"] is False


def test_daemon_stops_itself_when_its_state_directory_disappears(tmp_path):
    env = dict(os.environ, MC_SANDBOX_DIR=str(tmp_path / "state"))
    subprocess.run([str(MC_SANDBOX), "up"], env=env, capture_output=True, timeout=600, check=True)
    pgid = json.loads((tmp_path / "state" / "daemon.json").read_text())["pgid"]
    assert procs.group_members(pgid)
    shutil.rmtree(tmp_path / "state")
    deadline = time.monotonic() + 30
    while procs.group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = procs.stop_group(pgid)  # clean up before asserting, whatever happened
    assert left == []
    assert time.monotonic() < deadline, "the orphaned sandbox did not stop by itself"
