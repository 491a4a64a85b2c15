# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS networks: a VPC with an internet gateway, one public route table and tagged subnets.

A network is found by its ``Name`` tag in the region. What ``create_network`` makes:

- the VPC (``Name`` tag = network name, the user's tags, DNS support and DNS host names on);
- an internet gateway attached to it and one route table (``Name`` tag = network name) whose
  default route ``0.0.0.0/0`` goes to the gateway;

and each subnet is created in its zone, associated with that route table, with public IPs on
launch and the tags ``Name``, ``kubernetes.io/role/elb=1`` (public load balancers may use it) and
``multicloud.fabric/role`` (the portable subnet role, so reading gives back what was asked).

Every piece is tagged in its create call (``TagSpecifications``), never afterwards, and the
gateway and route table also carry ``multicloud.fabric/network=<name>``: a run killed between a
create and the call that links the new piece (attach, associate, route) leaves a piece that the
rerun finds by its tags and reuses. Until every link is made, reading reports no
``route_table_id``, so the planner asks for ``create_network`` again, which completes the pieces.

The pure functions at the top translate between EC2 objects and the portable shape; the
:class:`Networks` adapter performs one planned action at a time.
"""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.aws.client import CLOUD, to_plain
from ansible_collections.multicloud.fabric.plugins.module_utils.aws.tags import (
    NAME_TAG,
    tag_list,
    tag_updates,
    tags_to_dict,
    user_tags,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.common.contracts import NETWORK_ACTIONS, perform
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    ConflictError,
    NotFoundError,
    found_or,
    gone_is_done,
)

# The network's name is its Name tag: never one of the user's tags.
OWN_TAGS = (NAME_TAG,)
ROLE_TAG = "multicloud.fabric/role"
NETWORK_TAG = "multicloud.fabric/network"
ELB_TAG = "kubernetes.io/role/elb"
DEFAULT_ROUTE = "0.0.0.0/0"
DEFAULT_ROLE = "nodes"
# Error codes of delete calls that mean the piece is gone (or no longer attached) already.
_GONE_CODES = frozenset(("Gateway.NotAttached",))
# Describe call -> (response key, id list parameter).
_DESCRIBE_BY_ID = {"DescribeVpcs": ("Vpcs", "VpcIds"), "DescribeSubnets": ("Subnets", "SubnetIds")}


# --------------------------------------------------------------------------- pure translation


def tag_specifications(resource_type, name, tags=None, network=None):
    """``TagSpecifications`` of a create call: the user's tags plus ``Name`` (and the collection's
    ``multicloud.fabric/network`` tag when ``network`` is given)."""
    merged = dict(user_tags(tags or {}, OWN_TAGS))
    merged[NAME_TAG] = name
    if network:
        merged[NETWORK_TAG] = network
    return [{"ResourceType": resource_type, "Tags": tag_list(merged)}]


def unattached_gateways(gateways, name):
    """Gateways a killed create left behind: tagged for network ``name``, attached to nothing
    (sorted by id)."""
    left = []
    for gateway in sorted(gateways, key=lambda g: g["InternetGatewayId"]):
        tags = tags_to_dict(gateway.get("Tags"))
        if tags.get(NETWORK_TAG, tags.get(NAME_TAG)) != name:
            continue
        if not [a for a in gateway.get("Attachments") or () if a.get("State") not in ("detached", "detaching")]:
            left.append(gateway)
    return left


def unlinked_subnets(subnets, route_table):
    """The collection's subnets (``multicloud.fabric/role`` tag) a killed create left unlinked:
    not associated with the network's route table, or without public IPs on launch."""
    associated = {a.get("SubnetId") for a in (route_table or {}).get("Associations") or ()}
    return [
        s
        for s in subnets
        if ROLE_TAG in tags_to_dict(s.get("Tags"))
        and (s["SubnetId"] not in associated or not s.get("MapPublicIpOnLaunch"))
    ]


