# -*- coding: utf-8 -*-
"""AWS's side of the VPN mesh: the resources a mesh needs, and EC2 objects read back in their shape."""

from __future__ import annotations

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.aws import vpn
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import UnknownActionError
from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.spec import plan_mesh, tunnels_of

SEED = "unit-test-seed-0123456789"
GATEWAYS = [
    {"cloud": "aws", "region": "us-east-1", "name": "g-aws", "cidrs": ["10.0.0.0/16"]},
    {"cloud": "gcp", "region": "us-central1", "name": "g-gcp", "cidrs": ["10.1.0.0/16"]},
    {"cloud": "azure", "region": "westeurope", "name": "g-az", "cidrs": ["10.2.0.0/16"]},
]
PUBLIC = {("gcp", 0): "198.18.1.1", ("gcp", 1): "198.18.1.2", ("azure", 0): "198.18.2.1", ("azure", 1): "198.18.2.2"}


def desired(mesh=None):
    mesh = mesh or plan_mesh(GATEWAYS, SEED, name="mesh")
    tunnels = tunnels_of(mesh, "aws")
    for tunnel in tunnels:
        remote = tunnel["remote"]
        remote["public_ip"] = PUBLIC[(remote["cloud"], remote["interface"])]
    return {
        "cloud": "aws",
        "region": "us-east-1",
        "name": "mesh",
        "network": {"vpc_id": "vpc-1"},
        "asn": 64512,
        "cidrs": ["10.0.0.0/16"],
        "tags": {},
        "tunnels": tunnels,
    }


def by_name(items):
    return {r["name"]: r for r in items}


def test_the_gateway_phase_needs_the_gateway_and_its_propagation_only():
    out = vpn.resources(dict(desired(), tunnels=[]))
    assert [(r["kind"], r["name"]) for r in out] == [
        ("vpn_gateway", "mesh-vgw"),
        ("route_propagation", "mesh-propagation"),
    ]
    assert out[0]["spec"] == {"asn": 64512, "vpc_id": "vpc-1"} and out[0]["replace_on"] == "*"
    assert out[1]["spec"] == {"gateway": {"ref": "vpn_gateway/mesh-vgw"}, "vpc_id": "vpc-1"}
    assert {r["kind"] for r in out} == set(vpn.GATEWAY_KINDS)


def test_one_customer_gateway_per_remote_interface_and_one_connection_per_pair_and_index():
    d = desired()
    out = vpn.resources(d)
    kinds = [r["kind"] for r in out]
    assert kinds == sorted(kinds, key=vpn.KINDS.index)  # already in creation order
    resources = by_name(out)
    cgws = [r for r in out if r["kind"] == "customer_gateway"]
    assert [c["name"] for c in cgws] == [
        "mesh-aws-azure-cgw0",
        "mesh-aws-azure-cgw1",
        "mesh-aws-gcp-cgw0",
        "mesh-aws-gcp-cgw1",
    ]
    assert resources["mesh-aws-gcp-cgw1"]["spec"] == {"ip_address": "198.18.1.2", "bgp_asn": 64514}
    assert all(c["replace_on"] == "*" for c in cgws)
    connections = [r for r in out if r["kind"] == "vpn_connection"]
    assert [c["name"] for c in connections] == [
        "mesh-aws-azure-0",
        "mesh-aws-azure-1",
        "mesh-aws-gcp-0",
        "mesh-aws-gcp-1",
    ]
    # Tunnels 2 and 3 of aws-gcp are connection 1, onto GCP interface 1, in tunnel order.
    second = resources["mesh-aws-gcp-1"]
    tunnels = [t for t in d["tunnels"] if t["pair"] == "aws-gcp" and t["local"]["connection"] == 1]
    assert second["spec"] == {
        "customer_gateway": {"ref": "customer_gateway/mesh-aws-gcp-cgw1"},
        "vpn_gateway": {"ref": "vpn_gateway/mesh-vgw"},
        "static_routes_only": False,
        "inside_cidrs": [t["inside_cidr"] for t in sorted(tunnels, key=lambda t: t["local"]["tunnel"])],
        "ike_versions": ["ikev2"],
        "psks": [t["psk"] for t in sorted(tunnels, key=lambda t: t["local"]["tunnel"])],
    }
    assert second["tunnels"] == ["mesh-aws-gcp-2", "mesh-aws-gcp-3"]
    # A new key is an update (ModifyVpnTunnelOptions); anything else of a connection replaces it.
    assert "psks" not in second["replace_on"]
    assert set(second["replace_on"]) == set(second["spec"]) - {"psks"}
    assert all(r["name"].startswith("mesh-") for r in out)


