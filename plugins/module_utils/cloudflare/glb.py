# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The portable global load balancer on Cloudflare: one monitor, one pool per portable pool (both
account-scoped) and the zone's load balancer named after the hostname.

Objects are named so that one account can hold many load balancers: a pool is
``<hostname with dashes>-<pool>`` and its description carries ``mcf:<hostname>:<pool>`` plus the
pool's cloud and region, which is how :meth:`GlobalLb.current` finds the collection's objects and
how ``mc_global_lb_info`` tells which cloud a pool serves; the monitor is found by its description
``mcf:<hostname>``. Cloudflare serves the load balancer's hostname itself (the load balancer takes
precedence over a DNS record of the same name), so no DNS record is written; a plain record of
that name is reported, as it would be shadowed.
"""

from __future__ import annotations

import re

from ansible_collections.multicloud.fabric.plugins.module_utils.glb.plan import ref, resolve_refs, to_refs

KINDS = ("monitor", "pool", "load_balancer")
MARK = "mcf:"
_POOL_MARK = re.compile(
    r"^mcf:(?P<host>[^:\s]+):(?P<pool>[A-Za-z0-9_-]+)(?: cloud=(?P<cloud>\S*))?(?: region=(?P<region>\S*))?"
)


def pool_name(hostname, pool):
    return f"{hostname.replace('.', '-')}-{pool}"[:64]


def _pool_description(hostname, pool):
    text = f"{MARK}{hostname}:{pool['name']} cloud={pool.get('cloud') or ''} region={pool.get('region') or ''}"
    return f"{text} {pool['description']}".strip() if pool.get("description") else text


def desired_objects(desired):
    """The Cloudflare objects of a normalised spec (``glb.spec.normalize_glb``)."""
    host = desired["hostname"]
    monitor = desired["monitor"]
    body = {
        "description": f"{MARK}{host}",
        "type": monitor["type"],
        "method": monitor["method"],
        "path": monitor["path"],
        "port": monitor["port"] or 0,
        "expected_codes": monitor["expected_codes"],
        "interval": monitor["interval"],
        "timeout": monitor["timeout"],
        "retries": monitor["retries"],
        "header": {name: [str(value)] for name, value in sorted(monitor["headers"].items())},
    }
    objects = [{"kind": "monitor", "name": host, "body": body}]
    for pool in desired["pools"]:
        objects.append(
            {
                "kind": "pool",
                "name": pool["name"],
                "body": {
                    "name": pool_name(host, pool["name"]),
                    "description": _pool_description(host, pool),
                    "enabled": pool["enabled"],
                    "minimum_origins": 1,
                    "monitor": ref("monitor", host),
                    "origins": [
                        {"name": o["name"], "address": o["address"], "weight": o["weight"], "enabled": o["enabled"]}
                        for o in pool["origins"]
                    ],
                },
            }
        )
    steering = desired["steering"]

    def refs(names):
        return [ref("pool", name) for name in names]

    objects.append(
        {
            "kind": "load_balancer",
            "name": host,
            "body": {
                "name": host,
                "description": f"{MARK}{host}",
                "enabled": True,
                "proxied": desired["proxied"],
                "ttl": desired["ttl"],
                "steering_policy": steering["policy"],  # "off": failover in default_pools order
                "session_affinity": desired["session_affinity"],
                "default_pools": refs(steering["default_pools"]),
                "fallback_pool": ref("pool", desired["fallback_pool"]),
                "region_pools": {code: refs(names) for code, names in sorted(steering["regions"].items())},
                "country_pools": {code: refs(names) for code, names in sorted(steering["countries"].items())},
                "pop_pools": {},
            },
        }
    )
    return objects


def _monitor_body(raw):
    return {
        "description": raw.get("description") or "",
        "type": raw.get("type"),
        "method": raw.get("method"),
        "path": raw.get("path"),
        "port": raw.get("port") or 0,
        "expected_codes": raw.get("expected_codes"),
        "interval": raw.get("interval"),
        "timeout": raw.get("timeout"),
        "retries": raw.get("retries"),
        "header": raw.get("header") or {},
    }


def _pool_body(raw):
    return {
        "name": raw.get("name"),
        "description": raw.get("description") or "",
        "enabled": raw.get("enabled", True),
        "minimum_origins": raw.get("minimum_origins", 1),
        "monitor": raw.get("monitor"),
        "origins": [
            {
                "name": o.get("name") or "",
                "address": o.get("address"),
                "weight": o.get("weight", 1),
                "enabled": o.get("enabled", True),
            }
            for o in raw.get("origins") or []
        ],
    }


def _lb_body(raw):
    return {
        "name": raw.get("name"),
        "description": raw.get("description") or "",
        "enabled": raw.get("enabled", True),
        "proxied": raw.get("proxied", False),
        "ttl": raw.get("ttl"),
        "steering_policy": raw.get("steering_policy") or "off",
        "session_affinity": raw.get("session_affinity") or "none",
        "default_pools": list(raw.get("default_pools") or []),
        "fallback_pool": raw.get("fallback_pool"),
        "region_pools": dict(sorted((raw.get("region_pools") or {}).items())),
        "country_pools": dict(sorted((raw.get("country_pools") or {}).items())),
        "pop_pools": dict(sorted((raw.get("pop_pools") or {}).items())),
    }


def pool_identity(description):
    """``(hostname, pool, cloud, region)`` from a pool description the collection wrote, or None."""
    found = _POOL_MARK.match(description or "")
    if not found:
        return None
    return found["host"], found["pool"], found["cloud"] or None, found["region"] or None


class GlobalLb:
    """Reads and writes one hostname's load balancer through a :class:`cloudflare.client.Connection`."""

    kinds = KINDS

    def __init__(self, connection, hostname, zone):
        self.conn = connection
        self.hostname = hostname
        self.zone_name = zone
        self._zone = None
        self.ids = {}  # "kind/name" -> id
        self.warnings = []

    @property
    def zone(self):
        if self._zone is None:
            self._zone = self.conn.zone(self.zone_name)
        return self._zone

    @property
    def account_id(self):
        return self.zone["account_id"]

    def _api(self, fn, call, resource, /, **kwargs):
        return self.conn.api(fn, resource=resource, call=call, **kwargs)

    # ---------------------------------------------------------------- reading
    def current(self):
        """The collection's objects of this hostname as they are now (bodies with references)."""
        client = self.conn.client
        host = self.hostname
        objects = []
        self.ids = {}

        def keep(kind, name, raw, body):
            if f"{kind}/{name}" not in self.ids:  # a second object of one name is not the collection's
                self.ids[f"{kind}/{name}"] = raw["id"]
                objects.append({"kind": kind, "name": name, "id": raw["id"], "body": body})

        for raw in self._api(
            client.load_balancers.monitors.list, "load_balancers.monitors.list", "monitors", account_id=self.account_id
        ):
            if raw.get("description") == f"{MARK}{host}":
                keep("monitor", host, raw, _monitor_body(raw))
        for raw in self._api(
            client.load_balancers.pools.list, "load_balancers.pools.list", "pools", account_id=self.account_id
        ):
            identity = pool_identity(raw.get("description"))
            if identity is not None and identity[0] == host:
                keep("pool", identity[1], raw, _pool_body(raw))
        for raw in self._api(
            client.load_balancers.list, "load_balancers.list", "load balancers", zone_id=self.zone["id"]
        ):
            if (raw.get("name") or "").rstrip(".").lower() == host:
                keep("load_balancer", host, raw, _lb_body(raw))
        names = {value: name for name, value in self.ids.items()}
        for obj in objects:
            obj["body"] = to_refs(obj["body"], names)
        return objects

    def shadowed_records(self):
        """Plain DNS records of the hostname, which the load balancer shadows."""
        records = self._api(
            self.conn.client.dns.records.list,
            "dns.records.list",
            f"DNS records {self.hostname}",
            zone_id=self.zone["id"],
            name={"exact": self.hostname},
        )
        return [r for r in records if r.get("type") in ("A", "AAAA", "CNAME")]

    # ---------------------------------------------------------------- writing
    def _endpoint(self, kind):
        """``(SDK resource, id keyword, scope keywords, operation prefix)`` of ``kind``."""
        lbs = self.conn.client.load_balancers
        if kind == "monitor":
            return lbs.monitors, "monitor_id", {"account_id": self.account_id}, "load_balancers.monitors"
        if kind == "pool":
            return lbs.pools, "pool_id", {"account_id": self.account_id}, "load_balancers.pools"
        return lbs, "load_balancer_id", {"zone_id": self.zone["id"]}, "load_balancers"

    def apply(self, action):
        """Run one planned action; new ids go into ``self.ids`` for the references that follow."""
        kind, name = action["kind"], action["name"]
        resource = f"{kind} {name}"
        api, id_key, scope, operation = self._endpoint(kind)
        if action["action"] == "delete":
            self._api(
                api.delete, f"{operation}.delete", resource, **{id_key: action["id"]}, **scope, expect_result=False
            )
            self.ids.pop(f"{kind}/{name}", None)
            return None
        body = dict(resolve_refs(action["body"], self.ids))
        if kind == "monitor":  # the SDK's name for the monitor's timeout
            body["load_balancer_monitor_timeout"] = body.pop("timeout")
        if action["action"] == "update":
            result = self._api(api.update, f"{operation}.update", resource, **{id_key: action["id"]}, **scope, **body)
        else:
            result = self._api(api.create, f"{operation}.create", resource, **scope, **body)
        self.ids[f"{kind}/{name}"] = result["id"]
        if kind == "load_balancer" and action["action"] == "create":
            for record in self.shadowed_records():
                self.warnings.append(
                    f"the {record['type']} record {record.get('name')} is shadowed by the load balancer of that name: "
                    "Cloudflare answers with the load balancer; delete the record"
                )
        return result["id"]

    # ---------------------------------------------------------------- health
    def health(self, current):
        """``{pool: {"healthy", "origins": [{"name", "address", "healthy", "reason"}]}}`` as
        Cloudflare's pool health reports it (a pool is healthy when most check regions say so;
        an origin when every region does). Disabled pools are not checked: healthy is None."""
        out = {}
        for obj in current:
            if obj["kind"] != "pool":
                continue
            body = obj["body"]
            origins = [
                {"name": o["name"], "address": o["address"], "healthy": None, "reason": None} for o in body["origins"]
            ]
            if not body["enabled"]:
                out[obj["name"]] = {"healthy": None, "reason": "disabled (drained)", "origins": origins}
                continue
            report = self._api(
                self.conn.client.load_balancers.pools.health.get,
                "load_balancers.pools.health.get",
                f"pool {obj['name']} health",
                pool_id=obj["id"],
                account_id=self.account_id,
            )
            regions = (report or {}).get("pop_health") or {}
            votes = [bool(r.get("healthy")) for r in regions.values()]
            seen = {}
            for region in regions.values():
                for entry in region.get("origins") or []:
                    for address, state in (entry or {}).items():
                        seen.setdefault(address, []).append(state or {})
            for origin in origins:
                states = seen.get(origin["address"]) or []
                if states:
                    origin["healthy"] = all(bool(s.get("healthy")) for s in states)
                    failing = [s.get("failure_reason") for s in states if not s.get("healthy")]
                    origin["reason"] = failing[0] if failing else "healthy"
            healthy = bool(votes) and sum(votes) * 2 > len(votes)
            reason = (
                "healthy"
                if healthy
                else "; ".join(f"{o['name']}: {o['reason']}" for o in origins if o["healthy"] is False)
                or "no healthy origin"
            )
            out[obj["name"]] = {"healthy": healthy, "reason": reason, "origins": origins}
        return out

    def desired_objects(self, desired):
        return desired_objects(desired)

    def portable(self, current):
        """The load balancer as it is, in the portable shape ``glb.spec.resolve`` reads (None when
        there is no load balancer)."""
        lb = next((o for o in current if o["kind"] == "load_balancer"), None)
        if lb is None:
            return None
        body = lb["body"]

        def names(refs):
            return [r.split("/", 1)[1] for r in refs if isinstance(r, str) and r.startswith("@pool/")]

        pools = []
        for obj in current:
            if obj["kind"] != "pool":
                continue
            identity = pool_identity(obj["body"]["description"]) or (None, obj["name"], None, None)
            pools.append(
                {
                    "name": obj["name"],
                    "id": obj.get("id"),
                    "cloud": identity[2],
                    "region": identity[3],
                    "enabled": obj["body"]["enabled"],
                    "origins": obj["body"]["origins"],
                }
            )
        policy = body["steering_policy"]
        fallback = names([body["fallback_pool"]])
        return {
            "provider": "cloudflare",
            "hostname": self.hostname,
            "zone": self.zone_name,
            "id": lb.get("id"),
            "proxied": body["proxied"],
            "ttl": body["ttl"],
            "pools": pools,
            "steering": {
                "policy": policy,
                "regions": {code: names(refs) for code, refs in body["region_pools"].items()},
                "countries": {code: names(refs) for code, refs in body["country_pools"].items()},
                "default_pools": names(body["default_pools"]),
            },
            "fallback_pool": fallback[0] if fallback else None,
        }
