# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The portable global load balancer: one spec for Cloudflare and Route 53, and how it steers.

Pure functions, no SDK. ``normalize_glb(params)`` validates the input against the provider's rules
(every error a ``ValidationError`` naming the field, before any write) and returns the desired
load balancer in the portable shape both providers' adapters read::

    {"provider", "hostname", "zone", "ttl", "proxied", "session_affinity",
     "pools": [{"name", "cloud", "region", "enabled", "description",
                "origins": [{"name", "address", "weight", "enabled"}]}],
     "monitor": {"type", "path", "port", "method", "expected_codes", "interval", "timeout",
                 "retries", "headers"},
     "steering": {"policy", "regions": {code: [pool, ...]}, "countries": {CC: [pool, ...]},
                  "default_pools": [pool, ...]},
     "fallback_pool"}

``resolve(desired, location, healthy)`` answers which pool serves a client at ``location`` given
which pools are healthy, with the provider's own precedence; the sandbox's data plane, the info
module and the DR drills share it, so "where does New York go now" has one answer.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError

PROVIDERS = ("cloudflare", "route53")
# Cloudflare's load-balancing regions (region_pools keys).
CLOUDFLARE_REGIONS = (
    "WNAM",
    "ENAM",
    "WEU",
    "EEU",
    "NSAM",
    "SSAM",
    "OC",
    "ME",
    "NAF",
    "SAF",
    "SAS",
    "SEAS",
    "NEAS",
)
# Route 53 geolocation continents.
ROUTE53_CONTINENTS = ("AF", "AN", "AS", "EU", "NA", "OC", "SA")
# ISO 3166-1 alpha-2, the country codes both providers take.
COUNTRIES = frozenset(
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT "
    "BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH "
    "ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT "
    "HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS "
    "LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI "
    "NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG "
    "SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG "
    "UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW".split()
)
POLICIES = {
    "cloudflare": (
        "off",
        "geo",
        "random",
        "dynamic_latency",
        "proximity",
        "least_outstanding_requests",
        "least_connections",
    ),
    "route53": ("geo", "failover", "random"),
}
SESSION_AFFINITY = ("none", "cookie", "ip_cookie", "header")
# Cloudflare monitor limits (interval in seconds; the shortest interval depends on the plan).
CLOUDFLARE_MONITOR = {"interval": (5, 3600), "timeout": (1, 10), "retries": (0, 5)}
# Route 53 health checks: a request every 10 or 30 s; ``retries`` is its FailureThreshold, the
# consecutive failed checks (1-10) that turn an endpoint unhealthy.
ROUTE53_INTERVALS = (10, 30)
ROUTE53_FAILURE_THRESHOLD = (1, 10)
MONITOR_DEFAULTS = {
    "type": "https",
    "path": "/health",
    "port": None,
    "method": "GET",
    "expected_codes": "200",
    "interval": 60,
    "timeout": 5,
    "retries": 2,
    "headers": {},
}
POOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
EXPECTED_CODES = re.compile(r"^[1-5]([0-9]{2}|xx)$")


def _hostname(value, field):
    text = str(value or "").rstrip(".").lower()
    if not text or len(text) > 253 or not all(DNS_LABEL.match(label) for label in text.split(".")):
        raise ValidationError(field, f"{value!r} is not a DNS name")
    return text


