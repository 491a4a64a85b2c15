"""What the adapter suite (test_adapters.py) needs to know of each cloud.

Every cloud's adapter is driven through the same lifecycle; a `Cloud` says how to connect with the
provider options a module would pass, how that cloud's portable network, cluster and node pool
look, and checks what is true of that cloud only (its ids, its raw objects, its extra calls).
"""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest
from google.oauth2 import service_account

from ansible_collections.multicloud.fabric.plugins.module_utils.aws import client as aws_client
from ansible_collections.multicloud.fabric.plugins.module_utils.aws import cluster as aws_cluster
from ansible_collections.multicloud.fabric.plugins.module_utils.aws import network as aws_network
from ansible_collections.multicloud.fabric.plugins.module_utils.azure import client as azure_client
from ansible_collections.multicloud.fabric.plugins.module_utils.azure import cluster as azure_cluster
from ansible_collections.multicloud.fabric.plugins.module_utils.azure import network as azure_network
from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.args import GCP_OPTIONS
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Retrier, RetryPolicy
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp import client as gcp_client
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp import cluster as gcp_cluster
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp import network as gcp_network

POLL = 0.2


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def pool_spec(name, count, machine_type, **extra):
    return {
        "name": name,
        "count": count,
        "min_count": None,
        "max_count": None,
        "machine_type": machine_type,
        "labels": {},
        "taints": [],
        "spot": False,
        "disk_size_gb": None,
        **extra,
    }


def status_of(sandbox, cloud):
    """What `mc-sandbox status --json` lists of one cloud."""
    return json.loads(sandbox["cli"]("status", "--json").stdout)["clouds"][cloud]


class Cloud:
    name = ""
    region = ""
    connection = networks = clusters = None
    # the provider's state of an ACTIVE cluster, and the node label naming a node's pool
    running = ""
    pool_label = ""
    # what one scale-up of the first pool changes, and how many Ready nodes follow
    scale: tuple[dict, int] = ({}, 0)
    # the keys of an added pool that come back as asked
    extra_keys: tuple[str, ...] = ()
    # Ready nodes after the extra pool was added
    extra_ready = 0
    # seconds a lifecycle may take at the sandbox's time factor (None: unbounded)
    network_seconds: float | None = None
    cluster_seconds: float | None = None
    # where a killed run may die: the Connection attribute to wrap and the call names
    kill_attribute = ""
    kill_points: tuple[str, ...] = ()
    # a delete_network of a network that is gone already does nothing
    delete_when_gone = True

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.endpoints = sandbox["endpoints"][self.name]

    def __repr__(self):
        return self.name

    def adapters(self, **changes):
        conn = self.connect(**changes)
        return conn, self.networks(conn), self.clusters(conn)

    def retrier(self, timeout=30):
        return Retrier(self.name, policy=RetryPolicy(timeout=timeout, base_delay=0.1, max_delay=1.0))

    def network_spec(self, name, cidr, subnets, tags, **provider):
        """The portable network: `provider` over the provider block of a cloud that needs none."""
        return {
            "cloud": self.name,
            "region": self.region,
            "name": name,
            "cidr": cidr,
            "subnets": [{"zone": None, "role": "nodes", "secondary_ranges": [], **subnet} for subnet in subnets],
            "tags": tags,
            "purge_tags": True,
            "provider": {"project": None, "resource_group": None, "create_resource_group": False, **provider},
        }

    def cluster_spec(self, name, pools, network, provider, version="1.32"):
        """The portable cluster: public endpoint, the pools' tags, purged."""
        return {
            "cloud": self.name,
            "region": self.region,
            "name": name,
            "kubernetes_version": version,
            "endpoint_access": "public",
            "tags": None,
            "purge_tags": True,
            "node_pools": pools,
            "network": {"id": None, "subnet_ids": [], "pods_range": None, "services_range": None, **network},
            "provider": provider,
        }

    def create_network(self, nets, desired):
        nets.apply({"action": "create_network"}, desired, None)
        for subnet in desired["subnets"]:
            nets.apply({"action": "create_subnet", "subnet": subnet}, desired, None)
        return nets.read(desired)

    def delete_network(self, conn, nets, desired):
        nets.apply({"action": "delete_network"}, desired, nets.read(desired))

    def kill_call(self, args, kwargs):
        """The call name of one wrapped Connection call."""
        return kwargs.get("call")

    # hooks: what only this cloud has; each asserts its own facts
    def check_network(self, conn, nets, desired, current):
        """Returns the subnet the lifecycle deletes, and the names that remain."""
        raise NotImplementedError

    def before_create(self, clusters, desired):
        pass

    def check_cluster(self, conn, clusters, desired, current, network):
        raise NotImplementedError

    def check_user(self, clusters, current, user):
        raise NotImplementedError

    def check_nodes(self, nodes, current):
        raise NotImplementedError

    def check_scaled(self, pool):
        pass

    def tag_change(self, desired):
        raise NotImplementedError

    def check_listed(self, clusters, desired, current):
        raise NotImplementedError

    def settle(self):
        """Waits for what a killed run left running to finish."""

    def check_killed(self, point, current):
        """What a run killed at `point` left."""

    def holdings(self, desired):
        """What the sandbox holds of a network, from `mc-sandbox status`."""
        raise NotImplementedError

    def check_holdings(self, before, after, desired, whole):
        raise NotImplementedError


