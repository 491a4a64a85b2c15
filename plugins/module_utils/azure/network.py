# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure virtual networks in the portable network shape (``network/spec.py``).

A portable network is a VNet (address space ``[cidr]``) in a resource group, its subnets (the
gateway subnet is named ``GatewaySubnet``, as Azure requires) and its tags. The resource group is
created with the network when ``provider.create_resource_group`` is set and it is missing, and is
deleted with the network only when that option is set and nothing else is left in it.

The translation functions (``network_body``, ``subnet_body``, ``network_from_arm``) are pure and work
on the REST JSON (camelCase) the SDK models convert to and from.
"""

from __future__ import annotations

import copy
import functools

from ansible_collections.multicloud.fabric.plugins.module_utils.azure.client import (
    CLOUD,
    parse_id,
    resource_group_id,
    to_wire,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.azure.client import (
    resource_group_of as client_resource_group_of,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.common.contracts import NETWORK_ACTIONS, perform
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    DENIED,
    NOT_FOUND,
    FabricError,
    found_or,
    missing_means,
)

GATEWAY_SUBNET = "GatewaySubnet"
_STATUS = {"succeeded": "available", "updating": "updating", "deleting": "deleting", "failed": "failed"}


# ----------------------------------------------------------------------------- translation


def normalize_location(location):
    """ARM's canonical location name: ``"West Europe"`` -> ``"westeurope"``."""
    return str(location or "").lower().replace(" ", "")


def subnet_name(subnet):
    """The Azure name of a portable subnet: a gateway subnet is always ``GatewaySubnet``."""
    return GATEWAY_SUBNET if subnet.get("role") == "gateway" else subnet["name"]


def network_body(desired):
    """The VNet PUT body for a desired network (its subnets are created one by one after it)."""
    return {
        "location": desired["region"],
        "tags": dict(desired.get("tags") or {}),
        "properties": {"addressSpace": {"addressPrefixes": [desired["cidr"]]}},
    }


def subnet_body(subnet):
    """The subnet PUT body for a desired subnet."""
    return {"properties": {"addressPrefix": subnet["cidr"]}}


def subnet_from_arm(subnet):
    """A portable subnet from a subnet's REST JSON."""
    props = subnet.get("properties") or {}
    prefixes = props.get("addressPrefixes") or []
    name = subnet.get("name")
    return {
        "name": name,
        "id": subnet.get("id"),
        "cidr": props.get("addressPrefix") or (prefixes[0] if prefixes else None),
        "zone": None,
        "role": "gateway" if name == GATEWAY_SUBNET else "nodes",
        "secondary_ranges": [],
    }


def network_status(provisioning_state):
    return _STATUS.get(str(provisioning_state or "succeeded").lower(), str(provisioning_state).lower())


def network_from_arm(vnet, desired=None):
    """The portable current network from a VNet's REST JSON.

    What Azure does not record (``purge_tags``, ``provider.create_resource_group``) is taken from
    ``desired`` when given, so a read of a network just created compares equal to its desired shape.
    """
    desired = desired or {}
    props = vnet.get("properties") or {}
    ids = parse_id(vnet.get("id"))
    prefixes = (props.get("addressSpace") or {}).get("addressPrefixes") or []
    group = ids.get("resource_group")
    wanted = desired.get("provider") or {}
    return {
        "cloud": "azure",
        "region": vnet.get("location"),
        "name": vnet.get("name"),
        "cidr": prefixes[0] if prefixes else None,
        "subnets": [subnet_from_arm(s) for s in props.get("subnets") or []],
        "tags": dict(vnet.get("tags") or {}),
        "purge_tags": bool(desired.get("purge_tags", False)),
        "provider": {
            "project": None,
            "resource_group": group,
            "create_resource_group": bool(wanted.get("create_resource_group", False)),
        },
        "id": vnet.get("id"),
        "status": network_status(props.get("provisioningState")),
        "extra": {"resource_group_id": resource_group_id(ids.get("subscription"), group) if group else None},
        "raw": copy.deepcopy(vnet),
    }


# The resource group of a desired network; the error names azure.resource_group.
resource_group_of = functools.partial(client_resource_group_of, what="Azure networks")


# ----------------------------------------------------------------------------- adapter


