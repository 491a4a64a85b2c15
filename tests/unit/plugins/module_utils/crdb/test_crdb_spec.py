"""The CockroachDB planner: checked input, only the statements that change something, no secret shown."""

from __future__ import annotations

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError
from ansible_collections.multicloud.fabric.plugins.module_utils.crdb.spec import (
    MASK,
    Statement,
    check_cron,
    ident,
    literal,
    mask_uri,
    normalize_crdb,
    plan_crdb,
)

REGIONS = {"us-east-1", "us-central1", "eastus"}
S3 = "s3://backups/app?AWS_ACCESS_KEY_ID=AKIAEXAMPLE&AWS_SECRET_ACCESS_KEY=s3cr3t/Key+1"
GS = "gs://backups/app?AUTH=specified&CREDENTIALS=eyJzZWNyZXQiOiJ4In0="
AZ = "azure-blob://backups/app?AZURE_ACCOUNT_NAME=fabric&AZURE_ACCOUNT_KEY=a2V5"


def params(**changes):
    base = {
        "database": "app",
        "regions": ["us-east-1", "us-central1", "eastus"],
        "survival_goal": "region",
        "replication_factor": 5,
        "tables": [{"name": "users", "locality": "regional_by_row"}, {"name": "config", "locality": "global"}],
        "settings": {"kv.rangefeed.enabled": True},
        "backup_schedules": [
            {"label": "app-nightly-s3", "destination": S3, "recurring": "@daily"},
            {"label": "app-nightly-gs", "destination": GS, "recurring": "0 3 * * *"},
            {"label": "app-nightly-azure", "destination": AZ, "recurring": "30 3 * * MON-FRI"},
        ],
    }
    base.update(changes)
    return base


def converged(desired):
    """What the SHOW statements read once ``desired`` is in place."""
    return {
        "primary_region": desired["primary_region"],
        "regions": list(desired["regions"]),
        "survival_goal": desired["survival_goal"],
        "num_replicas": desired["replication_factor"],
        "tables": {t["name"]: t["locality"] for t in desired["tables"]},
        "settings": dict(desired["settings"]),
        "users": {u["name"]: dict(u, password_ok=True) for u in desired["users"] if u["state"] == "present"},
        # SHOW SCHEDULES shows destinations with their secrets redacted.
        "backup_schedules": [
            dict(s, ids=[100 + i], destination=mask_uri(s["destination"]))
            for i, s in enumerate(desired["backup_schedules"])
            if s["state"] == "present"
        ],
    }


def sqls(statements):
    return [s.sql for s in statements]


def test_a_new_database_is_created_multi_region_in_one_statement_then_configured():
    desired = normalize_crdb(params(), REGIONS)
    plan = plan_crdb(None, desired)
    assert sqls(plan)[:6] == [
        'CREATE DATABASE "app" PRIMARY REGION "us-east-1" REGIONS "us-central1", "eastus" SURVIVE REGION FAILURE',
        'ALTER DATABASE "app" CONFIGURE ZONE USING num_replicas = 5',
        'ALTER TABLE "app"."users" SET LOCALITY REGIONAL BY ROW',
        'ALTER TABLE "app"."config" SET LOCALITY GLOBAL',
        "SET CLUSTER SETTING kv.rangefeed.enabled = 'true'",
        f"CREATE SCHEDULE 'app-nightly-s3' FOR BACKUP DATABASE \"app\" INTO '{S3}' WITH revision_history "
        "RECURRING '@daily' FULL BACKUP ALWAYS",
    ]
    assert len(plan) == 8


def test_nothing_to_do_once_converged():
    desired = normalize_crdb(params(), REGIONS)
    assert plan_crdb(converged(desired), desired) == []


def test_secrets_are_masked_in_what_is_shown_but_not_in_what_runs():
    desired = normalize_crdb(params(), REGIONS)
    plan = plan_crdb(None, desired)
    shown = " ".join(s.display for s in plan)
    for secret in ("s3cr3t/Key+1", "eyJzZWNyZXQiOiJ4In0=", "a2V5"):
        assert secret not in shown
    assert "AWS_ACCESS_KEY_ID=AKIAEXAMPLE" in shown and f"AWS_SECRET_ACCESS_KEY={MASK}" in shown
    assert any("s3cr3t/Key+1" in s.sql for s in plan)


