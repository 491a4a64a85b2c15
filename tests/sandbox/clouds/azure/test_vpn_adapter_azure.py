"""The collection's Azure VPN adapter (``azure/vpn.py``) against an in-process sandbox Azure whose VPN
fabric runs in API mode: the gateway phase, the peerings, idempotency, facts, tunnel status read from
the cloud, a key rotation through the sharedkey API, and teardown in reverse order."""

from __future__ import annotations

import pathlib
import random
import sys

import pytest
from arm_schema import SCHEMAS, validate_request
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from mc_sandbox.clouds.azure.server import AzureCloud
from mc_sandbox.core.faults import FaultManager, FaultRule
from mc_sandbox.core.runtime import CloudContext
from mc_sandbox.k8s.pki import sandbox_tls
from mc_sandbox.net import fabric as vpnfabric
from support import FakeRuntime

from ansible_collections.multicloud.fabric.plugins.module_utils.azure import vpn as azure_vpn
from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.clouds import vpn_gateways
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError
from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.spec import plan_mesh, tunnels_of

# The adapter suite's description of each cloud (how a module connects) lives one directory up.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from adapters import Azure

TIME_FACTOR = 0.0002
NRP = "arm-schema-2025-07-01-Microsoft.Network.NRP.json"
GROUP = "rg-mesh"
SEED = "adapter-test-seed-0123456789"
GATEWAYS = [
    {"cloud": "aws", "region": "us-east-1", "name": "f-aws", "cidrs": ["10.0.0.0/16"]},
    {"cloud": "azure", "region": "westeurope", "name": "f-azure", "cidrs": ["10.2.0.0/16"]},
]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    directory = tmp_path_factory.mktemp("azure-vpn-adapter")
    tls = sandbox_tls(directory / "pki")
    faults = FaultManager(rng=random.Random(20240601))  # seeded: the same faults every run
    fabric = vpnfabric.VpnFabric(directory / "fabric", faults, use_dataplane=False)
    fabric.start()
    context = CloudContext(faults, FakeRuntime(), TIME_FACTOR, directory / "state", tls, vpn=fabric)
    cloud = AzureCloud(context, retry_after=0)
    endpoints = cloud.start()
    try:
        yield {"cloud": cloud, "fabric": fabric, "faults": faults, "azure": Azure({"endpoints": {"azure": endpoints}})}
    finally:
        cloud.stop()
        fabric.stop()


def sdk(env, cls):
    azure = env["azure"]
    conn = azure.connect()
    return cls(
        conn.credential,
        azure.endpoints["subscription_id"],
        base_url=azure.endpoints["base_url"],
        connection_verify=azure.endpoints["ca_bundle"],
        polling_interval=0.02,
    )


def mesh_desired(env, tunnels=True, rotations=None):
    mesh = plan_mesh(GATEWAYS, SEED, rotations=rotations)
    planned = []
    if tunnels:
        for tunnel in tunnels_of(mesh, "azure"):
            address = env["fabric"].allocate(f"aws/{tunnel['name']}")
            planned.append(dict(tunnel, remote=dict(tunnel["remote"], public_ip=address)))
    return {
        "cloud": "azure",
        "region": "westeurope",
        "name": "fabric",
        "network": {"vnet": "hub", "resource_group": GROUP, "gateway_subnet_cidr": "10.2.255.0/27"},
        "asn": mesh["gateways"]["azure"]["asn"],
        "cidrs": mesh["gateways"]["azure"]["cidrs"],
        "tags": {"mesh": "fabric"},
        "tunnels": planned,
    }


def plan(adapter, desired, kinds):
    """What the generic planner does, for one phase: diff ``resources()`` against ``read()`` key by key."""
    current = {f"{r['kind']}/{r['name']}": r for r in adapter.read(desired)}
    actions = []
    for resource in adapter.resources(desired):
        if resource["kind"] not in kinds:
            continue
        key = f"{resource['kind']}/{resource['name']}"
        found = current.get(key)
        if found is None:
            actions.append({"action": "create", **resource})
            continue
        changes = {
            k: v
            for k, v in resource["spec"].items()
            if not (k in adapter.WRITE_ONLY and k not in found["spec"]) and found["spec"].get(k) != v
        }
        if changes:
            actions.append({"action": "update", **resource, "id": found["id"], "changes": changes})
    return sorted(actions, key=lambda a: adapter.KINDS.index(a["kind"]))


