# -*- coding: utf-8 -*-
"""The Azure adapter (plugins/module_utils/azure) against the sandbox, through the adapter only.

The lifecycle tests use the real sandbox (`sandbox` fixture: real control planes and kwok nodes);
the error, failure and contract tests use an in-process Azure with a fake Kubernetes runtime, where
failures and held operations can be arranged without waiting for the clock.
"""

from __future__ import annotations

import json
import random
import time
import uuid

import pytest
from kubernetes import config as k8s_config
from mc_sandbox.azure import AzureCloud
from mc_sandbox.clients import ready_nodes
from mc_sandbox.faults import FaultManager, FaultRule
from mc_sandbox.pki import sandbox_tls
from mc_sandbox.runtime import CloudContext
from support import FakeRuntime, wait_until
from test_azure import validate_request

from ansible_collections.multicloud.fabric.plugins.module_utils.azure.client import Connection
from ansible_collections.multicloud.fabric.plugins.module_utils.azure.cluster import Clusters
from ansible_collections.multicloud.fabric.plugins.module_utils.azure.network import Networks
from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Deadline, Retrier, RetryPolicy
from ansible_collections.multicloud.fabric.plugins.module_utils.network.spec import plan_network

LOCATION = "westeurope"


def params_for(azure, ca_bundle=None, **overrides):
    params = {
        "azure_subscription_id": azure["subscription_id"],
        "azure_tenant_id": azure["tenant_id"],
        "azure_client_id": azure["client_id"],
        "azure_client_secret": azure["client_secret"],
        "azure_auth_source": "auto",
        "azure_base_url": azure["base_url"],
        "azure_authority_host": azure["authority_host"],
        "azure_ca_bundle": ca_bundle or azure["ca_bundle"],
    }
    params.update(overrides)
    return params


def adapters(params, poll_interval=0.2, timeout=30.0):
    retrier = Retrier("azure", policy=RetryPolicy(timeout=timeout, base_delay=0.1, max_delay=1.0))
    conn = Connection(params, retrier, region=LOCATION, poll_interval=poll_interval)
    return conn, Networks(conn), Clusters(conn)


def network_spec(name, group, cidr="10.40.0.0/16", tags=None):
    base = cidr.split(".0.0/")[0]
    return {
        "cloud": "azure",
        "region": LOCATION,
        "name": name,
        "cidr": cidr,
        "subnets": [
            {"name": "nodes", "cidr": f"{base}.0.0/20", "zone": None, "role": "nodes", "secondary_ranges": []},
            {
                "name": "GatewaySubnet",
                "cidr": f"{base}.255.0/27",
                "zone": None,
                "role": "gateway",
                "secondary_ranges": [],
            },
        ],
        "tags": tags if tags is not None else {"owner": "adapter-test"},
        "purge_tags": True,
        "provider": {"project": None, "resource_group": group, "create_resource_group": True},
    }


def pool_spec(name, count, **extra):
    pool = {
        "name": name,
        "count": count,
        "min_count": None,
        "max_count": None,
        "machine_type": "Standard_D4s_v5",
        "labels": {},
        "taints": [],
        "spot": False,
        "disk_size_gb": None,
    }
    pool.update(extra)
    return pool


def cluster_spec(name, group, subnet_ids=(), version="1.32", pools=None):
    return {
        "cloud": "azure",
        "region": LOCATION,
        "name": name,
        "kubernetes_version": version,
        "endpoint_access": "public",
        "tags": {"owner": "adapter-test"},
        "purge_tags": True,
        "node_pools": pools or [pool_spec("system", 3, labels={"team": "platform"})],
        "network": {"id": None, "subnet_ids": list(subnet_ids), "pods_range": None, "services_range": None},
        "provider": {"resource_group": group, "dns_prefix": None, "network_plugin": None},
    }


