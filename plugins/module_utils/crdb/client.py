# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CockroachDB over psycopg 3: the connection the modules open, its errors as the collection's
typed errors, and the current state of a database as ``spec.plan_crdb`` compares it.

``connect(options)`` takes the module's connection options (host, port, user, password, TLS
files). ``read_state(conn, database, desired)`` reads what the SHOW statements say
(``SHOW DATABASES``, ``SHOW REGIONS FROM DATABASE``, ``SHOW SURVIVAL GOAL``, ``SHOW ZONE
CONFIGURATION``, ``SHOW TABLES``, ``SHOW CLUSTER SETTING`` for the settings asked for) and returns None when the
database does not exist.
"""

from __future__ import annotations

import json
import re

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    API,
    AUTH,
    DENIED,
    INVALID,
    NOT_FOUND,
    TRANSIENT,
    FabricError,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.crdb.spec import mask_uri

try:
    import psycopg
except ImportError:  # reported by the module, with the package to install
    psycopg = None

# SQLSTATE class or code -> kind of error. 40001 (restart transaction) and 58C00 (range
# unavailable) may pass on their own; the rest need the user.
SQLSTATE_KINDS = (
    ("40001", TRANSIENT),
    ("58C00", TRANSIENT),
    ("57P", TRANSIENT),
    ("08", TRANSIENT),
    ("28", AUTH),
    ("42501", DENIED),
    ("3D000", NOT_FOUND),
    ("42P01", NOT_FOUND),
    ("42", INVALID),
    ("22", INVALID),
)
ZONE_REPLICAS = re.compile(r"num_replicas\s*=\s*(\d+)")
# The collection URI of a scheduled BACKUP statement, as SHOW SCHEDULES prints it.
BACKUP_INTO = re.compile(r"\bINTO\s+'((?:[^']|'')*)'", re.I)


class CrdbError(FabricError):
    """A CockroachDB error: ``code`` is its SQLSTATE, ``call`` the statement (secrets masked)."""

    def __init__(self, message, **kwargs):
        kwargs.setdefault("cloud", "cockroachdb")
        super().__init__(message, **kwargs)

    def as_dict(self):
        out = super().as_dict()
        out["sqlstate"] = self.code
        return out


def error_kind(sqlstate):
    for prefix, kind in SQLSTATE_KINDS:
        if sqlstate and sqlstate.startswith(prefix):
            return kind
    return API


def as_error(exc, operation):
    """``exc`` (a psycopg error) as a ``CrdbError`` naming the statement or step ``operation``."""
    sqlstate = getattr(exc, "sqlstate", None)
    diag = getattr(exc, "diag", None)
    lines = str(exc).strip().splitlines()
    message = getattr(diag, "message_primary", None) or (lines[0] if lines else type(exc).__name__)
    if sqlstate:
        kind = error_kind(sqlstate)
    elif psycopg is not None and isinstance(exc, psycopg.OperationalError):
        # No SQLSTATE: the connection itself failed; libpq's text says why (refused, auth, TLS).
        kind = AUTH if "authentication failed" in message else TRANSIENT
    else:
        kind = API
    return CrdbError(message, call=operation, code=sqlstate, kind=kind, advice=getattr(diag, "message_hint", None))


def connect(options, database="defaultdb"):
    """A psycopg connection in autocommit mode from the module's connection options."""
    if psycopg is None:
        raise CrdbError("the psycopg Python package (3.1 or later) is required: pip install 'psycopg[binary]'")
    kwargs = {
        "host": options["host"],
        "port": int(options.get("port") or 26257),
        "user": options.get("user") or "root",
        "dbname": database,
        "sslmode": options.get("sslmode") or "verify-full",
        "connect_timeout": int(options.get("connect_timeout") or 10),
        "application_name": "multicloud.fabric",
        "autocommit": True,
    }
    for option, key in (("ssl_rootcert", "sslrootcert"), ("ssl_cert", "sslcert"), ("ssl_key", "sslkey")):
        if options.get(option):
            kwargs[key] = options[option]
    if options.get("password"):
        kwargs["password"] = options["password"]
    try:
        return psycopg.connect(**kwargs)
    except psycopg.Error as exc:
        raise as_error(exc, f"connect to {kwargs['host']}:{kwargs['port']} as {kwargs['user']}") from None


def query(conn, sql, params=None, operation=None):
    """Rows of ``sql`` as dicts (column -> value)."""
    try:
        cursor = conn.execute(sql, params)
        if cursor.description is None:
            return []
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except psycopg.Error as exc:
        raise as_error(exc, operation or sql.split(" FROM ")[0]) from None


def cluster_regions(conn):
    """The regions the cluster's nodes have (their --locality region tier)."""
    return [row["region"] for row in query(conn, "SHOW REGIONS FROM CLUSTER")]


def _quote(name):
    return '"' + str(name).replace('"', '""') + '"'


