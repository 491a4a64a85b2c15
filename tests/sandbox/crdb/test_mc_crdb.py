"""mc_crdb run as Ansible runs a module, against the CockroachDB stand-in over the wire: check ->
apply -> check -> apply, input rejected before any statement, and no secret in any output."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import psycopg
import pytest
from mc_sandbox.crdb.cluster import Cluster
from mc_sandbox.crdb.pgwire import PgServer
from mc_sandbox.crdb.sql import Backend

ROOT = pathlib.Path(__file__).resolve().parents[3]
MODULE = ROOT / "plugins" / "modules" / "mc_crdb.py"
PASSWORD = "Crdb-pass-7f3c9e"
REGIONS = {"aws": "us-east-1", "gcp": "us-central1", "azure": "eastus"}


@pytest.fixture
def gateway(tmp_path):
    cluster = Cluster("crdb")
    backend = None
    for cloud, region in REGIONS.items():
        for zone in "abc":
            node = cluster.add_node({"cloud": cloud, "region": region, "zone": region + zone})
            if backend is None:
                backend = Backend(cluster, node, tmp_path / "data", users={"fabric": PASSWORD})
    cluster.init()
    server = PgServer(backend).start()
    try:
        yield {"cluster": cluster, "server": server, "tmp": tmp_path}
    finally:
        server.stop()


def module(gateway, check=False, diff=False, **params):
    host, port = gateway["server"].address
    args = dict(params)
    args.setdefault(
        "connection", {"host": host, "port": port, "user": "fabric", "password": PASSWORD, "sslmode": "disable"}
    )
    args["_ansible_check_mode"] = check
    args["_ansible_diff"] = diff
    path = gateway["tmp"] / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = {"PYTHONPATH": str(ROOT / ".collections"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, str(MODULE), str(path)], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert PASSWORD not in proc.stdout + proc.stderr
    return json.loads(proc.stdout)


APP = {
    "database": "app",
    "primary_region": "us-east-1",
    "regions": ["us-east-1", "us-central1", "eastus"],
    "survival_goal": "region",
    "replication_factor": 5,
}


def test_check_apply_check_apply(gateway):
    planned = module(gateway, check=True, diff=True, **APP)
    assert planned["changed"] is True
    assert planned["statements"] == [
        'CREATE DATABASE "app" PRIMARY REGION "us-east-1" REGIONS "us-central1", "eastus" SURVIVE REGION FAILURE',
        'ALTER DATABASE "app" CONFIGURE ZONE USING num_replicas = 5',
    ]
    assert "app" not in gateway["cluster"].databases, "check mode ran a statement"
    assert planned["diff"]["before"] == {}
    applied = module(gateway, diff=True, **APP)
    assert applied["changed"] is True and applied["statements"] == planned["statements"]
    database = gateway["cluster"].databases["app"]
    assert (database.primary_region, database.survival_goal, database.replicas()) == ("us-east-1", "region", 5)
    again = module(gateway, check=True, **APP)
    assert again["changed"] is False and again["statements"] == []
    assert module(gateway, **APP)["changed"] is False


def test_changes_only_what_differs_in_an_order_cockroachdb_accepts(gateway):
    module(gateway, database="app", regions=["us-east-1"], survival_goal="zone")
    grown = module(gateway, **APP)
    assert grown["statements"] == [
        'ALTER DATABASE "app" ADD REGION "us-central1"',
        'ALTER DATABASE "app" ADD REGION "eastus"',
        'ALTER DATABASE "app" SURVIVE REGION FAILURE',
        'ALTER DATABASE "app" CONFIGURE ZONE USING num_replicas = 5',
    ]
    shrunk = module(
        gateway, database="app", regions=["us-east-1", "us-central1"], survival_goal="zone", replication_factor=5
    )
    assert shrunk["statements"] == [
        'ALTER DATABASE "app" SURVIVE ZONE FAILURE',
        'ALTER DATABASE "app" DROP REGION "eastus"',
    ]
    assert gateway["cluster"].databases["app"].regions == ["us-east-1", "us-central1"]
    gone = module(gateway, database="app", state="absent")
    assert gone["changed"] is True and "app" not in gateway["cluster"].databases
    assert module(gateway, database="app", state="absent")["changed"] is False


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (dict(APP, regions=["us-east-1", "mars-1", "eastus"]), "regions[1]"),
        (dict(APP, regions=["us-east-1", "us-east-1", "eastus"]), "regions[1]"),
        (dict(APP, primary_region="eastus2"), "primary_region"),
        (dict(APP, regions=["us-east-1", "eastus"]), "survival_goal"),
        (dict(APP, replication_factor=3), "replication_factor"),
        (dict(APP, tables=[{"name": "users", "locality": "regional_by_planet"}]), "tables[0].locality"),
        (dict(APP, tables=[{"name": "users", "locality": "regional_by_table:westus"}]), "tables[0].locality"),
        (dict(APP, settings={"Not A Setting": 1}), "settings.Not A Setting"),
        (dict(APP, database=""), "database"),
        (dict(APP, database="x" * 64), "database"),
    ],
)
def test_bad_input_is_rejected_before_any_statement(gateway, params, field):
    result = module(gateway, **params)
    assert result["failed"] is True
    assert result["error"]["field"] == field, result["msg"]
    assert field in result["msg"]
    assert set(gateway["cluster"].databases) == {"defaultdb", "system"}


def test_a_refused_statement_is_named_and_the_rerun_converges(gateway):
    wanted = dict(APP, settings={"kv.rangefeed.enabled": True}, tables=[{"name": "users", "locality": "global"}])
    failed = module(gateway, **wanted)
    assert failed["failed"] is True
    assert failed["error"]["sqlstate"] == "42P01"
    assert 'ALTER TABLE "app"."users" SET LOCALITY GLOBAL' in failed["msg"]
    assert failed["statements"][0].startswith('CREATE DATABASE "app"')
    cluster = gateway["cluster"]
    session = Backend(cluster, cluster.nodes[1], gateway["tmp"] / "data").open_session("root", "app", {})
    session.execute("CREATE TABLE users (id STRING PRIMARY KEY)", [])
    rerun = module(gateway, **wanted)
    assert rerun.get("changed") is True, rerun.get("msg")
    assert rerun["statements"] == [
        'ALTER TABLE "app"."users" SET LOCALITY GLOBAL',
        "SET CLUSTER SETTING kv.rangefeed.enabled = 'true'",
    ]
    assert module(gateway, **wanted)["changed"] is False


def test_wrong_password_is_an_authentication_error(gateway):
    host, port = gateway["server"].address
    wrong = module(
        gateway,
        connection={"host": host, "port": port, "user": "fabric", "password": "not-it", "sslmode": "disable"},
        **APP,
    )
    assert wrong["failed"] is True and wrong["error"]["kind"] == "authentication"
    assert "password authentication failed" in wrong["msg"]
    assert "not-it" not in json.dumps(wrong)


APP_PASSWORD = "App-user-pass-91d2"
S3_KEY = "s3-Secret+Key/9b1e"
AZURE_KEY = "YXp1cmUta2V5LTRmMmE="
SCHEDULES = [
    {
        "label": "app-s3",
        "destination": f"s3://backups/app?AWS_ACCESS_KEY_ID=AKIASANDBOX&AWS_SECRET_ACCESS_KEY={S3_KEY}",
        "recurring": "@daily",
    },
    {
        "label": "app-azure",
        "destination": f"azure-blob://backups/app?AZURE_ACCOUNT_NAME=fabric&AZURE_ACCOUNT_KEY={AZURE_KEY}",
        "recurring": "0 * * * *",
        "full_backup": "@daily",
    },
]
USERS = [{"name": "app", "password": APP_PASSWORD, "privileges": ["CONNECT", "CREATE"]}]


def connect_as(gateway, user, password):
    host, port = gateway["server"].address
    return psycopg.connect(host=host, port=port, user=user, password=password, sslmode="disable", dbname="app")


def test_users_and_backup_schedules_converge_and_no_secret_is_shown(gateway):
    wanted = dict(APP, users=USERS, backup_schedules=SCHEDULES)
    planned = module(gateway, check=True, diff=True, **wanted)
    text = json.dumps(planned)
    for secret in (APP_PASSWORD, S3_KEY, AZURE_KEY):
        assert secret not in text
    assert [s.split(" WITH")[0] for s in planned["statements"][2:4]] == [
        'CREATE USER "app"',
        'GRANT CONNECT, CREATE ON DATABASE "app" TO "app"',
    ]
    assert sum(s.startswith("CREATE SCHEDULE") for s in planned["statements"]) == 2
    assert gateway["cluster"].schedules == {} and "app" not in gateway["cluster"].users
    applied = module(gateway, diff=True, **wanted)
    assert applied["changed"] is True
    for secret in (APP_PASSWORD, S3_KEY, AZURE_KEY):
        assert secret not in json.dumps(applied)
    cluster = gateway["cluster"]
    # The hourly backups with daily full backups are a pair of schedules, as CockroachDB makes them.
    kinds = sorted((s.label, s.kind, s.recurrence) for s in cluster.schedules.values())
    assert kinds == [
        ("app-azure", "full", "@daily"),
        ("app-azure", "incremental", "0 * * * *"),
        ("app-s3", "full", "@daily"),
    ]
    assert {s.destination for s in cluster.schedules.values()} >= {SCHEDULES[0]["destination"]}
    assert cluster.grants[("app", "app")] == {"CONNECT", "CREATE"}
    with connect_as(gateway, "app", APP_PASSWORD) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    # Read back (passwords probed by signing in, destinations redacted): nothing to do.
    assert module(gateway, check=True, **wanted)["statements"] == []
    assert module(gateway, **wanted)["changed"] is False

    changed = [dict(SCHEDULES[0], recurring="@hourly"), dict(SCHEDULES[1], state="absent")]
    new_password = "App-user-pass-rotated"
    rerun = module(
        gateway,
        **dict(
            APP,
            users=[{"name": "app", "password": new_password, "privileges": ["CONNECT"]}],
            backup_schedules=changed,
        ),
    )
    assert new_password not in json.dumps(rerun)
    shown = [s.split(" SET INTO")[0] for s in rerun["statements"]]
    s3_id = next(s.schedule_id for s in cluster.schedules.values() if s.label == "app-s3")
    assert shown[:3] == [
        """ALTER USER "app" WITH PASSWORD '********'""",
        'REVOKE CREATE ON DATABASE "app" FROM "app"',
        f"ALTER BACKUP SCHEDULE {s3_id}",
    ]
    assert len([s for s in shown if s.startswith("DROP SCHEDULE")]) == 2
    assert [(s.label, s.recurrence) for s in cluster.schedules.values()] == [("app-s3", "@hourly")]
    with connect_as(gateway, "app", new_password):
        pass
    gone = module(gateway, **dict(APP, users=[{"name": "app", "state": "absent"}]))
    assert gone["statements"] == ['REVOKE ALL ON DATABASE "app" FROM "app"', 'DROP USER "app"']
    assert "app" not in cluster.users and ("app", "app") not in {k for k, v in cluster.grants.items() if v}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (dict(APP, users=[{"name": "root"}]), "users[0].name"),
        (dict(APP, users=[{"name": "app", "privileges": ["SELECT"]}]), "users[0].privileges[0]"),
        (dict(APP, backup_schedules=[dict(SCHEDULES[0], recurring="0 25 * * *")]), "backup_schedules[0].recurring"),
        (
            dict(APP, backup_schedules=[dict(SCHEDULES[0], destination="ftp://backups/app")]),
            "backup_schedules[0].destination",
        ),
        (
            dict(APP, backup_schedules=[dict(SCHEDULES[0], destination="s3://backups/app")]),
            "backup_schedules[0].destination",
        ),
    ],
)
def test_bad_users_and_schedules_are_rejected_before_any_statement(gateway, params, field):
    result = module(gateway, **params)
    assert result["failed"] is True
    assert result["error"]["field"].startswith(field), result["msg"]
    assert set(gateway["cluster"].databases) == {"defaultdb", "system"}
    assert gateway["cluster"].schedules == {}