class Aws(Cloud):
    name = "aws"
    region = "us-east-1"
    connection, networks, clusters = aws_client.Connection, aws_network.Networks, aws_cluster.Clusters
    running = "ACTIVE"
    pool_label = "eks.amazonaws.com/nodegroup"
    scale = ({"count": 4, "labels": {"tier": "web"}}, 4)
    extra_ready = 5
    kill_attribute = "api"
    kill_points = ("CreateInternetGateway", "CreateRouteTable", "CreateSubnet")
    account = "123456789012"

    @property
    def extra_keys(self):
        return tuple(self.extra_pool())

    def connect(self, **changes):
        params = {
            "aws_access_key": self.endpoints["access_key"],
            "aws_secret_key": self.endpoints["secret_key"],
            "aws_session_token": None,
            "aws_profile": None,
            "aws_endpoint_url": self.endpoints["endpoint_url"],
            "aws_ca_bundle": None,
            **changes,
        }
        return aws_client.Connection(params, self.retrier(), self.region, poll_interval=POLL)

    def network(self, name, octet, zones=("us-east-1a", "us-east-1b")):
        subnets = [{"name": f"{name}-{i}", "cidr": f"10.{octet}.{i}.0/24", "zone": z} for i, z in enumerate(zones)]
        return self.network_spec(name, f"10.{octet}.0.0/16", subnets, {"team": "platform", "env": "test"})

    def create_network(self, nets, desired):
        nets.apply({"action": "create_network"}, desired, None)
        current = nets.read(desired)
        for subnet in desired["subnets"]:
            nets.apply({"action": "create_subnet", "subnet": subnet}, desired, current)
        return nets.read(desired)

    def kill_call(self, args, kwargs):
        return args[1]  # api(service, operation, params)

    def pool(self, name, count, **extra):
        return pool_spec(name, count, "m5.large", **{"disk_size_gb": 50, **extra})

    def cluster(self, name, network):
        desired = self.cluster_spec(
            name,
            [self.pool("workers", 3, labels={"tier": "app"})],
            {"id": network["id"], "subnet_ids": [s["id"] for s in network["subnets"]]},
            {
                "role_arn": f"arn:aws:iam::{self.account}:role/eks-cluster",
                "node_role_arn": f"arn:aws:iam::{self.account}:role/eks-node",
                "security_group_ids": [],
            },
        )
        return {**desired, "tags": {"team": "platform"}}

    def extra_pool(self):
        taint = {"key": "dedicated", "value": "batch", "effect": "NoSchedule"}
        return self.pool("batch", 1, spot=True, min_count=1, max_count=3, taints=[taint])

    def check_network(self, conn, nets, desired, current):
        zones = nets.zones(self.region)
        assert zones == sorted(zones) and len(zones) >= 2
        assert current["id"].startswith("vpc-")
        assert current["status"] == "available"
        assert current["extra"]["internet_gateway_id"].startswith("igw-")
        assert current["extra"]["route_table_id"].startswith("rtb-")
        for key in ("cloud", "region", "name", "cidr", "tags", "purge_tags", "provider"):
            assert current[key] == desired[key], key
        assert [{k: v for k, v in s.items() if k != "id"} for s in current["subnets"]] == desired["subnets"]
        (listed,) = [n for n in nets.list(self.region) if n["id"] == current["id"]]
        assert listed == {**current, "purge_tags": False}  # list() has no desired state to echo

        # the pieces are really wired up: public subnets on the route table to the gateway
        ec2 = conn.ec2
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
            answer = ec2.describe_vpc_attribute(VpcId=current["id"], Attribute=attribute)
            assert answer[attribute[0].upper() + attribute[1:]]["Value"] is True

        # a rerun of create_network on the existing VPC adds nothing
        nets.apply({"action": "create_network"}, desired, current)
        assert nets.read(desired) == current

        # tags: set one, remove one; Name never appears nor goes
        nets.apply(
            {"action": "update_tags", "set": {"owner": "sre"}, "remove": ["env", "Name"], "tags": {}}, desired, current
        )
        assert nets.read(desired)["tags"] == {"team": "platform", "owner": "sre"}
        return current["subnets"][1], [current["subnets"][0]["name"]]

    def check_cluster(self, conn, clusters, desired, current, network):
        assert current["id"].startswith(f"arn:aws:eks:{self.region}:{self.account}:cluster/{desired['name']}")
        assert re.fullmatch(r"1\.32-eks\.\d+", current["version_full"])  # EKS's platform version
        assert current["network"]["id"] == network["id"]
        assert current["network"]["subnet_ids"] == sorted(desired["network"]["subnet_ids"])
        assert current["provider"] == desired["provider"]
        assert current["endpoint_access"] == "public"
        (workers,) = current["node_pools"]
        assert {k: workers[k] for k in desired["node_pools"][0]} == desired["node_pools"][0]
        assert current == clusters.read(desired)

    def check_user(self, clusters, current, user):
        exec_user = clusters.kube_user(current, mode="exec")["exec"]
        assert exec_user["args"] == [
            "--region",
            self.region,
            "eks",
            "get-token",
            "--cluster-name",
            current["name"],
            "--output",
            "json",
        ]

    def check_nodes(self, nodes, current):
        assert all(n.metadata.labels["tier"] == "app" for n in nodes)

    def check_scaled(self, pool):
        assert pool["min_count"] is None

    def tag_change(self, desired):
        return {"set": {"owner": "sre"}, "remove": ["team"], "tags": {}}, {"owner": "sre"}

    def check_listed(self, clusters, desired, current):
        assert [c["name"] for c in clusters.list(self.region) if c["name"] == desired["name"]] == [desired["name"]]

    def holdings(self, desired):
        """The EC2 pieces `mc-sandbox status` lists of the network (by their Name tags)."""
        pieces = status_of(self.sandbox, "aws")["ec2"].get(self.region, {})
        held = {
            kind: sorted(i["id"] for i in items if (i.get("name") or "").startswith(desired["name"]))
            for kind, items in pieces.items()
        }
        return {kind: ids for kind, ids in held.items() if ids}

    def check_holdings(self, before, after, desired, whole):
        assert before == {}
        assert after == {
            "vpcs": [whole["id"]],
            "subnets": sorted(s["id"] for s in whole["subnets"]),
            "internet_gateways": [whole["extra"]["internet_gateway_id"]],
            "route_tables": [whole["extra"]["route_table_id"]],
        }


