"""The sandbox's Azure VPN (virtual network gateways, local network gateways, connections) through
azure-mgmt-network, with the VPN fabric in API mode: the test publishes the peer cloud's ends itself,
so a tunnel comes up exactly when the two sides' configurations agree."""

from __future__ import annotations

import copy
import time

import pytest
import requests
from arm_schema import SCHEMAS, validate_request
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network import models as net_models
from azure.mgmt.resource.resources import ResourceManagementClient
from mc_sandbox.clouds.azure import vpn as azure_vpn
from mc_sandbox.clouds.azure.server import AzureCloud
from mc_sandbox.core.faults import FaultManager
from mc_sandbox.core.runtime import CloudContext
from mc_sandbox.k8s.pki import sandbox_tls
from mc_sandbox.net import fabric as vpnfabric
from mc_sandbox.net import netns
from mc_sandbox.net.mesh import missing as mesh_missing
from support import FakeRuntime, poll

LOCATION = "westeurope"
GROUP = "vpn-rg"
TIME_FACTOR = 0.0002  # a 30-minute gateway creation takes 0.36 s
AZURE_ASN = 64516
PEER_ASN = 64512
PEER_CIDR = "10.0.0.0/16"
VNET_CIDR = "10.2.0.0/16"
PSK = "Mesh.key_0123456789abcdef"
# Instance 0 and 1 of the gateway: their APIPA addresses and the peer's side of each /30.
INSIDE = (("169.254.21.2", "169.254.21.1"), ("169.254.21.6", "169.254.21.5"))
NRP = "arm-schema-2025-07-01-Microsoft.Network.NRP.json"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    directory = tmp_path_factory.mktemp("azure-vpn")
    tls = sandbox_tls(directory / "pki")
    faults = FaultManager()
    fabric = vpnfabric.VpnFabric(directory / "fabric", faults, use_dataplane=False)
    fabric.start()
    context = CloudContext(faults, FakeRuntime(), TIME_FACTOR, directory / "state", tls, vpn=fabric)
    cloud = AzureCloud(context, retry_after=0)
    endpoints = cloud.start()
    try:
        yield {"cloud": cloud, "fabric": fabric, "faults": faults, "endpoints": endpoints, "ca": str(tls.ca)}
    finally:
        cloud.stop()
        fabric.stop()


@pytest.fixture
def az(env):
    env["cloud"].reset()
    env["fabric"].publish("aws", [], [])
    yield env


def client(env, cls=NetworkManagementClient):
    ep = env["endpoints"]
    if "credential" not in env:
        env["credential"] = ClientSecretCredential(
            ep["tenant_id"],
            ep["client_id"],
            ep["client_secret"],
            authority=ep["authority_host"],
            connection_verify=env["ca"],
            disable_instance_discovery=True,
        )
    return cls(
        env["credential"],
        ep["subscription_id"],
        base_url=ep["base_url"],
        connection_verify=env["ca"],
        polling_interval=0.02,
    )


def rid(env, kind, name):
    sub = env["endpoints"]["subscription_id"]
    return f"/subscriptions/{sub}/resourceGroups/{GROUP}/providers/Microsoft.Network/{kind}/{name}"


def raw(env, method, path, body=None):
    token = env["credential"].get_token("https://management.azure.com/.default").token
    return requests.request(
        method,
        env["endpoints"]["base_url"] + path,
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        verify=env["ca"],
        timeout=30,
    )


def network(env):
    client(env, ResourceManagementClient).resource_groups.create_or_update(GROUP, {"location": LOCATION})
    net = client(env)
    net.virtual_networks.begin_create_or_update(
        GROUP,
        "hub",
        {
            "location": LOCATION,
            "properties": {
                "addressSpace": {"addressPrefixes": [VNET_CIDR]},
                "subnets": [
                    {"name": "GatewaySubnet", "properties": {"addressPrefix": "10.2.255.0/27"}},
                    {"name": "aks", "properties": {"addressPrefix": "10.2.0.0/20"}},
                ],
            },
        },
    ).result()
    for index in (0, 1):
        net.public_ip_addresses.begin_create_or_update(
            GROUP,
            f"gw-ip{index}",
            {"location": LOCATION, "sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Static"}},
        ).result()
    return net


