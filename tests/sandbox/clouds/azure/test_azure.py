"""The sandbox's Azure through the official SDKs (azure-identity, azure-mgmt-*), with a fake Kubernetes runtime.

Every client is built the way a user points it at another cloud: `base_url`, the authority host
and the CA bundle change, nothing else (plus `disable_instance_discovery=True`, without which
MSAL asks login.microsoftonline.com about any authority it does not know).
"""

from __future__ import annotations

import base64
import copy
import json
import threading
import time

import jwt
import pytest
import requests
import yaml
from arm_schema import SCHEMAS, SPECS, schema_errors, validate_request
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice import models as aks_models
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network import models as net_models
from azure.mgmt.resource.resources import ResourceManagementClient
from cryptography.hazmat.primitives.asymmetric import rsa
from mc_sandbox.clouds.azure.server import AzureCloud
from mc_sandbox.core.faults import FaultManager, FaultRule
from mc_sandbox.core.runtime import CloudContext
from mc_sandbox.k8s.pki import sandbox_tls
from support import CA_PEM, FakeRuntime

from ansible_collections.multicloud.fabric.plugins.module_utils.azure.client import Connection
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Retrier, RetryPolicy

LOCATION = "westeurope"
GROUP = "rg1"
TIME_FACTOR = 0.0002  # 5 simulated minutes of cluster creation take 0.06 s
ARM_SCOPE = "https://management.azure.com/.default"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    directory = tmp_path_factory.mktemp("azure")
    tls = sandbox_tls(directory / "pki")
    runtime, faults = FakeRuntime(), FaultManager()
    cloud = AzureCloud(CloudContext(faults, runtime, TIME_FACTOR, directory / "state", tls), retry_after=0)
    endpoints = cloud.start()
    try:
        yield {"cloud": cloud, "runtime": runtime, "faults": faults, "endpoints": endpoints, "ca": str(tls.ca)}
    finally:
        cloud.stop()


@pytest.fixture
def az(env):
    env["cloud"].reset()
    env["faults"].clear()
    env["runtime"].calls.clear()
    env["runtime"].gate.set()
    yield env
    env["runtime"].gate.set()


def credential(env, secret=None):
    """The sandbox's service principal (one credential per module: it caches its token)."""
    if secret is None and "credential" in env:
        return env["credential"]
    ep = env["endpoints"]
    made = ClientSecretCredential(
        ep["tenant_id"],
        ep["client_id"],
        secret or ep["client_secret"],
        authority=ep["authority_host"],
        connection_verify=env["ca"],
        disable_instance_discovery=True,
    )
    if secret is None:
        env["credential"] = made
    return made


def sdk(env, cls, cred=None, **kwargs):
    ep = env["endpoints"]
    # The fast cloud answers Retry-After: 0, so the client's own polling interval paces the LROs.
    kwargs.setdefault("polling_interval", 0.02)
    return cls(
        cred or credential(env), ep["subscription_id"], base_url=ep["base_url"], connection_verify=env["ca"], **kwargs
    )


def aks_client(env, **kwargs) -> ContainerServiceClient:
    return sdk(env, ContainerServiceClient, **kwargs)


def make_group(env, name=GROUP):
    return sdk(env, ResourceManagementClient).resource_groups.create_or_update(name, {"location": LOCATION})


def cluster_body(count=3, version="1.32", **pool):
    return {
        "location": LOCATION,
        "properties": {
            "kubernetesVersion": version,
            "dnsPrefix": "demo",
            "agentPoolProfiles": [
                {"name": "system", "count": count, "vmSize": "Standard_D4s_v5", "mode": "System", **pool}
            ],
        },
    }


def create_cluster(env, name="aks1", **kwargs):
    make_group(env)
    return aks_client(env).managed_clusters.begin_create_or_update(GROUP, name, cluster_body(**kwargs)).result()


def raw(env, method, path, token=True, **kwargs):
    ep = env["endpoints"]
    headers = kwargs.pop("headers", {})
    if token is True:
        headers["Authorization"] = "Bearer " + credential(env).get_token(ARM_SCOPE).token
    elif token:
        headers["Authorization"] = token
    return requests.request(method, ep["base_url"] + path, headers=headers, verify=env["ca"], timeout=10, **kwargs)


