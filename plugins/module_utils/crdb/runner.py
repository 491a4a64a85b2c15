# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``mc_crdb``: the connection, the reader and the planner glued.

Order of work in ``ensure``: check the input's shape (``normalize_crdb`` needs the cluster's
regions, so it runs right after connecting and before any statement); read the database's state
with SHOW statements; plan; in check mode return the statements that would run; else run them in
order. A failure names the statement (secrets masked) and lists those that ran, and a rerun
converges because the next read sees them.
"""

from __future__ import annotations

from urllib.parse import unquote

from ansible_collections.multicloud.fabric.plugins.module_utils.common.diff import build_diff
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import AUTH, FabricError
from ansible_collections.multicloud.fabric.plugins.module_utils.crdb import client
from ansible_collections.multicloud.fabric.plugins.module_utils.crdb.spec import (
    SECRET_PARAMS,
    Statement,
    ident,
    mask_uri,
    normalize_crdb,
    plan_crdb,
)

CONNECTION_OPTIONS = {
    "host": {"type": "str", "required": True},
    "port": {"type": "int", "default": 26257},
    "user": {"type": "str", "default": "root"},
    "password": {"type": "str", "no_log": True},
    "sslmode": {
        "type": "str",
        "default": "verify-full",
        "choices": ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"],
    },
    "ssl_rootcert": {"type": "path"},
    "ssl_cert": {"type": "path"},
    "ssl_key": {"type": "path", "no_log": False},
    "connect_timeout": {"type": "int", "default": 10},
}
OPTIONS = {
    "connection": {"type": "dict", "required": True, "options": CONNECTION_OPTIONS},
    "database": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "primary_region": {"type": "str"},
    "regions": {"type": "list", "elements": "str"},
    "survival_goal": {"type": "str", "choices": ["zone", "region"], "default": "zone"},
    "replication_factor": {"type": "int"},
    "tables": {
        "type": "list",
        "elements": "dict",
        "options": {
            "name": {"type": "str", "required": True},
            "locality": {"type": "str", "required": True},
        },
    },
    "settings": {"type": "dict"},
    "users": {
        "type": "list",
        "elements": "dict",
        "options": {
            "name": {"type": "str", "required": True},
            "password": {"type": "str", "no_log": True},
            "login": {"type": "bool", "default": True},
            "privileges": {"type": "list", "elements": "str"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        },
    },
    "backup_schedules": {
        "type": "list",
        "elements": "dict",
        "options": {
            "label": {"type": "str", "required": True},
            "destination": {"type": "str"},
            "recurring": {"type": "str"},
            "full_backup": {"type": "str", "default": "always"},
            "revision_history": {"type": "bool", "default": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        },
        "required_if": [("state", "present", ("destination", "recurring"))],
    },
}
REQUIRED_IF = [("state", "present", ("regions",))]
SECRET_SETTING_WORDS = ("key", "secret", "password", "token", "credential")


def _state_view(state):
    if state is None:
        return {}
    return {
        "primary_region": state.get("primary_region"),
        "regions": list(state.get("regions") or []),
        "survival_goal": state.get("survival_goal"),
        "replication_factor": state.get("num_replicas", state.get("replication_factor")),
        "tables": dict(state.get("tables") or {}),
        "settings": dict(state.get("settings") or {}),
        "users": _users_view(state.get("users") or {}),
        "backup_schedules": {
            s["label"]: {k: s.get(k) for k in ("destination", "recurring", "full_backup", "revision_history")}
            for s in state.get("backup_schedules") or []
        },
    }


def _desired_view(desired, current):
    view = _state_view(current) if current else {}
    view.update(
        primary_region=desired["primary_region"],
        regions=list(desired["regions"]),
        survival_goal=desired["survival_goal"],
    )
    if desired["replication_factor"] is not None:
        view["replication_factor"] = desired["replication_factor"]
    view.setdefault("tables", {}).update({t["name"]: t["locality"] for t in desired["tables"]})
    view.setdefault("settings", {}).update(desired["settings"])
    users = view.setdefault("users", {})
    for user in desired["users"]:
        if user["state"] == "absent":
            users.pop(user["name"], None)
            continue
        have = users.get(user["name"]) or {"privileges": []}
        users[user["name"]] = {
            "login": user["login"],
            "privileges": have.get("privileges", []) if user["privileges"] is None else list(user["privileges"]),
        }
    schedules = view.setdefault("backup_schedules", {})
    for schedule in desired["backup_schedules"]:
        if schedule["state"] == "absent":
            schedules.pop(schedule["label"], None)
        else:
            schedules[schedule["label"]] = {
                "destination": mask_uri(schedule["destination"]),
                "recurring": schedule["recurring"],
                "full_backup": schedule["full_backup"],
                "revision_history": schedule["revision_history"],
            }
    return view


def _users_view(users):
    """The users as results show them: login and privileges, never a password."""
    return {name: {"login": u.get("login", True), "privileges": u.get("privileges", [])} for name, u in users.items()}


def _secrets_of(params):
    """Values in the input that must never be shown: cluster settings that hold keys or passwords
    (e.g. ``cloudstorage.gs.default.key``), users' passwords, and the secret parameters of backup
    destinations."""
    found = []
    for name, value in (params.get("settings") or {}).items():
        if value and any(word in name.lower() for word in SECRET_SETTING_WORDS):
            found.append(str(value))
    found += [u["password"] for u in params.get("users") or [] if u.get("password")]
    for schedule in params.get("backup_schedules") or []:
        _head, _sep, query = str(schedule.get("destination") or "").partition("?")
        for pair in query.split("&"):
            key, eq, value = pair.partition("=")
            if eq and value and key.upper() in SECRET_PARAMS:
                found += [value, unquote(value)]
    return found


def _probe_passwords(options, current, desired):
    """Mark each existing user whose password is asked for with ``password_ok``: whether it signs in
    with that password now. CockroachDB never shows passwords, so trying one is the only way to
    know without changing it on every run."""
    for user in desired["users"]:
        have = (current.get("users") or {}).get(user["name"])
        if have is None or user["state"] != "present" or user["password"] is None:
            continue
        if not have.get("login", True):
            have["password_ok"] = False
            continue
        probe = {k: options.get(k) for k in ("host", "port", "sslmode", "ssl_rootcert", "connect_timeout")}
        probe.update(user=user["name"], password=user["password"])
        try:
            client.connect(probe).close()
            have["password_ok"] = True
        except FabricError as exc:
            if exc.kind != AUTH:
                raise
            have["password_ok"] = False


def ensure(module):
    params = module.params
    module.add_secrets(_secrets_of(params))
    database = params["database"]
    conn = client.connect(params["connection"])
    try:
        if params["state"] == "absent":
            current = client.read_state(conn, database)
            statements = [] if current is None else [Statement(f"DROP DATABASE {ident(database)} CASCADE")]
            desired_view = {}
        else:
            regions = client.cluster_regions(conn)
            spec = {key: params.get(key) for key in OPTIONS if key not in ("connection", "state")}
            desired = normalize_crdb(spec, regions)  # every input error, before any statement
            current = client.read_state(conn, database, desired)
            if current is not None:
                _probe_passwords(params["connection"], current, desired)
            statements = plan_crdb(current, desired)
            desired_view = _desired_view(desired, current)
        ran = []
        if not module.check_mode:
            try:
                for statement in statements:
                    client.execute(conn, statement)
                    ran.append(statement.display)
            except FabricError as exc:
                module.fail(exc, statements=ran, changed=bool(ran))
                return None
    finally:
        conn.close()
    diff = build_diff(
        _state_view(current),
        desired_view,
        module.secret_values,
        before_header=f"database {database}",
        after_header=f"database {database}",
    )
    return {
        "changed": bool(statements),
        "diff": diff,
        "statements": [s.display for s in statements],
        "database": dict(desired_view, name=database, exists=params["state"] == "present"),
    }
