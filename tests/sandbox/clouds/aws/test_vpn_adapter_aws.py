"""The collection's AWS VPN adapter against the sandbox's AWS (in this process, a fabric in API mode):
every resource created through ``apply`` in KINDS order reads back as ``resources()`` asked, the
tunnels come UP once the peer's ends are published, and deleting in reverse leaves nothing."""

from __future__ import annotations

import ipaddress

import boto3
import pytest
from mc_sandbox.clouds.aws.server import AwsCloud
from mc_sandbox.core.runtime import CloudContext
from mc_sandbox.net import fabric as vpnfabric

from ansible_collections.multicloud.fabric.plugins.module_utils.aws import client as aws_client
from ansible_collections.multicloud.fabric.plugins.module_utils.aws import vpn
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Retrier, RetryPolicy
from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.spec import plan_mesh, tunnels_of

REGION = "us-east-1"
POLL = 0.2  # as the shared adapter suite (adapters.py) polls
SEED = "adapter-test-seed-0123456789"
GATEWAYS = [
    {"cloud": "aws", "region": REGION, "name": "a-aws", "cidrs": ["10.0.0.0/16"]},
    {"cloud": "gcp", "region": "us-central1", "name": "a-gcp", "cidrs": ["10.1.0.0/16"]},
]


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


@pytest.fixture
def cloud(faults, runtime, tmp_path, fabric):
    cloud = AwsCloud(CloudContext(faults, runtime, 0.0002, tmp_path, tls=None, vpn=fabric))
    cloud.start()
    yield cloud
    cloud.stop()
    cloud.reset()


def _connection(cloud):
    creds = cloud.credentials
    params = {
        "aws_access_key": creds.access_key_id,
        "aws_secret_key": creds.secret_access_key,
        "aws_session_token": None,
        "aws_profile": None,
        "aws_endpoint_url": cloud.endpoint,
        "aws_ca_bundle": None,
    }
    retrier = Retrier("aws", policy=RetryPolicy(timeout=30, base_delay=0.1, max_delay=1.0))
    return aws_client.Connection(params, retrier, REGION, poll_interval=POLL)


def _desired(vpc_id, fabric):
    mesh = plan_mesh(GATEWAYS, SEED, name="mesh")
    tunnels = tunnels_of(mesh, "aws")
    for tunnel in tunnels:
        tunnel["remote"]["public_ip"] = fabric.allocate(f"gcp/peer/if{tunnel['remote']['interface']}")
    gateway = mesh["gateways"]["aws"]
    return {
        "cloud": "aws",
        "region": REGION,
        "name": "mesh",
        "network": {"vpc_id": vpc_id},
        "asn": gateway["asn"],
        "cidrs": gateway["cidrs"],
        "tags": {},
        "tunnels": tunnels,
    }


def _publish_gcp(fabric, desired, tunnel_ips):
    """GCP's ends of the four tunnels, mirroring AWS's (what the GCP emulator publishes)."""
    ends = []
    for tunnel in desired["tunnels"]:
        prefix = ipaddress.ip_network(tunnel["inside_cidr"]).prefixlen
        ends.append(
            {
                "key": f"gcp/{tunnel['name']}",
                "gateway": "gcp/us-central1/peer",
                "local_public": tunnel["remote"]["public_ip"],
                "remote_public": tunnel_ips[tunnel["name"]],
                "psk": tunnel["psk"],
                "ike_version": 2,
                "inside": f"{tunnel['remote']['bgp_ip']}/{prefix}",
                "remote_inside": tunnel["local"]["bgp_ip"],
                "peer_asn": tunnel["local"]["asn"],
            }
        )
    gateway = {"key": "gcp/us-central1/peer", "cloud": "gcp", "region": "us-central1", "asn": 64514}
    fabric.publish("gcp", [{**gateway, "cidrs": ["10.1.0.0/16"]}], ends)


def _specs(items):
    return {f"{r['kind']}/{r['name']}": r["spec"] for r in items}


