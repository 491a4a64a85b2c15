"""The global load balancer's planner and the two providers' object models, without any SDK."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.aws import glb as route53
from ansible_collections.multicloud.fabric.plugins.module_utils.cloudflare import glb as cloudflare
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError
from ansible_collections.multicloud.fabric.plugins.module_utils.glb.plan import (
    after,
    changes,
    plan,
    resolve_refs,
    to_refs,
    view,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.glb.spec import normalize_glb, resolve

KINDS = ("monitor", "pool", "load_balancer")


def pool(name, address, cloud, region, **extra):
    return {
        "name": name,
        "cloud": cloud,
        "region": region,
        "origins": [{"name": f"{name}-lb", "address": address}],
        **extra,
    }


def params(provider="cloudflare", **changes_):
    base = {
        "provider": provider,
        "zone": "example.com",
        "hostname": "app.example.com",
        "pools": [
            pool("aws", "198.51.100.10", "aws", "us-east-1"),
            pool("gcp", "198.51.100.20", "gcp", "us-central1"),
            pool("azure", "198.51.100.30", "azure", "eastus"),
        ],
        "monitor": {"type": "http", "path": "/health", "interval": 10 if provider == "route53" else 60, "retries": 2},
        "fallback_pool": "aws",
    }
    if provider == "cloudflare":
        base["steering"] = {
            "policy": "geo",
            "regions": {"ENAM": ["aws", "gcp"], "NEAS": ["gcp", "aws"], "WEU": ["azure"]},
        }
    else:
        base["steering"] = {
            "policy": "geo",
            "regions": {"NA": ["aws"], "AS": ["gcp"], "EU": ["azure"]},
            "countries": {"JP": ["gcp"]},
        }
    base.update(changes_)
    return base


def as_current(objects, ids=None):
    """Objects as an adapter reads them back after they were created: with ids, references kept."""
    out = []
    for index, obj in enumerate(objects):
        out.append({**copy.deepcopy(obj), "id": (ids or {}).get(f"{obj['kind']}/{obj['name']}", f"id-{index}")})
    return out


# ---------------------------------------------------------------------------- planner
def test_everything_is_created_in_dependency_order():
    wanted = cloudflare.desired_objects(normalize_glb(params()))
    actions = plan([], wanted, KINDS)
    assert [a["action"] for a in actions] == ["create"] * 5
    assert [a["kind"] for a in actions] == ["monitor", "pool", "pool", "pool", "load_balancer"]


def test_same_objects_need_nothing():
    wanted = cloudflare.desired_objects(normalize_glb(params()))
    assert plan(as_current(wanted), wanted, KINDS) == []


def test_whole_numbers_compare_equal_to_floats():
    # APIs answer 30.0 where we sent 30, and 1 where we sent 1.0.
    assert changes({"ttl": 30.0, "weight": 1}, {"ttl": 30, "weight": 1.0}) == {}
    assert changes({"ttl": 30.0}, {"ttl": 60}) == {"ttl": {"before": 30.0, "after": 60}}


def test_drain_is_one_update_of_one_pool():
    desired = normalize_glb(params())
    current = as_current(cloudflare.desired_objects(desired))
    drained = params()
    drained["pools"][0]["enabled"] = False
    actions = plan(current, cloudflare.desired_objects(normalize_glb(drained)), KINDS)
    assert actions == [
        {
            "action": "update",
            "kind": "pool",
            "name": "aws",
            "id": "id-1",
            "body": actions[0]["body"],
            "changes": {"enabled": {"before": True, "after": False}},
        }
    ]


def test_removed_pool_is_deleted_after_the_load_balancer_stops_using_it():
    current = as_current(cloudflare.desired_objects(normalize_glb(params())))
    fewer = params(steering={"policy": "geo", "regions": {"ENAM": ["aws", "gcp"], "NEAS": ["gcp", "aws"]}})
    fewer["pools"] = fewer["pools"][:2]
    actions = plan(current, cloudflare.desired_objects(normalize_glb(fewer)), KINDS)
    assert [(a["action"], a["kind"], a["name"]) for a in actions] == [
        ("update", "load_balancer", "app.example.com"),
        ("delete", "pool", "azure"),
    ]


def test_absent_deletes_what_references_first():
    current = as_current(cloudflare.desired_objects(normalize_glb(params())))
    actions = plan(current, [], KINDS)
    assert [a["kind"] for a in actions] == ["load_balancer", "pool", "pool", "pool", "monitor"]
    assert all(a["action"] == "delete" and a["id"] for a in actions)


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown kind 'zone'"):
        plan([{"kind": "zone", "name": "x", "body": {}}], [], KINDS)


def test_references_resolve_to_ids_and_back():
    body = {"monitor": "@monitor/app", "default_pools": ["@pool/aws", "@pool/gcp"], "name": "app"}
    ids = {"monitor/app": "m1", "pool/aws": "p1", "pool/gcp": "p2"}
    raw = resolve_refs(body, ids)
    assert raw == {"monitor": "m1", "default_pools": ["p1", "p2"], "name": "app"}
    assert to_refs(raw, {v: k for k, v in ids.items()}) == body
    with pytest.raises(KeyError, match="pool/azure has no id yet"):
        resolve_refs({"fallback_pool": "@pool/azure"}, ids)


def test_after_and_view_give_diff_modes_before_and_after():
    current = as_current(cloudflare.desired_objects(normalize_glb(params())))
    actions = plan(current, [], KINDS)
    assert view(after(current, actions)) == {}
    assert set(view(current)) == {"monitor", "pool", "load_balancer"}


# ---------------------------------------------------------------------------- Cloudflare objects
def test_cloudflare_objects_name_pools_per_hostname_and_reference_by_name():
    objects = {f"{o['kind']}/{o['name']}": o["body"] for o in cloudflare.desired_objects(normalize_glb(params()))}
    assert objects["pool/aws"]["name"] == "app-example-com-aws"
    assert objects["pool/aws"]["monitor"] == "@monitor/app.example.com"
    assert cloudflare.pool_identity(objects["pool/aws"]["description"]) == (
        "app.example.com",
        "aws",
        "aws",
        "us-east-1",
    )
    lb = objects["load_balancer/app.example.com"]
    assert lb["region_pools"] == {
        "ENAM": ["@pool/aws", "@pool/gcp"],
        "NEAS": ["@pool/gcp", "@pool/aws"],
        "WEU": ["@pool/azure"],
    }
    assert lb["fallback_pool"] == "@pool/aws" and lb["steering_policy"] == "geo"
    assert objects["monitor/app.example.com"]["header"] == {}


def test_cloudflare_pool_identity_ignores_foreign_pools():
    assert cloudflare.pool_identity("the web team's pool") is None
    assert cloudflare.pool_identity("mcf:app.example.com:aws cloud= region=")[:2] == ("app.example.com", "aws")


# ---------------------------------------------------------------------------- Route 53 objects
def r53(**changes_):
    return {
        f"{o['kind']}/{o['name']}": o["body"]
        for o in route53.desired_objects(normalize_glb(params("route53", **changes_)))
    }


def test_route53_geo_records_with_default_and_health_checks():
    objects = r53()
    assert sorted(k for k in objects if k.startswith("record/")) == [
        "record/cc-JP",
        "record/continent-AS",
        "record/continent-EU",
        "record/continent-NA",
        "record/default",
    ]
    assert objects["record/continent-NA"] == {
        "Type": "A",
        "TTL": 60,
        "ResourceRecords": [{"Value": "198.51.100.10"}],
        "HealthCheckId": "@health_check/aws-http10",
        "GeoLocation": {"ContinentCode": "NA"},
    }
    assert objects["record/default"]["GeoLocation"] == {"CountryCode": "*"}
    check = objects["health_check/aws-http10"]
    assert check["IPAddress"] == "198.51.100.10" and check["Port"] == 80 and check["FailureThreshold"] == 2
    assert check["tags"]["mcf:pool"] == "aws" and check["tags"]["mcf:enabled"] == "true"


def test_route53_drained_pool_loses_its_records_and_the_default_moves():
    given = params("route53")
    given["pools"][0]["enabled"] = False
    objects = {f"{o['kind']}/{o['name']}": o["body"] for o in route53.desired_objects(normalize_glb(given))}
    assert "record/continent-NA" not in objects
    assert objects["record/default"]["HealthCheckId"] == "@health_check/gcp-http10"
    assert objects["health_check/aws-http10"]["tags"]["mcf:enabled"] == "false"


def test_route53_everything_drained_is_refused():
    given = params("route53")
    for entry in given["pools"]:
        entry["enabled"] = False
    with pytest.raises(ValidationError) as caught:
        route53.desired_objects(normalize_glb(given))
    assert caught.value.field == "pools"


def test_route53_failover_and_weighted():
    failover = r53(steering={"policy": "failover", "default_pools": ["gcp", "aws"]}, fallback_pool=None)
    assert failover["record/primary"]["Failover"] == "PRIMARY"
    assert failover["record/primary"]["ResourceRecords"] == [{"Value": "198.51.100.20"}]
    assert failover["record/secondary"]["Failover"] == "SECONDARY"
    weighted = r53(steering={"policy": "random"})
    assert {k: v["Weight"] for k, v in weighted.items() if k.startswith("record/")} == {
        "record/weight-aws": 100,
        "record/weight-gcp": 100,
        "record/weight-azure": 100,
    }


def test_route53_host_name_origins_are_cname_records_checked_by_name():
    given = params("route53")
    given["pools"][1]["origins"][0]["address"] = "gcp-lb.example.net"
    objects = {f"{o['kind']}/{o['name']}": o["body"] for o in route53.desired_objects(normalize_glb(given))}
    assert objects["record/continent-AS"]["Type"] == "CNAME"
    assert objects["health_check/gcp-http10"]["FullyQualifiedDomainName"] == "gcp-lb.example.net"
    assert "IPAddress" not in objects["health_check/gcp-http10"]


def test_route53_new_interval_is_a_new_health_check_and_the_old_goes_last():
    current = as_current(route53.desired_objects(normalize_glb(params("route53"))))
    slower = params("route53", monitor={"type": "http", "path": "/health", "interval": 30, "retries": 2})
    actions = plan(current, route53.desired_objects(normalize_glb(slower)), route53.KINDS)
    kinds = [(a["action"], a["kind"]) for a in actions]
    assert kinds[:3] == [("create", "health_check")] * 3
    assert kinds[-3:] == [("delete", "health_check")] * 3
    assert {a["name"] for a in actions if a["action"] == "update"} == {
        "cc-JP",
        "continent-AS",
        "continent-EU",
        "continent-NA",
        "default",
    }


def test_route53_portable_view_resolves_like_the_spec():
    # On Route 53 a location's failover is the next broader record: with the default record on
    # GCP, New York goes to GCP when AWS is down; with it on AWS, New York would get no answer.
    desired = normalize_glb(params("route53", fallback_pool="gcp"))
    current = as_current(route53.desired_objects(desired))
    adapter = route53.GlobalLb(None, "app.example.com", "example.com", hosted_zone_id="Z1")
    portable = adapter.portable(current)
    assert portable["fallback_pool"] == "gcp"
    assert portable["steering"]["regions"] == {"NA": ["aws"], "AS": ["gcp"], "EU": ["azure"]}
    assert portable["steering"]["countries"] == {"JP": ["gcp"]}
    new_york = {"country": "US", "continent": "NA"}
    assert resolve(portable, new_york, {"aws": False, "gcp": True, "azure": True}) == ("gcp", "fallback")
    for healthy in ({"aws": True, "gcp": True, "azure": True}, {"aws": False, "gcp": False, "azure": True}):
        for location in (new_york, {"country": "JP", "continent": "AS"}, {"continent": "EU"}, {}):
            assert resolve(portable, location, healthy) == resolve(desired, location, healthy)
    aws_last = normalize_glb(params("route53"))
    assert resolve(aws_last, new_york, {"aws": False, "gcp": True, "azure": True}) == (None, "no healthy pool")


def test_cloudflare_portable_view_resolves_like_the_spec():
    desired = normalize_glb(params())
    current = as_current(cloudflare.desired_objects(desired))
    adapter = cloudflare.GlobalLb(None, "app.example.com", "example.com")
    portable = adapter.portable(current)
    assert [p["cloud"] for p in portable["pools"]] == ["aws", "gcp", "azure"]
    for healthy in ({"aws": True, "gcp": True, "azure": True}, {"aws": False, "gcp": True, "azure": True}):
        for location in ({"region": "ENAM", "country": "US"}, {"region": "WEU"}, {}):
            assert resolve(portable, location, healthy) == resolve(desired, location, healthy)