def _int(value, field, low, high):
    if isinstance(value, bool):
        raise ValidationError(field, f"expected a whole number, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(field, f"expected a whole number, got {value!r}") from None
    if str(number) != str(value).strip() and not isinstance(value, int):
        raise ValidationError(field, f"expected a whole number, got {value!r}")
    if not low <= number <= high:
        raise ValidationError(field, f"expected {low}-{high}, got {number}")
    return number


def _address(value, field):
    text = str(value or "").strip()
    if not text:
        raise ValidationError(field, "every origin needs an address (an IP address or a host name)")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return _hostname(text, field)


def _origins(pool, field, provider):
    origins = pool.get("origins")
    if not isinstance(origins, list) or not origins:
        raise ValidationError(field, "a pool needs at least one origin")
    if provider == "route53" and len(origins) > 1:
        raise ValidationError(
            field,
            "a Route 53 pool is one record with one health check: give it exactly one origin",
            advice="make one pool per origin, or use cloudflare for pools of several origins",
        )
    out, names = [], set()
    for index, origin in enumerate(origins):
        o_field = f"{field}[{index}]"
        if not isinstance(origin, dict):
            raise ValidationError(o_field, "expected a dictionary with name and address")
        address = _address(origin.get("address"), f"{o_field}.address")
        name = str(origin.get("name") or address)
        if name in names:
            raise ValidationError(f"{o_field}.name", f"{name!r} appears twice in this pool")
        names.add(name)
        weight = origin.get("weight", 1)
        try:
            weight = float(weight)
        except (TypeError, ValueError):
            raise ValidationError(f"{o_field}.weight", f"expected a number from 0 to 1, got {weight!r}") from None
        if not 0 <= weight <= 1 or isinstance(origin.get("weight"), bool):
            raise ValidationError(f"{o_field}.weight", f"expected a number from 0 to 1, got {origin.get('weight')!r}")
        out.append(
            {"name": name, "address": address, "weight": round(weight, 2), "enabled": bool(origin.get("enabled", True))}
        )
    return out


def _pools(params, provider):
    pools = params.get("pools")
    if not isinstance(pools, list) or not pools:
        raise ValidationError("pools", "a load balancer needs at least one pool")
    out, seen = [], {}
    for index, pool in enumerate(pools):
        field = f"pools[{index}]"
        if not isinstance(pool, dict):
            raise ValidationError(field, "expected a dictionary with name and origins")
        name = pool.get("name")
        if not isinstance(name, str) or not POOL_NAME.match(name):
            raise ValidationError(f"{field}.name", f"expected 1-64 letters, digits, '-' or '_', got {name!r}")
        if name in seen:
            raise ValidationError(f"{field}.name", f"{name!r} is already the name of pools[{seen[name]}]")
        seen[name] = index
        out.append(
            {
                "name": name,
                "cloud": pool.get("cloud"),
                "region": pool.get("region"),
                "enabled": bool(pool.get("enabled", True)),
                "description": str(pool.get("description") or ""),
                "origins": _origins(pool, f"{field}.origins", provider),
            }
        )
    return out


def _monitor(params, provider):
    given = params.get("monitor") or {}
    if not isinstance(given, dict):
        raise ValidationError("monitor", "expected a dictionary")
    unknown = sorted(set(given) - set(MONITOR_DEFAULTS))
    if unknown:
        raise ValidationError(f"monitor.{unknown[0]}", f"unknown option; expected one of {', '.join(MONITOR_DEFAULTS)}")
    monitor = dict(MONITOR_DEFAULTS, **{k: v for k, v in given.items() if v is not None})
    if monitor["type"] not in ("http", "https"):
        raise ValidationError("monitor.type", f"expected http or https, got {monitor['type']!r}")
    if not str(monitor["path"]).startswith("/"):
        raise ValidationError("monitor.path", f"expected a path starting with /, got {monitor['path']!r}")
    if monitor["port"] is not None:
        monitor["port"] = _int(monitor["port"], "monitor.port", 1, 65535)
    code = str(monitor["expected_codes"])
    if not EXPECTED_CODES.match(code):
        raise ValidationError(
            "monitor.expected_codes", f"expected a status code or class like 200 or 2xx, got {code!r}"
        )
    monitor["expected_codes"] = code
    if not isinstance(monitor["headers"], dict):
        raise ValidationError("monitor.headers", "expected a dictionary of header name to value")
    if provider == "cloudflare":
        for key in ("interval", "timeout", "retries"):
            low, high = CLOUDFLARE_MONITOR[key]
            monitor[key] = _int(monitor[key], f"monitor.{key}", low, high)
        if monitor["interval"] < monitor["timeout"]:
            raise ValidationError(
                "monitor.interval",
                f"{monitor['interval']} s is shorter than the timeout of {monitor['timeout']} s; "
                "a probe must end before the next starts",
            )
        return monitor
    # Route 53: fixed timeout, no custom headers, healthy means 2xx or 3xx.
    for key in ("timeout", "headers"):
        if key in given and given[key] not in (None, {}, MONITOR_DEFAULTS[key]):
            raise ValidationError(f"monitor.{key}", "Route 53 health checks do not take this option")
    if monitor["method"] != "GET":
        raise ValidationError("monitor.method", "Route 53 health checks always use GET")
    if code[0] not in "23":
        raise ValidationError("monitor.expected_codes", "Route 53 counts any 2xx or 3xx as healthy; nothing else")
    interval = _int(monitor["interval"], "monitor.interval", 1, 3600) if "interval" in given else 30
    if interval not in ROUTE53_INTERVALS:
        raise ValidationError("monitor.interval", f"Route 53 checks every 10 or 30 s, got {interval}")
    low, high = ROUTE53_FAILURE_THRESHOLD
    monitor.update(interval=interval, timeout=None, headers={})
    monitor["retries"] = _int(monitor["retries"], "monitor.retries", low, high)
    return monitor


def _pool_list(value, field, names, single=False):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ValidationError(field, "expected a list of pool names")
    if single and len(value) != 1:
        raise ValidationError(
            field,
            "a Route 53 geolocation record points at one pool; the next larger location (continent, then "
            "the default record, fallback_pool) is its failover",
        )
    for index, name in enumerate(value):
        if name not in names:
            raise ValidationError(f"{field}[{index}]", f"{name!r} is not one of the pools ({', '.join(names)})")
    return list(value)


def _steering(params, provider, names):
    given = params.get("steering") or {}
    if not isinstance(given, dict):
        raise ValidationError("steering", "expected a dictionary")
    policy = given.get("policy") or "geo"
    if policy not in POLICIES[provider]:
        raise ValidationError(
            "steering.policy", f"{provider} steers by one of {', '.join(POLICIES[provider])}, not {policy!r}"
        )
    codes = CLOUDFLARE_REGIONS if provider == "cloudflare" else ROUTE53_CONTINENTS
    regions = {}
    for code, pools in (given.get("regions") or {}).items():
        if code not in codes:
            kind = "Cloudflare region" if provider == "cloudflare" else "Route 53 continent"
            raise ValidationError(f"steering.regions.{code}", f"not a {kind} code; expected one of {', '.join(codes)}")
        regions[code] = _pool_list(pools, f"steering.regions.{code}", names, single=provider == "route53")
    countries = {}
    for code, pools in (given.get("countries") or {}).items():
        if code not in COUNTRIES:
            raise ValidationError(
                f"steering.countries.{code}", "not an ISO 3166-1 alpha-2 country code (e.g. US, JP, GB)"
            )
        countries[code] = _pool_list(pools, f"steering.countries.{code}", names, single=provider == "route53")
    if (regions or countries) and policy != "geo":
        raise ValidationError("steering.policy", f"regions and countries steer only with policy geo, not {policy}")
    default = (
        _pool_list(given["default_pools"], "steering.default_pools", names)
        if given.get("default_pools")
        else list(names)
    )
    if provider == "route53" and policy == "failover" and len(default) != 2:
        raise ValidationError(
            "steering.default_pools",
            f"Route 53 failover is one PRIMARY and one SECONDARY record; got {len(default)} pools",
        )
    return {"policy": policy, "regions": regions, "countries": countries, "default_pools": default}


def normalize_glb(params):
    provider = params.get("provider")
    if provider not in PROVIDERS:
        raise ValidationError("provider", f"expected one of {', '.join(PROVIDERS)}, got {provider!r}")
    zone = _hostname(params.get("zone"), "zone")
    hostname = _hostname(params.get("hostname"), "hostname")
    if hostname != zone and not hostname.endswith("." + zone):
        raise ValidationError("hostname", f"{hostname} is not inside the zone {zone}")
    proxied = params.get("proxied")
    if proxied is not None and provider != "cloudflare":
        raise ValidationError("proxied", "only Cloudflare proxies traffic; Route 53 answers DNS only")
    affinity = params.get("session_affinity")
    if affinity is not None:
        if provider != "cloudflare":
            raise ValidationError("session_affinity", "Route 53 has no session affinity")
        if affinity not in SESSION_AFFINITY:
            raise ValidationError(
                "session_affinity", f"expected one of {', '.join(SESSION_AFFINITY)}, got {affinity!r}"
            )
    ttl = params.get("ttl")
    if ttl is None:
        ttl = 30 if provider == "cloudflare" else 60
    elif provider == "cloudflare":
        ttl = _int(ttl, "ttl", 1, 86400)
        if 1 < ttl < 30:  # 1 means "automatic" on Cloudflare; otherwise 30 s at least
            raise ValidationError("ttl", f"Cloudflare takes 1 (automatic) or 30-86400, got {ttl}")
    else:
        ttl = _int(ttl, "ttl", 0, 2147483647)
    pools = _pools(params, provider)
    names = [p["name"] for p in pools]
    steering = _steering(params, provider, names)
    fallback = params.get("fallback_pool")
    if fallback is None:
        if provider == "cloudflare":
            raise ValidationError("fallback_pool", "Cloudflare needs a fallback pool, served when every other is down")
        if steering["policy"] == "geo":
            raise ValidationError(
                "fallback_pool",
                "Route 53 geolocation needs the default record (*): without it clients outside the listed "
                "locations get no answer",
            )
    elif fallback not in names:
        raise ValidationError("fallback_pool", f"{fallback!r} is not one of the pools ({', '.join(names)})")
    return {
        "provider": provider,
        "hostname": hostname,
        "zone": zone,
        "ttl": ttl,
        "proxied": bool(proxied) if provider == "cloudflare" else None,
        "session_affinity": (affinity or "none") if provider == "cloudflare" else None,
        "pools": pools,
        "monitor": _monitor(params, provider),
        "steering": steering,
        "fallback_pool": fallback,
    }


def candidates(desired, location):
    """The pools a client at ``location`` (``{"country", "region", "continent"}``, any may be
    missing) is steered to, in the order the provider tries them, before health.

    Cloudflare (geo): the country's list, else its region's, else the default pools; the fallback
    pool comes last. Route 53 (geo): the country's record, then its continent's, then the default
    record (the fallback pool), each tried only when the one before is unhealthy. Failover: the
    default pools in order; random/weighted: the default pools (the provider picks among the
    healthy ones per query)."""
    steering = desired["steering"]
    location = location or {}
    order = list(steering["default_pools"])
    if steering["policy"] == "geo":
        country, region = location.get("country"), location.get("region")
        continent = location.get("continent")
        if desired["provider"] == "cloudflare":
            if country in steering["countries"]:
                order = list(steering["countries"][country])
            elif region in steering["regions"]:
                order = list(steering["regions"][region])
        else:
            order = [*steering["countries"].get(country, []), *steering["regions"].get(continent, [])]
    fallback = desired["fallback_pool"]
    if fallback is not None:
        order.append(fallback)
    return list(dict.fromkeys(order))


def resolve(desired, location, healthy):
    """``(pool, reason)``: the pool that serves ``location`` when ``healthy`` (pool name -> bool)
    says which are up. Disabled (drained) pools never serve. The first healthy candidate wins
    (reason ``steered`` for the first, ``failover`` for a later one, ``fallback`` for the fallback
    pool); with none healthy, Cloudflare still serves its fallback pool, Route 53 answers nothing."""
    enabled = {p["name"] for p in desired["pools"] if p["enabled"] and any(o["enabled"] for o in p["origins"])}
    order = candidates(desired, location)
    fallback = desired["fallback_pool"]
    for pool in order:
        if pool in enabled and healthy.get(pool, False):
            if pool == order[0]:
                return pool, "steered"
            return pool, "fallback" if pool == fallback else "failover"
    if desired["provider"] == "cloudflare" and fallback is not None:
        return fallback, "fallback"
    return None, "no healthy pool"


def identity(params):
    """``(provider, hostname, zone)`` of a load balancer, validated like :func:`normalize_glb` does;
    without ``zone`` the hostname's parent domain. Enough to find (or remove) one."""
    provider = params.get("provider")
    if provider not in PROVIDERS:
        raise ValidationError("provider", f"expected one of {', '.join(PROVIDERS)}, got {provider!r}")
    hostname = _hostname(params.get("hostname"), "hostname")
    zone = params.get("zone")
    if not zone:
        if "." not in hostname:
            raise ValidationError("zone", f"cannot derive the zone of {hostname!r}; give the zone")
        zone = hostname.split(".", 1)[1]
    zone = _hostname(zone, "zone")
    if hostname != zone and not hostname.endswith("." + zone):
        raise ValidationError("hostname", f"{hostname} is not inside the zone {zone}")
    return provider, hostname, zone
