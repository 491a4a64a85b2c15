"""The sandbox's Compute HA VPN and Cloud Router through google-cloud-compute.

One GCP side of an AWS<->GCP mesh (plan_mesh) is built with the official SDK against a `GcpCloud`
in this process, sharing a VPN fabric in API mode with the test, which publishes the AWS side's
tunnel ends itself (as the AWS emulator would). Tunnel and BGP status follow what the fabric
decides; bad bodies are refused with Compute's errors before anything is stored or published; every
body sent and answered is checked against the Compute discovery document.
"""

from __future__ import annotations

import json
import os

import pytest
from google.api_core import exceptions as gexc
from google.cloud import compute_v1
from google.oauth2 import service_account
from mc_sandbox.clouds.gcp.server import GcpCloud
from mc_sandbox.core.runtime import CloudContext
from mc_sandbox.k8s.pki import sandbox_tls
from mc_sandbox.net import mesh as vpnmesh
from mc_sandbox.net import netns
from mc_sandbox.net.fabric import VpnFabric
from support import SPECS, poll
from test_gcp import REGION, SCOPES, TIME_FACTOR, check_schema

from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.spec import plan_mesh, tunnels_of

SEED = "gcp-vpn-api-test-seed-0123"
GATEWAYS = [
    {"cloud": "aws", "region": "us-east-1", "name": "m-aws", "cidrs": ["10.0.0.0/16"]},
    {"cloud": "gcp", "region": REGION, "name": "m-gcp", "cidrs": ["10.1.0.0/16"]},
]
# collection -> (resource schema, list schema)
SCHEMAS = {
    "vpnGateways": ("VpnGateway", "VpnGatewayList"),
    "externalVpnGateways": ("ExternalVpnGateway", "ExternalVpnGatewayList"),
    "routers": ("Router", "RouterList"),
    "vpnTunnels": ("VpnTunnel", "VpnTunnelList"),
    "networks": ("Network", "NetworkList"),
    "subnetworks": ("Subnetwork", "SubnetworkList"),
}


def contract(operation):
    """(request schema, response schema) of a recorded Compute operation."""
    collection, verb = operation.removeprefix("compute:").split(".")
    if collection.endswith("Operations"):
        return None, "Operation"
    single, listed = SCHEMAS[collection]
    return {
        "insert": (single, "Operation"),
        "patch": (single, "Operation"),
        "update": (single, "Operation"),
        "delete": (None, "Operation"),
        "get": (None, single),
        "list": (None, listed),
        "getStatus": (None, "VpnGatewaysGetStatusResponse"),
        "getRouterStatus": (None, "RouterStatusResponse"),
    }[verb]


@pytest.fixture(autouse=True)
def _no_regional_access_boundary_lookups(monkeypatch):
    """google-auth's background lookup goes to a fixed Google host (see test_gcp.py)."""
    monkeypatch.setattr(service_account.Credentials, "_is_regional_access_boundary_lookup_required", lambda self: False)


@pytest.fixture(scope="module")
def compute_doc():
    return json.loads((SPECS / "gcp" / "compute.v1.json").read_text())


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return sandbox_tls(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def trusted_tls(tls, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca))
    return tls


@pytest.fixture
def creds(cloud):
    return service_account.Credentials.from_service_account_file(cloud.endpoints["service_account_file"], scopes=SCOPES)


@pytest.fixture
def fabric(tmp_path, faults):
    return VpnFabric(tmp_path / "fabric", faults, use_dataplane=False)


def _serve(context):
    cloud = GcpCloud(context)
    cloud.endpoints = cloud.start()
    cloud.record = True
    return cloud


def check_contract(cloud, doc):
    for operation, body in cloud.recorded_requests:
        request, _ = contract(operation)
        if request is None:
            assert body == {}, operation
        else:
            check_schema(doc, {"$ref": request}, body, operation)
    for operation, _status, body in cloud.recorded_responses:
        check_schema(doc, {"$ref": contract(operation)[1]}, body, operation)


@pytest.fixture
def cloud(faults, runtime, trusted_tls, tmp_path, fabric, compute_doc):  # noqa: PLR0917
    cloud = _serve(CloudContext(faults, runtime, TIME_FACTOR, tmp_path / "gcp", trusted_tls, fabric))
    yield cloud
    cloud.stop()
    cloud.reset()
    check_contract(cloud, compute_doc)