def cluster_path(env, name="aks1", group=GROUP):
    sub = env["endpoints"]["subscription_id"]
    return f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.ContainerService/managedClusters/{name}"


# ------------------------------------------------------------------ Entra ID
def test_token_flow_issues_a_signed_jwt_for_arm(az):
    ep = az["endpoints"]
    token = credential(az).get_token(ARM_SCOPE).token
    config = requests.get(
        f"{ep['authority_host']}/{ep['tenant_id']}/v2.0/.well-known/openid-configuration", verify=az["ca"], timeout=5
    ).json()
    assert config["token_endpoint"] == f"{ep['authority_host']}/{ep['tenant_id']}/oauth2/v2.0/token"
    keys = requests.get(config["jwks_uri"], verify=az["ca"], timeout=5).json()["keys"]
    key = jwt.PyJWK(keys[0]).key
    claims = jwt.decode(token, key, algorithms=["RS256"], audience="https://management.azure.com")
    assert claims["tid"] == ep["tenant_id"]
    assert claims["appid"] == ep["client_id"]
    assert claims["exp"] > claims["iat"]


def test_wrong_client_secret_is_refused_by_the_token_endpoint(az):
    with pytest.raises(ClientAuthenticationError) as info:
        credential(az, secret="not-the-secret").get_token(ARM_SCOPE)
    assert "AADSTS7000215" in str(info.value)


# ------------------------------------------------------------------ ARM basics
def test_arm_refuses_missing_forged_and_expired_tokens(az):
    sub = az["endpoints"]["subscription_id"]
    path = f"/subscriptions/{sub}/resourcegroups?api-version=2025-04-01"
    missing = raw(az, "GET", path, token=None)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "AuthenticationFailed"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    genuine = jwt.decode(credential(az).get_token(ARM_SCOPE).token, options={"verify_signature": False})
    forged = jwt.encode(genuine, other_key, algorithm="RS256")
    bad = raw(az, "GET", path, token=f"Bearer {forged}")
    assert (bad.status_code, bad.json()["error"]["code"]) == (401, "InvalidAuthenticationToken")
    expired = az["cloud"].entra.issue("https://management.azure.com", lifetime=-60)
    old = raw(az, "GET", path, token=f"Bearer {expired}")
    assert (old.status_code, old.json()["error"]["code"]) == (401, "ExpiredAuthenticationToken")

    class Forged:
        def get_token(self, *scopes, **kwargs):
            return AccessToken(forged, 2**31)

    with pytest.raises(ClientAuthenticationError) as info:
        sdk(az, ResourceManagementClient, cred=Forged()).resource_groups.get(GROUP)
    assert info.value.status_code == 401


def test_api_version_is_required(az):
    sub = az["endpoints"]["subscription_id"]
    response = raw(az, "GET", f"/subscriptions/{sub}/resourcegroups")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MissingApiVersionParameter"


def test_resource_groups_lifecycle(az):
    client = sdk(az, ResourceManagementClient)
    group = client.resource_groups.create_or_update(GROUP, {"location": "West Europe", "tags": {"a": "b"}})
    assert (group.location, group.properties.provisioning_state) == (LOCATION, "Succeeded")
    assert client.resource_groups.check_existence(GROUP) is True
    assert [g.name for g in client.resource_groups.list()] == [GROUP]
    with pytest.raises(HttpResponseError) as info:
        client.resource_groups.create_or_update(GROUP, {"location": "eastus"})
    assert info.value.error.code == "InvalidResourceGroupLocation"
    client.resource_groups.begin_delete(GROUP).result()
    assert client.resource_groups.check_existence(GROUP) is False
    with pytest.raises(ResourceNotFoundError) as info:
        client.resource_groups.get(GROUP)
    assert info.value.error.code == "ResourceGroupNotFound"


