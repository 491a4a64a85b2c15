"""Locations checked against the cloud's own list, before any write."""

from __future__ import annotations

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError
from ansible_collections.multicloud.fabric.plugins.module_utils.common.locations import check_location, validate

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