def run(adapter, desired, kinds):
    ids = {f"{r['kind']}/{r['name']}": r["id"] for r in adapter.read(desired)}
    actions = plan(adapter, desired, kinds)
    for action in actions:
        ids[f"{action['kind']}/{action['name']}"] = adapter.apply(action, desired, ids)
    return actions


def publish_aws(env, desired, facts, psks=None):
    """AWS's ends of the planned tunnels: its outside address to the Azure instance each was planned for."""
    ends = []
    for tunnel in desired["tunnels"]:
        prefix = tunnel["inside_cidr"].split("/")[1]
        ends.append(
            {
                "key": f"aws/{tunnel['name']}",
                "gateway": "aws/us-east-1/f-aws",
                "local_public": tunnel["remote"]["public_ip"],
                "remote_public": facts["interfaces"][tunnel["local"]["interface"]],
                "psk": (psks or {}).get(tunnel["name"], tunnel["psk"]),
                "ike_version": 2,
                "inside": f"{tunnel['remote']['bgp_ip']}/{prefix}",
                "remote_inside": tunnel["local"]["bgp_ip"],
                "peer_asn": desired["asn"],
            }
        )
    gateway = {
        "key": "aws/us-east-1/f-aws",
        "cloud": "aws",
        "region": "us-east-1",
        "asn": 64512,
        "cidrs": ["10.0.0.0/16"],
    }
    env["fabric"].publish("aws", [gateway], ends)


