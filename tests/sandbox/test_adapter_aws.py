"""The AWS adapter (module_utils/aws) against the real sandbox, through the adapter only.

A network with two public subnets, then an EKS cluster on it with a 3-node pool that becomes a
real control plane with 3 Ready nodes (reached with the adapter's own EKS token), then scaling,
a one-minor upgrade of the control plane and the pool, a second pool added and removed, tags, and
deletion of everything. Errors come back as typed FabricErrors naming cloud, resource and call.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from kubernetes import client as k8s
from support import wait_until

from ansible_collections.multicloud.fabric.plugins.module_utils.aws.client import Connection
from ansible_collections.multicloud.fabric.plugins.module_utils.aws.cluster import Clusters
from ansible_collections.multicloud.fabric.plugins.module_utils.aws.network import Networks
from ansible_collections.multicloud.fabric.plugins.module_utils.cluster.spec import plan_cluster
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    ConflictError,
    FabricError,
    InvalidRequestError,
    NotFoundError,
    ValidationError,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Deadline, Retrier, RetryPolicy
from ansible_collections.multicloud.fabric.plugins.module_utils.network.spec import plan_network

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/eks-cluster"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eks-node"
POLL = 0.2


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def conn(sandbox):
    aws = sandbox["endpoints"]["aws"]
    params = {
        "aws_access_key": aws["access_key"],
        "aws_secret_key": aws["secret_key"],
        "aws_session_token": None,
        "aws_profile": None,
        "aws_endpoint_url": aws["endpoint_url"],
        "aws_ca_bundle": None,
    }
    retrier = Retrier("aws", policy=RetryPolicy(timeout=30, base_delay=0.1, max_delay=1.0))
    return Connection(params, retrier, REGION, poll_interval=POLL)


@pytest.fixture(scope="module")
def networks(conn):
    return Networks(conn)


@pytest.fixture(scope="module")
def clusters(conn):
    return Clusters(conn)


def desired_network(name, zones, cidr="10.20.0.0/16"):
    prefix = cidr.rsplit(".", 2)[0]
    return {
        "cloud": "aws",
        "region": REGION,
        "name": name,
        "cidr": cidr,
        "subnets": [
            {"name": f"{name}-{i}", "cidr": f"{prefix}.{i}.0/24", "zone": zone, "role": "nodes", "secondary_ranges": []}
            for i, zone in enumerate(zones[:2])
        ],
        "tags": {"team": "platform", "env": "test"},
        "purge_tags": True,
        "provider": {"project": None, "resource_group": None, "create_resource_group": False},
    }


def create_network(networks, desired):
    networks.apply({"action": "create_network"}, desired, None)
    current = networks.read(desired)
    for subnet in desired["subnets"]:
        networks.apply({"action": "create_subnet", "subnet": subnet}, desired, current)
    return networks.read(desired)


def delete_network(networks, desired):
    networks.apply({"action": "delete_network"}, desired, networks.read(desired))
    assert networks.read(desired) is None


def test_network_lifecycle_round_trips_the_portable_shape(networks, conn):
    zones = networks.zones(REGION)
    assert zones == sorted(zones) and len(zones) >= 2
    desired = desired_network(unique("net"), zones)
    assert networks.read(desired) is None
    current = create_network(networks, desired)
    try:
        assert current["id"].startswith("vpc-")
        assert current["status"] == "available"
        assert current["extra"]["internet_gateway_id"].startswith("igw-")
        assert current["extra"]["route_table_id"].startswith("rtb-")
        for key in ("cloud", "region", "name", "cidr", "tags", "purge_tags", "provider"):
            assert current[key] == desired[key], key
        assert [{k: v for k, v in s.items() if k != "id"} for s in current["subnets"]] == desired["subnets"]
        (listed,) = [n for n in networks.list(REGION) if n["id"] == current["id"]]
        assert listed == {**current, "purge_tags": False}  # list() has no desired state to echo

        # the pieces are really wired up: public subnets on the route table to the gateway
        ec2 = conn.ec2
        vpc_id = current["id"]
        table = ec2.describe_route_tables(RouteTableIds=[current["extra"]["route_table_id"]])["RouteTables"][0]
        assert {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": current["extra"]["internet_gateway_id"]}.items() <= {
            k: v for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0" for k, v in r.items()
        }.items()
        assert sorted(a["SubnetId"] for a in table["Associations"] if not a.get("Main")) == sorted(
            s["id"] for s in current["subnets"]
        )
        subnets = ec2.describe_subnets(SubnetIds=[s["id"] for s in current["subnets"]])["Subnets"]
        assert all(s["MapPublicIpOnLaunch"] for s in subnets)
        assert all({"Key": "kubernetes.io/role/elb", "Value": "1"} in s["Tags"] for s in subnets)
        for attribute in ("enableDnsSupport", "enableDnsHostnames"):
            answer = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=attribute)
            assert answer[attribute[0].upper() + attribute[1:]]["Value"] is True

        # a rerun of create_network on the existing VPC adds nothing
        networks.apply({"action": "create_network"}, desired, current)
        assert networks.read(desired) == current

        # tags: set one, remove one; Name never appears nor goes
        networks.apply(
            {"action": "update_tags", "set": {"owner": "sre"}, "remove": ["env", "Name"], "tags": {}}, desired, current
        )
        assert networks.read(desired)["tags"] == {"team": "platform", "owner": "sre"}

        gone = current["subnets"][1]
        networks.apply({"action": "delete_subnet", "subnet": gone}, desired, current)
        assert [s["name"] for s in networks.read(desired)["subnets"]] == [current["subnets"][0]["name"]]
        # deleting what is gone already is fine (a rerun after a partial failure)
        networks.apply({"action": "delete_subnet", "subnet": gone}, desired, current)
    finally:
        delete_network(networks, desired)
    networks.apply({"action": "delete_network"}, desired, None)  # nothing left: a no-op


def kube_api(cluster, user, directory):
    ca = directory / f"{cluster['name']}-ca.crt"
    ca.write_bytes(base64.b64decode(cluster["ca_data"]))
    config = k8s.Configuration()
    config.host = cluster["endpoint"]
    config.ssl_ca_cert = str(ca)
    config.api_key = {"authorization": f"Bearer {user['token']}"}
    config.retries = 0
    return k8s.ApiClient(config)


def ready_nodes(api, pool=None):
    nodes = k8s.CoreV1Api(api).list_node().items
    return [
        n
        for n in nodes
        if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
        and (pool is None or n.metadata.labels.get("eks.amazonaws.com/nodegroup") == pool)
    ]


def pool(name, count, **extra):
    return {
        "name": name,
        "count": count,
        "min_count": None,
        "max_count": None,
        "machine_type": "m5.large",
        "labels": {},
        "taints": [],
        "spot": False,
        "disk_size_gb": 50,
        **extra,
    }


def test_eks_cluster_lifecycle(networks, clusters, tmp_path):
    net = desired_network(unique("eksnet"), networks.zones(REGION), cidr="10.30.0.0/16")
    network = create_network(networks, net)
    name = unique("eks")
    desired = {
        "cloud": "aws",
        "region": REGION,
        "name": name,
        "kubernetes_version": "1.32",
        "endpoint_access": "public",
        "tags": {"team": "platform"},
        "purge_tags": True,
        "node_pools": [pool("workers", 3, labels={"tier": "app"})],
        "network": {
            "id": network["id"],
            "subnet_ids": [s["id"] for s in network["subnets"]],
            "pods_range": None,
            "services_range": None,
        },
        "provider": {"role_arn": ROLE, "node_role_arn": NODE_ROLE, "security_group_ids": []},
    }

    def run(action, current=None):
        clusters.apply(action, desired, current)
        return clusters.wait(desired, action, Deadline(120))

    try:
        assert clusters.read(desired) is None
        # The control plane, then its node group once it is ACTIVE: two actions of the plan.
        actions = plan_cluster(None, desired)
        assert [a["action"] for a in actions] == ["create_cluster", "create_node_pool"]
        current = run(actions[0])
        assert (current["status"], current["node_pools"]) == ("ACTIVE", [])
        current = run(actions[1], current)
        assert current["status"] == "ACTIVE" and current["provider_status"] == "ACTIVE"
        assert current["id"].startswith(f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{name}")
        assert current["kubernetes_version"] == "1.32"
        assert current["endpoint"].startswith("https://")
        assert current["tags"] == {"team": "platform"}
        assert current["network"]["id"] == network["id"]
        assert current["network"]["subnet_ids"] == sorted(desired["network"]["subnet_ids"])
        assert current["provider"] == desired["provider"]
        assert current["endpoint_access"] == "public"
        (workers,) = current["node_pools"]
        assert {k: workers[k] for k in desired["node_pools"][0]} == desired["node_pools"][0]
        assert (workers["version"], workers["status"]) == ("1.32", "ACTIVE")
        assert current == clusters.read(desired)
        assert [c["name"] for c in clusters.list(REGION) if c["name"] == name] == [name]

        api = kube_api(current, clusters.kube_user(current), tmp_path)
        nodes = wait_until(lambda: len(ready_nodes(api)) == 3 and ready_nodes(api), 60, "3 Ready nodes")
        assert all(n.metadata.labels["tier"] == "app" for n in nodes)
        exec_user = clusters.kube_user(current, mode="exec")["exec"]
        assert exec_user["args"] == ["--region", REGION, "eks", "get-token", "--cluster-name", name, "--output", "json"]

        # scale and relabel the pool
        current = run(
            {"action": "update_node_pool", "pool": "workers", "changes": {"count": 4, "labels": {"tier": "web"}}},
            current,
        )
        (workers,) = current["node_pools"]
        assert (workers["count"], workers["labels"], workers["min_count"]) == (4, {"tier": "web"}, None)
        wait_until(lambda: len(ready_nodes(api)) == 4, 60, "4 Ready nodes")

        # one minor up: control plane first, then the pool (EKS's order)
        current = run({"action": "upgrade_control_plane", "version": "1.33"}, current)
        assert current["kubernetes_version"] == "1.33"
        current = run({"action": "upgrade_node_pool", "pool": "workers", "version": "1.33"}, current)
        assert current["node_pools"][0]["version"] == "1.33"

        # add a spot pool with a taint, then remove it
        extra = pool(
            "batch",
            1,
            spot=True,
            min_count=1,
            max_count=3,
            taints=[{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}],
        )
        current = run({"action": "create_node_pool", "pool": extra}, current)
        batch = next(p for p in current["node_pools"] if p["name"] == "batch")
        assert {k: batch[k] for k in extra} == extra
        assert batch["version"] == "1.33"
        wait_until(lambda: len(ready_nodes(api, "batch")) == 1, 60, "the batch node")
        current = run({"action": "delete_node_pool", "pool": "batch"}, current)
        assert [p["name"] for p in current["node_pools"]] == ["workers"]

        # tags
        current = run({"action": "update_tags", "set": {"owner": "sre"}, "remove": ["team"], "tags": {}}, current)
        assert current["tags"] == {"owner": "sre"}
    finally:
        action = {"action": "delete_cluster"}
        clusters.apply(action, desired, clusters.read(desired))
        assert clusters.wait(desired, action, Deadline(120)) is None
        assert clusters.read(desired) is None
        delete_network(networks, net)


def test_errors_are_typed_and_name_cloud_resource_and_call(networks, clusters, conn):
    name = unique("bad")
    desired = {
        "cloud": "aws",
        "region": REGION,
        "name": name,
        "kubernetes_version": "1.33",
        "endpoint_access": "private",
        "tags": None,
        "node_pools": [],
        "network": {"id": None, "subnet_ids": ["subnet-00000000", "subnet-11111111"]},
        "provider": {"aws": {"role_arn": ROLE, "node_role_arn": None, "security_group_ids": []}},
    }
    with pytest.raises(InvalidRequestError) as info:
        clusters.apply({"action": "create_cluster"}, desired, None)
    error = info.value
    assert (error.cloud, error.resource, error.call) == ("aws", f"eks cluster {name}", "CreateCluster")
    assert error.code == "InvalidParameterException" and error.status == 400
    assert "aws: eks cluster" in str(error) and "CreateCluster failed" in str(error)

    with pytest.raises(NotFoundError) as info:
        clusters.apply({"action": "upgrade_control_plane", "version": "1.34"}, desired, None)
    assert (info.value.resource, info.value.call) == (f"eks cluster {name}", "UpdateClusterVersion")
    assert clusters.read(desired) is None

    missing_role = {**desired, "provider": {"aws": {"role_arn": None}}}
    with pytest.raises(ValidationError) as info:
        clusters.apply({"action": "create_cluster"}, missing_role, None)
    assert info.value.field == "aws.role_arn"

    # a second network with the same name is a conflict, not a guess
    net = desired_network(unique("dup"), networks.zones(REGION), cidr="10.40.0.0/16")
    networks.apply({"action": "create_network"}, net, None)
    try:
        conn.ec2.create_vpc(
            CidrBlock="10.41.0.0/16",
            TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": net["name"]}]}],
        )
        with pytest.raises(ConflictError) as info:
            networks.read(net)
        assert info.value.resource == f"vpc {net['name']}" and "2 VPCs" in info.value.message
    finally:
        for vpc in conn.ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [net["name"]]}])["Vpcs"]:
            networks.apply({"action": "delete_network"}, net, {"id": vpc["VpcId"], "name": net["name"]})
    assert not conn.ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [net["name"]]}])["Vpcs"]

    with pytest.raises(FabricError) as info:
        Connection({}, conn.retrier, None).ec2  # noqa: B018 - building the client is the point
    assert isinstance(info.value, ValidationError) and info.value.field == "region"


class Killed(BaseException):
    """The run dies here: no ``except Exception`` catches it, nothing after it runs."""


def ec2_holdings(sandbox, name):
    """What ``mc-sandbox status`` lists of the network ``name`` (by the pieces' Name tags)."""
    status = json.loads(sandbox["cli"]("status", "--json").stdout)
    pieces = status["clouds"]["aws"]["ec2"].get(REGION, {})
    held = {
        kind: sorted(i["id"] for i in items if (i.get("name") or "").startswith(name)) for kind, items in pieces.items()
    }
    return {kind: ids for kind, ids in held.items() if ids}


@pytest.mark.parametrize("operation", ["CreateInternetGateway", "CreateRouteTable", "CreateSubnet"])
def test_a_run_killed_between_two_calls_leaves_no_stray_in_the_sandbox(networks, conn, sandbox, operation, monkeypatch):
    name = unique("killed")
    desired = desired_network(name, networks.zones(REGION), cidr="10.40.0.0/16")
    real = conn.api

    def api(service, op, params=None, **kwargs):
        answer = real(service, op, params, **kwargs)
        if op == operation:
            monkeypatch.setattr(conn, "api", real)
            raise Killed(op)
        return answer

    monkeypatch.setattr(conn, "api", api)
    with pytest.raises(Killed):
        create_network(networks, desired)
    current = networks.read(desired)
    for action in plan_network(current, desired):
        networks.apply(action, desired, current)
    whole = networks.read(desired)
    assert plan_network(whole, desired) == []
    held = ec2_holdings(sandbox, name)
    assert held == {
        "vpcs": [whole["id"]],
        "subnets": sorted(s["id"] for s in whole["subnets"]),
        "internet_gateways": [whole["extra"]["internet_gateway_id"]],
        "route_tables": [whole["extra"]["route_table_id"]],
    }
    networks.apply({"action": "delete_network"}, desired, whole)
    assert ec2_holdings(sandbox, name) == {}
