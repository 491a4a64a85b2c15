"""The CockroachDB stand-in's SQL: the statements the collection and the seeds' workload send, with
CockroachDB's answers and SQLSTATEs, behind the PostgreSQL wire-protocol front (``pgwire``).

``Backend(cluster, node, data_dir, users)`` is one node's SQL layer; ``PgServer(Backend(...))``
serves it. Two kinds of statement:

- CockroachDB's own (multi-region DDL, zone configurations, cluster settings, ``SHOW REGIONS``,
  ``SHOW SURVIVAL GOAL``, ``SHOW ZONE CONFIGURATION``, ``SHOW DATABASES``/``TABLES``, session
  ``SET``/``SHOW``, transactions) are answered here from the cluster's catalog.
- Table statements (``CREATE TABLE``, ``INSERT``, ``UPSERT``, ``SELECT``, ``UPDATE``, ``DELETE``,
  ``DROP TABLE``) run in SQLite, one file per database, after a small rewrite (``$n`` parameters,
  ``UPSERT``, CockroachDB type names, ``::`` casts, database-qualified names). Before any of them
  the cluster checks that the table's range has quorum (58C00 otherwise).

Transactions are SQLite's: a write that meets another session's open write transaction fails
with 40001 (CockroachDB's "restart transaction"), which clients retry.
"""

from __future__ import annotations

import datetime
import decimal
import json
import pathlib
import re
import sqlite3
import uuid

from mc_sandbox.crdb import admin, introspect, pgwire
from mc_sandbox.crdb.cluster import SURVIVAL_GOALS, Cluster, Database, Node, Table
from mc_sandbox.crdb.pgwire import Result, SqlError

# Cluster settings the stand-in knows, with CockroachDB's defaults (SHOW answers them until SET).
DEFAULT_SETTINGS = {
    "kv.rangefeed.enabled": "false",
    "cluster.organization": "",
    "enterprise.license": "",
    "server.time_until_store_dead": "5m0s",
    "kv.closed_timestamp.target_duration": "3s",
    "sql.defaults.primary_region": "",
    "diagnostics.reporting.enabled": "true",
    "server.shutdown.drain_wait": "0s",
    "sql.stats.automatic_collection.enabled": "true",
}
VERSION = "CockroachDB CCL v24.1.0 (x86_64-pc-linux-gnu, sandbox stand-in)"
IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'

# CockroachDB type name -> (SQLite column type with the right affinity, wire OID).
TYPES = {
    "STRING": ("TEXT", pgwire.TEXT),
    "TEXT": ("TEXT", pgwire.TEXT),
    "VARCHAR": ("TEXT", pgwire.VARCHAR),
    "CHAR": ("TEXT", pgwire.TEXT),
    "NAME": ("TEXT", pgwire.TEXT),
    "UUID": ("TEXT", pgwire.UUID),
    "INET": ("TEXT", pgwire.TEXT),
    "JSON": ("TEXT", pgwire.JSONB),
    "JSONB": ("TEXT", pgwire.JSONB),
    "DATE": ("TEXT", pgwire.DATE),
    "TIMESTAMP": ("TEXT", pgwire.TIMESTAMP),
    "TIMESTAMPTZ": ("TEXT", pgwire.TIMESTAMPTZ),
    "INT": ("INTEGER", pgwire.INT8),
    "INT2": ("INTEGER", pgwire.INT2),
    "INT4": ("INTEGER", pgwire.INT4),
    "INT8": ("INTEGER", pgwire.INT8),
    "INTEGER": ("INTEGER", pgwire.INT8),
    "BIGINT": ("INTEGER", pgwire.INT8),
    "SMALLINT": ("INTEGER", pgwire.INT2),
    "SERIAL": ("INTEGER", pgwire.INT8),
    "FLOAT": ("REAL", pgwire.FLOAT8),
    "FLOAT4": ("REAL", pgwire.FLOAT4),
    "FLOAT8": ("REAL", pgwire.FLOAT8),
    "REAL": ("REAL", pgwire.FLOAT4),
    "DOUBLE": ("REAL", pgwire.FLOAT8),
    "DECIMAL": ("NUMERIC", pgwire.NUMERIC),
    "NUMERIC": ("NUMERIC", pgwire.NUMERIC),
    "BOOL": ("INTEGER", pgwire.BOOL),
    "BOOLEAN": ("INTEGER", pgwire.BOOL),
    "BYTES": ("BLOB", pgwire.BYTEA),
    "BYTEA": ("BLOB", pgwire.BYTEA),
}
# Tokens of a statement: strings, quoted identifiers, parameters, casts, words, the rest.
TOKEN = re.compile(
    r"""(?P<str>'(?:[^']|'')*')|(?P<qid>"(?:[^"]|"")*")|(?P<param>\$\d+)|(?P<cast>::\s*[A-Za-z_][A-Za-z0-9_]*(?:\s*\[\])?)"""
    r"""|(?P<word>[A-Za-z_][A-Za-z0-9_$]*)|(?P<ws>\s+)|(?P<other>.)""",
    re.S,
)


