"""The CockroachDB stand-in's introspection: the ``crdb_internal`` virtual tables (and the one
``system`` table) the info module reads, answered from the cluster model.

A statement that names one of ``VIRTUAL_TABLES`` is run in a fresh in-memory SQLite database that
holds those tables as they are at this moment, with CockroachDB's column names, so any SELECT over
them (joins, filters, aggregates, ``->>`` on the JSON columns) is answered, not only the queries
the collection sends. ``crdb_internal.<name>`` becomes a local table name, ``$n`` parameters are
bound and ``::`` casts dropped, as ``sql.py`` does for table statements.

What the stand-in models, and how it differs from CockroachDB:

- ``gossip_nodes``/``gossip_liveness``: every node that joined, ``is_live`` false while it is
  stopped or its region is down. The stand-in has no RPC address: ``address`` is the node's SQL
  address, or ``node<id>:26257`` when it has none.
- ``kv_store_status``: one store per *live* node (a dead node reports nothing). Range metrics count
  each range once, at its first live voter's store (the leaseholder's, in CockroachDB); a range
  with no live voter at all is counted at the gateway's store, so that its unavailability shows.
- ``crdb_internal.jobs`` and ``system.jobs``: the jobs of ``cluster.jobs``; ``system.jobs`` holds
  ``created_by_type``/``created_by_id`` (``crdb_schedule`` and the schedule's id), as in
  CockroachDB, where ``crdb_internal.jobs`` does not show who created a job.
"""

from __future__ import annotations

import datetime
import json
import re
import sqlite3

from mc_sandbox.crdb import pgwire
from mc_sandbox.crdb.pgwire import Result, SqlError

SERVER_VERSION = "24.1"
BUILD_TAG = "v24.1.0"
STORE_CAPACITY = 100 * 1024**3

# Qualified name -> [(column, wire OID)], CockroachDB's columns (a subset for the wide ones).
VIRTUAL_TABLES = {
    ("crdb_internal", "gossip_nodes"): [
        ("node_id", pgwire.INT8),
        ("network", pgwire.TEXT),
        ("address", pgwire.TEXT),
        ("advertise_address", pgwire.TEXT),
        ("sql_network", pgwire.TEXT),
        ("sql_address", pgwire.TEXT),
        ("advertise_sql_address", pgwire.TEXT),
        ("attrs", pgwire.JSONB),
        ("locality", pgwire.TEXT),
        ("cluster_name", pgwire.TEXT),
        ("server_version", pgwire.TEXT),
        ("build_tag", pgwire.TEXT),
        ("started_at", pgwire.TIMESTAMP),
        ("is_live", pgwire.BOOL),
        ("ranges", pgwire.INT8),
        ("leases", pgwire.INT8),
    ],
    ("crdb_internal", "gossip_liveness"): [
        ("node_id", pgwire.INT8),
        ("epoch", pgwire.INT8),
        ("expiration", pgwire.TEXT),
        ("draining", pgwire.BOOL),
        ("decommissioning", pgwire.BOOL),
        ("membership", pgwire.TEXT),
        ("updated_at", pgwire.TIMESTAMP),
    ],
    ("crdb_internal", "kv_store_status"): [
        ("node_id", pgwire.INT8),
        ("store_id", pgwire.INT8),
        ("attrs", pgwire.JSONB),
        ("capacity", pgwire.INT8),
        ("available", pgwire.INT8),
        ("used", pgwire.INT8),
        ("logical_bytes", pgwire.INT8),
        ("range_count", pgwire.INT8),
        ("lease_count", pgwire.INT8),
        ("writes_per_second", pgwire.FLOAT8),
        ("metrics", pgwire.JSONB),
        ("properties", pgwire.JSONB),
    ],
    ("crdb_internal", "jobs"): [
        ("job_id", pgwire.INT8),
        ("job_type", pgwire.TEXT),
        ("description", pgwire.TEXT),
        ("statement", pgwire.TEXT),
        ("user_name", pgwire.TEXT),
        ("status", pgwire.TEXT),
        ("running_status", pgwire.TEXT),
        ("created", pgwire.TIMESTAMP),
        ("started", pgwire.TIMESTAMP),
        ("finished", pgwire.TIMESTAMP),
        ("modified", pgwire.TIMESTAMP),
        ("fraction_completed", pgwire.FLOAT8),
        ("error", pgwire.TEXT),
        ("coordinator_id", pgwire.INT8),
    ],
    ("system", "jobs"): [
        ("id", pgwire.INT8),
        ("status", pgwire.TEXT),
        ("created", pgwire.TIMESTAMP),
        ("created_by_type", pgwire.TEXT),
        ("created_by_id", pgwire.INT8),
        ("job_type", pgwire.TEXT),
    ],
}
JSON_KEY = re.compile(r"(->>?)\s*'((?:[^'$]|'')*)'")
SQLITE_TYPES = {pgwire.INT8: "INTEGER", pgwire.BOOL: "INTEGER", pgwire.FLOAT8: "REAL"}


