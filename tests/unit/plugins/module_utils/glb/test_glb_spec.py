"""The global load balancer spec: provider rules checked before any write, and one steering answer."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError
from ansible_collections.multicloud.fabric.plugins.module_utils.glb.spec import candidates, normalize_glb, resolve

NEW_YORK = {"country": "US", "region": "ENAM", "continent": "NA"}
TOKYO = {"country": "JP", "region": "NEAS", "continent": "AS"}
LONDON = {"country": "GB", "region": "WEU", "continent": "EU"}
SAO_PAULO = {"country": "BR", "region": "SSAM", "continent": "SA"}
ALL_UP = {"aws": True, "gcp": True, "azure": True}


def pool(name, address, cloud, region):
    return {"name": name, "cloud": cloud, "region": region, "origins": [{"name": f"{name}-lb", "address": address}]}


def params(provider="cloudflare", **changes):
    base = {
        "provider": provider,
        "zone": "example.com",
        "hostname": "app.example.com",
        "pools": [
            pool("aws", "198.51.100.10", "aws", "us-east-1"),
            pool("gcp", "198.51.100.20", "gcp", "us-central1"),
            pool("azure", "198.51.100.30", "azure", "eastus"),
        ],
        "monitor": {"path": "/health", "interval": 30 if provider == "route53" else 60, "retries": 2},
        "fallback_pool": "aws",
    }
    if provider == "cloudflare":
        base["steering"] = {
            "policy": "geo",
            "regions": {"ENAM": ["aws", "gcp"], "NEAS": ["gcp", "aws"], "WEU": ["azure", "aws"]},
            "countries": {"JP": ["gcp", "azure"]},
        }
    else:
        base["steering"] = {"policy": "geo", "regions": {"NA": ["aws"], "AS": ["gcp"], "EU": ["azure"]}}
    base.update(changes)
    return base


def test_cloudflare_shape_and_defaults():
    desired = normalize_glb(params())
    assert desired["hostname"] == "app.example.com" and desired["ttl"] == 30
    assert desired["proxied"] is False and desired["session_affinity"] == "none"
    assert desired["monitor"] == {
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
    assert desired["steering"]["default_pools"] == ["aws", "gcp", "azure"]
    assert desired["pools"][0]["origins"] == [
        {"name": "aws-lb", "address": "198.51.100.10", "weight": 1.0, "enabled": True}
    ]


def test_route53_shape_and_defaults():
    desired = normalize_glb(params("route53", monitor={"path": "/health"}))
    assert desired["ttl"] == 60 and desired["proxied"] is None and desired["session_affinity"] is None
    assert desired["monitor"]["interval"] == 30 and desired["monitor"]["timeout"] is None
    assert desired["steering"]["regions"] == {"NA": ["aws"], "AS": ["gcp"], "EU": ["azure"]}


def test_hostnames_are_lowercased_and_the_trailing_dot_dropped():
    desired = normalize_glb(params(zone="Example.COM.", hostname="App.Example.com."))
    assert (desired["zone"], desired["hostname"]) == ("example.com", "app.example.com")


def test_normalizing_does_not_change_the_input():
    given = params()
    kept = copy.deepcopy(given)
    normalize_glb(given)
    assert given == kept


@pytest.mark.parametrize("provider", ["cloudflare", "route53"])
def test_the_seeds_geo_table(provider):
    desired = normalize_glb(params(provider))
    assert resolve(desired, NEW_YORK, ALL_UP) == ("aws", "steered")
    assert resolve(desired, TOKYO, ALL_UP) == ("gcp", "steered")
    assert resolve(desired, LONDON, ALL_UP) == ("azure", "steered")


def test_cloudflare_country_beats_region_and_unlisted_locations_use_the_default_pools():
    desired = normalize_glb(params())
    assert candidates(desired, TOKYO) == ["gcp", "azure", "aws"]
    assert candidates(desired, SAO_PAULO) == ["aws", "gcp", "azure"]
    assert candidates(desired, {}) == ["aws", "gcp", "azure"]


def test_cloudflare_fails_over_in_order_then_to_the_fallback():
    desired = normalize_glb(params())
    assert resolve(desired, NEW_YORK, {"aws": False, "gcp": True, "azure": True}) == ("gcp", "failover")
    assert resolve(desired, LONDON, {"aws": True, "gcp": True, "azure": False}) == ("aws", "fallback")
    # Nothing healthy: Cloudflare still serves the fallback pool.
    assert resolve(desired, NEW_YORK, {}) == ("aws", "fallback")


def test_route53_fails_over_from_country_to_continent_to_the_default_record():
    desired = normalize_glb(params("route53", steering={"regions": {"NA": ["gcp"]}, "countries": {"US": ["azure"]}}))
    assert candidates(desired, NEW_YORK) == ["azure", "gcp", "aws"]
    assert resolve(desired, NEW_YORK, ALL_UP) == ("azure", "steered")
    assert resolve(desired, NEW_YORK, {"azure": False, "gcp": True, "aws": True}) == ("gcp", "failover")
    assert resolve(desired, NEW_YORK, {"aws": True}) == ("aws", "fallback")
    assert resolve(desired, NEW_YORK, {}) == (None, "no healthy pool")


def test_route53_failover_is_primary_then_secondary():
    desired = normalize_glb(params("route53", steering={"policy": "failover", "default_pools": ["aws", "gcp"]}))
    assert resolve(desired, TOKYO, ALL_UP) == ("aws", "steered")
    assert resolve(desired, TOKYO, {"aws": False, "gcp": True}) == ("gcp", "failover")


def test_a_drained_pool_never_serves_and_restoring_it_brings_traffic_back():
    drained = params()
    drained["pools"][0]["enabled"] = False
    desired = normalize_glb(drained)
    assert resolve(desired, NEW_YORK, ALL_UP) == ("gcp", "failover")
    drained["pools"][0]["enabled"] = True
    assert resolve(normalize_glb(drained), NEW_YORK, ALL_UP) == ("aws", "steered")


def test_a_pool_whose_origins_are_all_disabled_is_drained():
    given = params()
    given["pools"][1]["origins"][0]["enabled"] = False
    assert resolve(normalize_glb(given), TOKYO, ALL_UP) == ("azure", "failover")


def with_pools(edit):
    given = params()
    edit(given["pools"])
    return given


@pytest.mark.parametrize(
    ("given", "field", "words"),
    [
        (params(provider="akamai"), "provider", "expected one of cloudflare, route53"),
        (params(hostname="app.example.org"), "hostname", "not inside the zone example.com"),
        (params(hostname="app..example.com"), "hostname", "not a DNS name"),
        (params(zone="-bad-.com"), "zone", "not a DNS name"),
        (params(pools=[]), "pools", "at least one pool"),
        (with_pools(lambda p: p[1].update(origins=[])), "pools[1].origins", "at least one origin"),
        (with_pools(lambda p: p[1].update(name="aws")), "pools[1].name", "already the name of pools[0]"),
        (with_pools(lambda p: p[0].update(name="has space")), "pools[0].name", "letters, digits"),
        (
            with_pools(lambda p: p[0]["origins"][0].update(address="")),
            "pools[0].origins[0].address",
            "needs an address",
        ),
        (with_pools(lambda p: p[0]["origins"][0].update(address="bad_host")), "pools[0].origins[0].address", "DNS"),
        (with_pools(lambda p: p[0]["origins"][0].update(weight=1.5)), "pools[0].origins[0].weight", "0 to 1"),
        (
            with_pools(lambda p: p[0]["origins"].append(dict(p[0]["origins"][0]))),
            "pools[0].origins[1].name",
            "appears twice",
        ),
        (params(fallback_pool="oracle"), "fallback_pool", "not one of the pools"),
        (params(fallback_pool=None), "fallback_pool", "Cloudflare needs a fallback pool"),
        (params("route53", fallback_pool=None), "fallback_pool", "default record"),
        (params(monitor={"interval": 5, "timeout": 10}), "monitor.interval", "shorter than the timeout"),
        (params(monitor={"interval": 2}), "monitor.interval", "expected 5-3600"),
        (params(monitor={"retries": 9}), "monitor.retries", "expected 0-5"),
        (params(monitor={"path": "health"}), "monitor.path", "starting with /"),
        (params(monitor={"type": "tcp"}), "monitor.type", "http or https"),
        (params(monitor={"expected_codes": "ok"}), "monitor.expected_codes", "like 200 or 2xx"),
        (params(monitor={"port": 70000}), "monitor.port", "1-65535"),
        (params(monitor={"intervall": 30}), "monitor.intervall", "unknown option"),
        (params("route53", monitor={"interval": 60}), "monitor.interval", "every 10 or 30 s"),
        (params("route53", monitor={"timeout": 3}), "monitor.timeout", "do not take this option"),
        (params("route53", monitor={"headers": {"Host": "x"}}), "monitor.headers", "do not take this option"),
        (params("route53", monitor={"expected_codes": "404"}), "monitor.expected_codes", "2xx or 3xx"),
        (params("route53", monitor={"retries": 0}), "monitor.retries", "expected 1-10"),
        (params(steering={"policy": "failover"}), "steering.policy", "cloudflare steers by one of"),
        (params("route53", steering={"policy": "proximity"}), "steering.policy", "route53 steers by one of"),
        (params(steering={"regions": {"NA": ["aws"]}}), "steering.regions.NA", "not a Cloudflare region code"),
        (params("route53", steering={"regions": {"ENAM": ["aws"]}}), "steering.regions.ENAM", "Route 53 continent"),
        (params(steering={"countries": {"UK": ["azure"]}}), "steering.countries.UK", "ISO 3166-1"),
        (params(steering={"regions": {"WEU": ["oracle"]}}), "steering.regions.WEU[0]", "not one of the pools"),
        (params(steering={"regions": {"WEU": []}}), "steering.regions.WEU", "list of pool names"),
        (
            params(steering={"policy": "random", "regions": {"WEU": ["azure"]}}),
            "steering.policy",
            "only with policy geo",
        ),
        (
            params("route53", steering={"regions": {"EU": ["azure", "aws"]}}),
            "steering.regions.EU",
            "points at one pool",
        ),
        (
            params("route53", steering={"policy": "failover", "default_pools": ["aws"]}),
            "steering.default_pools",
            "PRIMARY and one SECONDARY",
        ),
        (params(ttl=10), "ttl", "1 (automatic) or 30-86400"),
        (params(ttl="soon"), "ttl", "whole number"),
        (params("route53", proxied=True), "proxied", "only Cloudflare proxies"),
        (params("route53", session_affinity="cookie"), "session_affinity", "no session affinity"),
        (params(session_affinity="sticky"), "session_affinity", "expected one of none"),
        (
            params("route53", pools=[{"name": "aws", "origins": [{"address": "192.0.2.1"}, {"address": "192.0.2.2"}]}]),
            "pools[0].origins",
            "exactly one origin",
        ),
    ],
)
def test_bad_input_is_rejected_naming_the_field(given, field, words):
    with pytest.raises(ValidationError) as info:
        normalize_glb(given)
    assert info.value.field == field
    assert words in info.value.message
