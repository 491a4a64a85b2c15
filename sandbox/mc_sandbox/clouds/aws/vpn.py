"""Site-to-Site VPN as the sandbox's AWS serves it: moto's store, AWS's behaviour, real tunnels.

moto keeps virtual private gateways, customer gateways and VPN connections, but drops
``Options.TunnelOptions``, hands out one fixed ``CustomerGatewayConfiguration`` (with one fixed
key), has no ``VgwTelemetry`` and no route propagation or static VPN routes. `VpnEmulator` takes
over the EC2 actions where that matters and keeps moto's objects as the store, so every other
call (DescribeVpnGateways, DescribeCustomerGateways, tags, filters) sees the same resources:

- CreateVpnGateway (``AmazonSideAsn``, default 64512) and CreateCustomerGateway (``BgpAsn``,
  ``IpAddress``, ``Type``) validate their input as EC2 does;
- CreateVpnConnection validates ``Options.TunnelOptions`` with EC2's rules (a /30 of
  169.254.0.0/16 other than the reserved ones, keys of 8-64 of ``[A-Za-z0-9._]`` not starting with
  ``0``), picks a random inside /30 and key where none is given, gives each tunnel its own outside
  address from the sandbox's VPN fabric, and goes ``pending`` -> ``available`` on simulated time;
- DescribeVpnConnections (moto's, on these objects) returns ``Options.TunnelOptions``, a
  ``VgwTelemetry`` per tunnel read from the fabric, and a ``CustomerGatewayConfiguration`` that
  matches the tunnels;
- ModifyVpnTunnelOptions, Create/DeleteVpnConnectionRoute, Enable/DisableVgwRoutePropagation, and
  DescribeRouteTables showing what a propagating VGW learned over BGP as propagated routes;
- after every change (attach, detach, create, modify, delete) the region's gateways and tunnel
  ends are published to the fabric: one gateway per attached VGW (its VPC's CIDR blocks, its
  AmazonSideAsn) and two ends per connection (AWS's side takes the first host of each /30).
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import string
import threading
import time
from datetime import UTC, datetime
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from moto.core.serialize import XFormedAttributePicker, get_serializer_class
from moto.core.utils import get_service_model
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import ec2_backends
from moto.ec2.models.route_tables import Route
from moto.ec2.models.vpn_connections import VPNConnection
from moto.ec2.utils import add_tag_specification, random_vpn_connection_id
from werkzeug.wrappers import Response

from mc_sandbox.core.config import scaled

log = logging.getLogger(__name__)

CLOUD = "aws"
DEFAULT_AMAZON_SIDE_ASN = 64512
# How long AWS takes to make a VPN connection available (it says "a few minutes").
CONNECTION_CREATE_SECONDS = 300.0
LINK_LOCAL = ipaddress.ip_network("169.254.0.0/16")
RESERVED_INSIDE = tuple(
    ipaddress.ip_network(c)
    for c in (
        "169.254.0.0/30",
        "169.254.1.0/30",
        "169.254.2.0/30",
        "169.254.3.0/30",
        "169.254.4.0/30",
        "169.254.5.0/30",
        "169.254.169.252/30",
    )
)
PSK_ALPHABET = string.ascii_letters + string.digits + "._"
IKE_VERSIONS = ("ikev1", "ikev2")
NO_FABRIC = "the sandbox runs no VPN fabric: tunnels cannot be established"
# EC2 DescribeVpnConnections telemetry texts.
IPSEC_DOWN = "IPSEC IS DOWN"
IPSEC_UP = "IPSEC IS UP"
# What the fabric's reasons are in AWS's words (as its tunnel logs put them).
_REASONS = {
    "AUTHENTICATION_FAILED": "pre-shared key mismatch: the peer's IKE authentication failed (AUTHENTICATION_FAILED)",
    "NO_PROPOSAL_CHOSEN": "no IKE proposal matched the peer's (NO_PROPOSAL_CHOSEN)",
    "NO_RESPONSE_FROM_PEER": "no response from the customer gateway",
}

OPERATIONS = frozenset(
    (
        "CreateVpnGateway",
        "AttachVpnGateway",
        "DetachVpnGateway",
        "DeleteVpnGateway",
        "CreateCustomerGateway",
        "DeleteCustomerGateway",
        "CreateVpnConnection",
        "ModifyVpnTunnelOptions",
        "DeleteVpnConnection",
        "CreateVpnConnectionRoute",
        "DeleteVpnConnectionRoute",
        "EnableVgwRoutePropagation",
        "DisableVgwRoutePropagation",
        "DescribeRouteTables",
    )
)
# Read-only actions moto answers once the sandbox has brought its objects up to date.
_SYNCED_READS = frozenset(("DescribeRouteTables",))


class VpnError(EC2ClientError):
    """An EC2 error (code, message) the handlers raise; serialized in EC2's wire format."""