def gateway_body(env, asn=AZURE_ASN, customs=(["169.254.21.2"], ["169.254.21.6"]), configs=2, subnet="GatewaySubnet"):
    ip_configs = [
        {
            "name": f"ipconfig{i}",
            "properties": {
                "subnet": {"id": rid(env, "virtualNetworks", "hub") + f"/subnets/{subnet}"},
                "publicIPAddress": {"id": rid(env, "publicIPAddresses", f"gw-ip{i}")},
            },
        }
        for i in range(configs)
    ]
    gw = rid(env, "virtualNetworkGateways", "gw")
    return {
        "location": LOCATION,
        "properties": {
            "gatewayType": "Vpn",
            "vpnType": "RouteBased",
            "sku": {"name": "VpnGw2AZ", "tier": "VpnGw2AZ"},
            "vpnGatewayGeneration": "Generation2",
            "activeActive": configs == 2,
            "enableBgp": True,
            "ipConfigurations": ip_configs,
            "bgpSettings": {
                "asn": asn,
                "bgpPeeringAddresses": [
                    {"ipconfigurationId": f"{gw}/ipConfigurations/ipconfig{i}", "customBgpIpAddresses": list(c)}
                    for i, c in enumerate(customs[:configs])
                ],
            },
        },
    }


def lng_body(env, address, asn=PEER_ASN, peer=INSIDE[0][1]):
    return {
        "location": LOCATION,
        "properties": {
            "gatewayIpAddress": address,
            "localNetworkAddressSpace": {"addressPrefixes": []},
            "bgpSettings": {"asn": asn, "bgpPeeringAddress": peer},
        },
    }


def connection_body(env, lng="peer", key=PSK, address=INSIDE[0][0], protocol="IKEv2"):
    gw = rid(env, "virtualNetworkGateways", "gw")
    return {
        "location": LOCATION,
        "properties": {
            "connectionType": "IPsec",
            # The ARM schema wants the referenced gateways as resources: an id and (empty) properties.
            "virtualNetworkGateway1": {"id": gw, "properties": {}},
            "localNetworkGateway2": {"id": rid(env, "localNetworkGateways", lng), "properties": {}},
            "sharedKey": key,
            "connectionProtocol": protocol,
            "enableBgp": True,
            "gatewayCustomBgpIpAddresses": [
                {"ipConfigurationId": f"{gw}/ipConfigurations/ipconfig0", "customBgpIpAddress": address},
                {"ipConfigurationId": f"{gw}/ipConfigurations/ipconfig1", "customBgpIpAddress": INSIDE[1][0]},
            ],
        },
    }


def mesh(env, addresses=None):
    """A gateway and, per peer address, a local network gateway and a BGP connection to it (as for
    AWS: each peer address faces one Azure instance, ``INSIDE[i]`` its /30)."""
    net = network(env)
    gateway = net.virtual_network_gateways.begin_create_or_update(GROUP, "gw", gateway_body(env)).result()
    if addresses is None:
        addresses = [env["fabric"].allocate(f"aws/peer-tunnel-{i}") for i in (0, 1)]
    for index, address in enumerate(addresses):
        suffix = "" if index == 0 else str(index + 1)
        net.local_network_gateways.begin_create_or_update(
            GROUP, f"peer{suffix}", lng_body(env, address, peer=INSIDE[index][1])
        ).result()
        net.virtual_network_gateway_connections.begin_create_or_update(
            GROUP, f"to-peer{suffix}", connection_body(env, lng=f"peer{suffix}")
        ).result()
    return net, gateway, addresses