@pytest.fixture
def sdk(cloud, creds):
    return clients(cloud, creds)


def clients(cloud, creds):
    options = {"api_endpoint": cloud.endpoints["api_endpoint"]}

    def make(cls):
        client = cls(credentials=creds, transport="rest", client_options=options)
        services = client._transport._extended_operations_services
        services["global_operations"] = compute_v1.GlobalOperationsClient(
            credentials=creds, transport="rest", client_options=options
        )
        services["region_operations"] = compute_v1.RegionOperationsClient(
            credentials=creds, transport="rest", client_options=options
        )
        return client

    return {
        "networks": make(compute_v1.NetworksClient),
        "subnetworks": make(compute_v1.SubnetworksClient),
        "vpn_gateways": make(compute_v1.VpnGatewaysClient),
        "external": make(compute_v1.ExternalVpnGatewaysClient),
        "routers": make(compute_v1.RoutersClient),
        "tunnels": make(compute_v1.VpnTunnelsClient),
    }


def counts(cloud):
    return cloud.compute.status()["resources"]


def build_gcp_side(cloud, sdk, fabric, mesh, *, peers=True):
    """The GCP half of ``mesh`` through the SDK: network, HA VPN gateway, router, the external
    gateway of the AWS side (its four tunnel addresses), four tunnels, and (``peers``) the router's
    interfaces and BGP peers."""
    project = cloud.project
    sdk["networks"].insert(project=project, network_resource={"name": "vpc", "auto_create_subnetworks": False}).result(
        timeout=30
    )
    sdk["subnetworks"].insert(
        project=project,
        region=REGION,
        subnetwork_resource={"name": "nodes", "network": "global/networks/vpc", "ip_cidr_range": "10.1.0.0/20"},
    ).result(timeout=30)
    sdk["vpn_gateways"].insert(
        project=project, region=REGION, vpn_gateway_resource={"name": "m-havpn", "network": "global/networks/vpc"}
    ).result(timeout=30)
    gateway = sdk["vpn_gateways"].get(project=project, region=REGION, vpn_gateway="m-havpn")
    sdk["routers"].insert(
        project=project,
        region=REGION,
        router_resource={
            "name": "m-router",
            "network": "global/networks/vpc",
            "bgp": {
                "asn": mesh["gateways"]["gcp"]["asn"],
                "advertise_mode": "CUSTOM",
                "advertised_ip_ranges": [{"range": "10.1.0.0/16"}],
            },
        },
    ).result(timeout=30)
    tunnels = tunnels_of(mesh, "gcp")
    aws_addresses = [fabric.allocate(f"aws/{t['name']}") for t in tunnels]
    sdk["external"].insert(
        project=project,
        external_vpn_gateway_resource={
            "name": "m-peer-aws",
            "redundancy_type": "FOUR_IPS_REDUNDANCY",
            "interfaces": [{"id": i, "ip_address": a} for i, a in enumerate(aws_addresses)],
        },
    ).result(timeout=30)
    for tunnel in tunnels:
        sdk["tunnels"].insert(
            project=project,
            region=REGION,
            vpn_tunnel_resource={
                "name": tunnel["name"],
                "vpn_gateway": gateway.self_link,
                "vpn_gateway_interface": tunnel["local"]["interface"],
                "peer_external_gateway": "global/externalVpnGateways/m-peer-aws",
                "peer_external_gateway_interface": tunnel["index"],
                "shared_secret": tunnel["psk"],
                "ike_version": 2,
                "router": "m-router",
            },
        ).result(timeout=30)
    if peers:
        patch_peers(cloud, sdk, tunnels)
    return gateway, tunnels, aws_addresses


def patch_peers(cloud, sdk, tunnels):
    interfaces, peers = [], []
    for tunnel in tunnels:
        interfaces.append(
            {
                "name": tunnel["name"],
                "ip_range": f"{tunnel['local']['bgp_ip']}/30",
                "linked_vpn_tunnel": f"regions/{REGION}/vpnTunnels/{tunnel['name']}",
            }
        )
        peers.append(
            {
                "name": f"{tunnel['name']}-bgp",
                "interface_name": tunnel["name"],
                "ip_address": tunnel["local"]["bgp_ip"],
                "peer_ip_address": tunnel["remote"]["bgp_ip"],
                "peer_asn": tunnel["remote"]["asn"],
            }
        )
    sdk["routers"].patch(
        project=cloud.project,
        region=REGION,
        router="m-router",
        router_resource={"interfaces": interfaces, "bgp_peers": peers},
    ).result(timeout=30)


