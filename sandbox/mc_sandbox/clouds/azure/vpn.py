"""Microsoft.Network's site-to-site VPN as the sandbox serves it: virtual network gateways, local
network gateways and IPsec connections, made real by the sandbox's VPN fabric.

The shapes and rules are NRP's: a gateway's PUT is a long-running operation (201 +
Azure-AsyncOperation, ``Updating`` -> ``Succeeded`` after the real 30-45 minutes scaled by the
time factor); an active-active gateway has two ipConfigurations, each with a Standard static public
IP and the VNet's ``GatewaySubnet``; custom (APIPA) BGP addresses only in 169.254.21.0 -
169.254.22.255; ASNs Azure keeps for itself are refused; a gateway (or a local network gateway) a
connection uses cannot be deleted; a connection's ``sharedKey`` is never returned by GET (it has
its own ``sharedkey`` resource). ``getBgpPeerStatus`` and ``getLearnedRoutes`` are POST operations
answered through the operation result URL.

After every change the whole set is published to the fabric (``CloudContext.vpn``): one gateway
per virtual network gateway (announcing its VNet's address space) and, per connection, one tunnel
end per gateway instance, as Azure builds a tunnel from each active-active instance. The status
fields (``connectionStatus``, ``tunnelConnectionStatus``, BGP peer state, learned routes) are
read back from the fabric; without one the API still answers and every tunnel is NotConnected.
"""

from __future__ import annotations

import copy
import ipaddress
import logging
import secrets
import uuid

from mc_sandbox.clouds.azure.arm import (
    JSON,
    ArmError,
    ArmState,
    Request,
    Response,
    invalid,
    normalize_location,
    not_found,
    public,
)
from mc_sandbox.clouds.azure.network import PIP_TYPE, VNET_TYPE, Network
from mc_sandbox.core.config import scaled

log = logging.getLogger(__name__)

NAMESPACE = "Microsoft.Network"
GATEWAY_TYPE = "Microsoft.Network/virtualNetworkGateways"
LNG_TYPE = "Microsoft.Network/localNetworkGateways"
CONNECTION_TYPE = "Microsoft.Network/connections"
TYPES = {"virtualnetworkgateways": GATEWAY_TYPE, "localnetworkgateways": LNG_TYPE, "connections": CONNECTION_TYPE}

# How long each operation really takes on Azure (seconds); scaled by the sandbox's time factor.
GATEWAY_CREATE_SECONDS = 1800
GATEWAY_UPDATE_SECONDS = 900
GATEWAY_DELETE_SECONDS = 600
LNG_SECONDS = 10
CONNECTION_SECONDS = 60
CONNECTION_DELETE_SECONDS = 60
QUERY_SECONDS = 5

APIPA = (ipaddress.ip_address("169.254.21.0"), ipaddress.ip_address("169.254.22.255"))
DEFAULT_ASN = 65515
# Reserved by Azure (private 65515, 65517-65520; public 8074, 8075, 12076) and by IANA.
AZURE_PRIVATE_ASNS = frozenset((65515, 65517, 65518, 65519, 65520))
AZURE_PUBLIC_ASNS = frozenset((8074, 8075, 12076))
IANA_RESERVED = frozenset((0, 23456, 4294967295, *range(64496, 64512), *range(65535, 65552)))
VPN_SKUS = (
    "Basic",
    "VpnGw1",
    "VpnGw2",
    "VpnGw3",
    "VpnGw4",
    "VpnGw5",
    "VpnGw1AZ",
    "VpnGw2AZ",
    "VpnGw3AZ",
    "VpnGw4AZ",
    "VpnGw5AZ",
)
PROTOCOLS = {"IKEv2": 2, "IKEv1": 1}
SHARED_KEY_MAX = 128

_GATEWAY_READ_ONLY = {"provisioningState", "resourceGuid", "inboundDnsForwardingEndpoint"}
_LNG_READ_ONLY = {"provisioningState", "resourceGuid"}
_CONNECTION_READ_ONLY = {
    "provisioningState",
    "resourceGuid",
    "connectionStatus",
    "tunnelConnectionStatus",
    "ingressBytesTransferred",
    "egressBytesTransferred",
}
# fabric BGP state -> BgpPeerStatus.state (Unknown, Stopped, Idle, Connecting, Connected)
_BGP_STATES = {"Established": "Connected", "Idle": "Idle", "Connect": "Connecting", "Active": "Connecting"}


def _etag() -> str:
    return f'W/"{uuid.uuid4()}"'