def test_a_rotated_pair_changes_only_that_pairs_keys():
    before = by_name(vpn.resources(desired()))
    after = by_name(vpn.resources(desired(plan_mesh(GATEWAYS, SEED, name="mesh", rotations={"aws-gcp": 1}))))
    for name in ("mesh-aws-gcp-0", "mesh-aws-gcp-1"):
        assert before[name]["spec"]["psks"] != after[name]["spec"]["psks"]
        assert {k: v for k, v in before[name]["spec"].items() if k != "psks"} == {
            k: v for k, v in after[name]["spec"].items() if k != "psks"
        }
    assert before["mesh-aws-azure-0"] == after["mesh-aws-azure-0"]


def test_ec2_objects_read_back_in_the_resources_shape():
    d = desired()
    wanted = by_name(vpn.resources(d))
    vgw = {
        "VpnGatewayId": "vgw-1",
        "State": "available",
        "AmazonSideAsn": 64512,
        "VpcAttachments": [{"VpcId": "vpc-1", "State": "attached"}],
        "Tags": [{"Key": "Name", "Value": "mesh-vgw"}, {"Key": vpn.VPN_TAG, "Value": "mesh"}],
    }
    cgw = {
        "CustomerGatewayId": "cgw-1",
        "State": "available",
        "BgpAsn": "64514",
        "IpAddress": "198.18.1.2",
        "Tags": [{"Key": "Name", "Value": "mesh-aws-gcp-cgw1"}],
    }
    spec = wanted["mesh-aws-gcp-1"]["spec"]
    connection = {
        "VpnConnectionId": "vpn-1",
        "State": "available",
        "CustomerGatewayId": "cgw-1",
        "VpnGatewayId": "vgw-1",
        "Options": {
            "StaticRoutesOnly": False,
            "TunnelOptions": [
                {"OutsideIpAddress": ip, "TunnelInsideCidr": c, "PreSharedKey": k, "IkeVersions": [{"Value": "ikev2"}]}
                for ip, c, k in zip(("198.18.0.5", "198.18.0.6"), spec["inside_cidrs"], spec["psks"], strict=True)
            ],
        },
        "VgwTelemetry": [{"OutsideIpAddress": "198.18.0.6", "Status": "UP", "StatusMessage": "1 BGP ROUTES"}],
        "Tags": [{"Key": "Name", "Value": "mesh-aws-gcp-1"}],
    }
    assert vpn.gateway_to_resource(vgw)["spec"] == wanted["mesh-vgw"]["spec"]
    assert vpn.customer_gateway_to_resource(cgw)["spec"] == wanted["mesh-aws-gcp-cgw1"]["spec"]
    names = {"vgw-1": "vpn_gateway/mesh-vgw", "cgw-1": "customer_gateway/mesh-aws-gcp-cgw1"}
    read = vpn.connection_to_resource(connection, names)
    assert read["spec"] == spec and read["id"] == "vpn-1" and read["name"] == "mesh-aws-gcp-1"
    assert read["outside_ips"] == ["198.18.0.5", "198.18.0.6"]


def test_telemetry_becomes_the_portable_status():
    assert vpn.telemetry_status({"Status": "UP", "StatusMessage": "2 BGP ROUTES", "AcceptedRouteCount": 2}) == (
        "UP",
        "2 BGP ROUTES",
        "Established",
        2,
    )
    status, message, bgp, count = vpn.telemetry_status({"Status": "DOWN", "StatusMessage": "IPSEC IS DOWN"})
    assert (status, message, bgp, count) == ("DOWN", "IPSEC IS DOWN", "Idle", 0)
    assert vpn.telemetry_status(None)[0] == "DOWN"


def test_an_unknown_action_is_refused_before_any_call():
    adapter = vpn.VpnGateways(conn=None)
    with pytest.raises(UnknownActionError, match="vpn"):
        adapter.apply({"action": "resize", "kind": "vpn_gateway", "name": "mesh-vgw", "spec": {}}, desired(), {})