def subnet_tags(subnet):
    """The tags a new subnet gets (``Name``, ELB role, portable role)."""
    return {NAME_TAG: subnet["name"], ELB_TAG: "1", ROLE_TAG: subnet.get("role") or DEFAULT_ROLE}


def subnet_to_portable(subnet):
    """An EC2 subnet -> the portable subnet shape."""
    tags = tags_to_dict(subnet.get("Tags"))
    return {
        "name": tags.get(NAME_TAG, subnet["SubnetId"]),
        "id": subnet["SubnetId"],
        "cidr": subnet.get("CidrBlock"),
        "zone": subnet.get("AvailabilityZone"),
        "role": tags.get(ROLE_TAG) or DEFAULT_ROLE,
        "secondary_ranges": [],
    }


def default_route_target(route_table):
    """The gateway id the route table's ``0.0.0.0/0`` route goes to, or None."""
    for route in route_table.get("Routes") or ():
        if route.get("DestinationCidrBlock") == DEFAULT_ROUTE:
            return route.get("GatewayId") or route.get("NatGatewayId") or route.get("TransitGatewayId") or ""
    return None


def _is_main(route_table):
    return any(assoc.get("Main") for assoc in route_table.get("Associations") or ())


def pick_route_table(route_tables, name, internet_gateway_id=None):
    """The network's public route table among a VPC's: the non-main one tagged with the network's
    name, else a non-main one whose default route goes to the internet gateway."""
    candidates = [rt for rt in route_tables if not _is_main(rt)]
    for rt in candidates:
        if tags_to_dict(rt.get("Tags")).get(NAME_TAG) == name:
            return rt
    if internet_gateway_id:
        for rt in candidates:
            if default_route_target(rt) == internet_gateway_id:
                return rt
    return None


def network_to_portable(vpc, subnets, internet_gateway, route_table, *, region, desired=None):
    """An EC2 VPC and its pieces -> the portable network shape (``raw`` is the VPC).

    ``extra.route_table_id`` is given only for a complete network: the table routes ``0.0.0.0/0``
    to the attached gateway and every subnet of the collection is linked to it.
    """
    tags = tags_to_dict(vpc.get("Tags"))
    gateway_id = (internet_gateway or {}).get("InternetGatewayId")
    complete = bool(
        route_table
        and gateway_id
        and default_route_target(route_table) == gateway_id
        and not unlinked_subnets(subnets, route_table)
    )
    desired = desired or {}
    provider = desired.get("provider") or {"project": None, "resource_group": None, "create_resource_group": False}
    return {
        "cloud": CLOUD,
        "region": region,
        "name": tags.get(NAME_TAG, vpc["VpcId"]),
        "id": vpc["VpcId"],
        "cidr": vpc.get("CidrBlock"),
        "subnets": sorted((subnet_to_portable(s) for s in subnets), key=lambda s: (s["name"], s["id"])),
        "tags": user_tags(tags, OWN_TAGS),
        "purge_tags": bool(desired.get("purge_tags", False)),
        "provider": dict(provider),
        "status": vpc.get("State"),
        "extra": {
            "internet_gateway_id": gateway_id,
            "route_table_id": route_table["RouteTableId"] if complete else None,
        },
        "raw": to_plain(vpc),
    }


# --------------------------------------------------------------------------- the adapter