DISPATCH = [
    (re.compile(rf"(?is){pattern}"), handler)
    for pattern, handler in (
        (r"(BEGIN|START\s+TRANSACTION)\b", "_begin"),
        (r"(COMMIT|END)\b", "_commit"),
        (r"(ROLLBACK|ABORT)\b", "_rollback"),
        (r"(SAVEPOINT|RELEASE)\b", "_savepoint"),
        (r"CREATE\s+DATABASE\b", "_create_database"),
        (r"DROP\s+DATABASE\b", "_drop_database"),
        (r"ALTER\s+DATABASE\b", "_alter_database"),
        (r"USE\s", "_use"),
        (r"SET\s+CLUSTER\s+SETTING\b", "_set_cluster_setting"),
        (r"SHOW\s+CLUSTER\s+SETTING\b", "_show_cluster_setting"),
        (r"SHOW\s+REGIONS\b", "_show_regions"),
        (r"SHOW\s+SURVIVAL\s+GOAL\b", "_show_survival_goal"),
        (r"SHOW\s+ZONE\s+CONFIGURATION\b", "_show_zone"),
        (r"SHOW\s+DATABASES\b", "_show_databases"),
        (r"SHOW\s+TABLES\b", "_show_tables"),
        (r"SET\s", "_set"),
        (r"SHOW\s", "_show_var"),
    )
]


def unquote(name: str) -> str:
    name = name.strip()
    if name.startswith('"') and name.endswith('"'):
        return name[1:-1].replace('""', '"')
    return name.lower()


def _one_row(tag_columns, row):
    return Result("SHOW 1", [(name, pgwire.TEXT) for name in tag_columns], [row])


def _rows(columns, rows, verb="SHOW"):
    return Result(f"{verb} {len(rows)}", columns, rows)


class Backend:
    """One node's SQL layer over the shared cluster. ``users``: name -> password (None: certificate
    only); ``root`` always exists and signs in with its client certificate."""

    def __init__(self, cluster: Cluster, node: Node, data_dir, users=None):
        self.cluster = cluster
        self.node = node
        self.data_dir = pathlib.Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with cluster.lock:
            for name, password in (users or {}).items():
                cluster.users.setdefault(name, password)

    @property
    def users(self):
        return self.cluster.users

    # -- pgwire backend interface ----------------------------------------------------------

    def authenticate(self, user, database, client_cert):
        if not self.cluster.live(self.node):
            raise SqlError("08006", f"node {self.node.node_id} is unreachable")
        if not self.cluster.initialized:
            raise SqlError("57P03", "the cluster is not initialized yet: run cockroach init")
        if user in self.cluster.nologin:
            raise SqlError("28000", f"{user} does not have login privilege")
        if client_cert and _common_name(client_cert) == user:
            return "trust"
        return "password"

    def check_password(self, user, password):
        if user not in self.users or self.users[user] is None or self.users[user] != password:
            raise SqlError("28P01", f"password authentication failed for user {user}")

    def open_session(self, user, database, options):
        database = database or "defaultdb"
        if database not in self.cluster.databases:
            raise SqlError("3D000", f'database "{database}" does not exist')
        return Session(self, user, database, options)

    def parameter_status(self):
        return {"crdb_version": VERSION, "session_authorization": ""}

    def database_path(self, name: str) -> pathlib.Path:
        return self.data_dir / f"{uuid.uuid5(uuid.NAMESPACE_OID, name).hex}.sqlite"


def _common_name(cert) -> str | None:
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return None


