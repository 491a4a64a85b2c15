"""Every cloud's adapter (plugins/module_utils/<cloud>) against the sandbox, through the adapter only.

One lifecycle for every cloud (adapters.py says what differs): a network with its subnets, then a
managed cluster on it with a 3-node pool that becomes a real control plane with 3 Ready nodes
(reached with the adapter's own kubeconfig user), scaling, a one-minor upgrade of the control plane
and then the pool, a second pool added and removed, tags, and deletion of everything; a run killed
between two calls converges on the rerun and leaves nothing behind. Errors come back as typed
FabricErrors naming cloud, resource and call. Only endpoints, CA bundles and credentials differ
from the real clouds.

The Azure tests at the end use an in-process Azure with a fake Kubernetes runtime, where failures
and held operations can be arranged without waiting for the clock.
"""

from __future__ import annotations

import random
import time
import uuid

import pytest
from adapters import CLOUDS, Azure, no_regional_access_boundary_lookup, unique
from arm_schema import validate_request
from kubernetes import config as k8s_config
from mc_sandbox.clouds.azure.server import AzureCloud
from mc_sandbox.core.clients import ready_nodes
from mc_sandbox.core.faults import FaultManager, FaultRule
from mc_sandbox.core.runtime import CloudContext
from mc_sandbox.k8s.pki import sandbox_tls
from support import FakeRuntime, wait_until

from ansible_collections.multicloud.fabric.plugins.module_utils.aws.client import Connection as AwsConnection
from ansible_collections.multicloud.fabric.plugins.module_utils.cluster.spec import plan_cluster
from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Deadline, RetryPolicy
from ansible_collections.multicloud.fabric.plugins.module_utils.network.spec import plan_network


@pytest.fixture(scope="module", autouse=True)
def _offline_google_auth():
    with pytest.MonkeyPatch.context() as patch:
        no_regional_access_boundary_lookup(patch)
        yield


@pytest.fixture(params=sorted(CLOUDS))
def cloud(request, sandbox):
    return CLOUDS[request.param](sandbox)


@pytest.fixture
def aws(sandbox):
    return CLOUDS["aws"](sandbox)


@pytest.fixture
def gcp(sandbox):
    return CLOUDS["gcp"](sandbox)


def kube_api(clusters, current, mode="token"):
    """A Kubernetes client with the adapter's own kubeconfig user."""
    user = clusters.kube_user(current, mode=mode)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "c", "cluster": {"server": current["endpoint"], "certificate-authority-data": current["ca_data"]}}
        ],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }
    return k8s_config.new_client_from_config_dict(config), user


def pool_nodes(api, label, pool):
    return [n for n in ready_nodes(api) if n.metadata.labels.get(label) == pool]


class Killed(BaseException):
    """The run dies here: no ``except Exception`` catches it, nothing after it runs."""


# ------------------------------------------------------------------ every cloud, the real sandbox


def test_network_lifecycle(cloud):
    started = time.monotonic()
    conn, nets, _ = cloud.adapters()
    desired = cloud.network(unique("net"), 20)
    assert nets.read(desired) is None
    try:
        current = cloud.create_network(nets, desired)
        gone, remaining = cloud.check_network(conn, nets, desired, current)
        nets.apply({"action": "delete_subnet", "subnet": gone}, desired, current)
        assert [s["name"] for s in nets.read(desired)["subnets"]] == remaining
        # deleting what is gone already is fine (a rerun after a partial failure)
        nets.apply({"action": "delete_subnet", "subnet": gone}, desired, current)
        assert [s["name"] for s in nets.read(desired)["subnets"]] == remaining
    finally:
        cloud.delete_network(conn, nets, desired)
    assert nets.read(desired) is None
    if cloud.delete_when_gone:
        nets.apply({"action": "delete_network"}, desired, None)  # already gone: nothing to do
    if cloud.network_seconds:
        assert time.monotonic() - started < cloud.network_seconds


