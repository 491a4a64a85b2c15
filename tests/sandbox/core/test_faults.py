"""The fault framework: rules, region outages and the counters that prove faults happened."""

from __future__ import annotations

import random

import pytest
from mc_sandbox.core.faults import PROVISIONING_MESSAGES, FaultManager, FaultRule, ProvisioningFailure


def manager(seed=1):
    slept = []
    return FaultManager(rng=random.Random(seed), sleep=slept.append), slept


def test_no_rules_means_no_faults_but_requests_are_counted():
    faults, _ = manager()
    for _i in range(5):
        assert faults.apply("aws", "DescribeCluster", "us-east-1").status is None
    snap = faults.snapshot()
    assert snap["requests"] == {"aws": {"DescribeCluster": 5}}
    assert snap["requests_total"] == {"aws": 5}
    assert snap["injected"] == {}


def test_error_rate_is_roughly_honoured_and_counted():
    faults, _ = manager()
    faults.add_rule(FaultRule(cloud="aws", operation="Describe*", error_rate=0.3, statuses=[429], retry_after=2))
    decisions = [faults.decide("aws", "DescribeCluster", "us-east-1") for _i in range(1000)]
    failed = [d for d in decisions if d.status]
    assert 240 < len(failed) < 360
    assert all(d.status == 429 and d.retry_after == 2 for d in failed)
    assert faults.snapshot()["injected"] == {"aws": {"DescribeCluster": {"429": len(failed)}}}
    # other operations and clouds are untouched
    assert faults.decide("aws", "CreateCluster").status is None
    assert faults.decide("gcp", "DescribeCluster").status is None


def test_statuses_are_mixed_and_retry_after_only_on_429():
    faults, _ = manager()
    faults.add_rule(FaultRule(cloud="azure", error_rate=1.0, statuses=[429, 500, 503]))
    seen = {faults.decide("azure", "PUT managedClusters").status for _i in range(200)}
    assert seen == {429, 500, 503}
    assert faults.decide("azure", "x").retry_after in (None, 1.0)


def test_latency_is_slept_and_region_scoped():
    faults, slept = manager()
    faults.add_rule(FaultRule(cloud="gcp", region="us-central1", latency_ms=250))
    faults.apply("gcp", "clusters.get", "us-central1")
    faults.apply("gcp", "clusters.get", "europe-west1")
    assert slept == [0.25]


def test_region_down_notifies_and_clear_brings_back():
    faults, _ = manager()
    changes = []
    faults.on_change(lambda: changes.append(faults.snapshot()["regions_down"]))
    faults.region_down("aws", "us-east-1")
    faults.region_down("aws", "us-east-1")  # already down: no second notification
    assert faults.is_down("aws", "us-east-1")
    assert not faults.is_down("aws", "us-west-2")
    assert faults.decide("aws", "x", "us-east-1").region_down
    faults.clear()
    assert not faults.is_down("aws", "us-east-1")
    assert changes == [["aws/us-east-1"], []]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"cloud": "oci"}, "cloud"),
        ({"cloud": "aws", "error_rate": 1.5}, "error_rate"),
        ({"cloud": "aws", "statuses": [404]}, "statuses"),
        ({"cloud": "aws", "statuses": []}, "statuses"),
        ({"cloud": "aws", "latency_ms": -1}, "latency_ms"),
    ],
)
def test_bad_rules_name_the_field(rule, field):
    faults, _ = manager()
    with pytest.raises(ValueError, match=field):
        faults.add_rule(FaultRule(**rule))
    assert faults.snapshot()["rules"] == []


def test_rules_get_ids_and_show_in_snapshot():
    faults, _ = manager()
    first = faults.add_rule(FaultRule(cloud="aws", error_rate=0.1))
    second = faults.add_rule(FaultRule(cloud="gcp", latency_ms=10))
    assert (first.id, second.id) == (1, 2)
    assert [r["cloud"] for r in faults.snapshot()["rules"]] == ["aws", "gcp"]


