# -*- coding: utf-8 -*-
"""AKS: portable shape <-> managed cluster JSON, status mapping, and the adapter with mocked SDK clients."""

from __future__ import annotations

import base64
import copy
from unittest import mock

import pytest
import yaml
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from ansible_collections.multicloud.fabric.plugins.module_utils.azure import client as C
from ansible_collections.multicloud.fabric.plugins.module_utils.azure import cluster as K
from ansible_collections.multicloud.fabric.plugins.module_utils.azure import cluster_shape as S
from ansible_collections.multicloud.fabric.plugins.module_utils.azure import credentials as U
from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Deadline, Retrier, RetryPolicy

SUB = "00000000-0000-0000-0000-000000000000"
CLUSTER_ID = f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/aks1"
SUBNET = f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/net1/subnets/nodes"


def pool(name="system", count=3, **extra):
    spec = {
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
    spec.update(extra)
    return spec


def desired(**overrides):
    spec = {
        "cloud": "azure",
        "region": "westeurope",
        "name": "aks1",
        "kubernetes_version": "1.32",
        "endpoint_access": "public",
        "tags": {"env": "dev"},
        "purge_tags": True,
        "node_pools": [pool(labels={"team": "platform"})],
        "network": {"id": None, "subnet_ids": [SUBNET], "pods_range": None, "services_range": None},
        "provider": {"resource_group": "rg1", "dns_prefix": None, "network_plugin": None},
    }
    spec.update(overrides)
    return spec


def cluster_json(state="Succeeded", pool_state="Succeeded", **props):
    """A managed cluster as AKS's GET returns it (after the 2025-10-01 ManagedClustersCreate_Update
    example response, trimmed and adapted)."""
    body = {
        "id": CLUSTER_ID,
        "name": "aks1",
        "type": "Microsoft.ContainerService/ManagedClusters",
        "location": "westeurope",
        "tags": {"env": "dev"},
        "identity": {"type": "SystemAssigned", "principalId": "p", "tenantId": "t"},
        "systemData": {"createdBy": "someone"},
        "properties": {
            "provisioningState": state,
            "powerState": {"code": "Running"},
            "kubernetesVersion": "1.32",
            "currentKubernetesVersion": "1.32.7",
            "dnsPrefix": "aks1",
            "fqdn": "aks1-abcd1234.hcp.westeurope.azmk8s.io",
            "enableRBAC": True,
            "maxAgentPools": 100,
            "nodeResourceGroup": "MC_rg1_aks1_westeurope",
            "networkProfile": {"networkPlugin": "azure", "serviceCidr": "10.0.0.0/16", "dnsServiceIP": "10.0.0.10"},
            "agentPoolProfiles": [
                {
                    "name": "system",
                    "count": 3,
                    "vmSize": "Standard_D4s_v5",
                    "mode": "System",
                    "type": "VirtualMachineScaleSets",
                    "osType": "Linux",
                    "osDiskSizeGB": 128,
                    "enableAutoScaling": False,
                    "nodeLabels": {"team": "platform"},
                    "nodeTaints": [],
                    "orchestratorVersion": "1.32",
                    "currentOrchestratorVersion": "1.32.7",
                    "nodeImageVersion": "AKSUbuntu-2204gen2containerd-202501.01.0",
                    "provisioningState": pool_state,
                    "vnetSubnetID": SUBNET,
                    "availabilityZones": None,
                },
                {
                    "name": "spot",
                    "count": 2,
                    "vmSize": "Standard_D8s_v5",
                    "mode": "User",
                    "enableAutoScaling": True,
                    "minCount": 1,
                    "maxCount": 5,
                    "scaleSetPriority": "Spot",
                    "nodeLabels": {"kubernetes.azure.com/scalesetpriority": "spot", "role": "batch"},
                    "nodeTaints": ["kubernetes.azure.com/scalesetpriority=spot:NoSchedule", "gpu:NoExecute"],
                    "orchestratorVersion": "1.31.9",
                    "provisioningState": "Succeeded",
                    "vnetSubnetID": SUBNET,
                },
            ],
        },
    }
    body["properties"].update(props)
    return body


def agent_pool_json(profile):
    """An AgentPools_Get answer: the profile under ``properties``."""
    profile = copy.deepcopy(profile)
    name = profile.pop("name")
    return {"id": f"{CLUSTER_ID}/agentPools/{name}", "name": name, "properties": profile}


# ------------------------------------------------------------------ translation


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("Creating", "CREATING"),
        ("Succeeded", "ACTIVE"),
        ("Updating", "UPDATING"),
        ("Upgrading", "UPDATING"),
        ("Scaling", "UPDATING"),
        ("Deleting", "DELETING"),
        ("Failed", "FAILED"),
        ("Canceled", "FAILED"),
        ("Starting", "UPDATING"),
        (None, "UPDATING"),
    ],
)
def test_status_mapping(state, status):
    assert S.portable_status(state) == status