class Gcp(Cloud):
    name = "gcp"
    region = "us-central1"
    connection, networks, clusters = gcp_client.Connection, gcp_network.Networks, gcp_cluster.Clusters
    running = "RUNNING"
    pool_label = "cloud.google.com/gke-nodepool"
    scale = ({"count": 6}, 6)
    extra_keys = ("count", "taints", "spot")
    extra_ready = 9
    cluster_seconds = 60
    kill_attribute = "rpc"
    kill_points = ("networks.insert",)

    def params(self, **changes):
        """The provider options as a module passes them (every GCP option, unset ones None)."""
        values = {name: option.get("default") for name, option in GCP_OPTIONS.items()}
        values.update(
            gcp_service_account_file=self.endpoints["service_account_file"],
            gcp_api_endpoint=self.endpoints["api_endpoint"],
            gcp_ca_bundle=self.endpoints["ca_bundle"],
        )
        values.update(changes)
        return values

    def connect(self, **changes):
        retrier = Retrier("gcp", policy=RetryPolicy(timeout=20, base_delay=0.2, max_delay=2))
        conn = gcp_client.Connection(self.params(**changes), retrier, region=self.region)
        conn.poll_interval = POLL
        return conn

    def network(self, name, octet):
        ranges = [
            {"name": "pods", "cidr": f"172.{16 + octet % 8}.0.0/16"},
            {"name": "services", "cidr": f"192.168.{octet}.0/24"},
        ]
        subnets = [{"name": f"{name}-nodes", "cidr": f"10.{octet}.0.0/20", "secondary_ranges": ranges}]
        return self.network_spec(name, f"10.{octet}.0.0/16", subnets, None)

    def delete_network(self, conn, nets, desired):
        nets.apply({"action": "delete_network"}, desired, None)

    def pool(self, name, count, **extra):
        return pool_spec(name, count, "e2-standard-4", **{"labels": {"team": "platform"}, **extra})

    def cluster(self, name, network):
        desired = self.cluster_spec(
            name,
            [self.pool("workers", 3)],
            {
                "id": network["id"],
                "subnet_ids": [network["subnets"][0]["id"]],
                "pods_range": "pods",
                "services_range": "services",
            },
            {"project": None, "release_channel": "REGULAR"},
        )
        return {**desired, "tags": {"team": "platform"}}

    def extra_pool(self):
        taint = {"key": "dedicated", "value": "batch", "effect": "NoSchedule"}
        return self.pool("batch", 3, taints=[taint], spot=True, labels={})

    def check_network(self, conn, nets, desired, current):
        extra = {"name": f"{desired['name']}-extra", "cidr": desired["cidr"].replace(".0.0/16", ".64.0/24")}
        extra.update(zone=None, role="nodes", secondary_ranges=[])
        nets.apply({"action": "create_subnet", "subnet": extra}, desired, None)
        current = nets.read(desired)
        project = self.endpoints["project"]
        assert (
            current["id"]
            == f"https://www.googleapis.com/compute/v1/projects/{project}/global/networks/{desired['name']}"
        )
        for key in ("cloud", "region", "name", "cidr"):
            assert current[key] == desired[key], key
        assert current["provider"]["project"] == project
        assert current["tags"] == {}
        assert [{k: v for k, v in s.items() if k != "id"} for s in current["subnets"]] == sorted(
            [*desired["subnets"], extra], key=lambda s: s["name"]
        )
        assert all(s["id"].endswith(f"/regions/{self.region}/subnetworks/{s['name']}") for s in current["subnets"])
        assert current["raw"]["routing_config"]["routing_mode"] == "REGIONAL"
        assert desired["name"] in [n["name"] for n in nets.list(self.region)]

        with pytest.raises(E.ConflictError) as info:
            nets.apply({"action": "create_network"}, desired, current)
        error = info.value
        assert (error.cloud, error.resource, error.call, error.status) == (
            "gcp",
            f"network {desired['name']}",
            "networks.insert",
            409,
        )
        assert "already exists" in error.describe()
        (subnet,) = [s for s in current["subnets"] if s["name"] == extra["name"]]
        return subnet, [f"{desired['name']}-nodes"]

    def before_create(self, clusters, desired):
        # A regional cluster spreads each pool over 3 zones: 4 nodes cannot be split, before any write.
        uneven = dict(desired, node_pools=[self.pool("workers", 4)])
        with pytest.raises(E.ValidationError) as info:
            clusters.apply({"action": "create_cluster"}, uneven, None)
        assert info.value.field == "node_pools[0].count"

    def check_cluster(self, conn, clusters, desired, current, network):
        assert current["version_full"].startswith("1.32.")
        assert current["network"] == desired["network"]
        assert current["provider"]["release_channel"] == "REGULAR"
        assert current["node_pools"][0]["count"] == 3
        assert len(current["raw"]["locations"]) == 3
        assert current["raw"]["node_pools"][0]["initial_node_count"] == 1  # per zone

    def check_user(self, clusters, current, user):
        assert user["token"].startswith("ya29.")
        assert clusters.kube_user(current, "exec")["exec"]["command"] == "gke-gcloud-auth-plugin"

    def check_nodes(self, nodes, current):
        assert {n.metadata.labels["topology.kubernetes.io/zone"] for n in nodes} == set(current["raw"]["locations"])
        assert {n.metadata.labels["team"] for n in nodes} == {"platform"}

    def tag_change(self, desired):
        tags = {"team": "platform", "env": "test"}
        return {"set": {"env": "test"}, "remove": [], "tags": tags}, tags

    def check_listed(self, clusters, desired, current):
        assert desired["name"] in [c["name"] for c in clusters.list(self.region)]
        assert desired["name"] not in [c["name"] for c in clusters.list("europe-west1")]

    def holdings(self, desired):
        """Compute's resource counts."""
        return status_of(self.sandbox, "gcp")["compute"]["resources"]

    def check_killed(self, point, current):
        # networks.insert done, subnetworks.insert not started
        assert current is not None and current["subnets"] == []

    def check_holdings(self, before, after, desired, whole):
        assert [s["name"] for s in whole["subnets"]] == [f"{desired['name']}-nodes"]
        assert {k: after.get(k, 0) - before.get(k, 0) for k in ("networks", "subnetworks")} == {
            "networks": 1,
            "subnetworks": 1,
        }


