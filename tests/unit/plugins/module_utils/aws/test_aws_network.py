# -*- coding: utf-8 -*-
"""AWS networks: EC2 objects <-> the portable shape, and the adapter's convergence after partial
failures (against moto in this process, when it is installed; nothing leaves the machine)."""

from __future__ import annotations

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.aws.client import Connection
from ansible_collections.multicloud.fabric.plugins.module_utils.aws.network import (
    ELB_TAG,
    NETWORK_TAG,
    ROLE_TAG,
    Networks,
    default_route_target,
    network_to_portable,
    pick_route_table,
    subnet_tags,
    subnet_to_portable,
    tag_specifications,
    unattached_gateways,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.aws.tags import tag_list, tags_to_dict
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ConflictError, NotFoundError
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Retrier, RetryPolicy
from ansible_collections.multicloud.fabric.plugins.module_utils.network.spec import plan_network

VPC = {
    "VpcId": "vpc-1",
    "CidrBlock": "10.0.0.0/16",
    "State": "available",
    "Tags": [
        {"Key": "Name", "Value": "prod"},
        {"Key": "team", "Value": "a"},
        {"Key": "aws:cloudformation:x", "Value": "y"},
    ],
}
SUBNETS = [
    {
        "SubnetId": "subnet-b",
        "VpcId": "vpc-1",
        "CidrBlock": "10.0.1.0/24",
        "AvailabilityZone": "eu-west-1b",
        "MapPublicIpOnLaunch": True,
        "Tags": [{"Key": "Name", "Value": "prod-b"}, {"Key": ROLE_TAG, "Value": "gateway"}],
    },
    {
        "SubnetId": "subnet-a",
        "VpcId": "vpc-1",
        "CidrBlock": "10.0.0.0/24",
        "AvailabilityZone": "eu-west-1a",
        "MapPublicIpOnLaunch": True,
        "Tags": [{"Key": "Name", "Value": "prod-a"}],
    },
]
MAIN_TABLE = {"RouteTableId": "rtb-main", "Associations": [{"Main": True}], "Routes": [], "Tags": []}
PUBLIC_TABLE = {
    "RouteTableId": "rtb-pub",
    "Associations": [{"Main": False, "SubnetId": "subnet-a"}, {"Main": False, "SubnetId": "subnet-b"}],
    "Routes": [
        {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local"},
        {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"},
    ],
    "Tags": [{"Key": "Name", "Value": "prod"}],
}


def test_tag_specifications_put_the_name_last_word():
    spec = tag_specifications("vpc", "prod", {"Name": "other", "team": "a", "aws:x": "no"})
    assert spec == [{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "prod"}, {"Key": "team", "Value": "a"}]}]


def test_subnet_tags_and_portable_subnet():
    assert subnet_tags({"name": "s1", "cidr": "10.0.0.0/24", "role": "gateway"}) == {
        "Name": "s1",
        ELB_TAG: "1",
        ROLE_TAG: "gateway",
    }
    assert subnet_tags({"name": "s1", "cidr": "10.0.0.0/24", "role": None})[ROLE_TAG] == "nodes"
    assert subnet_to_portable(SUBNETS[0]) == {
        "name": "prod-b",
        "id": "subnet-b",
        "cidr": "10.0.1.0/24",
        "zone": "eu-west-1b",
        "role": "gateway",
        "secondary_ranges": [],
    }
    assert subnet_to_portable(SUBNETS[1])["role"] == "nodes"  # created by someone else: untagged
    assert subnet_to_portable({"SubnetId": "subnet-x"})["name"] == "subnet-x"


def test_route_table_choice():
    assert default_route_target(PUBLIC_TABLE) == "igw-1"
    assert default_route_target(MAIN_TABLE) is None
    untagged = {**PUBLIC_TABLE, "Tags": []}
    assert pick_route_table([MAIN_TABLE, PUBLIC_TABLE], "prod") is PUBLIC_TABLE
    assert pick_route_table([MAIN_TABLE, untagged], "prod", "igw-1") is untagged
    assert pick_route_table([MAIN_TABLE, untagged], "prod", "igw-2") is None
    assert pick_route_table([{**PUBLIC_TABLE, "Associations": [{"Main": True}]}], "prod") is None


def test_unattached_gateways_of_a_network():
    def gateway(gid, tags, attached=None, state="available"):
        attachments = [{"VpcId": attached, "State": state}] if attached else []
        return {"InternetGatewayId": gid, "Tags": tag_list(tags), "Attachments": attachments}

    found = [
        gateway("igw-3", {NETWORK_TAG: "prod", "Name": "prod"}),
        gateway("igw-1", {NETWORK_TAG: "prod"}, attached="vpc-1"),
        gateway("igw-2", {"Name": "prod"}, attached="vpc-old", state="detached"),
        gateway("igw-4", {NETWORK_TAG: "dev", "Name": "prod"}),
    ]
    assert [g["InternetGatewayId"] for g in unattached_gateways(found, "prod")] == ["igw-2", "igw-3"]
    assert unattached_gateways(found, "dev")[0]["InternetGatewayId"] == "igw-4"


def test_network_to_portable():
    shape = network_to_portable(
        VPC,
        SUBNETS,
        {"InternetGatewayId": "igw-1"},
        PUBLIC_TABLE,
        region="eu-west-1",
        desired={
            "purge_tags": True,
            "provider": {"project": None, "resource_group": None, "create_resource_group": False},
        },
    )
    assert shape == {
        "cloud": "aws",
        "region": "eu-west-1",
        "name": "prod",
        "id": "vpc-1",
        "cidr": "10.0.0.0/16",
        "subnets": [subnet_to_portable(SUBNETS[1]), subnet_to_portable(SUBNETS[0])],
        "tags": {"team": "a"},
        "purge_tags": True,
        "provider": {"project": None, "resource_group": None, "create_resource_group": False},
        "status": "available",
        "extra": {"internet_gateway_id": "igw-1", "route_table_id": "rtb-pub"},
        "raw": VPC,
    }
    # a link a killed create did not make: no route table reported, so create_network completes it
    for broken in (
        {**PUBLIC_TABLE, "Associations": PUBLIC_TABLE["Associations"][:1]},
        {**PUBLIC_TABLE, "Routes": PUBLIC_TABLE["Routes"][:1]},
    ):
        shape = network_to_portable(VPC, SUBNETS, {"InternetGatewayId": "igw-1"}, broken, region="eu-west-1")
        assert shape["extra"] == {"internet_gateway_id": "igw-1", "route_table_id": None}
    private = [SUBNETS[1], {**SUBNETS[0], "MapPublicIpOnLaunch": False}]
    shape = network_to_portable(VPC, private, {"InternetGatewayId": "igw-1"}, PUBLIC_TABLE, region="eu-west-1")
    assert shape["extra"]["route_table_id"] is None
    bare = network_to_portable(VPC, [], None, None, region="eu-west-1")
    assert bare["extra"] == {"internet_gateway_id": None, "route_table_id": None}
    assert bare["purge_tags"] is False


# --------------------------------------------------------------------------- the adapter on moto


@pytest.fixture
def networks(monkeypatch):
    moto = pytest.importorskip("moto")
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with moto.mock_aws():
        retrier = Retrier("aws", policy=RetryPolicy(timeout=5, base_delay=0.01, max_delay=0.1))
        params = {"aws_access_key": "AKIAEXAMPLEKEY000001", "aws_secret_key": "example"}
        yield Networks(Connection(params, retrier, "eu-west-1", poll_interval=0.01))


def desired(name="prod"):
    return {
        "cloud": "aws",
        "region": "eu-west-1",
        "name": name,
        "cidr": "10.0.0.0/16",
        "subnets": [
            {"name": "prod-a", "cidr": "10.0.0.0/24", "zone": "eu-west-1a", "role": "nodes", "secondary_ranges": []},
            {"name": "prod-b", "cidr": "10.0.1.0/24", "zone": "eu-west-1b", "role": "gateway", "secondary_ranges": []},
        ],
        "tags": {"team": "a"},
        "purge_tags": True,
        "provider": {"project": None, "resource_group": None, "create_resource_group": False},
    }


def build(networks, want):
    networks.apply({"action": "create_network"}, want, None)
    for subnet in want["subnets"]:
        networks.apply({"action": "create_subnet", "subnet": subnet}, want, networks.read(want))
    return networks.read(want)


def test_create_read_and_delete(networks):
    want = desired()
    assert networks.zones("eu-west-1") == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    current = build(networks, want)
    assert [{k: v for k, v in s.items() if k != "id"} for s in current["subnets"]] == want["subnets"]
    assert current["tags"] == {"team": "a"}
    ec2 = networks.conn.ec2
    attribute = ec2.describe_vpc_attribute(VpcId=current["id"], Attribute="enableDnsHostnames")
    assert attribute["EnableDnsHostnames"]["Value"] is True
    networks.apply({"action": "delete_network"}, want, current)
    assert networks.read(want) is None
    assert ec2.describe_internet_gateways()["InternetGateways"] == []


def test_create_network_completes_a_half_made_network(networks):
    """A first run that died after CreateVpc: the rerun adds gateway and route table to that VPC."""
    want = desired()
    ec2 = networks.conn.ec2
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=tag_specifications("vpc", "prod"))["Vpc"][
        "VpcId"
    ]
    half = networks.read(want)
    assert half["extra"] == {"internet_gateway_id": None, "route_table_id": None}
    networks.apply({"action": "create_network"}, want, half)
    whole = networks.read(want)
    assert whole["id"] == vpc_id
    assert whole["extra"]["internet_gateway_id"] and whole["extra"]["route_table_id"]
    assert len(ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["prod"]}])["Vpcs"]) == 1
    # a route table that lost its default route gets it back
    ec2.delete_route(RouteTableId=whole["extra"]["route_table_id"], DestinationCidrBlock="0.0.0.0/0")
    networks.apply({"action": "create_network"}, want, whole)
    table = ec2.describe_route_tables(RouteTableIds=[whole["extra"]["route_table_id"]])["RouteTables"][0]
    assert default_route_target(table) == whole["extra"]["internet_gateway_id"]
    assert networks.read(want) == whole