def create_network(networks, desired):
    networks.apply({"action": "create_network"}, desired, None)
    for subnet in desired["subnets"]:
        networks.apply({"action": "create_subnet", "subnet": subnet}, desired, None)
    return networks.read(desired)


def run(clusters, desired, action, current=None, timeout=120):
    clusters.apply(action, desired, current)
    return clusters.wait(desired, action, Deadline(timeout))


def kube_api(clusters, current):
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "c", "cluster": {"server": current["endpoint"], "certificate-authority-data": current["ca_data"]}}
        ],
        "users": [{"name": "u", "user": clusters.kube_user(current, mode="token")}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }
    return k8s_config.new_client_from_config_dict(config)


PORTABLE_NETWORK_KEYS = ("cloud", "region", "name", "cidr", "subnets", "tags", "purge_tags", "provider")


# ------------------------------------------------------------------ the real sandbox


@pytest.fixture(scope="module")
def live(sandbox):
    return params_for(sandbox["endpoints"]["azure"])


def test_network_lifecycle(live):
    started = time.monotonic()
    suffix = uuid.uuid4().hex[:6]
    conn, networks, _ = adapters(live)
    desired = network_spec(f"net-{suffix}", f"rg-net-{suffix}")
    assert networks.zones(LOCATION) == []
    assert networks.read(desired) is None

    current = create_network(networks, desired)
    assert {k: current[k] for k in PORTABLE_NETWORK_KEYS} == {
        **desired,
        "subnets": [dict(s, id=current["subnets"][i]["id"]) for i, s in enumerate(desired["subnets"])],
    }
    assert current["id"].endswith(
        f"/resourceGroups/rg-net-{suffix}/providers/Microsoft.Network/virtualNetworks/net-{suffix}"
    )
    assert current["subnets"][1]["id"].endswith("/subnets/GatewaySubnet")
    assert current["status"] == "available"
    assert (
        current["extra"]["resource_group_id"]
        == f"/subscriptions/{live['azure_subscription_id']}/resourceGroups/rg-net-{suffix}"
    )
    assert current["raw"]["properties"]["addressSpace"]["addressPrefixes"] == ["10.40.0.0/16"]
    listed = networks.list(region=LOCATION, provider={"resource_group": f"rg-net-{suffix}"})
    assert [n["id"] for n in listed] == [current["id"]]
    assert networks.list(region="eastus", provider={"resource_group": f"rg-net-{suffix}"}) == []

    final = {"owner": "adapter-test", "stage": "two"}
    networks.apply({"action": "update_tags", "set": {"stage": "two"}, "remove": [], "tags": final}, desired, current)
    assert networks.read(desired)["tags"] == final

    networks.apply({"action": "delete_subnet", "subnet": current["subnets"][1]}, desired, current)
    assert [s["name"] for s in networks.read(desired)["subnets"]] == ["nodes"]

    networks.apply({"action": "delete_network"}, desired, current)
    assert networks.read(desired) is None
    groups = conn.resources.resource_groups
    if groups.check_existence(f"rg-net-{suffix}"):
        # The group is deleted only when ARM lists nothing in it; an endpoint that cannot list a
        # group's resources keeps it, and the adapter says so.
        assert any(f"rg-net-{suffix}" in w for w in networks.warnings), networks.warnings
        groups.begin_delete(f"rg-net-{suffix}").result()
    assert time.monotonic() - started < 30