def publish_aws(fabric, mesh, gateway, aws_addresses, psk=None):
    """The AWS side's ends of the mesh, as the AWS emulator would publish them."""
    aws = mesh["gateways"]["aws"]
    ends = []
    for tunnel, address in zip(tunnels_of(mesh, "gcp"), aws_addresses, strict=True):
        ends.append(
            {
                "key": f"aws/{tunnel['name']}",
                "gateway": "aws/us-east-1/vgw-test",
                "local_public": address,
                "remote_public": gateway.vpn_interfaces[tunnel["local"]["interface"]].ip_address,
                "psk": psk or tunnel["psk"],
                "ike_version": 2,
                "inside": f"{tunnel['remote']['bgp_ip']}/30",
                "remote_inside": tunnel["local"]["bgp_ip"],
                "peer_asn": tunnel["local"]["asn"],
            }
        )
    fabric.publish(
        "aws",
        [
            {
                "key": "aws/us-east-1/vgw-test",
                "cloud": "aws",
                "region": "us-east-1",
                "asn": aws["asn"],
                "cidrs": aws["cidrs"],
            }
        ],
        ends,
    )


def tunnel_states(cloud, sdk):
    return {t.name: (t.status, t.detailed_status) for t in sdk["tunnels"].list(project=cloud.project, region=REGION)}


# ---------------------------------------------------------------------------- lifecycle and status
def test_tunnels_come_up_with_bgp_when_the_peer_side_agrees(cloud, sdk, fabric):
    mesh = plan_mesh(GATEWAYS, SEED, name="m")
    gateway, tunnels, aws_addresses = build_gcp_side(cloud, sdk, fabric, mesh, peers=False)
    # Two interfaces, each with a public address of the fabric.
    assert [i.id for i in gateway.vpn_interfaces] == [0, 1]
    assert all(i.ip_address.startswith("198.1") for i in gateway.vpn_interfaces)
    assert gateway.vpn_interfaces[0].ip_address != gateway.vpn_interfaces[1].ip_address
    # Without BGP on the router the tunnels wait for their configuration and are not published.
    names = [t["name"] for t in tunnels]
    assert {s[0] for s in tunnel_states(cloud, sdk).values()} == {"WAITING_FOR_FULL_CONFIG"}
    assert fabric.snapshot()["endpoints"] == 0

    patch_peers(cloud, sdk, tunnels)
    assert fabric.snapshot()["endpoints"] == 4
    assert tunnel_states(cloud, sdk) == dict.fromkeys(names, ("NO_INCOMING_PACKETS", "No incoming packets from peer."))

    publish_aws(fabric, mesh, gateway, aws_addresses)
    assert tunnel_states(cloud, sdk) == dict.fromkeys(names, ("ESTABLISHED", "Tunnel is up and running."))
    tunnel = sdk["tunnels"].get(project=cloud.project, region=REGION, vpn_tunnel=names[0])
    assert tunnel.shared_secret == "*************"
    assert tunnel.shared_secret_hash and tunnels[0]["psk"] not in json.dumps(
        [body for _, _, body in cloud.recorded_responses]
    )
    assert tunnel.peer_ip == aws_addresses[0]

    status = sdk["routers"].get_router_status(project=cloud.project, region=REGION, router="m-router").result
    assert [(p.name, p.status, p.state, p.num_learned_routes) for p in status.bgp_peer_status] == [
        (f"{n}-bgp", "UP", "Established", 1) for n in names
    ]
    assert {(r.dest_range, r.next_hop_vpn_tunnel.rsplit("/", 1)[-1]) for r in status.best_routes} == {
        ("10.0.0.0/16", n) for n in names
    }
    assert status.bgp_peer_status[0].peer_ip_address == tunnels[0]["remote"]["bgp_ip"]
    ha = sdk["vpn_gateways"].get_status(project=cloud.project, region=REGION, vpn_gateway="m-havpn").result
    (connection,) = ha.vpn_connections
    assert connection.state.state == "CONNECTION_REDUNDANCY_MET"
    assert sorted(t.peer_gateway_interface for t in connection.tunnels) == [0, 1, 2, 3]

    # The gateway the fabric got: the router's ASN and custom ranges.
    assert fabric._gateways["gcp"] == {
        "gcp/us-central1/m-havpn": {
            "key": "gcp/us-central1/m-havpn",
            "cloud": "gcp",
            "region": REGION,
            "asn": mesh["gateways"]["gcp"]["asn"],
            "cidrs": ["10.1.0.0/16"],
        }
    }


