"""The VPN data plane: real IPsec (strongSwan, userspace ESP) and BGP (BIRD) between namespaces.

The mesh comes from the collection's own planner (plan_mesh), so these tests prove that what the
planner decides (inside /30s, ASNs, keys, which interface meets which) really negotiates, and that
"up" is the daemons' verdict: a wrong key keeps exactly that tunnel down with IKE's own reason, a
wrong ASN keeps BGP down, and losing one tunnel of a pair leaves traffic flowing over the others.
"""

from __future__ import annotations

import os
import time

import pytest
from mc_sandbox.net import mesh as dataplane
from mc_sandbox.net import netns
from support import poll

from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.spec import plan_mesh

MISSING = dataplane.missing()
if MISSING and os.geteuid() == 0 and os.environ.get("MC_SANDBOX_REQUIRE_NET"):
    raise RuntimeError("the VPN data plane cannot run: " + "; ".join(MISSING))
pytestmark = pytest.mark.skipif(bool(MISSING), reason="VPN data plane unavailable: " + "; ".join(MISSING))

GATEWAYS = [
    {"cloud": "aws", "region": "us-east-1", "name": "fabric-aws", "cidrs": ["10.0.0.0/16"]},
    {"cloud": "gcp", "region": "us-central1", "name": "fabric-gcp", "cidrs": ["10.1.0.0/16"]},
    {"cloud": "azure", "region": "eastus", "name": "fabric-azure", "cidrs": ["10.2.0.0/16"]},
]
SEED = "sandbox-test-seed-0123456789"


def public_addresses(mesh):
    """Public addresses the way each cloud hands them out: AWS one per tunnel, GCP one per HA VPN
    interface, Azure one per active-active instance."""
    addresses, counter = {}, iter(range(10, 250))

    def address(key):
        if key not in addresses:
            addresses[key] = f"198.18.{1 + len(addresses) // 200}.{next(counter)}"
        return addresses[key]

    def end_address(pair, tunnel, end):
        if end["cloud"] == "aws":
            return address(("aws", pair["name"], end["connection"], end["tunnel"]))
        return address((end["cloud"], end["interface"]))

    return end_address


def build(plane, mesh, psk_override=None, asn_override=None):
    for cloud, gateway in mesh["gateways"].items():
        plane.gateway(cloud, gateway["asn"], gateway["cidrs"])
    end_address = public_addresses(mesh)
    names = []
    for pair in mesh["pairs"]:
        for tunnel in pair["tunnels"]:
            a, b = tunnel["a"], tunnel["b"]
            prefix = tunnel["inside_cidr"].split("/")[1]
            for local, remote in ((a, b), (b, a)):
                name = f"{tunnel['name']}-{local['cloud']}"
                psk = (psk_override or {}).get(name, tunnel["psk"])
                peer_asn = (asn_override or {}).get(name, remote["asn"])
                plane.tunnel(
                    name,
                    local["cloud"],
                    local_public=end_address(pair, tunnel, local),
                    remote_public=end_address(pair, tunnel, remote),
                    psk=psk,
                    inside=f"{local['bgp_ip']}/{prefix}",
                    remote_inside=remote["bgp_ip"],
                    peer_asn=peer_asn,
                )
                names.append(name)
    return names


@pytest.fixture
def plane(tmp_path):
    prefix = "mcft" + netns.identity(tmp_path)
    plane = dataplane.DataPlane(tmp_path / "net", prefix)
    yield plane
    removed = plane.down()
    assert not netns.Namespaces(prefix).owned(), "namespaces left behind"
    assert removed


def states(plane, names):
    return {n: plane.status(n) for n in names}


