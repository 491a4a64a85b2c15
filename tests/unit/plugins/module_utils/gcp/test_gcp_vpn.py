# -*- coding: utf-8 -*-
"""The GCP side of the VPN mesh as resources: names, specs, references, replace rules, checks."""

from __future__ import annotations

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp.vpn import (
    GATEWAY_KINDS,
    KINDS,
    WRITE_ONLY,
    VpnGateways,
    psk_fingerprint,
    router_from_cloud,
    router_peers_from_cloud,
    tunnel_from_cloud,
    vpn_resources,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.spec import plan_mesh, tunnels_of

SEED = "unit-test-seed-0123456789"
GATEWAYS = [
    {"cloud": "aws", "region": "us-east-1", "name": "x-aws", "cidrs": ["10.0.0.0/16"]},
    {"cloud": "gcp", "region": "us-central1", "name": "x-gcp", "cidrs": ["10.1.0.0/16"]},
    {"cloud": "azure", "region": "westeurope", "name": "x-az", "cidrs": ["10.2.0.0/16"]},
]


def addresses(tunnel):
    """A public address per AWS tunnel, per Azure instance."""
    remote = tunnel["remote"]
    if remote["cloud"] == "aws":
        return f"198.51.100.{10 + tunnel['index']}"
    return f"203.0.113.{20 + remote['interface']}"


def desired(mesh=None, with_tunnels=True):
    mesh = mesh or plan_mesh(GATEWAYS, SEED, name="mesh")
    tunnels = (
        [dict(t, remote=dict(t["remote"], public_ip=addresses(t))) for t in tunnels_of(mesh, "gcp")]
        if with_tunnels
        else []
    )
    return {
        "cloud": "gcp",
        "region": "us-central1",
        "name": "mesh",
        "network": {"network": "core"},
        "asn": 64514,
        "cidrs": ["10.1.0.0/16"],
        "tags": {},
        "tunnels": tunnels,
    }


def by_key(resources):
    return {f"{r['kind']}/{r['name']}": r for r in resources}


def test_kinds_and_the_gateway_phase():
    assert KINDS == ("vpn_gateway", "router", "external_vpn_gateway", "vpn_tunnel", "router_peer")
    assert GATEWAY_KINDS == KINDS[:2]
    assert WRITE_ONLY == frozenset({"shared_secret"})
    resources = vpn_resources(desired(with_tunnels=False))
    assert [(r["kind"], r["name"]) for r in resources] == [("vpn_gateway", "mesh-havpn"), ("router", "mesh-router")]
    gateway, router = resources
    assert gateway == {
        "kind": "vpn_gateway",
        "name": "mesh-havpn",
        "spec": {"network": "core", "stack_type": "IPV4_ONLY"},
        "replace_on": "*",
    }
    assert router["spec"] == {
        "network": "core",
        "asn": 64514,
        "advertise_mode": "CUSTOM",
        "advertised_groups": [],
        "advertised_ranges": ["10.1.0.0/16"],
    }
    assert router["replace_on"] == ["network"]


def test_every_resource_in_kinds_order_with_names_of_the_mesh():
    resources = vpn_resources(desired())
    kinds = [r["kind"] for r in resources]
    assert kinds == sorted(kinds, key=KINDS.index)
    assert kinds.count("vpn_tunnel") == kinds.count("router_peer") == 8
    assert all(r["name"].startswith("mesh-") and len(r["name"]) <= 63 for r in resources)
    assert len(by_key(resources)) == len(resources)


def test_external_gateways_four_aws_tunnel_addresses_and_two_azure_instances():
    found = by_key(vpn_resources(desired()))
    assert found["external_vpn_gateway/mesh-peer-aws"]["spec"] == {
        "redundancy_type": "FOUR_IPS_REDUNDANCY",
        "interfaces": ["198.51.100.10", "198.51.100.11", "198.51.100.12", "198.51.100.13"],
    }
    assert found["external_vpn_gateway/mesh-peer-azure"]["spec"] == {
        "redundancy_type": "TWO_IPS_REDUNDANCY",
        "interfaces": ["203.0.113.20", "203.0.113.21"],
    }
    assert found["external_vpn_gateway/mesh-peer-aws"]["replace_on"] == "*"


def test_tunnels_reference_the_gateways_and_carry_a_fingerprint_of_the_key():
    want = desired()
    found = by_key(vpn_resources(want))
    for tunnel in want["tunnels"]:
        resource = found[f"vpn_tunnel/{tunnel['name']}"]
        aws = tunnel["remote"]["cloud"] == "aws"
        assert resource["replace_on"] == "*"
        assert resource["spec"] == {
            "vpn_gateway": {"ref": "vpn_gateway/mesh-havpn"},
            "vpn_gateway_interface": tunnel["local"]["interface"],
            "peer_external_gateway": {"ref": f"external_vpn_gateway/mesh-peer-{tunnel['remote']['cloud']}"},
            "peer_external_gateway_interface": tunnel["index"] if aws else tunnel["remote"]["interface"],
            "ike_version": 2,
            "router": {"ref": "router/mesh-router"},
            "shared_secret": tunnel["psk"],
            "psk_fingerprint": psk_fingerprint(tunnel["name"], tunnel["psk"]),
        }
        assert tunnel["psk"] not in resource["spec"]["psk_fingerprint"]
        peer = found[f"router_peer/{tunnel['name']}"]
        assert peer["spec"] == {
            "router": {"ref": "router/mesh-router"},
            "vpn_tunnel": {"ref": f"vpn_tunnel/{tunnel['name']}"},
            "ip_range": f"{tunnel['local']['bgp_ip']}/30",
            "peer_ip": tunnel["remote"]["bgp_ip"],
            "peer_asn": tunnel["remote"]["asn"],
        }
        assert peer["replace_on"] == ["router"]
    # GCP's interfaces: each AWS connection on one interface; each interface to both Azure instances.
    pairs = [(t["remote"]["cloud"], t["local"]["interface"]) for t in want["tunnels"]]
    assert pairs == [("aws", 0), ("aws", 0), ("aws", 1), ("aws", 1)] + [("azure", 0)] * 2 + [("azure", 1)] * 2


def test_a_rotated_key_changes_only_the_fingerprints_of_that_pair():
    before = by_key(vpn_resources(desired()))
    rotated = plan_mesh(GATEWAYS, SEED, name="mesh", rotations={"gcp-azure": 1})
    after = by_key(vpn_resources(desired(rotated)))
    changed = sorted(k for k in before if before[k]["spec"] != after[k]["spec"])
    assert changed == [f"vpn_tunnel/mesh-gcp-azure-{i}" for i in range(4)]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(network={}), "network.network"),
        (lambda d: d.update(name="Mesh"), "name"),
        (lambda d: d.update(name="m" * 60), "name"),
        (lambda d: d.update(asn="many"), "asn"),
        (lambda d: d.update(cidrs=[]), "cidrs"),
        (lambda d: d["tunnels"][1]["remote"].update(public_ip="not-an-ip"), "tunnels[1].remote.public_ip"),
        (lambda d: d["tunnels"][5]["remote"].update(public_ip="203.0.113.99"), "tunnels[7].remote.public_ip"),
        (lambda d: d.update(tunnels=d["tunnels"][:3]), "tunnels"),
    ],
)
def test_bad_input_names_the_field_and_never_the_key(change, field):
    want = desired()
    change(want)
    with pytest.raises(E.ValidationError) as info:
        vpn_resources(want)
    assert info.value.field == field
    assert not any(t["psk"] in str(info.value) for t in desired()["tunnels"])


