"""The CockroachDB stand-in's SQL and availability rules, node by node: what the collection and the
seeds' test rely on (multi-region DDL, survival goals, quorum per range, retry errors)."""

from __future__ import annotations

import datetime

import psycopg
import pytest
from mc_sandbox.crdb.cluster import Cluster
from mc_sandbox.crdb.pgwire import PgServer, SqlError
from mc_sandbox.crdb.sql import Backend

REGIONS = {"aws": "us-east-1", "gcp": "us-central1", "azure": "eastus"}
MULTI_REGION = 'CREATE DATABASE app PRIMARY REGION "us-east-1" REGIONS "us-central1", "eastus" SURVIVE REGION FAILURE'


class Fabric:
    """Nine nodes, three per cloud's region, and a switch that takes a region down."""

    def __init__(self, tmp_path):
        self.down = set()
        self.cluster = Cluster("crdb", is_down=lambda cloud, region: (cloud, region) in self.down)
        self.backends = {}
        for cloud, region in REGIONS.items():
            for index in range(3):
                node = self.cluster.add_node({"cloud": cloud, "region": region, "zone": f"{region}{'abc'[index]}"})
                self.backends.setdefault(cloud, []).append(Backend(self.cluster, node, tmp_path / "data"))
        self.cluster.init()

    def session(self, cloud, index=0, database="defaultdb"):
        backend = self.backends[cloud][index]
        backend.authenticate("root", database, {"subject": ((("commonName", "root"),),)})
        return backend.open_session("root", database, {})


def run(session, sql, *params):
    return session.execute(sql, list(params))


@pytest.fixture
def fabric(tmp_path):
    return Fabric(tmp_path)


@pytest.fixture
def app(fabric):
    admin = fabric.session("aws")
    run(admin, MULTI_REGION)
    run(admin, "USE app")
    run(admin, "CREATE TABLE users (id STRING PRIMARY KEY, name STRING NOT NULL, email STRING, region STRING)")
    return fabric


def test_init_happens_once_and_connections_wait_for_it(tmp_path):
    cluster = Cluster("crdb")
    node = cluster.add_node({"cloud": "aws", "region": "us-east-1", "zone": "us-east-1a"})
    backend = Backend(cluster, node, tmp_path)
    with pytest.raises(SqlError) as waiting:
        backend.authenticate("root", "defaultdb", None)
    assert waiting.value.code == "57P03"
    cluster.init()
    with pytest.raises(SqlError, match="already been initialized"):
        cluster.init()


def test_multi_region_database_as_the_collection_reads_it(fabric):
    session = fabric.session("gcp")
    run(session, MULTI_REGION)
    regions = run(session, "SHOW REGIONS FROM DATABASE app")
    assert [c for c, _oid in regions.columns] == ["database", "region", "primary", "secondary", "zones"]
    assert [(r[1], r[2]) for r in regions.rows] == [("us-east-1", True), ("us-central1", False), ("eastus", False)]
    assert run(session, "SHOW SURVIVAL GOAL FROM DATABASE app").rows == [("app", "region")]
    zone = run(session, "SHOW ZONE CONFIGURATION FROM DATABASE app").rows[0][1]
    assert "num_replicas = 5" in zone
    cluster_regions = run(session, "SHOW REGIONS FROM CLUSTER").rows
    assert [r[0] for r in cluster_regions] == ["eastus", "us-central1", "us-east-1"]
    assert cluster_regions[0][1] == "{eastusa,eastusb,eastusc}"


def test_region_survival_places_voters_two_two_one(app):
    database = app.cluster.databases["app"]
    voters = app.cluster.voters(database, database.tables["users"])
    by_region = {}
    for node in voters:
        by_region[node.region] = by_region.get(node.region, 0) + 1
    assert by_region == {"us-east-1": 2, "us-central1": 2, "eastus": 1}
    assert len({n.node_id for n in voters}) == 5


def test_write_through_aws_is_read_through_gcp(app):
    aws, gcp = app.session("aws", 1, "app"), app.session("gcp", 2, "app")
    inserted = run(
        aws,
        "INSERT INTO users (id, name, email, region) VALUES ($1, $2, $3, $4)",
        "user-1",
        "Alice",
        "alice@example.com",
        "us-east-1",
    )
    assert inserted.tag == "INSERT 0 1"
    result = run(gcp, "SELECT * FROM users WHERE id = $1", "user-1")
    assert result.rows == [("user-1", "Alice", "alice@example.com", "us-east-1")]
    assert [c for c, _oid in result.columns] == ["id", "name", "email", "region"]


def test_region_down_keeps_region_survival_writable(app):
    app.down.add(("aws", "us-east-1"))
    azure = app.session("azure", 0, "app")
    run(azure, "UPSERT INTO users (id, name) VALUES ($1, $2)", "user-2", "Bob")
    assert run(azure, "SELECT name FROM users WHERE id = 'user-2'").rows == [("Bob",)]
    report = app.cluster.range_report()
    assert not any(r["unavailable"] for r in report)
    assert all(r["live_voters"] == 3 for r in report if r["database"] == "app")
    live = [n for n in app.cluster.nodes.values() if app.cluster.live(n)]
    assert len(live) == 6
    with pytest.raises(SqlError) as unreachable:
        app.backends["aws"][0].authenticate("root", "app", None)
    assert unreachable.value.code == "08006"


