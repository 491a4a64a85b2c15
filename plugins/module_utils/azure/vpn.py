# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure's side of the VPN mesh (``common/contracts.py`` ``VpnGateways``), on azure-mgmt-network.

The gateway phase owns the VNet's ``GatewaySubnet`` (created from ``network.gateway_subnet_cidr``
when missing; an existing one is used as is), two Standard static public IPs and one active-active,
BGP-enabled virtual network gateway whose instances carry the APIPA addresses of their tunnels as
custom BGP addresses. Each remote public address (an AWS tunnel's outside address, a GCP HA VPN
interface) gets a local network gateway (the peer's address, ASN and BGP address) and one IPsec
connection to it: IKEv2, BGP on, the tunnel's pre-shared key, and per gateway instance the custom
BGP address it uses on that connection. Azure builds a tunnel from each instance to every
connection's peer; the peer answers the one the mesh planned.

Every tunnel gets a local network gateway and a connection of its own (named like the tunnel):
a connection has one key and a local network gateway one BGP peer address, and the mesh gives
each tunnel its own key and /30, also the two tunnels of a GCP interface, which meet both Azure
instances at the same remote address.

Names: ``<mesh>-gw``, ``<mesh>-gw-ip0|1``, ``<mesh>-<pair>-<n>`` (local network gateway and its
connection, as the tunnel); the gateway subnet is always ``GatewaySubnet`` (Azure's rule) and is read as the VNet's
(its range only matters when it is created). A pre-shared key is read through the sharedkey API and
shown only as its fingerprint (``psk_fingerprint``), so a rotation is seen, and is an update of the
key alone, without the key ever being returned. ``tunnel_status`` gives BGP's own ``Established``
for a peer Azure reports Connected. Long operations are waited for within the task's
deadline; a throttled operation poll falls back to reading the resource. The translation functions
are pure; the SDK is only touched through :class:`Connection`.
"""

from __future__ import annotations

import functools
import re

from ansible_collections.multicloud.fabric.plugins.module_utils.azure.client import CLOUD, parse_id, to_wire
from ansible_collections.multicloud.fabric.plugins.module_utils.azure.network import GATEWAY_SUBNET
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    FabricError,
    ValidationError,
    found_or,
    missing_means,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.spec import psk_fingerprint

KINDS = ("gateway_subnet", "public_ip", "vpn_gateway", "local_network_gateway", "connection")
GATEWAY_KINDS = KINDS[:3]
# Independent resources ARM makes side by side. Not connections: the gateway takes one connection
# operation at a time and answers a second with 409 AnotherOperationInProgress.
CONCURRENT_KINDS = frozenset(("public_ip", "local_network_gateway"))
# A connection's key is never read back as such (its fingerprint is); the subnet's range only
# matters on creation.
WRITE_ONLY = frozenset(("psk", "cidr"))
SKU = "VpnGw2"
GENERATION = "Generation2"
INSTANCES = 2
PROTOCOL = "IKEv2"
_PROTOCOLS = {2: "IKEv2", 1: "IKEv1"}
# A connection update that changes only these goes through the sharedkey API.
_KEY_ONLY = frozenset(("psk", "psk_fingerprint"))
# BgpPeerStatus.state -> the portable BGP state (Established as BGP says it; the rest as Azure does).
_BGP_STATES = {"Connected": "Established"}
# provisioningState while ARM is still working on a resource.
_BUSY = frozenset(("Updating", "Deleting"))
# kind -> (NetworkManagementClient operations, REST operation of its GET, what it is called)
_GETTERS = {
    "public_ip": ("public_ip_addresses", "PublicIPAddresses_Get", "public IP"),
    "vpn_gateway": ("virtual_network_gateways", "VirtualNetworkGateways_Get", "virtual network gateway"),
    "local_network_gateway": ("local_network_gateways", "LocalNetworkGateways_Get", "local network gateway"),
    "connection": ("virtual_network_gateway_connections", "VirtualNetworkGatewayConnections_Get", "connection"),
}


# ----------------------------------------------------------------------------- translation


def ref(kind, name):
    return {"ref": f"{kind}/{name}"}


def owns(desired, name):
    """True when ``name`` is one of the names this mesh gives its resources (and not another mesh's
    whose name merely starts with this one's)."""
    pattern = r"(gw|gw-ip[0-9]+|[a-z]+-azure-[0-9]+)"
    return re.fullmatch(re.escape(desired["name"]) + "-" + pattern, str(name), flags=re.IGNORECASE) is not None


def gateway_name(desired):
    return f"{desired['name']}-gw"


def public_ip_name(desired, index):
    return f"{desired['name']}-gw-ip{index}"


def _network(desired):
    network = desired.get("network") or {}
    for key in ("vnet", "resource_group"):
        if not network.get(key):
            raise ValidationError(f"network.{key}", "the Azure VPN gateway needs the VNet and its resource group")
    return network


def _instance(tunnel):
    index = (tunnel.get("local") or {}).get("interface")
    if index not in range(INSTANCES):
        raise ValidationError(
            f"tunnels.{tunnel.get('name')}.local.interface",
            f"expected 0 or 1 (an active-active instance), got {index!r}",
        )
    return index


def peers(desired):
    """One local network gateway and one connection per tunnel of ``desired["tunnels"]``, named
    like the tunnel: ``[(name, [tunnel])]`` in tunnel order.

    An Azure connection has one key and its local network gateway one BGP peer address, while the
    mesh gives every tunnel its own key and /30 (two tunnels of a GCP interface meet both Azure
    instances). So each tunnel gets a connection of its own; of its two instances only the one
    whose custom BGP address shares the tunnel's /30 with the peer runs BGP and carries traffic,
    the other one's tunnel stays down (see ``_custom_bgp``)."""
    out = []
    for tunnel in desired.get("tunnels") or []:
        if not (tunnel.get("remote") or {}).get("public_ip"):
            raise ValidationError(
                f"tunnels.{tunnel.get('name')}.remote.public_ip", "every tunnel needs its peer's address"
            )
        out.append((tunnel["name"], [tunnel]))
    return out


def bgp_addresses(desired):
    """Per gateway instance, the APIPA addresses of the tunnels it terminates (sorted): of every
    tunnel of the mesh's layout when it is known, so pairs that come later need no update."""
    found = [set() for _index in range(INSTANCES)]
    for tunnel in desired.get("layout") or desired.get("tunnels") or []:
        found[_instance(tunnel)].add(tunnel["local"]["bgp_ip"])
    return [sorted(addresses) for addresses in found]


def _custom_bgp(tunnels, addresses):
    """Per instance, the custom BGP address a connection uses: its tunnel's where it has one, else the
    instance's first (Azure wants one per instance of an active-active gateway)."""
    chosen = []
    for index in range(INSTANCES):
        own = [t["local"]["bgp_ip"] for t in tunnels if _instance(t) == index]
        chosen.append(own[0] if own else addresses[index][0])
    return chosen


def resources(desired):
    """Every resource ``desired`` needs (pure: no call to Azure)."""
    network = _network(desired)
    tags = dict(desired.get("tags") or {})
    subnet = {"kind": "gateway_subnet", "name": GATEWAY_SUBNET, "spec": {"vnet": network["vnet"]}, "replace_on": "*"}
    if network.get("gateway_subnet_cidr"):
        subnet["spec"]["cidr"] = network["gateway_subnet_cidr"]
    out = [subnet]
    for index in range(INSTANCES):
        out.append(
            {
                "kind": "public_ip",
                "name": public_ip_name(desired, index),
                "spec": {"sku": "Standard", "allocation": "Static", "tags": tags},
                "replace_on": ["sku", "allocation"],
            }
        )
    gateway = {
        "sku": SKU,
        "generation": GENERATION,
        "active_active": True,
        "asn": int(desired["asn"]),
        "subnet": ref("gateway_subnet", GATEWAY_SUBNET),
        "public_ips": [ref("public_ip", public_ip_name(desired, i)) for i in range(INSTANCES)],
        "tags": tags,
    }
    addresses = bgp_addresses(desired)
    # A gateway phase that knows no layout leaves the instances' APIPA addresses alone.
    if desired.get("layout") or desired.get("tunnels"):
        gateway["bgp_addresses"] = addresses
    out.append(
        {
            "kind": "vpn_gateway",
            "name": gateway_name(desired),
            "spec": gateway,
            "replace_on": ["generation", "subnet", "public_ips"],
        }
    )
    for name, tunnels in peers(desired):
        first = tunnels[0]
        out.append(
            {
                "kind": "local_network_gateway",
                "name": name,
                "spec": {
                    "gateway_ip": first["remote"]["public_ip"],
                    "asn": int(first["remote"]["asn"]),
                    "bgp_peering_address": first["remote"]["bgp_ip"],
                    "tags": tags,
                },
                "replace_on": [],
            }
        )
        out.append(
            {
                "kind": "connection",
                "name": name,
                "spec": {
                    "gateway": ref("vpn_gateway", gateway_name(desired)),
                    "local_network_gateway": ref("local_network_gateway", name),
                    "psk": first["psk"],
                    "psk_fingerprint": psk_fingerprint(name, first["psk"]),
                    "protocol": _PROTOCOLS.get(int(first.get("ike_version") or 2), PROTOCOL),
                    "enable_bgp": True,
                    "custom_bgp": _custom_bgp(tunnels, addresses),
                    "tags": tags,
                },
                "replace_on": ["gateway", "local_network_gateway"],
            }
        )
    return out


def _resolve(value, ids, field):
    key = value["ref"]
    if key not in ids:
        raise ValidationError(field, f"{key} does not exist yet; create it first")
    return ids[key]


def public_ip_body(desired, spec):
    return {
        "location": desired["region"],
        "tags": dict(spec.get("tags") or {}),
        "sku": {"name": spec["sku"], "tier": "Regional"},
        "properties": {"publicIPAllocationMethod": spec["allocation"], "publicIPAddressVersion": "IPv4"},
    }


def gateway_body(desired, spec, ids, resource_id):
    subnet = _resolve(spec["subnet"], ids, "spec.subnet")
    configs, peerings = [], []
    addresses = spec.get("bgp_addresses") or [[] for _index in range(INSTANCES)]
    for index, public_ip in enumerate(spec["public_ips"]):
        config = f"ipconfig{index}"
        configs.append(
            {
                "name": config,
                "properties": {
                    "privateIPAllocationMethod": "Dynamic",
                    "subnet": {"id": subnet},
                    "publicIPAddress": {"id": _resolve(public_ip, ids, f"spec.public_ips[{index}]")},
                },
            }
        )
        peerings.append(
            {
                "ipconfigurationId": f"{resource_id}/ipConfigurations/{config}",
                "customBgpIpAddresses": list(addresses[index]),
            }
        )
    return {
        "location": desired["region"],
        "tags": dict(spec.get("tags") or {}),
        "properties": {
            "gatewayType": "Vpn",
            "vpnType": "RouteBased",
            "sku": {"name": spec["sku"], "tier": spec["sku"]},
            "vpnGatewayGeneration": spec["generation"],
            "activeActive": bool(spec["active_active"]),
            "enableBgp": True,
            "ipConfigurations": configs,
            "bgpSettings": {"asn": int(spec["asn"]), "bgpPeeringAddresses": peerings},
        },
    }


def local_network_gateway_body(desired, spec):
    return {
        "location": desired["region"],
        "tags": dict(spec.get("tags") or {}),
        "properties": {
            "gatewayIpAddress": spec["gateway_ip"],
            "localNetworkAddressSpace": {"addressPrefixes": []},
            "bgpSettings": {"asn": int(spec["asn"]), "bgpPeeringAddress": spec["bgp_peering_address"]},
        },
    }


def connection_body(desired, spec, ids):
    gateway = _resolve(spec["gateway"], ids, "spec.gateway")
    return {
        "location": desired["region"],
        "tags": dict(spec.get("tags") or {}),
        "properties": {
            "connectionType": "IPsec",
            # The ARM schema wants the referenced gateways as resources: an id and (empty) properties.
            "virtualNetworkGateway1": {"id": gateway, "properties": {}},
            "localNetworkGateway2": {
                "id": _resolve(spec["local_network_gateway"], ids, "spec.local_network_gateway"),
                "properties": {},
            },
            "sharedKey": spec["psk"],
            "connectionProtocol": spec["protocol"],
            "enableBgp": bool(spec["enable_bgp"]),
            "gatewayCustomBgpIpAddresses": [
                {"ipConfigurationId": f"{gateway}/ipConfigurations/ipconfig{i}", "customBgpIpAddress": address}
                for i, address in enumerate(spec["custom_bgp"])
            ],
        },
    }


def _ref_of(resource_id, kind):
    name = parse_id(resource_id).get("child" if kind == "gateway_subnet" else "name")
    return ref(kind, name)


def _state(props):
    return str((props or {}).get("provisioningState") or "Succeeded")


def gateway_from_arm(gateway):
    props = gateway.get("properties") or {}
    configs = props.get("ipConfigurations") or []
    bgp = props.get("bgpSettings") or {}
    by_config = {str(p.get("ipconfigurationId")).lower(): p for p in bgp.get("bgpPeeringAddresses") or []}
    subnets = [((c.get("properties") or {}).get("subnet") or {}).get("id") for c in configs]
    spec = {
        "sku": (props.get("sku") or {}).get("name"),
        "generation": props.get("vpnGatewayGeneration"),
        "active_active": bool(props.get("activeActive")),
        "asn": bgp.get("asn"),
        "subnet": _ref_of(subnets[0], "gateway_subnet") if subnets else None,
        "public_ips": [
            _ref_of(((c.get("properties") or {}).get("publicIPAddress") or {}).get("id"), "public_ip") for c in configs
        ],
        "bgp_addresses": [
            sorted((by_config.get(str(c.get("id")).lower()) or {}).get("customBgpIpAddresses") or []) for c in configs
        ],
        "tags": dict(gateway.get("tags") or {}),
    }
    return spec


def connection_from_arm(connection, psk):
    """The portable spec of a connection's REST JSON; ``psk`` (from the sharedkey API, or None when
    it cannot be read) only as its fingerprint."""
    props = connection.get("properties") or {}
    customs = {
        str(c.get("ipConfigurationId")).rsplit("/", 1)[-1]: c.get("customBgpIpAddress")
        for c in props.get("gatewayCustomBgpIpAddresses") or []
    }
    spec = {
        "gateway": _ref_of((props.get("virtualNetworkGateway1") or {}).get("id"), "vpn_gateway"),
        "local_network_gateway": _ref_of((props.get("localNetworkGateway2") or {}).get("id"), "local_network_gateway"),
        "protocol": props.get("connectionProtocol"),
        "enable_bgp": bool(props.get("enableBgp")),
        "custom_bgp": [customs[k] for k in sorted(customs)],
        "tags": dict(connection.get("tags") or {}),
    }
    if psk is not None:
        spec["psk_fingerprint"] = psk_fingerprint(connection["name"], psk)
    return spec


# ----------------------------------------------------------------------------- adapter


class VpnGateways:
    """Azure's VPN gateway and peerings through a :class:`Connection` (see the module docstring)."""

    KINDS = KINDS
    GATEWAY_KINDS = GATEWAY_KINDS
    CONCURRENT_KINDS = CONCURRENT_KINDS
    WRITE_ONLY = WRITE_ONLY

    def __init__(self, conn):
        self.conn = conn
        self.warnings = []

    def __repr__(self):
        return f"VpnGateways(cloud='azure', subscription={self.conn.subscription_id!r})"

    @property
    def _ops(self):
        return self.conn.network

    def resources(self, desired):
        return resources(desired)

    # ------------------------------------------------------------------ reading

    def read(self, desired):
        network = _network(desired)
        group = network["resource_group"]
        out = []
        subnet = self._get_subnet(group, network["vnet"])
        if subnet is not None:
            out.append(self._current("gateway_subnet", subnet, {"vnet": network["vnet"]}))
        ops = self._ops
        listings = (
            ("public_ip", ops.public_ip_addresses.list, "PublicIPAddresses_List"),
            ("vpn_gateway", ops.virtual_network_gateways.list, "VirtualNetworkGateways_List"),
            ("local_network_gateway", ops.local_network_gateways.list, "LocalNetworkGateways_List"),
            ("connection", ops.virtual_network_gateway_connections.list, "VirtualNetworkGatewayConnections_List"),
        )
        for kind, fn, call in listings:
            found = found_or([], self.conn.items, fn, group, resource=f"resource group {group}", call=call)
            for item in sorted((to_wire(i) for i in found), key=lambda i: i["name"]):
                if not owns(desired, item["name"]):
                    continue
                out.append(self._current(kind, item, self._spec_of(kind, group, item)))
        return out

    def _spec_of(self, kind, group, item):
        if kind == "public_ip":
            props = item.get("properties") or {}
            return {
                "sku": (item.get("sku") or {}).get("name"),
                "allocation": props.get("publicIPAllocationMethod"),
                "tags": dict(item.get("tags") or {}),
            }
        if kind == "vpn_gateway":
            return gateway_from_arm(item)
        if kind == "local_network_gateway":
            props = item.get("properties") or {}
            bgp = props.get("bgpSettings") or {}
            return {
                "gateway_ip": props.get("gatewayIpAddress"),
                "asn": bgp.get("asn"),
                "bgp_peering_address": bgp.get("bgpPeeringAddress"),
                "tags": dict(item.get("tags") or {}),
            }
        return connection_from_arm(item, self._shared_key(group, item["name"]))

    @staticmethod
    def _current(kind, item, spec):
        props = item.get("properties") or {}
        current = {"kind": kind, "name": item["name"], "spec": spec, "id": item["id"], "status": _state(props)}
        if kind == "public_ip":
            current["ip_address"] = props.get("ipAddress")
        if kind == "connection":
            current["connection_status"] = props.get("connectionStatus")
            current["tunnels"] = [
                {"tunnel": t.get("tunnel"), "status": t.get("connectionStatus")}
                for t in props.get("tunnelConnectionStatus") or []
            ]
        return current

    @missing_means(None)
    def _get_subnet(self, group, vnet):
        return to_wire(
            self.conn.call(
                self._ops.subnets.get,
                group,
                vnet,
                GATEWAY_SUBNET,
                resource=f"subnet {vnet}/{GATEWAY_SUBNET} (resource group {group})",
                call="Subnets_Get",
            )
        )

    @missing_means(None)
    def _shared_key(self, group, name):
        key = self.conn.call(
            self._ops.virtual_network_gateway_connections.get_shared_key,
            group,
            name,
            resource=f"connection {name} (resource group {group})",
            call="VirtualNetworkGatewayConnections_GetSharedKey",
        )
        return to_wire(key).get("value")

    # ------------------------------------------------------------------ changing

    def apply(self, action, desired, ids, wait=True):
        network = _network(desired)
        group = network["resource_group"]
        kind, name = action["kind"], action["name"]
        if kind not in KINDS:
            raise ValidationError("action.kind", f"expected one of {', '.join(KINDS)}, got {kind!r}")
        if action["action"] == "delete":
            self._delete(group, network, kind, name)
            return None
        if action["action"] not in ("create", "update"):
            raise ValidationError("action.action", f"expected create, update or delete, got {action['action']!r}")
        spec = action["spec"]
        if kind == "gateway_subnet":
            return self._put_subnet(group, network, spec)
        changed = set(_changed(action))
        if kind == "connection" and action["action"] == "update" and changed and changed <= _KEY_ONLY:
            return self._set_shared_key(group, name, spec["psk"], action.get("id"))
        ops = self._ops
        if kind == "public_ip":
            body = public_ip_body(desired, spec)
            fn, call, what = (
                ops.public_ip_addresses.begin_create_or_update,
                "PublicIPAddresses_CreateOrUpdate",
                "public IP",
            )
        elif kind == "vpn_gateway":
            resource_id = (
                f"/subscriptions/{self.conn.subscription_id}/resourceGroups/{group}/providers/"
                f"Microsoft.Network/virtualNetworkGateways/{name}"
            )
            body = gateway_body(desired, spec, ids, resource_id)
            fn, call = ops.virtual_network_gateways.begin_create_or_update, "VirtualNetworkGateways_CreateOrUpdate"
            what = "virtual network gateway"
        elif kind == "local_network_gateway":
            body = local_network_gateway_body(desired, spec)
            fn, call = ops.local_network_gateways.begin_create_or_update, "LocalNetworkGateways_CreateOrUpdate"
            what = "local network gateway"
        else:
            body = connection_body(desired, spec, ids)
            fn = ops.virtual_network_gateway_connections.begin_create_or_update
            call, what = "VirtualNetworkGatewayConnections_CreateOrUpdate", "connection"
        resource = f"{what} {name} (resource group {group})"
        poller = self.conn.begin(fn, group, name, body, resource=resource, call=call)
        if not wait:
            # Accepted: the resource exists, in provisioningState Updating, until the LRO ends.
            return (self._get(kind, group, name) or {}).get("id")
        result = self._complete(poller, resource, call, lambda: self._get(kind, group, name))
        return result.get("id")

    @staticmethod
    def in_progress(current):
        return [f"{r['kind']}/{r['name']}" for r in current if r.get("status") in _BUSY]

    def _put_subnet(self, group, network, spec):
        existing = self._get_subnet(group, network["vnet"])
        if existing is not None:  # an existing GatewaySubnet is used as is
            return existing["id"]
        if not spec.get("cidr"):
            raise ValidationError(
                "network.gateway_subnet_cidr",
                f"VNet {network['vnet']} has no {GATEWAY_SUBNET}; give the range to create it from",
            )
        resource = f"subnet {network['vnet']}/{GATEWAY_SUBNET} (resource group {group})"
        call = "Subnets_CreateOrUpdate"
        poller = self.conn.begin(
            self._ops.subnets.begin_create_or_update,
            group,
            network["vnet"],
            GATEWAY_SUBNET,
            {"properties": {"addressPrefix": spec["cidr"]}},
            resource=resource,
            call=call,
        )
        return self._complete(poller, resource, call, lambda: self._get_subnet(group, network["vnet"])).get("id")

    def _set_shared_key(self, group, name, psk, resource_id):
        resource = f"connection {name} (resource group {group})"
        call = "VirtualNetworkGatewayConnections_SetSharedKey"
        poller = self.conn.begin(
            self._ops.virtual_network_gateway_connections.begin_set_shared_key,
            group,
            name,
            {"value": psk},
            resource=resource,
            call=call,
        )
        self._complete(poller, resource, call, lambda: self._get("connection", group, name))
        return resource_id

    def _delete(self, group, network, kind, name):
        ops = self._ops
        if kind == "gateway_subnet":
            args = (ops.subnets.begin_delete, group, network["vnet"], GATEWAY_SUBNET)
            what, call = f"subnet {network['vnet']}/{GATEWAY_SUBNET}", "Subnets_Delete"
        else:
            fn, call, what = {
                "public_ip": (ops.public_ip_addresses.begin_delete, "PublicIPAddresses_Delete", "public IP"),
                "vpn_gateway": (
                    ops.virtual_network_gateways.begin_delete,
                    "VirtualNetworkGateways_Delete",
                    "virtual network gateway",
                ),
                "local_network_gateway": (
                    ops.local_network_gateways.begin_delete,
                    "LocalNetworkGateways_Delete",
                    "local network gateway",
                ),
                "connection": (
                    ops.virtual_network_gateway_connections.begin_delete,
                    "VirtualNetworkGatewayConnections_Delete",
                    "connection",
                ),
            }[kind]
            args = (fn, group, name)
            what = f"{what} {name}"
        resource = f"{what} (resource group {group})"
        poller = self.conn.begin(*args, resource=resource, call=call)
        if kind == "gateway_subnet":
            fetch = functools.partial(self._get_subnet, group, network["vnet"])
        else:
            fetch = functools.partial(self._get, kind, group, name)
        self._complete(poller, resource, call, fetch, absent=True)

    def _complete(self, poller, resource, call, fetch, absent=False):
        """Wait for an LRO within the deadline; when polling itself was throttled or hit a 5xx (a
        gateway takes 30-45 minutes), go on waiting by reading the resource instead."""
        try:
            return to_wire(self.conn.finish(poller, resource=resource, call=call)) or {}
        except FabricError as exc:
            if not exc.retryable:
                raise
        waiter = self.conn.waiter(
            resource,
            state_of=lambda obj: _state(obj.get("properties")),
            success=("ABSENT",) if absent else ("Succeeded",),
            failure=("Failed", "Canceled"),
        )
        return self.conn.wait(waiter, fetch) or {}

    @missing_means(None)
    def _get(self, kind, group, name):
        operations, call, what = _GETTERS[kind]
        found = self.conn.call(
            getattr(self._ops, operations).get,
            group,
            name,
            resource=f"{what} {name} (resource group {group})",
            call=call,
        )
        return to_wire(found)

    # ------------------------------------------------------------------ facts

    def gateway(self, desired, current):
        addresses = {r["name"]: r.get("ip_address") for r in current if r["kind"] == "public_ip"}
        interfaces = [addresses.get(public_ip_name(desired, i)) for i in range(INSTANCES)]
        return {
            "cloud": CLOUD,
            "region": desired["region"],
            "name": desired["name"],
            "asn": int(desired["asn"]),
            "cidrs": list(desired.get("cidrs") or []),
            # Both instances' addresses, or none while one is not assigned yet (check mode).
            "interfaces": interfaces if all(interfaces) else [],
            "tunnel_ips": {},
        }

    def tunnel_status(self, desired, current):
        network = _network(desired)
        group = network["resource_group"]
        facts = self.gateway(desired, current)
        facts["interfaces"] = facts["interfaces"] or [None] * INSTANCES
        connections = {r["name"]: r for r in current if r["kind"] == "connection"}
        # A gateway that is being built or updated (for up to 45 minutes) answers no BGP queries.
        ready = any(r["kind"] == "vpn_gateway" and r.get("status") == "Succeeded" for r in current)
        bgp, learned = self._bgp(group, gateway_name(desired)) if ready else ([], [])
        out = []
        for name, tunnels in peers(desired):
            connection = connections.get(name)
            for tunnel in tunnels:
                instance = _instance(tunnel)
                local_ip = facts["interfaces"][instance]
                local_bgp, remote_bgp = tunnel["local"]["bgp_ip"], tunnel["remote"]["bgp_ip"]
                status, message = _tunnel_state(connection, name, local_ip)
                peer = next(
                    (p for p in bgp if p.get("localAddress") == local_bgp and p.get("neighbor") == remote_bgp), None
                )
                routes = sorted(
                    {
                        r["network"]
                        for r in learned
                        if r.get("origin") == "EBgp" and r.get("nextHop") == remote_bgp and r.get("network")
                    }
                )
                out.append(
                    {
                        "name": tunnel["name"],
                        "pair": tunnel["pair"],
                        "index": tunnel["index"],
                        "status": status,
                        "status_message": message,
                        "bgp_state": _BGP_STATES.get((peer or {}).get("state"), (peer or {}).get("state") or "Unknown"),
                        "routes_learned": routes if status == "UP" else [],
                        "local_public_ip": local_ip,
                        "remote_public_ip": tunnel["remote"]["public_ip"],
                    }
                )
        return out

    def _bgp(self, group, name):
        ops = self._ops.virtual_network_gateways
        resource = f"virtual network gateway {name} (resource group {group})"
        answers = []
        for fn, call in (
            (ops.begin_get_bgp_peer_status, "VirtualNetworkGateways_GetBgpPeerStatus"),
            (ops.begin_get_learned_routes, "VirtualNetworkGateways_GetLearnedRoutes"),
        ):
            poller = self.conn.begin(fn, group, name, resource=resource, call=call)
            answers.append((to_wire(self.conn.finish(poller, resource=resource, call=call)) or {}).get("value") or [])
        return answers[0], answers[1]


def _changed(action):
    changes = action.get("changes")
    if changes is None:
        return ()
    return list(changes)


def _tunnel_state(connection, name, local_ip):
    if connection is None:
        return "DOWN", f"connection {name} does not exist"
    found = next((t for t in connection.get("tunnels") or [] if local_ip and local_ip in str(t.get("tunnel"))), None)
    overall = connection.get("connection_status") or "Unknown"
    if found is None:
        return "DOWN", f"connection {name}: no tunnel from {local_ip} (connectionStatus {overall})"
    state = found.get("status") or "Unknown"
    return ("UP" if state == "Connected" else "DOWN"), f"connection {name}: tunnel {state} (connectionStatus {overall})"
