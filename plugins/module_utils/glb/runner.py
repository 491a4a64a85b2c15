# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``mc_global_lb`` and ``mc_global_lb_info``: the spec, the provider's adapter and the planner glued.

Order of work in ``ensure``: validate the whole input (``normalize_glb``) before any call; read
the provider's objects of this hostname; plan; in check mode stop there, else run the actions in
order. Every action that ran is in ``actions``, so a run that fails half-way says what it did and
a rerun converges (objects are found by their names and descriptions, not remembered ids).
"""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.common.args import provider_params
from ansible_collections.multicloud.fabric.plugins.module_utils.common.diff import build_diff
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import FabricError
from ansible_collections.multicloud.fabric.plugins.module_utils.glb.plan import after, plan, view
from ansible_collections.multicloud.fabric.plugins.module_utils.glb.spec import (
    identity,
    normalize_glb,
    resolve,
)

# The provider options each provider reads.
PROVIDER_CLOUD = {"cloudflare": "cloudflare", "route53": "aws"}

SPEC_OPTIONS = {
    "provider": {"type": "str", "required": True, "choices": ["cloudflare", "route53"]},
    "hostname": {"type": "str", "required": True},
    "zone": {"type": "str"},
}
OPTIONS = dict(
    SPEC_OPTIONS,
    state={"type": "str", "choices": ["present", "absent"], "default": "present"},
    pools={
        "type": "list",
        "elements": "dict",
        "options": {
            "name": {"type": "str", "required": True},
            "cloud": {"type": "str"},
            "region": {"type": "str"},
            "enabled": {"type": "bool", "default": True},
            "description": {"type": "str"},
            "origins": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "name": {"type": "str"},
                    "address": {"type": "str", "required": True},
                    "weight": {"type": "float", "default": 1.0},
                    "enabled": {"type": "bool", "default": True},
                },
            },
        },
    },
    monitor={
        "type": "dict",
        "options": {
            "type": {"type": "str", "choices": ["http", "https"]},
            "path": {"type": "str"},
            "port": {"type": "int"},
            "method": {"type": "str"},
            "expected_codes": {"type": "str"},
            "interval": {"type": "int"},
            "timeout": {"type": "int"},
            "retries": {"type": "int"},
            "headers": {"type": "dict"},
        },
    },
    steering={
        "type": "dict",
        "options": {
            "policy": {"type": "str"},
            "regions": {"type": "dict"},
            "countries": {"type": "dict"},
            "default_pools": {"type": "list", "elements": "str"},
        },
    },
    fallback_pool={"type": "str"},
    ttl={"type": "int"},
    proxied={"type": "bool"},
    session_affinity={"type": "str"},
    route53={"type": "dict", "options": {"hosted_zone_id": {"type": "str"}}},
    wait_timeout={"type": "int", "default": 600},
)
INFO_OPTIONS = dict(
    SPEC_OPTIONS,
    route53={"type": "dict", "options": {"hosted_zone_id": {"type": "str"}}},
    wait_timeout={"type": "int", "default": 300},
)
REQUIRED_IF = [("state", "present", ["pools"])]


def adapter(module, provider, hostname, zone):
    """The provider's ``GlobalLb`` for this hostname (its SDK imported only now)."""
    # pylint: disable=import-outside-toplevel
    params = provider_params(module.params, PROVIDER_CLOUD[provider])
    if provider == "cloudflare":
        from ansible_collections.multicloud.fabric.plugins.module_utils.cloudflare import client, glb  # noqa: PLC0415

        connection = client.Connection(params, module.retrier("cloudflare"))
        return glb.GlobalLb(connection, hostname, zone)
    from ansible_collections.multicloud.fabric.plugins.module_utils.aws import client, glb  # noqa: PLC0415

    connection = client.Connection(params, module.retrier("aws"), region="us-east-1")
    return glb.GlobalLb(
        connection, hostname, zone, hosted_zone_id=(module.params.get("route53") or {}).get("hosted_zone_id")
    )


def _spec_params(params):
    """The module's options in the shape ``normalize_glb`` reads (unset suboptions dropped)."""

    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    keys = (
        "provider",
        "hostname",
        "zone",
        "pools",
        "monitor",
        "steering",
        "fallback_pool",
        "ttl",
        "proxied",
        "session_affinity",
    )
    return {key: clean(params.get(key)) for key in keys}


def _public(action):
    """An action as the result shows it: no bodies of creates beyond what identifies them."""
    out = {key: action[key] for key in ("action", "kind", "name") if key in action}
    if action["action"] == "update":
        out["changes"] = action["changes"]
    elif action["action"] == "create":
        out["spec"] = action["body"]
    return out


def ensure(module):
    params = module.params
    provider, hostname, zone = identity(params)
    desired = None
    if params["state"] == "present":
        spec = _spec_params(params)
        spec["zone"] = zone
        desired = normalize_glb(spec)  # every input error, before any call
    lb = adapter(module, provider, hostname, zone)
    current = lb.current()
    wanted = lb.desired_objects(desired) if desired is not None else []
    actions = plan(current, wanted, lb.kinds)
    done = []
    if not module.check_mode:
        try:
            for action in actions:
                lb.apply(action)
                done.append(_public(action))
        except FabricError as exc:
            module.fail(exc, actions=done, changed=bool(done))
            return None
    else:
        done = [_public(a) for a in actions]
    # What the provider holds now follows from what was there and what ran: no second read.
    final = after(current, actions, lb.ids)
    diff = build_diff(
        view(current),
        view(final),
        module.secret_values,
        before_header=f"{provider} {hostname}",
        after_header=f"{provider} {hostname}",
    )
    for warning in lb.warnings:
        module.warn(warning)
    return {
        "changed": bool(actions),
        "diff": diff,
        "actions": done,
        "load_balancer": (lb.portable(final) or {}) if desired is not None else {},
    }


def steering_table(portable, healthy):
    """``{code: {"pool", "reason"}}``: where each location the steering names goes now, plus
    ``default`` (a client the table does not name)."""
    steering = portable["steering"]
    table = {}
    provider = portable["provider"]
    for code in steering["regions"]:
        location = {"region": code} if provider == "cloudflare" else {"continent": code}
        table[code] = location
    for code in steering["countries"]:
        table[code] = {"country": code}
    table["default"] = {}
    out = {}
    for code, location in table.items():
        pool, reason = resolve(portable, location, healthy)
        out[code] = {"pool": pool, "reason": reason}
    return out


def info(module):
    provider, hostname, zone = identity(module.params)
    lb = adapter(module, provider, hostname, zone)
    current = lb.current()
    portable = lb.portable(current)
    if portable is None:
        return {"changed": False, "exists": False, "load_balancer": {}, "pools": [], "steering": {}}
    health = lb.health(current)
    pools = []
    for pool in portable["pools"]:
        state = health.get(pool["name"]) or {}
        pools.append(
            {
                "name": pool["name"],
                "id": pool.get("id"),
                "cloud": pool.get("cloud"),
                "region": pool.get("region"),
                "enabled": pool["enabled"],
                "healthy": state.get("healthy"),
                "reason": state.get("reason"),
                "origins": state.get("origins") or [],
            }
        )
    healthy = {p["name"]: bool(p["healthy"]) for p in pools}
    return {
        "changed": False,
        "exists": True,
        "load_balancer": portable,
        "pools": pools,
        "steering": steering_table(portable, healthy),
    }