def test_taints_round_trip():
    for taint in (
        {"key": "a", "value": "b", "effect": "NoSchedule"},
        {"key": "gpu", "value": "", "effect": "NoExecute"},
    ):
        assert S.parse_taint(S.format_taint(taint)) == taint
    assert S.format_taint({"key": "gpu", "value": "", "effect": "NoExecute"}) == "gpu:NoExecute"
    assert S.parse_taint("not a taint") is None


def test_dns_prefix_defaults_to_a_valid_form_of_the_name():
    assert S.default_dns_prefix("aks1") == "aks1"
    assert S.default_dns_prefix("my_cluster_") == "my-cluster"
    assert len(S.default_dns_prefix("a" * 70)) == 54


def test_pool_profiles():
    assert S.pool_profile(pool(), mode="System", subnet_id=SUBNET) == {
        "name": "system",
        "count": 3,
        "vmSize": "Standard_D4s_v5",
        "type": "VirtualMachineScaleSets",
        "osType": "Linux",
        "nodeLabels": {},
        "nodeTaints": [],
        "mode": "System",
        "enableAutoScaling": False,
        "vnetSubnetID": SUBNET,
    }
    profile = S.pool_profile(
        pool(
            "spot",
            2,
            min_count=1,
            max_count=4,
            spot=True,
            disk_size_gb=64,
            labels={"a": "b"},
            taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}],
        ),
        mode="User",
        version="1.32",
    )
    assert {k: profile[k] for k in profile if k not in ("name", "vmSize", "type", "osType")} == {
        "count": 2,
        "nodeLabels": {"a": "b"},
        "nodeTaints": ["k=v:NoSchedule"],
        "mode": "User",
        "enableAutoScaling": True,
        "minCount": 1,
        "maxCount": 4,
        "scaleSetPriority": "Spot",
        "scaleSetEvictionPolicy": "Delete",
        "spotMaxPrice": -1,
        "osDiskSizeGB": 64,
        "orchestratorVersion": "1.32",
    }


def test_cluster_body_creates_every_pool_first_one_system():
    spec = desired(node_pools=[pool(), pool("user", 1)], endpoint_access="private")
    spec["provider"] = {"resource_group": "rg1", "dns_prefix": "custom", "network_plugin": "kubenet"}
    body = S.cluster_body(spec)
    assert body["location"] == "westeurope" and body["tags"] == {"env": "dev"}
    assert body["identity"] == {"type": "SystemAssigned"}
    props = body["properties"]
    assert [(p["name"], p["mode"], p["vnetSubnetID"]) for p in props["agentPoolProfiles"]] == [
        ("system", "System", SUBNET),
        ("user", "User", SUBNET),
    ]
    assert props["kubernetesVersion"] == "1.32" and props["dnsPrefix"] == "custom" and props["enableRBAC"] is True
    assert props["apiServerAccessProfile"] == {"enablePrivateCluster": True}
    assert props["networkProfile"] == {"networkPlugin": "kubenet"}
    minimal = S.cluster_body(desired(kubernetes_version=None, tags=None, network={"subnet_ids": []}))
    assert "kubernetesVersion" not in minimal["properties"] and "networkProfile" not in minimal["properties"]
    assert minimal["properties"]["dnsPrefix"] == "aks1" and minimal["tags"] == {}
    assert "vnetSubnetID" not in minimal["properties"]["agentPoolProfiles"][0]
    assert minimal["properties"]["apiServerAccessProfile"] == {"enablePrivateCluster": False}


def test_upgrade_body_changes_only_the_control_plane_version():
    body = S.upgrade_body(cluster_json(), "1.33")
    props = body["properties"]
    assert props["kubernetesVersion"] == "1.33"
    assert [p["orchestratorVersion"] for p in props["agentPoolProfiles"]] == ["1.32", "1.31.9"]
    for key in ("provisioningState", "powerState", "currentKubernetesVersion", "fqdn", "maxAgentPools"):
        assert key not in props
    for profile in props["agentPoolProfiles"]:
        for key in ("provisioningState", "currentOrchestratorVersion", "nodeImageVersion", "availabilityZones"):
            assert key not in profile
    assert "systemData" not in body
    assert props["dnsPrefix"] == "aks1" and props["networkProfile"]["serviceCidr"] == "10.0.0.0/16"
    assert cluster_json()["properties"]["provisioningState"] == "Succeeded"  # the input is not changed