def invalid(message: str) -> VpnError:
    return VpnError("InvalidParameterValue", message)


def missing(name: str) -> VpnError:
    return VpnError("MissingParameter", f"The request must contain the parameter {name}")


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# --------------------------------------------------------------------------- validation


def check_inside_cidr(value: str, field: str) -> ipaddress.IPv4Network:
    """A tunnel inside CIDR as EC2 accepts it (VpnTunnelOptionsSpecification.TunnelInsideCidr)."""
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise invalid(f"{field}: {value!r} is not a valid CIDR block") from None
    if net.version != 4 or net.prefixlen != 30 or not net.subnet_of(LINK_LOCAL):
        raise invalid(
            f"{field}: the tunnel inside CIDR {net} must be a size /30 CIDR block from the 169.254.0.0/16 range"
        )
    if net in RESERVED_INSIDE:
        raise invalid(
            f"{field}: the tunnel inside CIDR {net} is reserved and cannot be used (169.254.0.0/30 to "
            "169.254.5.0/30 and 169.254.169.252/30 are reserved)"
        )
    return net


def check_psk(value: str, field: str) -> str:
    """A pre-shared key as EC2 accepts it; the message never contains the key."""
    if not 8 <= len(value) <= 64 or value.startswith("0") or any(c not in PSK_ALPHABET for c in value):
        raise invalid(
            f"{field}: invalid pre-shared key. Allowed characters are alphanumeric characters, periods (.) "
            "and underscores (_); it must be between 8 and 64 characters in length and cannot start with zero (0)"
        )
    return value


def check_asn(value: str | None, field: str, default: int | None = None) -> int:
    if value in (None, ""):
        if default is None:
            raise missing(field)
        return default
    try:
        asn = int(value)
    except ValueError:
        raise invalid(f"{field}: {value!r} is not a valid ASN") from None
    if not 1 <= asn <= 4294967294:
        raise invalid(f"{field}: the ASN {asn} is out of range (1-4294967294)")
    return asn


def random_inside_cidr(used: set) -> ipaddress.IPv4Network:
    while True:
        net = ipaddress.ip_network(f"169.254.{secrets.randbelow(256)}.{secrets.randbelow(64) * 4}/30")
        if net not in RESERVED_INSIDE and net not in used:
            return net


def random_psk() -> str:
    first = secrets.choice(string.ascii_letters + string.digits[1:] + "._")
    return first + "".join(secrets.choice(PSK_ALPHABET) for _ in range(31))


def tunnel_options(params: dict, prefix: str) -> dict:
    """One TunnelOptions structure of the query (only the members the sandbox models)."""
    versions, index = [], 1
    while f"{prefix}.IKEVersion.{index}.Value" in params:
        versions.append(params[f"{prefix}.IKEVersion.{index}.Value"])
        index += 1
    return {
        "inside_cidr": params.get(f"{prefix}.TunnelInsideCidr"),
        "psk": params.get(f"{prefix}.PreSharedKey"),
        "ike_versions": versions,
    }


def check_ike_versions(versions: list[str], field: str) -> list[str]:
    for value in versions:
        if value not in IKE_VERSIONS:
            raise invalid(f"{field}: {value!r} is not a valid IKE version (ikev1, ikev2)")
    return sorted(set(versions)) or list(IKE_VERSIONS)


# --------------------------------------------------------------------------- the model