def test_aks_lifecycle(live):
    started = time.monotonic()
    suffix = uuid.uuid4().hex[:6]
    group = f"rg-aks-{suffix}"
    conn, networks, clusters = adapters(live)
    network = create_network(networks, network_spec(f"vnet-{suffix}", group, cidr="10.41.0.0/16"))
    desired = cluster_spec(f"aks-{suffix}", group, subnet_ids=[network["subnets"][0]["id"]])
    assert clusters.read(desired) is None

    current = run(clusters, desired, {"action": "create_cluster"})
    assert current["status"] == "ACTIVE" and current["provider_status"] == "Succeeded"
    assert current["kubernetes_version"] == "1.32" and current["version_full"].startswith("1.32.")
    assert current["network"] == {
        "id": network["id"],
        "subnet_ids": [network["subnets"][0]["id"]],
        "pods_range": None,
        "services_range": None,
    }
    assert current["provider"] == {"resource_group": group, "dns_prefix": f"aks-{suffix}", "network_plugin": "azure"}
    assert current["endpoint"].startswith("https://127.0.0.1:")
    assert current["ca_data"] and current["tags"] == {"owner": "adapter-test"}
    (pool,) = current["node_pools"]
    assert (pool["name"], pool["count"], pool["version"], pool["status"], pool["labels"]) == (
        "system",
        3,
        "1.32",
        "ACTIVE",
        {"team": "platform"},
    )
    assert clusters.read(desired)["ca_data"] == current["ca_data"]  # cached per connection

    api = kube_api(clusters, current)
    nodes = wait_until(lambda: len(ready_nodes(api)) == 3 and ready_nodes(api), 60, "3 Ready nodes", interval=0.5)
    assert {n.metadata.labels["team"] for n in nodes} == {"platform"}

    # scale the pool and taint it
    taint = {"key": "dedicated", "value": "infra", "effect": "NoSchedule"}
    action = {"action": "update_node_pool", "pool": "system", "changes": {"count": 4, "taints": [taint]}}
    current = run(clusters, desired, action, current)
    assert (current["node_pools"][0]["count"], current["node_pools"][0]["taints"]) == (4, [taint])
    wait_until(lambda: len(ready_nodes(api)) == 4, 60, "4 Ready nodes", interval=0.5)

    # upgrade one minor: the control plane alone, then the pool
    current = run(clusters, desired, {"action": "upgrade_control_plane", "version": "1.33"}, current)
    assert current["kubernetes_version"] == "1.33" and current["node_pools"][0]["version"] == "1.32"
    current = run(clusters, desired, {"action": "upgrade_node_pool", "pool": "system", "version": "1.33"}, current)
    assert current["node_pools"][0]["version"] == "1.33"

    # add a pool, then remove it
    extra = pool_spec("user", 1, min_count=1, max_count=3, labels={"role": "batch"})
    current = run(clusters, desired, {"action": "create_node_pool", "pool": extra}, current)
    user = next(p for p in current["node_pools"] if p["name"] == "user")
    assert (user["count"], user["min_count"], user["max_count"], user["version"]) == (1, 1, 3, "1.33")
    wait_until(lambda: len(ready_nodes(api)) == 5, 60, "5 Ready nodes", interval=0.5)
    current = run(clusters, desired, {"action": "delete_node_pool", "pool": "user"}, current)
    assert [p["name"] for p in current["node_pools"]] == ["system"]

    tags = {"owner": "adapter-test", "stage": "two"}
    current = run(
        clusters, desired, {"action": "update_tags", "set": {"stage": "two"}, "remove": [], "tags": tags}, current
    )
    assert current["tags"] == tags
    assert [c["name"] for c in clusters.list(region=LOCATION, provider={"resource_group": group})] == [desired["name"]]

    # an invalid request fails at once with a typed error naming cloud, resource and call
    with pytest.raises(E.InvalidRequestError) as info:
        clusters.apply({"action": "create_node_pool", "pool": pool_spec("Bad_Pool", 1)}, desired, current)
    error = info.value
    assert (error.cloud, error.call, error.status) == ("azure", "AgentPools_CreateOrUpdate", 400)
    assert "Bad_Pool" in error.resource and desired["name"] in error.resource
    assert live["azure_client_secret"] not in str(error)

    assert run(clusters, desired, {"action": "delete_cluster"}, current) is None
    assert clusters.read(desired) is None
    networks.apply({"action": "delete_network"}, network_spec(f"vnet-{suffix}", group), network)
    assert networks.read(network_spec(f"vnet-{suffix}", group)) is None
    if conn.resources.resource_groups.check_existence(group):
        conn.resources.resource_groups.begin_delete(group).result()
    assert time.monotonic() - started < 60