def publish_peer(env, gateway, addresses, psk=PSK, instances=(0, 1)):
    """The peer cloud's ends: peer address ``i`` to Azure instance ``i``, on the /30 ``INSIDE[i]``."""
    instance_ips = [p.tunnel_ip_addresses[0] for p in gateway.bgp_settings.bgp_peering_addresses]
    ends = [
        {
            "key": f"aws/peer/{i}",
            "gateway": "aws/us-east-1/peer",
            "local_public": addresses[i],
            "remote_public": instance_ips[i],
            "psk": psk,
            "ike_version": 2,
            "inside": f"{INSIDE[i][1]}/30",
            "remote_inside": INSIDE[i][0],
            "peer_asn": AZURE_ASN,
        }
        for i in instances
    ]
    peer = {"key": "aws/us-east-1/peer", "cloud": "aws", "region": "us-east-1", "asn": PEER_ASN, "cidrs": [PEER_CIDR]}
    env["fabric"].publish("aws", [peer], ends)


def writes(env):
    return [r for r in env["cloud"].received if r["method"] in ("PUT", "POST", "PATCH", "DELETE")]


# ------------------------------------------------------------------ gateways
def test_gateway_put_is_a_long_running_operation_through_updating(az):
    net = network(az)
    poller = net.virtual_network_gateways.begin_create_or_update(GROUP, "gw", gateway_body(az))
    first = net.virtual_network_gateways.get(GROUP, "gw")
    assert first.provisioning_state == "Updating"
    gateway = poller.result()
    assert gateway.provisioning_state == "Succeeded"
    assert gateway.active_active is True and gateway.enable_bgp is True
    assert [c.name for c in gateway.ip_configurations] == ["ipconfig0", "ipconfig1"]
    peerings = gateway.bgp_settings.bgp_peering_addresses
    assert gateway.bgp_settings.asn == AZURE_ASN
    assert [p.custom_bgp_ip_addresses for p in peerings] == [["169.254.21.2"], ["169.254.21.6"]]
    assert [p.default_bgp_ip_addresses for p in peerings] == [["10.2.255.4"], ["10.2.255.5"]]
    pips = [net.public_ip_addresses.get(GROUP, f"gw-ip{i}") for i in (0, 1)]
    # The public addresses are the fabric's, so the peers' tunnels can reach them.
    assert [p.tunnel_ip_addresses for p in peerings] == [[p.ip_address] for p in pips]
    assert all(p.ip_address.startswith("198.1") for p in pips)
    assert [p.ip_configuration.id for p in pips] == [c.id for c in gateway.ip_configurations]
    published = az["fabric"].snapshot()
    assert (published["gateways"], published["endpoints"]) == (1, 0)
    # The raw answer of the first PUT: 201 + Azure-AsyncOperation, as ARM sends it.
    response = raw(az, "PUT", rid(az, "virtualNetworkGateways", "gw2") + "?api-version=2024-05-01", {})
    assert response.status_code == 400  # gatewayType missing
    with pytest.raises(HttpResponseError) as info:
        net.public_ip_addresses.begin_delete(GROUP, "gw-ip0").result()
    assert info.value.error.code == "PublicIPAddressCannotBeDeleted"
    for delete in (
        lambda: net.subnets.begin_delete(GROUP, "hub", "GatewaySubnet").result(),
        lambda: net.virtual_networks.begin_delete(GROUP, "hub").result(),
    ):
        with pytest.raises(HttpResponseError) as info:
            delete()
        assert info.value.error.code == "InUseSubnetCannotBeDeleted"
        assert gateway.ip_configurations[0].id in info.value.error.message
    net.subnets.begin_delete(GROUP, "hub", "aks").result()  # a subnet nothing uses goes


