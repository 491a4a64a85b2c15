"""The CockroachDB stand-in's users, privileges and backup schedules, with CockroachDB's answers:
what mc_crdb reads back and the refusals a user meets."""

from __future__ import annotations

import json

import pytest
from mc_sandbox.crdb.pgwire import SqlError
from test_standin import MULTI_REGION, Fabric, run

SECRET = "s3cr3t/Key+1"
S3 = f"s3://backups/app?AWS_ACCESS_KEY_ID=AKIA&AWS_SECRET_ACCESS_KEY={SECRET}"


@pytest.fixture
def admin(tmp_path):
    fabric = Fabric(tmp_path)
    session = fabric.session("aws")
    run(session, MULTI_REGION)
    return fabric, session


def code(session, sql):
    with pytest.raises(SqlError) as caught:
        run(session, sql)
    return caught.value.code


def test_a_user_signs_in_with_its_password_and_a_nologin_role_cannot(admin):
    fabric, session = admin
    run(session, "CREATE USER app WITH LOGIN PASSWORD 'pw-1'")
    run(session, "CREATE ROLE readers")
    backend = fabric.backends["gcp"][0]
    backend.check_password("app", "pw-1")
    with pytest.raises(SqlError) as wrong:
        backend.check_password("app", "pw-2")
    assert wrong.value.code == "28P01"
    with pytest.raises(SqlError) as nologin:
        backend.authenticate("readers", "app", None)
    assert nologin.value.code == "28000"
    run(session, "ALTER USER app WITH PASSWORD 'pw-2'")
    backend.check_password("app", "pw-2")
    users = {row[0]: row[1] for row in run(session, "SHOW USERS").rows}
    assert users == {"app": "", "readers": "NOLOGIN", "root": ""}
    assert code(session, "CREATE USER app") == "42710"
    run(session, "CREATE USER IF NOT EXISTS app")


def test_privileges_are_granted_revoked_and_block_dropping_the_user(admin):
    _fabric, session = admin
    run(session, "CREATE USER app")
    run(session, "GRANT CONNECT, CREATE ON DATABASE app TO app")
    grants = run(session, "SHOW GRANTS ON DATABASE app FOR app").rows
    assert [(row[1], row[2]) for row in grants] == [("app", "CONNECT"), ("app", "CREATE")]
    assert code(session, "DROP USER app") == "2BP01"
    run(session, "REVOKE ALL ON DATABASE app FROM app")
    assert run(session, "SHOW GRANTS ON DATABASE app FOR app").rows == []
    run(session, "DROP USER app")
    assert code(session, "GRANT CONNECT ON DATABASE app TO app") == "42704"
    assert code(session, "GRANT SELECT ON DATABASE app TO root") == "42601"


def test_a_schedule_with_less_frequent_full_backups_is_a_pair_and_secrets_are_redacted(admin):
    _fabric, session = admin
    made = run(
        session,
        f"CREATE SCHEDULE 'nightly' FOR BACKUP DATABASE app INTO '{S3}' WITH revision_history "
        "RECURRING '0 * * * *' FULL BACKUP '@daily'",
    )
    assert len(made.rows) == 2 and SECRET not in str(made.rows)
    shown = run(session, "SHOW SCHEDULES FOR BACKUP").rows
    assert [(row[1], row[2], row[5]) for row in shown] == [
        ("nightly", "ACTIVE", "@daily"),
        ("nightly", "ACTIVE", "0 * * * *"),
    ]
    commands = [json.loads(row[9]) for row in shown]
    assert [c["backup_type"] for c in commands] == ["FULL", "INCREMENTAL"]
    assert commands[0]["dependent_schedule_id"] == shown[1][0]
    assert "AWS_SECRET_ACCESS_KEY=redacted" in commands[0]["backup_statement"]
    assert SECRET not in json.dumps(commands)
    assert all(row[3] is not None for row in shown), "every active schedule has a next run"
    # ALTER applies to the pair: full backups every time turns it into one schedule.
    full_id = shown[0][0]
    run(session, f"ALTER BACKUP SCHEDULE {full_id} SET RECURRING '@hourly', SET FULL BACKUP ALWAYS")
    shown = run(session, "SHOW SCHEDULES").rows
    assert [(row[0], row[5]) for row in shown] == [(full_id, "@hourly")]
    run(session, f"PAUSE SCHEDULE {full_id}")
    paused = run(session, f"SHOW SCHEDULE {full_id}").rows[0]
    assert (paused[2], paused[3]) == ("PAUSED", None)
    assert run(session, "SHOW RUNNING SCHEDULES").rows == []
    run(session, f"RESUME SCHEDULE {full_id}")
    run(session, f"DROP SCHEDULE {full_id}")
    assert run(session, "SHOW SCHEDULES").rows == []
    assert code(session, f"DROP SCHEDULE {full_id}") == "42704"


@pytest.mark.parametrize(
    ("statement", "sqlstate"),
    [
        (f"CREATE SCHEDULE s FOR BACKUP DATABASE app INTO '{S3}' RECURRING '0 25 * * *'", "22023"),
        (f"CREATE SCHEDULE s FOR BACKUP DATABASE app INTO '{S3}' RECURRING 'daily'", "22023"),
        ("CREATE SCHEDULE s FOR BACKUP DATABASE app INTO 'ftp://b/p' RECURRING '@daily'", "22023"),
        (f"CREATE SCHEDULE s FOR BACKUP DATABASE nope INTO '{S3}' RECURRING '@daily'", "3D000"),
        ("ALTER BACKUP SCHEDULE 42 SET RECURRING '@daily'", "42704"),
    ],
)
def test_bad_schedules_are_refused_with_cockroachdbs_codes(admin, statement, sqlstate):
    _fabric, session = admin
    assert code(session, statement) == sqlstate
    assert run(session, "SHOW SCHEDULES").rows == []