# ------------------------------------------------------------------ provisioning failures
def test_provisioning_failure_matches_cloud_region_and_name_and_uses_up_its_count():
    faults, _ = manager()
    rule = faults.add_provisioning_failure(
        ProvisioningFailure(cloud="aws", region="us-east-1", name="demo-*", message="no capacity", count=2)
    )
    assert (rule.id, rule.failed) == (1, 0)
    assert faults.provisioning_failure("gcp", "us-east-1", "demo-1") is None  # other cloud
    assert faults.provisioning_failure("aws", "us-west-2", "demo-1") is None  # other region
    assert faults.provisioning_failure("aws", "us-east-1", "prod-1") is None  # other name
    assert faults.snapshot()["provisioning_failures"][0]["failed"] == 0
    assert faults.provisioning_failure("aws", "us-east-1", "demo-1") == "no capacity"
    assert faults.snapshot()["provisioning_failures"][0]["failed"] == 1
    assert faults.provisioning_failure("aws", "us-east-1", "demo-2") == "no capacity"
    assert faults.provisioning_failure("aws", "us-east-1", "demo-3") is None  # used up
    snapshot = faults.snapshot()
    assert snapshot["provisioning_failures"] == []
    assert snapshot["provisioning_failed"] == {"aws": 2}


def test_provisioning_failure_defaults_every_region_every_name_once_with_the_clouds_message():
    faults, _ = manager()
    rule = faults.add_provisioning_failure(ProvisioningFailure(cloud="azure"))
    assert (rule.region, rule.name, rule.count) == (None, "*", 1)
    assert rule.message == PROVISIONING_MESSAGES["azure"]
    [listed] = faults.snapshot()["provisioning_failures"]
    assert listed["message"] == PROVISIONING_MESSAGES["azure"]
    message = faults.provisioning_failure("azure", "westeurope", "aks-1")
    # the cloud's text, about this cluster and location
    assert "container service aks-1 failed" in message and "Location: westeurope" in message
    assert "{" not in message
    assert faults.provisioning_failure("azure", "westeurope", "aks-1") is None
    assert set(PROVISIONING_MESSAGES) == {"aws", "gcp", "azure"}


def test_provisioning_failure_count_zero_fails_every_creation_until_cleared():
    faults, _ = manager()
    faults.add_provisioning_failure(ProvisioningFailure(cloud="gcp", count=0, message="stockout"))
    assert [faults.provisioning_failure("gcp", "us-central1", f"c{i}") for i in range(5)] == ["stockout"] * 5
    assert faults.snapshot()["provisioning_failures"][0]["failed"] == 5
    faults.clear()
    assert faults.snapshot()["provisioning_failures"] == []
    assert faults.provisioning_failure("gcp", "us-central1", "c6") is None
    assert faults.snapshot()["provisioning_failed"] == {"gcp": 5}  # counters are kept


def test_provisioning_failure_region_matches_a_zone_and_rules_apply_in_order():
    faults, _ = manager()
    faults.add_provisioning_failure(ProvisioningFailure(cloud="gcp", region="us-central1-c", message="zonal"))
    faults.add_provisioning_failure(ProvisioningFailure(cloud="gcp", region="us-central1", message="regional"))
    assert faults.provisioning_failure("gcp", "us-central1", "a", zone="us-central1-a") == "regional"
    assert faults.provisioning_failure("gcp", "us-central1", "b", zone="us-central1-c") == "zonal"
    assert faults.provisioning_failure("gcp", "us-central1", "c") is None


def test_provisioning_failures_and_error_rules_share_ids():
    faults, _ = manager()
    first = faults.add_rule(FaultRule(cloud="aws", error_rate=0.1))
    second = faults.add_provisioning_failure(ProvisioningFailure(cloud="aws"))
    assert (first.id, second.id) == (1, 2)
    assert [r["id"] for r in faults.snapshot()["rules"]] == [1]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"cloud": "oci"}, "cloud"),
        ({"cloud": "cloudflare"}, "cloud"),  # no clusters to create there
        ({"cloud": "aws", "region": ""}, "region"),
        ({"cloud": "aws", "name": ""}, "name"),
        ({"cloud": "aws", "name": None}, "name"),
        ({"cloud": "aws", "message": "  "}, "message"),
        ({"cloud": "aws", "count": -1}, "count"),
        ({"cloud": "aws", "count": "2"}, "count"),
        ({"cloud": "aws", "count": True}, "count"),
    ],
)
def test_bad_provisioning_failures_name_the_field(rule, field):
    faults, _ = manager()
    with pytest.raises(ValueError, match=f"^{field}:"):
        faults.add_provisioning_failure(ProvisioningFailure(**rule))
    assert faults.snapshot()["provisioning_failures"] == []
