"""The CockroachDB stand-in's administrative statements: SQL users and their database privileges,
and backup schedules, answered from the cluster model with CockroachDB's results and SQLSTATEs.

- ``CREATE USER|ROLE [IF NOT EXISTS] <name> [WITH] [LOGIN|NOLOGIN] [PASSWORD '<p>'|NULL]``,
  ``ALTER USER|ROLE [IF EXISTS]``, ``DROP USER|ROLE [IF EXISTS] <name>[, ...]`` (refused while the
  user holds privileges on a database or owns a schedule), ``SHOW USERS``/``SHOW ROLES``.
- ``GRANT <privileges> ON DATABASE <db> TO <users>``, ``REVOKE ... FROM ...``,
  ``SHOW GRANTS ON DATABASE <db> [FOR <users>]``.
- ``CREATE SCHEDULE [IF NOT EXISTS] <label> FOR BACKUP [DATABASE <db>] INTO '<collection>'
  [WITH <options>] RECURRING '<cron>'|NEVER [FULL BACKUP ALWAYS|'<cron>']``: one schedule when full
  backups always run, else a pair (full and incremental) with the same label, as CockroachDB makes.
  ``ALTER BACKUP SCHEDULE <id> SET INTO|RECURRING|FULL BACKUP|LABEL ...`` changes the pair,
  ``PAUSE``/``RESUME``/``DROP SCHEDULE <id>``, ``SHOW [RUNNING|PAUSED] SCHEDULES [FOR BACKUP]``
  and ``SHOW SCHEDULE <id>``. The ``command`` column shows the backup statement with the
  collection's secret parameters redacted, as CockroachDB does.

``answer(session, text, params)`` returns the statement's ``Result``, or None when it is not one of
these.
"""

from __future__ import annotations

import datetime
import json
import re
import time
from urllib.parse import urlsplit

from croniter import croniter

from mc_sandbox.crdb import pgwire
from mc_sandbox.crdb.cluster import Schedule
from mc_sandbox.crdb.pgwire import Result, SqlError

IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
NAMES = rf"{IDENT}(?:\s*,\s*{IDENT})*"
STRING = r"'(?:[^']|'')*'"
PRIVILEGES = ("ALL", "CONNECT", "CREATE", "DROP", "ZONECONFIG", "BACKUP", "RESTORE")
STORAGE_SCHEMES = ("s3", "gs", "azure-blob", "azure", "nodelocal", "userfile", "http", "https")
SECRET_PARAMS = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "CREDENTIALS",
    "AZURE_ACCOUNT_KEY",
    "AZURE_CLIENT_SECRET",
)
CRON_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def unquote(name: str) -> str:
    name = name.strip()
    if name.startswith('"') and name.endswith('"'):
        return name[1:-1].replace('""', '"')
    return name.lower()


def string(value: str, params) -> str:
    value = value.strip()
    if re.fullmatch(r"\$\d+", value):
        return str(params[int(value[1:]) - 1])
    if not (value.startswith("'") and value.endswith("'")):
        raise SqlError("42601", f"expected a string literal, got {value[:40]}")
    return value[1:-1].replace("''", "'")


def redact(uri: str) -> str:
    """``uri`` with the values of secret query parameters replaced by ``redacted``."""
    head, sep, query = uri.partition("?")
    if not sep:
        return uri
    items = []
    for pair in query.split("&"):
        key, eq, _value = pair.partition("=")
        items.append(f"{key}=redacted" if eq and key.upper() in SECRET_PARAMS else pair)
    return head + "?" + "&".join(items)


def _quote_ident(name: str) -> str:
    return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else '"' + name.replace('"', '""') + '"'


def _timestamp(seconds):
    if seconds is None:
        return None
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC)


def check_cron(expression: str) -> str:
    """CockroachDB's crontab check: five fields or a ``@`` alias."""
    text = CRON_ALIASES.get(expression.strip().lower(), expression.strip())
    if len(text.split()) != 5 or not croniter.is_valid(text):
        raise SqlError("22023", f'error parsing schedule expression: "{expression}": invalid cron expression')
    return text


def next_run(expression: str, after: float) -> float:
    return croniter(check_cron(expression), datetime.datetime.fromtimestamp(after, datetime.UTC)).get_next(float)


def check_collection(uri: str) -> None:
    scheme = urlsplit(uri).scheme
    if not scheme:
        raise SqlError("22023", f"{uri!r}: no storage scheme: expected e.g. s3://, gs:// or azure-blob://")
    if scheme not in STORAGE_SCHEMES:
        raise SqlError("22023", f'unsupported storage scheme: "{scheme}"')


