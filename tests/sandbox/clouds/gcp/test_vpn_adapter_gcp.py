"""The collection's GCP VPN adapter (plugins/module_utils/gcp/vpn.py) against an in-process sandbox GCP.

The adapter runs through its own Connection (endpoint, CA bundle and service-account key are the
only differences from real Google) on a VPN fabric in API mode: every resource is created through
``apply`` in ``KINDS`` order, read back with specs equal to ``resources()`` (a second pass finds
nothing to change), the gateway facts and the tunnels' status follow what the fabric decides once
the AWS side (published by the test) agrees, and deleting in reverse order leaves nothing.
"""

from __future__ import annotations

import pytest
from google.oauth2 import service_account
from mc_sandbox.clouds.gcp.server import GcpCloud
from mc_sandbox.core.runtime import CloudContext
from mc_sandbox.k8s.pki import sandbox_tls
from mc_sandbox.net.fabric import VpnFabric
from test_gcp import REGION, TIME_FACTOR
from test_vpn_api_gcp import check_contract, compute_doc  # noqa: F401 - the fixture is used below

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.args import GCP_OPTIONS
from ansible_collections.multicloud.fabric.plugins.module_utils.common.clouds import vpn_gateways
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Retrier, RetryPolicy
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp import network as gcp_network
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp.client import Connection
from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.spec import plan_mesh, tunnels_of

SEED = "gcp-vpn-adapter-test-seed-01"
GATEWAYS = [
    {"cloud": "aws", "region": "us-east-1", "name": "a-aws", "cidrs": ["10.0.0.0/16"]},
    {"cloud": "gcp", "region": REGION, "name": "a-gcp", "cidrs": ["10.1.0.0/16"]},
]


@pytest.fixture(autouse=True)
def _no_regional_access_boundary_lookups(monkeypatch):
    """google-auth's background lookup goes to a fixed Google host (see test_gcp.py)."""
    monkeypatch.setattr(service_account.Credentials, "_is_regional_access_boundary_lookup_required", lambda self: False)


@pytest.fixture
def fabric(tmp_path):
    return VpnFabric(tmp_path / "fabric", use_dataplane=False)


@pytest.fixture
def cloud(faults, runtime, tmp_path, fabric, compute_doc):  # noqa: F811
    tls = sandbox_tls(tmp_path / "pki")
    cloud = GcpCloud(CloudContext(faults, runtime, TIME_FACTOR, tmp_path / "gcp", tls, fabric))
    cloud.endpoints = cloud.start()
    cloud.record = True
    yield cloud
    cloud.stop()
    cloud.reset()
    # Every request the adapter sent and every answer, against the discovery document.
    check_contract(cloud, compute_doc)


@pytest.fixture
def conn(cloud):
    params = {name: option.get("default") for name, option in GCP_OPTIONS.items()}
    params.update(
        gcp_service_account_file=cloud.endpoints["service_account_file"],
        gcp_api_endpoint=cloud.endpoints["api_endpoint"],
        gcp_ca_bundle=cloud.endpoints["ca_bundle"],
    )
    retrier = Retrier("gcp", policy=RetryPolicy(timeout=20, base_delay=0.1, max_delay=1))
    connection = Connection(params, retrier, region=REGION)
    connection.poll_interval = 0.05
    return connection


def make_network(conn):
    nets = gcp_network.Networks(conn)
    desired = {"region": REGION, "name": "a-vpc", "cidr": "10.1.0.0/16", "provider": {}}
    nets.apply({"action": "create_network"}, desired, None)
    subnet = {"name": "a-nodes", "cidr": "10.1.0.0/20", "secondary_ranges": []}
    nets.apply({"action": "create_subnet", "subnet": subnet}, desired, None)


def desired_of(mesh, tunnels=()):
    gateway = mesh["gateways"]["gcp"]
    return {
        "cloud": "gcp",
        "region": REGION,
        "name": mesh["name"],
        "network": {"network": "a-vpc"},
        "asn": gateway["asn"],
        "cidrs": gateway["cidrs"],
        "tags": {},
        "tunnels": list(tunnels),
    }


def key(resource):
    return f"{resource['kind']}/{resource['name']}"


