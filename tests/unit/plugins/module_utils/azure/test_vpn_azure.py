# -*- coding: utf-8 -*-
"""Azure's side of the VPN mesh: the resources a desired mesh needs and the bodies they become (no SDK)."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.azure import vpn as V
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError
from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.spec import plan_mesh, tunnels_of

SEED = "unit-test-seed-0123456789"
GATEWAYS = [
    {"cloud": "aws", "region": "us-east-1", "name": "f-aws", "cidrs": ["10.0.0.0/16"]},
    {"cloud": "gcp", "region": "us-central1", "name": "f-gcp", "cidrs": ["10.1.0.0/16"]},
    {"cloud": "azure", "region": "westeurope", "name": "f-azure", "cidrs": ["10.2.0.0/16"]},
]
SUB = "00000000-0000-0000-0000-000000000001"


def remote_ip(tunnel):
    """AWS: one outside address per tunnel; GCP: one per HA VPN interface."""
    remote = tunnel["remote"]
    if remote["cloud"] == "aws":
        return f"198.18.1.{10 + tunnel['index']}"
    return f"198.18.2.{10 + remote['interface']}"


def desired(tunnels=True, **network):
    mesh = plan_mesh(GATEWAYS, SEED)
    planned = []
    for tunnel in tunnels_of(mesh, "azure") if tunnels else []:
        tunnel["remote"] = dict(tunnel["remote"], public_ip=remote_ip(tunnel))
        planned.append(tunnel)
    return {
        "cloud": "azure",
        "region": "westeurope",
        "name": "fabric",
        "network": {"vnet": "hub", "resource_group": "rg1", "gateway_subnet_cidr": "10.2.255.0/27", **network},
        "asn": mesh["gateways"]["azure"]["asn"],
        "cidrs": ["10.2.0.0/16"],
        "tags": {"mesh": "fabric"},
        "tunnels": planned,
    }


def by_key(resources):
    return {f"{r['kind']}/{r['name']}": r for r in resources}


def test_kinds_in_creation_order_and_the_gateway_phase():
    assert V.KINDS == ("gateway_subnet", "public_ip", "vpn_gateway", "local_network_gateway", "connection")
    assert V.GATEWAY_KINDS == V.KINDS[:3]
    gateway_phase = V.resources(desired(tunnels=False))
    assert [(r["kind"], r["name"]) for r in gateway_phase] == [
        ("gateway_subnet", "GatewaySubnet"),
        ("public_ip", "fabric-gw-ip0"),
        ("public_ip", "fabric-gw-ip1"),
        ("vpn_gateway", "fabric-gw"),
    ]
    gateway = by_key(gateway_phase)["vpn_gateway/fabric-gw"]
    # Without tunnels the gateway phase leaves the instances' APIPA addresses as they are.
    assert "bgp_addresses" not in gateway["spec"]
    assert gateway["spec"] == {
        "sku": "VpnGw2",
        "generation": "Generation2",
        "active_active": True,
        "asn": 64516,
        "subnet": {"ref": "gateway_subnet/GatewaySubnet"},
        "public_ips": [{"ref": "public_ip/fabric-gw-ip0"}, {"ref": "public_ip/fabric-gw-ip1"}],
        "tags": {"mesh": "fabric"},
    }
    assert set(gateway["replace_on"]) == {"generation", "subnet", "public_ips"}


def test_a_peering_per_tunnel_each_with_its_own_key_and_bgp_peer():
    wanted = desired()
    found = by_key(V.resources(wanted))
    names = [k for k in found if k.startswith("local_network_gateway/")]
    assert names == [f"local_network_gateway/fabric-aws-azure-{i}" for i in range(4)] + [
        f"local_network_gateway/fabric-gcp-azure-{i}" for i in range(4)
    ]
    assert all(r["name"].startswith("fabric-") or r["name"] == "GatewaySubnet" for r in found.values())
    tunnels = {t["name"]: t for t in wanted["tunnels"]}
    aws0 = tunnels["fabric-aws-azure-0"]
    lng = found["local_network_gateway/fabric-aws-azure-0"]
    assert lng["spec"] == {
        "gateway_ip": "198.18.1.10",
        "asn": 64512,
        "bgp_peering_address": aws0["remote"]["bgp_ip"],
        "tags": {"mesh": "fabric"},
    }
    connection = found["connection/fabric-aws-azure-0"]
    assert connection["spec"]["gateway"] == {"ref": "vpn_gateway/fabric-gw"}
    assert connection["spec"]["local_network_gateway"] == {"ref": "local_network_gateway/fabric-aws-azure-0"}
    assert connection["spec"]["psk"] == aws0["psk"]
    assert connection["spec"]["psk_fingerprint"] == V.psk_fingerprint("fabric-aws-azure-0", aws0["psk"])
    assert aws0["psk"] not in connection["spec"]["psk_fingerprint"]
    assert (connection["spec"]["protocol"], connection["spec"]["enable_bgp"]) == ("IKEv2", True)
    assert set(connection["replace_on"]) == {"gateway", "local_network_gateway"}
    # AWS connection 0's tunnels face instance 0: that instance uses the tunnel's address.
    assert aws0["local"]["interface"] == 0
    assert connection["spec"]["custom_bgp"][0] == aws0["local"]["bgp_ip"]
    # GCP interface 1 reaches both instances, one tunnel each: every tunnel has its own key and BGP
    # peer, and on its connection only its instance uses an address of the tunnel's /30.
    for name, instance in (("fabric-gcp-azure-2", 0), ("fabric-gcp-azure-3", 1)):
        tunnel = tunnels[name]
        spec = found[f"connection/{name}"]["spec"]
        assert tunnel["local"]["interface"] == instance
        assert spec["psk"] == tunnel["psk"]
        assert spec["custom_bgp"][instance] == tunnel["local"]["bgp_ip"]
        other = ipaddress.ip_interface(spec["custom_bgp"][1 - instance] + "/30").network
        assert ipaddress.ip_address(tunnel["remote"]["bgp_ip"]) not in other
        lng = found[f"local_network_gateway/{name}"]["spec"]
        assert (lng["gateway_ip"], lng["bgp_peering_address"]) == ("198.18.2.11", tunnel["remote"]["bgp_ip"])
    assert tunnels["fabric-gcp-azure-2"]["psk"] != tunnels["fabric-gcp-azure-3"]["psk"]


def test_each_instance_carries_the_apipa_addresses_of_its_tunnels():
    wanted = desired()
    gateway = by_key(V.resources(wanted))["vpn_gateway/fabric-gw"]["spec"]
    expected = [sorted(t["local"]["bgp_ip"] for t in wanted["tunnels"] if t["local"]["interface"] == i) for i in (0, 1)]
    assert gateway["bgp_addresses"] == expected
    assert all(len(a) == 4 for a in expected)  # two AWS tunnels and two GCP tunnels each
    assert all(a.startswith("169.254.2") for addresses in expected for a in addresses)


def test_bodies_resolve_references_through_ids():
    wanted = desired()
    found = by_key(V.resources(wanted))
    base = f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network"
    ids = {
        "gateway_subnet/GatewaySubnet": f"{base}/virtualNetworks/hub/subnets/GatewaySubnet",
        "public_ip/fabric-gw-ip0": f"{base}/publicIPAddresses/fabric-gw-ip0",
        "public_ip/fabric-gw-ip1": f"{base}/publicIPAddresses/fabric-gw-ip1",
        "vpn_gateway/fabric-gw": f"{base}/virtualNetworkGateways/fabric-gw",
        "local_network_gateway/fabric-aws-azure-0": f"{base}/localNetworkGateways/fabric-aws-azure-0",
    }
    gw_id = ids["vpn_gateway/fabric-gw"]
    body = V.gateway_body(wanted, found["vpn_gateway/fabric-gw"]["spec"], ids, gw_id)
    props = body["properties"]
    assert (props["gatewayType"], props["vpnType"], props["activeActive"], props["enableBgp"]) == (
        "Vpn",
        "RouteBased",
        True,
        True,
    )
    assert [c["properties"]["publicIPAddress"]["id"] for c in props["ipConfigurations"]] == [
        ids["public_ip/fabric-gw-ip0"],
        ids["public_ip/fabric-gw-ip1"],
    ]
    assert {c["properties"]["subnet"]["id"] for c in props["ipConfigurations"]} == {ids["gateway_subnet/GatewaySubnet"]}
    assert [p["ipconfigurationId"] for p in props["bgpSettings"]["bgpPeeringAddresses"]] == [
        f"{gw_id}/ipConfigurations/ipconfig0",
        f"{gw_id}/ipConfigurations/ipconfig1",
    ]
    spec = found["connection/fabric-aws-azure-0"]["spec"]
    connection = V.connection_body(wanted, spec, ids)["properties"]
    assert connection["virtualNetworkGateway1"]["id"] == gw_id
    assert connection["sharedKey"] == spec["psk"]
    assert [c["ipConfigurationId"] for c in connection["gatewayCustomBgpIpAddresses"]] == [
        f"{gw_id}/ipConfigurations/ipconfig0",
        f"{gw_id}/ipConfigurations/ipconfig1",
    ]
    with pytest.raises(ValidationError, match="local_network_gateway/fabric-gcp-azure-0 does not exist"):
        V.connection_body(wanted, found["connection/fabric-gcp-azure-0"]["spec"], ids)


def test_read_back_translations_give_the_desired_specs():
    wanted = desired()
    found = by_key(V.resources(wanted))
    base = f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network"
    ids = {
        "gateway_subnet/GatewaySubnet": f"{base}/virtualNetworks/hub/subnets/GatewaySubnet",
        "public_ip/fabric-gw-ip0": f"{base}/publicIPAddresses/fabric-gw-ip0",
        "public_ip/fabric-gw-ip1": f"{base}/publicIPAddresses/fabric-gw-ip1",
        "vpn_gateway/fabric-gw": f"{base}/virtualNetworkGateways/fabric-gw",
        "local_network_gateway/fabric-aws-azure-0": f"{base}/localNetworkGateways/fabric-aws-azure-0",
    }
    gw_id = ids["vpn_gateway/fabric-gw"]
    spec = found["vpn_gateway/fabric-gw"]["spec"]
    sent = V.gateway_body(wanted, spec, ids, gw_id)
    # ARM answers with ids on the ipConfigurations and what it adds to bgpSettings.
    sent["properties"]["ipConfigurations"] = [
        dict(c, id=f"{gw_id}/ipConfigurations/{c['name']}") for c in sent["properties"]["ipConfigurations"]
    ]
    sent["properties"]["bgpSettings"]["bgpPeeringAddress"] = "10.2.255.4,10.2.255.5"
    assert V.gateway_from_arm({**sent, "id": gw_id, "name": "fabric-gw"}) == spec
    connection = found["connection/fabric-aws-azure-0"]["spec"]
    body = V.connection_body(wanted, connection, ids)
    body["properties"].pop("sharedKey")  # never returned by GET
    body["name"] = "fabric-aws-azure-0"
    read = V.connection_from_arm(body, connection["psk"])
    # The key itself is never read back: its fingerprint is, and it is all the planner compares.
    assert read == {k: v for k, v in connection.items() if k != "psk"}
    assert connection["psk"] not in repr(read)
    assert V.connection_from_arm(body, "Another.key_0123456789")["psk_fingerprint"] != read["psk_fingerprint"]
    assert "psk_fingerprint" not in V.connection_from_arm(body, None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"vnet": None}, "network.vnet"),
        ({"resource_group": ""}, "network.resource_group"),
    ],
)
def test_missing_network_fields_are_named(change, field):
    with pytest.raises(ValidationError) as info:
        V.resources(desired(**change))
    assert info.value.field == field


def test_a_tunnel_without_its_peer_address_or_instance_is_named():
    wanted = desired()
    wanted["tunnels"][0]["remote"] = {k: v for k, v in wanted["tunnels"][0]["remote"].items() if k != "public_ip"}
    with pytest.raises(ValidationError) as info:
        V.resources(wanted)
    assert info.value.field == "tunnels.fabric-aws-azure-0.remote.public_ip"
    wanted = desired()
    wanted["tunnels"][0]["local"] = dict(wanted["tunnels"][0]["local"], interface=2)
    with pytest.raises(ValidationError) as info:
        V.resources(wanted)
    assert info.value.field == "tunnels.fabric-aws-azure-0.local.interface"


def test_no_key_in_errors_or_repr():
    wanted = desired()
    psk = wanted["tunnels"][0]["psk"]
    found = by_key(V.resources(wanted))
    with pytest.raises(ValidationError) as info:
        V.connection_body(wanted, found["connection/fabric-aws-azure-0"]["spec"], {})
    assert psk not in str(info.value)

    class Conn:
        subscription_id = SUB

    assert psk not in repr(V.VpnGateways(Conn()))
    assert V.WRITE_ONLY == frozenset(("psk", "cidr"))


def test_a_mesh_owns_its_names_only():
    mesh = {"name": "fabric"}
    for name in ("fabric-gw", "fabric-gw-ip0", "fabric-gw-ip1", "fabric-aws-azure-3", "fabric-gcp-azure-0"):
        assert V.owns(mesh, name), name
    # Another mesh whose name starts with this one's, and resources of nobody's mesh.
    for name in ("fabric-2-gw", "fabric-2-gw-ip0", "fabric-2-aws-azure-0", "fabricgw", "other-gw", "fabric-gw-x"):
        assert not V.owns(mesh, name), name
    assert all(V.owns({"name": "fabric"}, r["name"]) for r in V.resources(desired()) if r["kind"] != "gateway_subnet")


def test_tunnel_status_of_a_gateway_being_updated_asks_no_bgp_query():
    wanted = desired(tunnels=True)

    class Conn:
        subscription_id = SUB

        @property
        def network(self):
            raise AssertionError("no call expected while the gateway is Updating")

    ip0, ip1 = "198.18.0.10", "198.18.0.11"
    current = [
        {
            "kind": "public_ip",
            "name": "fabric-gw-ip0",
            "spec": {},
            "id": "i0",
            "status": "Succeeded",
            "ip_address": ip0,
        },
        {
            "kind": "public_ip",
            "name": "fabric-gw-ip1",
            "spec": {},
            "id": "i1",
            "status": "Succeeded",
            "ip_address": ip1,
        },
        {"kind": "vpn_gateway", "name": "fabric-gw", "spec": {}, "id": "g", "status": "Updating"},
        {
            "kind": "connection",
            "name": "fabric-aws-azure-0",
            "spec": {},
            "id": "c",
            "status": "Succeeded",
            "connection_status": "Connected",
            "tunnels": [
                {"tunnel": f"fabric-aws-azure-0_{ip0}", "status": "Connected"},
                {"tunnel": f"fabric-aws-azure-0_{ip1}", "status": "NotConnected"},
            ],
        },
    ]
    statuses = {s["name"]: s for s in V.VpnGateways(Conn()).tunnel_status(wanted, current)}
    first = statuses["fabric-aws-azure-0"]
    assert (first["status"], first["bgp_state"], first["local_public_ip"]) == ("UP", "Unknown", ip0)
    assert "tunnel Connected" in first["status_message"]
    # Tunnels whose connection does not exist yet say so.
    assert statuses["fabric-aws-azure-1"]["status"] == "DOWN"
    assert "does not exist" in statuses["fabric-aws-azure-1"]["status_message"]
    assert len(statuses) == len(wanted["tunnels"])


def test_a_gateway_made_from_the_layout_alone_needs_no_update_when_the_peerings_come():
    """Made while the other clouds' gateways are (no addresses, no keys yet): the mesh's layout
    gives every instance its APIPA addresses at once, the same ones the peerings use."""
    mesh = plan_mesh(GATEWAYS, SEED)
    layout = [{k: v for k, v in t.items() if k != "psk"} for t in tunnels_of(mesh, "azure")]
    early = by_key(V.resources(dict(desired(tunnels=False), layout=layout)))
    assert [k for k in early if not k.startswith(("gateway_subnet", "public_ip"))] == ["vpn_gateway/fabric-gw"]
    later = by_key(V.resources(dict(desired(), layout=layout)))["vpn_gateway/fabric-gw"]
    assert early["vpn_gateway/fabric-gw"]["spec"] == later["spec"]
    assert (
        later["spec"]["bgp_addresses"]
        == by_key(V.resources(desired()))["vpn_gateway/fabric-gw"]["spec"]["bgp_addresses"]
    )


def test_resources_arm_is_still_working_on_are_in_progress():
    current = [
        {"kind": "public_ip", "name": "fabric-gw-ip0", "status": "Succeeded"},
        {"kind": "vpn_gateway", "name": "fabric-gw", "status": "Updating"},
        {"kind": "connection", "name": "fabric-aws-azure-0", "status": "Deleting"},
        {"kind": "connection", "name": "fabric-aws-azure-1", "status": "Failed"},
    ]
    assert V.VpnGateways.in_progress(current) == ["vpn_gateway/fabric-gw", "connection/fabric-aws-azure-0"]


def test_a_gateway_started_without_waiting_returns_once_arm_accepted_it():
    calls = []
    TYPE = "Microsoft.Network/virtualNetworkGateways"

    class Conn:
        subscription_id = SUB
        network = type(
            "Network",
            (),
            {"virtual_network_gateways": type("Ops", (), {"begin_create_or_update": None, "get": None})()},
        )()

        def begin(self, fn, *args, resource=None, call=None):
            calls.append(call)
            return "poller"

        def finish(self, poller, resource=None, call=None):
            raise AssertionError("wait=False must not wait for the LRO")

        def call(self, fn, *args, resource=None, call=None):
            calls.append(call)
            return {"id": f"/subscriptions/{SUB}/resourceGroups/rg1/providers/{TYPE}/fabric-gw"}

    spec = by_key(V.resources(desired(tunnels=False)))["vpn_gateway/fabric-gw"]["spec"]
    ids = {"gateway_subnet/GatewaySubnet": "s", "public_ip/fabric-gw-ip0": "p0", "public_ip/fabric-gw-ip1": "p1"}
    action = {"action": "create", "kind": "vpn_gateway", "name": "fabric-gw", "spec": spec}
    found = V.VpnGateways(Conn()).apply(action, desired(tunnels=False), ids, wait=False)
    assert found.endswith("/virtualNetworkGateways/fabric-gw")
    assert calls == ["VirtualNetworkGateways_CreateOrUpdate", "VirtualNetworkGateways_Get"]