def test_mesh_lifecycle_through_the_adapter(env, monkeypatch):
    for kind in ("virtualNetworkGateways", "localNetworkGateways", "connections"):
        monkeypatch.setitem(SCHEMAS, kind, (NRP, kind))
    env["cloud"].reset()
    sdk(env, ResourceManagementClient).resource_groups.create_or_update(GROUP, {"location": "westeurope"})
    sdk(env, NetworkManagementClient).virtual_networks.begin_create_or_update(
        GROUP,
        "hub",
        {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.2.0.0/16"]}}},
    ).result()
    conn = env["azure"].connect()
    adapter = vpn_gateways("azure", conn)
    assert isinstance(adapter, azure_vpn.VpnGateways)

    # The gateway phase: subnet, public IPs, gateway; a second pass finds nothing to do.
    gateway_phase = mesh_desired(env, tunnels=False)
    assert adapter.read(gateway_phase) == []
    actions = run(adapter, gateway_phase, adapter.GATEWAY_KINDS)
    assert [(a["action"], a["kind"]) for a in actions] == [
        ("create", "gateway_subnet"),
        ("create", "public_ip"),
        ("create", "public_ip"),
        ("create", "vpn_gateway"),
    ]
    assert plan(adapter, gateway_phase, adapter.KINDS) == []
    current = adapter.read(gateway_phase)
    facts = adapter.gateway(gateway_phase, current)
    assert facts["tunnel_ips"] == {} and facts["asn"] == gateway_phase["asn"]
    assert len(facts["interfaces"]) == 2 and all(ip.startswith("198.1") for ip in facts["interfaces"])
    assert {r["status"] for r in current} == {"Succeeded"}

    # The peerings: the gateway gets its APIPA addresses, four local network gateways and connections.
    desired = mesh_desired(env)
    actions = run(adapter, desired, adapter.KINDS)
    assert [(a["action"], a["kind"]) for a in actions] == [
        ("update", "vpn_gateway"),
        *[("create", "local_network_gateway")] * 4,
        *[("create", "connection")] * 4,
    ]
    assert set(actions[0]["changes"]) == {"bgp_addresses"}
    assert plan(adapter, desired, adapter.KINDS) == []
    current = adapter.read(desired)
    # Read back, every spec is the desired one but for the keys never returned (the key, the range).
    hidden = adapter.WRITE_ONLY
    wanted = {f"{r['kind']}/{r['name']}": r["spec"] for r in adapter.resources(desired)}
    assert {
        f"{r['kind']}/{r['name']}": {k: v for k, v in r["spec"].items() if k in wanted[f"{r['kind']}/{r['name']}"]}
        for r in current
    } == {k: {n: v for n, v in s.items() if n not in hidden} for k, s in wanted.items()}
    assert not [r for r in current if hidden & set(r["spec"])]
    assert adapter.gateway(desired, current)["interfaces"] == facts["interfaces"]

    # Nothing answers yet: every tunnel DOWN, with the cloud's words.
    statuses = adapter.tunnel_status(desired, current)
    assert [s["name"] for s in statuses] == [t["name"] for t in desired["tunnels"]]
    assert {s["status"] for s in statuses} == {"DOWN"}
    assert all("NotConnected" in s["status_message"] for s in statuses)

    publish_aws(env, desired, facts)
    statuses = adapter.tunnel_status(desired, adapter.read(desired))
    assert {(s["status"], s["bgp_state"]) for s in statuses} == {("UP", "Established")}
    assert all(s["routes_learned"] == ["10.0.0.0/16"] for s in statuses)
    assert [s["local_public_ip"] for s in statuses] == [
        facts["interfaces"][t["local"]["interface"]] for t in desired["tunnels"]
    ]
    assert [s["remote_public_ip"] for s in statuses] == [t["remote"]["public_ip"] for t in desired["tunnels"]]

    # Every body the adapter sent is valid by the ARM schema of its resource type.
    sent = [r for r in env["cloud"].received if r["method"] == "PUT" and r["path"].split("/")[-2] in SCHEMAS]
    assert {r["path"].split("/")[-2] for r in sent} == {
        "subnets",
        "publicIPAddresses",
        "virtualNetworkGateways",
        "localNetworkGateways",
        "connections",
        "virtualNetworks",
    }
    for received in sent:
        validate_request(received["path"], received["body"])

    # A key rotation is four sharedkey updates, nothing else; the tunnels follow the peer.
    env["cloud"].received.clear()
    rotated = mesh_desired(env, rotations={"aws-azure": 1})
    actions = run(adapter, rotated, adapter.KINDS)
    assert [(a["action"], a["kind"], set(a["changes"])) for a in actions] == [
        ("update", "connection", {"psk_fingerprint"})
    ] * 4
    puts = [r["path"] for r in env["cloud"].received if r["method"] == "PUT"]
    assert len(puts) == 4 and all(p.endswith("/sharedkey") for p in puts)
    assert plan(adapter, rotated, adapter.KINDS) == []
    assert {s["status"] for s in adapter.tunnel_status(rotated, adapter.read(rotated))} == {"DOWN"}
    publish_aws(env, rotated, facts)
    assert {s["status"] for s in adapter.tunnel_status(rotated, adapter.read(rotated))} == {"UP"}
    # No key is ever read back: every one of them is absent from what read() returns.
    seen = repr(adapter.read(rotated))
    assert not [t["name"] for t in desired["tunnels"] + rotated["tunnels"] if t["psk"] in seen]

    # Teardown in reverse creation order leaves nothing of the mesh.
    current = adapter.read(rotated)
    for resource in sorted(current, key=lambda r: adapter.KINDS.index(r["kind"]), reverse=True):
        assert adapter.apply({"action": "delete", **resource}, rotated, {}) is None
    assert adapter.read(rotated) == []
    env["fabric"].publish("aws", [], [])
    assert env["fabric"].snapshot()["endpoints"] == 0


def test_an_existing_gateway_subnet_is_used_as_is(env):
    env["cloud"].reset()
    sdk(env, ResourceManagementClient).resource_groups.create_or_update(GROUP, {"location": "westeurope"})
    body = {
        "location": "westeurope",
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.2.0.0/16"]},
            "subnets": [{"name": "GatewaySubnet", "properties": {"addressPrefix": "10.2.254.0/26"}}],
        },
    }
    sdk(env, NetworkManagementClient).virtual_networks.begin_create_or_update(GROUP, "hub", body).result()
    adapter = vpn_gateways("azure", env["azure"].connect())
    desired = mesh_desired(env, tunnels=False)
    assert plan(adapter, desired, adapter.GATEWAY_KINDS)[0]["kind"] == "public_ip"  # the subnet is there
    subnet = next(r for r in adapter.read(desired) if r["kind"] == "gateway_subnet")
    assert subnet["id"].endswith("/virtualNetworks/hub/subnets/GatewaySubnet")
    # No subnet and no range: the error names the field before anything is written.
    env["cloud"].reset()
    sdk(env, ResourceManagementClient).resource_groups.create_or_update(GROUP, {"location": "westeurope"})
    del body["properties"]["subnets"]
    sdk(env, NetworkManagementClient).virtual_networks.begin_create_or_update(GROUP, "hub", body).result()
    desired["network"].pop("gateway_subnet_cidr")
    env["cloud"].received.clear()
    with pytest.raises(ValidationError) as info:
        run(adapter, desired, adapter.GATEWAY_KINDS)
    assert info.value.field == "network.gateway_subnet_cidr"
    assert list(env["cloud"].received) == []