def test_cluster_lifecycle(cloud):
    started = time.monotonic()
    conn, nets, clusters = cloud.adapters()
    net = cloud.network(unique("knet"), 30)
    network = cloud.create_network(nets, net)
    desired = cloud.cluster(unique("k"), network)
    first = desired["node_pools"][0]["name"]

    def run(action):
        clusters.apply(action, desired, clusters.read(desired))
        return clusters.wait(desired, action, Deadline(120))

    try:
        assert clusters.read(desired) is None
        cloud.before_create(clusters, desired)
        assert clusters.read(desired) is None

        # The planner's actions: on EKS the node group is an action of its own once the control
        # plane is ACTIVE (wait never writes); elsewhere the pools come with the cluster.
        actions = plan_cluster(None, desired)
        expected = ["create_cluster", "create_node_pool"] if cloud.name == "aws" else ["create_cluster"]
        assert [a["action"] for a in actions] == expected
        current = run(actions[0])
        if cloud.name == "aws":
            assert (current["status"], current["node_pools"]) == ("ACTIVE", [])
            current = run(actions[1])
        assert (current["status"], current["provider_status"]) == ("ACTIVE", cloud.running)
        assert current["kubernetes_version"] == "1.32"
        assert current["tags"] == desired["tags"]
        assert current["endpoint"].startswith("https://127.0.0.1:")
        (pool,) = current["node_pools"]
        assert (pool["name"], pool["version"], pool["status"]) == (first, "1.32", "ACTIVE")
        assert clusters.read(desired)["id"] == current["id"]
        cloud.check_cluster(conn, clusters, desired, current, network)

        api, user = kube_api(clusters, current)
        cloud.check_user(clusters, current, user)
        nodes = wait_until(lambda: len(ready_nodes(api)) == 3 and ready_nodes(api), 60, "3 Ready nodes", 0.5)
        assert {n.metadata.labels[cloud.pool_label] for n in nodes} == {first}
        cloud.check_nodes(nodes, current)

        # scale the first pool (and change what else that cloud changes in place)
        changes, ready = cloud.scale
        current = run({"action": "update_node_pool", "pool": first, "changes": changes})
        (pool,) = current["node_pools"]
        assert {k: pool[k] for k in changes} == changes
        cloud.check_scaled(pool)
        wait_until(lambda: len(ready_nodes(api)) == ready, 60, f"{ready} Ready nodes", 0.5)

        # one minor up: the control plane alone, then the pool
        current = run({"action": "upgrade_control_plane", "version": "1.33"})
        assert (current["kubernetes_version"], current["node_pools"][0]["version"]) == ("1.33", "1.32")
        current = run({"action": "upgrade_node_pool", "pool": first, "version": "1.33"})
        assert current["node_pools"][0]["version"] == "1.33"

        # add a pool, then remove it
        extra = cloud.extra_pool()
        desired["node_pools"].append(extra)
        current = run({"action": "create_node_pool", "pool": extra})
        (added,) = [p for p in current["node_pools"] if p["name"] == extra["name"]]
        assert {k: added[k] for k in cloud.extra_keys} == {k: extra[k] for k in cloud.extra_keys}
        assert added["version"] == "1.33"
        wait_until(lambda: len(ready_nodes(api)) == cloud.extra_ready, 60, f"{cloud.extra_ready} Ready nodes", 0.5)
        assert len(pool_nodes(api, cloud.pool_label, extra["name"])) == extra["count"]
        desired["node_pools"].pop()
        current = run({"action": "delete_node_pool", "pool": extra["name"]})
        assert [p["name"] for p in current["node_pools"]] == [first]

        change, tags = cloud.tag_change(desired)
        current = run({"action": "update_tags", **change})
        assert current["tags"] == tags
        cloud.check_listed(clusters, desired, current)

        assert run({"action": "delete_cluster"}) is None
        assert clusters.read(desired) is None
    finally:
        if clusters.read(desired) is not None:
            action = {"action": "delete_cluster"}
            clusters.apply(action, desired, clusters.read(desired))
            clusters.wait(desired, action, Deadline(120))
        cloud.delete_network(conn, nets, net)
    assert nets.read(net) is None
    if cloud.cluster_seconds:
        assert time.monotonic() - started < cloud.cluster_seconds


def kill_points():
    return [
        pytest.param(name, point, id=f"{name}-{point}") for name in sorted(CLOUDS) for point in CLOUDS[name].kill_points
    ]


@pytest.mark.parametrize(("name", "point"), kill_points())
def test_a_run_killed_between_two_calls_converges_and_leaves_no_stray(sandbox, name, point, monkeypatch):
    """The rerun finds each piece by name and creates nothing twice; the delete leaves nothing."""
    cloud = CLOUDS[name](sandbox)
    conn, nets, _ = cloud.adapters()
    desired = cloud.network(unique("killed"), 44)
    real = getattr(conn, cloud.kill_attribute)

    def killing(*args, **kwargs):
        answer = real(*args, **kwargs)
        if cloud.kill_call(args, kwargs) == point:
            monkeypatch.setattr(conn, cloud.kill_attribute, real)
            raise Killed(point)
        return answer

    before = cloud.holdings(desired)
    monkeypatch.setattr(conn, cloud.kill_attribute, killing)
    with pytest.raises(Killed):
        cloud.create_network(nets, desired)
    cloud.settle()
    current = nets.read(desired)
    cloud.check_killed(point, current)
    for action in plan_network(current, desired):
        nets.apply(action, desired, current)
    whole = nets.read(desired)
    assert plan_network(whole, desired) == []
    cloud.check_holdings(before, cloud.holdings(desired), desired, whole)
    cloud.delete_network(conn, nets, desired)
    assert cloud.holdings(desired) == before