def test_upgrade_body_keeps_a_pool_version_only_reported_as_current():
    cluster = cluster_json()
    del cluster["properties"]["agentPoolProfiles"][0]["orchestratorVersion"]
    assert S.upgrade_body(cluster, "1.33")["properties"]["agentPoolProfiles"][0]["orchestratorVersion"] == "1.32.7"


def test_pool_bodies():
    spot = agent_pool_json(cluster_json()["properties"]["agentPoolProfiles"][1])
    assert S.pool_version_body(spot, "1.32")["properties"]["orchestratorVersion"] == "1.32"
    body = S.pool_update_body(
        spot,
        {"count": 3, "labels": {"role": "web"}, "taints": [{"key": "a", "value": "b", "effect": "PreferNoSchedule"}]},
    )["properties"]
    assert "name" not in body and "provisioningState" not in body
    assert body["count"] == 3
    assert body["nodeLabels"] == {"kubernetes.azure.com/scalesetpriority": "spot", "role": "web"}
    assert body["nodeTaints"] == ["kubernetes.azure.com/scalesetpriority=spot:NoSchedule", "a=b:PreferNoSchedule"]
    off = S.pool_update_body(spot, {"min_count": None, "max_count": None, "count": 2})["properties"]
    assert (off["enableAutoScaling"], "minCount" in off, "maxCount" in off, off["count"]) == (False, False, False, 2)
    bounds = S.pool_update_body(spot, {"max_count": 9})["properties"]
    assert (bounds["enableAutoScaling"], bounds["minCount"], bounds["maxCount"]) == (True, 1, 9)
    on = S.pool_update_body(
        agent_pool_json(cluster_json()["properties"]["agentPoolProfiles"][0]), {"min_count": 1, "max_count": 3}
    )
    assert (on["properties"]["enableAutoScaling"], on["properties"]["minCount"], on["properties"]["maxCount"]) == (
        True,
        1,
        3,
    )


def test_a_cluster_reads_as_the_portable_shape():
    current = S.cluster_from_arm(cluster_json(), desired=desired(), ca_data="Q0E=")
    raw = current.pop("raw")
    assert raw == cluster_json()
    assert current == {
        "cloud": "azure",
        "region": "westeurope",
        "name": "aks1",
        "kubernetes_version": "1.32",
        "endpoint_access": "public",
        "tags": {"env": "dev"},
        "purge_tags": True,
        "node_pools": [
            {
                "name": "system",
                "count": 3,
                "min_count": None,
                "max_count": None,
                "machine_type": "Standard_D4s_v5",
                "labels": {"team": "platform"},
                "taints": [],
                "spot": False,
                "disk_size_gb": 128,
                "version": "1.32",
                "status": "ACTIVE",
                "provider_status": "Succeeded",
            },
            {
                "name": "spot",
                "count": 2,
                "min_count": 1,
                "max_count": 5,
                "machine_type": "Standard_D8s_v5",
                "labels": {"role": "batch"},
                "taints": [{"key": "gpu", "value": "", "effect": "NoExecute"}],
                "spot": True,
                "disk_size_gb": None,
                "version": "1.31",
                "status": "ACTIVE",
                "provider_status": "Succeeded",
            },
        ],
        "network": {
            "id": f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/net1",
            "subnet_ids": [SUBNET],
            "pods_range": None,
            "services_range": None,
        },
        "provider": {"resource_group": "rg1", "dns_prefix": "aks1", "network_plugin": "azure"},
        "id": CLUSTER_ID,
        "status": "ACTIVE",
        "provider_status": "Succeeded",
        "status_message": "",
        "version_full": "1.32.7",
        "endpoint": "https://aks1-abcd1234.hcp.westeurope.azmk8s.io",
        "ca_data": "Q0E=",
    }