def _locality(text):
    text = (text or "").upper()
    if text == "GLOBAL":
        return "global"
    if text == "REGIONAL BY ROW":
        return "regional_by_row"
    if text.startswith("REGIONAL BY TABLE IN ") and not text.endswith("PRIMARY REGION"):
        return "regional_by_table:" + (text[len("REGIONAL BY TABLE IN ") :].strip('"')).lower()
    return "regional_by_table"


def read_state(conn, database, desired=None):
    """The current state of ``database`` in ``spec.plan_crdb``'s shape, or None if it is missing."""
    desired = desired or {}
    names = {row["database_name"]: row for row in query(conn, "SHOW DATABASES")}
    if database not in names:
        return None
    db = _quote(database)
    regions = query(conn, f"SHOW REGIONS FROM DATABASE {db}")
    primary = next((row["region"] for row in regions if row.get("primary")), None)
    goal_rows = query(conn, f"SHOW SURVIVAL GOAL FROM DATABASE {db}")
    zone = query(conn, f"SHOW ZONE CONFIGURATION FROM DATABASE {db}")
    match = ZONE_REPLICAS.search(zone[0]["raw_config_sql"]) if zone else None
    tables = {}
    if desired.get("tables"):
        for row in query(conn, f"SHOW TABLES FROM {db}"):
            tables[row["table_name"]] = _locality(row.get("locality"))
    settings = {}
    for name in desired.get("settings") or {}:
        rows = query(conn, f"SHOW CLUSTER SETTING {name}")
        value = next(iter(rows[0].values())) if rows else None
        settings[name] = (
            ("true" if value else "false") if isinstance(value, bool) else value if value is None else str(value)
        )
    return {
        "primary_region": primary,
        "regions": [row["region"] for row in regions],
        "survival_goal": (goal_rows[0]["survival_goal"] if goal_rows else None) or "zone",
        "num_replicas": int(match.group(1)) if match else None,
        "tables": tables,
        "settings": settings,
        "users": read_users(conn, database, desired.get("users") or []),
        "backup_schedules": read_schedules(conn, desired.get("backup_schedules") or []),
    }


def read_users(conn, database, wanted):
    """``{name: {"login", "privileges"}}`` for the users in ``wanted`` that exist."""
    if not wanted:
        return {}
    names = {user["name"] for user in wanted}
    out = {}
    for row in query(conn, "SHOW USERS"):
        if row["username"] in names:
            out[row["username"]] = {"login": "NOLOGIN" not in str(row.get("options") or "").upper(), "privileges": []}
    if out:
        grantees = ", ".join(_quote(name) for name in sorted(out))
        for row in query(conn, f"SHOW GRANTS ON DATABASE {_quote(database)} FOR {grantees}"):
            held = out.get(row["grantee"])
            if held is not None and row["privilege_type"] not in held["privileges"]:
                held["privileges"].append(row["privilege_type"])
        for held in out.values():
            held["privileges"] = ["ALL"] if "ALL" in held["privileges"] else sorted(held["privileges"])
    return out


def read_schedules(conn, wanted):
    """The backup schedules with the labels in ``wanted``, one entry per label: ``ids`` (the full
    schedule first, then its incremental pair), the destination (secrets masked, as CockroachDB
    redacts them), ``recurring`` (how often backups run), ``full_backup`` (``always`` or the full
    backups' cron) and ``revision_history``."""
    if not wanted:
        return []
    labels = {schedule["label"] for schedule in wanted}
    groups = {}
    for row in query(conn, "SHOW SCHEDULES FOR BACKUP"):
        if row["label"] in labels:
            groups.setdefault(row["label"], []).append(row)
    out = []
    for label, rows in groups.items():
        parsed = []
        for row in rows:
            command = row.get("command")
            command = json.loads(command) if isinstance(command, str) else dict(command or {})
            parsed.append((str(command.get("backup_type", "FULL")).upper() in ("INCREMENTAL", "1"), row, command))
        parsed.sort(key=lambda item: item[0])
        full = [item for item in parsed if not item[0]]
        incremental = [item for item in parsed if item[0]]
        statement = parsed[0][2].get("backup_statement", "")
        match = BACKUP_INTO.search(statement)
        out.append(
            {
                "label": label,
                "ids": [row["id"] for _inc, row, _cmd in parsed],
                "destination": mask_uri(match.group(1).replace("''", "'")) if match else "",
                "recurring": (incremental or full)[0][1]["recurrence"],
                "full_backup": full[0][1]["recurrence"] if incremental and full else "always",
                "revision_history": "revision_history" in statement.lower()
                and "revision_history = false" not in statement.lower(),
            }
        )
    return out


def execute(conn, statement):
    """Run one ``spec.Statement``; errors name its display text (secrets masked)."""
    try:
        conn.execute(statement.sql)
    except psycopg.Error as exc:
        raise as_error(exc, statement.display) from None
