# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The portable network: normalisation of ``mc_network``'s input and the plan that converges it.

Pure functions, no SDK: ``normalize_network(params, zones)`` validates a CIDR plan and returns the
desired network in the portable shape every cloud adapter understands; ``plan_network(current,
desired, ...)`` compares it with what the adapter read and returns the actions to take.

Portable shape::

    {"cloud", "region", "name", "cidr",
     "subnets": [{"name", "cidr", "zone", "role": "nodes"|"gateway",
                  "secondary_ranges": [{"name", "cidr"}]}],
     "tags": dict | None,            # None: tags are not managed
     "purge_tags": bool,
     "provider": {"project", "resource_group", "create_resource_group"}}
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.multicloud.fabric.plugins.module_utils.common.args import check_resource
from ansible_collections.multicloud.fabric.plugins.module_utils.common.clouds import CLOUDS
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    ImmutableFieldsError,
    ValidationError,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.common.tags import check_tags, tags_action

PRIVATE_RANGES = tuple(ipaddress.ip_network(c) for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
# Network prefix lengths each cloud accepts for the network's address space.
PREFIX_LIMITS = {"aws": (16, 28), "gcp": (8, 29), "azure": (8, 29)}
AZURE_GATEWAY_SUBNET = "GatewaySubnet"
# Azure needs at least a /27 for a VPN gateway (a /29 is refused, /28 is too small for active-active).
AZURE_GATEWAY_MAX_PREFIX = 27
GCP_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
# EC2 keeps names in the Name tag, whose values stop at 256 characters.
AWS_NAME_MAX = 256
AZURE_VNET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}[A-Za-z0-9_]$")
AZURE_SUBNET_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$")
# Resource group names: 1-90 letters, digits, '_', '-', '.', '(' and ')', not ending in '.'.
AZURE_RESOURCE_GROUP = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
# Options that only one cloud uses: given for another cloud they are an error, never ignored.
CLOUD_ONLY_OPTIONS = {
    "pods_cidr": "gcp",
    "services_cidr": "gcp",
    "gateway_subnet_prefix": "azure",
    "azure": "azure",
}
AWS_MIN_ZONES = 2  # EKS refuses a cluster whose subnets are not in at least two zones


def _network(value, field):
    try:
        net = ipaddress.ip_network(str(value), strict=True)
    except ValueError as exc:
        hint = ""
        try:
            loose = ipaddress.ip_network(str(value), strict=False)
            hint = f"; did you mean {loose}?"
        except ValueError:
            pass
        raise ValidationError(field, f"{value!r} is not a network in CIDR notation ({exc}){hint}") from None
    if net.version != 4:
        raise ValidationError(field, f"{value} is IPv6; networks are planned in IPv4")
    return net


def _is_private(net):
    return any(net.subnet_of(private) for private in PRIVATE_RANGES)


def _check_private(net, field, allow_public):
    if not allow_public and not _is_private(net):
        raise ValidationError(
            field,
            f"{net} is not inside the private ranges (RFC 1918: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)",
            advice="use a private range, or set allow_public_cidr: true if the address space is really yours",
        )


def _subnet(entry, index, cloud, allow_public):
    field = f"subnets[{index}]"
    if not isinstance(entry, dict):
        raise ValidationError(field, "expected a dictionary with name and cidr")
    name = entry.get("name")
    if not name:
        raise ValidationError(f"{field}.name", "every subnet needs a name")
    role = entry.get("role") or "nodes"
    if role not in ("nodes", "gateway"):
        raise ValidationError(f"{field}.role", f"expected nodes or gateway, got {role!r}")
    if entry.get("cidr") in (None, ""):
        raise ValidationError(f"{field}.cidr", "every subnet needs a cidr")
    ranges = []
    for r_index, item in enumerate(entry.get("secondary_ranges") or []):
        r_field = f"{field}.secondary_ranges[{r_index}]"
        if not isinstance(item, dict) or not item.get("name") or not item.get("cidr"):
            raise ValidationError(r_field, "expected name and cidr")
        r_net = _network(item["cidr"], f"{r_field}.cidr")
        _check_private(r_net, f"{r_field}.cidr", allow_public)
        ranges.append({"name": str(item["name"]), "cidr": str(r_net)})
    if ranges and cloud != "gcp":
        raise ValidationError(f"{field}.secondary_ranges", "secondary ranges exist only on gcp subnetworks")
    return {
        "name": str(name),
        "cidr": str(_network(entry["cidr"], f"{field}.cidr")),
        "zone": entry.get("zone") or None,
        "role": role,
        "secondary_ranges": ranges,
    }


