"""The Google Cloud adapter (plugins/module_utils/gcp) against the sandbox, through the adapter only.

Networks and GKE clusters go through ``Networks``/``Clusters`` with a ``Connection`` built from the
provider options a module would pass (service-account file, API endpoint, CA bundle); the cluster's
nodes are checked with the kubernetes client and the adapter's own kubeconfig user (a fresh access
token). Only the endpoint and the CA bundle differ from real Google.
"""

from __future__ import annotations

import base64
import json
import time
import uuid

import pytest
from google.oauth2 import service_account
from kubernetes import client as k8s
from mc_sandbox.clients import ready_nodes
from support import wait_until

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.args import GCP_OPTIONS
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Deadline, Retrier, RetryPolicy
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp.client import Connection
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp.cluster import Clusters
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp.network import Networks
from ansible_collections.multicloud.fabric.plugins.module_utils.network.spec import plan_network

REGION = "us-central1"
POLL = 0.2


@pytest.fixture(scope="module")
def gcp(sandbox):
    with pytest.MonkeyPatch.context() as patch:
        # google-auth's background "regional access boundary" lookup goes to a fixed Google host and
        # has no switch (see gcp/client.py); the sandbox's tests keep it from trying.
        patch.setattr(service_account.Credentials, "_is_regional_access_boundary_lookup_required", lambda self: False)
        yield sandbox


def params(endpoints, **changes):
    """The provider options as a module passes them (every GCP option, unset ones None)."""
    values = {name: option.get("default") for name, option in GCP_OPTIONS.items()}
    values.update(
        gcp_service_account_file=endpoints["service_account_file"],
        gcp_api_endpoint=endpoints["api_endpoint"],
        gcp_ca_bundle=endpoints["ca_bundle"],
    )
    values.update(changes)
    return values


def connect(gcp, **changes):
    retrier = Retrier("gcp", policy=RetryPolicy(timeout=20, base_delay=0.2, max_delay=2))
    conn = Connection(params(gcp["endpoints"]["gcp"], **changes), retrier, region=REGION)
    conn.poll_interval = POLL
    return conn


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def network_spec(name, second_octet):
    return {
        "cloud": "gcp",
        "region": REGION,
        "name": name,
        "cidr": f"10.{second_octet}.0.0/16",
        "subnets": [
            {
                "name": f"{name}-nodes",
                "cidr": f"10.{second_octet}.0.0/20",
                "zone": None,
                "role": "nodes",
                "secondary_ranges": [
                    {"name": "pods", "cidr": f"172.{16 + second_octet % 8}.0.0/16"},
                    {"name": "services", "cidr": f"192.168.{second_octet}.0/24"},
                ],
            }
        ],
        "tags": None,
        "purge_tags": True,
        "provider": {"project": None, "resource_group": None, "create_resource_group": False},
    }


def create_network(nets, desired):
    nets.apply({"action": "create_network"}, desired, None)
    for subnet in desired["subnets"]:
        nets.apply({"action": "create_subnet", "subnet": subnet}, desired, None)
    return nets.read(desired)


def test_network_lifecycle(gcp):
    conn = connect(gcp)
    nets = Networks(conn)
    desired = network_spec(unique("net"), 20)
    extra = {"name": f"{desired['name']}-extra", "cidr": "10.20.64.0/24", "zone": None, "role": "nodes"}
    extra["secondary_ranges"] = []
    assert nets.read(desired) is None
    try:
        create_network(nets, desired)
        nets.apply({"action": "create_subnet", "subnet": extra}, desired, None)
        current = nets.read(desired)
        project = gcp["endpoints"]["gcp"]["project"]
        assert (
            current["id"]
            == f"https://www.googleapis.com/compute/v1/projects/{project}/global/networks/{desired['name']}"
        )
        for key in ("cloud", "region", "name", "cidr"):
            assert current[key] == desired[key], key
        assert current["provider"]["project"] == project
        assert current["tags"] == {}
        assert [{k: v for k, v in s.items() if k != "id"} for s in current["subnets"]] == sorted(
            [*desired["subnets"], extra], key=lambda s: s["name"]
        )
        assert all(s["id"].endswith(f"/regions/{REGION}/subnetworks/{s['name']}") for s in current["subnets"])
        assert current["raw"]["routing_config"]["routing_mode"] == "REGIONAL"
        assert desired["name"] in [n["name"] for n in nets.list(REGION)]

        with pytest.raises(E.ConflictError) as info:
            nets.apply({"action": "create_network"}, desired, current)
        error = info.value
        assert (error.cloud, error.resource, error.call, error.status) == (
            "gcp",
            f"network {desired['name']}",
            "networks.insert",
            409,
        )
        assert "already exists" in error.describe()

        (subnet,) = [s for s in current["subnets"] if s["name"] == extra["name"]]
        nets.apply({"action": "delete_subnet", "subnet": subnet}, desired, current)
        assert [s["name"] for s in nets.read(desired)["subnets"]] == [f"{desired['name']}-nodes"]
    finally:
        nets.apply({"action": "delete_network"}, desired, None)
    assert nets.read(desired) is None
    nets.apply({"action": "delete_network"}, desired, None)  # already gone: nothing to do