def test_reads_translate_back_to_the_same_specs():
    want = desired()
    wanted = by_key(vpn_resources(want))
    tunnel = want["tunnels"][0]
    base = "https://www.googleapis.com/compute/v1/projects/p/regions/us-central1"
    cloud_tunnel = {
        "name": tunnel["name"],
        "self_link": f"{base}/vpnTunnels/{tunnel['name']}",
        "description": f"Managed by multicloud.fabric; psk-hmac={psk_fingerprint(tunnel['name'], tunnel['psk'])}",
        "vpn_gateway": f"{base}/vpnGateways/mesh-havpn",
        "vpn_gateway_interface": 0,
        "peer_external_gateway": "https://www.googleapis.com/compute/v1/projects/p/global/externalVpnGateways/mesh-peer-aws",
        "peer_external_gateway_interface": 0,
        "ike_version": 2,
        "router": f"{base}/routers/mesh-router",
        "shared_secret": "*************",
        "status": "ESTABLISHED",
    }
    read = tunnel_from_cloud(cloud_tunnel)
    expected = {k: v for k, v in wanted[f"vpn_tunnel/{tunnel['name']}"]["spec"].items() if k not in WRITE_ONLY}
    assert read["spec"] == expected
    assert "shared_secret" not in read["raw"]
    router = {
        "name": "mesh-router",
        "self_link": f"{base}/routers/mesh-router",
        "network": "https://www.googleapis.com/compute/v1/projects/p/global/networks/core",
        "bgp": {"asn": 64514, "advertise_mode": "CUSTOM", "advertised_ip_ranges": [{"range_": "10.1.0.0/16"}]},
        "interfaces": [
            {
                "name": tunnel["name"],
                "ip_range": f"{tunnel['local']['bgp_ip']}/30",
                "linked_vpn_tunnel": cloud_tunnel["self_link"],
            },
            {"name": "other-interface", "ip_range": "169.254.99.1/30"},
        ],
        "bgp_peers": [
            {
                "name": f"{tunnel['name']}-bgp",
                "interface_name": tunnel["name"],
                "peer_ip_address": tunnel["remote"]["bgp_ip"],
                "peer_asn": tunnel["remote"]["asn"],
            }
        ],
    }
    assert router_from_cloud(router)["spec"] == wanted["router/mesh-router"]["spec"]
    (peer,) = router_peers_from_cloud(router, "mesh")
    assert peer["spec"] == wanted[f"router_peer/{tunnel['name']}"]["spec"]
    assert peer["id"] == f"{base}/routers/mesh-router/interfaces/{tunnel['name']}"
    # A tunnel whose key was changed elsewhere (or that has no fingerprint) differs.
    assert tunnel_from_cloud(dict(cloud_tunnel, description=""))["spec"]["psk_fingerprint"] is None


def test_a_mesh_owns_only_its_own_names():
    from ansible_collections.multicloud.fabric.plugins.module_utils.gcp.vpn import owns  # noqa: PLC0415

    for name in ("mesh-havpn", "mesh-router", "mesh-peer-aws", "mesh-peer-azure", "mesh-aws-gcp-3", "mesh-gcp-azure-0"):
        assert owns("mesh", name), name
    # Another mesh whose name starts with this one's, and things nobody of the mesh made.
    for name in ("mesh-2-havpn", "mesh-2-router", "mesh-2-aws-gcp-0", "meshhavpn", "mesh-havpn-x", "other-router"):
        assert not owns("mesh", name), name


def test_unknown_actions_fail_before_any_call():
    adapter = VpnGateways(conn=None)
    with pytest.raises(E.UnknownActionError):
        adapter.apply({"action": "resize", "kind": "vpn_tunnel", "name": "x"}, desired(), {})
    with pytest.raises(E.UnknownActionError):
        adapter.apply({"action": "update", "kind": "vpn_gateway", "name": "x"}, desired(), {})