class Networks:
    """Reads and changes Azure virtual networks through a :class:`Connection`.

    ``warnings`` collects what the module should tell the user without failing (e.g. a resource
    group kept because it still holds other resources).
    """

    ACTIONS = NETWORK_ACTIONS

    def __init__(self, conn):
        self.conn = conn
        self.warnings = []

    def zones(self, region):
        """Azure subnets are regional: no zones to plan."""
        return []

    @staticmethod
    def _resource(group, name):
        return f"virtual network {name} (resource group {group})"

    @missing_means(None)
    def _get(self, group, name):
        vnet = self.conn.call(
            self.conn.network.virtual_networks.get,
            group,
            name,
            resource=self._resource(group, name),
            call="VirtualNetworks_Get",
        )
        return to_wire(vnet)

    def read(self, desired):
        """The current network (portable shape) named like ``desired``, or None when absent."""
        group = resource_group_of(desired)
        vnet = self._get(group, desired["name"])
        return None if vnet is None else network_from_arm(vnet, desired)

    def list(self, region=None, provider=None):
        """Every VNet of the subscription (or of ``provider.resource_group``), in ``region`` if given."""
        group = (provider or {}).get("resource_group")
        ops = self.conn.network.virtual_networks
        if group:
            found = found_or(
                [], self.conn.items, ops.list, group, resource=f"resource group {group}", call="VirtualNetworks_List"
            )
        else:
            found = found_or(
                [], self.conn.items, ops.list_all, resource="virtual networks", call="VirtualNetworks_ListAll"
            )
        shapes = [network_from_arm(to_wire(vnet)) for vnet in found]
        if region:
            shapes = [s for s in shapes if normalize_location(s["region"]) == normalize_location(region)]
        return shapes

    def apply(self, action, desired, current):
        """Perform one planner action and wait for it to finish (within the connection's deadline)."""
        perform(self, CLOUD, "network", action, desired, resource_group_of(desired), current)

    # ------------------------------------------------------------------ actions

    def _update_tags(self, action, desired, group, current):
        name = desired["name"]
        self.conn.call(
            self.conn.network.virtual_networks.update_tags,
            group,
            name,
            {"tags": dict(action["tags"])},
            resource=self._resource(group, name),
            call="VirtualNetworks_UpdateTags",
        )

    def _create_network(self, action, desired, group, current):
        name = desired["name"]
        provider = desired.get("provider") or {}
        if provider.get("create_resource_group"):
            self._ensure_group(group, desired)
        resource = self._resource(group, name)
        poller = self.conn.begin(
            self.conn.network.virtual_networks.begin_create_or_update,
            group,
            name,
            network_body(desired),
            resource=resource,
            call="VirtualNetworks_CreateOrUpdate",
        )
        self._complete(poller, resource, "VirtualNetworks_CreateOrUpdate", lambda: self._get(group, name))

    def _ensure_group(self, group, desired):
        groups = self.conn.resources.resource_groups
        resource = f"resource group {group}"
        if self.conn.call(groups.check_existence, group, resource=resource, call="ResourceGroups_CheckExistence"):
            return
        self.conn.call(
            groups.create_or_update,
            group,
            {"location": desired["region"], "tags": dict(desired.get("tags") or {})},
            resource=resource,
            call="ResourceGroups_CreateOrUpdate",
        )

    @missing_means(None)
    def _get_subnet(self, group, vnet, name):
        subnet = self.conn.call(
            self.conn.network.subnets.get,
            group,
            vnet,
            name,
            resource=f"subnet {vnet}/{name} (resource group {group})",
            call="Subnets_Get",
        )
        return to_wire(subnet)

    def _create_subnet(self, action, desired, group, current):
        vnet, name, subnet = desired["name"], subnet_name(action["subnet"]), action["subnet"]
        resource = f"subnet {vnet}/{name} (resource group {group})"
        poller = self.conn.begin(
            self.conn.network.subnets.begin_create_or_update,
            group,
            vnet,
            name,
            subnet_body(subnet),
            resource=resource,
            call="Subnets_CreateOrUpdate",
        )
        self._complete(poller, resource, "Subnets_CreateOrUpdate", lambda: self._get_subnet(group, vnet, name))

    def _delete_subnet(self, action, desired, group, current):
        vnet, name = desired["name"], action["subnet"]["name"]
        resource = f"subnet {vnet}/{name} (resource group {group})"
        poller = self.conn.begin(
            self.conn.network.subnets.begin_delete, group, vnet, name, resource=resource, call="Subnets_Delete"
        )
        self._complete(poller, resource, "Subnets_Delete", lambda: self._get_subnet(group, vnet, name), absent=True)

    def _delete_network(self, action, desired, group, current):
        name = desired["name"]
        resource = self._resource(group, name)
        poller = self.conn.begin(
            self.conn.network.virtual_networks.begin_delete,
            group,
            name,
            resource=resource,
            call="VirtualNetworks_Delete",
        )
        self._complete(poller, resource, "VirtualNetworks_Delete", lambda: self._get(group, name), absent=True)
        if (desired.get("provider") or {}).get("create_resource_group"):
            self._delete_group_if_empty(group, (current or {}).get("id"))

    def _delete_group_if_empty(self, group, deleted_id):
        """Delete ``group`` when nothing is left in it (ARM's listing may still show the VNet just deleted)."""
        resource = f"resource group {group}"
        try:
            left = self.conn.items(
                self.conn.resources.resources.list_by_resource_group,
                group,
                resource=resource,
                call="Resources_ListByResourceGroup",
            )
        except FabricError as exc:
            if exc.kind == NOT_FOUND and exc.code == "ResourceGroupNotFound":
                return
            if exc.kind in (NOT_FOUND, DENIED):
                # Never delete a group whose content cannot be seen.
                self.warnings.append(
                    f"kept resource group {group}: its resources could not be listed ({exc.code or exc.kind})"
                )
                return
            raise
        others = [r for r in left if str(to_wire(r).get("id") or "").lower() != str(deleted_id or "").lower()]
        if others:
            self.warnings.append(f"kept resource group {group}: it still holds {len(others)} other resource(s)")
            return
        poller = self.conn.begin(
            self.conn.resources.resource_groups.begin_delete, group, resource=resource, call="ResourceGroups_Delete"
        )

        @missing_means(None)
        def fetch():
            return to_wire(
                self.conn.call(
                    self.conn.resources.resource_groups.get, group, resource=resource, call="ResourceGroups_Get"
                )
            )

        self._complete(poller, resource, "ResourceGroups_Delete", fetch, absent=True)

    def _complete(self, poller, resource, call, fetch, absent=False):
        """Wait for an LRO; if polling itself was throttled or hit a 5xx, confirm by reading instead."""
        try:
            self.conn.finish(poller, resource=resource, call=call)
            return
        except FabricError as exc:
            if not exc.retryable:
                raise
        waiter = self.conn.waiter(
            resource,
            state_of=lambda obj: str((obj.get("properties") or {}).get("provisioningState") or "Succeeded"),
            success=("ABSENT",) if absent else ("Succeeded",),
            failure=("Failed", "Canceled"),
        )
        self.conn.wait(waiter, fetch)