# ------------------------------------------------------------------ one cloud, the real sandbox


def test_aws_errors_are_typed_and_name_cloud_resource_and_call(aws):
    conn, nets, clusters = aws.adapters()
    name = unique("bad")
    role = f"arn:aws:iam::{aws.account}:role/eks-cluster"
    desired = {
        "cloud": "aws",
        "region": aws.region,
        "name": name,
        "kubernetes_version": "1.33",
        "endpoint_access": "private",
        "tags": None,
        "node_pools": [],
        "network": {"id": None, "subnet_ids": ["subnet-00000000", "subnet-11111111"]},
        "provider": {"aws": {"role_arn": role, "node_role_arn": None, "security_group_ids": []}},
    }
    with pytest.raises(E.InvalidRequestError) as info:
        clusters.apply({"action": "create_cluster"}, desired, None)
    error = info.value
    assert (error.cloud, error.resource, error.call) == ("aws", f"eks cluster {name}", "CreateCluster")
    assert error.code == "InvalidParameterException" and error.status == 400
    assert "aws: eks cluster" in str(error) and "CreateCluster failed" in str(error)

    with pytest.raises(E.NotFoundError) as info:
        clusters.apply({"action": "upgrade_control_plane", "version": "1.34"}, desired, None)
    assert (info.value.resource, info.value.call) == (f"eks cluster {name}", "UpdateClusterVersion")
    assert clusters.read(desired) is None

    missing_role = {**desired, "provider": {"aws": {"role_arn": None}}}
    with pytest.raises(E.ValidationError) as info:
        clusters.apply({"action": "create_cluster"}, missing_role, None)
    assert info.value.field == "aws.role_arn"

    # a second network with the same name is a conflict, not a guess
    net = aws.network(unique("dup"), 40)
    nets.apply({"action": "create_network"}, net, None)
    try:
        conn.ec2.create_vpc(
            CidrBlock="10.41.0.0/16",
            TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": net["name"]}]}],
        )
        with pytest.raises(E.ConflictError) as info:
            nets.read(net)
        assert info.value.resource == f"vpc {net['name']}" and "2 VPCs" in info.value.message
    finally:
        for vpc in conn.ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [net["name"]]}])["Vpcs"]:
            nets.apply({"action": "delete_network"}, net, {"id": vpc["VpcId"], "name": net["name"]})
    assert not conn.ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [net["name"]]}])["Vpcs"]

    with pytest.raises(E.FabricError) as info:
        AwsConnection({}, conn.retrier, None).ec2  # noqa: B018 - building the client is the point
    assert isinstance(info.value, E.ValidationError) and info.value.field == "region"


def gke_in_a_zone(gcp, name, version):
    return {
        "cloud": "gcp",
        "region": "us-central1-c",
        "name": name,
        "kubernetes_version": version,
        "endpoint_access": "public",
        "tags": None,
        "purge_tags": True,
        "node_pools": [gcp.pool("workers", 1)],
        "network": {"id": None, "subnet_ids": [], "pods_range": None, "services_range": None},
        "provider": {"project": None, "release_channel": None},
    }


def test_gcp_invalid_request_is_a_typed_error(gcp):
    _, _, clusters = gcp.adapters()
    desired = gke_in_a_zone(gcp, unique("bad"), "1.20")
    with pytest.raises(E.InvalidRequestError) as info:
        clusters.apply({"action": "create_cluster"}, desired, None)
    error = info.value
    assert (error.cloud, error.call, error.status, error.code) == ("gcp", "CreateCluster", 400, "INVALID_ARGUMENT")
    assert error.resource == f"cluster us-central1-c/{desired['name']}"
    assert "1.20" in error.describe()
    assert clusters.read(desired) is None