def test_gateway_create_answers_201_with_an_async_operation_header(az):
    network(az)
    client(az)
    response = raw(az, "PUT", rid(az, "virtualNetworkGateways", "gw") + "?api-version=2024-05-01", gateway_body(az))
    assert response.status_code == 201
    assert "/providers/Microsoft.Network/locations/westeurope/operations/" in response.headers["Azure-AsyncOperation"]
    assert response.json()["properties"]["provisioningState"] == "Updating"
    again = raw(az, "PUT", rid(az, "virtualNetworkGateways", "gw") + "?api-version=2024-05-01", gateway_body(az))
    assert again.status_code == 409 and again.json()["error"]["code"] == "AnotherOperationInProgress"


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"asn": 65517}, "BgpAsnReserved", "properties.bgpSettings.asn"),
        ({"asn": 65520}, "BgpAsnReserved", "properties.bgpSettings.asn"),
        ({"customs": (["169.254.30.1"], ["169.254.21.6"])}, "InvalidCustomBgpIpAddress", "customBgpIpAddresses[0]"),
        ({"customs": (["169.254.20.255"], ["169.254.21.6"])}, "InvalidCustomBgpIpAddress", "169.254.21.0"),
        ({"configs": 1}, "InvalidNumberOfIpConfigurationsForActiveActiveGateway", "exactly 2 ipConfigurations"),
        ({"subnet": "aks"}, "OnlyGatewaySubnetCanBeUsedForGateway", "properties.subnet.id"),
    ],
)
def test_bad_gateway_input_is_refused_with_arm_error_before_any_write(az, changes, code, field):
    net = network(az)
    body = gateway_body(az, **changes)
    if changes.get("configs") == 1:
        body["properties"]["activeActive"] = True  # active-active with one instance
    with pytest.raises(HttpResponseError) as info:
        net.virtual_network_gateways.begin_create_or_update(GROUP, "gw", body).result()
    assert info.value.status_code == 400
    assert info.value.error.code == code
    assert field in info.value.error.message
    assert list(net.virtual_network_gateways.list(GROUP)) == []
    assert net.public_ip_addresses.get(GROUP, "gw-ip0").ip_configuration is None
    assert az["fabric"].snapshot()["gateways"] == 0


def test_the_default_asn_65515_is_the_gateways_own(az):
    net = network(az)
    body = gateway_body(az)
    del body["properties"]["bgpSettings"]["asn"]
    gateway = net.virtual_network_gateways.begin_create_or_update(GROUP, "gw", body).result()
    assert gateway.bgp_settings.asn == 65515


# ------------------------------------------------------------------ tunnels
def test_tunnels_come_up_when_the_peer_agrees_and_bgp_learns_its_routes(az):
    net, gateway, addresses = mesh(az)
    ops = net.virtual_network_gateway_connections
    connection = ops.get(GROUP, "to-peer")
    assert connection.provisioning_state == "Succeeded"
    assert connection.shared_key is None  # write-only
    assert connection.connection_status == "NotConnected"
    assert {t.connection_status for t in connection.tunnel_connection_status} == {"NotConnected"}
    publish_peer(az, gateway, addresses)
    instance_ips = [p.tunnel_ip_addresses[0] for p in gateway.bgp_settings.bgp_peering_addresses]
    # Azure builds a tunnel from each instance to every connection's peer; the peer answers the
    # one it was planned for.
    first, second = ops.get(GROUP, "to-peer"), ops.get(GROUP, "to-peer2")
    assert (first.connection_status, second.connection_status) == ("Connected", "Connected")
    assert [(t.tunnel, t.connection_status) for t in first.tunnel_connection_status] == [
        (f"to-peer_{instance_ips[0]}", "Connected"),
        (f"to-peer_{instance_ips[1]}", "NotConnected"),
    ]
    assert [t.connection_status for t in second.tunnel_connection_status] == ["NotConnected", "Connected"]
    peers = net.virtual_network_gateways.begin_get_bgp_peer_status(GROUP, "gw").result().value
    connected = sorted((p.local_address, p.neighbor, p.asn, p.routes_received) for p in peers if p.state == "Connected")
    assert connected == [(INSIDE[0][0], INSIDE[0][1], PEER_ASN, 1), (INSIDE[1][0], INSIDE[1][1], PEER_ASN, 1)]
    # An instance whose BGP address is not on the peer's link has no session with it.
    assert len(peers) == 2
    routes = net.virtual_network_gateways.begin_get_learned_routes(GROUP, "gw").result().value
    learned = {(r.network, r.next_hop) for r in routes if r.origin == "EBgp"}
    assert learned == {(PEER_CIDR, INSIDE[0][1]), (PEER_CIDR, INSIDE[1][1])}
    assert {r.network for r in routes if r.origin == "Network"} == {VNET_CIDR}
    # The peer's second tunnel goes away: that connection is down, the other stays up.
    publish_peer(az, gateway, addresses, instances=(0,))
    assert ops.get(GROUP, "to-peer2").connection_status == "NotConnected"
    assert ops.get(GROUP, "to-peer").connection_status == "Connected"
    assert {r.next_hop for r in net.virtual_network_gateways.begin_get_learned_routes(GROUP, "gw").result().value} >= {
        INSIDE[0][1]
    }