def test_zone_survival_loses_the_primary_region_and_never_a_committed_write(fabric):
    admin = fabric.session("aws")
    run(admin, 'CREATE DATABASE shop PRIMARY REGION "us-east-1" REGIONS "us-central1", "eastus"')
    run(admin, "USE shop")
    run(admin, "CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL)")
    run(admin, "INSERT INTO orders VALUES (1, 9.5)")
    database = fabric.cluster.databases["shop"]
    assert {n.region for n in fabric.cluster.voters(database, database.tables["orders"])} == {"us-east-1"}
    fabric.down.add(("aws", "us-east-1"))
    azure = fabric.session("azure", 0, "shop")
    with pytest.raises(SqlError) as lost:
        run(azure, "INSERT INTO orders VALUES (2, 1)")
    assert lost.value.code == "58C00"
    assert "cannot reach quorum" in lost.value.message
    with pytest.raises(SqlError):
        run(azure, "SELECT * FROM orders")
    fabric.down.clear()
    assert run(azure, "SELECT id FROM orders ORDER BY id").rows == [(1,)]
    run(azure, "INSERT INTO orders VALUES (2, 1)")
    assert [r["unavailable"] for r in fabric.cluster.range_report()] == [False] * len(fabric.cluster.range_report())


@pytest.mark.parametrize(
    ("statements", "code", "text"),
    [
        (
            ['CREATE DATABASE d PRIMARY REGION "us-east-1" REGIONS "us-central1" SURVIVE REGION FAILURE'],
            "42602",
            "at least 3 regions",
        ),
        (['CREATE DATABASE d PRIMARY REGION "mars-1"'], "42602", 'region "mars-1" does not exist'),
        (['CREATE DATABASE d REGIONS "us-east-1"'], "42P16", "PRIMARY REGION must be specified"),
        (["CREATE DATABASE d", 'ALTER DATABASE d ADD REGION "eastus"'], "42602", "PRIMARY REGION first"),
        (["CREATE DATABASE d", "ALTER DATABASE d SURVIVE REGION FAILURE"], "42602", "must be multi-region"),
        ([MULTI_REGION, 'ALTER DATABASE app DROP REGION "us-east-1"'], "42P12", 'cannot drop region "us-east-1"'),
        ([MULTI_REGION, 'ALTER DATABASE app DROP REGION "eastus"'], "42602", "at least 3 regions"),
        ([MULTI_REGION, "ALTER DATABASE app CONFIGURE ZONE USING num_replicas = 3"], "22023", "at least 5"),
        ([MULTI_REGION, 'ALTER DATABASE app ADD REGION "eastus"'], "42710", "already added"),
        ([MULTI_REGION, MULTI_REGION], "42P04", 'database "app" already exists'),
        (
            ['CREATE DATABASE d PRIMARY REGION "us-east-1"', 'ALTER DATABASE d PRIMARY REGION "eastus"'],
            "42602",
            "has not been added",
        ),
        (["SHOW SURVIVAL GOAL FROM DATABASE nope"], "3D000", 'database "nope" does not exist'),
        (["SELECT * FROM nope"], "42P01", 'relation "nope" does not exist'),
    ],
)
def test_cockroachdb_rejects_what_cockroachdb_rejects(fabric, statements, code, text):
    session = fabric.session("aws")
    for sql in statements[:-1]:
        run(session, sql)
    with pytest.raises(SqlError) as error:
        run(session, statements[-1])
    assert error.value.code == code
    assert text in error.value.message + (error.value.hint or "")


def test_the_planners_order_converges(fabric):
    """Regions added before the goal is raised, the goal lowered before one is dropped."""
    session = fabric.session("aws")
    for sql in (
        'CREATE DATABASE d PRIMARY REGION "us-east-1" SURVIVE ZONE FAILURE',
        'ALTER DATABASE d ADD REGION "us-central1"',
        'ALTER DATABASE d ADD REGION IF NOT EXISTS "eastus"',
        "ALTER DATABASE d SURVIVE REGION FAILURE",
        "ALTER DATABASE d CONFIGURE ZONE USING num_replicas = 7",
        'ALTER DATABASE d SET PRIMARY REGION "eastus"',
    ):
        run(session, sql)
    assert [r[1] for r in run(session, "SHOW REGIONS FROM DATABASE d").rows if r[2]] == ["eastus"]
    assert "num_replicas = 7" in run(session, "SHOW ZONE CONFIGURATION FROM DATABASE d").rows[0][1]
    run(session, "ALTER DATABASE d SURVIVE ZONE FAILURE")
    run(session, 'ALTER DATABASE d DROP REGION "us-central1"')
    assert sorted(r[1] for r in run(session, "SHOW REGIONS FROM DATABASE d").rows) == ["eastus", "us-east-1"]
    databases = {r[0]: r for r in run(session, "SHOW DATABASES").rows}
    assert databases["d"][2] == "eastus" and databases["d"][5] == "zone"


