"""mc_cluster_info: each region applies only to the clouds whose own list has it."""

from __future__ import annotations

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.cluster import runner
from ansible_collections.multicloud.fabric.plugins.module_utils.common import clouds
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError

# Each cloud's own list, as Connection.locations() returns it ({region: [zones]}).
KNOWN = {
    "aws": {"us-east-1": [], "eu-west-1": []},
    "gcp": {"us-central1": ["us-central1-a", "us-central1-c"], "europe-west1": ["europe-west1-b"]},
    "azure": {"eastus": [], "westeurope": []},
}
# What each cloud has: (cloud, region, name).
EXISTING = [
    ("aws", "us-east-1", "eks-1"),
    ("aws", "eu-west-1", "eks-2"),
    ("gcp", "us-central1", "gke-1"),
    ("gcp", "us-central1-a", "gke-zonal"),
    ("gcp", "europe-west1", "gke-2"),
    ("azure", "eastus", "aks-1"),
]


class Conn:
    def __init__(self, cloud, region, log):
        self.cloud, self.region, self.log = cloud, region, log

    def locations(self):
        self.log.append((self.cloud, "locations"))
        return KNOWN[self.cloud]


class Adapter:
    def __init__(self, conn):
        self.conn = conn

    def list(self, region=None, provider=None):
        self.conn.log.append((self.conn.cloud, "list", region))
        found = [(c, r, n) for c, r, n in EXISTING if c == self.conn.cloud and (region is None or r == region)]
        return [{"cloud": c, "region": r, "name": n, "status": "ACTIVE", "node_pools": []} for c, r, n in found]


class Module:
    def __init__(self, **params):
        self.params = {
            "clouds": ["aws"],
            "regions": None,
            "name": None,
            "projects": None,
            "resource_groups": None,
            "return_kubeconfig": False,
            "kubeconfig_auth": "token",
            "gcp_project": "p1",
            **params,
        }

    def retrier(self, cloud):
        return None


@pytest.fixture
def calls(monkeypatch):
    log = []
    monkeypatch.setattr(clouds, "connect", lambda cloud, params, retrier, region=None: Conn(cloud, region, log))
    monkeypatch.setattr(clouds, "clusters", lambda cloud, conn: Adapter(conn))
    return log


def names(result):
    return [(c["cloud"], c["name"]) for c in result["clusters"]]


def test_an_aws_and_a_gcp_region_each_apply_to_their_cloud_only(calls):
    result = runner.info(Module(clouds=["aws", "gcp"], regions=["us-east-1", "us-central1"]))
    # EKS is listed in us-east-1 only: AWS is never asked about the GCP region.
    assert [c for c in calls if c[0] == "aws" and c[1] == "list"] == [("aws", "list", "us-east-1")]
    assert ("aws", "list", "us-central1") not in calls
    # GKE lists per project, then keeps its own region (a zone of it counts).
    assert names(result) == [("aws", "eks-1"), ("gcp", "gke-1"), ("gcp", "gke-zonal")]
    # One location list per cloud for the task.
    assert calls.count(("aws", "locations")) == 1 and calls.count(("gcp", "locations")) == 1


def test_a_cloud_none_of_whose_regions_is_given_is_not_listed(calls):
    result = runner.info(Module(clouds=["aws", "gcp", "azure"], regions=["westeurope"]))
    assert [c for c in calls if c[1] == "list"] == [("azure", "list", None)]
    assert names(result) == []


def test_a_gcp_zone_scopes_gcp_only(calls):
    result = runner.info(Module(clouds=["aws", "gcp"], regions=["us-central1-a"]))
    assert [c for c in calls if c[1] == "list"] == [("gcp", "list", None)]
    assert names(result) == [("gcp", "gke-zonal")]


def test_a_region_no_selected_cloud_has_fails_naming_its_index(calls):
    with pytest.raises(ValidationError) as error:
        runner.info(Module(clouds=["aws", "gcp"], regions=["us-east-1", "eastus"]))
    assert error.value.field == "regions[1]"
    text = error.value.describe()
    assert "'eastus' is not a region of aws, gcp" in text
    assert "AWS regions: eu-west-1, us-east-1" in text and "Google Cloud regions: europe-west1, us-central1" in text
    assert [c for c in calls if c[1] == "list"] == []  # nothing listed before the error


def test_aws_alone_still_needs_regions(calls):
    with pytest.raises(ValidationError) as error:
        runner.info(Module(clouds=["aws"]))
    assert error.value.field == "regions"