def test_a_downed_region_cuts_its_tunnels_until_it_is_back(az):
    net, gateway, addresses = mesh(az)
    publish_peer(az, gateway, addresses)
    ops = net.virtual_network_gateway_connections
    az["faults"].region_down("azure", LOCATION)
    try:
        assert ops.get(GROUP, "to-peer").connection_status == "NotConnected"
    finally:
        az["faults"].clear()
    assert ops.get(GROUP, "to-peer").connection_status == "Connected"


def test_a_wrong_shared_key_keeps_the_tunnels_down_until_the_sharedkey_api_fixes_it(az):
    net, gateway, addresses = mesh(az)
    publish_peer(az, gateway, addresses, psk="Another.key_0123456789")
    connection = net.virtual_network_gateway_connections.get(GROUP, "to-peer")
    assert connection.connection_status == "NotConnected"
    peers = net.virtual_network_gateways.begin_get_bgp_peer_status(GROUP, "gw").result().value
    assert {p.state for p in peers} == {"Idle"}
    # Both connections use the key the peer does not: neither comes up.
    assert net.virtual_network_gateway_connections.get(GROUP, "to-peer2").connection_status == "NotConnected"
    ops = net.virtual_network_gateway_connections
    assert ops.get_shared_key(GROUP, "to-peer").value == PSK
    ops.begin_set_shared_key(GROUP, "to-peer", {"value": "Another.key_0123456789"}).result()
    assert ops.get_shared_key(GROUP, "to-peer").value == "Another.key_0123456789"
    assert ops.get(GROUP, "to-peer").connection_status == "Connected"
    with pytest.raises(HttpResponseError) as info:
        ops.begin_set_shared_key(GROUP, "to-peer", {"value": "has a space"}).result()
    assert info.value.error.code == "InvalidSharedKey"
    assert "has a space" not in str(info.value)


def test_ike_version_mismatch_keeps_the_tunnels_down(az):
    net, gateway, addresses = mesh(az)
    publish_peer(az, gateway, addresses)
    ops = net.virtual_network_gateway_connections
    ops.begin_create_or_update(GROUP, "to-peer", connection_body(az, protocol="IKEv1")).result()
    assert ops.get(GROUP, "to-peer").connection_status == "NotConnected"


@pytest.mark.parametrize(
    ("kind", "changes", "code", "field"),
    [
        ("lng", {"asn": 65515}, "BgpAsnReserved", "properties.bgpSettings.asn"),
        ("lng", {"asn": 65519}, "BgpAsnReserved", "properties.bgpSettings.asn"),
        ("lng", {"address": "not-an-ip"}, "InvalidLocalNetworkGatewayIpAddress", "properties.gatewayIpAddress"),
        ("connection", {"address": "169.254.21.10"}, "InvalidCustomBgpIpAddress", "customBgpIpAddress"),
        ("connection", {"lng": "nope"}, "InvalidResourceReference", "properties.localNetworkGateway2.id"),
        ("connection", {"protocol": "IKEv3"}, "InvalidConnectionProtocol", "properties.connectionProtocol"),
    ],
)
def test_bad_peering_input_is_refused_with_arm_error(az, kind, changes, code, field):
    net = network(az)
    net.virtual_network_gateways.begin_create_or_update(GROUP, "gw", gateway_body(az)).result()
    net.local_network_gateways.begin_create_or_update(GROUP, "peer", lng_body(az, "198.18.9.9")).result()
    before = len(writes(az))
    with pytest.raises(HttpResponseError) as info:
        if kind == "lng":
            args = {"address": changes.get("address", "198.18.9.10"), "asn": changes.get("asn", PEER_ASN)}
            net.local_network_gateways.begin_create_or_update(GROUP, "bad", lng_body(az, **args)).result()
        else:
            body = connection_body(az, **changes)
            net.virtual_network_gateway_connections.begin_create_or_update(GROUP, "bad", body).result()
    assert info.value.error.code == code
    assert field in info.value.error.message
    assert len(writes(az)) == before + 1  # the refused request, nothing after it
    assert [r.name for r in net.local_network_gateways.list(GROUP)] == ["peer"]
    assert list(net.virtual_network_gateway_connections.list(GROUP)) == []