def test_throttled_writes_are_retried_and_refused_ones_name_the_call(env):
    env["cloud"].reset()
    env["faults"].clear()
    sdk(env, ResourceManagementClient).resource_groups.create_or_update(GROUP, {"location": "westeurope"})
    body = {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.2.0.0/16"]}}}
    net = sdk(env, NetworkManagementClient)
    net.virtual_networks.begin_create_or_update(GROUP, "hub", body).result()
    # Another mesh's address in the same group is not this mesh's.
    other = {
        "location": "westeurope",
        "sku": {"name": "Standard"},
        "properties": {"publicIPAllocationMethod": "Static"},
    }
    net.public_ip_addresses.begin_create_or_update(GROUP, "fabric-2-gw-ip0", other).result()
    adapter = vpn_gateways("azure", env["azure"].connect())
    desired = mesh_desired(env, tunnels=False)
    rule = FaultRule(
        cloud="azure", operation="Microsoft.Network/publicIPAddresses/write", error_rate=0.5, retry_after=0
    )
    env["faults"].add_rule(rule)
    try:
        run(adapter, desired, ("gateway_subnet", "public_ip"))
        injected = env["faults"].snapshot()["injected"]["azure"]["Microsoft.Network/publicIPAddresses/write"]
    finally:
        env["faults"].clear()
    assert injected["429"] > 0
    assert [r["kind"] for r in adapter.read(desired)] == ["gateway_subnet", "public_ip", "public_ip"]
    # The cloud's own refusal (an ASN Azure keeps for itself) fails at once, naming cloud, call and resource.
    ids = {f"{r['kind']}/{r['name']}": r["id"] for r in adapter.read(desired)}
    gateway = next(r for r in adapter.resources(desired) if r["kind"] == "vpn_gateway")
    gateway["spec"]["asn"] = 65517
    with pytest.raises(E.InvalidRequestError) as info:
        adapter.apply({"action": "create", **gateway}, desired, ids)
    error = info.value
    assert (error.cloud, error.call, error.status, error.code) == (
        "azure",
        "VirtualNetworkGateways_CreateOrUpdate",
        400,
        "BgpAsnReserved",
    )
    assert "fabric-gw" in error.resource and "65517" in str(error)
    assert [r["kind"] for r in adapter.read(desired)] == ["gateway_subnet", "public_ip", "public_ip"]
    # The gateway's 30-45 minutes outlast a throttled operation status: the adapter waits on the gateway.
    gateway["spec"]["asn"] = desired["asn"]
    polls = FaultRule(
        cloud="azure", operation="Microsoft.Network/locations/operations/read", error_rate=1.0, retry_after=0
    )
    env["faults"].add_rule(polls)
    try:
        gateway_id = adapter.apply({"action": "create", **gateway}, desired, ids)
        throttled = env["faults"].snapshot()["injected"]["azure"]["Microsoft.Network/locations/operations/read"]
    finally:
        env["faults"].clear()
    assert throttled["429"] > 0
    assert gateway_id.endswith("/virtualNetworkGateways/fabric-gw")
    assert next(r for r in adapter.read(desired) if r["kind"] == "vpn_gateway")["status"] == "Succeeded"
