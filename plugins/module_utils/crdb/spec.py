# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The multi-region CockroachDB: input validated, and the SQL statements that converge it.

Pure functions, no driver. ``normalize_crdb(params, cluster_regions)`` checks the desired database
against the regions the cluster's nodes really have (their ``--locality`` region tier) and returns
the portable shape::

    {"database", "primary_region", "regions", "survival_goal", "replication_factor",
     "tables": [{"name", "locality"}], "settings": {name: value},
     "users": [{"name", "state", "password", "login", "privileges"}],
     "backup_schedules": [{"label", "state", "destination", "recurring", "full_backup", "revision_history"}]}

``plan_crdb(current, desired)`` compares it with what the SHOW statements read (``None`` when the
database does not exist, else ``{"primary_region", "regions", "survival_goal", "num_replicas",
"tables": {name: locality}, "settings": {name: value}, "users": {name: {"login", "privileges",
"password_ok"}}, "backup_schedules": [{"ids", "label", "destination", "recurring", "full_backup",
"revision_history"}]}``; destinations as read back, secrets masked) and returns the ordered
``Statement``s that change something, nothing when it already matches. Each statement has the
``sql`` to run and the ``display`` text for results and check mode, with every secret (cloud
storage keys in backup URIs) masked. Identifiers are always double-quoted and literals
single-quoted with quotes doubled, so no input can change a statement's meaning.
"""

from __future__ import annotations

import re
from collections import namedtuple
from urllib.parse import parse_qsl, urlsplit

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError

MASK = "********"
SURVIVAL_GOALS = ("zone", "region")
# REGIONAL BY TABLE [IN <region> | IN PRIMARY REGION], REGIONAL BY ROW, GLOBAL.
LOCALITY = re.compile(r"^(global|regional_by_row|regional_by_table(:(?P<region>.+))?)$")
# Query parameters that carry secrets, per destination scheme (CockroachDB's cloud storage URIs).
SECRET_PARAMS = frozenset(
    ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "CREDENTIALS", "AZURE_ACCOUNT_KEY", "AZURE_CLIENT_SECRET")
)
SCHEMES = ("s3", "gs", "azure-blob", "azure")
CRON_ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
    ("day of week", 0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)
SETTING_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
# Privileges a user can hold on a database (CockroachDB's database privileges).
DATABASE_PRIVILEGES = ("ALL", "BACKUP", "CONNECT", "CREATE", "DROP", "RESTORE", "ZONECONFIG")
RESERVED_USERS = ("root", "admin", "public", "node")


class Statement(namedtuple("Statement", "sql display")):
    """One SQL statement: ``sql`` runs, ``display`` is shown (secrets masked)."""

    __slots__ = ()

    def __new__(cls, sql, display=None):
        return super().__new__(cls, sql, sql if display is None else display)


def ident(name):
    """``name`` as a double-quoted SQL identifier."""
    text = str(name)
    if not text or "\x00" in text:
        raise ValueError("an identifier cannot be empty or contain NUL")
    return '"' + text.replace('"', '""') + '"'


def literal(value):
    """``value`` as a single-quoted SQL string literal."""
    text = str(value)
    if "\x00" in text:
        raise ValueError("a string literal cannot contain NUL")
    return "'" + text.replace("'", "''") + "'"


def _cron_part(part, low, high, names, field):
    def number(text):
        upper = text.upper()
        if upper in names:
            return names.index(upper) + low
        if not text.isdigit() or not low <= int(text) <= high:
            raise ValidationError(field, f"{text!r} is not between {low} and {high}")
        return int(text)

    base, _slash, step = part.partition("/")
    if step and (not step.isdigit() or int(step) == 0):
        raise ValidationError(field, f"step {step!r} must be a whole number > 0")
    if base == "*":
        return
    start, dash, end = base.partition("-")
    first = number(start)
    if dash and number(end) < first:
        raise ValidationError(field, f"range {base!r} ends before it starts")


def check_cron(value, field):
    """Raise unless ``value`` is a cron expression CockroachDB schedules accept (5 fields or an alias)."""
    text = " ".join(str(value or "").split())
    if text.lower() in CRON_ALIASES:
        return text.lower()
    parts = text.split(" ")
    if len(parts) != len(CRON_FIELDS):
        raise ValidationError(
            field, f"expected 5 fields (minute hour day-of-month month day-of-week) or @daily etc., got {value!r}"
        )
    for part, (name, low, high, names) in zip(parts, CRON_FIELDS, strict=True):
        for item in part.split(","):
            if not item:
                raise ValidationError(field, f"empty list item in the {name} field")
            _cron_part(item, low, high, names, f"{field} ({name})")
    return text


def mask_uri(uri):
    """``uri`` with the values of its secret query parameters masked."""
    head, sep, query = str(uri).partition("?")
    if not sep:
        return head
    items = []
    for pair in query.split("&"):
        key, eq, _value = pair.partition("=")
        items.append(f"{key}={MASK}" if eq and key.upper() in SECRET_PARAMS else pair)
    return head + "?" + "&".join(items)


def check_destination(uri, field):
    """Raise unless ``uri`` is a backup collection URI with the auth its scheme needs."""
    text = str(uri or "")
    parts = urlsplit(text)
    if parts.scheme not in SCHEMES:
        raise ValidationError(field, f"expected a {', '.join(s + '://' for s in SCHEMES)} URI, got {mask_uri(text)!r}")
    if not parts.netloc:
        raise ValidationError(field, f"{parts.scheme}:// needs a bucket or container: {mask_uri(text)!r}")
    params = {key.upper(): value for key, value in parse_qsl(parts.query, keep_blank_values=True)}
    auth = params.get("AUTH", "specified")
    if auth not in ("implicit", "specified"):
        raise ValidationError(field, f"AUTH must be implicit or specified, got {auth!r}")
    if parts.scheme == "s3" and auth == "specified":
        missing = [k for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if not params.get(k)]
        if missing:
            raise ValidationError(field, f"s3:// with specified auth needs {' and '.join(missing)} (or AUTH=implicit)")
    if parts.scheme == "gs" and auth == "specified" and not params.get("CREDENTIALS"):
        raise ValidationError(field, "gs:// with specified auth needs CREDENTIALS (base64 key file) or AUTH=implicit")
    if parts.scheme in ("azure-blob", "azure") and auth == "specified":
        if not params.get("AZURE_ACCOUNT_NAME"):
            raise ValidationError(field, "azure-blob:// needs AZURE_ACCOUNT_NAME")
        service_principal = all(params.get(k) for k in ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID"))
        if not params.get("AZURE_ACCOUNT_KEY") and not service_principal:
            raise ValidationError(
                field,
                "azure-blob:// needs AZURE_ACCOUNT_KEY, or AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID",
            )
    return text


def _name(value, field):
    if not isinstance(value, str) or not value or len(value) > 63 or "\x00" in value:
        raise ValidationError(field, f"expected a name of 1-63 characters, got {value!r}")
    return value


def _user(user, field):
    if not isinstance(user, dict):
        raise ValidationError(field, "expected a dictionary with name (and password, login, privileges)")
    name = _name(user.get("name"), f"{field}.name")
    if name in RESERVED_USERS:
        raise ValidationError(f"{field}.name", f"{name!r} is a reserved role of CockroachDB and cannot be managed")
    state = user.get("state") or "present"
    if state not in ("present", "absent"):
        raise ValidationError(f"{field}.state", f"expected present or absent, got {state!r}")
    privileges = user.get("privileges")
    if privileges is not None:
        if not isinstance(privileges, list):
            raise ValidationError(f"{field}.privileges", "expected a list such as [CONNECT, CREATE]")
        normal = []
        for index, privilege in enumerate(privileges):
            text = str(privilege).strip().upper().replace("ALL PRIVILEGES", "ALL")
            if text not in DATABASE_PRIVILEGES:
                raise ValidationError(
                    f"{field}.privileges[{index}]",
                    f"{privilege!r} is not a database privilege ({', '.join(DATABASE_PRIVILEGES)})",
                )
            if text not in normal:
                normal.append(text)
        privileges = ["ALL"] if "ALL" in normal else sorted(normal)
    password = user.get("password")
    if password is not None and (not isinstance(password, str) or not password or "\x00" in password):
        raise ValidationError(f"{field}.password", "expected a non-empty string")
    return {
        "name": name,
        "state": state,
        "password": password,
        "login": bool(user.get("login", True)),
        "privileges": privileges,
    }


def _locality(value, field, regions):
    text = str(value or "").strip().lower().replace(" ", "_")
    match = LOCALITY.match(text)
    if not match:
        raise ValidationError(field, f"expected global, regional_by_row or regional_by_table[:<region>], got {value!r}")
    region = match.group("region")
    if region is not None and region not in regions:
        raise ValidationError(field, f"{region!r} is not one of the database's regions ({', '.join(regions)})")
    return text


def _setting_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def normalize_crdb(params, cluster_regions):
    """The desired database, checked against ``cluster_regions`` (the nodes' region tiers)."""
    database = _name(params.get("database"), "database")
    regions = params.get("regions") or []
    if not isinstance(regions, list) or not regions:
        raise ValidationError("regions", "a multi-region database needs at least one region")
    for index, region in enumerate(regions):
        if region not in cluster_regions:
            raise ValidationError(
                f"regions[{index}]",
                f"{region!r} is not a region of any node ({', '.join(sorted(cluster_regions)) or 'no node is live'})",
                advice="regions come from the nodes' --locality region tier",
            )
        if region in regions[:index]:
            raise ValidationError(f"regions[{index}]", f"{region!r} is listed twice")
    primary = params.get("primary_region") or regions[0]
    if primary not in regions:
        raise ValidationError("primary_region", f"{primary!r} is not one of regions ({', '.join(regions)})")
    goal = params.get("survival_goal") or "zone"
    if goal not in SURVIVAL_GOALS:
        raise ValidationError("survival_goal", f"expected zone or region, got {goal!r}")
    if goal == "region" and len(regions) < 3:
        raise ValidationError(
            "survival_goal", f"surviving a region failure needs at least 3 regions, the database has {len(regions)}"
        )
    factor = params.get("replication_factor")
    if factor is not None:
        if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
            raise ValidationError("replication_factor", f"expected a whole number >= 1, got {factor!r}")
        least = 5 if goal == "region" else 3
        if factor < least:
            raise ValidationError(
                "replication_factor",
                f"survival goal {goal} needs at least {least} replicas, got {factor}",
            )
    tables = []
    for index, table in enumerate(params.get("tables") or []):
        field = f"tables[{index}]"
        if not isinstance(table, dict):
            raise ValidationError(field, "expected a dictionary with name and locality")
        tables.append(
            {
                "name": _name(table.get("name"), f"{field}.name"),
                "locality": _locality(table.get("locality"), f"{field}.locality", regions),
            }
        )
    settings = {}
    for name, value in (params.get("settings") or {}).items():
        if not SETTING_NAME.match(str(name)):
            raise ValidationError(f"settings.{name}", "not a cluster setting name (e.g. kv.rangefeed.enabled)")
        settings[name] = _setting_value(value)
    users, names = [], set()
    for index, user in enumerate(params.get("users") or []):
        normal = _user(user, f"users[{index}]")
        if normal["name"] in names:
            raise ValidationError(f"users[{index}].name", f"{normal['name']!r} is listed twice")
        names.add(normal["name"])
        users.append(normal)
    schedules, labels = [], set()
    for index, schedule in enumerate(params.get("backup_schedules") or []):
        field = f"backup_schedules[{index}]"
        if not isinstance(schedule, dict):
            raise ValidationError(field, "expected a dictionary with label, destination and recurring")
        label = _name(schedule.get("label"), f"{field}.label")
        if label in labels:
            raise ValidationError(f"{field}.label", f"{label!r} is already the label of another schedule")
        labels.add(label)
        state = schedule.get("state") or "present"
        if state not in ("present", "absent"):
            raise ValidationError(f"{field}.state", f"expected present or absent, got {state!r}")
        if state == "absent":
            schedules.append({"label": label, "state": "absent"})
            continue
        full = schedule.get("full_backup") or "always"
        schedules.append(
            {
                "label": label,
                "state": "present",
                "destination": check_destination(schedule.get("destination"), f"{field}.destination"),
                "recurring": check_cron(schedule.get("recurring"), f"{field}.recurring"),
                "full_backup": "always" if full == "always" else check_cron(full, f"{field}.full_backup"),
                "revision_history": bool(schedule.get("revision_history", True)),
            }
        )
    return {
        "database": database,
        "primary_region": primary,
        "regions": list(regions),
        "survival_goal": goal,
        "replication_factor": factor,
        "tables": tables,
        "settings": settings,
        "users": users,
        "backup_schedules": schedules,
    }


def _locality_sql(locality):
    if locality == "global":
        return "GLOBAL"
    if locality == "regional_by_row":
        return "REGIONAL BY ROW"
    region = locality.partition(":")[2]
    return f"REGIONAL BY TABLE IN {ident(region)}" if region else "REGIONAL BY TABLE IN PRIMARY REGION"


def _schedule_sql(database, schedule, schedule_id=None):
    """CREATE (or, with ``schedule_id``, ALTER) a backup schedule: run with the destination's
    secrets, displayed with them masked."""
    full = "ALWAYS" if schedule["full_backup"] == "always" else literal(schedule["full_backup"])
    destination = schedule["destination"]
    if schedule_id is None:
        head = f"CREATE SCHEDULE {literal(schedule['label'])} FOR BACKUP DATABASE {ident(database)} INTO "
        tail = (" WITH revision_history" if schedule["revision_history"] else "") + (
            f" RECURRING {literal(schedule['recurring'])} FULL BACKUP {full}"
        )
    else:
        head = f"ALTER BACKUP SCHEDULE {int(schedule_id)} SET INTO "
        history = "true" if schedule["revision_history"] else "false"
        tail = (
            f", SET RECURRING {literal(schedule['recurring'])}, SET FULL BACKUP {full}"
            f", SET WITH revision_history = {history}"
        )
    return [Statement(head + literal(destination) + tail, head + literal(mask_uri(destination)) + tail)]


def _database_statements(current, desired):
    db = ident(desired["database"])
    regions = desired["regions"]
    goal_sql = f"SURVIVE {desired['survival_goal'].upper()} FAILURE"
    if current is None:
        others = [r for r in regions if r != desired["primary_region"]]
        sql = f"CREATE DATABASE {db} PRIMARY REGION {ident(desired['primary_region'])}"
        if others:
            sql += " REGIONS " + ", ".join(ident(r) for r in others)
        return [Statement(f"{sql} {goal_sql}")]
    out = []
    have = list(current.get("regions") or [])
    lowering = current.get("survival_goal") == "region" and desired["survival_goal"] == "zone"
    if not current.get("primary_region"):
        out.append(Statement(f"ALTER DATABASE {db} SET PRIMARY REGION {ident(desired['primary_region'])}"))
        have = [desired["primary_region"]]
    for region in regions:
        if region not in have:
            out.append(Statement(f"ALTER DATABASE {db} ADD REGION {ident(region)}"))
    if current.get("primary_region") and current["primary_region"] != desired["primary_region"]:
        out.append(Statement(f"ALTER DATABASE {db} SET PRIMARY REGION {ident(desired['primary_region'])}"))
    # Lower the goal before dropping below three regions; raise it only once the regions are there.
    if lowering:
        out.append(Statement(f"ALTER DATABASE {db} {goal_sql}"))
    for region in have:
        if region not in regions:
            out.append(Statement(f"ALTER DATABASE {db} DROP REGION {ident(region)}"))
    if not lowering and current.get("survival_goal") != desired["survival_goal"]:
        out.append(Statement(f"ALTER DATABASE {db} {goal_sql}"))
    return out


def plan_crdb(current, desired):
    """The statements that turn ``current`` (None: no such database) into ``desired``, in order."""
    db = ident(desired["database"])
    out = _database_statements(current, desired)
    factor = desired["replication_factor"]
    if factor is not None and (current or {}).get("num_replicas") != factor:
        out.append(Statement(f"ALTER DATABASE {db} CONFIGURE ZONE USING num_replicas = {int(factor)}"))
    tables = (current or {}).get("tables") or {}
    for table in desired["tables"]:
        if tables.get(table["name"]) != table["locality"]:
            out.append(
                Statement(f"ALTER TABLE {db}.{ident(table['name'])} SET LOCALITY {_locality_sql(table['locality'])}")
            )
    settings = (current or {}).get("settings") or {}
    for name, value in desired["settings"].items():
        if settings.get(name) != value:
            out.append(Statement(f"SET CLUSTER SETTING {name} = {literal(value)}"))
    out += _user_statements(current, desired)
    schedules = {s["label"]: s for s in (current or {}).get("backup_schedules") or []}
    keys = ("recurring", "full_backup", "revision_history")
    for schedule in desired["backup_schedules"]:
        have = schedules.get(schedule["label"])
        if schedule["state"] == "absent":
            out += [Statement(f"DROP SCHEDULE {int(i)}") for i in (have or {}).get("ids", [])]
        elif have is None:
            out += _schedule_sql(desired["database"], schedule)
        elif mask_uri(schedule["destination"]) != mask_uri(have.get("destination", "")) or any(
            have.get(k) != schedule[k] for k in keys
        ):
            out += _schedule_sql(desired["database"], schedule, schedule_id=have["ids"][0])
    return out


def _user_statements(current, desired):
    """CREATE/ALTER/DROP USER and GRANT/REVOKE on the database, for the users listed."""
    db = ident(desired["database"])
    have_users = (current or {}).get("users") or {}
    out = []
    for user in desired["users"]:
        name = ident(user["name"])
        have = have_users.get(user["name"])
        if user["state"] == "absent":
            if have is not None:
                if have.get("privileges"):
                    out.append(Statement(f"REVOKE ALL ON DATABASE {db} FROM {name}"))
                out.append(Statement(f"DROP USER {name}"))
            continue
        login = "LOGIN" if user["login"] else "NOLOGIN"
        if have is None:
            sql = f"CREATE USER {name} WITH {login}"
            if user["password"] is not None:
                out.append(Statement(f"{sql} PASSWORD {literal(user['password'])}", f"{sql} PASSWORD {literal(MASK)}"))
            else:
                out.append(Statement(sql))
            held = []
        else:
            if have.get("login", True) != user["login"]:
                out.append(Statement(f"ALTER USER {name} WITH {login}"))
            if user["password"] is not None and not have.get("password_ok"):
                sql = f"ALTER USER {name} WITH PASSWORD "
                out.append(Statement(sql + literal(user["password"]), sql + literal(MASK)))
            held = list(have.get("privileges") or [])
        want = user["privileges"]
        if want is None:
            continue
        extra = [p for p in held if p not in want]
        missing = [p for p in want if p not in held]
        if extra and held != ["ALL"]:
            out.append(Statement(f"REVOKE {', '.join(extra)} ON DATABASE {db} FROM {name}"))
        elif extra:
            out.append(Statement(f"REVOKE ALL ON DATABASE {db} FROM {name}"))
            missing = list(want)
        if missing:
            out.append(Statement(f"GRANT {', '.join(missing)} ON DATABASE {db} TO {name}"))
    return out