def test_adding_a_region_and_raising_the_goal_orders_the_add_first():
    desired = normalize_crdb(params(), REGIONS)
    current = dict(converged(desired), regions=["us-east-1", "us-central1"], survival_goal="zone")
    assert sqls(plan_crdb(current, desired)) == [
        'ALTER DATABASE "app" ADD REGION "eastus"',
        'ALTER DATABASE "app" SURVIVE REGION FAILURE',
    ]


def test_lowering_the_goal_comes_before_dropping_below_three_regions():
    desired = normalize_crdb(
        params(regions=["us-east-1", "us-central1"], survival_goal="zone", replication_factor=3), REGIONS
    )
    current = dict(converged(desired), regions=["us-east-1", "us-central1", "eastus"], survival_goal="region")
    current["num_replicas"] = 3
    assert sqls(plan_crdb(current, desired)) == [
        'ALTER DATABASE "app" SURVIVE ZONE FAILURE',
        'ALTER DATABASE "app" DROP REGION "eastus"',
    ]


def test_moving_the_primary_region_adds_it_first():
    desired = normalize_crdb(params(primary_region="eastus"), REGIONS)
    current = dict(converged(desired), primary_region="us-east-1", regions=["us-east-1", "us-central1"])
    assert sqls(plan_crdb(current, desired)) == [
        'ALTER DATABASE "app" ADD REGION "eastus"',
        'ALTER DATABASE "app" SET PRIMARY REGION "eastus"',
    ]


def test_an_existing_database_without_regions_gets_its_primary_then_the_others():
    desired = normalize_crdb(params(survival_goal="zone", replication_factor=None), REGIONS)
    current = dict(converged(desired), primary_region=None, regions=[], survival_goal="zone")
    assert sqls(plan_crdb(current, desired)) == [
        'ALTER DATABASE "app" SET PRIMARY REGION "us-east-1"',
        'ALTER DATABASE "app" ADD REGION "us-central1"',
        'ALTER DATABASE "app" ADD REGION "eastus"',
    ]


def test_changed_locality_setting_and_schedule_are_the_only_statements():
    desired = normalize_crdb(params(tables=[{"name": "users", "locality": "regional_by_table:eastus"}]), REGIONS)
    current = converged(desired)
    current["tables"] = {"users": "regional_by_row"}
    current["settings"] = {"kv.rangefeed.enabled": "false"}
    current["backup_schedules"][1] = dict(current["backup_schedules"][1], recurring="0 4 * * *")
    assert sqls(plan_crdb(current, desired)) == [
        'ALTER TABLE "app"."users" SET LOCALITY REGIONAL BY TABLE IN "eastus"',
        "SET CLUSTER SETTING kv.rangefeed.enabled = 'true'",
        f"ALTER BACKUP SCHEDULE 101 SET INTO '{GS}', SET RECURRING '0 3 * * *', SET FULL BACKUP ALWAYS, "
        "SET WITH revision_history = true",
    ]


def test_a_destination_read_back_redacted_is_not_a_change_but_another_bucket_is():
    desired = normalize_crdb(params(), REGIONS)
    current = converged(desired)
    assert "s3cr3t" not in str(current["backup_schedules"])
    assert plan_crdb(current, desired) == []
    current["backup_schedules"][0]["destination"] = mask_uri(S3.replace("backups/app", "backups/old"))
    (statement,) = plan_crdb(current, desired)
    assert statement.sql.startswith("ALTER BACKUP SCHEDULE 100 SET INTO 's3://backups/app?")
    assert "s3cr3t" in statement.sql and "s3cr3t" not in statement.display


def test_a_schedule_marked_absent_is_dropped_with_its_incremental_pair():
    desired = normalize_crdb(
        params(backup_schedules=[{"label": "app-nightly-s3", "state": "absent"}, {"label": "gone", "state": "absent"}]),
        REGIONS,
    )
    current = converged(desired)
    current["backup_schedules"] = [{"label": "app-nightly-s3", "ids": [7, 8]}]
    assert sqls(plan_crdb(current, desired)) == ["DROP SCHEDULE 7", "DROP SCHEDULE 8"]


USERS = [
    {"name": "app", "password": "pa'ss", "privileges": ["connect", "create"]},
    {"name": "reporting", "login": False, "privileges": ["CONNECT"]},
    {"name": "legacy", "state": "absent"},
]