def test_a_region_taken_down_cuts_its_tunnels_until_it_comes_back(cloud, sdk, fabric, faults):
    mesh = plan_mesh(GATEWAYS, SEED, name="m")
    gateway, _, aws_addresses = build_gcp_side(cloud, sdk, fabric, mesh)
    publish_aws(fabric, mesh, gateway, aws_addresses)
    assert {s[0] for s in tunnel_states(cloud, sdk).values()} == {"ESTABLISHED"}
    faults.region_down("gcp", REGION)
    assert {s[0] for s in tunnel_states(cloud, sdk).values()} == {"NO_INCOMING_PACKETS"}
    status = sdk["routers"].get_router_status(project=cloud.project, region=REGION, router="m-router").result
    assert {p.status for p in status.bgp_peer_status} == {"DOWN"}
    faults.clear()
    assert {s[0] for s in tunnel_states(cloud, sdk).values()} == {"ESTABLISHED"}


def test_a_wrong_shared_secret_is_a_negotiation_failure_and_bgp_stays_down(cloud, sdk, fabric):
    mesh = plan_mesh(GATEWAYS, SEED, name="m")
    gateway, _, aws_addresses = build_gcp_side(cloud, sdk, fabric, mesh)
    publish_aws(fabric, mesh, gateway, aws_addresses, psk="SomeOtherKey_0123456789")
    states = set(tunnel_states(cloud, sdk).values())
    assert states == {
        ("NEGOTIATION_FAILURE", "Handshake with peer failed: authentication failed. Check the shared secret.")
    }
    status = sdk["routers"].get_router_status(project=cloud.project, region=REGION, router="m-router").result
    assert {(p.status, p.num_learned_routes) for p in status.bgp_peer_status} == {("DOWN", 0)}
    assert list(status.best_routes) == []


def test_delete_refuses_what_is_in_use_then_cleans_up_everything(cloud, sdk, fabric):
    mesh = plan_mesh(GATEWAYS, SEED, name="m")
    gateway, tunnels, _ = build_gcp_side(cloud, sdk, fabric, mesh)
    project = cloud.project
    for call in (
        lambda: sdk["vpn_gateways"].delete(project=project, region=REGION, vpn_gateway="m-havpn"),
        lambda: sdk["external"].delete(project=project, external_vpn_gateway="m-peer-aws"),
        lambda: sdk["routers"].delete(project=project, region=REGION, router="m-router"),
        lambda: sdk["networks"].delete(project=project, network="vpc"),
    ):
        with pytest.raises(gexc.BadRequest, match="is already being used by"):
            call()
    # A patch cannot clear a list (the SDK sends no empty repeated field); update replaces the router.
    router = sdk["routers"].get(project=project, region=REGION, router="m-router")
    sdk["routers"].update(
        project=project,
        region=REGION,
        router="m-router",
        router_resource={"name": router.name, "network": router.network, "bgp": router.bgp},
    ).result(timeout=30)
    router = sdk["routers"].get(project=project, region=REGION, router="m-router")
    assert (list(router.interfaces), list(router.bgp_peers), router.bgp.asn) == ([], [], mesh["gateways"]["gcp"]["asn"])
    assert fabric.snapshot()["endpoints"] == 0
    for tunnel in tunnels:
        sdk["tunnels"].delete(project=project, region=REGION, vpn_tunnel=tunnel["name"]).result(timeout=30)
    sdk["external"].delete(project=project, external_vpn_gateway="m-peer-aws").result(timeout=30)
    sdk["routers"].delete(project=project, region=REGION, router="m-router").result(timeout=30)
    sdk["vpn_gateways"].delete(project=project, region=REGION, vpn_gateway="m-havpn").result(timeout=30)
    assert list(sdk["tunnels"].list(project=project, region=REGION)) == []
    assert list(sdk["routers"].list(project=project, region=REGION)) == []
    assert list(sdk["vpn_gateways"].list(project=project, region=REGION)) == []
    assert list(sdk["external"].list(project=project)) == []
    assert fabric.snapshot()["gateways"] == fabric.snapshot()["endpoints"] == 0
    with pytest.raises(gexc.NotFound):
        sdk["tunnels"].get(project=project, region=REGION, vpn_tunnel=tunnels[0]["name"])
    # The gateway's public addresses went back to the fabric.
    assert not {i.ip_address for i in gateway.vpn_interfaces} & set(fabric._addresses.values())


