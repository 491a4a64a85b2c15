"""In-memory state of one Cloudflare account and zone, validated as Cloudflare validates it.

Each method takes the JSON body a client sent and returns the object Cloudflare answers with, or
raises `ApiError` (400 naming the field, 404 unknown id, 409 duplicate or still referenced).
"""

from __future__ import annotations

import copy
import ipaddress
import re
import threading
import uuid
from datetime import UTC, datetime

from mc_sandbox.clouds.cloudflare.errors import ApiError, conflict, invalid, not_found

# Cloudflare's load balancing regions (region_pools keys, check_regions).
REGIONS = ("WNAM", "ENAM", "WEU", "EEU", "NSAM", "SSAM", "OC", "ME", "NAF", "SAF", "SAS", "SEAS", "NEAS")
MONITOR_TYPES = ("http", "https", "tcp", "udp_icmp", "icmp_ping", "smtp")
STEERING = (
    "off",
    "geo",
    "random",
    "dynamic_latency",
    "proximity",
    "least_outstanding_requests",
    "least_connections",
    "",
)
AFFINITY = ("none", "cookie", "ip_cookie", "header", "")
DNS_TYPES = ("A", "AAAA", "CAA", "CERT", "CNAME", "DNSKEY", "DS", "HTTPS", "LOC", "MX", "NAPTR", "NS", "PTR",
             "SMIMEA", "SRV", "SSHFP", "SVCB", "TLSA", "TXT", "URI")  # fmt: skip
PROXIABLE = ("A", "AAAA", "CNAME")
POOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id() -> str:
    return uuid.uuid4().hex


def _int(body: dict, field: str, low: int, high: int) -> None:
    value = body.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise invalid(field, f"expected an integer between {low} and {high}, got {value!r}")


def _bool(body: dict, field: str) -> None:
    if not isinstance(body.get(field), bool):
        raise invalid(field, f"expected true or false, got {body.get(field)!r}")


def _str(body: dict, field: str) -> None:
    if not isinstance(body.get(field), str):
        raise invalid(field, f"expected a string, got {body.get(field)!r}")


def _object(body) -> dict:
    if not isinstance(body, dict):
        raise ApiError(400, 1002, "request body: expected a JSON object")
    return body


MONITOR_DEFAULTS = {
    "type": "http",
    "description": "",
    "method": "GET",
    "path": "/",
    "header": {},
    "port": 0,
    "timeout": 5,
    "retries": 2,
    "interval": 60,
    "expected_body": "",
    "expected_codes": "200",
    "follow_redirects": False,
    "allow_insecure": False,
    "consecutive_up": 0,
    "consecutive_down": 0,
    "probe_zone": "",
}
POOL_DEFAULTS = {
    "description": "",
    "enabled": True,
    "minimum_origins": 1,
    "monitor": None,
    "notification_email": "",
    "check_regions": None,
    "origin_steering": {"policy": "random"},
}
LB_DEFAULTS = {
    "description": "",
    "ttl": 30,
    "proxied": False,
    "enabled": True,
    "steering_policy": "off",
    "session_affinity": "none",
    "region_pools": {},
    "pop_pools": {},
    "country_pools": {},
    "adaptive_routing": {"failover_across_pools": False},
    "location_strategy": {"prefer_ecs": "proximity", "mode": "pop"},
    "rules": [],
}