class Session:
    """One client connection's state: its database, session variables and transaction."""

    def __init__(self, backend: Backend, user: str, database: str, options: dict):
        self.backend = backend
        self.cluster = backend.cluster
        self.user = user
        self.database = database
        self.vars = {"application_name": options.get("application_name", "")}
        self.transaction_status = "I"
        self.db: sqlite3.Connection | None = None
        self.db_name = None
        self.attached: set[str] = set()

    def close(self):
        if self.db is not None:
            try:
                self.db.rollback()
                self.db.close()
            finally:
                self.db = None

    # -- dispatch ---------------------------------------------------------------------------

    def execute(self, sql, params):
        text = sql.strip().rstrip(";").strip()
        if not self.cluster.live(self.backend.node):
            raise SqlError("08006", f"node {self.backend.node.node_id} is unreachable")
        if self.transaction_status == "E" and not re.match(r"(?i)(ROLLBACK|ABORT)\b", text):
            raise SqlError("25P02", "current transaction is aborted, commands ignored until end of transaction block")
        try:
            with self.cluster.lock:
                return self._dispatch(text, list(params or []))
        except SqlError:
            if self.transaction_status == "T":
                self.transaction_status = "E"
            raise

    def _dispatch(self, text, params):
        answer = admin.answer(self, text, params)
        if answer is not None:
            return answer
        for pattern, name in DISPATCH:
            if pattern.match(text):
                return getattr(self, name)(text, params)
        if re.match(r"(?is)ALTER\s+TABLE\s+.*\s+SET\s+LOCALITY\s", text):
            return self._set_locality(text)
        if m := re.fullmatch(r"(?is)SELECT\s+(version|crdb_internal\.cluster_id)\(\)", text):
            value = VERSION if m[1].lower() == "version" else self.cluster.cluster_id
            return Result("SELECT 1", [(m[1].lower().rsplit(".", 1)[-1], pgwire.TEXT)], [(value,)])
        answer = introspect.answer(self, text, params)
        if answer is not None:
            return answer
        return self._table_statement(text, params)

    # -- transactions -----------------------------------------------------------------------

    def _begin(self, text, params):
        if self.transaction_status == "I":
            self._connection().execute("BEGIN")
            self.transaction_status = "T"
        return Result("BEGIN")

    def _commit(self, text, params):
        if self.transaction_status == "E":
            self._rollback(text, params)
            return Result("ROLLBACK")
        if self.transaction_status == "T" and self.db is not None:
            try:
                self.db.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self.db.rollback()
                self.transaction_status = "I"
                raise _retry_error(exc) from None
        self.transaction_status = "I"
        return Result("COMMIT")

    def _rollback(self, text, params):
        if re.match(r"(?i)ROLLBACK\s+TO\s+SAVEPOINT", text):
            # CockroachDB's client-side retry protocol: the transaction restarts.
            if self.db is not None and self.db.in_transaction:
                self.db.rollback()
            self._connection().execute("BEGIN")
            self.transaction_status = "T"
            return Result("ROLLBACK")
        if self.db is not None and self.db.in_transaction:
            self.db.rollback()
        self.transaction_status = "I"
        return Result("ROLLBACK")

    def _savepoint(self, text, params):
        return Result(text.split()[0].upper())

    # -- databases and multi-region DDL -----------------------------------------------------

    def _require_database(self, name):
        database = self.cluster.databases.get(name)
        if database is None or name == "system":
            raise SqlError("3D000", f'database "{name}" does not exist')
        return database

    def _check_region(self, region):
        regions = self.cluster.cluster_regions()
        if region not in regions:
            raise SqlError(
                "42602",
                f'region "{region}" does not exist',
                hint=f"valid regions: {', '.join(regions) or 'none (no node has a region locality)'}",
            )

    def _create_database(self, text, params):
        m = re.match(
            rf"(?is)CREATE\s+DATABASE\s+(?P<ine>IF\s+NOT\s+EXISTS\s+)?(?P<name>{IDENT})"
            rf"(?:\s+PRIMARY\s+REGION\s*=?\s*(?P<primary>{IDENT}))?"
            rf"(?:\s+REGIONS\s*=?\s*(?P<regions>{IDENT}(?:\s*,\s*{IDENT})*))?"
            r"(?:\s+SURVIVE\s+(?P<goal>REGION|ZONE)\s+FAILURE)?\s*$",
            text,
        )
        if not m:
            raise SqlError("42601", f"at or near {text[:40]!r}: syntax error")
        name = unquote(m["name"])
        if name in self.cluster.databases:
            if m["ine"]:
                return Result("CREATE DATABASE")
            raise SqlError("42P04", f'database "{name}" already exists')
        database = Database(name)
        regions = [unquote(r) for r in re.findall(IDENT, m["regions"] or "")]
        if m["primary"]:
            primary = unquote(m["primary"])
            for region in [primary, *regions]:
                self._check_region(region)
            database.primary_region = primary
            database.regions = [primary] + [r for r in regions if r != primary]
        elif regions:
            raise SqlError("42P16", "PRIMARY REGION must be specified if REGIONS are specified")
        if m["goal"]:
            if not database.primary_region:
                raise SqlError("42P16", "cannot set SURVIVE without a PRIMARY REGION")
            self._set_goal(database, m["goal"].lower())
        self.cluster.databases[name] = database
        return Result("CREATE DATABASE")

    def _set_goal(self, database, goal):
        if goal == "region" and len(database.regions) < 3:
            raise SqlError(
                "42602",
                "at least 3 regions are required for surviving a region failure",
                hint="you must add additional regions to the database or change the survivability goal",
            )
        database.survival_goal = goal

    def _drop_database(self, text, params):
        m = re.match(rf"(?is)DROP\s+DATABASE\s+(?P<ie>IF\s+EXISTS\s+)?(?P<name>{IDENT})(\s+CASCADE)?\s*$", text)
        if not m:
            raise SqlError("42601", "syntax error in DROP DATABASE")
        name = unquote(m["name"])
        if name not in self.cluster.databases or name == "system":
            if m["ie"]:
                return Result("DROP DATABASE")
            raise SqlError("3D000", f'database "{name}" does not exist')
        if name == self.database:
            self.close()
        del self.cluster.databases[name]
        self.backend.database_path(name).unlink(missing_ok=True)
        return Result("DROP DATABASE")

    def _alter_database(self, text, params):
        m = re.match(rf"(?is)ALTER\s+DATABASE\s+(?P<name>{IDENT})\s+(?P<rest>.+)$", text)
        if not m:
            raise SqlError("42601", "syntax error in ALTER DATABASE")
        database = self._require_database(unquote(m["name"]))
        rest = " ".join(m["rest"].split())
        if mm := re.fullmatch(rf"(?i)(?:SET\s+)?PRIMARY\s+REGION\s*=?\s*({IDENT})", rest):
            region = unquote(mm[1])
            self._check_region(region)
            if database.primary_region is None:
                database.regions = [region]
            elif region not in database.regions:
                raise SqlError(
                    "42602",
                    f'region "{region}" has not been added to the database',
                    hint=f"you must add the region to the database before setting it as primary region, using "
                    f'ALTER DATABASE {database.name} ADD REGION "{region}"',
                )
            database.primary_region = region
        elif mm := re.fullmatch(rf"(?i)ADD\s+REGION\s+(IF\s+NOT\s+EXISTS\s+)?({IDENT})", rest):
            region = unquote(mm[2])
            self._check_region(region)
            if database.primary_region is None:
                raise SqlError(
                    "42602",
                    f'cannot add region "{region}" to database {database.name}',
                    hint=f"you must add a PRIMARY REGION first using ALTER DATABASE {database.name} PRIMARY REGION "
                    f'"{region}"',
                )
            if region in database.regions:
                if not mm[1]:
                    raise SqlError("42710", f'region "{region}" already added to database')
            else:
                database.regions.append(region)
        elif mm := re.fullmatch(rf"(?i)DROP\s+REGION\s+(IF\s+EXISTS\s+)?({IDENT})", rest):
            region = unquote(mm[2])
            if region not in database.regions:
                if not mm[1]:
                    raise SqlError("42704", f'region "{region}" has not been added to the database')
            elif region == database.primary_region and len(database.regions) > 1:
                raise SqlError(
                    "42P12",
                    f'cannot drop region "{region}"',
                    hint="you must designate another region as the primary region using ALTER DATABASE "
                    f"{database.name} PRIMARY REGION <region name> or remove all other regions before "
                    "attempting to drop the primary region",
                )
            elif database.survival_goal == "region" and len(database.regions) <= 3:
                raise SqlError(
                    "42602",
                    "at least 3 regions are required for surviving a region failure",
                    hint="you must add additional regions to the database or change the survivability goal",
                )
            else:
                database.regions.remove(region)
                for table in database.tables.values():
                    if table.locality == f"regional_by_table:{region}":
                        raise SqlError(
                            "2BP01",
                            f'error removing region "{region}": table {table.name} is homed in it',
                            hint="change the table's locality first",
                        )
                if region == database.primary_region:
                    database.primary_region = None
                    database.survival_goal = "zone"
        elif mm := re.fullmatch(r"(?i)SURVIVE\s+(REGION|ZONE)\s+FAILURE", rest):
            if database.primary_region is None:
                raise SqlError(
                    "42602",
                    f'database "{database.name}" must be multi-region to support non-zone survivability goals',
                )
            self._set_goal(database, mm[1].lower())
        elif mm := re.fullmatch(r"(?i)CONFIGURE\s+ZONE\s+USING\s+(.+)", rest):
            for item in mm[1].split(","):
                key, eq, value = item.partition("=")
                key = key.strip().lower()
                if not eq:
                    raise SqlError("42601", f"expected <variable> = <value> in CONFIGURE ZONE, got {item.strip()!r}")
                if key != "num_replicas":
                    continue
                value = value.strip()
                if value.upper() == "COPY FROM PARENT":
                    database.num_replicas = None
                    continue
                if not value.isdigit() or int(value) < 1:
                    raise SqlError("22023", f"num_replicas: expected a positive integer, got {value}")
                want = int(value)
                if database.survival_goal == "region" and want < 5:
                    raise SqlError(
                        "22023", f"num_replicas = {want} cannot survive a region failure: at least 5 are needed"
                    )
                database.num_replicas = want
        elif re.fullmatch(r"(?i)CONFIGURE\s+ZONE\s+DISCARD", rest):
            database.num_replicas = None
        else:
            raise SqlError("0A000", f"unimplemented: ALTER DATABASE ... {rest[:40]}")
        return Result("ALTER DATABASE")

    def _use(self, text, params):
        name = unquote(text.split(None, 1)[1])
        self._require_database(name)
        self._switch(name)
        return Result("SET")

    def _switch(self, name):
        if self.transaction_status != "I":
            raise SqlError("25001", "cannot change the database inside a transaction")
        self.close()
        self.database = name

    def _set_locality(self, text):
        m = re.match(
            rf"(?is)ALTER\s+TABLE\s+(?P<table>{IDENT}(?:\s*\.\s*{IDENT})?)\s+SET\s+LOCALITY\s+(?P<loc>.+)$", text
        )
        if not m:
            raise SqlError("42601", "syntax error in ALTER TABLE ... SET LOCALITY")
        database, table = self._resolve_table(m["table"])
        if database.primary_region is None:
            raise SqlError(
                "42P16", f'cannot alter a table\'s LOCALITY if its database "{database.name}" is not multi-region'
            )
        loc = " ".join(m["loc"].split())
        if re.fullmatch(r"(?i)GLOBAL", loc):
            table.locality = "global"
        elif re.fullmatch(r"(?i)REGIONAL\s+BY\s+ROW", loc):
            table.locality = "regional_by_row"
        elif re.fullmatch(r"(?i)REGIONAL(\s+BY\s+TABLE)?(\s+IN\s+PRIMARY\s+REGION)?", loc):
            table.locality = "regional_by_table"
        elif mm := re.fullmatch(rf"(?i)REGIONAL(?:\s+BY\s+TABLE)?\s+IN\s+({IDENT})", loc):
            region = unquote(mm[1])
            if region not in database.regions:
                raise SqlError("42704", f'region "{region}" has not been added to database "{database.name}"')
            table.locality = f"regional_by_table:{region}"
        else:
            raise SqlError("42601", f"at or near {loc[:30]!r}: syntax error")
        return Result("ALTER TABLE")

    # -- settings and introspection ---------------------------------------------------------

    def _set_cluster_setting(self, text, params):
        m = re.match(r"(?is)SET\s+CLUSTER\s+SETTING\s+([a-z0-9_.]+)\s*(?:=|TO)\s*(.+)$", text)
        if not m:
            raise SqlError("42601", "syntax error in SET CLUSTER SETTING")
        if m[1].lower() not in DEFAULT_SETTINGS and m[1].lower() not in self.cluster.settings:
            raise SqlError("42704", f"unknown cluster setting: {m[1].lower()}")
        value = m[2].strip()
        if value.upper() == "DEFAULT":
            self.cluster.settings.pop(m[1], None)
        else:
            self.cluster.settings[m[1]] = _literal_text(value, params)
        return Result("SET CLUSTER SETTING")

    def _show_cluster_setting(self, text, params):
        name = text.split()[-1].strip().lower()
        value = self.cluster.settings.get(name, DEFAULT_SETTINGS.get(name))
        if value is None:
            raise SqlError("42704", f"unknown cluster setting: {name}")
        return _one_row([name], (value,))

    def _show_regions(self, text, params):
        rest = " ".join(text.split()[2:]).upper()
        regions = self.cluster.cluster_regions()
        if rest in ("", "FROM CLUSTER"):
            return _rows(
                [("region", pgwire.TEXT), ("zones", pgwire.TEXT)],
                [(r, "{" + ",".join(z) + "}") for r, z in regions.items()],
            )
        m = re.match(rf"(?is)FROM\s+DATABASE(?:\s+({IDENT}))?\s*$", " ".join(text.split()[2:]))
        if not m:
            raise SqlError("42601", "syntax error in SHOW REGIONS")
        database = self._require_database(unquote(m[1]) if m[1] else self.database)
        rows = [
            (database.name, r, r == database.primary_region, False, "{" + ",".join(regions.get(r, [])) + "}")
            for r in database.regions
        ]
        return Result(
            f"SHOW {len(rows)}",
            [
                ("database", pgwire.TEXT),
                ("region", pgwire.TEXT),
                ("primary", pgwire.BOOL),
                ("secondary", pgwire.BOOL),
                ("zones", pgwire.TEXT),
            ],
            rows,
        )

    def _database_of(self, text, keyword="DATABASE"):
        head = rf"FROM\s+{keyword}" if keyword else "FROM"
        m = re.search(rf"(?is){head}(?:\s+({IDENT}))?\s*$", text)
        return self._require_database(unquote(m[1]) if m and m[1] else self.database)

    def _show_survival_goal(self, text, params):
        database = self._database_of(text)
        return _rows(
            [("database", pgwire.TEXT), ("survival_goal", pgwire.TEXT)], [(database.name, database.survival_goal)]
        )

    def _show_zone(self, text, params):
        database = self._database_of(text)
        replicas = database.replicas()
        voters = replicas if database.survival_goal == "region" else 3
        lines = [f"ALTER DATABASE {database.name} CONFIGURE ZONE USING", f"\tnum_replicas = {replicas}"]
        if database.primary_region:
            lines.append(f"\tnum_voters = {voters}")
        return _rows(
            [("target", pgwire.TEXT), ("raw_config_sql", pgwire.TEXT)],
            [(f"DATABASE {database.name}", ",\n".join(lines))],
        )

    def _show_databases(self, text, params):
        rows = [
            (
                d.name,
                "root",
                d.primary_region,
                None,
                "{" + ",".join(d.regions) + "}",
                d.survival_goal if d.primary_region else None,
            )
            for d in sorted(self.cluster.databases.values(), key=lambda d: d.name)
        ]
        cols = ["database_name", "owner", "primary_region", "secondary_region", "regions", "survival_goal"]
        return _rows([(c, pgwire.TEXT) for c in cols], rows)

    def _show_tables(self, text, params):
        database = self._database_of(text, keyword="")
        rows = []
        for table in sorted(database.tables.values(), key=lambda t: t.name):
            loc = table.locality
            if loc == "regional_by_table":
                locality = "REGIONAL BY TABLE IN PRIMARY REGION"
            elif loc.startswith("regional_by_table:"):
                locality = f"REGIONAL BY TABLE IN {loc.partition(':')[2]}"
            else:
                locality = loc.replace("_", " ").upper()
            rows.append(("public", table.name, "table", "root", 0, locality if database.primary_region else None))
        cols = [("schema_name", pgwire.TEXT), ("table_name", pgwire.TEXT), ("type", pgwire.TEXT)]
        cols += [("owner", pgwire.TEXT), ("estimated_row_count", pgwire.INT8), ("locality", pgwire.TEXT)]
        return _rows(cols, rows)

    def _set(self, text, params):
        m = re.match(r"(?is)SET\s+(?:SESSION\s+)?([a-z_.]+)\s*(?:=|TO)\s*(.+)$", text)
        if not m:
            raise SqlError("42601", "syntax error in SET")
        name, value = m[1].lower(), _literal_text(m[2].strip(), params)
        if name == "database":
            self._require_database(value)
            self._switch(value)
        else:
            self.vars[name] = value
        return Result("SET")

    def _show_var(self, text, params):
        name = text.split(None, 1)[1].strip().lower()
        if name == "database":
            value = self.database
        elif name in ("transaction_isolation", "transaction isolation level"):
            value = "serializable"
        elif name in self.vars:
            value = self.vars[name]
        else:
            raise SqlError("42704", f"unrecognized configuration parameter {name!r}")
        return _one_row([name.replace(" ", "_")], (value,))

    # -- table statements in SQLite ---------------------------------------------------------

    def _resolve_table(self, reference):
        parts = [unquote(p) for p in re.findall(IDENT, reference)]
        db_name, name = (parts[0], parts[1]) if len(parts) == 2 else (self.database, parts[0])
        database = self._require_database(db_name)
        table = database.tables.get(name)
        if table is None:
            raise SqlError("42P01", f'relation "{name}" does not exist')
        return database, table

    def _connection(self):
        if self.db is None:
            self.db = sqlite3.connect(
                self.backend.database_path(self.database), isolation_level=None, check_same_thread=False, timeout=0
            )
            self.db.create_function("gen_random_uuid", 0, lambda: str(uuid.uuid4()))
            self.db.create_function(
                "now", 0, lambda: datetime.datetime.now(datetime.UTC).isoformat(sep=" ", timespec="microseconds")
            )
            self.db.create_function("gateway_region", 0, lambda: self.backend.node.region)
            self.attached = set()
        return self.db

    def _rewrite(self, text, params):
        """The statement as SQLite reads it, the (database, table) names it reads or writes, and its
        parameters bound."""
        out, tables = [], []
        tokens = list(TOKEN.finditer(text))
        creating = bool(re.match(r"(?is)CREATE\s+TABLE\b", text))
        depth, item_start, expect_type, in_type = 0, False, False, False
        previous_word, schema = "", None
        for index, m in enumerate(tokens):
            kind, value = m.lastgroup, m.group()
            if kind == "param":
                out.append("?" + value[1:])
            elif kind == "cast":
                continue
            elif kind in ("word", "qid"):
                name = unquote(value)
                if _next_significant(tokens, index) == "." and name in self.cluster.databases:
                    out.append(self._schema_alias(name))
                    schema = name
                    continue
                upper = value.upper()
                if creating and expect_type and upper in TYPES:
                    out.append(TYPES[upper][0])
                    in_type = upper == "DOUBLE"
                elif in_type and upper == "PRECISION":
                    in_type = False
                else:
                    if previous_word in ("FROM", "INTO", "UPDATE", "JOIN", "TABLE", "EXISTS"):
                        tables.append((schema or self.database, name))
                    out.append("INSERT OR REPLACE" if upper == "UPSERT" else value)
                schema = None
                expect_type = creating and depth == 1 and item_start
                item_start = False
                previous_word = upper
            else:
                if value == "(":
                    depth += 1
                    item_start = depth == 1
                elif value == ")":
                    depth -= 1
                elif value == "," and depth == 1:
                    item_start = True
                elif kind != "ws" and value != ".":
                    item_start = False
                out.append(value)
        sql = "".join(out)
        if creating:
            # SQLite takes a function call as a default only in parentheses.
            sql = re.sub(r"(?i)\bDEFAULT\s+([A-Za-z_][A-Za-z0-9_]*\s*\(\s*\))", r"DEFAULT (\1)", sql)
        return sql, tables, [_bind(p) for p in params]

    def _schema_alias(self, name):
        if name == self.database:
            return "main"
        alias = f"db_{uuid.uuid5(uuid.NAMESPACE_OID, name).hex[:12]}"
        if alias not in self.attached:
            self._connection().execute(f"ATTACH DATABASE ? AS {alias}", (str(self.backend.database_path(name)),))
            self.attached.add(alias)
        return alias

    def _table_statement(self, text, params):
        verb = text.split(None, 1)[0].upper() if text else ""
        if verb not in ("CREATE", "INSERT", "UPSERT", "SELECT", "UPDATE", "DELETE", "DROP", "WITH", "VALUES"):
            raise SqlError("0A000", f"unimplemented: the sandbox's stand-in does not support {text[:40]!r}")
        database = self._require_database(self.database)
        sql, names, binds = self._rewrite(text, params)
        create = re.match(rf"(?is)CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?({IDENT}(?:\s*\.\s*{IDENT})?)\s*\(", text)
        drop = re.match(rf"(?is)DROP\s+TABLE\s+(IF\s+EXISTS\s+)?({IDENT}(?:\s*\.\s*{IDENT})?)", text)
        touched = []
        if create:
            parts = [unquote(p) for p in re.findall(IDENT, create[2])]
            target_db = self._require_database(parts[0]) if len(parts) == 2 else database
            self.cluster.check_available(target_db)
        else:
            for db_name, name in names:
                db = self.cluster.databases.get(db_name)
                table = db.tables.get(name) if db else None
                if table is not None:
                    touched.append((db, table))
            for db, table in touched:
                self.cluster.check_available(db, table)
        connection = self._connection()
        try:
            cursor = connection.execute(sql, binds)
            rows = cursor.fetchall() if cursor.description else []
        except sqlite3.IntegrityError as exc:
            raise SqlError("23505" if "UNIQUE" in str(exc) else "23502", _integrity_message(exc)) from None
        except sqlite3.OperationalError as exc:
            message = str(exc)
            if "locked" in message or "busy" in message:
                raise _retry_error(exc) from None
            if "no such table" in message:
                raise SqlError("42P01", f'relation "{message.rsplit(":", 1)[-1].strip()}" does not exist') from None
            if "already exists" in message:
                raise SqlError("42P07", message.replace("table", "relation", 1)) from None
            raise SqlError("42601", message) from None
        if create:
            parts = [unquote(p) for p in re.findall(IDENT, create[2])]
            target_db = self._require_database(parts[0]) if len(parts) == 2 else database
            if parts[-1] not in target_db.tables:
                target_db.tables[parts[-1]] = Table(parts[-1], columns=_column_types(text))
            return Result("CREATE TABLE")
        if drop:
            parts = [unquote(p) for p in re.findall(IDENT, drop[2])]
            target_db = self._require_database(parts[0]) if len(parts) == 2 else database
            target_db.tables.pop(parts[-1], None)
            return Result("DROP TABLE")
        if cursor.description:
            types = {}
            for _db, table in touched:
                types.update(dict(table.columns))
            columns = []
            for i, item in enumerate(cursor.description):
                declared = types.get(item[0].lower())
                oid = TYPES[declared][1] if declared in TYPES else _infer_oid(rows, i)
                columns.append((item[0], oid))
            rows = [tuple(_value(v, oid) for v, (_n, oid) in zip(row, columns, strict=True)) for row in rows]
        else:
            columns = None
        count = len(rows) if cursor.description else max(cursor.rowcount, 0)
        if verb in ("INSERT", "UPSERT"):
            return Result(f"INSERT 0 {count}", columns, rows)
        if verb in ("UPDATE", "DELETE"):
            return Result(f"{verb} {count}", columns, rows)
        return Result(f"SELECT {count}", columns or [], rows)