# ---------------------------------------------------------------------------- bad input
def test_bad_bodies_are_refused_with_the_field_before_any_write(cloud, sdk, fabric):
    mesh = plan_mesh(GATEWAYS, SEED, name="m")
    _, tunnels, _ = build_gcp_side(cloud, sdk, fabric, mesh)
    project = cloud.project
    before, published = counts(cloud), fabric.snapshot()
    tunnel = tunnels[0]
    good_tunnel = {
        "name": "m-extra",
        "vpn_gateway": "m-havpn",
        "vpn_gateway_interface": 0,
        "peer_external_gateway": "m-peer-aws",
        "peer_external_gateway_interface": 0,
        "shared_secret": tunnel["psk"],
        "router": "m-router",
    }
    cases = [
        (
            sdk["external"].insert,
            {
                "external_vpn_gateway_resource": {
                    "name": "m-two",
                    "redundancy_type": "FOUR_IPS_REDUNDANCY",
                    "interfaces": [{"id": 0, "ip_address": "203.0.113.1"}, {"id": 1, "ip_address": "203.0.113.2"}],
                }
            },
            "resource.interfaces",
        ),
        (
            sdk["external"].insert,
            {"external_vpn_gateway_resource": {"name": "m-none", "interfaces": [{"ip_address": "203.0.113.1"}]}},
            "resource.redundancyType",
        ),
        (
            sdk["routers"].insert,
            {"region": REGION, "router_resource": {"name": "m-r2", "network": "vpc", "bgp": {"asn": 15169}}},
            "resource.bgp.asn",
        ),
        (
            sdk["tunnels"].insert,
            {"region": REGION, "vpn_tunnel_resource": {**good_tunnel, "shared_secret": ""}},
            "resource.sharedSecret",
        ),
        (
            sdk["tunnels"].insert,
            {"region": REGION, "vpn_tunnel_resource": {**good_tunnel, "peer_external_gateway_interface": 7}},
            "resource.peerExternalGatewayInterface",
        ),
        (
            sdk["tunnels"].insert,
            {"region": REGION, "vpn_tunnel_resource": {**good_tunnel, "vpn_gateway_interface": 2}},
            "resource.vpnGatewayInterface",
        ),
        (
            sdk["routers"].patch,
            {
                "region": REGION,
                "router": "m-router",
                "router_resource": {
                    "interfaces": [{"name": "i0", "ip_range": "169.254.10.1/30", "linked_vpn_tunnel": tunnel["name"]}],
                    "bgp_peers": [
                        {"name": "p0", "interface_name": "i0", "peer_ip_address": "169.254.99.2", "peer_asn": 64512}
                    ],
                },
            },
            "resource.bgpPeers[0].peerIpAddress",
        ),
        (
            sdk["routers"].patch,
            {
                "region": REGION,
                "router": "m-router",
                "router_resource": {
                    "interfaces": [{"name": "i0", "ip_range": "10.9.0.1/30", "linked_vpn_tunnel": tunnel["name"]}]
                },
            },
            "resource.interfaces[0].ipRange",
        ),
    ]
    for method, kwargs, field in cases:
        with pytest.raises(gexc.BadRequest) as info:
            method(project=project, **kwargs)
        assert f"'{field}" in info.value.message, (field, info.value.message)
        assert [v["field"] for v in info.value.details[0]["fieldViolations"]] == [field]
        assert tunnel["psk"] not in info.value.message
    with pytest.raises(gexc.NotFound):
        sdk["tunnels"].insert(
            project=project, region=REGION, vpn_tunnel_resource={**good_tunnel, "vpn_gateway": "nope"}
        )
    assert counts(cloud) == before
    assert fabric.snapshot() == published
    # The rejected patches left the router as it was.
    router = sdk["routers"].get(project=project, region=REGION, router="m-router")
    assert [i.name for i in router.interfaces] == [t["name"] for t in tunnels]