# ------------------------------------------------------------------ managed clusters
def test_managed_cluster_create_through_the_sdk_lro(az):
    runtime = az["runtime"]
    runtime.gate.clear()  # hold the control plane: the cluster stays Creating
    make_group(az)
    client = aks_client(az)
    poller = client.managed_clusters.begin_create_or_update(
        GROUP, "aks1", cluster_body(nodeLabels={"team": "a"}, nodeTaints=["dedicated=infra:NoSchedule"])
    )
    creating = client.managed_clusters.get(GROUP, "aks1")
    assert creating.properties.provisioning_state == "Creating"
    assert creating.properties.fqdn is None
    runtime.gate.set()
    cluster = poller.result()
    assert cluster.properties.provisioning_state == "Succeeded"
    assert cluster.properties.fqdn == "127.0.0.1:7001"
    assert cluster.properties.current_kubernetes_version == "1.32.0"
    assert runtime.calls[0] == ("create_cluster", "azure", LOCATION, "aks1")
    (pool,) = runtime.pools("aks1")
    assert (pool.name, pool.count, pool.instance_type) == ("system", 3, "Standard_D4s_v5")
    assert pool.labels["team"] == "a"
    assert pool.labels["kubernetes.azure.com/agentpool"] == "system"
    assert pool.labels["node.kubernetes.io/instance-type"] == "Standard_D4s_v5"
    assert pool.labels["topology.kubernetes.io/region"] == LOCATION
    assert pool.taints == [{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]
    listed = list(client.managed_clusters.list_by_resource_group(GROUP))
    assert [c.name for c in listed] == ["aks1"]
    assert [c.name for c in client.managed_clusters.list()] == ["aks1"]
    status = az["cloud"].status()
    assert status["clusters"][0]["provisioning_state"] == "Succeeded"
    assert "client_secret" not in json.dumps(status)


def test_agent_pool_scale_and_new_pool_reach_the_runtime(az):
    create_cluster(az, availabilityZones=["1", "2"])
    client = aks_client(az)
    pool = client.agent_pools.get(GROUP, "aks1", "system")
    pool.properties.count = 5
    scaled = client.agent_pools.begin_create_or_update(GROUP, "aks1", "system", pool).result()
    assert (scaled.properties.count, scaled.properties.provisioning_state) == (5, "Succeeded")
    last = az["runtime"].pools("aks1")[-1]
    assert (last.name, last.count, last.zones) == ("system", 5, [f"{LOCATION}-1", f"{LOCATION}-2"])
    user = {"properties": {"count": 2, "vmSize": "Standard_D2s_v5", "nodeTaints": ["gpu=true:NoExecute"]}}
    created = client.agent_pools.begin_create_or_update(GROUP, "aks1", "gpu", user).result()
    assert created.properties.mode == "User"
    assert az["runtime"].pools("aks1")[-1].taints == [{"key": "gpu", "value": "true", "effect": "NoExecute"}]
    assert sorted(p.name for p in client.agent_pools.list(GROUP, "aks1")) == ["gpu", "system"]
    client.agent_pools.begin_delete(GROUP, "aks1", "gpu").result()
    assert ("delete_node_pool", "azure", LOCATION, "aks1", "gpu") in az["runtime"].calls
    with pytest.raises(HttpResponseError) as info:
        client.agent_pools.begin_delete(GROUP, "aks1", "system").result()
    assert info.value.status_code == 400
    with pytest.raises(HttpResponseError) as info:
        client.agent_pools.begin_create_or_update(
            GROUP, "aks1", "bad", {"properties": {"count": 1, "nodeTaints": ["nocolon"]}}
        ).result()
    assert info.value.error.code == "InvalidTaint"


def test_list_cluster_user_credential_returns_a_client_certificate_kubeconfig(az):
    create_cluster(az)
    result = aks_client(az).managed_clusters.list_cluster_user_credentials(GROUP, "aks1")
    (entry,) = result.kubeconfigs
    assert entry.name == "clusterUser"
    config = yaml.safe_load(entry.value)  # the SDK model decodes the base64 value already
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:7001"
    assert base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode() == CA_PEM
    user = config["users"][0]
    assert user["name"] == f"clusterUser_{GROUP}_aks1"
    assert base64.b64decode(user["user"]["client-certificate-data"]) == b"CERT-PEM"
    assert base64.b64decode(user["user"]["client-key-data"]) == b"KEY-PEM"
    assert config["current-context"] == "aks1"
    issued = [c for c in az["runtime"].calls if c[0] == "issue_client_certificate"]
    assert issued == [
        ("issue_client_certificate", "azure", LOCATION, "aks1", f"clusterUser_{GROUP}_aks1", ("system:masters",))
    ]


def test_version_upgrade_and_the_rules_around_it(az):
    create_cluster(az, version="1.32")
    client = aks_client(az)
    cluster = client.managed_clusters.get(GROUP, "aks1")
    cluster.properties.kubernetes_version = "1.33"
    cluster.properties.agent_pool_profiles[0].orchestrator_version = "1.33"
    upgraded = client.managed_clusters.begin_create_or_update(GROUP, "aks1", cluster).result()
    assert upgraded.properties.current_kubernetes_version == "1.33.5"
    assert upgraded.properties.agent_pool_profiles[0].current_orchestrator_version == "1.33.5"
    for version, code in (("1.32", "NotAllowedDowngrade"), ("1.9", "K8sVersionNotSupported")):
        body = cluster_body(version=version)
        body["properties"]["agentPoolProfiles"][0]["orchestratorVersion"] = "1.33"
        with pytest.raises(HttpResponseError) as info:
            client.managed_clusters.begin_create_or_update(GROUP, "aks1", body).result()
        assert (info.value.status_code, info.value.error.code) == (400, code)


def test_put_is_a_full_replace_and_read_only_fields_are_ignored(az):
    create_cluster(az)
    body = cluster_body()
    body["tags"] = {"env": "dev"}
    body["properties"]["provisioningState"] = "Failed"
    body["properties"]["fqdn"] = "evil.example"
    body["properties"]["servicePrincipalProfile"] = {"clientId": "id", "secret": "s3cret"}
    result = aks_client(az).managed_clusters.begin_create_or_update(GROUP, "aks1", body).result()
    assert result.properties.fqdn == "127.0.0.1:7001"
    assert result.tags == {"env": "dev"}
    again = aks_client(az).managed_clusters.begin_create_or_update(GROUP, "aks1", cluster_body()).result()
    assert again.tags == {}
    assert again.properties.service_principal_profile is None
    assert "s3cret" not in raw(az, "GET", cluster_path(az) + "?api-version=2025-10-01").text


def test_delete_lro_removes_the_control_plane(az):
    create_cluster(az)
    client = aks_client(az)
    client.managed_clusters.begin_delete(GROUP, "aks1").result()
    assert ("delete_cluster", "azure", LOCATION, "aks1") in az["runtime"].calls
    with pytest.raises(ResourceNotFoundError) as info:
        client.managed_clusters.get(GROUP, "aks1")
    assert info.value.error.code == "ResourceNotFound"
    client.managed_clusters.begin_delete(GROUP, "aks1").result()  # deleting what is gone: 204


def test_not_found_bodies(az):
    make_group(az)
    client = aks_client(az)
    with pytest.raises(ResourceNotFoundError) as info:
        client.managed_clusters.get(GROUP, "nope")
    assert info.value.error.code == "ResourceNotFound"
    assert "nope" in info.value.error.message
    with pytest.raises(ResourceNotFoundError) as info:
        client.managed_clusters.get("no-such-group", "nope")
    assert info.value.error.code == "ResourceGroupNotFound"


def test_conflicting_operations_get_409(az):
    make_group(az)
    client = aks_client(az)
    az["runtime"].gate.clear()
    poller = client.managed_clusters.begin_create_or_update(GROUP, "aks1", cluster_body())
    with pytest.raises(HttpResponseError) as info:
        client.managed_clusters.begin_create_or_update(GROUP, "aks1", cluster_body(count=4))
    assert (info.value.status_code, info.value.error.code) == (409, "OperationNotAllowed")
    with pytest.raises(HttpResponseError) as info:
        client.managed_clusters.begin_delete(GROUP, "aks1")
    assert info.value.status_code == 409
    az["runtime"].gate.set()
    assert poller.result().properties.provisioning_state == "Succeeded"


def test_resource_group_deletion_deletes_its_clusters(az):
    create_cluster(az)
    sdk(az, ResourceManagementClient).resource_groups.begin_delete(GROUP).result()
    assert ("delete_cluster", "azure", LOCATION, "aks1") in az["runtime"].calls
    assert az["cloud"].status()["clusters"] == []


def test_reset_deletes_runtime_clusters(az):
    create_cluster(az)
    az["cloud"].reset()
    assert az["runtime"].calls[-1] == ("delete_cluster", "azure", LOCATION, "aks1")
    assert az["cloud"].status()["clusters"] == []


# ------------------------------------------------------------------ faults
def test_injected_503_reaches_the_sdk(az):
    make_group(az)
    az["faults"].add_rule(
        FaultRule(cloud="azure", operation="Microsoft.ContainerService/*", error_rate=1.0, statuses=[503])
    )
    with pytest.raises(HttpResponseError) as info:
        aks_client(az, retry_total=0).managed_clusters.get(GROUP, "aks1")
    assert info.value.status_code == 503
    assert info.value.error.code == "ServiceUnavailable"


def test_injected_429_is_retried_by_the_sdk_and_counted(az):
    create_cluster(az)
    az["faults"].add_rule(
        FaultRule(
            cloud="azure",
            operation="Microsoft.ContainerService/managedClusters/read",
            error_rate=0.5,
            statuses=[429],
            retry_after=0,
        )
    )
    client = aks_client(az, retry_total=30, retry_status=30, retry_backoff_factor=0.01)
    for _ in range(10):
        assert client.managed_clusters.get(GROUP, "aks1").name == "aks1"
    snapshot = az["faults"].snapshot()
    injected = snapshot["injected"]["azure"]["Microsoft.ContainerService/managedClusters/read"]["429"]
    assert injected > 0
    assert snapshot["requests"]["azure"]["Microsoft.ContainerService/managedClusters/read"] >= 10 + injected


# ------------------------------------------------------------------ Microsoft.Network
def test_virtual_network_subnets_and_public_ip(az):
    make_group(az)
    net = sdk(az, NetworkManagementClient)
    vnet = net.virtual_networks.begin_create_or_update(
        GROUP,
        "hub",
        {
            "location": LOCATION,
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.10.0.0/16"]},
                "subnets": [
                    {"name": "GatewaySubnet", "properties": {"addressPrefix": "10.10.255.0/27"}},
                    {"name": "aks", "properties": {"addressPrefix": "10.10.0.0/20"}},
                ],
            },
        },
    ).result()
    assert vnet.properties.provisioning_state == "Succeeded"
    assert sorted(s.name for s in vnet.properties.subnets) == ["GatewaySubnet", "aks"]
    subnet = net.subnets.begin_create_or_update(
        GROUP, "hub", "db", {"properties": {"addressPrefix": "10.10.16.0/24"}}
    ).result()
    assert subnet.id.endswith("/virtualNetworks/hub/subnets/db")
    with pytest.raises(HttpResponseError) as info:
        net.subnets.begin_create_or_update(
            GROUP, "hub", "x", {"properties": {"addressPrefix": "10.10.1.0/24"}}
        ).result()
    assert info.value.error.code == "NetcfgSubnetRangesOverlap"
    with pytest.raises(HttpResponseError) as info:
        net.subnets.begin_create_or_update(
            GROUP, "hub", "y", {"properties": {"addressPrefix": "10.99.0.0/24"}}
        ).result()
    assert info.value.error.code == "NetcfgSubnetRangeOutsideVnet"
    ip = net.public_ip_addresses.begin_create_or_update(
        GROUP,
        "gw-ip",
        {"location": LOCATION, "sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Static"}},
    ).result()
    assert ip.properties.public_ip_allocation_method == "Static"
    assert ip.properties.ip_address.startswith("198.51.100.")
    net.subnets.begin_delete(GROUP, "hub", "db").result()
    net.virtual_networks.begin_delete(GROUP, "hub").result()
    with pytest.raises(ResourceNotFoundError):
        net.virtual_networks.get(GROUP, "hub")


