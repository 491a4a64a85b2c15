"""The sandbox's Google Cloud through the official SDKs, with a fake Kubernetes runtime.

google-auth (service-account key file), google-cloud-container (REST transport) and
google-cloud-compute talk to a `GcpCloud` started in this process; only the endpoint and the CA
bundle differ from real Google. Every request body the server receives and every answer it sends
is checked against Google's discovery documents and parsed by the SDK's own types (the contract).
"""

from __future__ import annotations

import base64
import json
import pathlib
import threading
import time

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exceptions
from google.auth import jwt as google_jwt
from google.auth.transport.requests import Request as AuthRequest
from google.cloud import compute_v1, container_v1
from google.oauth2 import credentials as oauth2_credentials
from google.oauth2 import service_account
from google.protobuf import json_format
from mc_sandbox.clouds.gcp.auth import TOKEN_LIFETIME, TOKEN_PREFIX
from mc_sandbox.clouds.gcp.server import GcpCloud
from mc_sandbox.core.faults import FaultRule
from mc_sandbox.core.runtime import CloudContext
from mc_sandbox.k8s.pki import sandbox_tls
from support import CA_PEM
from support import SPECS as SHARED_SPECS

from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Retrier, RetryPolicy
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp.client import Connection

SPECS = SHARED_SPECS / "gcp"
ZONE = "us-central1-a"
REGION = "us-central1"
# 5 simulated minutes of cluster creation take 0.3 s.
TIME_FACTOR = 0.001
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]


# ---------------------------------------------------------------------------- the contract
class ContractError(AssertionError):
    pass


@pytest.fixture(scope="session")
def discovery():
    return {name: json.loads((SPECS / f"{name}.v1.json").read_text()) for name in ("container", "compute")}