def _next_significant(tokens, index):
    for m in tokens[index + 1 :]:
        if m.lastgroup != "ws":
            return m.group()
    return ""


def _column_types(create_sql):
    """[(column, CockroachDB type)] from a CREATE TABLE's column list."""
    body = create_sql[create_sql.index("(") + 1 : create_sql.rindex(")")]
    depth, item, items = 0, "", []
    for ch in body:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(item)
            item = ""
        else:
            item += ch
    items.append(item)
    out = []
    for entry in items:
        words = entry.split()
        if len(words) >= 2 and words[0].upper() not in ("PRIMARY", "UNIQUE", "CONSTRAINT", "FOREIGN", "CHECK", "INDEX"):
            kind = re.match(r"[A-Za-z0-9]+", words[1])
            out.append((unquote(words[0]), kind.group().upper() if kind else "STRING"))
    return out


def _bind(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat(sep=" ") if isinstance(value, datetime.datetime) else value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _infer_oid(rows, index):
    for row in rows:
        value = row[index]
        if value is None:
            continue
        if isinstance(value, int):
            return pgwire.INT8
        if isinstance(value, float):
            return pgwire.FLOAT8
        if isinstance(value, bytes):
            return pgwire.BYTEA
        return pgwire.TEXT
    return pgwire.TEXT


def _value(value, oid):
    if value is None:
        return None
    if oid == pgwire.BOOL:
        return bool(value)
    if oid == pgwire.JSONB and isinstance(value, str):
        return json.loads(value)
    if oid in (pgwire.TIMESTAMP, pgwire.TIMESTAMPTZ) and isinstance(value, str):
        moment = datetime.datetime.fromisoformat(value)
        if oid == pgwire.TIMESTAMPTZ and moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.UTC)
        return moment
    if oid == pgwire.DATE and isinstance(value, str):
        return datetime.date.fromisoformat(value)
    if oid == pgwire.NUMERIC and isinstance(value, int | float | str):
        return decimal.Decimal(str(value))
    if oid in (pgwire.TEXT, pgwire.VARCHAR, pgwire.UUID) and not isinstance(value, str):
        return str(value)
    return value


def _literal_text(value, params):
    value = value.strip()
    if re.fullmatch(r"\$\d+", value):
        return str(_bind(params[int(value[1:]) - 1]))
    if value.startswith("'") and value.endswith("'"):
        return value[1:-1].replace("''", "'")
    return value.strip('"') if value.startswith('"') else value.lower()


def _integrity_message(exc):
    text = str(exc)
    if "UNIQUE" in text:
        return f'duplicate key value violates unique constraint "{text.rsplit(":", 1)[-1].strip()}"'
    return text


def _retry_error(exc):
    return SqlError(
        "40001",
        "restart transaction: TransactionRetryWithProtoRefreshError: WriteTooOldError: another transaction "
        "wrote to the same rows first",
        hint="retry the transaction (see CockroachDB's client-side transaction retry handling)",
    )


__all__ = ["SURVIVAL_GOALS", "Backend", "Session"]