def kube_api(current, user, directory):
    ca = directory / f"{current['name']}-ca.crt"
    ca.write_bytes(base64.b64decode(current["ca_data"]))
    config = k8s.Configuration()
    config.host = current["endpoint"]
    config.ssl_ca_cert = str(ca)
    config.api_key = {"authorization": f"Bearer {user['token']}"}
    config.retries = 0
    return k8s.ApiClient(config)


def pool_spec(name, count, **changes):
    pool = {
        "name": name,
        "count": count,
        "min_count": None,
        "max_count": None,
        "machine_type": "e2-standard-4",
        "labels": {"team": "platform"},
        "taints": [],
        "spot": False,
        "disk_size_gb": None,
    }
    pool.update(changes)
    return pool


def test_cluster_lifecycle(gcp, tmp_path):
    started = time.monotonic()
    conn = connect(gcp)
    nets, clusters = Networks(conn), Clusters(conn)
    net_spec = network_spec(unique("gkenet"), 30)
    network = create_network(nets, net_spec)
    desired = {
        "cloud": "gcp",
        "region": REGION,
        "name": unique("gke"),
        "kubernetes_version": "1.32",
        "endpoint_access": "public",
        "tags": {"team": "platform"},
        "purge_tags": True,
        "node_pools": [pool_spec("workers", 3)],
        "network": {
            "id": network["id"],
            "subnet_ids": [network["subnets"][0]["id"]],
            "pods_range": "pods",
            "services_range": "services",
        },
        "provider": {"project": None, "release_channel": "REGULAR"},
    }

    def run(action):
        clusters.apply(action, desired, clusters.read(desired))
        return clusters.wait(desired, action, Deadline(90))

    try:
        # A regional cluster spreads each pool over 3 zones: 4 nodes cannot be split, before any write.
        uneven = dict(desired, node_pools=[pool_spec("workers", 4)])
        with pytest.raises(E.ValidationError) as info:
            clusters.apply({"action": "create_cluster"}, uneven, None)
        assert info.value.field == "node_pools[0].count"
        assert clusters.read(desired) is None

        current = run({"action": "create_cluster"})
        assert (current["status"], current["provider_status"]) == ("ACTIVE", "RUNNING")
        assert current["kubernetes_version"] == "1.32"
        assert current["version_full"].startswith("1.32.")
        assert current["tags"] == {"team": "platform"}
        assert current["network"] == desired["network"]
        assert current["provider"]["release_channel"] == "REGULAR"
        assert current["endpoint"].startswith("https://127.0.0.1:")
        (pool,) = current["node_pools"]
        assert (pool["count"], pool["version"], pool["status"]) == (3, "1.32", "ACTIVE")
        assert len(current["raw"]["locations"]) == 3
        assert current["raw"]["node_pools"][0]["initial_node_count"] == 1  # per zone
        assert clusters.read(desired)["id"] == current["id"]

        user = clusters.kube_user(current, "token")
        assert user["token"].startswith("ya29.")
        assert clusters.kube_user(current, "exec")["exec"]["command"] == "gke-gcloud-auth-plugin"
        api = kube_api(current, user, tmp_path)
        nodes = wait_until(lambda: len(ready_nodes(api)) == 3 and ready_nodes(api), 60, "3 Ready nodes")
        assert {n.metadata.labels["topology.kubernetes.io/zone"] for n in nodes} == set(current["raw"]["locations"])
        assert {n.metadata.labels["team"] for n in nodes} == {"platform"}

        current = run({"action": "update_node_pool", "pool": "workers", "changes": {"count": 6}})
        assert current["node_pools"][0]["count"] == 6
        wait_until(lambda: len(ready_nodes(api)) == 6, 60, "6 Ready nodes")

        current = run({"action": "upgrade_control_plane", "version": "1.33"})
        assert (current["kubernetes_version"], current["node_pools"][0]["version"]) == ("1.33", "1.32")
        current = run({"action": "upgrade_node_pool", "pool": "workers", "version": "1.33"})
        assert current["node_pools"][0]["version"] == "1.33"

        taint = {"key": "dedicated", "value": "batch", "effect": "NoSchedule"}
        extra = pool_spec("batch", 3, taints=[taint], spot=True, labels={})
        desired["node_pools"].append(extra)
        current = run({"action": "create_node_pool", "pool": extra})
        (batch,) = [p for p in current["node_pools"] if p["name"] == "batch"]
        assert (batch["count"], batch["taints"], batch["spot"], batch["version"]) == (3, [taint], True, "1.33")
        wait_until(lambda: len(ready_nodes(api)) == 9, 60, "9 Ready nodes")
        desired["node_pools"].pop()
        current = run({"action": "delete_node_pool", "pool": "batch"})
        assert [p["name"] for p in current["node_pools"]] == ["workers"]

        tags = {"team": "platform", "env": "test"}
        current = run({"action": "update_tags", "set": {"env": "test"}, "remove": [], "tags": tags})
        assert current["tags"] == tags
        assert desired["name"] in [c["name"] for c in clusters.list(REGION)]
        assert desired["name"] not in [c["name"] for c in clusters.list("europe-west1")]

        assert run({"action": "delete_cluster"}) is None
        assert clusters.read(desired) is None
    finally:
        if clusters.read(desired) is not None:
            clusters.apply({"action": "delete_cluster"}, desired, None)
            clusters.wait(desired, {"action": "delete_cluster"}, Deadline(60))
        nets.apply({"action": "delete_network"}, net_spec, None)
    assert nets.read(net_spec) is None
    assert time.monotonic() - started < 60