# ------------------------------------------------------------------ contract tests
def unknown_fields(instance, data, path="") -> list[str]:
    """Keys of a JSON response that the SDK model it deserializes into does not know."""
    if isinstance(data, dict) and hasattr(type(instance), "_attr_to_rest_field"):
        fields = {rf._rest_name: attr for attr, rf in type(instance)._attr_to_rest_field.items()}
        found = []
        for key, value in data.items():
            if key not in fields:
                found.append(path + key)
            else:
                found += unknown_fields(getattr(instance, fields[key]), value, f"{path}{key}.")
        return found
    if isinstance(data, list) and isinstance(instance, list):
        return [
            f for i, (m, d) in enumerate(zip(instance, data, strict=False)) for f in unknown_fields(m, d, f"{path}{i}.")
        ]
    if isinstance(data, dict) and isinstance(instance, dict):
        return [f for k, v in data.items() for f in unknown_fields(instance.get(k), v, f"{path}{k}.")]
    return []


def test_every_request_body_matches_the_arm_schema_and_responses_match_the_sdk_models(az):
    create_cluster(az, nodeLabels={"team": "a"}, nodeTaints=["a=b:NoSchedule"], availabilityZones=["1"])
    client = aks_client(az)
    client.agent_pools.begin_create_or_update(GROUP, "aks1", "user", {"properties": {"count": 1}}).result()
    net = sdk(az, NetworkManagementClient)
    net.virtual_networks.begin_create_or_update(
        GROUP,
        "v",
        {
            "location": LOCATION,
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                "subnets": [{"name": "GatewaySubnet", "properties": {"addressPrefix": "10.0.255.0/27"}}],
            },
        },
    ).result()
    net.subnets.begin_create_or_update(GROUP, "v", "s", {"properties": {"addressPrefix": "10.0.1.0/24"}}).result()
    net.public_ip_addresses.begin_create_or_update(
        GROUP,
        "ip",
        {"location": LOCATION, "sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Static"}},
    ).result()
    puts = [r for r in az["cloud"].received if r["method"] == "PUT" and r["path"].split("/")[-2] in SCHEMAS]
    assert {r["path"].split("/")[-2] for r in puts} == set(SCHEMAS)
    for received in puts:
        validate_request(received["path"], received["body"])
    sub = az["endpoints"]["subscription_id"]
    checks = [
        (cluster_path(az), aks_models.ManagedCluster),
        (cluster_path(az) + "/agentPools/user", aks_models.AgentPool),
        (
            f"/subscriptions/{sub}/resourceGroups/{GROUP}/providers/Microsoft.Network/virtualNetworks/v",
            net_models.VirtualNetwork,
        ),
        (
            f"/subscriptions/{sub}/resourceGroups/{GROUP}/providers/Microsoft.Network/virtualNetworks/v/subnets/s",
            net_models.Subnet,
        ),
        (
            f"/subscriptions/{sub}/resourceGroups/{GROUP}/providers/Microsoft.Network/publicIPAddresses/ip",
            net_models.PublicIPAddress,
        ),
    ]
    for path, model in checks:
        data = raw(az, "GET", path + "?api-version=2025-10-01").json()
        assert unknown_fields(model(data), data) == [], path
    credentials = raw(az, "POST", cluster_path(az) + "/listClusterUserCredential?api-version=2025-10-01").json()
    assert unknown_fields(aks_models.CredentialResults(credentials), credentials) == []