class Admin:
    """The administrative statements of one session."""

    def __init__(self, session):
        self.session = session
        self.cluster = session.cluster

    def answer(self, text, params):
        for pattern, name in DISPATCH:
            if m := pattern.fullmatch(text):
                return getattr(self, name)(m, params)
        return None

    # -- users --------------------------------------------------------------------------------

    def _options(self, text, params):
        """``(login, password)`` from a role's option list; ``...`` for an option not given."""
        login, password = ..., ...
        rest = (text or "").strip()
        rest = re.sub(r"(?i)^WITH\s+", "", rest)
        while rest:
            if m := re.match(rf"(?is)PASSWORD\s+({STRING}|\$\d+|NULL)\s*", rest):
                password = None if m[1].upper() == "NULL" else string(m[1], params)
            elif m := re.match(r"(?i)(NO)?LOGIN\b\s*", rest):
                login = not m[1]
            elif m := re.match(r"(?i)(NO)?(CREATEDB|CREATEROLE|CREATELOGIN|CONTROLJOB|VIEWACTIVITY)\b\s*", rest):
                pass
            else:
                raise SqlError("42601", f"at or near {rest.split()[0]!r}: syntax error in role options")
            rest = rest[m.end() :]
        return login, password

    def _create_user(self, m, params):
        name = unquote(m["name"])
        if name in self.cluster.users:
            if m["ine"]:
                return Result("CREATE ROLE")
            raise SqlError("42710", f"a role/user named {name} already exists")
        login, password = self._options(m["opts"], params)
        self.cluster.users[name] = None if password is ... else password
        if login is False or (login is ... and m["kind"].upper() == "ROLE"):
            self.cluster.nologin.add(name)
        return Result("CREATE ROLE")

    def _alter_user(self, m, params):
        name = unquote(m["name"])
        if name not in self.cluster.users:
            if m["ie"]:
                return Result("ALTER ROLE")
            raise SqlError("42704", f"role/user {name} does not exist")
        login, password = self._options(m["opts"], params)
        if password is not ...:
            self.cluster.users[name] = password
        if login is True:
            self.cluster.nologin.discard(name)
        elif login is False:
            self.cluster.nologin.add(name)
        return Result("ALTER ROLE")

    def _drop_user(self, m, params):
        names = [unquote(n) for n in re.findall(IDENT, m["names"])]
        for name in names:
            if name in ("root", "admin"):
                raise SqlError("42501", f"cannot drop role/user {name}: grants still exist on system objects")
            if name not in self.cluster.users:
                if m["ie"]:
                    continue
                raise SqlError("42704", f"role/user {name} does not exist")
            held = sorted(db for (db, grantee), privs in self.cluster.grants.items() if grantee == name and privs)
            if held:
                raise SqlError(
                    "2BP01",
                    f"cannot drop role/user {name}: grants still exist on {', '.join(held)}",
                    hint="revoke its privileges first",
                )
            owned = [s.schedule_id for s in self.cluster.schedules.values() if s.owner == name]
            if owned:
                raise SqlError("2BP01", f"cannot drop role/user {name}; it owns {len(owned)} schedules")
        for name in names:
            self.cluster.users.pop(name, None)
            self.cluster.nologin.discard(name)
        return Result("DROP ROLE")

    def _show_users(self, m, params):
        rows = []
        for name in sorted(self.cluster.users):
            rows.append(
                (name, "NOLOGIN" if name in self.cluster.nologin else "", "{admin}" if name == "root" else "{}")
            )
        return Result(
            f"SHOW {len(rows)}",
            [("username", pgwire.TEXT), ("options", pgwire.TEXT), ("member_of", pgwire.TEXT)],
            rows,
        )

    # -- privileges ---------------------------------------------------------------------------

    def _privileges(self, text):
        privs = [p.strip().upper() for p in text.split(",")]
        for priv in privs:
            if priv == "ALL PRIVILEGES":
                continue
            if priv not in PRIVILEGES:
                raise SqlError("42601", f"invalid privilege type {priv} for database")
        return {"ALL" if p == "ALL PRIVILEGES" else p for p in privs}

    def _grantees(self, text):
        names = [unquote(n) for n in re.findall(IDENT, text)]
        for name in names:
            if name not in self.cluster.users:
                raise SqlError("42704", f"role/user {name} does not exist")
        return names

    def _grant(self, m, params):
        database = self.session._require_database(unquote(m["db"]))
        privs = self._privileges(m["privs"])
        for name in self._grantees(m["users"]):
            held = self.cluster.grants.setdefault((database.name, name), set())
            held.update(privs)
            if "ALL" in held:
                held.intersection_update({"ALL"})
        return Result("GRANT")

    def _revoke(self, m, params):
        database = self.session._require_database(unquote(m["db"]))
        privs = self._privileges(m["privs"])
        for name in self._grantees(m["users"]):
            held = self.cluster.grants.setdefault((database.name, name), set())
            if "ALL" in privs:
                held.clear()
            elif "ALL" in held:
                held.clear()
                held.update(set(PRIVILEGES[1:]) - privs)
            else:
                held.difference_update(privs)
        return Result("REVOKE")

    def _show_grants(self, m, params):
        database = self.session._require_database(unquote(m["db"]))
        only = set(self._grantees(m["users"])) if m["users"] else None
        rows = [("admin", "ALL", True), ("root", "ALL", True)]
        for (db, grantee), privs in sorted(self.cluster.grants.items()):
            if db == database.name:
                rows += [(grantee, priv, False) for priv in sorted(privs)]
        rows = [(database.name, *row) for row in rows if only is None or row[0] in only]
        return Result(
            f"SHOW {len(rows)}",
            [
                ("database_name", pgwire.TEXT),
                ("grantee", pgwire.TEXT),
                ("privilege_type", pgwire.TEXT),
                ("is_grantable", pgwire.BOOL),
            ],
            rows,
        )

    # -- backup schedules ---------------------------------------------------------------------

    def _target(self, text):
        text = " ".join((text or "").split())
        if not text:
            return None
        mm = re.fullmatch(rf"(?i)DATABASE\s+({IDENT})", text)
        if not mm:
            raise SqlError("0A000", f"unimplemented: backup target {text[:40]}")
        return self.session._require_database(unquote(mm[1])).name

    def _create_schedule(self, m, params):
        label = string(m["label"], params) if m["label"].startswith(("'", "$")) else unquote(m["label"])
        if m["ine"] and any(s.label == label for s in self.cluster.schedules.values()):
            return Result("CREATE SCHEDULE FOR BACKUP")
        database = self._target(m["target"])
        collection = string(m["into"], params)
        check_collection(collection)
        options = (m["opts"] or "").lower()
        revision_history = "revision_history" in options and "revision_history = false" not in options
        if m["recurring"].upper() == "NEVER":
            raise SqlError("0A000", "unimplemented: RECURRING NEVER (a one-off backup) is not scheduled")
        recurring = string(m["recurring"], params)
        check_cron(recurring)
        full = m["full"]
        full_backup = "always" if not full or full.upper() == "ALWAYS" else string(full, params)
        if full_backup != "always":
            check_cron(full_backup)
        settings = {
            "label": label,
            "collection": collection,
            "recurring": recurring,
            "full_backup": full_backup,
            "revision_history": revision_history,
        }
        made = self._make(settings, database)
        rows = [
            (s.schedule_id, s.label, s.status, _timestamp(s.next_run), s.recurrence, self._statement(s)) for s in made
        ]
        return Result(
            f"CREATE SCHEDULE FOR BACKUP {len(rows)}",
            [
                ("schedule_id", pgwire.INT8),
                ("label", pgwire.TEXT),
                ("status", pgwire.TEXT),
                ("first_run", pgwire.TIMESTAMPTZ),
                ("schedule", pgwire.TEXT),
                ("backup_stmt", pgwire.TEXT),
            ],
            rows,
        )

    def _make(self, settings, database, ids=(), keep=None):
        """The schedule (or full and incremental pair) of ``settings``: label, collection,
        recurring, full_backup and revision_history."""
        now = time.time()
        ids = list(ids)
        recurring, full_backup = settings["recurring"], settings["full_backup"]
        common = {
            "label": settings["label"],
            "database": database,
            "destination": settings["collection"],
            "revision_history": settings["revision_history"],
            "owner": keep.owner if keep else self.session.user,
            "created": keep.created if keep else now,
        }
        if full_backup == "always":
            specs = [("full", recurring)]
        else:
            specs = [("full", full_backup), ("incremental", recurring)]
        made = []
        for kind, cron in specs:
            schedule_id = ids.pop(0) if ids else self.cluster.new_id()
            made.append(Schedule(schedule_id, kind=kind, recurrence=cron, next_run=next_run(cron, now), **common))
        if len(made) == 2:
            made[0].paired_with, made[1].paired_with = made[1].schedule_id, made[0].schedule_id
        for schedule in made:
            self.cluster.schedules[schedule.schedule_id] = schedule
        return made

    def _group(self, schedule_id):
        schedule = self.cluster.schedules.get(schedule_id)
        if schedule is None:
            raise SqlError("42704", f"schedule with ID {schedule_id} does not exist")
        group = [schedule]
        if schedule.paired_with in self.cluster.schedules:
            group.append(self.cluster.schedules[schedule.paired_with])
        return sorted(group, key=lambda s: s.kind != "full")

    def _alter_schedule(self, m, params):
        group = self._group(int(m["id"]))
        full = group[0]
        incremental = group[1] if len(group) == 2 else None
        settings = {
            "label": full.label,
            "collection": full.destination,
            "recurring": (incremental or full).recurrence,
            "full_backup": full.recurrence if incremental else "always",
            "revision_history": full.revision_history,
        }
        for part in re.split(r",\s*(?=SET\b)", m["cmds"], flags=re.I):
            command = " ".join(part.split())
            if mm := re.fullmatch(rf"(?is)SET\s+INTO\s+({STRING}|\$\d+)", command):
                settings["collection"] = string(mm[1], params)
                check_collection(settings["collection"])
            elif mm := re.fullmatch(rf"(?is)SET\s+RECURRING\s+({STRING}|\$\d+)", command):
                settings["recurring"] = string(mm[1], params)
                check_cron(settings["recurring"])
            elif mm := re.fullmatch(rf"(?is)SET\s+FULL\s+BACKUP\s+(ALWAYS|{STRING}|\$\d+)", command):
                settings["full_backup"] = "always" if mm[1].upper() == "ALWAYS" else string(mm[1], params)
                if settings["full_backup"] != "always":
                    check_cron(settings["full_backup"])
            elif mm := re.fullmatch(r"(?is)SET\s+WITH\s+revision_history\s*(?:=\s*(true|false))?", command):
                settings["revision_history"] = (mm[1] or "true").lower() == "true"
            elif mm := re.fullmatch(rf"(?is)SET\s+LABEL\s+({STRING}|\$\d+)", command):
                settings["label"] = string(mm[1], params)
            else:
                raise SqlError("42601", f"at or near {command[:40]!r}: syntax error in ALTER BACKUP SCHEDULE")
        for schedule in group:
            del self.cluster.schedules[schedule.schedule_id]
        made = self._make(settings, full.database, ids=[s.schedule_id for s in group], keep=full)
        return self._show(made, "ALTER BACKUP SCHEDULE")

    def _control_schedule(self, m, params):
        schedule_id = int(m["id"])
        schedule = self.cluster.schedules.get(schedule_id)
        if schedule is None:
            raise SqlError("42704", f"schedule with ID {schedule_id} does not exist")
        verb = m["verb"].upper()
        if verb == "DROP":
            del self.cluster.schedules[schedule_id]
            other = self.cluster.schedules.get(schedule.paired_with)
            if other is not None:
                other.paired_with = None
        else:
            schedule.status = "PAUSED" if verb == "PAUSE" else "ACTIVE"
            if verb == "RESUME":
                schedule.next_run = next_run(schedule.recurrence, time.time())
        return Result(f"{verb} SCHEDULES 1")

    def _statement(self, schedule):
        target = f"DATABASE {_quote_ident(schedule.database)} " if schedule.database else ""
        options = ["detached"]
        if schedule.revision_history:
            options.insert(0, "revision_history = true")
        return f"BACKUP {target}INTO '{redact(schedule.destination)}' WITH OPTIONS ({', '.join(options)})"

    def _show(self, schedules, verb="SHOW"):
        rows = []
        for s in sorted(schedules, key=lambda s: (s.created, s.schedule_id)):
            running = sum(1 for j in self.cluster.jobs if j.schedule_id == s.schedule_id and j.status == "running")
            command = {
                "backup_statement": self._statement(s),
                "backup_type": "FULL" if s.kind == "full" else "INCREMENTAL",
                "chain_protected_timestamp_records": s.paired_with is not None,
            }
            if s.paired_with is not None:
                command["dependent_schedule_id"] = s.paired_with
            rows.append(
                (
                    s.schedule_id,
                    s.label,
                    s.status,
                    _timestamp(s.next_run) if s.status == "ACTIVE" else None,
                    s.state,
                    s.recurrence,
                    running,
                    s.owner,
                    _timestamp(s.created),
                    json.dumps(command),
                )
            )
        return Result(
            f"{verb} {len(rows)}",
            [
                ("id", pgwire.INT8),
                ("label", pgwire.TEXT),
                ("schedule_status", pgwire.TEXT),
                ("next_run", pgwire.TIMESTAMPTZ),
                ("state", pgwire.TEXT),
                ("recurrence", pgwire.TEXT),
                ("jobsrunning", pgwire.INT8),
                ("owner", pgwire.TEXT),
                ("created", pgwire.TIMESTAMPTZ),
                ("command", pgwire.JSONB),
            ],
            rows,
        )

    def _show_schedules(self, m, params):
        schedules = list(self.cluster.schedules.values())
        if m["which"]:
            want = "ACTIVE" if m["which"].upper() == "RUNNING" else "PAUSED"
            schedules = [s for s in schedules if s.status == want]
        return self._show(schedules)

    def _show_schedule(self, m, params):
        schedule_id = int(m["id"])
        if schedule_id not in self.cluster.schedules:
            raise SqlError("42704", f"schedule with ID {schedule_id} does not exist")
        return self._show([self.cluster.schedules[schedule_id]])