def _generated_subnets(params, cloud, net, zones):
    """The default subnet plan: node subnets carved from the start of the network, on Azure a
    GatewaySubnet from its end, on GCP the pod and service secondary ranges."""
    name = params["name"]
    prefix = params.get("subnet_prefix") or min(net.prefixlen + 4, PREFIX_LIMITS[cloud][1])
    if not net.prefixlen <= prefix <= 29:
        raise ValidationError(
            "subnet_prefix", f"expected a prefix length between /{net.prefixlen} and /29, got /{prefix}"
        )
    if cloud == "aws":
        count = params.get("subnet_count") or AWS_MIN_ZONES
        if zones is not None and count > len(zones):
            raise ValidationError(
                "subnet_count",
                f"{count} subnets need {count} availability zones; "
                f"{params['region']} has {len(zones)} ({', '.join(zones)})",
            )
        names_zones = [(f"{name}-{zone}", zone) for zone in (zones or [None] * count)[:count]]
    else:
        count = params.get("subnet_count") or 1
        names_zones = [(f"{name}-nodes" if count == 1 else f"{name}-nodes-{i + 1}", None) for i in range(count)]
    blocks = net.subnets(new_prefix=prefix)
    subnets = []
    for subnet_name, zone in names_zones:
        try:
            block = next(blocks)
        except StopIteration:
            raise ValidationError(
                "subnet_count", f"{net} holds fewer than {count} subnets of /{prefix}; lower subnet_prefix"
            ) from None
        subnets.append({"name": subnet_name, "cidr": str(block), "zone": zone, "role": "nodes", "secondary_ranges": []})
    if cloud == "gcp":
        for range_name in ("pods", "services"):
            cidr = params.get(f"{range_name}_cidr")
            if cidr:
                subnets[0]["secondary_ranges"].append({"name": range_name, "cidr": cidr})
    gateway = params.get("gateway_subnet")
    if gateway is None:
        gateway = cloud == "azure"
    if gateway:
        if cloud != "azure":
            raise ValidationError("gateway_subnet", "a gateway subnet is needed (and allowed) on azure only")
        gw_prefix = params.get("gateway_subnet_prefix") or AZURE_GATEWAY_MAX_PREFIX
        if not net.prefixlen <= gw_prefix <= 29:
            raise ValidationError("gateway_subnet_prefix", f"expected /{net.prefixlen}../29, got /{gw_prefix}")
        last = ipaddress.ip_network((int(net.broadcast_address) - 2 ** (32 - gw_prefix) + 1, gw_prefix))
        subnets.append(
            {"name": AZURE_GATEWAY_SUBNET, "cidr": str(last), "zone": None, "role": "gateway", "secondary_ranges": []}
        )
    return subnets


def normalize_network(params, zones=None):
    """Validate ``mc_network``'s parameters; return the desired network (portable shape).

    ``zones`` are the region's availability zones (AWS; None elsewhere or when not known yet).
    Raises :class:`ValidationError` naming the offending option before anything is written.
    """
    cloud = check_resource(params, CLOUDS)
    name = params["name"]
    for option, owner in CLOUD_ONLY_OPTIONS.items():
        if owner != cloud and params.get(option) not in (None, {}):
            raise ValidationError(option, f"is a {owner} option; {cloud} networks do not use it, remove it")
    if cloud == "gcp" and not GCP_NAME.match(name):
        raise ValidationError(
            "name", f"{name!r}: GCP names are 1-63 lowercase letters, digits and dashes, starting with a letter"
        )
    if cloud == "azure" and not AZURE_VNET_NAME.match(name):
        raise ValidationError("name", f"{name!r}: Azure VNet names are 2-64 letters, digits, '_', '.' and '-'")
    if cloud == "aws" and len(name) > AWS_NAME_MAX:
        raise ValidationError(
            "name", f"is {len(name)} characters; AWS names are Name tag values, at most {AWS_NAME_MAX} characters"
        )
    provider = {"project": None, "resource_group": None, "create_resource_group": False}
    if cloud == "gcp":
        provider["project"] = params.get("gcp_project")
    if cloud == "azure":
        azure = params.get("azure") or {}
        if not azure.get("resource_group"):
            raise ValidationError("azure.resource_group", "Azure networks live in a resource group; name it")
        if not AZURE_RESOURCE_GROUP.match(azure["resource_group"]):
            raise ValidationError(
                "azure.resource_group",
                f"{azure['resource_group']!r}: resource group names are 1-90 letters, digits, '_', '-', '.', "
                "'(' and ')', not ending in '.'",
            )
        provider["resource_group"] = azure["resource_group"]
        provider["create_resource_group"] = bool(azure.get("create_resource_group", True))
    # Compute networks carry no labels: on gcp tags are not managed (the module warns when given).
    # AWS: the VPC also carries the Name tag.
    tags = None if cloud == "gcp" else check_tags(cloud, params.get("tags"), reserved=1 if cloud == "aws" else 0)
    if params.get("state", "present") == "absent":
        return {
            "cloud": cloud,
            "region": params["region"],
            "name": name,
            "cidr": None,
            "subnets": [],
            "tags": tags,
            "purge_tags": bool(params.get("purge_tags", True)),
            "provider": provider,
        }
    allow_public = bool(params.get("allow_public_cidr"))
    net = _network(params["cidr"], "cidr")
    _check_private(net, "cidr", allow_public)
    low, high = PREFIX_LIMITS[cloud]
    if not low <= net.prefixlen <= high:
        raise ValidationError("cidr", f"{cloud} networks must be between /{low} and /{high}, got /{net.prefixlen}")

    if params.get("subnets"):
        subnets = [_subnet(entry, i, cloud, allow_public) for i, entry in enumerate(params["subnets"])]
    else:
        subnets = _generated_subnets(params, cloud, net, zones)
        for subnet in subnets:
            for item in subnet["secondary_ranges"]:
                field = f"{item['name']}_cidr"
                item["cidr"] = str(_network(item["cidr"], field))
                _check_private(ipaddress.ip_network(item["cidr"]), field, allow_public)

    _validate_subnets(cloud, net, subnets, zones, explicit=bool(params.get("subnets")))
    return {
        "cloud": cloud,
        "region": params["region"],
        "name": name,
        "cidr": str(net),
        "subnets": subnets,
        "tags": tags,
        "purge_tags": bool(params.get("purge_tags", True)),
        "provider": provider,
    }