def test_delete_network_finishes_after_a_partial_delete(networks):
    want = desired()
    current = build(networks, want)
    ec2 = networks.conn.ec2
    # a first run got as far as one subnet and the gateway
    networks.apply({"action": "delete_subnet", "subnet": current["subnets"][0]}, want, current)
    igw = current["extra"]["internet_gateway_id"]
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=current["id"])
    ec2.delete_internet_gateway(InternetGatewayId=igw)
    networks.apply({"action": "delete_network"}, want, current)
    assert networks.read(want) is None
    networks.apply({"action": "delete_network"}, want, current)  # stale current, nothing left: fine


def test_update_tags_and_list(networks):
    want = desired()
    build(networks, want)
    networks.apply({"action": "update_tags", "set": {"env": "prod"}, "remove": ["team", "Name"]}, want, None)
    current = networks.read(want)
    assert current["tags"] == {"env": "prod"} and current["name"] == "prod"
    other = desired("dev")
    networks.apply({"action": "create_network"}, {**other, "cidr": "10.1.0.0/16"}, None)
    assert [n["name"] for n in networks.list("eu-west-1")] == ["dev", "prod"]


def test_two_vpcs_with_one_name_is_a_conflict(networks):
    want = desired()
    ec2 = networks.conn.ec2
    for cidr in ("10.0.0.0/16", "10.1.0.0/16"):
        ec2.create_vpc(CidrBlock=cidr, TagSpecifications=tag_specifications("vpc", "prod"))
    with pytest.raises(ConflictError) as info:
        networks.read(want)
    assert (info.value.cloud, info.value.resource, info.value.call) == ("aws", "vpc prod", "DescribeVpcs")