def test_users_are_created_with_masked_passwords_then_granted_only_what_is_missing():
    desired = normalize_crdb(params(users=USERS, backup_schedules=[]), REGIONS)
    statements = plan_crdb(None, desired)
    assert [s.display for s in statements if "USER" in s.sql or "GRANT" in s.sql] == [
        """CREATE USER "app" WITH LOGIN PASSWORD '********'""",
        'GRANT CONNECT, CREATE ON DATABASE "app" TO "app"',
        'CREATE USER "reporting" WITH NOLOGIN',
        'GRANT CONNECT ON DATABASE "app" TO "reporting"',
    ]
    assert """CREATE USER "app" WITH LOGIN PASSWORD 'pa''ss'""" in sqls(statements)
    current = converged(desired)
    assert plan_crdb(current, desired) == []
    current["users"]["app"].update(password_ok=False, privileges=["CONNECT", "DROP"])
    current["users"]["reporting"].update(login=True, privileges=["ALL"])
    current["users"]["legacy"] = {"login": True, "privileges": ["CONNECT"], "password_ok": True}
    assert [s.display for s in plan_crdb(current, desired)] == [
        """ALTER USER "app" WITH PASSWORD '********'""",
        'REVOKE DROP ON DATABASE "app" FROM "app"',
        'GRANT CREATE ON DATABASE "app" TO "app"',
        'ALTER USER "reporting" WITH NOLOGIN',
        'REVOKE ALL ON DATABASE "app" FROM "reporting"',
        'GRANT CONNECT ON DATABASE "app" TO "reporting"',
        'REVOKE ALL ON DATABASE "app" FROM "legacy"',
        'DROP USER "legacy"',
    ]


def test_regional_by_table_in_the_primary_region():
    desired = normalize_crdb(params(tables=[{"name": "t", "locality": "REGIONAL BY TABLE"}]), REGIONS)
    assert 'ALTER TABLE "app"."t" SET LOCALITY REGIONAL BY TABLE IN PRIMARY REGION' in sqls(plan_crdb(None, desired))


def test_quoting_keeps_every_name_and_value_inert():
    assert ident('we"ird') == '"we""ird"'
    assert literal("it's") == "'it''s'"
    desired = normalize_crdb(
        params(
            database='app"; DROP DATABASE x; --',
            backup_schedules=[{"label": "l'{uri}", "destination": S3, "recurring": "@daily"}],
        ),
        REGIONS,
    )
    plan = sqls(plan_crdb(None, desired))
    assert plan[0].startswith('CREATE DATABASE "app""; DROP DATABASE x; --" PRIMARY REGION')
    assert plan[-1].startswith("CREATE SCHEDULE 'l''{uri}' FOR BACKUP")
    with pytest.raises(ValueError):
        literal("nul\x00")


def test_mask_uri_masks_only_secret_parameters():
    assert mask_uri("s3://b/p?AWS_ACCESS_KEY_ID=id&AWS_SECRET_ACCESS_KEY=x&AWS_SESSION_TOKEN=y") == (
        f"s3://b/p?AWS_ACCESS_KEY_ID=id&AWS_SECRET_ACCESS_KEY={MASK}&AWS_SESSION_TOKEN={MASK}"
    )
    assert mask_uri("gs://b/p?AUTH=implicit") == "gs://b/p?AUTH=implicit"


@pytest.mark.parametrize(
    "expr", ["@daily", "@HOURLY", "*/15 * * * *", "0 3 * * 1-5", "0 0 1,15 * *", "5 4 * JAN-MAR SUN", "0 0 * * 7"]
)
def test_cron_accepts(expr):
    assert check_cron(expr, "recurring")


