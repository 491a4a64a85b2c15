"""`mc-sandbox fault fail-create`: cluster creations that fail the way each cloud reports it.

Against the real sandbox daemon, through the official SDKs only: the cluster goes through its
creating state, then ends FAILED (EKS), ERROR (GKE) or Failed (AKS) with the fault's message where
that cloud's API shows it; no control plane runs for it, it can be deleted, and once the rule is
used up (or cleared) the next creation of the same name succeeds.
"""

from __future__ import annotations

import json

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from botocore.config import Config
from botocore.exceptions import WaiterError
from google.api_core import exceptions as gexc
from google.cloud import container_v1
from google.oauth2 import service_account
from google.rpc import code_pb2
from mc_sandbox.core.clients import aws_session, eks_subnets
from support import azure_clients, wait_until

FAST = Config(retries={"mode": "standard", "max_attempts": 10})
WAIT = {"Delay": 1, "MaxAttempts": 120}


def status(sandbox) -> dict:
    """What `mc-sandbox status --json` prints, from the admin API it reads (a CLI run takes a second)."""
    response = requests.get(sandbox["endpoints"]["admin_url"] + "/status", timeout=30)
    response.raise_for_status()
    return response.json()


def fail_create(sandbox, *args) -> dict:
    result = sandbox["cli"]("fault", "fail-create", *args, "--json")
    return json.loads(result.stdout)["provisioning_failure"]


def rules(sandbox) -> list[dict]:
    return status(sandbox)["faults"]["provisioning_failures"]


@pytest.fixture(autouse=True)
def no_fault_left(sandbox):
    yield
    sandbox["cli"]("fault", "clear")


def test_fail_create_validates_and_shows_in_status(sandbox):
    cli = sandbox["cli"]
    bad = cli("fault", "fail-create", "--cloud", "aws", "--count", "-1", check=False)
    assert bad.returncode != 0
    assert "count:" in bad.stderr
    bad = cli("fault", "fail-create", "--cloud", "aws", "--name", "", check=False)
    assert bad.returncode != 0
    assert "name:" in bad.stderr
    assert rules(sandbox) == []

    rule = fail_create(sandbox, "--cloud", "gcp", "--region", "europe-west4", "--count", "3", "--message", "stockout")
    assert {k: rule[k] for k in ("cloud", "region", "name", "message", "count", "failed")} == {
        "cloud": "gcp",
        "region": "europe-west4",
        "name": "*",
        "message": "stockout",
        "count": 3,
        "failed": 0,
    }
    text = cli("status").stdout
    assert f"fail-create {rule['id']}: gcp europe-west4/* (3 more creation(s)): stockout" in text
    listed = json.loads(cli("status", "--json").stdout)["faults"]["provisioning_failures"]
    assert [r["id"] for r in listed] == [rule["id"]]
    cli("fault", "clear")
    assert rules(sandbox) == []
    assert "fail-create" not in cli("status").stdout