def test_a_renamed_response_field_fails_the_contract_check(az):
    create_cluster(az)
    data = raw(az, "GET", cluster_path(az) + "?api-version=2025-10-01").json()
    assert unknown_fields(aks_models.ManagedCluster(data), data) == []
    broken = copy.deepcopy(data)
    broken["properties"]["provisioningStatus"] = broken["properties"].pop("provisioningState")
    assert unknown_fields(aks_models.ManagedCluster(broken), broken) == ["properties.provisioningStatus"]
    broken_pool = copy.deepcopy(data)
    broken_pool["properties"]["agentPoolProfiles"][0]["vmsize"] = broken_pool["properties"]["agentPoolProfiles"][0].pop(
        "vmSize"
    )
    assert unknown_fields(aks_models.ManagedCluster(broken_pool), broken_pool) == [
        "properties.agentPoolProfiles.0.vmsize"
    ]


def test_official_create_example_replays_with_the_documented_shape(az):
    example = json.loads((SPECS / "aks-2025-10-01-ManagedClustersCreate_Update.json").read_text())
    request = example["parameters"]["parameters"]
    # The example (API 2025-10-01) predates the schema (2026-05-01) by one change: sku.name "Basic"
    # became "Base". Everything else in it is valid.
    errors = schema_errors("/x/managedClusters/clustername1", request)
    assert [list(e.path) for e in errors] == [["sku"]]
    assert "Basic" in errors[0].message
    make_group(az)
    # The example's "location1" is a placeholder that no subscription (nor the sandbox) has: replay
    # it in a real location.
    assert request["location"] == "location1"
    request = dict(request, location=LOCATION)
    path = cluster_path(az, "clustername1") + "?api-version=" + example["parameters"]["api-version"]
    created = raw(az, "PUT", path, json=request)
    assert created.status_code == 201
    assert "Azure-AsyncOperation" in created.headers
    documented = example["responses"]["201"]["body"]
    body = created.json()
    assert set(documented) <= set(body)
    assert set(documented["properties"]) <= set(body["properties"])
    assert set(documented["properties"]["agentPoolProfiles"][0]) <= set(body["properties"]["agentPoolProfiles"][0])
    assert body["properties"]["provisioningState"] == "Creating"
    assert "secret" not in body["properties"]["servicePrincipalProfile"]
    assert "adminPassword" not in body["properties"]["windowsProfile"]
    assert unknown_fields(aks_models.ManagedCluster(body), body) == []
    final = aks_client(az).managed_clusters.get(GROUP, "clustername1")
    done = raw(az, "GET", path).json()
    for _ in range(100):
        if done["properties"]["provisioningState"] == "Succeeded":
            break
        done = raw(az, "GET", path).json()
    assert final.name == "clustername1"
    documented = example["responses"]["200"]["body"]
    assert set(documented["properties"]) <= set(done["properties"])
    assert done["properties"]["upgradeSettings"] == documented["properties"]["upgradeSettings"]
    assert unknown_fields(aks_models.ManagedCluster(done), done) == []