DISPATCH = [
    (re.compile(rf"(?is){pattern}"), handler)
    for pattern, handler in (
        (
            rf"CREATE\s+(?P<kind>USER|ROLE)\s+(?P<ine>IF\s+NOT\s+EXISTS\s+)?(?P<name>{IDENT})(?P<opts>\s.*)?",
            "_create_user",
        ),
        (rf"ALTER\s+(?:USER|ROLE)\s+(?P<ie>IF\s+EXISTS\s+)?(?P<name>{IDENT})(?P<opts>\s.*)?", "_alter_user"),
        (rf"DROP\s+(?:USER|ROLE)\s+(?P<ie>IF\s+EXISTS\s+)?(?P<names>{NAMES})", "_drop_user"),
        (r"SHOW\s+(?:USERS|ROLES)", "_show_users"),
        (
            rf"GRANT\s+(?P<privs>[A-Za-z ,]+?)\s+ON\s+DATABASE\s+(?P<db>{IDENT})\s+TO\s+(?P<users>{NAMES})",
            "_grant",
        ),
        (
            rf"REVOKE\s+(?P<privs>[A-Za-z ,]+?)\s+ON\s+DATABASE\s+(?P<db>{IDENT})\s+FROM\s+(?P<users>{NAMES})",
            "_revoke",
        ),
        (
            rf"SHOW\s+GRANTS\s+ON\s+DATABASE\s+(?P<db>{IDENT})(?:\s+FOR\s+(?P<users>{NAMES}))?",
            "_show_grants",
        ),
        (
            rf"CREATE\s+SCHEDULE\s+(?P<ine>IF\s+NOT\s+EXISTS\s+)?(?P<label>{STRING}|\$\d+|{IDENT})\s+FOR\s+BACKUP\s+"
            rf"(?P<target>.*?)\s*INTO\s+(?P<into>{STRING}|\$\d+)(?:\s+WITH\s+(?P<opts>.*?))?"
            rf"\s+RECURRING\s+(?P<recurring>NEVER|{STRING}|\$\d+)"
            rf"(?:\s+FULL\s+BACKUP\s+(?P<full>ALWAYS|{STRING}|\$\d+))?(?:\s+WITH\s+SCHEDULE\s+OPTIONS\s+.*)?",
            "_create_schedule",
        ),
        (r"ALTER\s+BACKUP\s+SCHEDULE\s+(?P<id>\d+)\s+(?P<cmds>SET\s.+)", "_alter_schedule"),
        (r"(?P<verb>PAUSE|RESUME|DROP)\s+SCHEDULE\s+(?P<id>\d+)", "_control_schedule"),
        (r"SHOW\s+(?:(?P<which>RUNNING|PAUSED)\s+)?SCHEDULES(?:\s+FOR\s+BACKUP)?", "_show_schedules"),
        (r"SHOW\s+SCHEDULE\s+(?P<id>\d+)", "_show_schedule"),
    )
]


def answer(session, text, params):
    """The ``Result`` of ``text`` when it is one of these statements, else None."""
    return Admin(session).answer(text, list(params or []))