# ------------------------------------------------------------------ in-process Azure (fake runtime)


@pytest.fixture(scope="module")
def fast_env(tmp_path_factory):
    directory = tmp_path_factory.mktemp("azure-adapter")
    tls = sandbox_tls(directory / "pki")
    runtime, faults = FakeRuntime(), FaultManager(rng=random.Random(20240601))
    cloud = AzureCloud(CloudContext(faults, runtime, 0.0002, directory / "state", tls), retry_after=0)
    endpoints = cloud.start()
    try:
        yield {"cloud": cloud, "runtime": runtime, "faults": faults, "params": params_for(endpoints, str(tls.ca))}
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


def test_every_request_body_matches_the_arm_schema(fast):
    _, networks, clusters = adapters(fast["params"], poll_interval=0.02)
    network = create_network(networks, network_spec("net", "rg1"))
    pools = [
        pool_spec("system", 2, taints=[{"key": "a", "value": "b", "effect": "NoSchedule"}], disk_size_gb=64),
        pool_spec("spot", 1, min_count=0, max_count=4, spot=True, labels={"x": "y"}),
    ]
    desired = cluster_spec("aks1", "rg1", subnet_ids=[network["subnets"][0]["id"]], pools=pools)
    desired["endpoint_access"] = "private"
    desired["provider"]["network_plugin"] = "kubenet"
    current = run(clusters, desired, {"action": "create_cluster"}, timeout=20)
    assert current["endpoint_access"] == "private" and current["provider"]["network_plugin"] == "kubenet"
    spot = next(p for p in current["node_pools"] if p["name"] == "spot")
    assert (spot["spot"], spot["min_count"], spot["max_count"], spot["labels"]) == (True, 0, 4, {"x": "y"})
    for action in (
        {"action": "update_node_pool", "pool": "spot", "changes": {"min_count": None, "max_count": None, "count": 2}},
        {"action": "upgrade_control_plane", "version": "1.33"},
        {"action": "upgrade_node_pool", "pool": "system", "version": "1.33"},
        {"action": "create_node_pool", "pool": pool_spec("extra", 1)},
    ):
        current = run(clusters, desired, action, current, timeout=20)
    spot = next(p for p in current["node_pools"] if p["name"] == "spot")
    assert (spot["count"], spot["min_count"], spot["max_count"]) == (2, None, None)
    assert [p["version"] for p in current["node_pools"]] == ["1.33", "1.32", "1.33"]
    puts = [r for r in fast["cloud"].received if r["method"] == "PUT" and r["path"].split("/")[-2] != "resourcegroups"]
    assert len(puts) == 8
    for received in puts:
        validate_request(received["path"], received["body"])


def test_a_failed_creation_stops_the_wait_with_the_operation_error(fast):
    _, _, clusters = adapters(fast["params"], poll_interval=0.02)
    make_group(fast)
    fast["runtime"].fail_create = RuntimeError("no capacity in westeurope")
    desired = cluster_spec("aks1", "rg1")
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


def test_waiting_stops_at_the_deadline(fast):
    _, _, clusters = adapters(fast["params"], poll_interval=0.05)
    make_group(fast)
    fast["runtime"].gate.clear()  # the control plane does not come up while the gate is closed
    desired = cluster_spec("aks1", "rg1")
    clusters.apply({"action": "create_cluster"}, desired, None)
    started = time.monotonic()
    with pytest.raises(E.WaitTimeoutError) as info:
        clusters.wait(desired, {"action": "create_cluster"}, Deadline(0.5))
    assert time.monotonic() - started < 3
    assert info.value.cloud == "azure"
    fast["runtime"].gate.set()