def test_tags_patch_and_upgrade_profile(az):
    create_cluster(az, version="1.32")
    client = aks_client(az)
    tagged = client.managed_clusters.begin_update_tags(GROUP, "aks1", {"tags": {"owner": "me"}}).result()
    assert tagged.tags == {"owner": "me"}
    profile = client.managed_clusters.get_upgrade_profile(GROUP, "aks1")
    assert profile.properties.control_plane_profile.kubernetes_version == "1.32"
    assert [u.kubernetes_version for u in profile.properties.control_plane_profile.upgrades] == ["1.33.0"]
    data = raw(az, "GET", cluster_path(az) + "/upgradeProfiles/default?api-version=2025-10-01").json()
    assert unknown_fields(aks_models.ManagedClusterUpgradeProfile(data), data) == []
    make_group(az)
    net = sdk(az, NetworkManagementClient)
    net.public_ip_addresses.begin_create_or_update(
        GROUP,
        "ip",
        {"location": LOCATION, "sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Static"}},
    ).result()
    assert net.public_ip_addresses.update_tags(GROUP, "ip", {"tags": {"a": "b"}}).tags == {"a": "b"}


def test_failed_control_plane_fails_the_lro_and_a_new_put_reconciles(az):
    make_group(az)
    client = aks_client(az)
    runtime = az["runtime"]
    original = runtime.create_cluster

    def broken(*args):
        raise RuntimeError("no capacity")

    runtime.create_cluster = broken
    try:
        with pytest.raises(HttpResponseError) as info:
            client.managed_clusters.begin_create_or_update(GROUP, "aks1", cluster_body()).result()
        assert "no capacity" in str(info.value)
        assert client.managed_clusters.get(GROUP, "aks1").properties.provisioning_state == "Failed"
    finally:
        runtime.create_cluster = original
    fixed = client.managed_clusters.begin_create_or_update(GROUP, "aks1", cluster_body()).result()
    assert fixed.properties.provisioning_state == "Succeeded"
    assert fixed.properties.fqdn.startswith("127.0.0.1:")


