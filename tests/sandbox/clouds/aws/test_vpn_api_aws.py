"""The sandbox's Site-to-Site VPN through boto3: EC2's shapes, validation, lifecycle and the fabric's
tunnel state in VgwTelemetry (a fabric in API mode; the peer cloud's ends published by the test)."""

from __future__ import annotations

import ipaddress
import threading
import xml.etree.ElementTree as ET

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from mc_sandbox.clouds.aws.server import AwsCloud
from mc_sandbox.clouds.aws.vpn import CONNECTION_CREATE_SECONDS, NO_FABRIC
from mc_sandbox.core.config import scaled
from mc_sandbox.core.runtime import CloudContext
from mc_sandbox.net import fabric as vpnfabric
from support import wait_until

REGION = "eu-west-1"
TIME_FACTOR = 0.0002
PSKS = ("FirstKey_0123456789.ab", "SecondKey_0123456789.cd")
INSIDE = ("169.254.10.0/30", "169.254.10.4/30")
PEER_ASN = 64514
PEER_CIDR = "10.1.0.0/16"


@pytest.fixture(scope="module", autouse=True)
def _no_default_amis():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        yield


@pytest.fixture
def fabric(tmp_path):
    fabric = vpnfabric.VpnFabric(tmp_path, None, use_dataplane=False)
    fabric.start()
    yield fabric
    fabric.stop()


def _cloud(faults, runtime, tmp_path, vpn):
    cloud = AwsCloud(CloudContext(faults, runtime, TIME_FACTOR, tmp_path, tls=None, vpn=vpn))
    cloud.start()
    return cloud


@pytest.fixture(scope="module")
def botocore_session():
    return botocore.session.get_session()


def _ec2(cloud, botocore_session):
    creds = cloud.credentials
    session = boto3.Session(
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        region_name=REGION,
        botocore_session=botocore_session,
    )
    config = Config(retries={"mode": "standard", "total_max_attempts": 1})
    return session.client("ec2", endpoint_url=cloud.endpoint, config=config)


@pytest.fixture
def cloud(faults, runtime, tmp_path, fabric):
    cloud = _cloud(faults, runtime, tmp_path, fabric)
    yield cloud
    cloud.stop()
    cloud.reset()
    assert not [t.name for t in threading.enumerate() if t.name.startswith("mc-sandbox")]


@pytest.fixture
def ec2(cloud, botocore_session):
    return _ec2(cloud, botocore_session)


def _gateway(ec2, peer_ip, asn=PEER_ASN):
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    vgw = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]
    ec2.attach_vpn_gateway(VpnGatewayId=vgw["VpnGatewayId"], VpcId=vpc)
    cgw = ec2.create_customer_gateway(Type="ipsec.1", BgpAsn=asn, IpAddress=peer_ip)["CustomerGateway"]
    return vpc, vgw, cgw


def _connection(ec2, vgw, cgw, **options):
    tunnels = [
        {"TunnelInsideCidr": INSIDE[i], "PreSharedKey": PSKS[i], "IKEVersions": [{"Value": "ikev2"}]} for i in (0, 1)
    ]
    return ec2.create_vpn_connection(
        Type="ipsec.1",
        CustomerGatewayId=cgw["CustomerGatewayId"],
        VpnGatewayId=vgw["VpnGatewayId"],
        Options={"StaticRoutesOnly": False, "TunnelOptions": tunnels, **options},
        TagSpecifications=[{"ResourceType": "vpn-connection", "Tags": [{"Key": "Name", "Value": "mesh-aws-gcp-0"}]}],
    )["VpnConnection"]


def _publish_peer(fabric, connection, peer_ip, psks=PSKS):
    """The GCP side of the two tunnels, as the GCP emulator would publish it."""
    ends = []
    for index, options in enumerate(connection["Options"]["TunnelOptions"]):
        hosts = list(ipaddress.ip_network(options["TunnelInsideCidr"]).hosts())
        ends.append(
            {
                "key": f"gcp/peer/{index}",
                "gateway": "gcp/us-central1/peer",
                "local_public": peer_ip,
                "remote_public": options["OutsideIpAddress"],
                "psk": psks[index],
                "ike_version": 2,
                "inside": f"{hosts[1]}/30",
                "remote_inside": str(hosts[0]),
                "peer_asn": 64512,
            }
        )
    gateway = {"key": "gcp/us-central1/peer", "cloud": "gcp", "region": "us-central1", "asn": PEER_ASN}
    fabric.publish("gcp", [{**gateway, "cidrs": [PEER_CIDR]}], ends)


def _routes(ec2, table):
    return ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Routes"]


def _describe(ec2, vpn_id):
    return ec2.describe_vpn_connections(VpnConnectionIds=[vpn_id])["VpnConnections"][0]