class Tunnel:
    """One tunnel of a VPN connection; ``psk`` stays out of repr."""

    __slots__ = ("changed", "ike_versions", "index", "inside_cidr", "message", "outside_ip", "psk", "status")

    def __init__(self, index, outside_ip, inside_cidr, psk, ike_versions):
        self.index = index
        self.outside_ip = outside_ip
        self.inside_cidr = inside_cidr
        self.psk = psk
        self.ike_versions = ike_versions
        self.status = self.message = None
        self.changed = _utcnow()

    def __repr__(self):
        return f"Tunnel({self.index}, {self.outside_ip}, {self.inside_cidr})"

    @property
    def aws_inside(self) -> str:
        return str(next(iter(self.inside_cidr.hosts())))

    @property
    def customer_inside(self) -> str:
        return str(list(self.inside_cidr.hosts())[1])


class SandboxVpnConnection(VPNConnection):
    """moto's VPN connection with its tunnels, telemetry, lifecycle and static routes."""

    def __init__(self, backend, emulator, *, region, vpn_id, vpn_type, cgw_id, vgw_id, tags, tunnels, static_only):
        super().__init__(backend, vpn_id, vpn_type, cgw_id, vpn_gateway_id=vgw_id, tags=tags)
        self._emulator = emulator
        self.region = region
        self.tunnel_list = tunnels
        self.static_routes_only = static_only
        self.static_cidrs: list[str] = []
        self._available_at = time.monotonic() + scaled(CONNECTION_CREATE_SECONDS, emulator.time_factor)
        self._deleted = False

    # moto sets ``state`` in its constructor and on delete; the lifecycle decides the rest.
    @property
    def state(self) -> str:
        if self._deleted:
            return "deleted"
        return "available" if time.monotonic() >= self._available_at else "pending"

    @state.setter
    def state(self, value: str) -> None:
        if value == "deleted":
            self._deleted = True

    @property
    def options(self) -> dict:
        return {
            "StaticRoutesOnly": self.static_routes_only,
            "TunnelInsideIpVersion": "ipv4",
            "LocalIpv4NetworkCidr": "0.0.0.0/0",
            "RemoteIpv4NetworkCidr": "0.0.0.0/0",
            "OutsideIpAddressType": "PublicIpv4",
            "TunnelOptions": [
                {
                    "OutsideIpAddress": t.outside_ip,
                    "TunnelInsideCidr": str(t.inside_cidr),
                    "PreSharedKey": t.psk,
                    "IkeVersions": [{"Value": v} for v in t.ike_versions],
                }
                for t in self.tunnel_list
            ],
        }

    @options.setter
    def options(self, value) -> None:  # moto's constructor sets None
        pass

    @property
    def routes(self) -> list[dict]:
        return [{"DestinationCidrBlock": c, "Source": "Static", "State": "available"} for c in self.static_cidrs]

    @property
    def vgw_telemetry(self) -> list[dict]:
        return [self._emulator.telemetry(self, t) for t in self.tunnel_list]

    @property
    def customer_gateway_configuration(self) -> str:
        return self._emulator.configuration(self)


class PropagatedRoute(Route):
    """A route a propagating VGW learned over BGP, as DescribeRouteTables shows it."""

    @property
    def origin(self) -> str:
        return "EnableVgwRoutePropagation"


# --------------------------------------------------------------------------- the emulator