def test_lifecycle_create_read_status_delete(cloud, fabric):
    ec2 = boto3.client(
        "ec2",
        region_name=REGION,
        endpoint_url=cloud.endpoint,
        aws_access_key_id=cloud.credentials.access_key_id,
        aws_secret_access_key=cloud.credentials.secret_access_key,
    )
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.create_route_table(VpcId=vpc_id)
    adapter = vpn.VpnGateways(_connection(cloud))
    desired = _desired(vpc_id, fabric)
    wanted = adapter.resources(desired)
    assert adapter.read(desired) == []

    ids = {}
    for resource in sorted(wanted, key=lambda r: adapter.KINDS.index(r["kind"])):
        action = {"action": "create", "kind": resource["kind"], "name": resource["name"], "spec": resource["spec"]}
        ids[f"{resource['kind']}/{resource['name']}"] = adapter.apply(action, desired, ids)
    current = adapter.read(desired)
    # Idempotency: what exists is exactly what resources() asks for, spec by spec.
    assert _specs(current) == _specs(wanted)
    assert {f"{r['kind']}/{r['name']}": r["id"] for r in current} == ids
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    assert len(tables) == 2
    assert all(t["PropagatingVgws"] == [{"GatewayId": ids["vpn_gateway/mesh-vgw"]}] for t in tables)

    facts = adapter.gateway(desired, current)
    assert facts["interfaces"] == [] and facts["asn"] == desired["asn"]
    assert sorted(facts["tunnel_ips"]) == sorted(t["name"] for t in desired["tunnels"])
    assert len(set(facts["tunnel_ips"].values())) == 4

    down = adapter.tunnel_status(desired, current)
    assert {s["status"] for s in down} == {"DOWN"} and all("IPSEC IS DOWN" in s["status_message"] for s in down)
    _publish_gcp(fabric, desired, facts["tunnel_ips"])
    up = adapter.tunnel_status(desired, adapter.read(desired))
    assert [(s["name"], s["status"], s["bgp_state"], s["routes_learned"]) for s in up] == [
        (t["name"], "UP", "Established", ["10.1.0.0/16"]) for t in desired["tunnels"]
    ]
    assert all(s["status_message"] == "1 BGP ROUTES" and s["local_public_ip"] for s in up)

    # A new key for tunnel 1 is an update: ModifyVpnTunnelOptions, the connection stays.
    changed = dict(desired, tunnels=[dict(t) for t in desired["tunnels"]])
    changed["tunnels"][1]["psk"] = "RotatedKey_0123456789"
    new = next(r for r in adapter.resources(changed) if r["name"] == "mesh-aws-gcp-0")
    vpn_id = ids["vpn_connection/mesh-aws-gcp-0"]
    action = {"action": "update", "kind": "vpn_connection", "name": new["name"], "spec": new["spec"], "id": vpn_id}
    assert adapter.apply(action, changed, ids) == vpn_id
    after = adapter.read(changed)
    assert _specs(after)["vpn_connection/mesh-aws-gcp-0"] == new["spec"]
    status = {s["name"]: s for s in adapter.tunnel_status(changed, after)}
    assert status["mesh-aws-gcp-1"]["status"] == "DOWN"  # the GCP side still has the old key
    assert "pre-shared key mismatch" in status["mesh-aws-gcp-1"]["status_message"]
    assert "RotatedKey_0123456789" not in repr(status)

    for resource in sorted(after, key=lambda r: adapter.KINDS.index(r["kind"]), reverse=True):
        action = {"action": "delete", "kind": resource["kind"], "name": resource["name"], "id": resource["id"]}
        action["spec"] = resource["spec"]
        assert adapter.apply(action, desired, ids) is None
    assert adapter.read(desired) == []
    fabric.publish("gcp", [], [])  # the test's own peer: what is left is AWS's
    assert fabric.snapshot()["gateways"] == 0 and fabric.snapshot()["endpoints"] == 0
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    assert not any(t.get("PropagatingVgws") for t in tables)
