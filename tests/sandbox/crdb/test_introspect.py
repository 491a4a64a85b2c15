"""The stand-in's crdb_internal tables over the wire (psycopg), as an operator or the info module
reads them: nodes with localities and liveness, store metrics that follow range availability, and
the jobs of backup schedules. Any SELECT over them is answered, not only the module's."""

from __future__ import annotations

import datetime

import psycopg
import pytest
from mc_sandbox.crdb.cluster import Cluster, Job
from mc_sandbox.crdb.pgwire import PgServer
from mc_sandbox.crdb.sql import Backend

REGIONS = {"aws": "us-east-1", "gcp": "us-central1", "azure": "eastus"}
PASSWORD = "Introspect-pass-1"
RANGES = (
    "SELECT sum((metrics->>'ranges.unavailable')::DECIMAL)::INT AS unavailable, "
    "sum((metrics->>'ranges.underreplicated')::DECIMAL)::INT AS under_replicated, "
    "sum((metrics->>'ranges')::DECIMAL)::INT AS total FROM crdb_internal.kv_store_status"
)


class Fabric:
    def __init__(self, tmp_path):
        self.down = set()
        self.cluster = Cluster("crdb", is_down=lambda cloud, region: (cloud, region) in self.down)
        self.servers = {}
        for cloud, region in REGIONS.items():
            for zone in "abc":
                node = self.cluster.add_node({"cloud": cloud, "region": region, "zone": region + zone})
                if cloud not in self.servers:
                    backend = Backend(self.cluster, node, tmp_path / "data", users={"ops": PASSWORD})
                    self.servers[cloud] = PgServer(backend).start()
        self.cluster.init()

    def connect(self, cloud):
        host, port = self.servers[cloud].address
        return psycopg.connect(
            host=host, port=port, user="ops", password=PASSWORD, dbname="defaultdb", sslmode="disable", autocommit=True
        )


@pytest.fixture
def fabric(tmp_path):
    fabric = Fabric(tmp_path)
    try:
        yield fabric
    finally:
        for server in fabric.servers.values():
            server.stop()


def test_nine_nodes_with_their_localities_and_liveness(fabric):
    with fabric.connect("gcp") as conn:
        rows = conn.execute(
            "SELECT n.node_id, n.locality, n.is_live, l.draining, l.membership FROM crdb_internal.gossip_nodes AS n "
            "JOIN crdb_internal.gossip_liveness AS l ON l.node_id = n.node_id ORDER BY n.node_id"
        ).fetchall()
    assert len(rows) == 9
    assert rows[0] == (1, "cloud=aws,region=us-east-1,zone=us-east-1a", True, False, "active")
    assert rows[8] == (9, "cloud=azure,region=eastus,zone=eastusc", True, False, "active")
    assert all(isinstance(row[2], bool) for row in rows)


def test_a_region_down_leaves_six_live_nodes(fabric):
    fabric.down.add(("aws", "us-east-1"))
    with fabric.connect("azure") as conn:
        live = conn.execute("SELECT count(*) FROM crdb_internal.gossip_nodes WHERE is_live").fetchone()[0]
        dead = conn.execute(
            "SELECT node_id FROM crdb_internal.gossip_nodes WHERE NOT is_live AND locality LIKE %s ORDER BY node_id",
            ("%region=us-east-1%",),
        ).fetchall()
        stores = conn.execute("SELECT node_id FROM crdb_internal.kv_store_status ORDER BY node_id").fetchall()
    assert live == 6
    assert dead == [(1,), (2,), (3,)]
    assert [row[0] for row in stores] == [4, 5, 6, 7, 8, 9]  # a dead node's store reports nothing


def _app(conn, goal):
    conn.execute(
        f'CREATE DATABASE app PRIMARY REGION "us-east-1" REGIONS "us-central1", "eastus" SURVIVE {goal} FAILURE'
    )
    conn.execute("CREATE TABLE app.users (id STRING PRIMARY KEY)")


def test_region_survival_keeps_every_range_available_with_aws_down(fabric):
    with fabric.connect("azure") as conn:
        _app(conn, "REGION")
        assert conn.execute(RANGES).fetchone() == (0, 0, 3)  # defaultdb, app and app.users
        fabric.down.add(("aws", "us-east-1"))
        unavailable, under, total = conn.execute(RANGES).fetchone()
        conn.execute("INSERT INTO app.users (id) VALUES ('still-writable')")
    assert unavailable == 0
    assert under == 3  # every range lost its aws replicas
    assert total == 3


def test_zone_survival_loses_the_primary_regions_ranges(fabric):
    with fabric.connect("gcp") as conn:
        _app(conn, "ZONE")
        fabric.down.add(("aws", "us-east-1"))
        unavailable, _under, total = conn.execute(RANGES).fetchone()
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("SELECT * FROM app.users")
    assert refused.value.sqlstate == "58C00"
    assert (unavailable, total) == (2, 3)  # app and app.users: all three voters were in us-east-1


def test_schedule_jobs_newest_first_with_who_created_them(fabric):
    cluster = fabric.cluster
    cluster.jobs.append(Job(11, 500, "BACKUP", "BACKUP INTO 'x'", "failed", 1000.0, 1010.0, "no space"))
    cluster.jobs.append(Job(12, 500, "BACKUP", "BACKUP INTO 'x'", "succeeded", 2000.0, 2100.0))
    cluster.jobs.append(Job(13, None, "SCHEMA CHANGE", "ALTER TABLE", "running", 3000.0))
    with fabric.connect("aws") as conn:
        rows = conn.execute(
            "SELECT s.created_by_id, j.job_id, j.status, j.created, j.finished FROM system.jobs AS s "
            "JOIN crdb_internal.jobs AS j ON j.job_id = s.id WHERE s.created_by_type = 'crdb_schedule' "
            "ORDER BY j.created DESC"
        ).fetchall()
        running = conn.execute("SELECT job_id FROM crdb_internal.jobs WHERE finished IS NULL").fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [(500, 12, "succeeded"), (500, 11, "failed")]
    assert rows[0][3] == datetime.datetime(1970, 1, 1, 0, 33, 20)
    assert rows[0][4] == datetime.datetime(1970, 1, 1, 0, 35)
    assert running == [(13,)]


def test_unknown_crdb_internal_tables_and_writes_are_refused(fabric):
    with fabric.connect("aws") as conn:
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("SELECT * FROM crdb_internal.ranges")
    with fabric.connect("aws") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM crdb_internal.gossip_nodes")
