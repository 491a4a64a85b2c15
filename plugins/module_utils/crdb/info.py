# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``mc_crdb_info``: what a CockroachDB cluster looks like from one gateway, and how long a write
through one region takes to be readable through the others.

Everything but the lag probes only reads: nodes and liveness (``crdb_internal.gossip_nodes``,
``crdb_internal.gossip_liveness``), range health summed over the live nodes' stores
(``crdb_internal.kv_store_status`` metrics), a database's multi-region configuration (the SHOW
statements ``client.read_state`` sends), backup schedules (``SHOW SCHEDULES FOR BACKUP``) and the
last job each started (``system.jobs`` for who created a job, ``crdb_internal.jobs`` for how it
went).

The lag probes write: one row per reading gateway into ``LAG_TABLE`` (created if missing) through
the first gateway that connects, read back through each gateway until it is visible, then deleted.
A gateway that cannot be reached, or a read that fails, is reported for its region; it never fails
the module.
"""

from __future__ import annotations

import datetime
import json
import time
import uuid

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import TIMEOUT, ValidationError
from ansible_collections.multicloud.fabric.plugins.module_utils.crdb import client
from ansible_collections.multicloud.fabric.plugins.module_utils.crdb.client import CrdbError
from ansible_collections.multicloud.fabric.plugins.module_utils.crdb.runner import CONNECTION_OPTIONS

LAG_TABLE = "mc_fabric_lag_probe"  # in defaultdb (the database the connections open), schema public
LAG_POLL_SECONDS = 0.005
LAG_POLL_MAX_SECONDS = 0.1

PROBE_OPTIONS = {"name": {"type": "str", "required": True}, **CONNECTION_OPTIONS}
OPTIONS = {
    "connection": {"type": "dict", "required": True, "options": CONNECTION_OPTIONS},
    "database": {"type": "str"},
    "lag_probes": {"type": "list", "elements": "dict", "options": PROBE_OPTIONS},
    "lag_timeout": {"type": "float", "default": 10.0},
}

NODES_SQL = (
    "SELECT n.node_id, n.address, n.locality, n.is_live, l.draining, l.membership "
    "FROM crdb_internal.gossip_nodes AS n "
    "LEFT JOIN crdb_internal.gossip_liveness AS l ON l.node_id = n.node_id "
    "ORDER BY n.node_id"
)
# ranges.* metrics count each range once, at the store of its leaseholder; a dead node's store
# record may linger with stale numbers, so only live nodes' stores are summed.
RANGES_SQL = (
    "SELECT coalesce(sum((s.metrics->>'ranges.unavailable')::DECIMAL), 0)::INT8 AS unavailable, "
    "coalesce(sum((s.metrics->>'ranges.underreplicated')::DECIMAL), 0)::INT8 AS under_replicated, "
    "coalesce(sum((s.metrics->>'ranges')::DECIMAL), 0)::INT8 AS total "
    "FROM crdb_internal.kv_store_status AS s "
    "WHERE s.node_id IN (SELECT node_id FROM crdb_internal.gossip_nodes WHERE is_live)"
)
SCHEDULES_SQL = "SHOW SCHEDULES FOR BACKUP"
SCHEDULE_JOBS_SQL = (
    "SELECT s.created_by_id AS schedule_id, j.job_id, j.status, j.created, j.finished, j.error "
    "FROM system.jobs AS s JOIN crdb_internal.jobs AS j ON j.job_id = s.id "
    "WHERE s.created_by_type = 'crdb_schedule' "
    "ORDER BY j.created DESC"
)
LAG_CREATE_SQL = (
    "CREATE TABLE IF NOT EXISTS mc_fabric_lag_probe "
    "(id STRING PRIMARY KEY, written_at TIMESTAMPTZ NOT NULL, reader STRING NOT NULL)"
)
LAG_INSERT_SQL = "INSERT INTO mc_fabric_lag_probe (id, written_at, reader) VALUES (%s, now(), %s)"
LAG_READ_SQL = "SELECT id FROM mc_fabric_lag_probe WHERE id = %s"
LAG_DELETE_SQL = "DELETE FROM mc_fabric_lag_probe WHERE id = %s"


def parse_locality(text):
    """``cloud=aws,region=us-east-1,zone=us-east-1a`` as a dict, tiers in order."""
    out = {}
    for tier in (text or "").split(","):
        key, sep, value = tier.partition("=")
        if sep and key.strip():
            out[key.strip()] = value.strip()
    return out


def _iso(value):
    """A timestamp as ISO 8601 text (UTC when the server sent none), other values as they are."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return value.isoformat()
    return value


def _int(value):
    return int(value) if value is not None else 0


def read_nodes(conn):
    """Every node with its locality and liveness, and the live/total counts per region."""
    nodes = []
    for row in client.query(conn, NODES_SQL, operation="read crdb_internal.gossip_nodes"):
        locality = parse_locality(row["locality"])
        nodes.append(
            {
                "node_id": int(row["node_id"]),
                "address": row["address"],
                "locality": locality,
                "region": locality.get("region"),
                "cloud": locality.get("cloud"),
                "is_live": bool(row["is_live"]),
                "draining": bool(row.get("draining")),
                "membership": row.get("membership") or "active",
            }
        )
    regions = {}
    for node in nodes:
        if node["membership"] == "decommissioned":
            continue
        counts = regions.setdefault(node["region"] or "", {"live": 0, "total": 0})
        counts["total"] += 1
        counts["live"] += int(node["is_live"])
    counted = [n for n in nodes if n["membership"] != "decommissioned"]
    return {
        "nodes": nodes,
        "regions": regions,
        "nodes_live": sum(1 for n in counted if n["is_live"]),
        "nodes_total": len(counted),
    }