def test_a_gateway_takes_one_connection_operation_at_a_time(az, monkeypatch):
    """As on Azure: a second connection on a gateway while the first one is still Updating gets 409
    AnotherOperationInProgress, and goes through once the first is done."""
    monkeypatch.setattr(azure_vpn, "CONNECTION_SECONDS", 5000)  # 1 s at this time factor
    net = network(az)
    net.virtual_network_gateways.begin_create_or_update(GROUP, "gw", gateway_body(az)).result()
    for suffix, address in (("", "198.18.9.9"), ("2", "198.18.9.10")):
        net.local_network_gateways.begin_create_or_update(GROUP, f"peer{suffix}", lng_body(az, address)).result()
    first = net.virtual_network_gateway_connections.begin_create_or_update(GROUP, "to-peer", connection_body(az))
    with pytest.raises(HttpResponseError) as info:
        net.virtual_network_gateway_connections.begin_create_or_update(
            GROUP, "to-peer2", connection_body(az, lng="peer2")
        )
    assert info.value.status_code == 409 and info.value.error.code == "AnotherOperationInProgress"
    assert "to-peer" in info.value.error.message
    first.result()
    net.virtual_network_gateway_connections.begin_create_or_update(
        GROUP, "to-peer2", connection_body(az, lng="peer2")
    ).result()
    assert sorted(c.name for c in net.virtual_network_gateway_connections.list(GROUP)) == ["to-peer", "to-peer2"]


def test_delete_order_is_enforced_and_cleans_up_the_fabric(az):
    net, gateway, addresses = mesh(az, addresses=[az["fabric"].allocate("aws/peer-tunnel-0")])
    publish_peer(az, gateway, addresses, instances=(0,))
    end = f"azure/{rid(az, 'connections', 'to-peer').lower()}/0"
    assert az["fabric"].status(end)["ipsec"]["state"] == "UP"
    for ops, name, code in (
        (net.virtual_network_gateways, "gw", "InUseVirtualNetworkGatewayCannotBeDeleted"),
        (net.local_network_gateways, "peer", "InUseLocalNetworkGatewayCannotBeDeleted"),
    ):
        with pytest.raises(HttpResponseError) as info:
            ops.begin_delete(GROUP, name).result()
        assert info.value.error.code == code
        assert rid(az, "connections", "to-peer") in info.value.error.message
    poller = net.virtual_network_gateway_connections.begin_delete(GROUP, "to-peer")
    # The tunnels go as soon as the deletion starts, before the operation ends.
    with pytest.raises(KeyError):
        az["fabric"].status(end)
    poller.result()
    net.local_network_gateways.begin_delete(GROUP, "peer").result()
    net.virtual_network_gateways.begin_delete(GROUP, "gw").result()
    for ops, name in (
        (net.virtual_network_gateway_connections, "to-peer"),
        (net.local_network_gateways, "peer"),
        (net.virtual_network_gateways, "gw"),
    ):
        with pytest.raises(ResourceNotFoundError):
            ops.get(GROUP, name)
    az["fabric"].publish("aws", [], [])
    assert az["fabric"].snapshot()["gateways"] == 0
    assert net.public_ip_addresses.get(GROUP, "gw-ip0").ip_configuration is None
    net.public_ip_addresses.begin_delete(GROUP, "gw-ip0").result()
    net.subnets.begin_delete(GROUP, "hub", "GatewaySubnet").result()  # free again once the gateway is gone