class Networks:
    """Reads and changes AWS networks (VPCs) for the planner's actions."""

    ACTIONS = NETWORK_ACTIONS

    def __init__(self, conn):
        self.conn = conn
        self.warnings = []

    # ------------------------------------------------------------------ reading

    def zones(self, region):
        """Names of the region's available availability zones, sorted (no Local/Wavelength zones)."""
        found = self.conn.api(
            "ec2",
            "DescribeAvailabilityZones",
            {
                "Filters": [
                    {"Name": "state", "Values": ["available"]},
                    {"Name": "zone-type", "Values": ["availability-zone"]},
                ]
            },
            region=region,
            resource=f"availability zones of {region}",
        )
        return sorted(zone["ZoneName"] for zone in found.get("AvailabilityZones") or ())

    def read(self, desired):
        """The portable shape of the VPC tagged ``Name=<desired name>`` in the region, or None."""
        region, name = desired.get("region") or self.conn.region, desired["name"]
        vpcs = self._ec2_list(
            "DescribeVpcs",
            "Vpcs",
            [{"Name": "tag:Name", "Values": [name]}],
            region=region,
            resource=f"vpc {name}",
        )
        if not vpcs:
            return None
        if len(vpcs) > 1:
            ids = ", ".join(sorted(v["VpcId"] for v in vpcs))
            raise ConflictError(
                f"{len(vpcs)} VPCs are tagged Name={name} ({ids}); the network name must be unique in the region",
                cloud=CLOUD,
                resource=f"vpc {name}",
                call="DescribeVpcs",
                advice="delete or rename (tag Name) the extra VPCs, or choose another network name",
            )
        return self._assemble(vpcs, region, desired)[0]

    def list(self, region=None, provider=None):
        """Every VPC with a ``Name`` tag in ``region`` (default: the connection's), as portable shapes."""
        region = region or self.conn.region
        vpcs = self._ec2_list(
            "DescribeVpcs", "Vpcs", [{"Name": "tag-key", "Values": [NAME_TAG]}], region=region, resource="vpcs"
        )
        return sorted(self._assemble(vpcs, region), key=lambda n: (n["name"], n["id"]))

    def _ec2_list(self, operation, key, filters, *, region, resource):
        return self.conn.paginate("ec2", operation, key, {"Filters": filters}, region=region, resource=resource)

    def _assemble(self, vpcs, region, desired=None):
        if not vpcs:
            return []
        ids = [vpc["VpcId"] for vpc in vpcs]
        resource = f"vpc {desired['name']}" if desired else "vpcs"
        subnets = self._ec2_list(
            "DescribeSubnets", "Subnets", [{"Name": "vpc-id", "Values": ids}], region=region, resource=resource
        )
        gateways = self._ec2_list(
            "DescribeInternetGateways",
            "InternetGateways",
            [{"Name": "attachment.vpc-id", "Values": ids}],
            region=region,
            resource=resource,
        )
        tables = self._ec2_list(
            "DescribeRouteTables", "RouteTables", [{"Name": "vpc-id", "Values": ids}], region=region, resource=resource
        )
        shapes = []
        for vpc in vpcs:
            vpc_id = vpc["VpcId"]
            name = tags_to_dict(vpc.get("Tags")).get(NAME_TAG, vpc_id)
            gateway = next(
                (g for g in gateways if any(a.get("VpcId") == vpc_id for a in g.get("Attachments") or ())), None
            )
            table = pick_route_table(
                [t for t in tables if t.get("VpcId") == vpc_id],
                name,
                gateway and gateway["InternetGatewayId"],
            )
            shapes.append(
                network_to_portable(
                    vpc,
                    [s for s in subnets if s.get("VpcId") == vpc_id],
                    gateway,
                    table,
                    region=region,
                    desired=desired,
                )
            )
        return shapes

    # ------------------------------------------------------------------ changing

    def apply(self, action, desired, current):
        """Perform one planned action and wait until EC2 reports it done."""
        perform(self, CLOUD, "network", action, desired, current)

    def _ec2(self, operation, params, desired, resource, eventual=False):
        return self.conn.api(
            "ec2",
            operation,
            params,
            region=desired.get("region") or self.conn.region,
            resource=resource,
            eventual=eventual,
        )

    def _create_network(self, action, desired, current):
        """VPC, internet gateway, route table: whatever of them is missing (a rerun after a partial
        failure completes the network instead of making a second one)."""
        name = desired["name"]
        resource = f"vpc {name}"
        current = current or self.read(desired)
        if current is None:
            vpc = self._ec2(
                "CreateVpc",
                {
                    "CidrBlock": desired["cidr"],
                    "TagSpecifications": tag_specifications("vpc", name, desired.get("tags")),
                },
                desired,
                resource,
            )["Vpc"]
            vpc_id = vpc["VpcId"]
        else:
            vpc_id = current["id"]
        self._wait_available("DescribeVpcs", vpc_id, desired, resource)
        for attribute in ("EnableDnsSupport", "EnableDnsHostnames"):  # one attribute per call
            self._ec2("ModifyVpcAttribute", {"VpcId": vpc_id, attribute: {"Value": True}}, desired, resource, True)
        table_id = self._ensure_route_table(desired, vpc_id)
        self._link_subnets(desired, vpc_id, table_id)

    def _link_subnets(self, desired, vpc_id, table_id):
        """Finish the subnets a killed create left unlinked (public IPs, route table)."""
        region = desired.get("region") or self.conn.region
        resource = f"subnets of vpc {desired['name']}"
        subnets = self._ec2_list(
            "DescribeSubnets", "Subnets", [{"Name": "vpc-id", "Values": [vpc_id]}], region=region, resource=resource
        )
        tables = self._ec2_list(
            "DescribeRouteTables",
            "RouteTables",
            [{"Name": "route-table-id", "Values": [table_id]}],
            region=region,
            resource=resource,
        )
        for subnet in unlinked_subnets(subnets, tables[0] if tables else None):
            resource = f"subnet {subnet_to_portable(subnet)['name']} of vpc {desired['name']}"
            self._link_subnet(subnet, table_id, desired, resource)

    def _link_subnet(self, subnet, table_id, desired, resource):
        """Public IPs on launch, and the association with the network's route table."""
        subnet_id = subnet["SubnetId"]
        if not subnet.get("MapPublicIpOnLaunch"):
            self._ec2(
                "ModifySubnetAttribute",
                {"SubnetId": subnet_id, "MapPublicIpOnLaunch": {"Value": True}},
                desired,
                resource,
            )
        region = desired.get("region") or self.conn.region
        linked = self._ec2_list(
            "DescribeRouteTables",
            "RouteTables",
            [{"Name": "association.subnet-id", "Values": [subnet_id]}],
            region=region,
            resource=resource,
        )
        for table in linked:
            if table["RouteTableId"] == table_id:
                return
            self._disassociate(table, desired, resource, subnet_id)
        self._ec2("AssociateRouteTable", {"RouteTableId": table_id, "SubnetId": subnet_id}, desired, resource)

    def _ensure_route_table(self, desired, vpc_id):
        """The internet gateway and the public route table of the VPC; returns the table's id."""
        name = desired["name"]
        region = desired.get("region") or self.conn.region
        gateways = self._ec2_list(
            "DescribeInternetGateways",
            "InternetGateways",
            [{"Name": "attachment.vpc-id", "Values": [vpc_id]}],
            region=region,
            resource=f"internet gateway of vpc {name}",
        )
        if gateways:
            gateway_id = gateways[0]["InternetGatewayId"]
        else:
            resource = f"internet gateway of vpc {name}"
            # One a killed run created but did not attach is found by its tags and attached now.
            left = self._left_gateways(desired, resource)
            if left:
                gateway_id = left[0]["InternetGatewayId"]
            else:
                gateway_id = self._ec2(
                    "CreateInternetGateway",
                    {"TagSpecifications": tag_specifications("internet-gateway", name, network=name)},
                    desired,
                    resource,
                )["InternetGateway"]["InternetGatewayId"]
            self._ec2(
                "AttachInternetGateway", {"InternetGatewayId": gateway_id, "VpcId": vpc_id}, desired, resource, True
            )
        resource = f"route table of vpc {name}"
        tables = self._ec2_list(
            "DescribeRouteTables",
            "RouteTables",
            [{"Name": "vpc-id", "Values": [vpc_id]}],
            region=region,
            resource=resource,
        )
        table = pick_route_table(tables, name, gateway_id)
        if table is None:
            table = self._ec2(
                "CreateRouteTable",
                {"VpcId": vpc_id, "TagSpecifications": tag_specifications("route-table", name, network=name)},
                desired,
                resource,
            )["RouteTable"]
        target = default_route_target(table)
        if target != gateway_id:
            route = {
                "RouteTableId": table["RouteTableId"],
                "DestinationCidrBlock": DEFAULT_ROUTE,
                "GatewayId": gateway_id,
            }
            self._ec2("ReplaceRoute" if target is not None else "CreateRoute", route, desired, resource, True)
        return table["RouteTableId"]

    def _left_gateways(self, desired, resource, tags=(NETWORK_TAG, NAME_TAG)):
        """The network's internet gateways attached to nothing (a killed create), found by the
        collection's ``multicloud.fabric/network`` tag, else by ``Name``."""
        for key in tags:
            found = self._ec2_list(
                "DescribeInternetGateways",
                "InternetGateways",
                [{"Name": f"tag:{key}", "Values": [desired["name"]]}],
                region=desired.get("region") or self.conn.region,
                resource=resource,
            )
            left = unattached_gateways(found, desired["name"])
            if left:
                return left
        return []

    def _wait_available(self, operation, resource_id, desired, resource):
        """Poll a new VPC or subnet until ``available`` (EC2 may not know it for a moment)."""
        key, id_param = _DESCRIBE_BY_ID[operation]

        def fetch():
            found = found_or({}, self._ec2, operation, {id_param: [resource_id]}, desired, resource)
            items = found.get(key) or []
            return items[0] if items else None

        waiter = self.conn.waiter(resource, state_of=lambda obj: obj.get("State"), success=("available",))
        return self.conn.wait(waiter, fetch)

    def _create_subnet(self, action, desired, current):
        subnet = action["subnet"]
        name = desired["name"]
        resource = f"subnet {subnet['name']} of vpc {name}"
        if current is None:
            current = self.read(desired)
        if current is None:
            raise NotFoundError(
                f"the VPC tagged Name={name} does not exist", cloud=CLOUD, resource=resource, call="CreateSubnet"
            )
        table_id = (current.get("extra") or {}).get("route_table_id") or self._ensure_route_table(
            desired, current["id"]
        )
        params = {
            "VpcId": current["id"],
            "CidrBlock": subnet["cidr"],
            "TagSpecifications": [{"ResourceType": "subnet", "Tags": tag_list(subnet_tags(subnet))}],
        }
        if subnet.get("zone"):
            params["AvailabilityZone"] = subnet["zone"]
        subnet_id = self._ec2("CreateSubnet", params, desired, resource)["Subnet"]["SubnetId"]
        self._wait_available("DescribeSubnets", subnet_id, desired, resource)
        self._ec2(
            "ModifySubnetAttribute", {"SubnetId": subnet_id, "MapPublicIpOnLaunch": {"Value": True}}, desired, resource
        )
        self._ec2("AssociateRouteTable", {"RouteTableId": table_id, "SubnetId": subnet_id}, desired, resource)

    def _delete_subnet(self, action, desired, current):
        self._remove_subnet(action["subnet"], desired)

    def _remove_subnet(self, subnet, desired):
        """Detach the subnet from its route table, then delete it (both skipped when gone)."""
        subnet_id = subnet["id"]
        resource = f"subnet {subnet.get('name') or subnet_id} of vpc {desired['name']}"
        tables = self._ec2_list(
            "DescribeRouteTables",
            "RouteTables",
            [{"Name": "association.subnet-id", "Values": [subnet_id]}],
            region=desired.get("region") or self.conn.region,
            resource=resource,
        )
        for table in tables:
            self._disassociate(table, desired, resource, subnet_id)
        gone_is_done(self._ec2, "DeleteSubnet", {"SubnetId": subnet_id}, desired, resource, gone_codes=_GONE_CODES)

    def _disassociate(self, table, desired, resource, subnet_id=None):
        """Remove the table's explicit associations (only the one of ``subnet_id`` if given)."""
        for association in table.get("Associations") or ():
            if association.get("Main") or (subnet_id is not None and association.get("SubnetId") != subnet_id):
                continue
            association_id = association["RouteTableAssociationId"]
            gone_is_done(
                self._ec2,
                "DisassociateRouteTable",
                {"AssociationId": association_id},
                desired,
                resource,
                gone_codes=_GONE_CODES,
            )

    def _update_tags(self, action, desired, current):
        resource = f"vpc {desired['name']}"
        to_set, to_remove = tag_updates(action, OWN_TAGS)
        vpc_id = (current or {}).get("id") or (self.read(desired) or {}).get("id")
        if vpc_id is None:
            raise NotFoundError(
                f"the VPC tagged Name={desired['name']} does not exist",
                cloud=CLOUD,
                resource=resource,
                call="CreateTags",
            )
        if to_set:
            self._ec2("CreateTags", {"Resources": [vpc_id], "Tags": tag_list(to_set)}, desired, resource)
        if to_remove:
            self._ec2(
                "DeleteTags", {"Resources": [vpc_id], "Tags": [{"Key": key} for key in to_remove]}, desired, resource
            )

    def _delete_network(self, action, desired, current):
        """Subnets, the internet gateway(s), non-main route tables, then the VPC; pieces already
        gone are skipped, so a rerun after a partial failure finishes the job."""
        name = desired["name"]
        vpc_id = (current or {}).get("id") or (self.read(desired) or {}).get("id")
        if vpc_id is None:
            return
        region = desired.get("region") or self.conn.region
        resource = f"vpc {name}"
        for subnet in self._ec2_list(
            "DescribeSubnets", "Subnets", [{"Name": "vpc-id", "Values": [vpc_id]}], region=region, resource=resource
        ):
            self._remove_subnet(subnet_to_portable(subnet), desired)
        gw_resource = f"internet gateway of vpc {name}"
        for gateway in self._ec2_list(
            "DescribeInternetGateways",
            "InternetGateways",
            [{"Name": "attachment.vpc-id", "Values": [vpc_id]}],
            region=region,
            resource=gw_resource,
        ):
            gateway_id = gateway["InternetGatewayId"]
            detach = {"InternetGatewayId": gateway_id, "VpcId": vpc_id}
            gone_is_done(self._ec2, "DetachInternetGateway", detach, desired, gw_resource, gone_codes=_GONE_CODES)
            self._delete_gateway(gateway_id, desired, gw_resource)
        # Gateways a killed create left unattached: only those with the collection's network tag.
        for left in self._left_gateways(desired, gw_resource, tags=(NETWORK_TAG,)):
            self._delete_gateway(left["InternetGatewayId"], desired, gw_resource)
        rt_resource = f"route table of vpc {name}"
        for table in self._ec2_list(
            "DescribeRouteTables",
            "RouteTables",
            [{"Name": "vpc-id", "Values": [vpc_id]}],
            region=region,
            resource=rt_resource,
        ):
            if _is_main(table):
                continue  # goes with the VPC
            self._disassociate(table, desired, rt_resource)
            delete = {"RouteTableId": table["RouteTableId"]}
            gone_is_done(self._ec2, "DeleteRouteTable", delete, desired, rt_resource, gone_codes=_GONE_CODES)
        gone_is_done(self._ec2, "DeleteVpc", {"VpcId": vpc_id}, desired, resource, gone_codes=_GONE_CODES)

    def _delete_gateway(self, gateway_id, desired, resource):
        delete = {"InternetGatewayId": gateway_id}
        gone_is_done(self._ec2, "DeleteInternetGateway", delete, desired, resource, gone_codes=_GONE_CODES)