def test_agent_pools_list_replaces_the_profiles_and_private_clusters_use_the_private_fqdn():
    cluster = cluster_json(fqdn=None, privateFQDN="aks1.privatelink.westeurope.azmk8s.io")
    cluster["properties"]["apiServerAccessProfile"] = {"enablePrivateCluster": True}
    pools = [agent_pool_json(dict(cluster["properties"]["agentPoolProfiles"][0], provisioningState="Scaling"))]
    current = S.cluster_from_arm(cluster, pools)
    assert current["endpoint"] == "https://aks1.privatelink.westeurope.azmk8s.io"
    assert current["endpoint_access"] == "private"
    assert [(p["name"], p["status"], p["provider_status"]) for p in current["node_pools"]] == [
        ("system", "UPDATING", "Scaling")
    ]
    assert current["purge_tags"] is False and current["ca_data"] is None


def test_status_message_and_idle_state():
    failed = cluster_json(
        state="Failed", status={"provisioningError": {"code": "QuotaExceeded", "message": "no cores"}}
    )
    current = S.cluster_from_arm(failed)
    assert current["status_message"] == "QuotaExceeded: no cores"
    assert S.idle_state(current) == "FAILED" and S.failure_message(current) == "QuotaExceeded: no cores"
    stopped = S.cluster_from_arm(cluster_json(powerState={"code": "Stopped"}))
    assert stopped["status_message"] == "the cluster's power state is Stopped"
    assert S.idle_state(S.cluster_from_arm(cluster_json())) == "ACTIVE"
    assert S.idle_state(S.cluster_from_arm(cluster_json(pool_state="Upgrading"))) == "UPDATING"
    assert S.idle_state(S.cluster_from_arm(cluster_json(state="Creating"))) == "CREATING"
    pool_failed = S.cluster_from_arm(cluster_json(pool_state="Failed"))
    assert S.idle_state(pool_failed) == "FAILED"
    assert S.failure_message(pool_failed) == "provisioningState Succeeded; failed node pools: system (Failed)"


KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [
        {"name": "other", "cluster": {"server": "x"}},
        {"name": "aks1", "cluster": {"certificate-authority-data": "Q0E=", "server": "https://h:443"}},
    ],
    "contexts": [{"name": "aks1", "context": {"cluster": "aks1", "user": "clusterUser_rg1_aks1"}}],
    "current-context": "aks1",
    "users": [
        {"name": "clusterUser_rg1_aks1", "user": {"client-certificate-data": "Q0VSVA==", "client-key-data": "S0VZ"}}
    ],
}


def test_kubeconfig_parsing():
    text = yaml.safe_dump(KUBECONFIG)
    assert U.parse_kubeconfig(text.encode()) == KUBECONFIG
    assert U.parse_kubeconfig(base64.b64encode(text.encode()).decode()) == KUBECONFIG
    assert U.kubeconfig_user(KUBECONFIG) == {"client-certificate-data": "Q0VSVA==", "client-key-data": "S0VZ"}
    assert U.kubeconfig_ca_data(KUBECONFIG) == "Q0E="
    with pytest.raises(E.FabricError):
        U.parse_kubeconfig(b"just text")


# ------------------------------------------------------------------ the adapter with mocked SDK clients


class FakeResponse:
    def __init__(self, status, body):
        self.status_code, self.reason, self.headers = status, "Reason", {}
        self.content_type, self.request, self._body = "application/json", None, body

    def text(self, encoding=None):
        return self._body


def http_error(status, code, message="boom"):
    cls = ResourceNotFoundError if status == 404 else HttpResponseError
    return cls(response=FakeResponse(status, '{"error": {"code": "%s", "message": "%s"}}' % (code, message)))  # noqa: UP031


class Poller:
    def __init__(self, error=None):
        self.error = error

    def wait(self, timeout=None):
        if self.error is not None:
            raise self.error

    def done(self):
        return True

    def status(self):
        return "Failed" if self.error else "Succeeded"

    def result(self, timeout=None):
        return None


class Credentials:
    def __init__(self, config):
        self.kubeconfigs = [mock.Mock(value=yaml.safe_dump(config).encode())]


@pytest.fixture
def adapter(clock):
    retrier = Retrier(
        "azure", policy=RetryPolicy(timeout=5, base_delay=0.1, max_delay=1), clock=clock, sleep=clock.sleep
    )
    conn = C.Connection({"azure_subscription_id": SUB}, retrier, poll_interval=2)
    cs = mock.MagicMock()
    conn._clients["containerservice"] = cs
    for ops in (cs.managed_clusters, cs.agent_pools):
        ops.begin_create_or_update.return_value = Poller()
        ops.begin_delete.return_value = Poller()
    cs.managed_clusters.begin_update_tags.return_value = Poller()
    cs.managed_clusters.get.return_value = cluster_json()
    # AgentPools_List answering 404 makes reads use the cluster's own agentPoolProfiles
    cs.agent_pools.list.side_effect = http_error(404, "ResourceNotFound")
    cs.managed_clusters.list_cluster_user_credentials.return_value = Credentials(KUBECONFIG)
    return conn, K.Clusters(conn), cs