def changes(adapter, desired):
    """What a planner would find to do: resources missing, or whose spec differs (write-only keys skipped)."""
    current = {key(r): r for r in adapter.read(desired)}
    wanted = {key(r): r for r in adapter.resources(desired)}
    todo = []
    for name, resource in wanted.items():
        found = current.get(name)
        spec = {k: v for k, v in resource["spec"].items() if k not in adapter.WRITE_ONLY}
        if found is None or found["spec"] != spec:
            todo.append(name)
    return todo + sorted(set(current) - set(wanted))


def converge(adapter, desired, ids):
    for resource in adapter.resources(desired):
        if key(resource) in changes(adapter, desired):
            action = {"action": "create", "kind": resource["kind"], "name": resource["name"], "spec": resource["spec"]}
            ids[key(resource)] = adapter.apply(action, desired, ids)


def publish_aws(fabric, mesh, gcp_interfaces, addresses, psk=None):
    aws = mesh["gateways"]["aws"]
    ends = [
        {
            "key": f"aws/{tunnel['name']}",
            "gateway": "aws/us-east-1/vgw-a",
            "local_public": addresses[tunnel["index"]],
            "remote_public": gcp_interfaces[tunnel["local"]["interface"]],
            "psk": psk or tunnel["psk"],
            "ike_version": 2,
            "inside": f"{tunnel['remote']['bgp_ip']}/30",
            "remote_inside": tunnel["local"]["bgp_ip"],
            "peer_asn": tunnel["local"]["asn"],
        }
        for tunnel in tunnels_of(mesh, "gcp")
    ]
    gateway = {"key": "aws/us-east-1/vgw-a", "cloud": "aws", "region": "us-east-1"}
    fabric.publish("aws", [{**gateway, "asn": aws["asn"], "cidrs": aws["cidrs"]}], ends)