class VpnEmulator:
    """The VPN actions of EC2 moto lacks or gets wrong, and the fabric behind them."""

    def __init__(self, fabric, *, account_id: str, time_factor: float):
        self.fabric = fabric
        self.account = account_id
        self.time_factor = time_factor
        self._lock = threading.RLock()
        self._model = get_service_model("ec2")
        self._serializer = get_serializer_class("ec2", "ec2")

    def handles(self, operation: str) -> bool:
        return operation in OPERATIONS

    # ---------------------------------------------------------------- dispatch
    def handle(self, operation: str, region: str, body: bytes, environ: dict, moto) -> Response:
        params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        params.update(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        backend = ec2_backends[self.account][region]
        try:
            with self._lock:
                if operation in _SYNCED_READS:
                    self.sync_propagated_routes(backend, region)
                    return Response.from_app(moto, environ)
                handler = getattr(self, f"_{operation}", None)
                if handler is None:
                    response = Response.from_app(moto, environ)
                else:
                    result = handler(backend, region, params)
                    response = self._response(operation, result)
                if response.status_code < 300:
                    self.publish()
                return response
        except EC2ClientError as exc:
            return self._response(operation, exc)

    def _response(self, operation: str, result) -> Response:
        serializer = self._serializer(
            operation_model=self._model.operation_model(operation),
            pretty_print=False,
            value_picker=XFormedAttributePicker(),
        )
        out = serializer.serialize(result)
        return Response(out["body"], status=out["status_code"], headers=out["headers"])

    # ---------------------------------------------------------------- gateways
    def _CreateVpnGateway(self, backend, region, params):
        gateway_type = params.get("Type")
        if not gateway_type:
            raise missing("Type")
        if gateway_type != "ipsec.1":
            raise invalid(f"Type: {gateway_type!r} is not a valid gateway type (ipsec.1)")
        asn = check_asn(params.get("AmazonSideAsn"), "AmazonSideAsn", DEFAULT_AMAZON_SIDE_ASN)
        tags = add_tag_specification(_tag_specifications(params))
        gateway = backend.create_vpn_gateway(
            gateway_type=gateway_type,
            amazon_side_asn=str(asn),
            availability_zone=params.get("AvailabilityZone"),
            tags=tags,
        )
        return {"VpnGateway": gateway}

    def _DeleteVpnGateway(self, backend, region, params):
        vgw_id = params.get("VpnGatewayId") or ""
        gateway = backend.get_vpn_gateway(vgw_id)
        if any(a.state == "attached" for a in gateway.attachments.values()):
            raise VpnError("IncorrectState", f"The VPN gateway '{vgw_id}' is in use: detach it from its VPC first")
        live = [c.id for c in self._connections(backend) if c.vpn_gateway_id == vgw_id]
        if live:
            raise VpnError("IncorrectState", f"The VPN gateway '{vgw_id}' has VPN connections: {', '.join(live)}")
        backend.delete_vpn_gateway(vgw_id)
        return {"Return": True}

    def _CreateCustomerGateway(self, backend, region, params):
        gateway_type = params.get("Type")
        if not gateway_type:
            raise missing("Type")
        if gateway_type != "ipsec.1":
            raise invalid(f"Type: {gateway_type!r} is not a valid customer gateway type (ipsec.1)")
        address = params.get("IpAddress") or params.get("PublicIp")
        if not address:
            raise missing("IpAddress")
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise invalid(f"IpAddress: {address!r} is not a valid IPv4 address") from None
        if ip.version != 4:
            raise invalid(f"IpAddress: {address!r} is not a valid IPv4 address")
        asn = check_asn(params.get("BgpAsn"), "BgpAsn", 65000)
        tags = add_tag_specification(_tag_specifications(params))
        gateway = backend.create_customer_gateway(gateway_type, str(ip), str(asn), tags=tags)
        return {"CustomerGateway": gateway}

    def _DeleteCustomerGateway(self, backend, region, params):
        cgw_id = params.get("CustomerGatewayId") or ""
        backend.get_customer_gateway(cgw_id)
        live = [c.id for c in self._connections(backend) if c.customer_gateway_id == cgw_id]
        if live:
            raise VpnError(
                "IncorrectState", f"The customer gateway '{cgw_id}' is in use by VPN connections: {', '.join(live)}"
            )
        backend.delete_customer_gateway(cgw_id)
        return {"Return": True}

    # ---------------------------------------------------------------- connections
    def _connections(self, backend):
        return [c for c in backend.vpn_connections.values() if isinstance(c, SandboxVpnConnection) and not c._deleted]

    def _connection(self, backend, vpn_id):
        found = backend.vpn_connections.get(vpn_id)
        if not isinstance(found, SandboxVpnConnection) or found._deleted:
            raise VpnError("InvalidVpnConnectionID.NotFound", f"The vpnConnection ID '{vpn_id}' does not exist")
        return found

    def _CreateVpnConnection(self, backend, region, params):
        vpn_type = params.get("Type")
        if not vpn_type:
            raise missing("Type")
        if vpn_type != "ipsec.1":
            raise invalid(f"Type: {vpn_type!r} is not a valid VPN connection type (ipsec.1)")
        cgw_id = params.get("CustomerGatewayId")
        if not cgw_id:
            raise missing("CustomerGatewayId")
        cgw = backend.get_customer_gateway(cgw_id)
        if cgw.state != "available":
            raise VpnError("InvalidCustomerGatewayID.NotFound", f"The customerGateway ID '{cgw_id}' does not exist")
        vgw_id = params.get("VpnGatewayId")
        if not vgw_id:
            raise missing("VpnGatewayId")
        vgw = backend.get_vpn_gateway(vgw_id)
        if vgw.state != "available":
            raise VpnError("InvalidVpnGatewayID.NotFound", f"The virtual private gateway ID '{vgw_id}' does not exist")
        static_only = params.get("Options.StaticRoutesOnly", "false").lower() == "true"
        given = [tunnel_options(params, f"Options.TunnelOptions.{i}") for i in (1, 2, 3)]
        if given[2]["inside_cidr"] or given[2]["psk"] or given[2]["ike_versions"]:
            raise invalid("Options.TunnelOptions: a VPN connection has 2 tunnels; at most 2 tunnel options are allowed")
        used = {t.inside_cidr for c in self._connections(backend) if c.vpn_gateway_id == vgw_id for t in c.tunnel_list}
        checked = []
        for index, options in enumerate(given[:2]):
            field = f"Options.TunnelOptions.{index + 1}"
            net = (
                check_inside_cidr(options["inside_cidr"], f"{field}.TunnelInsideCidr")
                if options["inside_cidr"]
                else None
            )
            psk = check_psk(options["psk"], f"{field}.PreSharedKey") if options["psk"] is not None else None
            versions = check_ike_versions(options["ike_versions"], f"{field}.IKEVersions")
            if net is not None:
                if net in used:
                    raise invalid(
                        f"{field}.TunnelInsideCidr: the tunnel inside CIDR {net} is already in use by another "
                        f"tunnel of the virtual private gateway {vgw_id}"
                    )
                used.add(net)
            checked.append((net, psk, versions))
        vpn_id = random_vpn_connection_id()
        tunnels = []
        for index, (given_net, psk, versions) in enumerate(checked):
            net = given_net or random_inside_cidr(used)
            used.add(net)
            outside = self._allocate(f"{CLOUD}/{region}/{vpn_id}/{index}")
            tunnels.append(Tunnel(index, outside, net, psk or random_psk(), versions))
        tags = add_tag_specification(_tag_specifications(params))
        connection = SandboxVpnConnection(
            backend,
            self,
            region=region,
            vpn_id=vpn_id,
            vpn_type=vpn_type,
            cgw_id=cgw_id,
            vgw_id=vgw_id,
            tags=tags,
            tunnels=tunnels,
            static_only=static_only,
        )
        backend.vpn_connections[vpn_id] = connection
        return {"VpnConnection": connection}

    def _ModifyVpnTunnelOptions(self, backend, region, params):
        connection = self._connection(backend, params.get("VpnConnectionId") or "")
        address = params.get("VpnTunnelOutsideIpAddress")
        if not address:
            raise missing("VpnTunnelOutsideIpAddress")
        tunnel = next((t for t in connection.tunnel_list if t.outside_ip == address), None)
        if tunnel is None:
            raise invalid(
                f"VpnTunnelOutsideIpAddress: {address} is not the outside address of a tunnel of {connection.id}"
            )
        options = tunnel_options(params, "TunnelOptions")
        psk = check_psk(options["psk"], "TunnelOptions.PreSharedKey") if options["psk"] is not None else None
        net = None
        if options["inside_cidr"]:
            net = check_inside_cidr(options["inside_cidr"], "TunnelOptions.TunnelInsideCidr")
            others = {
                t.inside_cidr
                for c in self._connections(backend)
                if c.vpn_gateway_id == connection.vpn_gateway_id
                for t in c.tunnel_list
                if t is not tunnel
            }
            if net in others:
                raise invalid(f"TunnelOptions.TunnelInsideCidr: the tunnel inside CIDR {net} is already in use")
        versions = (
            check_ike_versions(options["ike_versions"], "TunnelOptions.IKEVersions")
            if options["ike_versions"]
            else None
        )
        if psk is not None:
            tunnel.psk = psk
        if net is not None:
            tunnel.inside_cidr = net
        if versions is not None:
            tunnel.ike_versions = versions
        return {"VpnConnection": connection}

    def _DeleteVpnConnection(self, backend, region, params):
        connection = self._connection(backend, params.get("VpnConnectionId") or "")
        connection.state = "deleted"
        for tunnel in connection.tunnel_list:
            if self.fabric is not None:
                self.fabric.release(f"{CLOUD}/{region}/{connection.id}/{tunnel.index}")
        return {"Return": True}

    def _static_route(self, backend, params):
        connection = self._connection(backend, params.get("VpnConnectionId") or "")
        cidr = params.get("DestinationCidrBlock")
        if not cidr:
            raise missing("DestinationCidrBlock")
        try:
            net = str(ipaddress.ip_network(cidr, strict=True))
        except ValueError:
            raise invalid(f"DestinationCidrBlock: {cidr!r} is not a valid CIDR block") from None
        return connection, net

    def _CreateVpnConnectionRoute(self, backend, region, params):
        connection, net = self._static_route(backend, params)
        if not connection.static_routes_only:
            raise invalid(f"VpnConnectionId: {connection.id} does not use static routes (StaticRoutesOnly is false)")
        if net not in connection.static_cidrs:
            connection.static_cidrs.append(net)
        return {}

    def _DeleteVpnConnectionRoute(self, backend, region, params):
        connection, net = self._static_route(backend, params)
        if net not in connection.static_cidrs:
            raise VpnError("InvalidRoute.NotFound", f"The route {net} does not exist in {connection.id}")
        connection.static_cidrs.remove(net)
        return {}

    # ---------------------------------------------------------------- route propagation
    def _propagation(self, backend, params):
        table_id = params.get("RouteTableId")
        if not table_id:
            raise missing("RouteTableId")
        table = backend.route_tables.get(table_id)
        if table is None:
            raise VpnError("InvalidRouteTableID.NotFound", f"The routeTable ID '{table_id}' does not exist")
        vgw_id = params.get("GatewayId")
        if not vgw_id:
            raise missing("GatewayId")
        gateway = backend.get_vpn_gateway(vgw_id)
        return table, gateway

    def _EnableVgwRoutePropagation(self, backend, region, params):
        table, gateway = self._propagation(backend, params)
        attached = gateway.attachments.get(table.vpc_id)
        if attached is None or attached.state != "attached":
            raise VpnError("Gateway.NotAttached", f"resource {gateway.id} is not attached to network {table.vpc_id}")
        propagating = list(getattr(table, "propagating_vgws", None) or [])
        if not any(p["GatewayId"] == gateway.id for p in propagating):
            propagating.append({"GatewayId": gateway.id})
        table.propagating_vgws = propagating
        return {}

    def _DisableVgwRoutePropagation(self, backend, region, params):
        table, gateway = self._propagation(backend, params)
        table.propagating_vgws = [
            p for p in getattr(table, "propagating_vgws", None) or [] if p["GatewayId"] != gateway.id
        ]
        return {}

    def sync_propagated_routes(self, backend, region) -> None:
        """Every propagating route table gets the routes its VGWs learned (a route of the table's
        own with the same destination wins, as in EC2)."""
        for table in backend.route_tables.values():
            for route_id in [k for k, r in table._routes.items() if isinstance(r, PropagatedRoute)]:
                del table._routes[route_id]
            for propagation in getattr(table, "propagating_vgws", None) or ():
                gateway = backend.vpn_gateways.get(propagation["GatewayId"])
                if gateway is None or gateway.state == "deleted":
                    continue
                taken = {r.destination_cidr_block for r in table._routes.values()}
                for cidr in self.learned_routes(region, gateway.id):
                    if cidr not in taken:
                        route = PropagatedRoute(table, cidr, None, gateway=gateway)
                        table._routes[route.id] = route
                        taken.add(cidr)

    # ---------------------------------------------------------------- the fabric
    def _allocate(self, owner: str) -> str:
        if self.fabric is None:
            # No fabric: still an address of the sandbox's range, unique per owner in this process.
            return f"198.19.{secrets.randbelow(256)}.{1 + secrets.randbelow(254)}"
        return self.fabric.allocate(owner)

    def _backends(self):
        if self.account not in dict.keys(ec2_backends):
            return {}
        return dict(dict.items(dict.__getitem__(ec2_backends, self.account)))

    def publish(self) -> None:
        """Hand the fabric every attached VGW and every live connection's two tunnel ends."""
        if self.fabric is None:
            return
        gateways, endpoints = [], []
        for region, backend in sorted(self._backends().items()):
            published = {}
            for vgw in backend.vpn_gateways.values():
                if vgw.state == "deleted":
                    continue
                vpcs = [vpc_id for vpc_id, a in vgw.attachments.items() if a.state == "attached"]
                if not vpcs:
                    continue
                vpc = backend.vpcs.get(vpcs[0])
                if vpc is None:
                    continue
                cidrs = sorted({vpc.cidr_block, *_vpc_cidrs(vpc)})
                key = f"{CLOUD}/{region}/{vgw.id}"
                published[vgw.id] = key
                gateways.append(
                    {"key": key, "cloud": CLOUD, "region": region, "asn": int(vgw.amazon_side_asn), "cidrs": cidrs}
                )
            for connection in self._connections(backend):
                key = published.get(connection.vpn_gateway_id)
                cgw = backend.customer_gateways.get(connection.customer_gateway_id)
                if key is None or cgw is None:
                    continue
                for tunnel in connection.tunnel_list:
                    endpoints.append(
                        {
                            "key": self.end_key(connection, tunnel),
                            "gateway": key,
                            "local_public": tunnel.outside_ip,
                            "remote_public": cgw.ip_address,
                            "psk": tunnel.psk,
                            "ike_version": 2 if "ikev2" in tunnel.ike_versions else 1,
                            "inside": f"{tunnel.aws_inside}/30",
                            "remote_inside": tunnel.customer_inside,
                            "peer_asn": int(cgw.bgp_asn),
                        }
                    )
        self.fabric.publish(CLOUD, gateways, endpoints)

    @staticmethod
    def end_key(connection, tunnel) -> str:
        return f"{CLOUD}/{connection.region}/{connection.id}/{tunnel.index}"

    def _state(self, connection, tunnel) -> tuple[str, str, int]:
        """(Status, StatusMessage, AcceptedRouteCount) of one tunnel, from the fabric."""
        if self.fabric is None:
            return "DOWN", f"{IPSEC_DOWN}: {NO_FABRIC}", 0
        try:
            state = self.fabric.status(self.end_key(connection, tunnel))
        except KeyError:
            return "DOWN", f"{IPSEC_DOWN}: the virtual private gateway is not attached to a VPC", 0
        ipsec, bgp = state["ipsec"], state["bgp"]
        if ipsec["state"] != "UP":
            reason = ipsec.get("reason") or "NEGOTIATING"
            words = _REASONS.get(reason.split(":", 1)[0], reason)
            return "DOWN", f"{IPSEC_DOWN}: {words}", 0
        if connection.static_routes_only:
            return "UP", "", 0
        if bgp["state"] != "Established":
            detail = (
                f" (BGP {bgp['state']}: {bgp['last_error']})" if bgp.get("last_error") else f" (BGP {bgp['state']})"
            )
            return "DOWN", IPSEC_UP + detail, 0
        count = len(bgp.get("routes") or [])
        return "UP", f"{count} BGP ROUTES", count

    def telemetry(self, connection, tunnel) -> dict:
        status, message, count = self._state(connection, tunnel)
        if (status, message) != (tunnel.status, tunnel.message):
            tunnel.status, tunnel.message, tunnel.changed = status, message, _utcnow()
        return {
            "OutsideIpAddress": tunnel.outside_ip,
            "Status": status,
            "StatusMessage": message,
            "AcceptedRouteCount": count,
            "LastStatusChange": tunnel.changed,
        }

    def learned_routes(self, region: str, vgw_id: str) -> list[str]:
        if self.fabric is None:
            return []
        return self.fabric.routes(f"{CLOUD}/{region}/{vgw_id}")

    def configuration(self, connection) -> str:
        """The CustomerGatewayConfiguration document of ``connection`` (AWS's generic XML)."""
        backend = connection.ec2_backend
        cgw = backend.customer_gateways.get(connection.customer_gateway_id)
        vgw = backend.vpn_gateways.get(connection.vpn_gateway_id)
        cgw_ip = escape(cgw.ip_address if cgw else "")
        cgw_asn = escape(str(cgw.bgp_asn if cgw else ""))
        vgw_asn = escape(str(vgw.amazon_side_asn if vgw else DEFAULT_AMAZON_SIDE_ASN))
        tunnels = []
        for t in connection.tunnel_list:
            mask = str(t.inside_cidr.netmask)
            tunnels.append(
                "<ipsec_tunnel><customer_gateway>"
                f"<tunnel_outside_address><ip_address>{cgw_ip}</ip_address></tunnel_outside_address>"
                f"<tunnel_inside_address><ip_address>{t.customer_inside}</ip_address>"
                f"<network_mask>{mask}</network_mask><network_cidr>30</network_cidr></tunnel_inside_address>"
                f"<bgp><asn>{cgw_asn}</asn><hold_time>30</hold_time></bgp></customer_gateway>"
                "<vpn_gateway>"
                f"<tunnel_outside_address><ip_address>{t.outside_ip}</ip_address></tunnel_outside_address>"
                f"<tunnel_inside_address><ip_address>{t.aws_inside}</ip_address>"
                f"<network_mask>{mask}</network_mask><network_cidr>30</network_cidr></tunnel_inside_address>"
                f"<bgp><asn>{vgw_asn}</asn><hold_time>30</hold_time></bgp></vpn_gateway>"
                f"<ike><authentication_protocol>sha1</authentication_protocol>"
                f"<encryption_protocol>aes-128-cbc</encryption_protocol><lifetime>28800</lifetime>"
                f"<perfect_forward_secrecy>group2</perfect_forward_secrecy><mode>main</mode>"
                f"<pre_shared_key>{escape(t.psk)}</pre_shared_key></ike>"
                "<ipsec><protocol>esp</protocol><authentication_protocol>hmac-sha1-96</authentication_protocol>"
                "<encryption_protocol>aes-128-cbc</encryption_protocol><lifetime>3600</lifetime>"
                "<perfect_forward_secrecy>group2</perfect_forward_secrecy><mode>tunnel</mode>"
                "<clear_df_bit>true</clear_df_bit><fragmentation_before_encryption>true</fragmentation_before_encryption>"
                "<tcp_mss_adjustment>1379</tcp_mss_adjustment>"
                "<dead_peer_detection><interval>10</interval><retries>3</retries></dead_peer_detection></ipsec>"
                "</ipsec_tunnel>"
            )
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<vpn_connection id="{connection.id}">'
            f"<customer_gateway_id>{connection.customer_gateway_id}</customer_gateway_id>"
            f"<vpn_gateway_id>{connection.vpn_gateway_id}</vpn_gateway_id>"
            f"<vpn_connection_type>{connection.type}</vpn_connection_type>" + "".join(tunnels) + "</vpn_connection>"
        )

    def reset(self) -> None:
        if self.fabric is not None:
            self.fabric.publish(CLOUD, [], [])


def _vpc_cidrs(vpc) -> list[str]:
    """The IPv4 CIDR blocks associated with a moto VPC (besides its primary one)."""
    return [
        a["cidr_block"]
        for a in vpc.get_cidr_block_association_set(ipv6=False)
        if (a.get("cidr_block_state") or {}).get("state") in (None, "associated")
    ]


def _tag_specifications(params: dict) -> list[dict]:
    """``TagSpecification.N.ResourceType`` / ``.Tag.M.Key`` / ``.Value`` of the query, as moto reads them."""
    specs = []
    index = 1
    while f"TagSpecification.{index}.ResourceType" in params:
        tags = []
        tag = 1
        while f"TagSpecification.{index}.Tag.{tag}.Key" in params:
            tags.append(
                {
                    "Key": params[f"TagSpecification.{index}.Tag.{tag}.Key"],
                    "Value": params.get(f"TagSpecification.{index}.Tag.{tag}.Value", ""),
                }
            )
            tag += 1
        specs.append({"ResourceType": params[f"TagSpecification.{index}.ResourceType"], "Tags": tags})
        index += 1
    return specs