def test_read_fetches_the_ca_once_per_connection(adapter):
    conn, clusters, cs = adapter
    cs.agent_pools.list.side_effect = lambda *a, **k: iter(
        [agent_pool_json(p) for p in cluster_json()["properties"]["agentPoolProfiles"]]
    )
    first = clusters.read(desired())
    assert first["ca_data"] == "Q0E=" and [p["name"] for p in first["node_pools"]] == ["system", "spot"]
    assert clusters.read(desired())["ca_data"] == "Q0E="
    assert K.Clusters(conn).read(desired())["ca_data"] == "Q0E="
    cs.managed_clusters.list_cluster_user_credentials.assert_called_once_with("rg1", "aks1", format="exec")
    assert clusters.kube_user(first, mode="exec") == KUBECONFIG["users"][0]["user"]
    with pytest.raises(E.ValidationError):
        clusters.kube_user(first, mode="password")


def test_read_of_a_busy_cluster_does_not_ask_for_credentials(adapter):
    _conn, clusters, cs = adapter
    cs.managed_clusters.get.return_value = cluster_json(state="Creating")
    assert clusters.read(desired())["ca_data"] is None
    cs.managed_clusters.list_cluster_user_credentials.assert_not_called()
    cs.managed_clusters.get.side_effect = http_error(404, "ResourceGroupNotFound")
    assert clusters.read(desired()) is None


def test_read_survives_a_credential_call_that_is_refused(adapter):
    _conn, clusters, cs = adapter
    cs.managed_clusters.list_cluster_user_credentials.side_effect = http_error(403, "AuthorizationFailed")
    assert clusters.read(desired())["ca_data"] is None


def test_actions_send_what_aks_expects(adapter):
    _conn, clusters, cs = adapter
    current = S.cluster_from_arm(cluster_json(), desired=desired())
    clusters.apply({"action": "create_cluster"}, desired(), None)
    args = cs.managed_clusters.begin_create_or_update.call_args
    assert args.args == ("rg1", "aks1", S.cluster_body(desired())) and args.kwargs == {"polling_interval": 2.0}

    clusters.apply({"action": "upgrade_control_plane", "version": "1.33"}, desired(), current)
    assert cs.managed_clusters.begin_create_or_update.call_args.args[2] == S.upgrade_body(cluster_json(), "1.33")

    system = agent_pool_json(cluster_json()["properties"]["agentPoolProfiles"][0])
    cs.agent_pools.get.return_value = system
    clusters.apply({"action": "upgrade_node_pool", "pool": "system", "version": "1.33"}, desired(), current)
    assert cs.agent_pools.begin_create_or_update.call_args.args == (
        "rg1",
        "aks1",
        "system",
        S.pool_version_body(system, "1.33"),
    )
    clusters.apply({"action": "update_node_pool", "pool": "system", "changes": {"count": 5}}, desired(), current)
    assert cs.agent_pools.begin_create_or_update.call_args.args[3]["properties"]["count"] == 5

    no_subnet = desired(network={"id": None, "subnet_ids": [], "pods_range": None, "services_range": None})
    clusters.apply({"action": "create_node_pool", "pool": pool("user", 1)}, no_subnet, current)
    rg, name, pool_name, body = cs.agent_pools.begin_create_or_update.call_args.args
    assert (rg, name, pool_name) == ("rg1", "aks1", "user")
    assert body["properties"]["mode"] == "User" and body["properties"]["vnetSubnetID"] == SUBNET  # the cluster's
    assert "name" not in body["properties"]

    clusters.apply({"action": "delete_node_pool", "pool": "user"}, desired(), current)
    assert cs.agent_pools.begin_delete.call_args.args == ("rg1", "aks1", "user")
    clusters.apply({"action": "update_tags", "set": {}, "remove": ["env"], "tags": {"x": "y"}}, desired(), current)
    assert cs.managed_clusters.begin_update_tags.call_args.args == ("rg1", "aks1", {"tags": {"x": "y"}})
    clusters.apply({"action": "delete_cluster"}, desired(), current)
    assert cs.managed_clusters.begin_delete.call_args.args == ("rg1", "aks1")
    with pytest.raises(E.ValidationError):
        clusters.apply({"action": "stop_cluster"}, desired(), current)


