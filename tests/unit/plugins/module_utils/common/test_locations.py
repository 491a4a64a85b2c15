"""Locations checked against the cloud's own list, before any write."""

from __future__ import annotations

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError
from ansible_collections.multicloud.fabric.plugins.module_utils.common.locations import (
    check_location,
    in_locations,
    listing_scopes,
    validate,
)

GCP = {"us-central1": ["us-central1-a", "us-central1-b"], "europe-west1": ["europe-west1-b"]}


def test_unknown_region_names_the_option_and_the_valid_ones():
    with pytest.raises(ValidationError) as error:
        check_location("gcp", "region", "mars-central1", GCP)
    assert error.value.field == "region"
    assert "mars-central1" in error.value.describe() and "europe-west1, us-central1" in error.value.describe()


def test_zone_accepted_only_where_zonal_locations_are():
    check_location("gcp", "region", "us-central1-a", GCP, zonal=True)
    with pytest.raises(ValidationError):
        check_location("gcp", "region", "us-central1-a", GCP)
    with pytest.raises(ValidationError) as error:
        check_location("gcp", "region", "us-central1-z", GCP, zonal=True)
    assert "zones of us-central1: us-central1-a, us-central1-b" in error.value.describe()


def test_the_list_is_read_once_per_connection():
    class Conn:
        calls = 0

        def locations(self):
            Conn.calls += 1
            return {"eastus": []}

    conn = Conn()
    validate(conn, "azure", "region", "eastus")
    with pytest.raises(ValidationError):
        validate(conn, "azure", "region", "moonwest")
    assert Conn.calls == 1


def test_aws_regions_come_from_botocore_partition_data():
    pytest.importorskip("botocore")
    from ansible_collections.multicloud.fabric.plugins.module_utils.aws.client import Connection  # noqa: PLC0415

    regions = Connection({}, retrier=None).locations()
    assert "us-east-1" in regions and "us-gov-west-1" in regions and "cn-north-1" in regions
    assert "mars-1" not in regions


def test_in_locations_takes_a_zone_of_a_wanted_region():
    assert in_locations("us-central1-a", ["us-central1"])
    assert in_locations("eastus", ["westeurope", "eastus"])
    assert not in_locations("us-central10", ["us-central1"])
    assert not in_locations("eastus2", ["eastus"])


def test_listing_scopes_per_region_project_and_resource_group():
    params = {"gcp_project": "p0", "azure_subscription_id": "s0", "aws_profile": "prod"}
    assert listing_scopes("aws", params, regions=["us-east-1", "eu-west-1"]) == [
        ("aws us-east-1", params, "us-east-1", None),
        ("aws eu-west-1", params, "eu-west-1", None),
    ]
    assert listing_scopes("aws", params) == []
    assert listing_scopes("gcp", params) == [
        ("gcp project p0", dict(params, gcp_project="p0"), None, {"project": "p0"})
    ]
    gcp = listing_scopes("gcp", params, regions=["us-central1"], projects=["p1", "p2"])
    assert [(label, unit["gcp_project"], region, provider) for label, unit, region, provider in gcp] == [
        ("gcp project p1", "p1", None, {"project": "p1"}),
        ("gcp project p2", "p2", None, {"project": "p2"}),
    ]
    assert listing_scopes("azure", params) == [("azure subscription s0", params, None, None)]
    azure = listing_scopes("azure", params, resource_groups=["rg1", "rg2"], subscriptions=["s1"])
    assert [(label, unit["azure_subscription_id"], provider) for label, unit, _region, provider in azure] == [
        ("azure subscription s1 resource group rg1", "s1", {"resource_group": "rg1"}),
        ("azure subscription s1 resource group rg2", "s1", {"resource_group": "rg2"}),
    ]
    assert params == {"gcp_project": "p0", "azure_subscription_id": "s0", "aws_profile": "prod"}  # not changed