# ------------------------------------------------------------------ EKS
def test_eks_creation_ends_failed_with_the_health_issue_and_can_be_deleted(sandbox):
    region, name = "us-west-2", "fail-eks"
    endpoint = sandbox["endpoints"]["aws"]["endpoint_url"]
    session = aws_session(sandbox["endpoints"], region)
    eks = session.client("eks", endpoint_url=endpoint, config=FAST)
    subnets = eks_subnets(session.client("ec2", endpoint_url=endpoint, config=FAST), region, "10.9")

    rule = fail_create(sandbox, "--cloud", "aws", "--region", region, "--name", "fail-*")
    assert (rule["count"], rule["name"]) == (1, "fail-*")
    assert "fail-create" in sandbox["cli"]("status").stdout

    def create():
        eks.create_cluster(
            name=name,
            version="1.33",
            roleArn="arn:aws:iam::123456789012:role/eks",
            resourcesVpcConfig={"subnetIds": subnets},
        )

    create()
    assert eks.describe_cluster(name=name)["cluster"]["status"] == "CREATING"
    assert rules(sandbox) == []  # the one creation it was for has started
    # What a module waiting for ACTIVE sees: the waiter stops at FAILED, it does not time out.
    with pytest.raises(WaiterError, match="terminal failure state"):
        eks.get_waiter("cluster_active").wait(name=name, WaiterConfig=WAIT)
    cluster = eks.describe_cluster(name=name)["cluster"]
    assert cluster["status"] == "FAILED"
    [issue] = cluster["health"]["issues"]
    assert issue["code"] == "InsufficientFreeAddresses"
    assert issue["message"].startswith(f"One or more of the subnets associated with cluster {name} does not")
    assert sorted(issue["resourceIds"]) == sorted(subnets)
    assert "endpoint" not in cluster or not cluster["endpoint"]

    now = status(sandbox)
    [listed] = [c for c in now["clouds"]["aws"]["clusters"] if c["name"] == name]
    assert listed["status"] == "FAILED"
    assert f"aws/{region}/{name}" not in now["kubernetes"]["clusters"]  # no control plane
    assert now["faults"]["provisioning_failed"]["aws"] >= 1

    eks.delete_cluster(name=name)
    eks.get_waiter("cluster_deleted").wait(name=name, WaiterConfig=WAIT)
    assert name not in eks.list_clusters()["clusters"]

    # the rule is used up: the same name now becomes a real cluster
    create()
    eks.get_waiter("cluster_active").wait(name=name, WaiterConfig=WAIT)
    assert eks.describe_cluster(name=name)["cluster"]["endpoint"].startswith("https://127.0.0.1:")
    assert f"aws/{region}/{name}" in status(sandbox)["kubernetes"]["clusters"]
    eks.delete_cluster(name=name)
    eks.get_waiter("cluster_deleted").wait(name=name, WaiterConfig=WAIT)
    assert f"aws/{region}/{name}" not in status(sandbox)["kubernetes"]["clusters"]


# ------------------------------------------------------------------ GKE
@pytest.fixture
def gke(sandbox, monkeypatch):
    endpoints = sandbox["endpoints"]["gcp"]
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", endpoints["ca_bundle"])
    # google-auth's background "regional access boundary" lookup goes to a fixed Google host.
    monkeypatch.setattr(service_account.Credentials, "_is_regional_access_boundary_lookup_required", lambda self: False)
    creds = service_account.Credentials.from_service_account_file(
        endpoints["service_account_file"], scopes=["https://www.googleapis.com/auth/cloud-platform"]
    )
    client = container_v1.ClusterManagerClient(
        credentials=creds, transport="rest", client_options={"api_endpoint": endpoints["api_endpoint"]}
    )
    return client, f"projects/{endpoints['project']}/locations/europe-west1-b"


def _gke_done(client, parent, operation):
    name = f"{parent}/operations/{operation.name}"

    def done():
        current = client.get_operation(name=name)
        return current if current.status == container_v1.Operation.Status.DONE else None

    return wait_until(done, 60, f"operation {operation.name}")