def test_without_a_fabric_tunnels_are_served_and_say_why_they_are_down(
    faults, runtime, trusted_tls, tmp_path, compute_doc
):
    cloud = _serve(CloudContext(faults, runtime, TIME_FACTOR, tmp_path / "nofabric", trusted_tls, None))
    try:
        key = cloud.endpoints["service_account_file"]
        sdk = clients(cloud, service_account.Credentials.from_service_account_file(key, scopes=SCOPES))
        mesh = plan_mesh(GATEWAYS, SEED, name="m")
        other = VpnFabric(tmp_path / "addresses", use_dataplane=False)  # only hands out the peer addresses
        gateway, _, _ = build_gcp_side(cloud, sdk, other, mesh)
        assert len({i.ip_address for i in gateway.vpn_interfaces}) == 2
        assert set(tunnel_states(cloud, sdk).values()) == {
            ("NO_INCOMING_PACKETS", "No incoming packets from peer: this sandbox has no VPN data plane.")
        }
        status = sdk["routers"].get_router_status(project=cloud.project, region=REGION, router="m-router").result
        assert {p.status for p in status.bgp_peer_status} == {"DOWN"}
    finally:
        cloud.stop()
    check_contract(cloud, compute_doc)


# ---------------------------------------------------------------------------- the real data plane
MISSING = vpnmesh.missing()


@pytest.mark.skipif(bool(MISSING), reason="VPN data plane unavailable: " + "; ".join(MISSING))
def test_the_data_plane_negotiates_what_the_compute_api_was_told(faults, runtime, trusted_tls, tmp_path, compute_doc):
    if MISSING and os.geteuid() == 0 and os.environ.get("MC_SANDBOX_REQUIRE_NET"):
        raise RuntimeError("the VPN data plane cannot run: " + "; ".join(MISSING))
    fabric = VpnFabric(tmp_path / "fabric", faults)
    assert fabric.mode == "dataplane"
    fabric.start()
    cloud = _serve(CloudContext(faults, runtime, TIME_FACTOR, tmp_path / "gcp", trusted_tls, fabric))
    try:
        key = cloud.endpoints["service_account_file"]
        sdk = clients(cloud, service_account.Credentials.from_service_account_file(key, scopes=SCOPES))
        mesh = plan_mesh(GATEWAYS, SEED, name="m")
        gateway, tunnels, aws_addresses = build_gcp_side(cloud, sdk, fabric, mesh)
        # The AWS side agrees except for tunnel 1's key.
        publish_aws(fabric, mesh, gateway, aws_addresses)
        ends = [dict(e) for e in fabric._endpoints["aws"].values()]
        ends[1]["psk"] = "WrongKey_0123456789"
        fabric.publish("aws", list(fabric._gateways["aws"].values()), ends)
        assert fabric.wait_idle(120)
        names = [t["name"] for t in tunnels]

        def settled():
            states = tunnel_states(cloud, sdk)
            router = sdk["routers"].get_router_status(project=cloud.project, region=REGION, router="m-router")
            up = {p.name for p in router.result.bgp_peer_status if p.status == "UP"}
            good = all(states[n][0] == "ESTABLISHED" and f"{n}-bgp" in up for n in names if n != names[1])
            return (states, router.result) if good and states[names[1]][0] == "NEGOTIATION_FAILURE" else None

        found = poll(settled, timeout=90)
        assert found, tunnel_states(cloud, sdk)
        states, router = found
        assert "authentication failed" in states[names[1]][1]
        assert {r.dest_range for r in router.best_routes} == {"10.0.0.0/16"}
        assert {fabric.status(f"gcp/{REGION}/{n}")["mode"] for n in names} == {"dataplane"}
    finally:
        cloud.stop()
        removed = fabric.stop()
    assert removed
    assert not netns.Namespaces(fabric.prefix).owned(), "namespaces left behind"
    check_contract(cloud, compute_doc)