def test_without_a_fabric_the_api_answers_and_tunnels_are_not_connected(tmp_path):
    tls = sandbox_tls(tmp_path / "pki")
    context = CloudContext(FaultManager(), FakeRuntime(), TIME_FACTOR, tmp_path / "state", tls)
    cloud = AzureCloud(context, retry_after=0)
    env = {"cloud": cloud, "endpoints": cloud.start(), "ca": str(tls.ca)}
    try:
        net, _gateway, _addresses = mesh(env, addresses=["198.51.100.200"])
        connection = net.virtual_network_gateway_connections.get(GROUP, "to-peer")
        assert connection.connection_status == "NotConnected"
        assert {t.connection_status for t in connection.tunnel_connection_status} == {"NotConnected"}
    finally:
        cloud.stop()


# ------------------------------------------------------------------ contract
def unknown_fields(instance, data, path=""):
    """Keys of a JSON response the SDK model it deserializes into does not know."""
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
    return []


def test_request_bodies_match_the_arm_schema_and_responses_the_sdk_models(az, monkeypatch):
    monkeypatch.setitem(SCHEMAS, "virtualNetworkGateways", (NRP, "virtualNetworkGateways"))
    monkeypatch.setitem(SCHEMAS, "localNetworkGateways", (NRP, "localNetworkGateways"))
    monkeypatch.setitem(SCHEMAS, "connections", (NRP, "connections"))
    _net, gateway, addresses = mesh(az)
    publish_peer(az, gateway, addresses)
    kinds = ("virtualNetworkGateways", "localNetworkGateways", "connections")
    puts = [r for r in az["cloud"].received if r["method"] == "PUT" and r["path"].split("/")[-2] in kinds]
    assert {r["path"].split("/")[-2] for r in puts} == set(kinds)
    for received in puts:
        validate_request(received["path"], received["body"])
    broken = copy.deepcopy(puts[0]["body"])
    broken["properties"]["bgpSettings"]["asn"] = "not a number"
    with pytest.raises(AssertionError):
        validate_request(puts[0]["path"], broken)
    for kind, name, model in (
        ("virtualNetworkGateways", "gw", net_models.VirtualNetworkGateway),
        ("localNetworkGateways", "peer", net_models.LocalNetworkGateway),
        ("connections", "to-peer", net_models.VirtualNetworkGatewayConnection),
    ):
        data = raw(az, "GET", rid(az, kind, name) + "?api-version=2024-05-01").json()
        assert unknown_fields(model(data), data) == [], kind
    shared = raw(az, "GET", rid(az, "connections", "to-peer") + "/sharedkey?api-version=2024-05-01").json()
    assert unknown_fields(net_models.ConnectionSharedKey(shared), shared) == []
    body = post_result(az, rid(az, "virtualNetworkGateways", "gw") + "/getBgpPeerStatus")
    assert unknown_fields(net_models.BgpPeerStatusListResult(body), body) == []
    assert body["value"][0]["state"] == "Connected"
    body = post_result(az, rid(az, "virtualNetworkGateways", "gw") + "/getLearnedRoutes")
    assert unknown_fields(net_models.GatewayRouteListResult(body), body) == []
    assert {r["origin"] for r in body["value"]} == {"Network", "EBgp"}
    # Deletes answer 202 with both ARM operation headers.
    deleted = raw(az, "DELETE", rid(az, "connections", "to-peer2") + "?api-version=2024-05-01")
    assert deleted.status_code == 202
    assert {"Location", "Azure-AsyncOperation"} <= set(deleted.headers)


def post_result(env, path):
    """A POST action's answer the way ARM gives it: 202 + Location, polled until the result is there."""
    start = raw(env, "POST", path + "?api-version=2024-05-01")
    assert start.status_code == 202
    assert "/providers/Microsoft.Network/locations/westeurope/operationresults/" in start.headers["Location"]
    deadline = time.monotonic() + 10
    while (
        result := requests.get(start.headers["Location"], headers=_auth(env), verify=env["ca"], timeout=10)
    ).status_code == 202:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert result.status_code == 200
    return result.json()