def check_schema(doc: dict, schema: dict, value, path: str = "$", *, int_enums: bool = False) -> None:
    """Validate `value` against a discovery-document schema: $ref, types, properties, enums.

    Unknown properties fail. With `int_enums` (GKE's `enum-encoding=int`) an enum may also be its
    index, which is how proto enums are numbered in these APIs.
    """
    if "$ref" in schema:
        schema = doc["schemas"][schema["$ref"]]
    kind = schema.get("type")
    if kind == "any":
        return
    if kind == "object":
        if not isinstance(value, dict):
            raise ContractError(f"{path}: expected an object, got {value!r}")
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if properties and key in properties:
                check_schema(doc, properties[key], item, f"{path}.{key}", int_enums=int_enums)
            elif extra is not None:
                check_schema(doc, extra, item, f"{path}.{key}", int_enums=int_enums)
            else:
                raise ContractError(f"{path}: unknown field {key!r}")
    elif kind == "array":
        if not isinstance(value, list):
            raise ContractError(f"{path}: expected an array, got {value!r}")
        for index, item in enumerate(value):
            check_schema(doc, schema["items"], item, f"{path}[{index}]", int_enums=int_enums)
    elif kind == "string":
        enum = schema.get("enum")
        if enum and int_enums and isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value < len(enum):
                raise ContractError(f"{path}: enum index {value} out of range")
            return
        if schema.get("format") in ("int64", "uint64") and isinstance(value, int) and not isinstance(value, bool):
            return
        if not isinstance(value, str):
            raise ContractError(f"{path}: expected a string, got {value!r}")
        if enum and value not in enum:
            raise ContractError(f"{path}: {value!r} is not one of {enum}")
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ContractError(f"{path}: expected an integer, got {value!r}")
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ContractError(f"{path}: expected a number, got {value!r}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise ContractError(f"{path}: expected a boolean, got {value!r}")
    else:
        raise ContractError(f"{path}: schema type {kind!r} not understood")


# operation -> (request schema, response schema, SDK type the response must parse into)
GKE_CONTRACT = {
    "CreateCluster": ("CreateClusterRequest", "Operation", container_v1.Operation),
    "ListClusters": (None, "ListClustersResponse", container_v1.ListClustersResponse),
    "GetCluster": (None, "Cluster", container_v1.Cluster),
    "UpdateCluster": ("UpdateClusterRequest", "Operation", container_v1.Operation),
    "DeleteCluster": (None, "Operation", container_v1.Operation),
    "UpdateMaster": ("UpdateMasterRequest", "Operation", container_v1.Operation),
    "SetLabels": ("SetLabelsRequest", "Operation", container_v1.Operation),
    "ListNodePools": (None, "ListNodePoolsResponse", container_v1.ListNodePoolsResponse),
    "CreateNodePool": ("CreateNodePoolRequest", "Operation", container_v1.Operation),
    "GetNodePool": (None, "NodePool", container_v1.NodePool),
    "UpdateNodePool": ("UpdateNodePoolRequest", "Operation", container_v1.Operation),
    "DeleteNodePool": (None, "Operation", container_v1.Operation),
    "SetNodePoolSize": ("SetNodePoolSizeRequest", "Operation", container_v1.Operation),
    "SetNodePoolAutoscaling": ("SetNodePoolAutoscalingRequest", "Operation", container_v1.Operation),
    "ListOperations": (None, "ListOperationsResponse", container_v1.ListOperationsResponse),
    "GetOperation": (None, "Operation", container_v1.Operation),
    "GetServerConfig": (None, "ServerConfig", container_v1.ServerConfig),
}
COMPUTE_TYPES = {
    "networks": ("Network", compute_v1.Network, "NetworkList", compute_v1.NetworkList),
    "subnetworks": ("Subnetwork", compute_v1.Subnetwork, "SubnetworkList", compute_v1.SubnetworkList),
    "firewalls": ("Firewall", compute_v1.Firewall, "FirewallList", compute_v1.FirewallList),
    "addresses": ("Address", compute_v1.Address, "AddressList", compute_v1.AddressList),
    "regions": ("Region", compute_v1.Region, "RegionList", compute_v1.RegionList),
}


def contract_of(operation: str):
    """(discovery doc name, request schema, response schema, SDK type) of a recorded operation."""
    service, name = operation.split(":")
    if service == "gke":
        return ("container", *GKE_CONTRACT[name])
    collection, verb = name.split(".")
    if collection.endswith("Operations"):
        return ("compute", None, "OperationList" if verb == "list" else "Operation", None)
    single, single_type, listed, list_type = COMPUTE_TYPES[collection]
    if verb == "insert":
        return ("compute", single, "Operation", compute_v1.Operation)
    if verb == "delete":
        return ("compute", None, "Operation", compute_v1.Operation)
    if verb == "get":
        return ("compute", None, single, single_type)
    return ("compute", None, listed, list_type)


def check_request(discovery, operation: str, body: dict) -> None:
    doc, request, _, _ = contract_of(operation)
    if request is None:
        assert body == {}, f"{operation} takes no body, got {body}"
        return
    check_schema(discovery[doc], {"$ref": request}, body, operation, int_enums=doc == "container")


def check_response(discovery, operation: str, body: dict) -> None:
    doc, _, response, sdk_type = contract_of(operation)
    check_schema(discovery[doc], {"$ref": response}, body, operation, int_enums=doc == "container")
    if sdk_type is None:
        sdk_type = compute_v1.OperationList if response == "OperationList" else compute_v1.Operation
    sdk_type.from_json(json.dumps(body), ignore_unknown_fields=False)


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True)
def _no_regional_access_boundary_lookups(monkeypatch):
    """google-auth looks up a service account's "regional access boundary" at
    iamcredentials.googleapis.com in the background after each refresh (a fixed host, no setting
    turns it off); tests stay off the network."""
    monkeypatch.setattr(service_account.Credentials, "_is_regional_access_boundary_lookup_required", lambda self: False)


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return sandbox_tls(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def trusted_tls(tls, monkeypatch):
    """The sandbox's TLS files, with its CA trusted by requests (so by google-auth and the SDKs)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca))
    return tls


@pytest.fixture
def cloud(faults, runtime, trusted_tls, tmp_path, discovery):
    cloud = GcpCloud(CloudContext(faults, runtime, TIME_FACTOR, tmp_path / "gcp", trusted_tls))
    cloud.endpoints = cloud.start()
    cloud.record = True
    yield cloud
    cloud.stop()
    cloud.reset()
    assert not [t.name for t in threading.enumerate() if t.name.startswith("mc-sandbox-gcp")]
    # The contract: everything this test sent and received, against the discovery documents.
    for operation, body in cloud.recorded_requests:
        check_request(discovery, operation, body)
    for operation, _status, body in cloud.recorded_responses:
        check_response(discovery, operation, body)


@pytest.fixture
def creds(cloud):
    return service_account.Credentials.from_service_account_file(cloud.endpoints["service_account_file"], scopes=SCOPES)


@pytest.fixture
def gke(cloud, creds):
    return container_v1.ClusterManagerClient(
        credentials=creds, transport="rest", client_options={"api_endpoint": cloud.endpoints["api_endpoint"]}
    )


def parent(cloud, location=ZONE):
    return f"projects/{cloud.project}/locations/{location}"


def wait_op(gke, cloud, op, location=ZONE, timeout=20):
    deadline = time.monotonic() + timeout
    name = f"{parent(cloud, location)}/operations/{op.name}"
    while True:
        current = gke.get_operation(name=name)
        if current.status == container_v1.Operation.Status.DONE:
            return current
        assert time.monotonic() < deadline, f"operation {op.name} still {current.status}"
        time.sleep(0.02)


def create_cluster(gke, cloud, name="c1", location=ZONE, **cluster):
    cluster = {
        "name": name,
        "node_pools": [{"name": "workers", "initial_node_count": 3, "config": {"machine_type": "e2-standard-4"}}],
        **cluster,
    }
    return gke.create_cluster(parent=parent(cloud, location), cluster=cluster)


# ---------------------------------------------------------------------------- auth
def test_service_account_key_gets_an_access_token_from_the_sandbox(cloud, creds):
    key = json.loads(pathlib.Path(cloud.endpoints["service_account_file"]).read_text())
    assert key["type"] == "service_account"
    assert key["token_uri"] == cloud.endpoints["token_uri"] == f"{cloud.endpoints['api_endpoint']}/token"
    assert key["client_email"] == cloud.endpoints["service_account_email"]
    assert (pathlib.Path(cloud.endpoints["service_account_file"]).stat().st_mode & 0o777) == 0o600
    creds.refresh(AuthRequest())
    assert creds.token.startswith(TOKEN_PREFIX)
    assert creds.valid
    remaining = (creds.expiry - creds.expiry.utcnow()).total_seconds()
    assert TOKEN_LIFETIME - 60 < remaining <= TOKEN_LIFETIME
    assert cloud.tokens.identify(creds.token) == key["client_email"]


def test_assertion_signed_by_another_key_or_for_another_audience_is_refused(cloud):
    key = json.loads(pathlib.Path(cloud.endpoints["service_account_file"]).read_text())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = dict(
        key,
        private_key=other.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    )
    with pytest.raises(auth_exceptions.RefreshError, match="invalid_grant"):
        service_account.Credentials.from_service_account_info(forged, scopes=SCOPES).refresh(AuthRequest())
    signer = service_account.Credentials.from_service_account_info(key).signer
    now = int(time.time())
    claims = {"iss": key["client_email"], "scope": SCOPES[0], "iat": now, "exp": now + 600}
    for audience, error in (("https://elsewhere.example/token", "invalid_grant"), (key["token_uri"], None)):
        assertion = google_jwt.encode(signer, dict(claims, aud=audience)).decode()
        answer = requests.post(
            cloud.endpoints["token_uri"],
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
            timeout=10,
        )
        assert answer.status_code == (400 if error else 200)
        assert answer.json().get("error") == error
    stale = google_jwt.encode(signer, dict(claims, aud=key["token_uri"], iat=now - 7200, exp=now - 3600)).decode()
    answer = requests.post(
        cloud.endpoints["token_uri"],
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": stale},
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_api_rejects_missing_bad_and_expired_tokens_with_google_401(cloud, creds):
    url = f"{cloud.endpoints['api_endpoint']}/v1/{parent(cloud)}/clusters"
    compute_url = f"{cloud.endpoints['compute_endpoint']}/projects/{cloud.project}/global/networks"
    for headers in ({}, {"Authorization": "Bearer ya29.not-a-real-token"}, {"Authorization": "Basic Zm9vOmJhcg=="}):
        for target in (url, compute_url):
            answer = requests.get(target, headers=headers, timeout=10)
            assert answer.status_code == 401
            error = answer.json()["error"]
            assert error["code"] == 401
            assert error["status"] == "UNAUTHENTICATED"
            assert error["message"]
    creds.refresh(AuthRequest())
    assert requests.get(url, headers={"Authorization": f"Bearer {creds.token}"}, timeout=10).status_code == 200
    cloud.tokens.expire(creds.token)
    assert requests.get(url, headers={"Authorization": f"Bearer {creds.token}"}, timeout=10).status_code == 401
    # The SDK's session answers a 401 by refreshing its credentials once, then retrying.
    stale = oauth2_credentials.Credentials(token="ya29.bogus")
    anonymous = container_v1.ClusterManagerClient(
        credentials=stale, transport="rest", client_options={"api_endpoint": cloud.endpoints["api_endpoint"]}
    )
    with pytest.raises(auth_exceptions.RefreshError):
        anonymous.list_clusters(parent=parent(cloud))


def test_gke_token_webhook_makes_the_service_account_cluster_admin(cloud, runtime, creds):
    authenticate = runtime.authenticators[TOKEN_PREFIX]
    creds.refresh(AuthRequest())
    user = authenticate(f"gcp/{ZONE}/c1", creds.token)
    assert user.username == cloud.endpoints["service_account_email"]
    assert "system:masters" in user.groups
    assert authenticate(f"gcp/{ZONE}/c1", creds.token + "x") is None
    assert authenticate(f"aws/{ZONE}/c1", creds.token) is None
    cloud.tokens.expire(creds.token)
    assert authenticate(f"gcp/{ZONE}/c1", creds.token) is None


# ---------------------------------------------------------------------------- clusters
def test_cluster_create_provisions_then_runs_on_a_real_control_plane(cloud, gke, runtime):
    op = create_cluster(
        gke,
        cloud,
        initial_cluster_version="1.32",
        resource_labels={"team": "platform"},
        node_pools=[
            {
                "name": "workers",
                "initial_node_count": 3,
                "config": {
                    "machine_type": "e2-standard-4",
                    "labels": {"tier": "web"},
                    "taints": [{"key": "dedicated", "value": "web", "effect": "NO_SCHEDULE"}],
                },
            }
        ],
    )
    assert op.operation_type == container_v1.Operation.Type.CREATE_CLUSTER
    assert op.status in (container_v1.Operation.Status.PENDING, container_v1.Operation.Status.RUNNING)
    cluster = gke.get_cluster(name=f"{parent(cloud)}/clusters/c1")
    assert cluster.status == container_v1.Cluster.Status.PROVISIONING
    assert not cluster.endpoint
    done = wait_op(gke, cloud, op)
    assert not done.error.message
    assert done.end_time
    cluster = gke.get_cluster(name=f"{parent(cloud)}/clusters/c1")
    assert cluster.status == container_v1.Cluster.Status.RUNNING
    # GKE gives host:port without a scheme
    (handle,) = runtime.handles.values()
    assert cluster.endpoint == handle.endpoint.removeprefix("https://")
    assert base64.b64decode(cluster.master_auth.cluster_ca_certificate).decode() == CA_PEM
    assert cluster.current_master_version.startswith("1.32.")
    assert cluster.current_node_count == 3
    assert cluster.resource_labels == {"team": "platform"}
    assert [p.status for p in cluster.node_pools] == [container_v1.NodePool.Status.RUNNING]
    assert ("create_cluster", "gcp", ZONE, "c1") in runtime.calls
    (pool,) = runtime.pools("c1")
    assert pool.name == "workers"
    assert pool.count == 3
    assert pool.instance_type == "e2-standard-4"
    assert pool.labels["tier"] == "web"
    assert pool.labels["cloud.google.com/gke-nodepool"] == "workers"
    assert pool.labels["node.kubernetes.io/instance-type"] == "e2-standard-4"
    assert pool.labels["topology.kubernetes.io/region"] == REGION
    assert pool.taints == [{"key": "dedicated", "value": "web", "effect": "NoSchedule"}]
    assert pool.zones == [ZONE]
    listed = gke.list_clusters(parent=parent(cloud))
    assert [c.name for c in listed.clusters] == ["c1"]
    assert [c.name for c in gke.list_clusters(parent=parent(cloud, "-")).clusters] == ["c1"]
    status = cloud.status()
    assert status["clusters"][0]["status"] == "RUNNING"
    assert status["clusters"][0]["node_pools"][0]["node_count"] == 3
    assert "private_key" not in json.dumps(status)

    op = gke.delete_cluster(name=f"{parent(cloud)}/clusters/c1")
    assert op.operation_type == container_v1.Operation.Type.DELETE_CLUSTER
    assert gke.get_cluster(name=f"{parent(cloud)}/clusters/c1").status == container_v1.Cluster.Status.STOPPING
    wait_op(gke, cloud, op)
    with pytest.raises(gexc.NotFound):
        gke.get_cluster(name=f"{parent(cloud)}/clusters/c1")
    assert ("delete_cluster", "gcp", ZONE, "c1") in runtime.calls
    assert cloud.status()["clusters"] == []


def test_regional_cluster_has_nodes_in_three_zones(cloud, gke, runtime):
    op = create_cluster(gke, cloud, "regional", location=REGION, node_pools=[{"name": "np", "initial_node_count": 1}])
    wait_op(gke, cloud, op, location=REGION)
    cluster = gke.get_cluster(name=f"{parent(cloud, REGION)}/clusters/regional")
    assert list(cluster.locations) == [f"{REGION}-a", f"{REGION}-b", f"{REGION}-c"]
    (pool,) = runtime.pools("regional")
    assert pool.count == 3  # initial_node_count is per zone
    assert pool.instance_type == "e2-medium"
    assert pool.zones == [f"{REGION}-a", f"{REGION}-b", f"{REGION}-c"]


def test_control_plane_failure_fails_the_operation_and_the_cluster(cloud, gke, runtime):
    runtime.fail_create = RuntimeError("kube-apiserver did not start")
    done = wait_op(gke, cloud, create_cluster(gke, cloud))
    assert "kube-apiserver did not start" in done.error.message
    assert gke.get_cluster(name=f"{parent(cloud)}/clusters/c1").status == container_v1.Cluster.Status.ERROR


def test_node_pools_scale_autoscale_upgrade_and_delete(cloud, gke, runtime):
    wait_op(gke, cloud, create_cluster(gke, cloud, initial_cluster_version="1.32"))
    name = f"{parent(cloud)}/clusters/c1"
    op = gke.create_node_pool(
        parent=name,
        node_pool={"name": "batch", "initial_node_count": 2, "config": {"labels": {"kind": "batch"}}},
    )
    assert op.operation_type == container_v1.Operation.Type.CREATE_NODE_POOL
    pool = gke.get_node_pool(name=f"{name}/nodePools/batch")
    assert pool.status == container_v1.NodePool.Status.PROVISIONING
    wait_op(gke, cloud, op)
    assert gke.get_node_pool(name=f"{name}/nodePools/batch").status == container_v1.NodePool.Status.RUNNING
    assert runtime.pools("c1")[-1].count == 2
    assert runtime.pools("c1")[-1].labels["kind"] == "batch"

    op = gke.set_node_pool_size(request={"name": f"{name}/nodePools/batch", "node_count": 5})
    assert op.operation_type == container_v1.Operation.Type.SET_NODE_POOL_SIZE
    wait_op(gke, cloud, op)
    assert runtime.pools("c1")[-1].count == 5
    assert gke.get_node_pool(name=f"{name}/nodePools/batch").initial_node_count == 5

    op = gke.set_node_pool_autoscaling(
        request={
            "name": f"{name}/nodePools/batch",
            "autoscaling": {"enabled": True, "min_node_count": 1, "max_node_count": 4, "location_policy": "BALANCED"},
        }
    )
    wait_op(gke, cloud, op)
    pool = gke.get_node_pool(name=f"{name}/nodePools/batch")
    assert pool.autoscaling.enabled
    assert pool.autoscaling.max_node_count == 4
    assert pool.initial_node_count == 4  # clamped into the new bounds
    assert runtime.pools("c1")[-1].count == 4

    wait_op(gke, cloud, gke.update_master(request={"name": name, "master_version": "1.33"}))
    op = gke.update_node_pool(request={"name": f"{name}/nodePools/batch", "node_version": "1.33", "image_type": ""})
    assert op.operation_type == container_v1.Operation.Type.UPGRADE_NODES
    wait_op(gke, cloud, op)
    assert gke.get_node_pool(name=f"{name}/nodePools/batch").version.startswith("1.33.")
    op = gke.update_node_pool(
        request={
            "name": f"{name}/nodePools/batch",
            "node_version": "-",
            "image_type": "",
            "labels": {"labels": {"kind": "batch2"}},
            "taints": {"taints": [{"key": "spot", "value": "true", "effect": "PREFER_NO_SCHEDULE"}]},
        }
    )
    wait_op(gke, cloud, op)
    last = runtime.pools("c1")[-1]
    assert last.labels["kind"] == "batch2"
    assert last.taints == [{"key": "spot", "value": "true", "effect": "PreferNoSchedule"}]
    assert [p.name for p in gke.list_node_pools(parent=name).node_pools] == ["workers", "batch"]

    op = gke.delete_node_pool(name=f"{name}/nodePools/batch")
    wait_op(gke, cloud, op)
    assert ("delete_node_pool", "gcp", ZONE, "c1", "batch") in runtime.calls
    with pytest.raises(gexc.NotFound):
        gke.get_node_pool(name=f"{name}/nodePools/batch")


def test_master_upgrade_reconciles_and_update_cluster_upgrades_nodes(cloud, gke):
    wait_op(gke, cloud, create_cluster(gke, cloud, initial_cluster_version="1.32"))
    name = f"{parent(cloud)}/clusters/c1"
    op = gke.update_master(request={"name": name, "master_version": "1.33"})
    assert op.operation_type == container_v1.Operation.Type.UPGRADE_MASTER
    assert gke.get_cluster(name=name).status == container_v1.Cluster.Status.RECONCILING
    with pytest.raises(gexc.BadRequest, match="incompatible operation"):
        gke.set_node_pool_size(request={"name": f"{name}/nodePools/workers", "node_count": 4})
    wait_op(gke, cloud, op)
    cluster = gke.get_cluster(name=name)
    assert cluster.status == container_v1.Cluster.Status.RUNNING
    assert cluster.current_master_version.startswith("1.33.")
    assert cluster.current_node_version.startswith("1.32.")
    op = gke.update_cluster(
        request={"name": name, "update": {"desired_node_pool_id": "workers", "desired_node_version": "-"}}
    )
    assert op.operation_type == container_v1.Operation.Type.UPGRADE_NODES
    wait_op(gke, cloud, op)
    with pytest.raises(gexc.BadRequest, match="newer than the master"):
        gke.update_cluster(
            request={"name": name, "update": {"desired_node_pool_id": "workers", "desired_node_version": "1.34"}}
        )
    assert gke.get_cluster(name=name).current_node_version.startswith("1.33.")
    with pytest.raises(gexc.BadRequest) as info:
        gke.update_master(request={"name": name, "master_version": "1.31"})
    assert "downgraded" in info.value.message


def test_set_resource_labels_needs_the_current_fingerprint(cloud, gke):
    wait_op(gke, cloud, create_cluster(gke, cloud, resource_labels={"a": "1"}))
    name = f"{parent(cloud)}/clusters/c1"
    with pytest.raises(gexc.BadRequest, match="fingerprint"):
        gke.set_labels(request={"name": name, "resource_labels": {"b": "2"}, "label_fingerprint": "stale"})
    fingerprint = gke.get_cluster(name=name).label_fingerprint
    op = gke.set_labels(request={"name": name, "resource_labels": {"b": "2"}, "label_fingerprint": fingerprint})
    assert op.operation_type == container_v1.Operation.Type.SET_LABELS
    wait_op(gke, cloud, op)
    cluster = gke.get_cluster(name=name)
    assert cluster.resource_labels == {"b": "2"}
    assert cluster.label_fingerprint != fingerprint


def test_errors_are_google_rpc_statuses_with_field_violations(cloud, gke):
    wait_op(gke, cloud, create_cluster(gke, cloud))
    with pytest.raises(gexc.Conflict) as info:
        create_cluster(gke, cloud)
    assert "Already exists" in info.value.message
    with pytest.raises(gexc.NotFound):
        gke.get_cluster(name=f"{parent(cloud)}/clusters/nope")
    with pytest.raises(gexc.NotFound):
        gke.get_operation(name=f"{parent(cloud)}/operations/operation-0-nope")
    with pytest.raises(gexc.BadRequest) as info:
        create_cluster(gke, cloud, "Bad_Name")
    violations = info.value.details[0]["fieldViolations"]
    assert violations[0]["field"] == "cluster.name"
    with pytest.raises(gexc.BadRequest) as info:
        create_cluster(gke, cloud, "c2", initial_cluster_version="1.20")
    assert info.value.details[0]["fieldViolations"][0]["field"] == "cluster.initial_cluster_version"
    with pytest.raises(gexc.BadRequest) as info:
        gke.create_cluster(parent=parent(cloud), cluster={"name": "c3"})
    assert info.value.details[0]["fieldViolations"][0]["field"] == "cluster.initial_node_count"
    with pytest.raises(gexc.BadRequest, match="does not emulate"):
        gke.update_cluster(request={"name": f"{parent(cloud)}/clusters/c1", "update": {"desired_image_type": "X"}})
    with pytest.raises(gexc.Forbidden):
        gke.list_clusters(parent="projects/someone-else/locations/us-central1")
    raw = requests.get(
        f"{cloud.endpoints['api_endpoint']}/v1/{parent(cloud)}/clusters/nope",
        headers={"Authorization": f"Bearer {_token(cloud)}"},
        timeout=10,
    )
    assert raw.status_code == 404
    assert raw.json()["error"]["status"] == "NOT_FOUND"


def _token(cloud) -> str:
    creds = service_account.Credentials.from_service_account_file(
        cloud.endpoints["service_account_file"], scopes=SCOPES
    )
    creds.refresh(AuthRequest())
    return creds.token


def test_injected_faults_reach_the_sdk_and_are_counted(cloud, gke, faults):
    rule = faults.add_rule(FaultRule(cloud="gcp", operation="GetServerConfig", error_rate=1.0, statuses=[503]))
    with pytest.raises(gexc.ServiceUnavailable):
        gke.get_server_config(name=parent(cloud), retry=None)
    faults.clear()
    faults.add_rule(FaultRule(cloud="gcp", operation="ListClusters", error_rate=1.0, statuses=[429], retry_after=7))
    with pytest.raises(gexc.TooManyRequests):
        gke.list_clusters(parent=parent(cloud), retry=None)
    raw = requests.get(
        f"{cloud.endpoints['api_endpoint']}/v1/{parent(cloud)}/clusters",
        headers={"Authorization": f"Bearer {_token(cloud)}"},
        timeout=10,
    )
    assert raw.status_code == 429
    assert raw.headers["Retry-After"] == "7"
    assert raw.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    snapshot = faults.snapshot()
    assert snapshot["injected"]["gcp"]["GetServerConfig"]["503"] == 1
    assert snapshot["injected"]["gcp"]["ListClusters"]["429"] == 2
    assert snapshot["requests"]["gcp"]["ListClusters"] == 2
    assert rule.id == 1
    faults.clear()
    config = gke.get_server_config(name=parent(cloud))
    assert config.default_cluster_version.startswith("1.33.")


def test_reset_empties_everything_and_deletes_control_planes(cloud, gke, runtime, creds):
    wait_op(gke, cloud, create_cluster(gke, cloud))
    creds.refresh(AuthRequest())
    cloud.reset()
    assert ("delete_cluster", "gcp", ZONE, "c1") in runtime.calls
    assert cloud.status()["clusters"] == []
    assert not gke.list_clusters(parent=parent(cloud)).clusters
    assert cloud.tokens.identify(creds.token)  # credentials stay valid


# ---------------------------------------------------------------------------- compute
@pytest.fixture
def compute(cloud, creds):
    """Compute clients whose extended operations poll the sandbox too (see specs/README.md)."""
    options = {"api_endpoint": cloud.endpoints["api_endpoint"]}

    def make(cls):
        client = cls(credentials=creds, transport="rest", client_options=options)
        services = client._transport._extended_operations_services
        services["global_operations"] = compute_v1.GlobalOperationsClient(
            credentials=creds, transport="rest", client_options=options
        )
        services["region_operations"] = compute_v1.RegionOperationsClient(
            credentials=creds, transport="rest", client_options=options
        )
        return client

    return {
        "networks": make(compute_v1.NetworksClient),
        "subnetworks": make(compute_v1.SubnetworksClient),
        "firewalls": make(compute_v1.FirewallsClient),
        "addresses": make(compute_v1.AddressesClient),
        "creds": creds,
    }


def test_compute_network_subnetwork_firewall_address_through_extended_operations(cloud, compute):
    project = cloud.project
    op = compute["networks"].insert(
        project=project, network_resource={"name": "vpc", "auto_create_subnetworks": False, "mtu": 1460}
    )
    op.result(timeout=30)
    assert op.done()
    inserted = next(body for name, _, body in cloud.recorded_responses if name == "compute:networks.insert")
    assert inserted["status"] == "RUNNING"
    polled = [body["status"] for name, _, body in cloud.recorded_responses if name == "compute:globalOperations.get"]
    assert polled[-1] == "DONE"
    network = compute["networks"].get(project=project, network="vpc")
    assert network.routing_config.routing_mode == "REGIONAL"
    op = compute["subnetworks"].insert(
        project=project,
        region=REGION,
        subnetwork_resource={
            "name": "nodes",
            "network": network.self_link,
            "ip_cidr_range": "10.10.0.0/20",
            "secondary_ip_ranges": [
                {"range_name": "pods", "ip_cidr_range": "10.20.0.0/14"},
                {"range_name": "services", "ip_cidr_range": "10.30.0.0/20"},
            ],
        },
    )
    op.result(timeout=30)
    subnet = compute["subnetworks"].get(project=project, region=REGION, subnetwork="nodes")
    assert [r.range_name for r in subnet.secondary_ip_ranges] == ["pods", "services"]
    assert subnet.gateway_address == "10.10.0.1"
    assert compute["networks"].get(project=project, network="vpc").subnetworks == [subnet.self_link]
    with pytest.raises(gexc.BadRequest) as info:
        compute["subnetworks"].insert(
            project=project,
            region=REGION,
            subnetwork_resource={"name": "clash", "network": "global/networks/vpc", "ip_cidr_range": "10.20.1.0/24"},
        )
    assert "conflicts" in info.value.message
    with pytest.raises(gexc.Conflict):
        compute["networks"].insert(project=project, network_resource={"name": "vpc"})
    compute["firewalls"].insert(
        project=project,
        firewall_resource={
            "name": "allow-ssh",
            "network": "global/networks/vpc",
            "source_ranges": ["0.0.0.0/0"],
            "allowed": [{"I_p_protocol": "tcp", "ports": ["22"]}],
        },
    ).result(timeout=30)
    assert compute["firewalls"].get(project=project, firewall="allow-ssh").allowed[0].I_p_protocol == "tcp"
    op = compute["addresses"].insert(project=project, region=REGION, address_resource={"name": "ip"})
    waited = compute_v1.RegionOperationsClient(
        credentials=compute["creds"], transport="rest", client_options={"api_endpoint": cloud.endpoints["api_endpoint"]}
    ).wait(project=project, region=REGION, operation=op.name)
    assert waited.status == compute_v1.Operation.Status.DONE
    address = compute["addresses"].get(project=project, region=REGION, address="ip")
    assert address.address
    assert address.status == "RESERVED"
    assert [a.name for a in compute["addresses"].list(project=project, region=REGION)] == ["ip"]
    with pytest.raises(gexc.BadRequest, match="already being used"):
        compute["networks"].delete(project=project, network="vpc")
    for client, kwargs in (
        (compute["addresses"], {"region": REGION, "address": "ip"}),
        (compute["firewalls"], {"firewall": "allow-ssh"}),
        (compute["subnetworks"], {"region": REGION, "subnetwork": "nodes"}),
        (compute["networks"], {"network": "vpc"}),
    ):
        client.delete(project=project, **kwargs).result(timeout=30)
    with pytest.raises(gexc.NotFound):
        compute["networks"].get(project=project, network="vpc")
    assert cloud.status()["compute"]["resources"] == {}


# ---------------------------------------------------------------------------- the contract itself
def test_contract_check_fails_when_a_response_field_is_renamed(cloud, gke, discovery):
    wait_op(gke, cloud, create_cluster(gke, cloud))
    gke.get_cluster(name=f"{parent(cloud)}/clusters/c1")
    operation, _, body = next(r for r in cloud.recorded_responses if r[0] == "gke:GetCluster")
    check_response(discovery, operation, body)
    renamed = dict(body)
    renamed["currentMasterVersionX"] = renamed.pop("currentMasterVersion")
    with pytest.raises(ContractError, match="currentMasterVersionX"):
        check_response(discovery, operation, renamed)
    with pytest.raises(json_format.ParseError, match="currentMasterVersionX"):  # the SDK's own parser agrees
        container_v1.Cluster.from_json(json.dumps(renamed), ignore_unknown_fields=False)
    wrong_type = dict(body, currentNodeCount="3")
    with pytest.raises(ContractError, match="currentNodeCount"):
        check_response(discovery, operation, wrong_type)
    nested = json.loads(json.dumps(body))
    nested["nodePools"][0]["config"]["machineTyp"] = nested["nodePools"][0]["config"].pop("machineType")
    with pytest.raises(ContractError, match="machineTyp"):
        check_response(discovery, operation, nested)
    with pytest.raises(ContractError, match="unknown field"):
        check_request(discovery, "gke:CreateCluster", {"cluster": {"name": "x", "nodeCount": 3}})


def test_enums_are_integers_only_when_the_client_asks(cloud, gke):
    wait_op(gke, cloud, create_cluster(gke, cloud))
    url = f"{cloud.endpoints['api_endpoint']}/v1/{parent(cloud)}/clusters/c1"
    headers = {"Authorization": f"Bearer {_token(cloud)}"}
    assert requests.get(url, headers=headers, timeout=10).json()["status"] == "RUNNING"
    as_ints = requests.get(url, headers=headers, params={"$alt": "json;enum-encoding=int"}, timeout=10).json()
    assert as_ints["status"] == 2
    assert as_ints["nodePools"][0]["status"] == 2


def test_reset_while_a_control_plane_starts_still_deletes_it(cloud, gke, runtime):
    runtime.gate.clear()
    create_cluster(gke, cloud)
    deadline = time.monotonic() + 10
    while ("create_cluster", "gcp", ZONE, "c1") not in runtime.calls:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    resetting = threading.Thread(target=cloud.reset)
    resetting.start()
    time.sleep(0.05)
    runtime.gate.set()
    resetting.join(10)
    assert not resetting.is_alive()
    assert runtime.calls[-1] == ("delete_cluster", "gcp", ZONE, "c1")
    assert cloud.status()["clusters"] == []


def test_the_older_zonal_form_of_the_api_reaches_the_same_clusters(cloud, gke, runtime):
    wait_op(gke, cloud, create_cluster(gke, cloud))
    legacy = {"project_id": cloud.project, "zone": ZONE}
    assert [c.name for c in gke.list_clusters(**legacy).clusters] == ["c1"]
    assert gke.get_cluster(**legacy, cluster_id="c1").status == container_v1.Cluster.Status.RUNNING
    op = gke.set_node_pool_size(request={**legacy, "cluster_id": "c1", "node_pool_id": "workers", "node_count": 2})
    assert gke.get_operation(**legacy, operation_id=op.name).name == op.name
    wait_op(gke, cloud, op)
    assert runtime.pools("c1")[-1].count == 2
    with pytest.raises(gexc.NotFound):
        gke.get_node_pool(**legacy, cluster_id="c1", node_pool_id="nope")


# ---------------------------------------------------------------------------- locations
def test_regions_list_names_each_regions_zones_and_unknown_regions_are_not_found(cloud, compute, gke, tls):
    """regions.list (contract-checked with every response of this test) is what the collection
    validates locations with; a region outside it is refused like Compute and GKE refuse it."""

    options = {"api_endpoint": cloud.endpoints["api_endpoint"]}
    regions = compute_v1.RegionsClient(credentials=compute["creds"], transport="rest", client_options=options)
    found = {r.name: [z.rsplit("/", 1)[-1] for z in r.zones] for r in regions.list(project=cloud.project)}
    assert found["us-central1"] == ["us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"]
    assert "mars-central1" not in found
    assert regions.get(project=cloud.project, region="europe-west1").name == "europe-west1"
    network = compute["networks"].insert(
        project=cloud.project, network_resource={"name": "vpc", "auto_create_subnetworks": False}
    )
    network.result(timeout=30)
    with pytest.raises(gexc.NotFound) as info:
        compute["subnetworks"].insert(
            project=cloud.project,
            region="mars-central1",
            subnetwork_resource={"name": "nodes", "network": "global/networks/vpc", "ip_cidr_range": "10.0.0.0/20"},
        )
    assert "regions/mars-central1" in info.value.message
    with pytest.raises(gexc.NotFound) as info:
        gke.create_cluster(parent=parent(cloud, "mars-central1"), cluster={"name": "c1", "initial_node_count": 1})
    assert 'Location "mars-central1" does not exist' in info.value.message
    assert cloud.status()["clusters"] == []
    # The collection's own call (REST through google-auth, with its endpoint and CA bundle) reads the same list.
    params = {
        "gcp_service_account_file": cloud.endpoints["service_account_file"],
        "gcp_project": cloud.project,
        "gcp_api_endpoint": cloud.endpoints["api_endpoint"],
        "gcp_ca_bundle": str(tls.ca),
    }
    conn = Connection(params, Retrier("gcp", policy=RetryPolicy(timeout=20, base_delay=0.1, max_delay=1)))
    assert conn.locations() == found