def test_create_subnet_in_a_missing_vpc_is_not_found(networks):
    want = desired()
    with pytest.raises(NotFoundError):
        networks.apply({"action": "create_subnet", "subnet": want["subnets"][0]}, want, None)


# --------------------------------------------------------------------------- interrupted creates


class Killed(BaseException):
    """The run dies here: no ``except Exception`` catches it, nothing after it runs."""


def kill_after(networks, monkeypatch, operation, nth=1):
    """Make ``networks`` die right after the ``nth`` successful ``operation`` call."""
    real = networks.conn.api
    seen = []

    def api(service, op, params=None, **kwargs):
        answer = real(service, op, params, **kwargs)
        if op == operation:
            seen.append(op)
            if len(seen) == nth:
                monkeypatch.setattr(networks.conn, "api", real)
                raise Killed(op)
        return answer

    monkeypatch.setattr(networks.conn, "api", api)


def converge(networks, want):
    """What ``mc_network`` does: read, plan, apply every action, read again."""
    current = networks.read(want)
    for action in plan_network(current, want):
        networks.apply(action, want, current)
    return networks.read(want)


def snapshot(ec2):
    """Every VPC, gateway, route table and subnet of the region, by id."""
    return {
        "vpcs": {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]},
        "gateways": {g["InternetGatewayId"] for g in ec2.describe_internet_gateways()["InternetGateways"]},
        "tables": {t["RouteTableId"] for t in ec2.describe_route_tables()["RouteTables"]},
        "subnets": {s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]},
    }