class CloudflareStore:
    """The account's monitors and pools, the zone's DNS records and load balancers."""

    def __init__(self, account_id: str, zone_id: str, zone_name: str):
        self.account_id = account_id
        self.zone_id = zone_id
        self.zone_name = zone_name
        self.lock = threading.RLock()
        self.created = now()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.dns: dict[str, dict] = {}
            self.monitors: dict[str, dict] = {}
            self.pools: dict[str, dict] = {}
            self.lbs: dict[str, dict] = {}
            self.health: dict[tuple[str, str], tuple[bool, str]] = {}

    # ---------------------------------------------------------------- zones
    def zone(self) -> dict:
        return {
            "id": self.zone_id,
            "name": self.zone_name,
            "status": "active",
            "paused": False,
            "type": "full",
            "development_mode": 0,
            "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
            "original_name_servers": None,
            "original_registrar": None,
            "original_dnshost": None,
            "created_on": self.created,
            "modified_on": self.created,
            "activated_on": self.created,
            "account": {"id": self.account_id, "name": "mc-sandbox"},
            "owner": {"id": self.account_id, "name": "mc-sandbox", "type": "organization"},
            "meta": {
                "cdn_only": False,
                "custom_certificate_quota": 0,
                "dns_only": False,
                "foundation_dns": False,
                "page_rule_quota": 3,
                "phishing_detected": False,
                "step": 2,
            },
            "permissions": ["#dns_records:edit", "#dns_records:read", "#zone:read"],
            "plan": {
                "id": "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
                "name": "Free Website",
                "price": 0,
                "currency": "USD",
                "frequency": "",
                "is_subscribed": False,
                "can_subscribe": False,
                "legacy_id": "free",
                "legacy_discount": False,
                "externally_managed": False,
            },
        }

    # ---------------------------------------------------------------- DNS records
    def _fqdn(self, name: str) -> str:
        name = name.rstrip(".").lower()
        if name in ("@", ""):
            return self.zone_name
        if name == self.zone_name or name.endswith("." + self.zone_name):
            return name
        return f"{name}.{self.zone_name}"

    def _dns_validate(self, body: dict, record_id: str | None) -> dict:
        record = {"ttl": 1, "proxied": False, "tags": [], **body}
        if record.get("type") not in DNS_TYPES:
            raise invalid("type", f"expected one of {', '.join(DNS_TYPES)}, got {record.get('type')!r}", 9004)
        for field in ("name", "content"):
            if not isinstance(record.get(field), str) or not record[field]:
                raise invalid(field, "is required", 9005 if field == "content" else 9007)
        record["name"] = self._fqdn(record["name"])
        kind = record["type"]
        if kind in ("A", "AAAA"):
            try:
                address = ipaddress.ip_address(record["content"])
            except ValueError:
                address = None
            if address is None or address.version != (4 if kind == "A" else 6):
                version = "IPv4" if kind == "A" else "IPv6"
                raise invalid(
                    "content", f"Content for {kind} record is invalid. Must be a valid {version} address", 9005
                )
        ttl = record.get("ttl")
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not (ttl == 1 or 30 <= ttl <= 86400):
            raise invalid("ttl", f"expected 1 (automatic) or 30..86400, got {ttl!r}", 9021)
        _bool(record, "proxied")
        if record["proxied"] and kind not in PROXIABLE:
            raise invalid("proxied", f"{kind} records cannot be proxied", 9041)
        if record["proxied"]:
            record["ttl"] = 1
        for other in self.dns.values():
            if other["id"] == record_id or other["name"] != record["name"]:
                continue
            if (other["type"], other["content"]) == (kind, record["content"]):
                raise conflict("An identical record already exists.", 81058)
            if "CNAME" in (kind, other["type"]) and kind in PROXIABLE and other["type"] in PROXIABLE:
                raise conflict("An A, AAAA, or CNAME record with that host already exists.", 81053)
        return record

    def _dns_out(self, record: dict) -> dict:
        return copy.deepcopy(record)

    def dns_list(self, query: dict) -> list[dict]:
        with self.lock:
            records = list(self.dns.values())
        # `name=x` and `name.exact=x` (the SDK's form) match the full name, relative names in the zone.
        for key in ("name", "name.exact"):
            if key in query:
                records = [r for r in records if r["name"] == self._fqdn(query[key])]
        for test in ("contains", "startswith", "endswith"):
            if f"name.{test}" in query:
                wanted = query[f"name.{test}"].lower()
                records = [
                    r for r in records if getattr(r["name"], test if test != "contains" else "__contains__")(wanted)
                ]
        for key in ("type", "content", "content.exact"):
            if key in query:
                records = [r for r in records if r[key.split(".")[0]] == query[key]]
        return [self._dns_out(r) for r in sorted(records, key=lambda r: (r["type"], r["name"], r["created_on"]))]

    def dns_get(self, record_id: str) -> dict:
        with self.lock:
            if record_id not in self.dns:
                raise ApiError(404, 81044, "Record does not exist.")
            return self._dns_out(self.dns[record_id])

    def dns_create(self, body) -> dict:
        with self.lock:
            record = self._dns_validate(dict(_object(body)), None)
            stamp = now()
            record.update(
                id=new_id(),
                zone_id=self.zone_id,
                zone_name=self.zone_name,
                proxiable=record["type"] in PROXIABLE,
                locked=False,
                meta={"auto_added": False, "managed_by_apps": False, "managed_by_argo_tunnel": False},
                created_on=stamp,
                modified_on=stamp,
            )
            self.dns[record["id"]] = record
            return self._dns_out(record)

    def dns_update(self, record_id: str, body, *, patch: bool) -> dict:
        with self.lock:
            current = self.dns.get(record_id)
            if current is None:
                raise ApiError(404, 81044, "Record does not exist.")
            given = dict(_object(body))
            base = current if patch else {k: current[k] for k in ("type", "name") if k not in given}
            record = self._dns_validate({**{k: v for k, v in base.items() if k in _DNS_INPUT}, **given}, record_id)
            kept = {k: current[k] for k in ("id", "zone_id", "zone_name", "locked", "meta", "created_on")}
            record.update(kept, proxiable=record["type"] in PROXIABLE, modified_on=now())
            self.dns[record_id] = record
            return self._dns_out(record)

    def dns_delete(self, record_id: str) -> dict:
        with self.lock:
            if self.dns.pop(record_id, None) is None:
                raise ApiError(404, 81044, "Record does not exist.")
            return {"id": record_id}

    # ---------------------------------------------------------------- monitors
    def _monitor_validate(self, body: dict) -> dict:
        monitor = {**MONITOR_DEFAULTS, **body}
        if monitor["type"] not in MONITOR_TYPES:
            raise invalid("type", f"expected one of {', '.join(MONITOR_TYPES)}, got {monitor['type']!r}")
        _int(monitor, "interval", 5, 3600)
        _int(monitor, "timeout", 1, 10)
        _int(monitor, "retries", 0, 5)
        _int(monitor, "port", 0, 65535)
        if monitor["interval"] < monitor["timeout"]:
            raise invalid(
                "interval", f"must be at least the timeout ({monitor['timeout']}s), got {monitor['interval']}"
            )
        for field in ("method", "path", "expected_codes", "expected_body", "description", "probe_zone"):
            _str(monitor, field)
        if monitor["type"] in ("http", "https") and not monitor["expected_codes"]:
            raise invalid("expected_codes", "is required for HTTP and HTTPS monitors")
        for field in ("follow_redirects", "allow_insecure"):
            _bool(monitor, field)
        if not isinstance(monitor["header"], dict) or not all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in monitor["header"].values()
        ):
            raise invalid("header", "expected an object of header names to lists of values")
        return monitor

    def _find(self, table: dict, item_id: str, what: str) -> dict:
        """The stored object (the caller holds the lock), or Cloudflare's 404 naming it."""
        item = table.get(item_id)
        if item is None:
            raise not_found(f"{what} {item_id}")
        return item

    def monitor_get(self, monitor_id: str) -> dict:
        with self.lock:
            return copy.deepcopy(self._find(self.monitors, monitor_id, "monitor"))

    def monitor_list(self) -> list[dict]:
        with self.lock:
            return copy.deepcopy(sorted(self.monitors.values(), key=lambda m: m["created_on"]))

    def monitor_create(self, body) -> dict:
        with self.lock:
            monitor = self._monitor_validate(dict(_object(body)))
            stamp = now()
            monitor.update(id=new_id(), created_on=stamp, modified_on=stamp)
            self.monitors[monitor["id"]] = monitor
            return copy.deepcopy(monitor)

    def monitor_update(self, monitor_id: str, body, *, patch: bool) -> dict:
        with self.lock:
            current = self.monitor_get(monitor_id)
            base = {k: v for k, v in current.items() if k in MONITOR_DEFAULTS} if patch else {}
            monitor = self._monitor_validate({**base, **_strip(_object(body))})
            monitor.update(id=monitor_id, created_on=current["created_on"], modified_on=now())
            self.monitors[monitor_id] = monitor
            return copy.deepcopy(monitor)

    def monitor_delete(self, monitor_id: str) -> dict:
        with self.lock:
            self._find(self.monitors, monitor_id, "monitor")
            users = sorted(p["name"] for p in self.pools.values() if p.get("monitor") == monitor_id)
            if users:
                raise conflict(f"monitor {monitor_id} is referenced by pools: {', '.join(users)}", 1005)
            del self.monitors[monitor_id]
            return {"id": monitor_id}

    # ---------------------------------------------------------------- pools
    def _pool_validate(self, body: dict, pool_id: str | None) -> dict:
        pool = {**POOL_DEFAULTS, **body}
        name = pool.get("name")
        if not isinstance(name, str) or not POOL_NAME.match(name):
            raise invalid("name", f"is required: letters, digits, '-' and '_', at most 64, got {name!r}")
        if any(p["name"] == name and p["id"] != pool_id for p in self.pools.values()):
            raise conflict(f"a pool named {name} already exists", 1003)
        origins = pool.get("origins")
        if not isinstance(origins, list) or not origins:
            raise invalid("origins", "at least one origin is required")
        cleaned = []
        for index, given in enumerate(origins):
            field = f"origins[{index}]"
            if not isinstance(given, dict):
                raise invalid(field, "expected an object")
            origin = {"name": "", "enabled": True, "weight": 1, "header": {}, **given}
            if not isinstance(origin.get("address"), str) or not origin["address"]:
                raise invalid(f"{field}.address", "is required")
            _str(origin, "name")
            if not isinstance(origin["enabled"], bool):
                raise invalid(f"{field}.enabled", "expected true or false")
            weight = origin["weight"]
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 1:
                raise invalid(f"{field}.weight", f"expected a number between 0 and 1, got {weight!r}")
            cleaned.append(origin)
        names = [o["name"] for o in cleaned if o["name"]]
        if len(names) != len(set(names)):
            raise invalid("origins", "origin names must be unique within a pool")
        pool["origins"] = cleaned
        _bool(pool, "enabled")
        _int(pool, "minimum_origins", 1, len(cleaned))
        if pool["monitor"] is not None and pool["monitor"] not in self.monitors:
            raise invalid("monitor", f"monitor {pool['monitor']} does not exist")
        regions = pool["check_regions"]
        if regions is not None and (not isinstance(regions, list) or any(r not in REGIONS for r in regions)):
            raise invalid("check_regions", f"expected region codes out of {', '.join(REGIONS)}, got {regions!r}")
        for field, bound in (("latitude", 90), ("longitude", 180)):
            value = pool.get(field)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or abs(value) > bound
            ):
                raise invalid(field, f"expected a number between -{bound} and {bound}, got {value!r}")
        return pool

    def pool_get(self, pool_id: str) -> dict:
        with self.lock:
            return _out(self._find(self.pools, pool_id, "pool"))

    def pool_list(self, query: dict) -> list[dict]:
        with self.lock:
            pools = sorted(self.pools.values(), key=lambda p: p["created_on"])
            if "monitor" in query:
                pools = [p for p in pools if p.get("monitor") == query["monitor"]]
            return [_out(p) for p in pools]

    def pool_create(self, body) -> dict:
        with self.lock:
            pool = self._pool_validate(dict(_object(body)), None)
            stamp = now()
            pool.update(id=new_id(), created_on=stamp, modified_on=stamp, networks=[])
            self.pools[pool["id"]] = pool
            return _out(pool)

    def pool_update(self, pool_id: str, body, *, patch: bool) -> dict:
        with self.lock:
            current = self.pool_get(pool_id)
            base = {k: v for k, v in current.items() if k in (*POOL_DEFAULTS, "name", "origins")} if patch else {}
            pool = self._pool_validate({**base, **_strip(_object(body))}, pool_id)
            pool.update(id=pool_id, created_on=current["created_on"], modified_on=now(), networks=[])
            self.pools[pool_id] = pool
            return _out(pool)

    def pool_delete(self, pool_id: str) -> dict:
        with self.lock:
            self._find(self.pools, pool_id, "pool")
            users = sorted(lb["name"] for lb in self.lbs.values() if pool_id in _pools_of(lb))
            if users:
                raise conflict(f"pool {pool_id} is referenced by load balancers: {', '.join(users)}", 1005)
            del self.pools[pool_id]
            for key in [key for key in self.health if key[0] == pool_id]:
                del self.health[key]
            return {"id": pool_id}

    def set_origin_health(self, pool_id: str, address: str, healthy: bool, reason: str = "") -> None:
        with self.lock:
            self._find(self.pools, pool_id, "pool")
            self.health[(pool_id, address)] = (bool(healthy), reason)

    def origin_health(self, pool_id: str, address: str) -> tuple[bool, str]:
        """(healthy, reason) of one origin as pool health reports it."""
        with self.lock:
            return self.health.get((pool_id, address), (True, ""))

    def clear_health(self) -> None:
        """Every origin healthy again."""
        with self.lock:
            self.health.clear()

    def monitored_pools(self) -> list[tuple[dict, dict | None]]:
        """Copies of every pool with its monitor (None without one), for a health prober."""
        with self.lock:
            return [
                (copy.deepcopy(pool), copy.deepcopy(self.monitors.get(pool.get("monitor") or "")))
                for pool in sorted(self.pools.values(), key=lambda p: p["created_on"])
            ]

    def edge_view(self, hostname: str) -> tuple[dict, dict, dict] | None:
        """What an edge needs to route one request, read at one moment: copies of the load balancer
        named `hostname`, of every pool it may use (id: pool, each with its monitor under
        `monitor_object`, None without one) and the health of their origins ((pool id, address):
        (healthy, reason)); None when no load balancer has that name."""
        name = hostname.rstrip(".").lower()
        with self.lock:
            lb = next((lb for lb in self.lbs.values() if lb["name"] == name), None)
            if lb is None:
                return None
            pools = {}
            for pool_id in _pools_of(lb):
                pool = self.pools.get(pool_id)
                if pool is not None:
                    pools[pool_id] = {
                        **copy.deepcopy(pool),
                        "monitor_object": copy.deepcopy(self.monitors.get(pool.get("monitor") or "")),
                    }
            health = {key: value for key, value in self.health.items() if key[0] in pools}
            return copy.deepcopy(lb), pools, health

    def pool_health(self, pool_id: str) -> dict:
        """Every origin's health as seen from each check region (healthy unless set otherwise)."""
        with self.lock:
            pool = self.pool_get(pool_id)
            regions = pool.get("check_regions") or list(REGIONS)
            origins = {}
            for origin in pool["origins"]:
                healthy, reason = self.health.get((pool_id, origin["address"]), (True, ""))
                origins[origin["address"]] = {
                    "healthy": healthy,
                    "failure_reason": reason or ("No failures" if healthy else "Unhealthy"),
                    "response_code": 200 if healthy else 503,
                    "rtt": "12.1ms" if healthy else "0ms",
                }
            pool_healthy = sum(o["healthy"] for o in origins.values()) >= pool["minimum_origins"]
            return {
                "pool_id": pool_id,
                "pop_health": {
                    region: {"healthy": pool_healthy, "origins": [copy.deepcopy(origins)]} for region in regions
                },
            }

    # ---------------------------------------------------------------- load balancers
    def _lb_validate(self, body: dict, lb_id: str | None) -> dict:
        lb = {**LB_DEFAULTS, **body}
        name = lb.get("name")
        if not isinstance(name, str) or not name:
            raise invalid("name", "is required")
        lb["name"] = self._fqdn(name)
        if any(o["name"] == lb["name"] and o["id"] != lb_id for o in self.lbs.values()):
            raise conflict(f"a load balancer named {lb['name']} already exists", 1003)
        fallback = lb.get("fallback_pool")
        if not isinstance(fallback, str) or not fallback:
            raise invalid("fallback_pool", "is required")
        if fallback not in self.pools:
            raise invalid("fallback_pool", f"pool {fallback} does not exist")
        defaults = lb.get("default_pools")
        if not isinstance(defaults, list) or not defaults:
            raise invalid("default_pools", "at least one pool is required")
        for pool_id in defaults:
            if pool_id not in self.pools:
                raise invalid("default_pools", f"pool {pool_id} does not exist")
        for field in ("region_pools", "pop_pools", "country_pools"):
            mapping = lb[field]
            if not isinstance(mapping, dict):
                raise invalid(field, "expected an object of pool id lists")
            for key, pools in mapping.items():
                if field == "region_pools" and key not in REGIONS:
                    raise invalid(f"region_pools.{key}", f"not a region code; expected one of {', '.join(REGIONS)}")
                if not isinstance(pools, list) or not pools:
                    raise invalid(f"{field}.{key}", "expected a non-empty list of pool ids")
                for pool_id in pools:
                    if pool_id not in self.pools:
                        raise invalid(f"{field}.{key}", f"pool {pool_id} does not exist")
        if lb["steering_policy"] not in STEERING:
            raise invalid("steering_policy", f"expected one of {', '.join(s for s in STEERING if s)}")
        lb["steering_policy"] = lb["steering_policy"] or "off"  # "" is how a client asks for the default
        if lb["session_affinity"] not in AFFINITY:
            raise invalid("session_affinity", f"expected one of {', '.join(a for a in AFFINITY if a)}")
        _bool(lb, "proxied")
        _bool(lb, "enabled")
        ttl = lb["ttl"]
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0:
            raise invalid("ttl", f"expected an integer >= 0, got {ttl!r}")
        if not isinstance(lb["rules"], list):
            raise invalid("rules", "expected a list")
        return lb

    def lb_get(self, lb_id: str) -> dict:
        with self.lock:
            return _out(self._find(self.lbs, lb_id, "load balancer"))

    def lb_list(self) -> list[dict]:
        with self.lock:
            return [_out(lb) for lb in sorted(self.lbs.values(), key=lambda lb: lb["created_on"])]

    def lb_create(self, body) -> dict:
        with self.lock:
            lb = self._lb_validate(dict(_object(body)), None)
            stamp = now()
            lb.update(id=new_id(), zone_name=self.zone_name, created_on=stamp, modified_on=stamp)
            self.lbs[lb["id"]] = lb
            return _out(lb)

    def lb_update(self, lb_id: str, body, *, patch: bool) -> dict:
        with self.lock:
            current = self.lb_get(lb_id)
            inputs = (*LB_DEFAULTS, "name", "fallback_pool", "default_pools")
            base = {k: v for k, v in current.items() if k in inputs} if patch else {}
            lb = self._lb_validate({**base, **_strip(_object(body))}, lb_id)
            lb.update(id=lb_id, zone_name=self.zone_name, created_on=current["created_on"], modified_on=now())
            self.lbs[lb_id] = lb
            return _out(lb)

    def lb_delete(self, lb_id: str) -> dict:
        with self.lock:
            self._find(self.lbs, lb_id, "load balancer")
            del self.lbs[lb_id]
            return {"id": lb_id}

    # ---------------------------------------------------------------- status
    def status(self) -> dict:
        with self.lock:
            return {
                "zones": [{"id": self.zone_id, "name": self.zone_name}],
                "dns_records": sorted(f"{r['type']} {r['name']} {r['content']}" for r in self.dns.values()),
                "monitors": sorted(self.monitors),
                "pools": {p["id"]: p["name"] for p in self.pools.values()},
                "load_balancers": {lb["id"]: lb["name"] for lb in self.lbs.values()},
                "counts": {
                    "dns_records": len(self.dns),
                    "monitors": len(self.monitors),
                    "pools": len(self.pools),
                    "load_balancers": len(self.lbs),
                },
            }


_DNS_INPUT = ("type", "name", "content", "ttl", "proxied", "comment", "tags", "priority", "data", "settings")
_READ_ONLY = ("id", "created_on", "modified_on", "zone_id", "zone_name", "networks", "proxiable", "locked", "meta")


def _strip(body: dict) -> dict:
    """The body without read-only fields (a client may send back what it read)."""
    return {k: v for k, v in body.items() if k not in _READ_ONLY}


def _out(item: dict) -> dict:
    """What Cloudflare answers for an object: unset (None) fields are left out."""
    return {k: copy.deepcopy(v) for k, v in item.items() if v is not None}


def _pools_of(lb: dict) -> set[str]:
    pools = {lb["fallback_pool"], *lb["default_pools"]}
    for field in ("region_pools", "pop_pools", "country_pools"):
        for ids in lb.get(field, {}).values():
            pools.update(ids)
    return pools