def test_connection_carries_its_tunnels_and_the_fabric_decides_their_status(ec2, fabric):
    peer_ip = fabric.allocate("gcp/peer/if0")
    vpc, vgw, cgw = _gateway(ec2, peer_ip)
    assert vgw["AmazonSideAsn"] == 64512 and vgw["State"] == "available"
    created = _connection(ec2, vgw, cgw)
    assert created["State"] == "pending"
    tunnels = created["Options"]["TunnelOptions"]
    assert [t["TunnelInsideCidr"] for t in tunnels] == list(INSIDE)
    assert [t["PreSharedKey"] for t in tunnels] == list(PSKS)
    assert [t["IkeVersions"] for t in tunnels] == [[{"Value": "ikev2"}]] * 2
    outside = [t["OutsideIpAddress"] for t in tunnels]
    assert len(set(outside)) == 2 and all(
        ipaddress.ip_address(a) in ipaddress.ip_network("198.18.0.0/15") for a in outside
    )
    vpn_id = created["VpnConnectionId"]
    assert wait_until(
        lambda: _describe(ec2, vpn_id)["State"] == "available", scaled(CONNECTION_CREATE_SECONDS, TIME_FACTOR) + 5
    )

    # No peer yet: both tunnels DOWN, AWS's words.
    telemetry = _describe(ec2, vpn_id)["VgwTelemetry"]
    assert [t["OutsideIpAddress"] for t in telemetry] == outside
    assert {t["Status"] for t in telemetry} == {"DOWN"}
    assert all(t["StatusMessage"].startswith("IPSEC IS DOWN") for t in telemetry)
    first_change = telemetry[0]["LastStatusChange"]

    # The peer publishes matching ends: UP, one route learned over BGP per tunnel.
    _publish_peer(fabric, created, peer_ip)
    telemetry = _describe(ec2, vpn_id)["VgwTelemetry"]
    assert [(t["Status"], t["StatusMessage"], t["AcceptedRouteCount"]) for t in telemetry] == [
        ("UP", "1 BGP ROUTES", 1)
    ] * 2
    # A route table propagating the VGW shows the learned range as a propagated route.
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    assert not [r for r in _routes(ec2, table) if r["DestinationCidrBlock"] == PEER_CIDR]
    ec2.enable_vgw_route_propagation(RouteTableId=table, GatewayId=vgw["VpnGatewayId"])
    learned = [r for r in _routes(ec2, table) if r["DestinationCidrBlock"] == PEER_CIDR]
    assert learned == [
        {
            "DestinationCidrBlock": PEER_CIDR,
            "GatewayId": vgw["VpnGatewayId"],
            "Origin": "EnableVgwRoutePropagation",
            "State": "active",
        }
    ]
    assert telemetry[0]["LastStatusChange"] >= first_change

    # A wrong key on the peer's second tunnel: that tunnel only goes DOWN, for IKE's reason.
    _publish_peer(fabric, created, peer_ip, psks=(PSKS[0], "WrongKey_0123456789"))
    telemetry = _describe(ec2, vpn_id)["VgwTelemetry"]
    assert telemetry[0]["Status"] == "UP"
    assert telemetry[1]["Status"] == "DOWN"
    assert "pre-shared key mismatch" in telemetry[1]["StatusMessage"]
    assert "AUTHENTICATION_FAILED" in telemetry[1]["StatusMessage"]

    # Both tunnels still up: the route stays; with the peer gone it is withdrawn.
    assert [r for r in _routes(ec2, table) if r["DestinationCidrBlock"] == PEER_CIDR]

    # ModifyVpnTunnelOptions: AWS's side takes the peer's new key, the tunnel comes back.
    modified = ec2.modify_vpn_tunnel_options(
        VpnConnectionId=vpn_id,
        VpnTunnelOutsideIpAddress=outside[1],
        TunnelOptions={"PreSharedKey": "WrongKey_0123456789"},
    )["VpnConnection"]
    assert modified["Options"]["TunnelOptions"][1]["PreSharedKey"] == "WrongKey_0123456789"
    assert [t["Status"] for t in _describe(ec2, vpn_id)["VgwTelemetry"]] == ["UP", "UP"]
    fabric.publish("gcp", [], [])
    assert not [r for r in _routes(ec2, table) if r["DestinationCidrBlock"] == PEER_CIDR]


