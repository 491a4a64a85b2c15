"""mc_crdb_info run as Ansible runs a module, against the CockroachDB stand-in over the wire: nine
nodes over three clouds, a region taken down, replication lag measured through a gateway per
region, and no secret in any output."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest
from mc_sandbox.crdb.cluster import Cluster, Job
from mc_sandbox.crdb.pgwire import PgServer
from mc_sandbox.crdb.sql import Backend

ROOT = pathlib.Path(__file__).resolve().parents[3]
MODULE = ROOT / "plugins" / "modules" / "mc_crdb_info.py"
PASSWORD = "Crdb-info-pass-4b81d2"
REGIONS = {"aws": "us-east-1", "gcp": "us-central1", "azure": "eastus"}
MULTI_REGION = 'CREATE DATABASE app PRIMARY REGION "us-east-1" REGIONS "us-central1", "eastus" SURVIVE REGION FAILURE'


class Fabric:
    """Nine nodes, three per cloud's region, one SQL gateway per region, and a switch that takes a
    region down (its nodes become unreachable, as a partitioned region is)."""

    def __init__(self, tmp_path):
        self.down = set()
        self.tmp = tmp_path
        self.cluster = Cluster("crdb", is_down=lambda cloud, region: (cloud, region) in self.down)
        self.servers = {}
        for cloud, region in REGIONS.items():
            for zone in "abc":
                node = self.cluster.add_node({"cloud": cloud, "region": region, "zone": region + zone})
                if cloud not in self.servers:
                    backend = Backend(self.cluster, node, tmp_path / "data", users={"fabric": PASSWORD})
                    self.servers[cloud] = PgServer(backend).start()
        self.cluster.init()

    def connection(self, cloud, password=PASSWORD):
        host, port = self.servers[cloud].address
        return {"host": host, "port": port, "user": "fabric", "password": password, "sslmode": "disable"}

    def probes(self, *clouds):
        return [dict(self.connection(cloud), name=REGIONS[cloud]) for cloud in clouds]

    def sql(self, statement):
        node = next(n for n in self.cluster.nodes.values() if self.cluster.live(n))
        session = Backend(self.cluster, node, self.tmp / "data").open_session("root", "defaultdb", {})
        try:
            return session.execute(statement, [])
        finally:
            session.close()

    def stop(self):
        for server in self.servers.values():
            server.stop()


@pytest.fixture
def fabric(tmp_path):
    fabric = Fabric(tmp_path)
    try:
        yield fabric
    finally:
        fabric.stop()


def module(fabric, check=False, via="aws", **params):
    args = dict(params)
    args.setdefault("connection", fabric.connection(via))
    args["_ansible_check_mode"] = check
    path = fabric.tmp / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = {"PYTHONPATH": str(ROOT / ".collections"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, str(MODULE), str(path)], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert PASSWORD not in proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def test_nine_live_nodes_with_their_localities(fabric):
    result = module(fabric)
    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is False
    assert (result["nodes_live"], result["nodes_total"]) == (9, 9)
    assert result["regions"] == {region: {"live": 3, "total": 3} for region in REGIONS.values()}
    first = result["nodes"][0]
    assert first["locality"] == {"cloud": "aws", "region": "us-east-1", "zone": "us-east-1a"}
    assert (first["cloud"], first["region"], first["is_live"], first["draining"]) == ("aws", "us-east-1", True, False)
    assert sorted(n["node_id"] for n in result["nodes"]) == list(range(1, 10))
    assert result["ranges"]["unavailable"] == 0 and result["ranges"]["under_replicated"] == 0
    assert result["ranges"]["total"] >= 1
    assert "replication_lag" not in result and "database" not in result


def test_a_region_down_leaves_six_live_nodes_and_no_unavailable_range(fabric):
    fabric.sql(MULTI_REGION)
    fabric.sql("CREATE TABLE app.users (id STRING PRIMARY KEY)")
    fabric.down.add(("aws", "us-east-1"))
    result = module(fabric, via="azure", database="app")
    assert result.get("failed") is not True, result.get("msg")
    assert (result["nodes_live"], result["nodes_total"]) == (6, 9)
    assert result["regions"]["us-east-1"] == {"live": 0, "total": 3}
    assert result["regions"]["eastus"] == {"live": 3, "total": 3}
    assert all(not n["is_live"] for n in result["nodes"] if n["cloud"] == "aws")
    assert result["ranges"]["unavailable"] == 0
    assert result["ranges"]["under_replicated"] >= 2  # app's and app.users' ranges lost 2 of 5 replicas
    assert result["database"] == {
        "name": "app",
        "exists": True,
        "primary_region": "us-east-1",
        "regions": ["us-east-1", "us-central1", "eastus"],
        "survival_goal": "region",
        "replication_factor": 5,
    }


def test_zone_survival_loses_the_primary_region_ranges(fabric):
    fabric.sql('CREATE DATABASE app PRIMARY REGION "us-east-1" REGIONS "us-central1", "eastus"')
    fabric.sql("CREATE TABLE app.users (id STRING PRIMARY KEY)")
    fabric.down.add(("aws", "us-east-1"))
    result = module(fabric, via="gcp", database="app")
    assert result["ranges"]["unavailable"] == 2  # the database's range and app.users', all voters in aws
    assert result["database"]["survival_goal"] == "zone"


def test_a_missing_database_is_reported_not_failed(fabric):
    result = module(fabric, database="nope")
    assert result.get("failed") is not True, result.get("msg")
    assert result["database"] == {"name": "nope", "exists": False}


def test_replication_lag_is_measured_per_region_and_leaves_no_row(fabric):
    result = module(fabric, lag_probes=fabric.probes("aws", "gcp", "azure"), lag_timeout=5)
    assert result.get("failed") is not True, result.get("msg")
    lag = result["replication_lag"]
    assert set(lag) == set(REGIONS.values())
    for region, seconds in lag.items():
        assert isinstance(seconds, float), (region, seconds)
        assert 0 <= seconds < 1, (region, seconds)
    assert result["lag_writer"] == "us-east-1"
    assert result["changed"] is False
    assert fabric.sql("SELECT count(*) FROM mc_fabric_lag_probe").rows == [(0,)]


def test_a_down_gateway_is_an_error_for_its_region_only(fabric):
    fabric.down.add(("aws", "us-east-1"))
    result = module(fabric, via="gcp", lag_probes=fabric.probes("aws", "gcp", "azure"))
    assert result.get("failed") is not True, result.get("msg")
    lag = result["replication_lag"]
    assert isinstance(lag["us-east-1"], dict) and "error" in lag["us-east-1"]
    assert lag["us-east-1"]["kind"] == "transient"
    assert "unreachable" in lag["us-east-1"]["error"] or "connect" in lag["us-east-1"]["error"]
    assert lag["us-central1"] < 1 and lag["eastus"] < 1
    assert result["lag_writer"] == "us-central1"  # the first probe that connected wrote
    assert result["nodes_live"] == 6


def test_the_gateway_itself_down_fails_the_task(fabric):
    fabric.down.add(("aws", "us-east-1"))
    result = module(fabric, via="aws")
    assert result["failed"] is True
    assert result["error"]["kind"] == "transient"


def test_check_mode_returns_the_same_facts(fabric):
    fabric.down.add(("gcp", "us-central1"))
    checked = module(fabric, check=True, via="azure", lag_probes=fabric.probes("azure", "aws"))
    assert checked.get("failed") is not True, checked.get("msg")
    assert checked["changed"] is False
    assert (checked["nodes_live"], checked["nodes_total"]) == (6, 9)
    assert set(checked["replication_lag"]) == {"eastus", "us-east-1"}
    assert all(isinstance(v, float) for v in checked["replication_lag"].values())


def test_wrong_password_is_never_shown(fabric):
    result = module(fabric, connection=fabric.connection("aws", password="not-it-93x"))
    assert result["failed"] is True and result["error"]["kind"] == "authentication"
    assert "not-it-93x" not in json.dumps(result)
    probes = fabric.probes("aws", "gcp")
    probes[1]["password"] = "wrong-probe-secret"
    lagged = module(fabric, lag_probes=probes)
    assert lagged["replication_lag"]["us-central1"]["kind"] == "authentication"
    assert "wrong-probe-secret" not in json.dumps(lagged)


def test_duplicate_probe_names_are_rejected_before_any_query(fabric):
    probes = fabric.probes("aws", "gcp")
    probes[1]["name"] = probes[0]["name"]
    result = module(fabric, lag_probes=probes)
    assert result["failed"] is True and result["error"]["field"] == "lag_probes"
    assert "mc_fabric_lag_probe" not in fabric.cluster.databases["defaultdb"].tables


def test_backup_schedules_with_their_last_run_and_no_storage_key(fabric):
    secret = "AWSSECRETkey0123456789"
    fabric.sql(
        "CREATE SCHEDULE app_daily FOR BACKUP INTO "
        f"'s3://backups/app?AWS_ACCESS_KEY_ID=AKIAEXAMPLE&AWS_SECRET_ACCESS_KEY={secret}' "
        "RECURRING '@hourly' FULL BACKUP '@daily'"
    )
    cluster = fabric.cluster
    by_kind = {s.kind: s for s in cluster.schedules.values()}
    full, incremental = by_kind["full"], by_kind["incremental"]
    cluster.jobs.append(
        Job(cluster.new_id(), full.schedule_id, "BACKUP", "BACKUP INTO ...", "failed", 1000.0, 1010.0, "no space")
    )
    cluster.jobs.append(
        Job(cluster.new_id(), full.schedule_id, "BACKUP", "BACKUP INTO ...", "succeeded", 2000.0, 2100.0)
    )
    cluster.jobs.append(Job(cluster.new_id(), None, "SCHEMA CHANGE", "ALTER TABLE ...", "succeeded", 3000.0, 3001.0))
    result = module(fabric)
    assert secret not in json.dumps(result)
    schedules = {s["id"]: s for s in result["backup_schedules"]}
    assert set(schedules) == {full.schedule_id, incremental.schedule_id}
    daily = schedules[full.schedule_id]
    assert (daily["label"], daily["status"], daily["recurrence"], daily["backup_type"]) == (
        "app_daily",
        "ACTIVE",
        "@daily",
        "full",
    )
    assert daily["next_run"] and daily["state"]
    assert daily["last_run"]["status"] == "succeeded"  # the newest job, not the failed one before it
    assert daily["last_run"]["started"].startswith("1970-01-01T00:33:20")
    assert daily["last_run"]["finished"].startswith("1970-01-01T00:35:00")
    assert schedules[incremental.schedule_id]["last_run"] is None
    assert schedules[incremental.schedule_id]["backup_type"] == "incremental"