def test_table_localities_and_settings(app):
    session = app.session("aws", 0, "app")
    run(session, 'ALTER TABLE users SET LOCALITY REGIONAL BY TABLE IN "eastus"')
    run(session, "CREATE TABLE promo (code STRING PRIMARY KEY)")
    run(session, "ALTER TABLE app.promo SET LOCALITY GLOBAL")
    tables = {r[1]: r[5] for r in run(session, "SHOW TABLES").rows}
    assert tables == {"promo": "GLOBAL", "users": "REGIONAL BY TABLE IN eastus"}
    database = app.cluster.databases["app"]
    assert app.cluster.voters(database, database.tables["users"])[0].region == "eastus"
    run(session, "SET CLUSTER SETTING kv.rangefeed.enabled = true")
    assert run(session, "SHOW CLUSTER SETTING kv.rangefeed.enabled").rows == [("true",)]


def test_workload_types_and_statements(app):
    session = app.session("gcp", 0, "app")
    run(
        session,
        "CREATE TABLE events (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), ok BOOL, "
        "body JSONB, at TIMESTAMPTZ, n INT8, score FLOAT8)",
    )
    at = datetime.datetime(2026, 12, 5, 12, 0, tzinfo=datetime.UTC)
    run(
        session, "INSERT INTO events (ok, body, at, n, score) VALUES ($1, $2, $3, $4, $5)", True, {"a": [1]}, at, 7, 0.5
    )
    row = run(session, "SELECT ok, body, at, n, score FROM events").rows[0]
    assert row == (True, {"a": [1]}, at, 7, 0.5)
    updated = run(session, "UPDATE events SET n = n + 1 WHERE ok RETURNING n")
    assert updated.tag == "UPDATE 1" and updated.rows == [(8,)]
    assert run(session, "DELETE FROM events WHERE n = 8").tag == "DELETE 1"
    assert run(session, "SELECT count(*) FROM app.events").rows == [(0,)]
    assert run(session, "SELECT 'app.users' AS t").rows == [("app.users",)]


def test_conflicting_transactions_get_the_retry_error(app):
    first, second = app.session("aws", 0, "app"), app.session("gcp", 0, "app")
    run(first, "BEGIN")
    run(first, "INSERT INTO users (id, name) VALUES ('a', 'A')")
    assert first.transaction_status == "T"
    with pytest.raises(SqlError) as retry:
        run(second, "INSERT INTO users (id, name) VALUES ('b', 'B')")
    assert retry.value.code == "40001"
    run(first, "COMMIT")
    run(second, "INSERT INTO users (id, name) VALUES ('b', 'B')")
    assert run(second, "SELECT id FROM users ORDER BY id").rows == [("a",), ("b",)]


def test_failed_statement_aborts_the_transaction_until_rollback(app):
    session = app.session("aws", 0, "app")
    run(session, "BEGIN")
    with pytest.raises(SqlError):
        run(session, "SELECT * FROM nope")
    assert session.transaction_status == "E"
    with pytest.raises(SqlError) as aborted:
        run(session, "SELECT 1")
    assert aborted.value.code == "25P02"
    run(session, "ROLLBACK")
    assert session.transaction_status == "I"
    assert run(session, "SELECT 1").rows == [(1,)]


def test_psycopg_through_three_gateways_with_password_auth(app):
    """The seeds' test over the wire: write via aws, read via gcp, then aws down, write via azure."""
    servers = []
    try:
        for cloud in REGIONS:
            backend = app.backends[cloud][0]
            backend.users["app"] = "s3cret-pass"
            servers.append(PgServer(backend).start())
        root = app.session("aws", 0, "app")
        run(root, "CREATE TABLE t (k STRING PRIMARY KEY, v STRING)")

        def connect(server):
            host, port = server.address
            return psycopg.connect(
                host=host,
                port=port,
                user="app",
                password="s3cret-pass",
                dbname="app",
                sslmode="disable",
                autocommit=True,
                connect_timeout=5,
            )

        with connect(servers[0]) as aws:
            aws.execute("INSERT INTO t (k, v) VALUES (%s, %s)", ("k1", "written via aws"))
        with connect(servers[1]) as gcp:
            assert gcp.execute("SELECT v FROM t WHERE k = %s", ("k1",)).fetchone() == ("written via aws",)
        app.down.add(("aws", "us-east-1"))
        with connect(servers[2]) as azure:
            azure.execute("UPSERT INTO t (k, v) VALUES (%s, %s)", ("k2", "written via azure"))
            assert azure.execute("SELECT count(*) FROM t").fetchone() == (2,)
        with pytest.raises(psycopg.OperationalError):
            connect(servers[0])
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            host, port = servers[1].address
            psycopg.connect(host=host, port=port, user="app", password="wrong", dbname="app", sslmode="disable")
    finally:
        for server in servers:
            server.stop()