def test_configuration_document_matches_the_tunnels(ec2, fabric):
    peer_ip = fabric.allocate("gcp/peer/if0")
    _vpc, vgw, cgw = _gateway(ec2, peer_ip)
    created = _connection(ec2, vgw, cgw)
    doc = ET.fromstring(_describe(ec2, created["VpnConnectionId"])["CustomerGatewayConfiguration"])  # noqa: S314 (the sandbox's own answer)
    tunnels = doc.findall("ipsec_tunnel")
    assert doc.get("id") == created["VpnConnectionId"] and len(tunnels) == 2
    for tunnel, options, psk in zip(tunnels, created["Options"]["TunnelOptions"], PSKS, strict=True):
        hosts = [str(h) for h in ipaddress.ip_network(options["TunnelInsideCidr"]).hosts()]
        assert tunnel.findtext("ike/pre_shared_key") == psk
        assert tunnel.findtext("vpn_gateway/tunnel_outside_address/ip_address") == options["OutsideIpAddress"]
        assert tunnel.findtext("customer_gateway/tunnel_outside_address/ip_address") == peer_ip
        assert tunnel.findtext("vpn_gateway/tunnel_inside_address/ip_address") == hosts[0]
        assert tunnel.findtext("customer_gateway/tunnel_inside_address/ip_address") == hosts[1]
        assert tunnel.findtext("vpn_gateway/bgp/asn") == "64512"
        assert tunnel.findtext("customer_gateway/bgp/asn") == str(PEER_ASN)


def test_omitted_options_get_random_inside_ranges_and_keys(ec2, fabric):
    _vpc, vgw, cgw = _gateway(ec2, fabric.allocate("gcp/peer/if0"))
    created = ec2.create_vpn_connection(
        Type="ipsec.1", CustomerGatewayId=cgw["CustomerGatewayId"], VpnGatewayId=vgw["VpnGatewayId"]
    )["VpnConnection"]
    tunnels = created["Options"]["TunnelOptions"]
    nets = [ipaddress.ip_network(t["TunnelInsideCidr"]) for t in tunnels]
    assert len(set(nets)) == 2 and all(
        n.prefixlen == 30 and n.subnet_of(ipaddress.ip_network("169.254.0.0/16")) for n in nets
    )
    keys = [t["PreSharedKey"] for t in tunnels]
    assert len(set(keys)) == 2 and all(8 <= len(k) <= 64 and not k.startswith("0") for k in keys)
    assert "Iw2IAN9XUsQeYUrkMGP3kP59ugFDkfHg" not in keys  # moto's fixed key


@pytest.mark.parametrize(
    ("tunnel", "field", "words"),
    [
        ({"TunnelInsideCidr": "169.254.3.0/30"}, "TunnelInsideCidr", "reserved"),
        ({"TunnelInsideCidr": "10.0.0.0/30"}, "TunnelInsideCidr", "169.254.0.0/16"),
        ({"TunnelInsideCidr": "169.254.10.0/29"}, "TunnelInsideCidr", "/30"),
        ({"PreSharedKey": "short"}, "PreSharedKey", "between 8 and 64"),
        ({"PreSharedKey": "0StartsWithZero123"}, "PreSharedKey", "cannot start with zero"),
        ({"PreSharedKey": "has-a-dash-12345"}, "PreSharedKey", "periods (.)"),
        ({"IKEVersions": [{"Value": "ikev3"}]}, "IKEVersions", "IKE version"),
    ],
)
def test_bad_tunnel_options_are_rejected_with_ec2_error_naming_the_field(ec2, fabric, tunnel, field, words):
    _vpc, vgw, cgw = _gateway(ec2, fabric.allocate("gcp/peer/if0"))
    with pytest.raises(ClientError) as caught:
        ec2.create_vpn_connection(
            Type="ipsec.1",
            CustomerGatewayId=cgw["CustomerGatewayId"],
            VpnGatewayId=vgw["VpnGatewayId"],
            Options={"TunnelOptions": [tunnel]},
        )
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidParameterValue"
    assert f"Options.TunnelOptions.1.{field}" in error["Message"] and words in error["Message"]
    for value in tunnel.get("PreSharedKey", "").split():
        assert value not in error["Message"]
    assert ec2.describe_vpn_connections()["VpnConnections"] == []


def test_unknown_references_and_bad_gateways_are_rejected(ec2, fabric):
    _vpc, vgw, cgw = _gateway(ec2, fabric.allocate("gcp/peer/if0"))
    with pytest.raises(ClientError, match=r"InvalidCustomerGatewayID.NotFound"):
        ec2.create_vpn_connection(
            Type="ipsec.1", CustomerGatewayId="cgw-0123456789abcdef0", VpnGatewayId=vgw["VpnGatewayId"]
        )
    with pytest.raises(ClientError, match=r"InvalidVpnGatewayID.NotFound"):
        ec2.create_vpn_connection(
            Type="ipsec.1", CustomerGatewayId=cgw["CustomerGatewayId"], VpnGatewayId="vgw-01234567"
        )
    with pytest.raises(ClientError, match="IpAddress"):
        ec2.create_customer_gateway(Type="ipsec.1", BgpAsn=65000, IpAddress="not-an-ip")
    with pytest.raises(ClientError, match="AmazonSideAsn"):
        ec2.create_vpn_gateway(Type="ipsec.1", AmazonSideAsn=4294967295)
    assert ec2.create_vpn_gateway(Type="ipsec.1", AmazonSideAsn=65010)["VpnGateway"]["AmazonSideAsn"] == 65010