def _auth(env):
    return {"Authorization": "Bearer " + env["credential"].get_token("https://management.azure.com/.default").token}


# ------------------------------------------------------------------ the data plane
MISSING = mesh_missing()


@pytest.mark.skipif(bool(MISSING), reason="VPN data plane unavailable: " + "; ".join(MISSING))
def test_real_tunnels_come_up_only_with_the_right_key(tmp_path):
    """With strongSwan and BIRD the connection's status is the daemons': the right key connects and
    BGP learns the peer's range, a wrong one never does."""
    tls = sandbox_tls(tmp_path / "pki")
    faults = FaultManager()
    fabric = vpnfabric.VpnFabric(tmp_path / "fabric", faults)
    assert fabric.mode == "dataplane"
    fabric.start()
    cloud = AzureCloud(
        CloudContext(faults, FakeRuntime(), TIME_FACTOR, tmp_path / "state", tls, vpn=fabric), retry_after=0
    )
    env = {"cloud": cloud, "fabric": fabric, "endpoints": cloud.start(), "ca": str(tls.ca)}
    try:
        net, gateway, addresses = mesh(env)
        # The peer answers both planned tunnels, but the second with another key.
        wrong = {
            "key": "aws/peer/1",
            "gateway": "aws/us-east-1/peer",
            "local_public": addresses[1],
            "remote_public": gateway.bgp_settings.bgp_peering_addresses[1].tunnel_ip_addresses[0],
            "psk": "Another.key_0123456789",
            "ike_version": 2,
            "inside": f"{INSIDE[1][1]}/30",
            "remote_inside": INSIDE[1][0],
            "peer_asn": AZURE_ASN,
        }
        first = {**wrong, "key": "aws/peer/0", "local_public": addresses[0], "psk": PSK, "inside": f"{INSIDE[0][1]}/30"}
        first.update(
            remote_inside=INSIDE[0][0],
            remote_public=gateway.bgp_settings.bgp_peering_addresses[0].tunnel_ip_addresses[0],
        )
        peer = {
            "key": "aws/us-east-1/peer",
            "cloud": "aws",
            "region": "us-east-1",
            "asn": PEER_ASN,
            "cidrs": [PEER_CIDR],
        }
        fabric.publish("aws", [peer], [first, wrong])
        assert fabric.wait_idle(120)
        ops = net.virtual_network_gateway_connections

        def settled():
            # An established session announces its routes a moment later: wait for both.
            up = ops.get(GROUP, "to-peer")
            peers = net.virtual_network_gateways.begin_get_bgp_peer_status(GROUP, "gw").result().value
            connected = [p for p in peers if p.state == "Connected"]
            routes = net.virtual_network_gateways.begin_get_learned_routes(GROUP, "gw").result().value
            learned = {(r.network, r.next_hop) for r in routes if r.origin == "EBgp"}
            return (up, peers, learned) if up.connection_status == "Connected" and connected and learned else None

        found = poll(settled, timeout=90, interval=1)
        assert found, [t.connection_status for t in ops.get(GROUP, "to-peer").tunnel_connection_status]
        connection, peers, learned = found
        assert connection.tunnel_connection_status[0].connection_status == "Connected"
        assert [(p.local_address, p.neighbor) for p in peers if p.state == "Connected"] == [
            (INSIDE[0][0], INSIDE[0][1])
        ]
        assert (PEER_CIDR, INSIDE[0][1]) in learned
        assert ops.get(GROUP, "to-peer2").connection_status == "NotConnected"
        assert fabric.status(f"azure/{rid(env, 'connections', 'to-peer2').lower()}/1")["ipsec"]["reason"] == (
            "AUTHENTICATION_FAILED"
        )
    finally:
        cloud.stop()
        removed = fabric.stop()
    assert removed
    assert not netns.Namespaces(fabric.prefix).owned(), "namespaces left behind"