def _local(schema, name):
    return f"{schema}__{name}"


def answer(session, text, params):
    """The ``Result`` of ``text`` when it reads introspection tables, else None."""
    from mc_sandbox.crdb import sql  # noqa: PLC0415 - sql imports this module

    tokens = list(sql.TOKEN.finditer(text))
    out, used = [], []
    index = 0
    while index < len(tokens):
        m = tokens[index]
        kind, value = m.lastgroup, m.group()
        if kind in ("word", "qid"):
            reference = _qualified(tokens, index, sql.unquote)
            if reference is not None:
                (schema, name), consumed = reference
                if (schema, name) in VIRTUAL_TABLES:
                    if (schema, name) not in used:
                        used.append((schema, name))
                    out.append(_local(schema, name))
                    index += consumed
                    continue
                if schema == "crdb_internal" and _next_significant(tokens, index + consumed - 1) != "(":
                    raise SqlError(
                        "0A000",
                        f"unimplemented: the sandbox's stand-in has no crdb_internal.{name}",
                        hint="it answers " + ", ".join(f"{s}.{n}" for s, n in VIRTUAL_TABLES),
                    )
        if kind == "param":
            out.append("?" + value[1:])
        elif kind != "cast":
            out.append(value)
        index += 1
    if not used:
        return None
    verb = text.split(None, 1)[0].upper()
    if verb not in ("SELECT", "WITH"):
        raise SqlError("42501", f"{used[0][0]}.{used[0][1]} is a virtual table: only SELECT reads it")
    db = sqlite3.connect(":memory:")
    try:
        for key in used:
            _materialize(db, key, _ROWS[key](session))
        try:
            cursor = db.execute(_json_keys("".join(out)), [sql._bind(p) for p in params])  # pylint: disable=protected-access
        except sqlite3.Error as exc:
            raise SqlError("42601", str(exc)) from None
        rows = cursor.fetchall()
        known = {}
        for key in used:
            known.update(dict(VIRTUAL_TABLES[key]))
        columns = []
        for i, item in enumerate(cursor.description or ()):
            oid = known.get(item[0]) or sql._infer_oid(rows, i)  # pylint: disable=protected-access
            columns.append((item[0], oid))
        rows = [tuple(sql._value(v, oid) for v, (_n, oid) in zip(row, columns, strict=True)) for row in rows]  # pylint: disable=protected-access
        return Result(f"SELECT {len(rows)}", columns, rows)
    finally:
        db.close()


def _json_keys(text):
    """``x->>'a.b'`` as SQLite reads the key CockroachDB means: SQLite takes a bare label's dots as
    a path (``$.a.b``), CockroachDB takes the whole text as one key."""
    return JSON_KEY.sub(lambda m: f"""{m[1]} '$."{m[2].replace('"', '""')}"'""", text)


def _next_significant(tokens, index):
    for m in tokens[index + 1 :]:
        if m.lastgroup != "ws":
            return m.group()
    return ""


def _qualified(tokens, index, unquote):
    """``((schema, name), tokens consumed)`` for ``schema . name`` at ``index`` (an optional
    ``""``/database prefix is skipped: ``"".crdb_internal.jobs``), else None."""
    parts, i = [], index
    while i < len(tokens):
        m = tokens[i]
        if m.lastgroup not in ("word", "qid"):
            break
        parts.append(unquote(m.group()))
        j = i + 1
        while j < len(tokens) and tokens[j].lastgroup == "ws":
            j += 1
        if j < len(tokens) and tokens[j].group() == "." and len(parts) < 3:
            k = j + 1
            while k < len(tokens) and tokens[k].lastgroup == "ws":
                k += 1
            i = k
            continue
        i += 1
        break
    if len(parts) < 2:
        return None
    return (parts[-2], parts[-1]), i - index


