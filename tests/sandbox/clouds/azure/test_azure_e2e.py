"""The sandbox's Azure end to end: azure-identity + azure-mgmt-containerservice against a real daemon.

Only the ARM endpoint, the authority host and the CA bundle change (and instance discovery is off:
MSAL otherwise asks login.microsoftonline.com about any authority it does not know); the cluster
the SDK creates is a real control plane the `kubernetes` client reaches with the client
certificate of `list_cluster_user_credentials`.
"""

from __future__ import annotations

import json
import time

import pytest
import requests
from azure.mgmt.containerservice import ContainerServiceClient
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from mc_sandbox.core.clients import ready_nodes
from support import azure_clients, wait_until

GROUP = "e2e-rg"
CLUSTER = "aks-e2e"
LOCATION = "westeurope"


def kube_api(aks: ContainerServiceClient, tmp_path) -> k8s.ApiClient:
    credentials = aks.managed_clusters.list_cluster_user_credentials(GROUP, CLUSTER)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_bytes(bytes(credentials.kubeconfigs[0].value))  # the SDK decodes the base64
    return k8s_config.new_client_from_config(str(kubeconfig))


def test_aks_cluster_lifecycle_with_the_official_sdks(sandbox, tmp_path):
    started = time.monotonic()
    resources, aks = azure_clients(sandbox)
    resources.resource_groups.create_or_update(GROUP, {"location": LOCATION})
    body = {
        "location": LOCATION,
        "properties": {
            "kubernetesVersion": "1.32",
            "dnsPrefix": "e2e",
            "agentPoolProfiles": [
                {
                    "name": "system",
                    "count": 3,
                    "vmSize": "Standard_D4s_v5",
                    "mode": "System",
                    "nodeLabels": {"team": "platform"},
                }
            ],
        },
    }
    cluster = aks.managed_clusters.begin_create_or_update(GROUP, CLUSTER, body).result()
    assert cluster.properties.provisioning_state == "Succeeded"
    assert cluster.properties.fqdn.startswith("127.0.0.1:")

    api = kube_api(aks, tmp_path)
    nodes = wait_until(lambda: len(ready_nodes(api)) == 3 and ready_nodes(api), 60, "3 Ready nodes")
    for node in nodes:
        labels = node.metadata.labels
        assert labels["kubernetes.azure.com/agentpool"] == "system"
        assert labels["node.kubernetes.io/instance-type"] == "Standard_D4s_v5"
        assert labels["topology.kubernetes.io/region"] == LOCATION
        assert labels["team"] == "platform"
    # the client certificate is a cluster admin's (system:masters)
    k8s.CoreV1Api(api).create_namespace({"metadata": {"name": "team-a"}})

    pool = aks.agent_pools.get(GROUP, CLUSTER, "system")
    pool.properties.count = 5
    assert aks.agent_pools.begin_create_or_update(GROUP, CLUSTER, "system", pool).result().properties.count == 5
    wait_until(lambda: len(ready_nodes(api)) == 5, 60, "5 Ready nodes")

    cluster = aks.managed_clusters.get(GROUP, CLUSTER)
    cluster.properties.kubernetes_version = "1.33"
    for profile in cluster.properties.agent_pool_profiles:
        profile.orchestrator_version = "1.33"
    upgraded = aks.managed_clusters.begin_create_or_update(GROUP, CLUSTER, cluster).result()
    git_version = sandbox["endpoints"]["kubernetes_version"]
    assert upgraded.properties.current_kubernetes_version == git_version.lstrip("v")
    assert upgraded.properties.agent_pool_profiles[0].current_orchestrator_version == git_version.lstrip("v")
    assert k8s.VersionApi(api).get_code().git_version == git_version

    status = json.loads(sandbox["cli"]("status", "--json").stdout)
    (listed,) = status["clouds"]["azure"]["clusters"]
    assert (listed["name"], listed["provisioning_state"], listed["agent_pools"][0]["count"]) == (
        CLUSTER,
        "Succeeded",
        5,
    )
    assert sandbox["endpoints"]["azure"]["client_secret"] not in json.dumps(status)

    aks.managed_clusters.begin_delete(GROUP, CLUSTER).result()
    assert [c.name for c in aks.managed_clusters.list_by_resource_group(GROUP)] == []
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"https://{cluster.properties.fqdn}/version", verify=False, timeout=5)  # noqa: S501
    status = json.loads(sandbox["cli"]("status", "--json").stdout)
    assert not any(key.startswith("azure/") for key in status["kubernetes"]["clusters"])
    resources.resource_groups.begin_delete(GROUP).result()
    assert time.monotonic() - started < 60