def test_throttling_is_retried_by_the_one_retrier(fast):
    conn, networks, _ = adapters(fast["params"], poll_interval=0.02)
    make_group(fast)
    fast["faults"].add_rule(
        FaultRule(cloud="azure", operation="Microsoft.Network/virtualNetworks/read", error_rate=0.3, retry_after=0)
    )
    desired = network_spec("net", "rg1")
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


def test_wrong_credentials_fail_typed_without_the_secret(fast):
    secret = "not-the-secret-" + uuid.uuid4().hex
    _, _, clusters = adapters(dict(fast["params"], azure_client_secret=secret))
    with pytest.raises(E.AuthenticationError) as info:
        clusters.read(cluster_spec("aks1", "rg1"))
    assert info.value.cloud == "azure" and info.value.call == "ManagedClusters_Get"
    assert "AADSTS7000215" in str(info.value)
    assert secret not in str(info.value) and secret not in repr(info.value.as_dict())


def test_absent_things_read_as_none_and_unknown_actions_are_refused(fast):
    _, networks, clusters = adapters(fast["params"])
    assert clusters.read(cluster_spec("nothere", "no-such-group")) is None
    assert networks.read(network_spec("nothere", "no-such-group")) is None
    assert clusters.list(provider={"resource_group": "no-such-group"}) == []
    with pytest.raises(E.ValidationError):
        clusters.apply({"action": "resize_everything"}, cluster_spec("aks1", "rg1"), None)


def make_group(env, name="rg1"):
    conn, _, _ = adapters(env["params"])
    conn.resources.resource_groups.create_or_update(name, {"location": LOCATION})


class Killed(BaseException):
    """The run dies here: no ``except Exception`` catches it, nothing after it runs."""


@pytest.mark.parametrize("call", ["ResourceGroups_CreateOrUpdate", "VirtualNetworks_CreateOrUpdate"])
def test_a_run_killed_between_group_vnet_and_subnets_converges_on_rerun(live, sandbox, monkeypatch, call):
    """Resource group, then VNet, then subnets: the rerun finds each by name, creates nothing
    twice, and the delete leaves neither the group nor a network resource of it."""
    suffix = uuid.uuid4().hex[:6]
    group = f"rg-killed-{suffix}"
    conn, networks, _ = adapters(live)
    desired = network_spec(f"net-{suffix}", group, cidr="10.45.0.0/16")
    real = conn.call

    def killing(fn, *args, **kwargs):
        answer = real(fn, *args, **kwargs)
        if kwargs.get("call") == call:
            monkeypatch.setattr(conn, "call", real)
            raise Killed(call)
        return answer

    def holdings():
        status = json.loads(sandbox["cli"]("status", "--json").stdout)["clouds"]["azure"]
        return (
            [g for g in status["resource_groups"] if g == group],
            sorted((r["type"], r["name"]) for r in status["network"] if r["resource_group"] == group),
        )

    monkeypatch.setattr(conn, "call", killing)
    with pytest.raises(Killed):
        create_network(networks, desired)
    time.sleep(0.5)  # an ARM operation the killed run started finishes on its own
    current = networks.read(desired)
    for action in plan_network(current, desired):
        networks.apply(action, desired, current)
    whole = networks.read(desired)
    assert plan_network(whole, desired) == []
    groups, resources = holdings()
    assert groups == [group]
    assert [r for r in resources if r[0].endswith("virtualNetworks")] == [
        ("Microsoft.Network/virtualNetworks", f"net-{suffix}")
    ]
    assert sorted(s["name"] for s in whole["subnets"]) == ["GatewaySubnet", "nodes"]
    networks.apply({"action": "delete_network"}, desired, whole)
    if conn.resources.resource_groups.check_existence(group):
        conn.resources.resource_groups.begin_delete(group).result()
    assert holdings() == ([], [])