def test_the_adapter_builds_reads_reports_and_deletes_the_gcp_side(cloud, conn, fabric):
    make_network(conn)
    adapter = vpn_gateways("gcp", conn)
    mesh = plan_mesh(GATEWAYS, SEED, name="a")
    ids = {}

    # The gateway phase: HA VPN gateway and router only.
    phase = desired_of(mesh)
    assert [r["kind"] for r in adapter.resources(phase)] == list(adapter.GATEWAY_KINDS)
    assert adapter.read(phase) == []
    converge(adapter, phase, ids)
    assert changes(adapter, phase) == []
    facts = adapter.gateway(phase, adapter.read(phase))
    assert len(facts["interfaces"]) == 2 and all(a.startswith("198.1") for a in facts["interfaces"])
    assert (facts["asn"], facts["cidrs"], facts["tunnel_ips"]) == (mesh["gateways"]["gcp"]["asn"], ["10.1.0.0/16"], {})

    # The peering phase: the AWS side's tunnel addresses are known.
    addresses = [fabric.allocate(f"aws/{t['name']}") for t in tunnels_of(mesh, "gcp")]
    tunnels = [
        dict(t, remote=dict(t["remote"], public_ip=a)) for t, a in zip(tunnels_of(mesh, "gcp"), addresses, strict=True)
    ]
    desired = desired_of(mesh, tunnels)
    converge(adapter, desired, ids)
    assert changes(adapter, desired) == []  # idempotent: a second pass finds nothing to do
    current = adapter.read(desired)
    assert [r["kind"] for r in current] == sorted((r["kind"] for r in current), key=adapter.KINDS.index)
    wanted = {key(r): r["spec"] for r in adapter.resources(desired)}
    for resource in current:
        expected = {k: v for k, v in wanted[key(resource)].items() if k not in adapter.WRITE_ONLY}
        assert resource["spec"] == expected, key(resource)
        assert resource["id"] == ids[key(resource)]
    psk = tunnels[0]["psk"]
    assert psk not in repr(current)

    # Tunnels: no answer from the peer yet, then up with BGP once AWS publishes its ends.
    status = adapter.tunnel_status(desired, current)
    assert {(s["status"], s["status_message"]) for s in status} == {
        ("DOWN", "NO_INCOMING_PACKETS: No incoming packets from peer.")
    }
    publish_aws(fabric, mesh, facts["interfaces"], addresses)
    status = adapter.tunnel_status(desired, current)
    assert [(s["name"], s["status"], s["bgp_state"], s["routes_learned"]) for s in status] == [
        (t["name"], "UP", "Established", ["10.0.0.0/16"]) for t in tunnels
    ]
    assert [(s["local_public_ip"], s["remote_public_ip"]) for s in status] == [
        (facts["interfaces"][t["local"]["interface"]], a) for t, a in zip(tunnels, addresses, strict=True)
    ]

    # The router's ranges and a peer's ASN are updated in place.
    wider = dict(desired, cidrs=["10.1.0.0/16", "10.9.0.0/24"])
    assert changes(adapter, wider) == ["router/a-router"]
    router = next(r for r in adapter.resources(wider) if r["kind"] == "router")
    update = {
        "action": "update",
        "kind": "router",
        "name": "a-router",
        "spec": router["spec"],
        "id": ids["router/a-router"],
    }
    assert adapter.apply(update, wider, ids) == ids["router/a-router"]
    assert changes(adapter, wider) == []
    peer = next(r for r in adapter.resources(desired) if r["kind"] == "router_peer")
    moved = dict(peer["spec"], peer_asn=64999)
    update = {"action": "update", "kind": "router_peer", "name": peer["name"], "spec": moved}
    adapter.apply(update, desired, ids)
    assert changes(adapter, desired) == ["router/a-router", f"router_peer/{peer['name']}"]
    assert adapter.tunnel_status(desired, current)[0]["bgp_state"] != "Established"  # AWS expects the old ASN
    adapter.apply(dict(update, spec=peer["spec"]), desired, ids)
    assert changes(adapter, desired) == ["router/a-router"]
    back = next(r for r in adapter.resources(desired) if r["kind"] == "router")["spec"]
    adapter.apply({"action": "update", "kind": "router", "name": "a-router", "spec": back}, desired, ids)
    assert changes(adapter, desired) == []
    assert {s["status"] for s in adapter.tunnel_status(desired, current)} == {"UP"}

    # A rotated key changes the tunnel's fingerprint (a replace), though the secret is never read.
    rotated = plan_mesh(GATEWAYS, SEED, name="a", rotations={"aws-gcp": 1})
    again = [
        dict(t, remote=dict(t["remote"], public_ip=a))
        for t, a in zip(tunnels_of(rotated, "gcp"), addresses, strict=True)
    ]
    assert changes(adapter, desired_of(rotated, again)) == [f"vpn_tunnel/{t['name']}" for t in tunnels]

    # Deleting in reverse order leaves nothing; a second delete of a gone resource is done.
    for resource in reversed(adapter.read(desired)):
        action = {"action": "delete", "kind": resource["kind"], "name": resource["name"], "spec": resource["spec"]}
        assert adapter.apply(action, desired, ids) is None
    assert adapter.read(desired) == []
    adapter.apply({"action": "delete", "kind": "vpn_tunnel", "name": tunnels[0]["name"]}, desired, ids)
    assert (fabric._gateways["gcp"], fabric._endpoints["gcp"]) == ({}, {})


def test_cloud_errors_are_typed_and_name_the_call_without_the_key(cloud, conn, fabric):
    make_network(conn)
    adapter = vpn_gateways("gcp", conn)
    mesh = plan_mesh(GATEWAYS, SEED, name="a")
    tunnel = dict(
        tunnels_of(mesh, "gcp")[0], remote=dict(tunnels_of(mesh, "gcp")[0]["remote"], public_ip="203.0.113.9")
    )
    desired = desired_of(mesh, [tunnel])
    spec = next(r for r in adapter.resources(desired) if r["kind"] == "vpn_tunnel")["spec"]
    # No gateway exists yet: Compute answers 404 for the reference, before anything is stored.
    with pytest.raises(E.NotFoundError) as info:
        adapter.apply({"action": "create", "kind": "vpn_tunnel", "name": tunnel["name"], "spec": spec}, desired, {})
    error = info.value
    assert (error.cloud, error.call) == ("gcp", "vpnTunnels.insert")
    assert tunnel["psk"] not in str(error) and tunnel["psk"] not in error.describe()
    assert cloud.compute.status()["resources"] == {"networks": 1, "subnetworks": 1}
    with pytest.raises(E.UnknownActionError):
        adapter.apply({"action": "resize", "kind": "router", "name": "a-router", "spec": {}}, desired, {})