def read_ranges(conn):
    rows = client.query(conn, RANGES_SQL, operation="read crdb_internal.kv_store_status")
    row = rows[0] if rows else {}
    return {key: _int(row.get(key)) for key in ("unavailable", "under_replicated", "total")}


def read_database(conn, name):
    state = client.read_state(conn, name)
    if state is None:
        return {"name": name, "exists": False}
    return {
        "name": name,
        "exists": True,
        "primary_region": state.get("primary_region"),
        "regions": list(state.get("regions") or []),
        "survival_goal": state.get("survival_goal"),
        "replication_factor": state.get("num_replicas"),
    }


def read_backup_schedules(conn):
    """The backup schedules with their last job, or raise ``CrdbError``. The schedules' commands
    (their destinations, with any storage keys) are never read into the result."""
    schedules = client.query(conn, SCHEDULES_SQL)
    last = {}
    if schedules:
        for job in client.query(conn, SCHEDULE_JOBS_SQL, operation="read the jobs of the backup schedules"):
            last.setdefault(job["schedule_id"], job)  # newest first
    out = []
    for row in schedules:
        job = last.get(row["id"])
        out.append(
            {
                "id": row["id"],
                "label": row.get("label"),
                "status": row.get("schedule_status"),
                "recurrence": row.get("recurrence"),
                "next_run": _iso(row.get("next_run")),
                "state": row.get("state"),
                "backup_type": _backup_type(row.get("command")),
                "jobs_running": _int(row.get("jobsrunning")),
                "last_run": None
                if job is None
                else {
                    "job_id": job["job_id"],
                    "status": job["status"],
                    "started": _iso(job["created"]),
                    "finished": _iso(job["finished"]),
                    "error": job.get("error") or None,
                },
            }
        )
    return out


def _backup_type(command):
    """``full`` or ``incremental``, from the schedule's command (its other keys are not kept)."""
    if isinstance(command, str):
        try:
            command = json.loads(command)
        except ValueError:
            return None
    kind = command.get("backup_type") if isinstance(command, dict) else None
    return str(kind).lower() if kind else None


def _error(exc):
    if isinstance(exc, CrdbError):
        return {"error": exc.describe(), "kind": exc.kind, "sqlstate": exc.code}
    return {"error": str(exc), "kind": "api_error", "sqlstate": None}


def _probe_one(writer, reader, reader_name, timeout):
    """Seconds from the committed write through ``writer`` to the row being read through
    ``reader`` (an upper bound: it includes the successful read's round trip)."""
    key = uuid.uuid4().hex
    client.query(writer, LAG_INSERT_SQL, (key, reader_name), operation=f"write the lag probe for {reader_name}")
    committed = time.monotonic()
    try:
        delay = LAG_POLL_SECONDS
        while True:
            rows = client.query(reader, LAG_READ_SQL, (key,), operation=f"read the lag probe through {reader_name}")
            now = time.monotonic()
            if rows:
                return round(now - committed, 6)
            if now - committed >= timeout:
                raise CrdbError(
                    f"the probe row written was not visible through {reader_name} after {timeout:g}s",
                    call=LAG_READ_SQL,
                    kind=TIMEOUT,
                )
            time.sleep(min(delay, max(0.0, timeout - (now - committed))))
            delay = min(delay * 2, LAG_POLL_MAX_SECONDS)
    finally:
        try:
            client.query(writer, LAG_DELETE_SQL, (key,), operation="delete the lag probe")
        except CrdbError:
            pass  # the next probe's write is a new key; a leftover row harms nothing


def measure_lag(probes, timeout):
    """``(region -> seconds or error, writer name)`` for ``probes`` (lists of connection options
    with a ``name``): the writer is the first probe that connects."""
    lag, conns = {}, {}
    try:
        for probe in probes:
            try:
                conns[probe["name"]] = client.connect(probe)
            except CrdbError as exc:
                lag[probe["name"]] = _error(exc)
        if not conns:
            return lag, None
        writer_name = next(iter(conns))
        writer = conns[writer_name]
        try:
            client.query(writer, LAG_CREATE_SQL, operation=f"create {LAG_TABLE}")
        except CrdbError as exc:
            failed = _error(exc)
            failed["error"] = f"the probe write through {writer_name} failed: {failed['error']}"
            for name in conns:
                lag[name] = dict(failed)
            return lag, writer_name
        for name, reader in conns.items():
            try:
                lag[name] = _probe_one(writer, reader, name, timeout)
            except CrdbError as exc:
                lag[name] = _error(exc)
        return {p["name"]: lag[p["name"]] for p in probes if p["name"] in lag}, writer_name
    finally:
        for conn in conns.values():
            conn.close()


def gather(module):
    params = module.params
    names = [p["name"] for p in params.get("lag_probes") or []]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValidationError("lag_probes", f"names must be unique; {', '.join(duplicates)} given twice")
    if params["lag_timeout"] <= 0:
        raise ValidationError("lag_timeout", f"must be more than 0 seconds, got {params['lag_timeout']:g}")
    warnings = []
    conn = client.connect(params["connection"])
    try:
        result = read_nodes(conn)
        result["ranges"] = read_ranges(conn)
        if params.get("database"):
            result["database"] = read_database(conn, params["database"])
        try:
            result["backup_schedules"] = read_backup_schedules(conn)
        except CrdbError as exc:
            result["backup_schedules"] = None
            warnings.append(f"backup schedules could not be read: {exc.describe()}")
    finally:
        conn.close()
    if params.get("lag_probes"):
        result["replication_lag"], result["lag_writer"] = measure_lag(params["lag_probes"], params["lag_timeout"])
    for warning in warnings:
        module.warn(warning)
    result["changed"] = False
    return result