def test_full_mesh_comes_up_and_every_vpc_reaches_every_other(plane):
    mesh = plan_mesh(GATEWAYS, SEED)
    started = time.monotonic()
    names = build(plane, mesh)
    assert len(names) == 24  # 12 tunnels, two ends each

    def all_up():
        s = states(plane, names)
        return all(x["ipsec"]["state"] == "UP" and x["bgp"]["state"] == "Established" for x in s.values()) and s

    result = poll(all_up, timeout=90)
    assert result, {n: (s["ipsec"], s["bgp"]["state"]) for n, s in states(plane, names).items()}
    print(f"\n24 tunnel ends up, 24 BGP sessions established in {time.monotonic() - started:.1f} s")
    # Every gateway learned the other two VPCs' ranges over its tunnels.
    for cloud, ranges in (("aws", {"10.1.0.0/16", "10.2.0.0/16"}), ("azure", {"10.0.0.0/16", "10.1.0.0/16"})):
        learned = set().union(*(result[n]["bgp"]["routes"] for n in names if n.endswith("-" + cloud)))
        assert learned == ranges
    for src in ("aws", "gcp", "azure"):
        for dst in ("aws", "gcp", "azure"):
            if src != dst:
                probe = plane.probe(src, dst, count=3, interval=0.1)
                assert probe["loss_pct"] == 0.0, (src, dst, probe)


def test_wrong_key_keeps_exactly_that_tunnel_down_and_ha_keeps_traffic_flowing(plane):
    mesh = plan_mesh(GATEWAYS[:2], SEED)
    bad = "fabric-aws-gcp-0-gcp"
    names = build(plane, mesh, psk_override={bad: "Wrong_key_but_valid_1"})
    others = [n for n in names if not n.startswith("fabric-aws-gcp-0-")]

    def settled():
        s = states(plane, names)
        up = all(s[n]["ipsec"]["state"] == "UP" and s[n]["bgp"]["state"] == "Established" for n in others)
        return up and s[bad]["ipsec"]["reason"] == "AUTHENTICATION_FAILED" and s

    result = poll(settled, timeout=90)
    assert result, {n: (s["ipsec"], s["bgp"]["state"]) for n, s in states(plane, names).items()}
    assert result[bad]["ipsec"]["state"] == "DOWN"
    assert result["fabric-aws-gcp-0-aws"]["ipsec"]["state"] == "DOWN"
    assert result[bad]["bgp"]["state"] != "Established"
    assert plane.probe("aws", "gcp", count=3, interval=0.1)["loss_pct"] == 0.0

    # Kill one more tunnel of the pair: the two left carry the traffic.
    plane.remove_tunnel("fabric-aws-gcp-1-aws")
    plane.remove_tunnel("fabric-aws-gcp-1-gcp")
    time.sleep(1)
    assert plane.probe("aws", "gcp", count=5, interval=0.1)["loss_pct"] == 0.0


def test_wrong_asn_keeps_bgp_down_while_ipsec_is_up(plane):
    mesh = plan_mesh(GATEWAYS[:2], SEED)
    wrong = "fabric-aws-gcp-2-aws"  # AWS expects the wrong ASN from GCP on this tunnel
    names = build(plane, mesh, asn_override={wrong: 65001})

    def settled():
        s = states(plane, names)
        return s[wrong]["ipsec"]["state"] == "UP" and s[wrong]["bgp"]["last_error"] and s

    result = poll(settled, timeout=90)
    assert result, states(plane, names)
    assert result[wrong]["bgp"]["state"] != "Established"
    assert "Bad peer AS" in result[wrong]["bgp"]["last_error"]


def test_a_cut_gateway_loses_its_tunnels_and_comes_back(plane):
    mesh = plan_mesh(GATEWAYS[:2], SEED)
    names = build(plane, mesh)
    assert poll(lambda: plane.probe("aws", "gcp", count=1)["loss_pct"] == 0.0, timeout=60)
    plane.cut("gcp")
    assert plane.probe("aws", "gcp", count=3, interval=0.1)["loss_pct"] == 100.0
    plane.cut("gcp", down=False)
    assert poll(lambda: plane.probe("aws", "gcp", count=1)["loss_pct"] == 0.0, timeout=60)
    assert names