def test_delete_releases_addresses_and_unpublishes(ec2, fabric):
    peer_ip = fabric.allocate("gcp/peer/if0")
    vpc, vgw, cgw = _gateway(ec2, peer_ip)
    created = _connection(ec2, vgw, cgw)
    vpn_id = created["VpnConnectionId"]
    assert fabric.snapshot()["gateways"] == 1 and fabric.snapshot()["endpoints"] == 2
    with pytest.raises(ClientError, match="IncorrectState"):
        ec2.delete_customer_gateway(CustomerGatewayId=cgw["CustomerGatewayId"])
    ec2.delete_vpn_connection(VpnConnectionId=vpn_id)
    assert _describe(ec2, vpn_id)["State"] == "deleted"
    assert fabric.snapshot()["endpoints"] == 0
    # The tunnels' addresses were released: their owners no longer hold them.
    freed = {t["OutsideIpAddress"] for t in created["Options"]["TunnelOptions"]}
    assert not freed & {fabric.allocate(f"aws/{REGION}/{vpn_id}/{index}") for index in (0, 1)}
    with pytest.raises(ClientError, match=r"InvalidVpnConnectionID.NotFound"):
        ec2.modify_vpn_tunnel_options(
            VpnConnectionId=vpn_id, VpnTunnelOutsideIpAddress=min(freed), TunnelOptions={"PreSharedKey": PSKS[0]}
        )
    ec2.delete_customer_gateway(CustomerGatewayId=cgw["CustomerGatewayId"])
    ec2.detach_vpn_gateway(VpnGatewayId=vgw["VpnGatewayId"], VpcId=vpc)
    assert fabric.snapshot()["gateways"] == 0
    ec2.delete_vpn_gateway(VpnGatewayId=vgw["VpnGatewayId"])
    gateways = ec2.describe_vpn_gateways(VpnGatewayIds=[vgw["VpnGatewayId"]])["VpnGateways"]
    assert gateways[0]["State"] == "deleted"


def test_route_propagation_and_static_routes(ec2, fabric):
    vpc, vgw, cgw = _gateway(ec2, fabric.allocate("gcp/peer/if0"))
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.enable_vgw_route_propagation(RouteTableId=table, GatewayId=vgw["VpnGatewayId"])
    described = ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]
    assert described["PropagatingVgws"] == [{"GatewayId": vgw["VpnGatewayId"]}]
    ec2.disable_vgw_route_propagation(RouteTableId=table, GatewayId=vgw["VpnGatewayId"])
    assert not ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0].get("PropagatingVgws")
    with pytest.raises(ClientError, match=r"InvalidRouteTableID.NotFound"):
        ec2.enable_vgw_route_propagation(RouteTableId="rtb-0123456789abcdef0", GatewayId=vgw["VpnGatewayId"])
    other = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    other_table = ec2.create_route_table(VpcId=other)["RouteTable"]["RouteTableId"]
    with pytest.raises(ClientError, match=r"Gateway.NotAttached"):
        ec2.enable_vgw_route_propagation(RouteTableId=other_table, GatewayId=vgw["VpnGatewayId"])

    static = _connection(ec2, vgw, cgw, StaticRoutesOnly=True)
    ec2.create_vpn_connection_route(VpnConnectionId=static["VpnConnectionId"], DestinationCidrBlock="10.1.0.0/16")
    assert _describe(ec2, static["VpnConnectionId"])["Routes"] == [
        {"DestinationCidrBlock": "10.1.0.0/16", "Source": "Static", "State": "available"}
    ]
    ec2.delete_vpn_connection_route(VpnConnectionId=static["VpnConnectionId"], DestinationCidrBlock="10.1.0.0/16")
    assert not _describe(ec2, static["VpnConnectionId"]).get("Routes")


def test_without_a_fabric_the_api_works_and_tunnels_say_why_they_are_down(faults, runtime, tmp_path, botocore_session):
    cloud = _cloud(faults, runtime, tmp_path, None)
    try:
        ec2 = _ec2(cloud, botocore_session)
        _vpc, vgw, cgw = _gateway(ec2, "198.18.9.9")
        created = _connection(ec2, vgw, cgw)
        telemetry = _describe(ec2, created["VpnConnectionId"])["VgwTelemetry"]
        assert {t["Status"] for t in telemetry} == {"DOWN"}
        assert all(NO_FABRIC in t["StatusMessage"] for t in telemetry)
    finally:
        cloud.stop()
        cloud.reset()