def test_gcp_failed_creation_stops_the_wait_with_gkes_message(gcp, sandbox):
    _, _, clusters = gcp.adapters()
    name = unique("doomed")
    sandbox["cli"]("fault", "fail-create", "--cloud", "gcp", "--name", name, "--json")
    desired = gke_in_a_zone(gcp, name, None)
    clusters.apply({"action": "create_cluster"}, desired, None)
    try:
        with pytest.raises(E.ResourceFailedError) as info:
            clusters.wait(desired, {"action": "create_cluster"}, Deadline(60))
        assert "Insufficient regional quota" in info.value.describe()
        assert clusters.read(desired)["status"] == "FAILED"
    finally:
        clusters.apply({"action": "delete_cluster"}, desired, None)
        clusters.wait(desired, {"action": "delete_cluster"}, Deadline(60))


def test_gcp_ca_bundle_is_applied_without_the_environment(gcp, monkeypatch, tmp_path):
    # The option wins over REQUESTS_CA_BUNDLE (which points nowhere here), and nothing is written to
    # os.environ by the connection.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "no-such-bundle.pem"))
    conn, nets, _ = gcp.adapters()
    assert isinstance(nets.list(gcp.region), list)
    assert conn.access_token().startswith("ya29.")

    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    _, untrusted, _ = gcp.adapters(gcp_ca_bundle=None)
    with pytest.raises(E.FabricError) as info:
        untrusted.list(gcp.region)
    assert info.value.code == "TLS"
    assert "ca_bundle" in info.value.describe()


# ------------------------------------------------------------------ in-process Azure (fake runtime)


class FastAzure(Azure):
    """The Azure profile against an in-process Azure, polling fast."""

    def __init__(self, endpoints, ca_bundle):
        self.endpoints, self.ca_bundle = endpoints, ca_bundle

    def adapters(self, poll_interval=0.2, **overrides):
        retrier = self.retrier()
        params = self.params(ca_bundle=self.ca_bundle, **overrides)
        conn = self.connection(params, retrier, region=self.region, poll_interval=poll_interval)
        return conn, self.networks(conn), self.clusters(conn)


@pytest.fixture(scope="module")
def fast_env(tmp_path_factory):
    directory = tmp_path_factory.mktemp("azure-adapter")
    tls = sandbox_tls(directory / "pki")
    runtime, faults = FakeRuntime(), FaultManager(rng=random.Random(20240601))
    cloud = AzureCloud(CloudContext(faults, runtime, 0.0002, directory / "state", tls), retry_after=0)
    endpoints = cloud.start()
    try:
        yield {"cloud": cloud, "runtime": runtime, "faults": faults, "azure": FastAzure(endpoints, str(tls.ca))}
    finally:
        cloud.stop()


@pytest.fixture
def fast(fast_env):
    fast_env["cloud"].reset()
    fast_env["faults"].clear()
    fast_env["runtime"].gate.set()
    fast_env["runtime"].fail_create = None
    yield fast_env
    fast_env["runtime"].gate.set()
    fast_env["runtime"].fail_create = None


def make_group(env, name="rg1"):
    conn, _, _ = env["azure"].adapters()
    conn.resources.resource_groups.create_or_update(name, {"location": Azure.region})


def run(clusters, desired, action, timeout=20):
    clusters.apply(action, desired, clusters.read(desired))
    return clusters.wait(desired, action, Deadline(timeout))


def test_azure_every_request_body_matches_the_arm_schema(fast):
    azure = fast["azure"]
    _, networks, clusters = azure.adapters(poll_interval=0.02)
    network = azure.create_network(networks, azure.network("net", 40, group="rg1"))
    pools = [
        azure.pool("system", 2, taints=[{"key": "a", "value": "b", "effect": "NoSchedule"}], disk_size_gb=64),
        azure.pool("spot", 1, min_count=0, max_count=4, spot=True, labels={"x": "y"}),
    ]
    desired = azure.cluster("aks1", network, group="rg1", pools=pools)
    desired["endpoint_access"] = "private"
    desired["provider"]["network_plugin"] = "kubenet"
    current = run(clusters, desired, {"action": "create_cluster"})
    assert current["endpoint_access"] == "private" and current["provider"]["network_plugin"] == "kubenet"
    spot = next(p for p in current["node_pools"] if p["name"] == "spot")
    assert (spot["spot"], spot["min_count"], spot["max_count"], spot["labels"]) == (True, 0, 4, {"x": "y"})
    for action in (
        {"action": "update_node_pool", "pool": "spot", "changes": {"min_count": None, "max_count": None, "count": 2}},
        {"action": "upgrade_control_plane", "version": "1.33"},
        {"action": "upgrade_node_pool", "pool": "system", "version": "1.33"},
        {"action": "create_node_pool", "pool": azure.pool("extra", 1)},
    ):
        current = run(clusters, desired, action)
    spot = next(p for p in current["node_pools"] if p["name"] == "spot")
    assert (spot["count"], spot["min_count"], spot["max_count"]) == (2, None, None)
    assert [p["version"] for p in current["node_pools"]] == ["1.33", "1.32", "1.33"]
    puts = [r for r in fast["cloud"].received if r["method"] == "PUT" and r["path"].split("/")[-2] != "resourcegroups"]
    assert len(puts) == 8
    for received in puts:
        validate_request(received["path"], received["body"])