class Azure(Cloud):
    name = "azure"
    region = "westeurope"
    connection, networks, clusters = azure_client.Connection, azure_network.Networks, azure_cluster.Clusters
    running = "Succeeded"
    pool_label = "kubernetes.azure.com/agentpool"
    scale = ({"count": 4, "taints": [{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]}, 4)
    extra_keys = ("count", "min_count", "max_count")
    extra_ready = 5
    network_seconds = 30
    cluster_seconds = 60
    kill_attribute = "call"
    kill_points = ("ResourceGroups_CreateOrUpdate", "VirtualNetworks_CreateOrUpdate")
    # once the resource group is gone too, VirtualNetworks_Delete answers ResourceGroupNotFound
    delete_when_gone = False

    def params(self, endpoints=None, ca_bundle=None, **overrides):
        azure = endpoints or self.endpoints
        return {
            "azure_subscription_id": azure["subscription_id"],
            "azure_tenant_id": azure["tenant_id"],
            "azure_client_id": azure["client_id"],
            "azure_client_secret": azure["client_secret"],
            "azure_auth_source": "auto",
            "azure_base_url": azure["base_url"],
            "azure_authority_host": azure["authority_host"],
            "azure_ca_bundle": ca_bundle or azure["ca_bundle"],
            **overrides,
        }

    def connect(self, **changes):
        return azure_client.Connection(self.params(**changes), self.retrier(), region=self.region, poll_interval=POLL)

    @staticmethod
    def group_of(desired):
        return desired["provider"]["resource_group"]

    def network(self, name, octet, group=None, tags=None):
        subnets = [
            {"name": "nodes", "cidr": f"10.{octet}.0.0/20"},
            {"name": "GatewaySubnet", "cidr": f"10.{octet}.255.0/27", "role": "gateway"},
        ]
        tags = tags if tags is not None else {"owner": "adapter-test"}
        provider = {"resource_group": group or f"rg-{name}", "create_resource_group": True}
        return self.network_spec(name, f"10.{octet}.0.0/16", subnets, tags, **provider)

    def delete_network(self, conn, nets, desired):
        current = nets.read(desired)
        nets.apply({"action": "delete_network"}, desired, current)
        group = self.group_of(desired)
        groups = conn.resources.resource_groups
        if groups.check_existence(group):
            # The group is deleted only when ARM lists nothing in it; an endpoint that cannot list a
            # group's resources keeps it, and the adapter says so.
            if current is not None:
                assert any(group in w for w in nets.warnings), nets.warnings
            groups.begin_delete(group).result()

    def pool(self, name, count, **extra):
        return pool_spec(name, count, "Standard_D4s_v5", **extra)

    def cluster(self, name, network, group=None, version="1.32", pools=None):
        group = group or (network["extra"]["resource_group_id"].rsplit("/", 1)[-1] if network else "rg1")
        desired = self.cluster_spec(
            name,
            pools or [self.pool("system", 3, labels={"team": "platform"})],
            {"subnet_ids": [network["subnets"][0]["id"]] if network else []},
            {"resource_group": group, "dns_prefix": None, "network_plugin": None},
            version=version,
        )
        return {**desired, "tags": {"owner": "adapter-test"}}

    def extra_pool(self):
        return self.pool("user", 1, min_count=1, max_count=3, labels={"role": "batch"})

    def check_network(self, conn, nets, desired, current):
        group = self.group_of(desired)
        assert nets.zones(self.region) == []
        assert {k: current[k] for k in ("cloud", "region", "name", "cidr", "subnets", "tags", "purge_tags")} == {
            **{k: desired[k] for k in ("cloud", "region", "name", "cidr", "tags", "purge_tags")},
            "subnets": [dict(s, id=current["subnets"][i]["id"]) for i, s in enumerate(desired["subnets"])],
        }
        assert current["provider"] == desired["provider"]
        assert current["id"].endswith(
            f"/resourceGroups/{group}/providers/Microsoft.Network/virtualNetworks/{desired['name']}"
        )
        assert current["subnets"][1]["id"].endswith("/subnets/GatewaySubnet")
        assert current["status"] == "available"
        subscription = self.endpoints["subscription_id"]
        assert current["extra"]["resource_group_id"] == f"/subscriptions/{subscription}/resourceGroups/{group}"
        assert current["raw"]["properties"]["addressSpace"]["addressPrefixes"] == [desired["cidr"]]
        listed = nets.list(region=self.region, provider={"resource_group": group})
        assert [n["id"] for n in listed] == [current["id"]]
        assert nets.list(region="eastus", provider={"resource_group": group}) == []

        final = {"owner": "adapter-test", "stage": "two"}
        nets.apply({"action": "update_tags", "set": {"stage": "two"}, "remove": [], "tags": final}, desired, current)
        assert nets.read(desired)["tags"] == final
        return current["subnets"][1], ["nodes"]

    def check_cluster(self, conn, clusters, desired, current, network):
        group = self.group_of(desired)
        assert current["version_full"].startswith("1.32.")
        assert current["network"] == {
            "id": network["id"],
            "subnet_ids": [network["subnets"][0]["id"]],
            "pods_range": None,
            "services_range": None,
        }
        assert current["provider"] == {
            "resource_group": group,
            "dns_prefix": desired["name"],
            "network_plugin": "azure",
        }
        assert current["ca_data"]
        (pool,) = current["node_pools"]
        assert (pool["name"], pool["count"], pool["labels"]) == ("system", 3, {"team": "platform"})
        assert clusters.read(desired)["ca_data"] == current["ca_data"]  # cached per connection

    def check_user(self, clusters, current, user):
        # listClusterUserCredential's user: a client certificate signed by the cluster's CA
        assert {"client-certificate-data", "client-key-data"} <= set(user)

    def check_nodes(self, nodes, current):
        assert {n.metadata.labels["team"] for n in nodes} == {"platform"}

    def tag_change(self, desired):
        tags = {"owner": "adapter-test", "stage": "two"}
        return {"set": {"stage": "two"}, "remove": [], "tags": tags}, tags

    def check_listed(self, clusters, desired, current):
        group = self.group_of(desired)
        assert [c["name"] for c in clusters.list(region=self.region, provider={"resource_group": group})] == [
            desired["name"]
        ]
        # an invalid request fails at once with a typed error naming cloud, resource and call
        with pytest.raises(E.InvalidRequestError) as info:
            clusters.apply({"action": "create_node_pool", "pool": self.pool("Bad_Pool", 1)}, desired, current)
        error = info.value
        assert (error.cloud, error.call, error.status) == ("azure", "AgentPools_CreateOrUpdate", 400)
        assert "Bad_Pool" in error.resource and desired["name"] in error.resource
        assert self.endpoints["client_secret"] not in str(error)

    def holdings(self, desired):
        """The resource group and its network resources, as `mc-sandbox status` lists them."""
        group = self.group_of(desired)
        status = status_of(self.sandbox, "azure")
        return (
            [g for g in status["resource_groups"] if g == group],
            sorted((r["type"], r["name"]) for r in status["network"] if r["resource_group"] == group),
        )

    def check_holdings(self, before, after, desired, whole):
        groups, resources = after
        assert before == ([], [])
        assert groups == [self.group_of(desired)]
        assert [r for r in resources if r[0].endswith("virtualNetworks")] == [
            ("Microsoft.Network/virtualNetworks", desired["name"])
        ]
        assert sorted(s["name"] for s in whole["subnets"]) == ["GatewaySubnet", "nodes"]

    def settle(self):
        time.sleep(0.5)  # an ARM operation the killed run started finishes on its own


CLOUDS = {cloud.name: cloud for cloud in (Aws, Gcp, Azure)}


def no_regional_access_boundary_lookup(patch):
    """google-auth's background "regional access boundary" lookup goes to a fixed Google host and
    has no switch (see gcp/client.py); the sandbox's tests keep it from trying."""
    patch.setattr(service_account.Credentials, "_is_regional_access_boundary_lookup_required", lambda self: False)