def test_reset_while_a_control_plane_starts_leaves_none_behind(az):
    make_group(az)
    runtime = az["runtime"]
    runtime.gate.clear()
    aks_client(az).managed_clusters.begin_create_or_update(GROUP, "aks1", cluster_body())
    deadline = time.monotonic() + 5
    while not az["cloud"].status()["operations_in_progress"] and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # the creation job is inside create_cluster now, held by the fake runtime
    resetting = threading.Thread(target=az["cloud"].reset)
    resetting.start()
    time.sleep(0.1)
    runtime.gate.set()
    resetting.join(10)
    assert [c[0] for c in runtime.calls] == ["create_cluster", "delete_cluster"]
    assert az["cloud"].status()["clusters"] == []


def test_unknown_types_bad_bodies_and_other_subscriptions(az):
    sub = az["endpoints"]["subscription_id"]
    make_group(az)
    unknown = raw(
        az, "GET", f"/subscriptions/{sub}/resourceGroups/{GROUP}/providers/Microsoft.Foo/bars/x?api-version=1"
    )
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "InvalidResourceType")
    garbage = raw(az, "PUT", cluster_path(az) + "?api-version=2025-10-01", data=b"{not json")
    assert (garbage.status_code, garbage.json()["error"]["code"]) == (400, "InvalidRequestContent")
    other = raw(az, "GET", "/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups?api-version=2025-04-01")
    assert (other.status_code, other.json()["error"]["code"]) == (404, "SubscriptionNotFound")
    subscription = raw(az, "GET", f"/subscriptions/{sub}?api-version=2022-12-01").json()
    assert (subscription["subscriptionId"], subscription["state"]) == (sub, "Enabled")
    bad_pool = cluster_body()
    bad_pool["properties"]["agentPoolProfiles"][0]["name"] = "Bad_Name"
    response = raw(az, "PUT", cluster_path(az) + "?api-version=2025-10-01", json=bad_pool)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "InvalidAgentPoolName")