def test_azure_failed_creation_stops_the_wait_with_the_operation_error(fast):
    azure = fast["azure"]
    _, _, clusters = azure.adapters(poll_interval=0.02)
    make_group(fast)
    fast["runtime"].fail_create = RuntimeError("no capacity in westeurope")
    desired = azure.cluster("aks1", None)
    clusters.apply({"action": "create_cluster"}, desired, None)
    with pytest.raises(E.ResourceFailedError) as info:
        clusters.wait(desired, {"action": "create_cluster"}, Deadline(20))
    assert "no capacity in westeurope" in str(info.value)
    assert (info.value.cloud, info.value.call) == ("azure", "ManagedClusters_CreateOrUpdate")
    current = clusters.read(desired)
    assert (current["status"], current["provider_status"], current["ca_data"]) == ("FAILED", "Failed", None)
    # without the poller (another task), the waiter stops at the Failed state at once
    started = time.monotonic()
    with pytest.raises(E.ResourceFailedError, match="provisioningState Failed"):
        clusters.wait(desired, {"action": "create_cluster"}, Deadline(20))
    assert time.monotonic() - started < 2


def test_azure_waiting_stops_at_the_deadline(fast):
    azure = fast["azure"]
    _, _, clusters = azure.adapters(poll_interval=0.05)
    make_group(fast)
    fast["runtime"].gate.clear()  # the control plane does not come up while the gate is closed
    desired = azure.cluster("aks1", None)
    clusters.apply({"action": "create_cluster"}, desired, None)
    started = time.monotonic()
    with pytest.raises(E.WaitTimeoutError) as info:
        clusters.wait(desired, {"action": "create_cluster"}, Deadline(0.5))
    assert time.monotonic() - started < 3
    assert info.value.cloud == "azure"
    fast["runtime"].gate.set()


def test_azure_throttling_is_retried_by_the_one_retrier(fast):
    azure = fast["azure"]
    conn, networks, _ = azure.adapters(poll_interval=0.02)
    make_group(fast)
    fast["faults"].add_rule(
        FaultRule(cloud="azure", operation="Microsoft.Network/virtualNetworks/read", error_rate=0.3, retry_after=0)
    )
    desired = azure.network("net", 40, group="rg1")
    desired["provider"]["create_resource_group"] = False
    networks.apply({"action": "create_network"}, desired, None)
    for _ in range(3):
        assert networks.read(desired)["name"] == "net"
    assert conn.retrier.retries > 0
    fast["faults"].clear()
    fast["faults"].add_rule(
        FaultRule(cloud="azure", operation="Microsoft.Network/virtualNetworks/read", error_rate=1.0, statuses=[503])
    )
    conn.retrier.policy = RetryPolicy(timeout=1.0, base_delay=0.1, max_delay=0.2)
    with pytest.raises(E.TransientError) as info:
        networks.read(desired)
    assert (info.value.cloud, info.value.call, info.value.status) == ("azure", "VirtualNetworks_Get", 503)
    assert info.value.attempts > 1


def test_azure_wrong_credentials_fail_typed_without_the_secret(fast):
    azure = fast["azure"]
    secret = "not-the-secret-" + uuid.uuid4().hex
    _, _, clusters = azure.adapters(azure_client_secret=secret)
    with pytest.raises(E.AuthenticationError) as info:
        clusters.read(azure.cluster("aks1", None))
    assert info.value.cloud == "azure" and info.value.call == "ManagedClusters_Get"
    assert "AADSTS7000215" in str(info.value)
    assert secret not in str(info.value) and secret not in repr(info.value.as_dict())


def test_azure_absent_things_read_as_none_and_unknown_actions_are_refused(fast):
    azure = fast["azure"]
    _, networks, clusters = azure.adapters()
    assert clusters.read(azure.cluster("nothere", None, group="no-such-group")) is None
    assert networks.read(azure.network("nothere", 40, group="no-such-group")) is None
    assert clusters.list(provider={"resource_group": "no-such-group"}) == []
    with pytest.raises(E.UnknownActionError):
        clusters.apply({"action": "resize_everything"}, azure.cluster("aks1", None), None)