# Every create of the AWS network and the call that links it, in the order a run makes them.
TWO_STEP_CALLS = [
    ("CreateVpc", 1),  # then ModifyVpcAttribute (DNS)
    ("CreateInternetGateway", 1),  # then AttachInternetGateway
    ("AttachInternetGateway", 1),  # then CreateRouteTable
    ("CreateRouteTable", 1),  # then CreateRoute 0.0.0.0/0
    ("CreateSubnet", 1),  # then ModifySubnetAttribute (public IPs)
    ("ModifySubnetAttribute", 2),  # then AssociateRouteTable (second subnet)
    ("CreateSubnet", 2),
]


@pytest.mark.parametrize(("operation", "nth"), TWO_STEP_CALLS)
def test_a_run_killed_between_two_calls_converges_on_rerun_without_strays(networks, monkeypatch, operation, nth):
    want = desired()
    ec2 = networks.conn.ec2
    before = snapshot(ec2)
    kill_after(networks, monkeypatch, operation, nth)
    with pytest.raises(Killed):
        converge(networks, want)
    whole = converge(networks, want)
    assert plan_network(networks.read(want), want) == []  # the rerun finished the job
    made = {kind: ids - before[kind] for kind, ids in snapshot(ec2).items()}
    extra = whole["extra"]
    assert made["vpcs"] == {whole["id"]}
    assert made["gateways"] == {extra["internet_gateway_id"]}  # the one a killed run made is reused
    assert len(made["tables"]) == 2  # the VPC's main table and the public one
    assert extra["route_table_id"] in made["tables"]
    assert made["subnets"] == {s["id"] for s in whole["subnets"]}
    table = ec2.describe_route_tables(RouteTableIds=[extra["route_table_id"]])["RouteTables"][0]
    assert default_route_target(table) == extra["internet_gateway_id"]
    assert {a.get("SubnetId") for a in table["Associations"]} == made["subnets"]
    assert all(s["MapPublicIpOnLaunch"] for s in ec2.describe_subnets(SubnetIds=sorted(made["subnets"]))["Subnets"])
    attribute = ec2.describe_vpc_attribute(VpcId=whole["id"], Attribute="enableDnsHostnames")
    assert attribute["EnableDnsHostnames"]["Value"] is True
    # and the teardown leaves nothing of it
    networks.apply({"action": "delete_network"}, want, whole)
    assert snapshot(ec2) == before


def test_a_gateway_left_unattached_is_deleted_with_the_network(networks, monkeypatch):
    """A run killed after CreateInternetGateway, then the network deleted: no gateway stays."""
    want = desired()
    ec2 = networks.conn.ec2
    before = snapshot(ec2)
    kill_after(networks, monkeypatch, "CreateInternetGateway")
    with pytest.raises(Killed):
        converge(networks, want)
    networks.apply({"action": "delete_network"}, want, networks.read(want))
    assert snapshot(ec2) == before


def test_new_gateways_and_route_tables_carry_the_network_tag(networks):
    want = desired()
    current = build(networks, want)
    ec2 = networks.conn.ec2
    extra = current["extra"]
    gateway = ec2.describe_internet_gateways(InternetGatewayIds=[extra["internet_gateway_id"]])["InternetGateways"][0]
    table = ec2.describe_route_tables(RouteTableIds=[extra["route_table_id"]])["RouteTables"][0]
    for piece in (gateway, table):
        assert tags_to_dict(piece["Tags"]) == {"Name": "prod", NETWORK_TAG: "prod"}