def test_wait_returns_the_idle_cluster(adapter, clock):
    _conn, clusters, cs = adapter
    cs.managed_clusters.get.side_effect = [cluster_json(pool_state="Scaling"), cluster_json()]
    clusters.apply({"action": "update_node_pool", "pool": "system", "changes": {"count": 4}}, desired(), None)
    current = clusters.wait(desired(), {"action": "update_node_pool"}, Deadline(60, clock=clock))
    assert current["status"] == "ACTIVE" and current["ca_data"] == "Q0E="
    assert clock.sleeps == [2]


def test_a_failed_operation_stops_the_wait_with_its_message(adapter, clock):
    _conn, clusters, cs = adapter
    cs.managed_clusters.begin_create_or_update.return_value = Poller(http_error(200, "QuotaExceeded", "no cores"))
    clusters.apply({"action": "create_cluster"}, desired(), None)
    with pytest.raises(E.ResourceFailedError) as info:
        clusters.wait(desired(), {"action": "create_cluster"}, Deadline(60, clock=clock))
    error = info.value
    assert (error.cloud, error.call, error.code) == ("azure", "ManagedClusters_CreateOrUpdate", "QuotaExceeded")
    assert "no cores" in error.message and "aks1" in error.resource
    assert clock.sleeps == []


def test_throttled_polling_falls_back_to_reading(adapter, clock):
    _conn, clusters, cs = adapter
    cs.managed_clusters.begin_create_or_update.return_value = Poller(http_error(429, "TooManyRequests"))
    failed = cluster_json(state="Failed", status={"provisioningError": {"code": "X", "message": "broken"}})
    cs.managed_clusters.get.side_effect = [
        cluster_json(),
        cluster_json(state="Upgrading"),
        failed,
    ]  # the GET of apply, then the waiter's reads
    clusters.apply({"action": "upgrade_control_plane", "version": "1.33"}, desired(), None)
    with pytest.raises(E.ResourceFailedError, match="X: broken"):
        clusters.wait(desired(), {"action": "upgrade_control_plane"}, Deadline(60, clock=clock))
    assert clock.sleeps == [2]


def test_auth_errors_while_polling_keep_their_kind(adapter, clock):
    _conn, clusters, cs = adapter
    cs.managed_clusters.begin_update_tags.return_value = Poller(http_error(401, "InvalidAuthenticationToken"))
    clusters.apply({"action": "update_tags", "tags": {}}, desired(), None)
    with pytest.raises(E.AuthenticationError):
        clusters.wait(desired(), {"action": "update_tags"}, Deadline(60, clock=clock))


def test_delete_waits_until_the_cluster_is_gone(adapter, clock):
    _conn, clusters, cs = adapter
    clusters.apply({"action": "delete_cluster"}, desired(), S.cluster_from_arm(cluster_json()))
    cs.managed_clusters.get.side_effect = [cluster_json(state="Deleting"), http_error(404, "ResourceNotFound")]
    assert clusters.wait(desired(), {"action": "delete_cluster"}, Deadline(60, clock=clock)) is None
    assert clock.sleeps == [2]


def test_the_wait_times_out_at_the_deadline(adapter, clock):
    _conn, clusters, cs = adapter
    cs.managed_clusters.get.return_value = cluster_json(state="Creating")
    with pytest.raises(E.WaitTimeoutError) as info:
        clusters.wait(desired(), {"action": "create_cluster"}, Deadline(10, clock=clock))
    assert "CREATING" in info.value.message
    assert sum(clock.sleeps) == pytest.approx(10)


def test_list_uses_the_profiles_and_filters_by_region(adapter):
    _conn, clusters, cs = adapter
    other = dict(cluster_json(), location="eastus", name="aks2", id=CLUSTER_ID.replace("aks1", "aks2"))
    cs.managed_clusters.list.return_value = iter([cluster_json(), other])
    listed = clusters.list(region="westeurope")
    assert [c["name"] for c in listed] == ["aks1"] and listed[0]["ca_data"] is None
    assert [p["name"] for p in listed[0]["node_pools"]] == ["system", "spot"]
    cs.managed_clusters.list_by_resource_group.side_effect = http_error(404, "ResourceGroupNotFound")
    assert clusters.list(provider={"resource_group": "gone"}) == []