def test_gke_creation_ends_in_error_with_the_operation_error_and_can_be_deleted(sandbox, gke):
    client, parent = gke
    name = "fail-gke"
    message = "Try a different location, or try again later: the zone does not have enough resources."
    # a region's rule covers its zones
    fail_create(sandbox, "--cloud", "gcp", "--region", "europe-west1", "--name", name, "--message", message)
    cluster = {"name": name, "node_pools": [{"name": "workers", "initial_node_count": 1}]}

    operation = client.create_cluster(parent=parent, cluster=cluster)
    assert client.get_cluster(name=f"{parent}/clusters/{name}").status == container_v1.Cluster.Status.PROVISIONING
    assert rules(sandbox) == []
    finished = _gke_done(client, parent, operation)
    assert finished.error.code == code_pb2.RESOURCE_EXHAUSTED
    assert finished.error.message == message
    failed = client.get_cluster(name=f"{parent}/clusters/{name}")
    assert failed.status == container_v1.Cluster.Status.ERROR
    assert failed.status_message == message
    [condition] = failed.conditions
    assert condition.code == container_v1.StatusCondition.Code.GCE_QUOTA_EXCEEDED
    assert condition.canonical_code == code_pb2.RESOURCE_EXHAUSTED
    assert condition.message == message
    assert [pool.status for pool in failed.node_pools] == [container_v1.NodePool.Status.ERROR]
    assert not failed.endpoint
    assert f"gcp/europe-west1-b/{name}" not in status(sandbox)["kubernetes"]["clusters"]

    deleted = _gke_done(client, parent, client.delete_cluster(name=f"{parent}/clusters/{name}"))
    assert not deleted.error.message
    with pytest.raises(gexc.NotFound):
        client.get_cluster(name=f"{parent}/clusters/{name}")

    operation = client.create_cluster(parent=parent, cluster=cluster)
    assert not _gke_done(client, parent, operation).error.message
    assert client.get_cluster(name=f"{parent}/clusters/{name}").status == container_v1.Cluster.Status.RUNNING
    assert f"gcp/europe-west1-b/{name}" in status(sandbox)["kubernetes"]["clusters"]
    assert not _gke_done(client, parent, client.delete_cluster(name=f"{parent}/clusters/{name}")).error.message
    assert f"gcp/europe-west1-b/{name}" not in status(sandbox)["kubernetes"]["clusters"]


# ------------------------------------------------------------------ AKS
def test_aks_creation_ends_failed_with_the_operation_error_and_can_be_deleted(sandbox):
    group, name, location = "fail-rg", "fail-aks", "northeurope"
    resources, aks = azure_clients(sandbox)
    resources.resource_groups.create_or_update(group, {"location": location})
    body = {
        "location": location,
        "properties": {
            "dnsPrefix": "fail",
            "agentPoolProfiles": [{"name": "system", "count": 1, "vmSize": "Standard_D2s_v5", "mode": "System"}],
        },
    }
    # count 0: every matching creation fails until the rule is cleared
    rule = fail_create(sandbox, "--cloud", "azure", "--region", location, "--count", "0")
    try:
        poller = aks.managed_clusters.begin_create_or_update(group, name, body)
        assert aks.managed_clusters.get(group, name).properties.provisioning_state == "Creating"
        with pytest.raises(HttpResponseError) as info:
            poller.result()
        assert info.value.error.code == "QuotaExceeded"
        assert info.value.error.message.startswith(f"Provisioning of resource(s) for container service {name} failed.")
        assert f"Location: {location}," in info.value.error.message
        cluster = aks.managed_clusters.get(group, name)
        assert cluster.properties.provisioning_state == "Failed"
        assert cluster.properties.status.provisioning_error.code == "QuotaExceeded"
        assert cluster.properties.status.provisioning_error.message == info.value.error.message
        assert cluster.properties.agent_pool_profiles[0].provisioning_state == "Failed"
        now = status(sandbox)
        assert f"azure/{location}/{name}" not in now["kubernetes"]["clusters"]
        [listed] = now["faults"]["provisioning_failures"]
        assert (listed["id"], listed["count"], listed["failed"]) == (rule["id"], 0, 1)
        assert "every creation" in sandbox["cli"]("status").stdout

        aks.managed_clusters.begin_delete(group, name).result()
        assert [c.name for c in aks.managed_clusters.list_by_resource_group(group)] == []
    finally:
        sandbox["cli"]("fault", "clear")
    assert rules(sandbox) == []

    cluster = aks.managed_clusters.begin_create_or_update(group, name, body).result()
    assert cluster.properties.provisioning_state == "Succeeded"
    assert cluster.properties.status is None or cluster.properties.status.provisioning_error is None
    assert f"azure/{location}/{name}" in status(sandbox)["kubernetes"]["clusters"]
    aks.managed_clusters.begin_delete(group, name).result()
    resources.resource_groups.begin_delete(group).result()
    assert f"azure/{location}/{name}" not in status(sandbox)["kubernetes"]["clusters"]