def test_invalid_request_is_a_typed_error(gcp):
    clusters = Clusters(connect(gcp))
    desired = {
        "cloud": "gcp",
        "region": "us-central1-c",
        "name": unique("bad"),
        "kubernetes_version": "1.20",
        "endpoint_access": "public",
        "tags": None,
        "purge_tags": True,
        "node_pools": [pool_spec("workers", 1)],
        "network": {"id": None, "subnet_ids": [], "pods_range": None, "services_range": None},
        "provider": {"project": None, "release_channel": None},
    }
    with pytest.raises(E.InvalidRequestError) as info:
        clusters.apply({"action": "create_cluster"}, desired, None)
    error = info.value
    assert (error.cloud, error.call, error.status, error.code) == ("gcp", "CreateCluster", 400, "INVALID_ARGUMENT")
    assert error.resource == f"cluster us-central1-c/{desired['name']}"
    assert "1.20" in error.describe()
    assert clusters.read(desired) is None


def test_failed_creation_stops_the_wait_with_gkes_message(gcp):
    clusters = Clusters(connect(gcp))
    name = unique("doomed")
    result = gcp["cli"]("fault", "fail-create", "--cloud", "gcp", "--name", name, "--json", check=False)
    if result.returncode != 0:
        pytest.skip(f"this sandbox has no fail-create fault: {result.stderr.strip()[:200]}")
    desired = {
        "cloud": "gcp",
        "region": "us-central1-c",
        "name": name,
        "kubernetes_version": None,
        "endpoint_access": "public",
        "tags": None,
        "purge_tags": True,
        "node_pools": [pool_spec("workers", 1)],
        "network": {"id": None, "subnet_ids": [], "pods_range": None, "services_range": None},
        "provider": {"project": None, "release_channel": None},
    }
    clusters.apply({"action": "create_cluster"}, desired, None)
    try:
        with pytest.raises(E.ResourceFailedError) as info:
            clusters.wait(desired, {"action": "create_cluster"}, Deadline(60))
        assert "Insufficient regional quota" in info.value.describe()
        assert clusters.read(desired)["status"] == "FAILED"
    finally:
        clusters.apply({"action": "delete_cluster"}, desired, None)
        clusters.wait(desired, {"action": "delete_cluster"}, Deadline(60))


def test_ca_bundle_is_applied_without_the_environment(gcp, monkeypatch, tmp_path):
    # The option wins over REQUESTS_CA_BUNDLE (which points nowhere here), and nothing is written to
    # os.environ by the connection.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "no-such-bundle.pem"))
    conn = connect(gcp)
    assert isinstance(Networks(conn).list(REGION), list)
    assert conn.access_token().startswith("ya29.")

    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    untrusted = connect(gcp, gcp_ca_bundle=None)
    with pytest.raises(E.FabricError) as info:
        Networks(untrusted).list(REGION)
    assert info.value.code == "TLS"
    assert "ca_bundle" in info.value.describe()


class Killed(BaseException):
    """The run dies here: no ``except Exception`` catches it, nothing after it runs."""


def test_a_run_killed_between_network_and_subnetwork_converges_on_rerun(gcp, monkeypatch):
    """networks.insert, then subnetworks.insert: the rerun finds the network by name and only
    adds the subnetwork; delete leaves no Compute resource of it."""
    conn = connect(gcp)
    nets = Networks(conn)
    name = unique("killed")
    desired = network_spec(name, 44)
    real = conn.rpc

    def rpc(method, **kwargs):
        answer = real(method, **kwargs)
        if kwargs.get("call") == "networks.insert":
            monkeypatch.setattr(conn, "rpc", real)
            raise Killed("networks.insert")
        return answer

    def compute():
        return json.loads(gcp["cli"]("status", "--json").stdout)["clouds"]["gcp"]["compute"]["resources"]

    before = compute()
    monkeypatch.setattr(conn, "rpc", rpc)
    with pytest.raises(Killed):
        create_network(nets, desired)
    current = nets.read(desired)
    assert current is not None and current["subnets"] == []
    for action in plan_network(current, desired):
        nets.apply(action, desired, current)
    whole = nets.read(desired)
    assert plan_network(whole, desired) == []
    assert [s["name"] for s in whole["subnets"]] == [f"{name}-nodes"]
    after = compute()
    assert {k: after.get(k, 0) - before.get(k, 0) for k in ("networks", "subnetworks")} == {
        "networks": 1,
        "subnetworks": 1,
    }
    nets.apply({"action": "delete_network"}, desired, whole)
    assert compute() == before