# ------------------------------------------------------------------ locations
def test_locations_are_listed_and_unknown_ones_refused_like_arm(az):

    sub = az["endpoints"]["subscription_id"]
    listed = raw(az, "GET", f"/subscriptions/{sub}/locations?api-version=2022-12-01")
    assert listed.status_code == 200
    names = [item["name"] for item in listed.json()["value"]]
    assert "eastus" in names and "westeurope" in names and "moonwest" not in names
    refused = raw(
        az, "PUT", f"/subscriptions/{sub}/resourcegroups/rg-moon?api-version=2022-09-01", json={"location": "moonwest"}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "LocationNotAvailableForResourceGroup"
    assert "'moonwest'" in refused.json()["error"]["message"] and "eastus" in refused.json()["error"]["message"]
    make_group(az)
    body = cluster_body()
    body["location"] = "moonwest"
    vnet = raw(
        az,
        "PUT",
        f"/subscriptions/{sub}/resourceGroups/{GROUP}/providers/Microsoft.Network/virtualNetworks/v1?api-version=2024-05-01",
        json={"location": "moonwest", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}},
    )
    assert vnet.status_code == 400 and vnet.json()["error"]["code"] == "LocationNotAvailableForResourceType"
    aks = raw(az, "PUT", cluster_path(az) + "?api-version=2025-10-01", json=body)
    assert aks.status_code == 400 and aks.json()["error"]["code"] == "LocationNotAvailableForResourceType"
    assert az["cloud"].status()["clusters"] == [] and az["runtime"].calls == []
    # The collection's own call, through the SDK pipeline with its credential and CA bundle.
    ep = az["endpoints"]
    params = {
        "azure_subscription_id": sub,
        "azure_tenant_id": ep["tenant_id"],
        "azure_client_id": ep["client_id"],
        "azure_client_secret": ep["client_secret"],
        "azure_base_url": ep["base_url"],
        "azure_authority_host": ep["authority_host"],
        "azure_ca_bundle": az["ca"],
    }
    conn = Connection(params, Retrier("azure", policy=RetryPolicy(timeout=20, base_delay=0.1, max_delay=1)))
    assert set(conn.locations()) == set(names)