def _in_apipa(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.version == 4 and APIPA[0] <= ip <= APIPA[1]


def _same_link(address: str, peer: str) -> bool:
    """Whether ``peer`` is on the /30 of ``address`` (an APIPA BGP link of one tunnel)."""
    try:
        return ipaddress.ip_address(peer) in ipaddress.ip_interface(f"{address}/30").network
    except ValueError:
        return False


def _ref_id(value) -> str | None:
    return value.get("id") if isinstance(value, dict) and isinstance(value.get("id"), str) else None


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


class Vpn:
    """The VPN resources of one subscription, kept in the network provider's store."""

    def __init__(self, state: ArmState, network: Network, fabric, schedule, time_factor: float):
        self.state = state
        self.network = network
        self.fabric = fabric
        self.schedule = schedule  # schedule(delay_seconds, job)
        self.factor = time_factor
        self._results: dict[str, JSON] = {}  # operation id -> the body its result URL answers
        state.on_group_delete(self._group_deleted)

    # ---------------------------------------------------------------- lifecycle
    def reset(self) -> None:
        with self.state.lock:
            self._results.clear()
        self.publish()

    def _group_deleted(self, group_key: str) -> list:
        # The network provider drops the group's resources; the fabric follows once they are gone.
        return [self.publish]

    def _all(self, kind: str) -> list[JSON]:
        return [r for (_, t, _), r in self.network.resources.items() if t == kind]

    def _by_id(self, resource_id: str | None, kind: str) -> JSON | None:
        if not resource_id:
            return None
        wanted = resource_id.lower().rstrip("/")
        return next((r for r in self._all(kind) if r["id"].lower() == wanted), None)

    # ---------------------------------------------------------------- routing
    def handle(self, req: Request) -> Response:
        low = req.lower
        kind = TYPES[low[0]]
        if req.group is None:
            if len(low) == 1 and req.method == "GET":
                return Response(200, {"value": [self._view(r) for r in self._all(kind)]})
            raise _method(req)
        group = self.state.group(req.group)
        key_group = group["name"].lower()
        if len(low) == 1:
            if req.method != "GET":
                raise _method(req)
            found = [r for (g, t, _), r in self.network.resources.items() if g == key_group and t == kind]
            return Response(200, {"value": [self._view(r) for r in found]})
        name = req.segments[1]
        key = (key_group, kind, name.lower())
        existing = self.network.resources.get(key)
        if len(low) == 2:
            if req.method == "GET":
                if existing is None:
                    raise not_found(kind, name, req.group)
                return Response(200, self._view(existing))
            if req.method == "PUT":
                return self._put(req, group, kind, existing)
            if req.method == "DELETE":
                return self._delete(req, kind, key, existing)
            if req.method == "PATCH":
                if existing is None:
                    raise not_found(kind, name, req.group)
                existing["tags"] = _dict(req.body).get("tags") or {}
                existing["etag"] = _etag()
                return Response(200, self._view(existing))
            raise _method(req)
        if existing is None:
            raise not_found(kind, name, req.group)
        action = low[2]
        if kind == GATEWAY_TYPE and len(low) == 3 and req.method == "POST":
            if action == "getbgppeerstatus":
                return self._query(req, existing, self._bgp_peer_status)
            if action == "getlearnedroutes":
                return self._query(req, existing, self._learned_routes)
        if kind == CONNECTION_TYPE and len(low) == 3 and action == "sharedkey":
            if req.method == "GET":
                return Response(200, self._shared_key_view(existing))
            if req.method == "PUT":
                return self._put_shared_key(req, existing)
        raise ArmError(
            404,
            "InvalidResourceType",
            f"The resource type '{'/'.join(req.segments[0::2])}' could not be found in the namespace "
            f"'{NAMESPACE}' for api version '{req.api_version}'.",
        )

    def result(self, req: Request) -> Response | None:
        """The body of a finished getBgpPeerStatus / getLearnedRoutes (its operation result URL)."""
        low = req.lower
        if len(low) != 4 or low[2] != "operationresults":
            return None
        body = self._results.get(req.segments[3])
        return None if body is None else Response(200, copy.deepcopy(body))

    # ---------------------------------------------------------------- views
    def _view(self, resource: JSON) -> JSON:
        view = public(copy.deepcopy(resource))
        if resource["type"] == CONNECTION_TYPE:
            props = view["properties"]
            props.pop("sharedKey", None)
            tunnels = self._tunnel_status(resource)
            props["tunnelConnectionStatus"] = tunnels
            props["connectionStatus"] = self._connection_status(resource, tunnels)
            props["ingressBytesTransferred"] = sum(t["ingressBytesTransferred"] for t in tunnels)
            props["egressBytesTransferred"] = sum(t["egressBytesTransferred"] for t in tunnels)
        return view

    def _shared_key_view(self, connection: JSON) -> JSON:
        return {"id": f"{connection['id']}/sharedkey", "value": connection["properties"]["sharedKey"]}

    # ---------------------------------------------------------------- writes
    def _put(self, req: Request, group: JSON, kind: str, existing: JSON | None) -> Response:
        name = req.segments[1]
        key = (group["name"].lower(), kind, name.lower())
        body = _dict(req.body)
        location = normalize_location(body.get("location"), kind)
        if existing is not None:
            if existing["location"] != location:
                raise invalid(
                    f"Resource {name} cannot move from {existing['location']} to {location}.", "LocationMismatch"
                )
            self._busy(existing)
        resource = {
            "id": f"{self.state.group_id(group['name'])}/providers/{kind}/{name}",
            "name": name,
            "type": kind,
            "location": location,
            "etag": _etag(),
            "tags": body.get("tags") or {},
        }
        properties = _dict(body.get("properties"))
        if kind == GATEWAY_TYPE:
            resource["properties"] = self._gateway_properties(resource, properties, existing)
            seconds = GATEWAY_UPDATE_SECONDS if existing else GATEWAY_CREATE_SECONDS
        elif kind == LNG_TYPE:
            resource["properties"] = self._lng_properties(resource, properties)
            seconds = LNG_SECONDS
        else:
            resource["properties"] = self._connection_properties(resource, properties, existing)
            seconds = CONNECTION_SECONDS
        resource["properties"]["provisioningState"] = "Updating"
        resource["properties"]["resourceGuid"] = (
            existing["properties"]["resourceGuid"] if existing else str(uuid.uuid4())
        )
        resource["_live"] = bool(existing and existing.get("_live"))
        if existing is not None and kind == GATEWAY_TYPE:
            self._detach_public_ips(existing)
        if kind == GATEWAY_TYPE:
            self._attach_public_ips(resource)
        self.network.resources[key] = resource
        op = self.state.new_operation(NAMESPACE, location, result_status=200)
        resource["_operation"] = op
        generation = self.state.generation

        def finish():
            with self.state.lock:
                if self.state.generation != generation or self.network.resources.get(key) is not resource:
                    return
                resource["properties"]["provisioningState"] = "Succeeded"
                resource["_live"] = True
                resource.pop("_operation", None)
                self.state.finish(op)
            self.publish()

        self.schedule(scaled(seconds, self.factor), finish)
        return Response(200 if existing else 201, self._view(resource), self.state.async_headers(req, op))

    def _busy(self, resource: JSON) -> None:
        state = resource["properties"].get("provisioningState")
        if state in ("Updating", "Deleting"):
            raise ArmError(
                409,
                "AnotherOperationInProgress",
                f"Another operation on this or dependent resource is in progress. To retrieve status of the "
                f"operation use uri: {resource['id']} (provisioningState {state}). Retry the request after the "
                "operation completes.",
            )

    def _delete(self, req: Request, kind: str, key, existing: JSON | None) -> Response:
        if existing is None:
            return Response(204)
        if existing["properties"].get("provisioningState") == "Deleting" and existing.get("_operation"):
            op = existing["_operation"]
            headers = self.state.async_headers(req, op)
            headers.update(self.state.async_headers(req, op, location=True))
            return Response(202, None, headers)
        self._busy(existing)
        if kind in (GATEWAY_TYPE, LNG_TYPE):
            field = "virtualNetworkGateway1" if kind == GATEWAY_TYPE else "localNetworkGateway2"
            users = [
                c["id"]
                for c in self._all(CONNECTION_TYPE)
                if (_ref_id(c["properties"].get(field)) or "").lower() == existing["id"].lower()
            ]
            if users:
                what = "Virtual network gateway" if kind == GATEWAY_TYPE else "Local network gateway"
                code = (
                    "InUseVirtualNetworkGatewayCannotBeDeleted"
                    if kind == GATEWAY_TYPE
                    else "InUseLocalNetworkGatewayCannotBeDeleted"
                )
                raise invalid(
                    f"{what} {existing['id']} is in use by {', '.join(users)} and cannot be deleted. In order to "
                    f"delete the {what.lower()}, remove all the connections that reference it.",
                    code,
                )
        existing["properties"]["provisioningState"] = "Deleting"
        op = self.state.new_operation(NAMESPACE, existing["location"], result_status=200)
        existing["_operation"] = op
        seconds = {
            GATEWAY_TYPE: GATEWAY_DELETE_SECONDS,
            LNG_TYPE: LNG_SECONDS,
            CONNECTION_TYPE: CONNECTION_DELETE_SECONDS,
        }[kind]
        generation = self.state.generation
        # The tunnels go as soon as the deletion starts.
        existing["_live"] = False
        self.publish()

        def finish():
            with self.state.lock:
                if self.state.generation != generation:
                    return
                if self.network.resources.get(key) is existing:
                    del self.network.resources[key]
                    if kind == GATEWAY_TYPE:
                        self._detach_public_ips(existing)
                self.state.finish(op)
            self.publish()

        self.schedule(scaled(seconds, self.factor), finish)
        headers = self.state.async_headers(req, op)
        headers.update(self.state.async_headers(req, op, location=True))
        return Response(202, None, headers)

    # ---------------------------------------------------------------- virtual network gateways
    def _gateway_properties(self, resource: JSON, properties: JSON, existing: JSON | None) -> JSON:
        name = resource["name"]
        props = {k: copy.deepcopy(v) for k, v in properties.items() if k not in _GATEWAY_READ_ONLY}
        gateway_type = props.get("gatewayType")
        if gateway_type is None:
            raise invalid(
                f"Virtual network gateway {name} must specify properties.gatewayType (Vpn, ExpressRoute or "
                "LocalGateway).",
                "InvalidRequestFormat",
            )
        if gateway_type != "Vpn":
            raise invalid(
                f"Value '{gateway_type}' of properties.gatewayType of virtual network gateway {name} is not "
                "served here: the sandbox serves gatewayType Vpn only.",
                "InvalidGatewayType",
            )
        props.setdefault("vpnType", "RouteBased")
        if props["vpnType"] not in ("RouteBased", "PolicyBased"):
            raise invalid(
                f"Value '{props['vpnType']}' of properties.vpnType is not valid; expected RouteBased or PolicyBased.",
                "InvalidVpnType",
            )
        if existing is not None:
            for field in ("gatewayType", "vpnType"):
                if existing["properties"][field] != props[field]:
                    raise invalid(
                        f"Changing property 'properties.{field}' of virtual network gateway {name} is not allowed.",
                        "PropertyChangeNotAllowed",
                    )
        sku = _dict(props.get("sku"))
        if sku.get("name") not in VPN_SKUS:
            raise invalid(
                f"Virtual network gateway {name}: properties.sku.name {sku.get('name')!r} is not a valid VPN "
                f"gateway SKU ({', '.join(VPN_SKUS)}).",
                "InvalidGatewaySku",
            )
        props["sku"] = {"name": sku["name"], "tier": sku.get("tier") or sku["name"], **_capacity(sku)}
        active = bool(props.get("activeActive", False))
        props["activeActive"] = active
        props["enableBgp"] = bool(props.get("enableBgp", False))
        if sku["name"] == "Basic" and (active or props["enableBgp"]):
            raise invalid(
                f"Virtual network gateway {name}: the Basic SKU supports neither activeActive nor enableBgp.",
                "BasicSkuGatewayNotSupported",
            )
        props.setdefault("vpnGatewayGeneration", "Generation1" if sku["name"] in ("Basic", "VpnGw1") else "Generation2")
        configs = props.get("ipConfigurations")
        if not isinstance(configs, list) or not configs:
            raise invalid(
                f"Virtual network gateway {name} must have at least one ipConfiguration (properties.ipConfigurations).",
                "InvalidRequestFormat",
            )
        expected = 2 if active else 1
        if len(configs) != expected:
            raise invalid(
                f"Virtual network gateway {name} with activeActive {str(active).lower()} must have exactly "
                f"{expected} ipConfigurations, {len(configs)} given.",
                "InvalidNumberOfIpConfigurationsForActiveActiveGateway"
                if active
                else "InvalidNumberOfIpConfigurationsForGateway",
            )
        props["ipConfigurations"] = self._ip_configurations(resource, configs)
        props["bgpSettings"] = self._gateway_bgp(resource, props)
        return props

    def _ip_configurations(self, resource: JSON, configs: list) -> list[JSON]:
        name = resource["name"]
        out, subnets, pips, names = [], set(), set(), set()
        vnet = None
        for index, given in enumerate(configs):
            field = f"properties.ipConfigurations[{index}]"
            config = _dict(given)
            config_name = config.get("name")
            if not config_name:
                raise invalid(f"{field}.name of virtual network gateway {name} is required.", "InvalidRequestFormat")
            if config_name.lower() in names:
                raise invalid(f"ipConfiguration {config_name} appears twice.", "DuplicateResourceName")
            names.add(config_name.lower())
            props = _dict(config.get("properties"))
            subnet_id = _ref_id(props.get("subnet"))
            vnet, subnet = self._gateway_subnet(subnet_id, f"{field}.properties.subnet.id", resource)
            subnets.add(subnet["id"].lower())
            pip_id = _ref_id(props.get("publicIPAddress"))
            pip = self._by_id(pip_id, PIP_TYPE)
            if pip is None:
                raise invalid(
                    f"Resource {pip_id} referenced by {field}.properties.publicIPAddress.id of virtual network "
                    f"gateway {name} was not found.",
                    "InvalidResourceReference",
                )
            if pip["location"] != resource["location"]:
                raise invalid(
                    f"Public IP address {pip['id']} is in {pip['location']}; the gateway is in "
                    f"{resource['location']}. Both resources must be in the same region.",
                    "InvalidResourceReference",
                )
            if pip.get("sku", {}).get("name") != "Standard" or pip["properties"].get("publicIPAllocationMethod") != (
                "Static"
            ):
                raise invalid(
                    f"Public IP address {pip['id']} ({field}) must be a Standard SKU, Static public IP address.",
                    "VirtualNetworkGatewayPublicIpMustBeStandardStatic",
                )
            attached = _ref_id(pip["properties"].get("ipConfiguration"))
            own = f"{resource['id']}/ipConfigurations/".lower()
            if attached and not attached.lower().startswith(own):
                raise invalid(f"Public IP address {pip['id']} is already in use by {attached}.", "PublicIPAddressInUse")
            if pip["id"].lower() in pips:
                raise invalid(
                    f"Public IP address {pip['id']} is referenced by two ipConfigurations of virtual network "
                    f"gateway {name}.",
                    "PublicIPAddressInUse",
                )
            pips.add(pip["id"].lower())
            out.append(
                {
                    "id": f"{resource['id']}/ipConfigurations/{config_name}",
                    "name": config_name,
                    "etag": _etag(),
                    "properties": {
                        "privateIPAllocationMethod": props.get("privateIPAllocationMethod") or "Dynamic",
                        "subnet": {"id": subnet["id"]},
                        "publicIPAddress": {"id": pip["id"]},
                        "provisioningState": "Succeeded",
                        "privateIPAddress": self._instance_address(subnet, index),
                    },
                }
            )
        if len(subnets) > 1:
            raise invalid(
                f"The ipConfigurations of virtual network gateway {name} reference different subnets; all must use "
                "the same GatewaySubnet.",
                "InvalidGatewaySubnet",
            )
        resource["_vnet"] = vnet["id"]
        return out

    def _gateway_subnet(self, subnet_id: str | None, field: str, resource: JSON):
        parts = (subnet_id or "").split("/")
        vnet_id = "/".join(parts[:-2]) if len(parts) > 2 and parts[-2].lower() == "subnets" else None
        vnet = self._by_id(vnet_id, VNET_TYPE)
        subnet = None
        if vnet is not None:
            subnet = next(
                (s for s in vnet["properties"]["subnets"] if s["id"].lower() == subnet_id.lower()),
                None,
            )
        if subnet is None:
            raise invalid(
                f"Resource {subnet_id} referenced by {field} of virtual network gateway {resource['name']} was not "
                "found.",
                "InvalidResourceReference",
            )
        if subnet["name"] != "GatewaySubnet":
            raise invalid(
                f"Subnet {subnet['name']} referenced by {field} cannot be used for a virtual network gateway: only "
                "a subnet named GatewaySubnet can.",
                "OnlyGatewaySubnetCanBeUsedForGateway",
            )
        if vnet["location"] != resource["location"]:
            raise invalid(
                f"Virtual network {vnet['id']} is in {vnet['location']}; the gateway is in {resource['location']}. "
                "Both resources must be in the same region.",
                "InvalidResourceReference",
            )
        return vnet, subnet

    @staticmethod
    def _instance_address(subnet: JSON, index: int) -> str:
        props = subnet["properties"]
        prefix = props.get("addressPrefix") or (props.get("addressPrefixes") or [None])[0]
        network = ipaddress.ip_network(prefix)
        # Azure keeps the first four addresses of every subnet; the instances take the next ones.
        return str(network.network_address + 4 + index)

    def _gateway_bgp(self, resource: JSON, props: JSON) -> JSON:
        name = resource["name"]
        given = _dict(props.get("bgpSettings"))
        asn = given.get("asn", DEFAULT_ASN)
        _check_asn(asn, "properties.bgpSettings.asn", f"virtual network gateway {name}", allow_default=True)
        by_config = {c["id"].lower(): c for c in props["ipConfigurations"]}
        customs = {}
        seen = {}
        for index, item in enumerate(given.get("bgpPeeringAddresses") or []):
            field = f"properties.bgpSettings.bgpPeeringAddresses[{index}]"
            peering = _dict(item)
            config_id = str(peering.get("ipconfigurationId") or "")
            if config_id.lower() not in by_config:
                raise invalid(
                    f"{field}.ipconfigurationId {config_id!r} is not an ipConfiguration of virtual network gateway "
                    f"{name}.",
                    "InvalidResourceReference",
                )
            addresses = peering.get("customBgpIpAddresses") or []
            for position, address in enumerate(addresses):
                if not _in_apipa(str(address)):
                    raise invalid(
                        f"The custom BGP IP address {address!r} ({field}.customBgpIpAddresses[{position}]) of virtual "
                        f"network gateway {name} is not valid. Custom (APIPA) BGP IP addresses must be in the range "
                        "169.254.21.0 to 169.254.22.255.",
                        "InvalidCustomBgpIpAddress",
                    )
                if address in seen:
                    raise invalid(
                        f"The custom BGP IP address {address} is used twice ({seen[address]} and {field}).",
                        "DuplicateCustomBgpIpAddress",
                    )
                seen[address] = field
            customs[config_id.lower()] = [str(a) for a in addresses]
        peerings = []
        for config in props["ipConfigurations"]:
            pip = self._by_id(config["properties"]["publicIPAddress"]["id"], PIP_TYPE)
            peerings.append(
                {
                    "ipconfigurationId": config["id"],
                    "defaultBgpIpAddresses": [config["properties"]["privateIPAddress"]],
                    "customBgpIpAddresses": customs.get(config["id"].lower(), []),
                    "tunnelIpAddresses": [pip["properties"]["ipAddress"]],
                }
            )
        return {
            "asn": int(asn),
            "bgpPeeringAddress": ",".join(p["defaultBgpIpAddresses"][0] for p in peerings),
            "peerWeight": int(given.get("peerWeight") or 0),
            "bgpPeeringAddresses": peerings,
        }

    def _attach_public_ips(self, gateway: JSON) -> None:
        for config in gateway["properties"]["ipConfigurations"]:
            pip = self._by_id(config["properties"]["publicIPAddress"]["id"], PIP_TYPE)
            pip["properties"]["ipConfiguration"] = {"id": config["id"]}

    def _detach_public_ips(self, gateway: JSON) -> None:
        for config in gateway["properties"]["ipConfigurations"]:
            pip = self._by_id(config["properties"]["publicIPAddress"]["id"], PIP_TYPE)
            if pip is not None and _ref_id(pip["properties"].get("ipConfiguration")) == config["id"]:
                pip["properties"].pop("ipConfiguration", None)

    # ---------------------------------------------------------------- local network gateways
    def _lng_properties(self, resource: JSON, properties: JSON) -> JSON:
        name = resource["name"]
        props = {k: copy.deepcopy(v) for k, v in properties.items() if k not in _LNG_READ_ONLY}
        address = props.get("gatewayIpAddress")
        if address is None and not props.get("fqdn"):
            raise invalid(
                f"Local network gateway {name} must specify properties.gatewayIpAddress or properties.fqdn.",
                "LocalNetworkGatewayMustHaveIpAddressOrFqdn",
            )
        if address is not None:
            try:
                ip = ipaddress.ip_address(str(address))
            except ValueError:
                ip = None
            if ip is None or ip.version != 4:
                raise invalid(
                    f"Value {address!r} of properties.gatewayIpAddress of local network gateway {name} is not a "
                    "valid IPv4 address.",
                    "InvalidLocalNetworkGatewayIpAddress",
                )
        space = _dict(props.get("localNetworkAddressSpace"))
        for index, prefix in enumerate(space.get("addressPrefixes") or []):
            try:
                ipaddress.ip_network(prefix, strict=True)
            except (TypeError, ValueError):
                raise invalid(
                    f"Value {prefix!r} of properties.localNetworkAddressSpace.addressPrefixes[{index}] of local "
                    f"network gateway {name} is not a valid CIDR prefix.",
                    "InvalidAddressPrefixFormat",
                ) from None
        props["localNetworkAddressSpace"] = {"addressPrefixes": list(space.get("addressPrefixes") or [])}
        bgp = props.get("bgpSettings")
        if bgp is not None:
            bgp = _dict(bgp)
            _check_asn(bgp.get("asn"), "properties.bgpSettings.asn", f"local network gateway {name}")
            peer = bgp.get("bgpPeeringAddress")
            try:
                ipaddress.ip_address(str(peer))
            except ValueError:
                raise invalid(
                    f"Value {peer!r} of properties.bgpSettings.bgpPeeringAddress of local network gateway {name} is "
                    "not a valid IP address.",
                    "InvalidBgpPeeringAddress",
                ) from None
            props["bgpSettings"] = {
                "asn": int(bgp["asn"]),
                "bgpPeeringAddress": str(peer),
                "peerWeight": int(bgp.get("peerWeight") or 0),
            }
        elif not props["localNetworkAddressSpace"]["addressPrefixes"]:
            raise invalid(
                f"Local network gateway {name} needs properties.localNetworkAddressSpace.addressPrefixes or "
                "properties.bgpSettings.",
                "LocalNetworkGatewayMustHaveAddressSpaceOrBgp",
            )
        return props

    # ---------------------------------------------------------------- connections
    def _connection_properties(self, resource: JSON, properties: JSON, existing: JSON | None) -> JSON:
        name = resource["name"]
        props = {k: copy.deepcopy(v) for k, v in properties.items() if k not in _CONNECTION_READ_ONLY}
        kind = props.get("connectionType")
        if kind is None:
            raise invalid(f"Connection {name} must specify properties.connectionType.", "InvalidRequestFormat")
        if kind != "IPsec":
            raise invalid(
                f"Value '{kind}' of properties.connectionType of connection {name} is not served here: the sandbox "
                "serves IPsec connections only.",
                "InvalidConnectionType",
            )
        gateway_id = _ref_id(props.get("virtualNetworkGateway1"))
        gateway = self._by_id(gateway_id, GATEWAY_TYPE)
        if gateway is None:
            raise invalid(
                f"Resource {gateway_id} referenced by properties.virtualNetworkGateway1.id of connection {name} was "
                "not found.",
                "InvalidResourceReference",
            )
        if not gateway.get("_live") or gateway["properties"]["provisioningState"] != "Succeeded":
            raise ArmError(
                409,
                "AnotherOperationInProgress",
                f"Virtual network gateway {gateway['id']} is in provisioningState "
                f"{gateway['properties']['provisioningState']}; connection {name} can be created once it is "
                "Succeeded.",
            )
        # Like Azure, a gateway takes one connection operation at a time.
        for other in self.network.resources.values():
            if (
                other.get("type") == CONNECTION_TYPE
                and other["name"].lower() != name.lower()
                and other["properties"].get("provisioningState") in ("Updating", "Deleting")
                and (_ref_id(other["properties"].get("virtualNetworkGateway1")) or "").lower() == gateway["id"].lower()
            ):
                raise ArmError(
                    409,
                    "AnotherOperationInProgress",
                    f"Another operation on this or dependent resource is in progress. To retrieve status of the "
                    f"operation use uri: {other['id']} (provisioningState {other['properties']['provisioningState']}). "
                    "Retry the request after the operation completes.",
                )
        lng_id = _ref_id(props.get("localNetworkGateway2"))
        lng = self._by_id(lng_id, LNG_TYPE)
        if lng is None:
            raise invalid(
                f"Resource {lng_id} referenced by properties.localNetworkGateway2.id of connection {name} was not "
                "found.",
                "InvalidResourceReference",
            )
        for other, what in ((gateway, "virtualNetworkGateway1"), (lng, "localNetworkGateway2")):
            if other["location"] != resource["location"]:
                raise invalid(
                    f"{what} {other['id']} is in {other['location']}; connection {name} is in "
                    f"{resource['location']}. Both resources must be in the same region.",
                    "InvalidResourceReference",
                )
        if existing is not None:
            for field in ("virtualNetworkGateway1", "localNetworkGateway2"):
                before = (_ref_id(existing["properties"].get(field)) or "").lower()
                if before != (_ref_id(props.get(field)) or "").lower():
                    raise invalid(
                        f"Changing property 'properties.{field}' of connection {name} is not allowed.",
                        "PropertyChangeNotAllowed",
                    )
        props["virtualNetworkGateway1"] = {"id": gateway["id"]}
        props["localNetworkGateway2"] = {"id": lng["id"]}
        props.pop("virtualNetworkGateway2", None)
        key = props.get("sharedKey")
        if key is None:
            key = existing["properties"]["sharedKey"] if existing else secrets.token_urlsafe(24)
        _check_shared_key(key, "properties.sharedKey", name)
        props["sharedKey"] = key
        protocol = props.get("connectionProtocol") or "IKEv2"
        if protocol not in PROTOCOLS:
            raise invalid(
                f"Value '{protocol}' of properties.connectionProtocol of connection {name} is not valid; expected "
                "IKEv2 or IKEv1.",
                "InvalidConnectionProtocol",
            )
        props["connectionProtocol"] = protocol
        props["enableBgp"] = bool(props.get("enableBgp", False))
        props.setdefault("routingWeight", 0)
        props.setdefault("usePolicyBasedTrafficSelectors", False)
        props.setdefault("ipsecPolicies", [])
        if props["enableBgp"]:
            if not gateway["properties"]["enableBgp"]:
                raise invalid(
                    f"Connection {name} has enableBgp true but virtual network gateway {gateway['name']} does not "
                    "have BGP enabled.",
                    "BgpNotEnabledOnVirtualNetworkGateway",
                )
            if not lng["properties"].get("bgpSettings"):
                raise invalid(
                    f"Connection {name} has enableBgp true but local network gateway {lng['name']} has no bgpSettings.",
                    "BgpSettingsMissingOnLocalNetworkGateway",
                )
        props["gatewayCustomBgpIpAddresses"] = self._custom_bgp(name, gateway, props.get("gatewayCustomBgpIpAddresses"))
        return props

    def _custom_bgp(self, name: str, gateway: JSON, given) -> list[JSON]:
        if not given:
            return []
        peerings = {
            p["ipconfigurationId"].lower(): p for p in gateway["properties"]["bgpSettings"]["bgpPeeringAddresses"]
        }
        out = []
        for index, value in enumerate(given if isinstance(given, list) else []):
            field = f"properties.gatewayCustomBgpIpAddresses[{index}]"
            item = _dict(value)
            config_id = str(item.get("ipConfigurationId") or "")
            address = str(item.get("customBgpIpAddress") or "")
            peering = peerings.get(config_id.lower())
            if peering is None:
                raise invalid(
                    f"{field}.ipConfigurationId {config_id!r} of connection {name} is not an ipConfiguration of "
                    f"virtual network gateway {gateway['name']}.",
                    "InvalidResourceReference",
                )
            if address not in peering["customBgpIpAddresses"]:
                raise invalid(
                    f"{field}.customBgpIpAddress {address!r} of connection {name} is not one of the custom BGP IP "
                    f"addresses of ipConfiguration {config_id} of virtual network gateway {gateway['name']} "
                    f"({', '.join(peering['customBgpIpAddresses']) or 'none'}).",
                    "InvalidCustomBgpIpAddress",
                )
            out.append({"ipConfigurationId": peering["ipconfigurationId"], "customBgpIpAddress": address})
        return out

    def _put_shared_key(self, req: Request, connection: JSON) -> Response:
        body = _dict(req.body)
        self._busy(connection)
        _check_shared_key(body.get("value"), "value", connection["name"])
        connection["properties"]["sharedKey"] = body["value"]
        connection["properties"]["provisioningState"] = "Updating"
        op = self.state.new_operation(NAMESPACE, connection["location"], result_status=200)
        connection["_operation"] = op
        generation = self.state.generation

        def finish():
            with self.state.lock:
                if self.state.generation != generation:
                    return
                connection["properties"]["provisioningState"] = "Succeeded"
                connection.pop("_operation", None)
                self.state.finish(op)
            self.publish()

        self.schedule(scaled(CONNECTION_SECONDS, self.factor), finish)
        return Response(200, self._shared_key_view(connection), self.state.async_headers(req, op))

    # ---------------------------------------------------------------- the fabric
    def _gateway_key(self, gateway: JSON) -> str:
        return f"azure/{gateway['location']}/{gateway['id'].lower()}"

    def _ends(self, connection: JSON) -> list[dict]:
        """The fabric ends of ``connection`` (one per gateway instance), [] while it has none."""
        props = connection["properties"]
        gateway = self._by_id(_ref_id(props.get("virtualNetworkGateway1")), GATEWAY_TYPE)
        lng = self._by_id(_ref_id(props.get("localNetworkGateway2")), LNG_TYPE)
        if not connection.get("_live") or gateway is None or not gateway.get("_live") or lng is None:
            return []
        lng_bgp = lng["properties"].get("bgpSettings")
        if not props.get("enableBgp") or not lng_bgp or not lng["properties"].get("gatewayIpAddress"):
            return []
        chosen = {c["ipConfigurationId"].lower(): c["customBgpIpAddress"] for c in props["gatewayCustomBgpIpAddresses"]}
        ends = []
        for index, peering in enumerate(gateway["properties"]["bgpSettings"]["bgpPeeringAddresses"]):
            config_id = peering["ipconfigurationId"].lower()
            inside = chosen.get(config_id) or (peering["customBgpIpAddresses"] or peering["defaultBgpIpAddresses"])[0]
            ends.append(
                {
                    # The instance runs BGP with the peer (and so carries traffic) only over a
                    # link the peer's BGP address is on; its other tunnels stay down.
                    "on_link": _same_link(inside, lng_bgp["bgpPeeringAddress"]),
                    "key": f"azure/{connection['id'].lower()}/{index}",
                    "gateway": self._gateway_key(gateway),
                    "local_public": peering["tunnelIpAddresses"][0],
                    "remote_public": lng["properties"]["gatewayIpAddress"],
                    "psk": props["sharedKey"],
                    "ike_version": PROTOCOLS[props["connectionProtocol"]],
                    "inside": f"{inside}/30",
                    "remote_inside": lng_bgp["bgpPeeringAddress"],
                    "peer_asn": lng_bgp["asn"],
                }
            )
        return ends

    def publish(self) -> None:
        """Hand the fabric every live gateway and every tunnel end of every live connection."""
        if self.fabric is None:
            return
        with self.state.lock:
            gateways, endpoints = [], []
            for gateway in self._all(GATEWAY_TYPE):
                if not gateway.get("_live"):
                    continue
                vnet = self._by_id(gateway.get("_vnet"), VNET_TYPE)
                cidrs = list(vnet["properties"]["addressSpace"]["addressPrefixes"]) if vnet else []
                gateways.append(
                    {
                        "key": self._gateway_key(gateway),
                        "cloud": "azure",
                        "region": gateway["location"],
                        "asn": gateway["properties"]["bgpSettings"]["asn"],
                        "cidrs": cidrs,
                    }
                )
            for connection in self._all(CONNECTION_TYPE):
                endpoints += [end for end in self._ends(connection) if end["on_link"]]
        try:
            self.fabric.publish("azure", gateways, endpoints)
        except ValueError:
            log.exception("azure: the VPN fabric refused the published configuration")

    def _states(self, connection: JSON) -> list[tuple[dict, dict | None]]:
        ends = self._ends(connection)
        out = []
        for end in ends:
            state = None
            if self.fabric is not None and end["on_link"]:
                try:
                    state = self.fabric.status(end["key"])
                except KeyError:
                    state = None
            out.append((end, state))
        return out

    def _tunnel_status(self, connection: JSON) -> list[JSON]:
        tunnels = []
        for end, state in self._states(connection):
            if state is None:
                status = "NotConnected"
            elif state["ipsec"]["state"] == "UP":
                status = "Connected"
            elif str(state["ipsec"].get("reason") or "").startswith(("PROVISIONING", "NEGOTIATING")):
                status = "Connecting"
            else:
                status = "NotConnected"
            tunnels.append(
                {
                    "tunnel": f"{connection['name']}_{end['local_public']}",
                    "connectionStatus": status,
                    # The fabric counts no bytes: nothing is claimed that was not measured.
                    "ingressBytesTransferred": 0,
                    "egressBytesTransferred": 0,
                }
            )
        return tunnels

    def _connection_status(self, connection: JSON, tunnels: list[JSON]) -> str:
        if connection["properties"].get("provisioningState") != "Succeeded" and not connection.get("_live"):
            return "Unknown"
        states = {t["connectionStatus"] for t in tunnels}
        if "Connected" in states:
            return "Connected"
        if "Connecting" in states:
            return "Connecting"
        return "NotConnected"

    def _gateway_ends(self, gateway: JSON) -> list[tuple[dict, dict | None]]:
        """The ends of the gateway's connections that have a BGP session (one per peering)."""
        out = []
        for connection in self._all(CONNECTION_TYPE):
            if (_ref_id(connection["properties"].get("virtualNetworkGateway1")) or "").lower() == gateway["id"].lower():
                out += [(end, state) for end, state in self._states(connection) if end["on_link"]]
        return out

    def _bgp_peer_status(self, gateway: JSON) -> JSON:
        peers = []
        for end, state in self._gateway_ends(gateway):
            bgp = (state or {}).get("bgp") or {"state": "Idle", "routes": []}
            peers.append(
                {
                    "localAddress": end["inside"].split("/")[0],
                    "neighbor": end["remote_inside"],
                    "asn": int(end["peer_asn"]),
                    "state": _BGP_STATES.get(bgp["state"], "Unknown"),
                    "routesReceived": len(bgp.get("routes") or []),
                }
            )
        return {"value": peers}

    def _learned_routes(self, gateway: JSON) -> JSON:
        routes = []
        vnet = self._by_id(gateway.get("_vnet"), VNET_TYPE)
        instances = [p["defaultBgpIpAddresses"][0] for p in gateway["properties"]["bgpSettings"]["bgpPeeringAddresses"]]
        for prefix in vnet["properties"]["addressSpace"]["addressPrefixes"] if vnet else []:
            for local in instances:
                routes.append(
                    {
                        "localAddress": local,
                        "network": prefix,
                        "sourcePeer": local,
                        "origin": "Network",
                        "weight": 32768,
                    }
                )
        for end, state in self._gateway_ends(gateway):
            bgp = (state or {}).get("bgp") or {}
            if bgp.get("state") != "Established":
                continue
            for prefix in bgp.get("routes") or []:
                routes.append(
                    {
                        "localAddress": end["inside"].split("/")[0],
                        "network": prefix,
                        "nextHop": end["remote_inside"],
                        "sourcePeer": end["remote_inside"],
                        "origin": "EBgp",
                        "asPath": str(end["peer_asn"]),
                        "weight": 32768,
                    }
                )
        return {"value": routes}

    def _query(self, req: Request, gateway: JSON, answer) -> Response:
        if gateway["properties"]["provisioningState"] != "Succeeded":
            self._busy(gateway)
        op = self.state.new_operation(NAMESPACE, gateway["location"], result_status=200)
        generation = self.state.generation

        def finish():
            with self.state.lock:
                if self.state.generation != generation:
                    return
                self._results[op.id] = answer(gateway)
                self.state.finish(op)

        self.schedule(scaled(QUERY_SECONDS, self.factor), finish)
        return Response(202, None, self.state.async_headers(req, op, location=True))


def _capacity(sku: JSON) -> dict:
    return {"capacity": int(sku["capacity"])} if isinstance(sku.get("capacity"), int) else {}


def _check_asn(value, field: str, what: str, allow_default: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4294967294:
        raise invalid(f"Value {value!r} of {field} of {what} is not a valid ASN (1-4294967294).", "InvalidBgpAsn")
    reserved = value in AZURE_PUBLIC_ASNS or value in IANA_RESERVED or value in AZURE_PRIVATE_ASNS
    if allow_default and value == DEFAULT_ASN:
        reserved = False
    if reserved:
        raise invalid(
            f"ASN {value} ({field} of {what}) is reserved by Azure or IANA and cannot be used. Azure reserves "
            "8074, 8075, 12076, 65515, 65517, 65518, 65519 and 65520; IANA reserves 23456, 64496-64511 and "
            "65535-65551.",
            "BgpAsnReserved",
        )


def _check_shared_key(value, field: str, name: str) -> None:
    # The message names the field and the rule, never the key.
    if not isinstance(value, str) or not 1 <= len(value) <= SHARED_KEY_MAX or not value.isascii():
        raise invalid(
            f"The {field} of connection {name} must be 1-{SHARED_KEY_MAX} ASCII characters.", "InvalidSharedKey"
        )
    if not value.isprintable() or any(c.isspace() for c in value):
        raise invalid(
            f"The {field} of connection {name} must not contain whitespace or control characters.", "InvalidSharedKey"
        )


def _method(req: Request) -> ArmError:
    return ArmError(405, "MethodNotAllowed", f"The requested method {req.method} is not allowed for {req.path}.")