def _validate_subnets(cloud, net, subnets, zones, explicit):
    """Names first, then ranges (inside the network, no overlaps), then roles and zones, so the
    error names the first real problem whatever the cloud."""
    seen = {}
    for i, subnet in enumerate(subnets):
        field = f"subnets[{i}].name"
        if subnet["name"] in seen:
            raise ValidationError(field, f"{subnet['name']!r} is used twice (also subnets[{seen[subnet['name']]}])")
        seen[subnet["name"]] = i
        if not explicit:
            field = "name"  # planned subnets are named after the network
        if cloud == "gcp" and not GCP_NAME.match(subnet["name"]):
            raise ValidationError(
                field, f"subnet {subnet['name']!r}: GCP names are 1-63 lowercase letters, digits and dashes"
            )
        if cloud == "azure" and subnet["role"] != "gateway" and not AZURE_SUBNET_NAME.match(subnet["name"]):
            raise ValidationError(
                field, f"subnet {subnet['name']!r}: Azure subnet names are 1-80 letters, digits, '_', '.' and '-'"
            )
        if cloud == "aws" and len(subnet["name"]) > AWS_NAME_MAX:
            raise ValidationError(
                field, f"subnet name of {len(subnet['name'])} characters; AWS Name tags stop at {AWS_NAME_MAX}"
            )

    ranges = []  # (network, field)
    for i, subnet in enumerate(subnets):
        block = ipaddress.ip_network(subnet["cidr"])
        if not block.subnet_of(net):
            raise ValidationError(f"subnets[{i}].cidr", f"{block} is not inside the network's {net}")
        ranges.append((block, f"subnets[{i}].cidr" if explicit else "subnet_prefix"))
        for r_index, item in enumerate(subnet["secondary_ranges"]):
            r_field = f"subnets[{i}].secondary_ranges[{r_index}].cidr" if explicit else f"{item['name']}_cidr"
            ranges.append((ipaddress.ip_network(item["cidr"]), r_field))
    for a, (block_a, field_a) in enumerate(ranges):
        for block_b, field_b in ranges[a + 1 :]:
            if block_a.overlaps(block_b):
                raise ValidationError(field_b, f"{block_b} overlaps {block_a} ({field_a})")

    for i, subnet in enumerate(subnets):
        field = f"subnets[{i}]"
        block = ipaddress.ip_network(subnet["cidr"])
        if subnet["role"] == "gateway":
            if cloud != "azure":
                raise ValidationError(f"{field}.role", "gateway subnets exist only on azure")
            if subnet["name"] != AZURE_GATEWAY_SUBNET:
                raise ValidationError(
                    f"{field}.name", f"Azure requires the gateway subnet to be named {AZURE_GATEWAY_SUBNET}"
                )
            if block.prefixlen > AZURE_GATEWAY_MAX_PREFIX:
                raise ValidationError(
                    f"{field}.cidr",
                    f"a VPN gateway needs at least a /{AZURE_GATEWAY_MAX_PREFIX}, got /{block.prefixlen}",
                )
        elif cloud == "azure" and subnet["name"] == AZURE_GATEWAY_SUBNET:
            raise ValidationError(f"{field}.role", f"{AZURE_GATEWAY_SUBNET} must have role gateway")
        if cloud == "aws":
            if not subnet["zone"] and explicit:
                raise ValidationError(f"{field}.zone", "AWS subnets live in one availability zone; name it")
            if zones is not None and subnet["zone"] and subnet["zone"] not in zones:
                raise ValidationError(
                    f"{field}.zone", f"{subnet['zone']!r} is not an available zone here ({', '.join(zones)})"
                )
        elif subnet["zone"]:
            raise ValidationError(f"{field}.zone", f"{cloud} subnets are regional; remove zone")

    nodes = [s for s in subnets if s["role"] == "nodes"]
    if not nodes:
        raise ValidationError("subnets", "at least one subnet with role nodes is needed")
    if cloud == "aws":
        node_zones = {s["zone"] for s in nodes}
        if len(nodes) < AWS_MIN_ZONES or (None not in node_zones and len(node_zones) < AWS_MIN_ZONES):
            raise ValidationError(
                "subnets[0]" if explicit else "subnet_count",
                "EKS needs node subnets in at least two availability zones",
            )