def _materialize(db, key, rows):
    columns = VIRTUAL_TABLES[key]
    defs = ", ".join(f"{name} {SQLITE_TYPES.get(oid, 'TEXT')}" for name, oid in columns)
    db.execute(f"CREATE TABLE {_local(*key)} ({defs})")
    marks = ", ".join("?" for _ in columns)
    db.executemany(f"INSERT INTO {_local(*key)} VALUES ({marks})", rows)  # noqa: S608 - own names, ? marks


def _timestamp(seconds):
    if seconds is None:
        return None
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC).replace(tzinfo=None)
    return moment.isoformat(sep=" ", timespec="microseconds")


def _now():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _address(node):
    return node.sql_address or f"node{node.node_id}:26257"


def _range_counts(session):
    """Per node: replicas held, ranges and leases reported, unavailable and under-replicated
    ranges reported (each range at one store: its first live voter's, else the gateway's)."""
    cluster = session.cluster
    counts = {
        node_id: {"replicas": 0, "ranges": 0, "unavailable": 0, "under": 0, "leases": 0} for node_id in cluster.nodes
    }
    for report in cluster.range_report():
        for node_id in report["voters"]:
            counts[node_id]["replicas"] += 1
        live = [n for n in report["voters"] if cluster.live(cluster.nodes[n])]
        reporter = live[0] if live else session.backend.node.node_id
        counts[reporter]["ranges"] += 1
        if live:
            counts[reporter]["leases"] += 0 if report["unavailable"] else 1
        counts[reporter]["unavailable"] += int(report["unavailable"])
        counts[reporter]["under"] += int(report["under_replicated"])
    return counts


def _gossip_nodes(session):
    cluster = session.cluster
    counts = _range_counts(session)
    rows = []
    for node in sorted(cluster.nodes.values(), key=lambda n: n.node_id):
        address = _address(node)
        rows.append(
            (
                node.node_id,
                "tcp",
                address,
                address,
                "tcp",
                address,
                address,
                "[]",
                node.locality_text(),
                cluster.name,
                SERVER_VERSION,
                BUILD_TAG,
                None,
                int(cluster.live(node)),
                counts[node.node_id]["replicas"],
                counts[node.node_id]["leases"],
            )
        )
    return rows


def _gossip_liveness(session):
    cluster = session.cluster
    now = _now()
    return [
        (node.node_id, 1, now if cluster.live(node) else None, int(node.draining), 0, "active", now)
        for node in sorted(cluster.nodes.values(), key=lambda n: n.node_id)
    ]


def _kv_store_status(session):
    cluster = session.cluster
    counts = _range_counts(session)
    rows = []
    for node in sorted(cluster.nodes.values(), key=lambda n: n.node_id):
        if not cluster.live(node):
            continue  # a dead node's store reports nothing
        c = counts[node.node_id]
        metrics = {
            "ranges": c["ranges"],
            "ranges.unavailable": c["unavailable"],
            "ranges.underreplicated": c["under"],
            "replicas": c["replicas"],
            "replicas.leaseholders": c["leases"],
        }
        rows.append(
            (
                node.node_id,
                node.node_id,
                "[]",
                STORE_CAPACITY,
                STORE_CAPACITY,
                0,
                0,
                c["replicas"],
                c["leases"],
                0.0,
                json.dumps(metrics),
                json.dumps({"encrypted": False, "read_only": False}),
            )
        )
    return rows


def _jobs(session):
    return [
        (
            job.job_id,
            job.job_type,
            job.description,
            job.description,
            "root",
            job.status,
            None,
            _timestamp(job.created),
            _timestamp(job.created),
            _timestamp(job.finished),
            _timestamp(job.finished if job.finished is not None else job.created),
            1.0 if job.status == "succeeded" else 0.0,
            job.error,
            session.backend.node.node_id,
        )
        for job in session.cluster.jobs
    ]


def _system_jobs(session):
    return [
        (
            job.job_id,
            job.status,
            _timestamp(job.created),
            "crdb_schedule" if job.schedule_id is not None else None,
            job.schedule_id,
            job.job_type,
        )
        for job in session.cluster.jobs
    ]


_ROWS = {
    ("crdb_internal", "gossip_nodes"): _gossip_nodes,
    ("crdb_internal", "gossip_liveness"): _gossip_liveness,
    ("crdb_internal", "kv_store_status"): _kv_store_status,
    ("crdb_internal", "jobs"): _jobs,
    ("system", "jobs"): _system_jobs,
}

__all__ = ["VIRTUAL_TABLES", "answer"]
