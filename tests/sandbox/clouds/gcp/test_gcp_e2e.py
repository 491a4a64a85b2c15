"""GKE end to end, as a user of google-cloud-container, google-auth and kubernetes sees it.

A real sandbox daemon (`mc-sandbox up`, which loads the GCP emulator on its own) with a real
control plane. Only the API endpoint and the CA bundle differ from real Google: credentials come
from the service-account key file the sandbox hands out, the cluster is created and changed
through the SDK and its operations, and the Kubernetes API is reached the way GKE hands it out
(endpoint + cluster CA + an OAuth access token from the same credentials).
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from google.api_core import exceptions as gexc
from google.auth.transport.requests import Request as AuthRequest
from google.cloud import compute_v1, container_v1
from google.oauth2 import service_account
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException
from mc_sandbox.core.clients import ready_nodes
from support import wait_until

ZONE = "us-central1-c"
CLUSTER = "e2e-gke"
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]


@pytest.fixture(scope="module")
def gcp(sandbox):
    endpoints = sandbox["endpoints"]["gcp"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", endpoints["ca_bundle"])
        # google-auth's background "regional access boundary" lookup goes to a fixed Google host.
        patch.setattr(service_account.Credentials, "_is_regional_access_boundary_lookup_required", lambda self: False)
        creds = service_account.Credentials.from_service_account_file(endpoints["service_account_file"], scopes=SCOPES)
        client = container_v1.ClusterManagerClient(
            credentials=creds, transport="rest", client_options={"api_endpoint": endpoints["api_endpoint"]}
        )
        yield {"endpoints": endpoints, "creds": creds, "client": client, "sandbox": sandbox}


def parent(gcp) -> str:
    return f"projects/{gcp['endpoints']['project']}/locations/{ZONE}"


def wait_operation(gcp, operation, timeout=60):
    name = f"{parent(gcp)}/operations/{operation.name}"

    def done():
        current = gcp["client"].get_operation(name=name)
        return current if current.status == container_v1.Operation.Status.DONE else None

    finished = wait_until(done, timeout, f"operation {operation.name}")
    assert not finished.error.message, finished.error.message
    return finished


def kube_client(cluster: container_v1.Cluster, token: str, directory) -> k8s.ApiClient:
    """What `gcloud container clusters get-credentials` sets up, with the token inline."""
    ca = directory / "gke-ca.crt"
    ca.write_bytes(base64.b64decode(cluster.master_auth.cluster_ca_certificate))
    config = k8s.Configuration()
    config.host = f"https://{cluster.endpoint}"
    config.ssl_ca_cert = str(ca)
    config.api_key = {"authorization": f"Bearer {token}"}
    config.retries = 0
    return k8s.ApiClient(config)


def test_gke_cluster_lifecycle_with_real_control_plane(gcp, tmp_path):
    started = time.monotonic()
    client = gcp["client"]
    name = f"{parent(gcp)}/clusters/{CLUSTER}"
    operation = client.create_cluster(
        parent=parent(gcp),
        cluster={
            "name": CLUSTER,
            "initial_cluster_version": "1.32",
            "node_pools": [
                {
                    "name": "workers",
                    "initial_node_count": 3,
                    "config": {"machine_type": "e2-standard-4", "labels": {"team": "platform"}},
                }
            ],
        },
    )
    assert client.get_cluster(name=name).status == container_v1.Cluster.Status.PROVISIONING
    wait_operation(gcp, operation)
    cluster = client.get_cluster(name=name)
    assert cluster.status == container_v1.Cluster.Status.RUNNING
    assert cluster.endpoint.startswith("127.0.0.1:")

    # Credentials the way GKE hands them out: endpoint, cluster CA and an access token of the same
    # service account (what gke-gcloud-auth-plugin would print).
    token_creds = service_account.Credentials.from_service_account_file(
        gcp["endpoints"]["service_account_file"], scopes=SCOPES
    )
    token_creds.refresh(AuthRequest())
    api = kube_client(cluster, token_creds.token, tmp_path)
    nodes = wait_until(lambda: len(ready_nodes(api)) == 3 and ready_nodes(api), 60, "3 Ready nodes")
    for node in nodes:
        labels = node.metadata.labels
        assert labels["cloud.google.com/gke-nodepool"] == "workers"
        assert labels["node.kubernetes.io/instance-type"] == "e2-standard-4"
        assert labels["topology.kubernetes.io/zone"] == ZONE
        assert labels["topology.kubernetes.io/region"] == "us-central1"
        assert labels["team"] == "platform"

    # A token the sandbox never issued is refused by the cluster's API server.
    with pytest.raises(ApiException) as info:
        k8s.CoreV1Api(kube_client(cluster, token_creds.token + "x", tmp_path)).list_node()
    assert info.value.status == 401

    operation = client.set_node_pool_size(request={"name": f"{name}/nodePools/workers", "node_count": 5})
    wait_operation(gcp, operation)
    wait_until(lambda: len(ready_nodes(api)) == 5, 60, "5 Ready nodes")
    assert client.get_node_pool(name=f"{name}/nodePools/workers").initial_node_count == 5

    server = k8s.VersionApi(api).get_code().git_version
    assert server.startswith("v1.33.")
    operation = client.update_master(request={"name": name, "master_version": "1.33"})
    assert client.get_cluster(name=name).status == container_v1.Cluster.Status.RECONCILING
    wait_operation(gcp, operation)
    cluster = client.get_cluster(name=name)
    assert cluster.status == container_v1.Cluster.Status.RUNNING
    assert cluster.current_master_version.startswith(server.removeprefix("v").rsplit(".", 1)[0] + ".")

    status = json.loads(gcp["sandbox"]["cli"]("status", "--json").stdout)
    (listed,) = [c for c in status["clouds"]["gcp"]["clusters"] if c["name"] == CLUSTER]
    assert listed["status"] == "RUNNING"
    assert listed["node_pools"][0]["node_count"] == 5
    assert f"gcp/{ZONE}/{CLUSTER}" in status["kubernetes"]["clusters"]
    assert "private_key" not in json.dumps(status["clouds"]["gcp"])

    operation = client.delete_cluster(name=name)
    wait_operation(gcp, operation)
    with pytest.raises(gexc.NotFound):
        client.get_cluster(name=name)
    status = json.loads(gcp["sandbox"]["cli"]("status", "--json").stdout)
    assert [c for c in status["clouds"]["gcp"]["clusters"] if c["name"] == CLUSTER] == []
    assert f"gcp/{ZONE}/{CLUSTER}" not in status["kubernetes"]["clusters"]
    assert time.monotonic() - started < 60


def test_compute_vpc_through_extended_operations(gcp):
    """google-cloud-compute against the daemon: each client's operations client is pointed at the
    sandbox too (the SDK builds it without client_options, see shared/specs/README.md)."""
    endpoints, creds = gcp["endpoints"], gcp["creds"]
    options = {"api_endpoint": endpoints["api_endpoint"]}

    def make(cls):
        client = cls(credentials=creds, transport="rest", client_options=options)
        client._transport._extended_operations_services.update(
            global_operations=compute_v1.GlobalOperationsClient(
                credentials=creds, transport="rest", client_options=options
            ),
            region_operations=compute_v1.RegionOperationsClient(
                credentials=creds, transport="rest", client_options=options
            ),
        )
        return client

    project, region = endpoints["project"], "europe-west1"
    networks, subnetworks = make(compute_v1.NetworksClient), make(compute_v1.SubnetworksClient)
    networks.insert(project=project, network_resource={"name": "e2e-vpc", "auto_create_subnetworks": False}).result(
        timeout=30
    )
    subnetworks.insert(
        project=project,
        region=region,
        subnetwork_resource={
            "name": "e2e-nodes",
            "network": f"projects/{project}/global/networks/e2e-vpc",
            "ip_cidr_range": "10.0.0.0/20",
            "secondary_ip_ranges": [{"range_name": "pods", "ip_cidr_range": "10.4.0.0/14"}],
        },
    ).result(timeout=30)
    subnet = subnetworks.get(project=project, region=region, subnetwork="e2e-nodes")
    assert subnet.secondary_ip_ranges[0].range_name == "pods"
    assert networks.get(project=project, network="e2e-vpc").subnetworks == [subnet.self_link]
    subnetworks.delete(project=project, region=region, subnetwork="e2e-nodes").result(timeout=30)
    networks.delete(project=project, network="e2e-vpc").result(timeout=30)
    status = json.loads(gcp["sandbox"]["cli"]("status", "--json").stdout)
    assert status["clouds"]["gcp"]["compute"]["resources"] == {}
    assert status["faults"]["requests"]["gcp"]["networks.insert"] >= 1