def _comparable_subnet(subnet):
    return {
        "cidr": subnet.get("cidr"),
        "zone": subnet.get("zone") or None,
        "secondary_ranges": sorted((r["name"], r["cidr"]) for r in subnet.get("secondary_ranges") or []),
    }


def plan_network(current, desired, state="present", purge_subnets=False):
    """Actions that turn ``current`` (None: absent) into ``desired``.

    Raises :class:`ImmutableFieldsError` listing every field that would need a replacement.
    """
    if state == "absent":
        return [] if current is None else [{"action": "delete_network"}]
    if current is None:
        actions = [{"action": "create_network"}]
        actions += [{"action": "create_subnet", "subnet": subnet} for subnet in desired["subnets"]]
        return actions

    immutable = []
    # A GCP network made elsewhere records no address space (None): nothing to compare.
    if current.get("cidr") is not None and current["cidr"] != desired["cidr"]:
        immutable.append(("cidr", current.get("cidr"), desired["cidr"], "a network's address space is fixed here"))
    existing = {s["name"]: s for s in current.get("subnets") or []}
    actions = []
    extra = current.get("extra") or {}
    if desired["cloud"] == "aws" and not (extra.get("internet_gateway_id") and extra.get("route_table_id")):
        # A create that stopped half way: creating the network again fills in what is missing.
        actions.append({"action": "create_network"})
    for i, subnet in enumerate(desired["subnets"]):
        have = existing.get(subnet["name"])
        if have is None:
            actions.append({"action": "create_subnet", "subnet": subnet})
            continue
        before, after = _comparable_subnet(have), _comparable_subnet(subnet)
        for key in ("cidr", "zone", "secondary_ranges"):
            if before[key] != after[key] and not (key == "zone" and after[key] is None):
                immutable.append(
                    (
                        f"subnets[{i}].{key}",
                        before[key],
                        after[key],
                        "subnets are replaced, not changed: delete and recreate",
                    )
                )
    if immutable:
        raise ImmutableFieldsError(immutable, resource=f"network {desired['name']}")
    wanted = {s["name"] for s in desired["subnets"]}
    if purge_subnets:
        actions += [
            {"action": "delete_subnet", "subnet": s} for s in current.get("subnets") or [] if s["name"] not in wanted
        ]
    tags = tags_action(current.get("tags"), desired["tags"], desired["purge_tags"])
    if tags:
        actions.append(tags)
    return actions


def expected_after(current, desired, actions):
    """The network as it will be once ``actions`` ran (for check mode and diff ``after``)."""
    if any(a["action"] == "delete_network" for a in actions):
        return None
    base = (
        dict(current)
        if current
        else {
            "cloud": desired["cloud"],
            "region": desired["region"],
            "name": desired["name"],
            "id": None,
            "cidr": desired["cidr"],
            "subnets": [],
            "tags": {},
            "provider": desired["provider"],
        }
    )
    subnets = [dict(s) for s in base.get("subnets") or []]
    for action in actions:
        if action["action"] == "create_subnet":
            subnets.append(dict(action["subnet"], id=None))
        elif action["action"] == "delete_subnet":
            subnets = [s for s in subnets if s["name"] != action["subnet"]["name"]]
        elif action["action"] == "update_tags":
            base["tags"] = dict(action["tags"])
    if not current and desired["tags"]:
        base["tags"] = dict(desired["tags"])
    base["subnets"] = subnets
    return base


def portable_view(network):
    """What diffs and results show of a network: no raw provider object."""
    if network is None:
        return None
    view = {
        key: network.get(key) for key in ("cloud", "region", "name", "id", "cidr", "tags", "provider") if key in network
    }
    view["subnets"] = [
        {key: s.get(key) for key in ("name", "id", "cidr", "zone", "role", "secondary_ranges")}
        for s in network.get("subnets") or []
    ]
    return view