def test_statement_display_defaults_to_the_sql():
    assert Statement("SELECT 1").display == "SELECT 1"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"database": ""}, "database", "1-63 characters"),
        ({"regions": []}, "regions", "at least one region"),
        ({"regions": ["us-east-1", "mars-1"]}, "regions[1]", "not a region of any node"),
        ({"regions": ["us-east-1", "us-east-1", "eastus"]}, "regions[1]", "listed twice"),
        ({"primary_region": "us-west-2"}, "primary_region", "not one of regions"),
        ({"survival_goal": "planet"}, "survival_goal", "zone or region"),
        ({"regions": ["us-east-1", "eastus"]}, "survival_goal", "at least 3 regions"),
        ({"replication_factor": 3}, "replication_factor", "needs at least 5 replicas"),
        ({"replication_factor": 0}, "replication_factor", ">= 1"),
        ({"replication_factor": True}, "replication_factor", ">= 1"),
        ({"tables": [{"name": "t", "locality": "everywhere"}]}, "tables[0].locality", "expected global"),
        ({"tables": [{"name": "t", "locality": "regional_by_table:mars-1"}]}, "tables[0].locality", "not one of"),
        ({"tables": [{"locality": "global"}]}, "tables[0].name", "1-63 characters"),
        ({"settings": {"bad setting": 1}}, "settings.bad setting", "cluster setting name"),
        (
            {"users": [{"name": "root"}]},
            "users[0].name",
            "reserved",
        ),
        (
            {"users": [{"name": "app", "privileges": ["SELECT"]}]},
            "users[0].privileges[0]",
            "not a database privilege",
        ),
        (
            {"users": [{"name": "app"}, {"name": "app"}]},
            "users[1].name",
            "twice",
        ),
        (
            {"backup_schedules": [{"label": "x", "state": "gone"}]},
            "backup_schedules[0].state",
            "present or absent",
        ),
        (
            {"backup_schedules": [{"label": "x", "destination": "ftp://b/p", "recurring": "@daily"}]},
            "backup_schedules[0].destination",
            "expected a s3://",
        ),
        (
            {"backup_schedules": [{"label": "x", "destination": "s3:///p?AUTH=implicit", "recurring": "@daily"}]},
            "backup_schedules[0].destination",
            "needs a bucket",
        ),
        (
            {
                "backup_schedules": [
                    {"label": "x", "destination": "s3://b/p?AWS_ACCESS_KEY_ID=a", "recurring": "@daily"}
                ]
            },
            "backup_schedules[0].destination",
            "needs AWS_SECRET_ACCESS_KEY",
        ),
        (
            {"backup_schedules": [{"label": "x", "destination": "gs://b/p", "recurring": "@daily"}]},
            "backup_schedules[0].destination",
            "needs CREDENTIALS",
        ),
        (
            {
                "backup_schedules": [
                    {"label": "x", "destination": "azure-blob://c/p?AZURE_ACCOUNT_NAME=a", "recurring": "@daily"}
                ]
            },
            "backup_schedules[0].destination",
            "needs AZURE_ACCOUNT_KEY",
        ),
        (
            {"backup_schedules": [{"label": "x", "destination": "s3://b/p?AUTH=magic", "recurring": "@daily"}]},
            "backup_schedules[0].destination",
            "implicit or specified",
        ),
        (
            {"backup_schedules": [{"label": "x", "destination": S3, "recurring": "0 25 * * *"}]},
            "backup_schedules[0].recurring (hour)",
            "between 0 and 23",
        ),
        (
            {"backup_schedules": [{"label": "x", "destination": S3, "recurring": "0 3 * *"}]},
            "backup_schedules[0].recurring",
            "expected 5 fields",
        ),
        (
            {"backup_schedules": [{"label": "x", "destination": S3, "recurring": "*/0 * * * *"}]},
            "backup_schedules[0].recurring (minute)",
            "step",
        ),
        (
            {"backup_schedules": [{"label": "x", "destination": S3, "recurring": "0 0 * * FRI-MON"}]},
            "backup_schedules[0].recurring (day of week)",
            "ends before it starts",
        ),
        (
            {"backup_schedules": [{"label": "x", "destination": S3, "recurring": "@daily", "full_backup": "@often"}]},
            "backup_schedules[0].full_backup",
            "expected 5 fields",
        ),
        (
            {
                "backup_schedules": [
                    {"label": "x", "destination": S3, "recurring": "@daily"},
                    {"label": "x", "destination": GS, "recurring": "@daily"},
                ]
            },
            "backup_schedules[1].label",
            "already the label",
        ),
    ],
)
def test_bad_input_is_rejected_naming_the_field(changes, field, words):
    with pytest.raises(ValidationError) as info:
        normalize_crdb(params(**changes), REGIONS)
    assert info.value.field == field
    assert words in info.value.message


def test_a_rejected_destination_never_echoes_its_secret():
    uri = "ftp://b/p?AWS_SECRET_ACCESS_KEY=topsecret"
    with pytest.raises(ValidationError) as info:
        normalize_crdb(params(backup_schedules=[{"label": "x", "destination": uri, "recurring": "@daily"}]), REGIONS)
    assert "topsecret" not in info.value.describe()
