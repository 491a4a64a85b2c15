"""Compute Engine v1 HA VPN and Cloud Router as the sandbox serves them.

``vpnGateways`` (regional, two ``vpnInterfaces`` whose public addresses come from the VPN fabric),
``externalVpnGateways`` (global, 1, 2 or 4 peer interfaces), ``routers`` (regional, BGP, VPN
interfaces and BGP peers; ``patch`` is a JSON merge patch as Compute applies it) and ``vpnTunnels``
(regional; ``sharedSecret`` is write-only: reads answer it masked, with ``sharedSecretHash``).

The storage, operations and errors are the Compute emulator's (``compute.py``); this module
validates the bodies, fills what Compute fills, and keeps the fabric told: after every change it
publishes one gateway per HA VPN gateway that has a Cloud Router and one tunnel end per tunnel that
has a router interface and a BGP peer linked to it. Tunnel ``status``/``detailedStatus`` and
``getRouterStatus`` are read from :meth:`VpnFabric.status`; without a fabric every tunnel says why it
cannot come up.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import ipaddress
import time

from mc_sandbox.clouds.gcp.exceptions import ApiError, invalid

COLLECTIONS = {
    "vpnGateways": "compute#vpnGateway",
    "externalVpnGateways": "compute#externalVpnGateway",
    "routers": "compute#router",
    "vpnTunnels": "compute#vpnTunnel",
}
INSERT_SECONDS = {"vpnGateways": 10, "externalVpnGateways": 2, "routers": 5, "vpnTunnels": 10}
DELETE_SECONDS = {"vpnGateways": 10, "externalVpnGateways": 2, "routers": 5, "vpnTunnels": 5}
PATCH_SECONDS = 5
# What Compute sets on a resource and ignores in a patch or update body.
_OUTPUT = ("kind", "id", "creationTimestamp", "selfLink", "region")
REDUNDANCY = {"SINGLE_IP_INTERNALLY_REDUNDANT": 1, "TWO_IPS_REDUNDANCY": 2, "FOUR_IPS_REDUNDANCY": 4}
PRIVATE_ASNS = ((64512, 65534), (4200000000, 4294967294))
LINK_LOCAL = ipaddress.ip_network("169.254.0.0/16")
MASK = "*************"
# Compute's tunnel states and the texts it gives with them (VpnTunnel.status / detailedStatus).
ESTABLISHED = ("ESTABLISHED", "Tunnel is up and running.")
NO_INCOMING = ("NO_INCOMING_PACKETS", "No incoming packets from peer.")
FIRST_HANDSHAKE = ("FIRST_HANDSHAKE", "Handshake with peer.")
AUTH_FAILED = ("NEGOTIATION_FAILURE", "Handshake with peer failed: authentication failed. Check the shared secret.")
NO_PROPOSAL = (
    "NEGOTIATION_FAILURE",
    "Handshake with peer failed: no proposal chosen. Check the IKE version and ciphers on the peer.",
)
NO_FABRIC = ("NO_INCOMING_PACKETS", "No incoming packets from peer: this sandbox has no VPN data plane.")
NO_BGP = (
    "WAITING_FOR_FULL_CONFIG",
    "Waiting for full config: no Cloud Router interface and BGP peer are linked to this tunnel.",
)


def _name_of(reference) -> str:
    return str(reference or "").rstrip("/").rsplit("/", 1)[-1]


def _secret_hash(secret: str) -> str:
    return base64.b64encode(hashlib.sha256(secret.encode()).digest()[:21]).decode()


def _uptime(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} hours"] if hours else []
    return ", ".join([*parts, f"{minutes} minutes", f"{secs} seconds"])


class VpnResources:
    """The VPN collections of one Compute emulator (which calls every method under its lock)."""

    def __init__(self, compute, fabric=None):
        self._compute = compute
        self._fabric = fabric
        self._next_public = 1
        self._established: dict[str, float] = {}  # end key -> when BGP was first seen Established

    # ---------------------------------------------------------------- helpers
    def _resources(self, collection, scope=None):
        return [
            r
            for (kind, where, _), r in sorted(self._compute._resources.items())
            if kind == collection and (scope is None or where == scope)
        ]

    def _get(self, collection, scope, reference, field):
        if not reference:
            raise invalid(f"Invalid value for field '{field}': ''.", (field, "required"))
        return self._compute._get(collection, scope, _name_of(reference))

    def _public_address(self, owner: str) -> str:
        if self._fabric is not None:
            return self._fabric.allocate(owner)
        address = f"35.242.{self._next_public // 256}.{self._next_public % 256}"
        self._next_public += 1
        return address

    # ---------------------------------------------------------------- inserts
    def prepare(self, collection: str, resource: dict, scope: str) -> None:
        getattr(self, f"_prepare_{collection}")(resource, scope)

    def _prepare_vpnGateways(self, gateway, scope):
        network = self._compute._network(gateway.get("network"), "resource.network")
        gateway["network"] = network["selfLink"]
        stack = gateway.setdefault("stackType", "IPV4_ONLY")
        if stack != "IPV4_ONLY":
            raise invalid(
                f"Invalid value for field 'resource.stackType': '{stack}'. The sandbox emulates IPV4_ONLY gateways.",
                ("resource.stackType", "only IPV4_ONLY is emulated"),
            )
        gateway.setdefault("gatewayIpVersion", "IPV4")
        gateway["vpnInterfaces"] = [
            {"id": index, "ipAddress": self._public_address(f"gcp/{gateway['id']}/{index}")} for index in (0, 1)
        ]
        gateway["labelFingerprint"] = "42WmSpB8rSM="

    def _prepare_externalVpnGateways(self, gateway, scope):
        redundancy = gateway.get("redundancyType")
        if redundancy not in REDUNDANCY:
            raise invalid(
                f"Invalid value for field 'resource.redundancyType': '{redundancy or ''}'. "
                f"Must be one of {', '.join(sorted(REDUNDANCY))}.",
                ("resource.redundancyType", "required; one of " + ", ".join(sorted(REDUNDANCY))),
            )
        interfaces = gateway.get("interfaces") or []
        if len(interfaces) != REDUNDANCY[redundancy]:
            raise invalid(
                f"Invalid value for field 'resource.interfaces': redundancy type {redundancy} requires exactly "
                f"{REDUNDANCY[redundancy]} interface(s), got {len(interfaces)}.",
                ("resource.interfaces", f"{REDUNDANCY[redundancy]} interface(s) for {redundancy}"),
            )
        ids = set()
        for index, interface in enumerate(interfaces):
            field = f"resource.interfaces[{index}]"
            ident = interface.get("id", 0)
            if not isinstance(ident, int) or not 0 <= ident < len(interfaces) or ident in ids:
                raise invalid(
                    f"Invalid value for field '{field}.id': '{ident}'. Interface ids are unique, "
                    f"0 to {len(interfaces) - 1}.",
                    (f"{field}.id", "unique, 0 to n-1"),
                )
            ids.add(ident)
            try:
                ipaddress.IPv4Address(interface.get("ipAddress") or "")
            except ValueError:
                raise invalid(
                    f"Invalid value for field '{field}.ipAddress': '{interface.get('ipAddress') or ''}'. "
                    "Must be an IPv4 address.",
                    (f"{field}.ipAddress", "an IPv4 address"),
                ) from None
            interface["id"] = ident
        gateway["labelFingerprint"] = "42WmSpB8rSM="

    def _prepare_routers(self, router, scope):
        network = self._compute._network(router.get("network"), "resource.network")
        router["network"] = network["selfLink"]
        self._check_router(router, scope)

    def _check_router(self, router, scope):
        bgp = router.get("bgp")
        if bgp is not None:
            asn = bgp.get("asn")
            if isinstance(asn, str) and asn.isdigit():
                asn = int(asn)
            if not isinstance(asn, int) or not any(low <= asn <= high for low, high in PRIVATE_ASNS):
                raise invalid(
                    f"Invalid value for field 'resource.bgp.asn': '{bgp.get('asn')}'. Cloud Router ASN must be a "
                    "private ASN (64512-65534 or 4200000000-4294967294).",
                    ("resource.bgp.asn", "a private ASN"),
                )
            bgp["asn"] = asn
            mode = bgp.setdefault("advertiseMode", "DEFAULT")
            if mode not in ("DEFAULT", "CUSTOM"):
                raise invalid(
                    f"Invalid value for field 'resource.bgp.advertiseMode': '{mode}'.",
                    ("resource.bgp.advertiseMode", "DEFAULT or CUSTOM"),
                )
            for index, group in enumerate(bgp.get("advertisedGroups") or []):
                if group != "ALL_SUBNETS":
                    raise invalid(
                        f"Invalid value for field 'resource.bgp.advertisedGroups[{index}]': '{group}'.",
                        (f"resource.bgp.advertisedGroups[{index}]", "ALL_SUBNETS"),
                    )
            for index, item in enumerate(bgp.get("advertisedIpRanges") or []):
                field = f"resource.bgp.advertisedIpRanges[{index}].range"
                try:
                    ipaddress.IPv4Network(item.get("range") or "")
                except ValueError:
                    raise invalid(
                        f"Invalid value for field '{field}': '{item.get('range') or ''}'. Invalid IPCidrRange.",
                        (field, "an IPv4 CIDR range"),
                    ) from None
            if mode == "DEFAULT" and (bgp.get("advertisedGroups") or bgp.get("advertisedIpRanges")):
                raise invalid(
                    "Invalid value for field 'resource.bgp.advertiseMode': 'DEFAULT'. Custom advertisements "
                    "require advertiseMode CUSTOM.",
                    ("resource.bgp.advertiseMode", "CUSTOM when advertisedGroups or advertisedIpRanges are set"),
                )
            bgp.setdefault("keepaliveInterval", 20)
        interfaces = {}
        for index, interface in enumerate(router.get("interfaces") or []):
            field = f"resource.interfaces[{index}]"
            name = interface.get("name") or ""
            if not self._compute.valid_name(name) or name in interfaces:
                raise invalid(
                    f"Invalid value for field '{field}.name': '{name}'. Must be a unique RFC 1035 name.",
                    (f"{field}.name", "a unique RFC 1035 name"),
                )
            try:
                ip_range = ipaddress.IPv4Interface(interface.get("ipRange") or "")
            except ValueError:
                raise invalid(
                    f"Invalid value for field '{field}.ipRange': '{interface.get('ipRange') or ''}'. "
                    "Invalid IPCidrRange.",
                    (f"{field}.ipRange", "an address with its prefix, e.g. 169.254.10.1/30"),
                ) from None
            if interface.get("linkedVpnTunnel"):
                if not ip_range.network.subnet_of(LINK_LOCAL):
                    raise invalid(
                        f"Invalid value for field '{field}.ipRange': '{ip_range}'. The IP range of an interface "
                        "linked to a VPN tunnel must be within 169.254.0.0/16.",
                        (f"{field}.ipRange", "inside 169.254.0.0/16"),
                    )
                tunnel = self._get("vpnTunnels", scope, interface["linkedVpnTunnel"], f"{field}.linkedVpnTunnel")
                interface["linkedVpnTunnel"] = tunnel["selfLink"]
            interfaces[name] = ip_range
        peers = set()
        for index, peer in enumerate(router.get("bgpPeers") or []):
            field = f"resource.bgpPeers[{index}]"
            name = peer.get("name") or ""
            if not self._compute.valid_name(name) or name in peers:
                raise invalid(
                    f"Invalid value for field '{field}.name': '{name}'. Must be a unique RFC 1035 name.",
                    (f"{field}.name", "a unique RFC 1035 name"),
                )
            peers.add(name)
            interface = interfaces.get(peer.get("interfaceName") or "")
            if interface is None:
                raise invalid(
                    f"Invalid value for field '{field}.interfaceName': '{peer.get('interfaceName') or ''}'. "
                    "The router has no interface of that name.",
                    (f"{field}.interfaceName", "the name of one of the router's interfaces"),
                )
            peer.setdefault("ipAddress", str(interface.ip))
            for key in ("ipAddress", "peerIpAddress"):
                try:
                    address = ipaddress.IPv4Address(peer.get(key) or "")
                except ValueError:
                    address = None
                if address is None or address not in interface.network:
                    raise invalid(
                        f"Invalid value for field '{field}.{key}': '{peer.get(key) or ''}'. The address must be "
                        f"within the interface's range {interface.network}.",
                        (f"{field}.{key}", f"an address in {interface.network}"),
                    )
            asn = peer.get("peerAsn")
            if isinstance(asn, str) and asn.isdigit():
                asn = int(asn)
            if not isinstance(asn, int) or not 0 < asn < 2**32:
                raise invalid(
                    f"Invalid value for field '{field}.peerAsn': '{peer.get('peerAsn') or ''}'. "
                    "Must be a 16-bit or 32-bit ASN.",
                    (f"{field}.peerAsn", "required, 1-4294967295"),
                )
            peer["peerAsn"] = asn
            peer.setdefault("advertiseMode", "DEFAULT")
            peer.setdefault("enable", "TRUE")
            peer.setdefault("managementType", "MANAGED_BY_USER")

    def _prepare_vpnTunnels(self, tunnel, scope):
        if tunnel.get("targetVpnGateway"):
            raise invalid(
                "Invalid value for field 'resource.targetVpnGateway': Classic VPN is not emulated by the sandbox.",
                ("resource.targetVpnGateway", "use vpnGateway (HA VPN)"),
            )
        gateway = self._get("vpnGateways", scope, tunnel.get("vpnGateway"), "resource.vpnGateway")
        tunnel["vpnGateway"] = gateway["selfLink"]
        interface = tunnel.get("vpnGatewayInterface", 0)
        if interface not in (0, 1):
            raise invalid(
                f"Invalid value for field 'resource.vpnGatewayInterface': '{interface}'. Must be 0 or 1.",
                ("resource.vpnGatewayInterface", "0 or 1"),
            )
        tunnel["vpnGatewayInterface"] = interface
        if tunnel.get("peerExternalGateway"):
            peer = self._get(
                "externalVpnGateways", "global", tunnel["peerExternalGateway"], "resource.peerExternalGateway"
            )
            tunnel["peerExternalGateway"] = peer["selfLink"]
            ident = tunnel.get("peerExternalGatewayInterface", 0)
            found = [i for i in peer["interfaces"] if i["id"] == ident]
            if not found:
                raise invalid(
                    f"Invalid value for field 'resource.peerExternalGatewayInterface': '{ident}'. The external VPN "
                    f"gateway has interfaces {', '.join(str(i['id']) for i in peer['interfaces'])}.",
                    ("resource.peerExternalGatewayInterface", "an interface id of the external gateway"),
                )
            tunnel["peerExternalGatewayInterface"] = ident
            tunnel["peerIp"] = found[0]["ipAddress"]
        elif tunnel.get("peerGcpGateway"):
            peer = self._get("vpnGateways", scope, tunnel["peerGcpGateway"], "resource.peerGcpGateway")
            tunnel["peerGcpGateway"] = peer["selfLink"]
            tunnel["peerIp"] = peer["vpnInterfaces"][interface]["ipAddress"]
        else:
            raise invalid(
                "Invalid value for field 'resource.peerExternalGateway': ''. An HA VPN tunnel needs "
                "peerExternalGateway or peerGcpGateway.",
                ("resource.peerExternalGateway", "peerExternalGateway or peerGcpGateway is required"),
            )
        secret = tunnel.get("sharedSecret")
        if not isinstance(secret, str) or not secret:
            raise invalid(
                "Invalid value for field 'resource.sharedSecret': ''. A shared secret is required.",
                ("resource.sharedSecret", "required"),
            )
        version = tunnel.setdefault("ikeVersion", 2)
        if version not in (1, 2):
            raise invalid(
                f"Invalid value for field 'resource.ikeVersion': '{version}'. Must be 1 or 2.",
                ("resource.ikeVersion", "1 or 2"),
            )
        if tunnel.get("router"):
            router = self._get("routers", scope, tunnel["router"], "resource.router")
            if router["network"] != gateway["network"]:
                raise invalid(
                    f"Invalid value for field 'resource.router': '{tunnel['router']}'. The router must be in the "
                    "network of the VPN gateway.",
                    ("resource.router", "a router in the VPN gateway's network"),
                )
            tunnel["router"] = router["selfLink"]
        tunnel["sharedSecretHash"] = _secret_hash(secret)
        tunnel["labelFingerprint"] = "42WmSpB8rSM="

    # ---------------------------------------------------------------- patch, delete
    def patch(self, scope: str, name: str, body: dict, *, replace: bool = False) -> dict:
        """``routers.patch`` (a JSON merge patch) or ``routers.update`` (``replace``: the body is the
        whole router; what it leaves out is cleared), validated as a whole before it applies."""
        router = self._compute._get("routers", scope, name)
        if body.get("name") not in (None, name):
            raise invalid(
                f"Invalid value for field 'resource.name': '{body['name']}'. The name of a router cannot change.",
                ("resource.name", "immutable"),
            )
        if body.get("network") and _name_of(body["network"]) != _name_of(router["network"]):
            raise invalid(
                "Invalid value for field 'resource.network': the network of a router cannot change.",
                ("resource.network", "immutable"),
            )
        changes = {k: v for k, v in body.items() if k not in ("network", "name", *_OUTPUT)}
        if replace:
            merged = {k: v for k, v in router.items() if k in ("network", "name", *_OUTPUT)}
            merged.update(copy.deepcopy(changes))
        else:
            merged = _merge(copy.deepcopy(router), changes)
        self._check_router(merged, scope)
        router.clear()
        router.update(merged)
        return router

    def check_delete(self, collection: str, resource: dict) -> None:
        """Refuse to delete what another resource still uses, with Compute's message."""
        link = resource["selfLink"]
        users = []
        if collection in ("vpnGateways", "externalVpnGateways", "routers"):
            field = {"vpnGateways": "vpnGateway", "externalVpnGateways": "peerExternalGateway", "routers": "router"}
            users = [t["selfLink"] for t in self._resources("vpnTunnels") if t.get(field[collection]) == link]
            if collection == "vpnGateways":
                users += [t["selfLink"] for t in self._resources("vpnTunnels") if t.get("peerGcpGateway") == link]
        if users:
            kind = {"vpnGateways": "vpn_gateway", "externalVpnGateways": "external_vpn_gateway", "routers": "router"}
            base = self._compute.base + "/"
            raise ApiError(
                400,
                f"The {kind[collection]} resource '{link.removeprefix(base)}' is already being used by "
                f"'{sorted(users)[0].removeprefix(base)}'",
                status="FAILED_PRECONDITION",
            )

    def deleted(self, collection: str, resource: dict) -> None:
        if collection == "vpnGateways" and self._fabric is not None:
            for index in (0, 1):
                self._fabric.release(f"gcp/{resource['id']}/{index}")

    # ---------------------------------------------------------------- what reads answer
    def view(self, collection: str, resource: dict) -> dict:
        """The resource as a read answers it (a copy): tunnels masked, with their status."""
        out = copy.deepcopy(resource)
        if collection == "vpnTunnels":
            out["sharedSecret"] = MASK
            out["status"], out["detailedStatus"] = self._tunnel_state(resource)
        return out

    def _tunnel_state(self, tunnel):
        key = self._end_key(tunnel)
        if key not in self._published_ends():
            return NO_BGP
        if self._fabric is None:
            return NO_FABRIC
        try:
            state = self._fabric.status(key)
        except KeyError:
            return NO_BGP
        ipsec = state["ipsec"]
        if ipsec["state"] == "UP":
            return ESTABLISHED
        reason = ipsec.get("reason") or ""
        if reason == "AUTHENTICATION_FAILED":
            return AUTH_FAILED
        if reason == "NO_PROPOSAL_CHOSEN":
            return NO_PROPOSAL
        if reason.startswith("PROVISIONING") or reason == "NEGOTIATING":
            return FIRST_HANDSHAKE
        if reason == "NO_RESPONSE_FROM_PEER":
            return NO_INCOMING
        return ("NEGOTIATION_FAILURE", f"Handshake with peer failed: {reason or 'unknown reason'}.")

    def gateway_status(self, scope: str, name: str) -> dict:
        """``vpnGateways.getStatus``: the gateway's connections (one per peer gateway) and their HA state."""
        gateway = self._compute._get("vpnGateways", scope, name)
        connections: dict[tuple[str, str], list] = {}
        for tunnel in self._resources("vpnTunnels", scope):
            if tunnel["vpnGateway"] != gateway["selfLink"]:
                continue
            peer = (
                ("peerExternalGateway", tunnel["peerExternalGateway"])
                if tunnel.get("peerExternalGateway")
                else (
                    "peerGcpGateway",
                    tunnel.get("peerGcpGateway"),
                )
            )
            item = {"localGatewayInterface": tunnel["vpnGatewayInterface"], "tunnelUrl": tunnel["selfLink"]}
            if tunnel.get("peerExternalGateway"):
                item["peerGatewayInterface"] = tunnel["peerExternalGatewayInterface"]
            connections.setdefault(peer, []).append(item)
        answer = []
        for (field, link), tunnels in sorted(connections.items()):
            both = {t["localGatewayInterface"] for t in tunnels} == {0, 1}
            state = {"state": "CONNECTION_REDUNDANCY_MET" if both else "CONNECTION_REDUNDANCY_NOT_MET"}
            if not both:
                state["unsatisfiedReason"] = "INCOMPLETE_TUNNELS_COVERAGE"
            answer.append({field: link, "tunnels": tunnels, "state": state})
        return {"result": {"vpnConnections": answer}}

    def router_status(self, scope: str, name: str) -> dict:
        """``routers.getRouterStatus``: every BGP peer's session (from the fabric) and the best routes."""
        router = self._compute._get("routers", scope, name)
        interfaces = {i["name"]: i for i in router.get("interfaces") or []}
        peers, routes = [], []
        now = time.time()
        for peer in router.get("bgpPeers") or []:
            interface = interfaces.get(peer.get("interfaceName"), {})
            tunnel_link = interface.get("linkedVpnTunnel")
            status = {
                "name": peer["name"],
                "ipAddress": peer.get("ipAddress"),
                "peerIpAddress": peer.get("peerIpAddress"),
                "enableIpv4": True,
                "status": "DOWN",
                "state": "Idle",
                "numLearnedRoutes": 0,
            }
            if tunnel_link:
                status["linkedVpnTunnel"] = tunnel_link
            learned = self._peer_session(router, scope, tunnel_link)
            if learned is not None:
                key, bgp = learned
                status["state"] = bgp["state"]
                if bgp["state"] == "Established":
                    since = self._established.setdefault(key, now)
                    status.update(
                        status="UP",
                        numLearnedRoutes=len(bgp["routes"]),
                        uptime=_uptime(now - since),
                        uptimeSeconds=str(int(now - since)),
                    )
                    for cidr in bgp["routes"]:
                        routes.append(self._route(router, peer, tunnel_link, cidr))
                else:
                    self._established.pop(key, None)
                    if bgp.get("last_error"):
                        status["statusReason"] = "STATUS_REASON_UNSPECIFIED"
            peers.append(status)
        return {
            "kind": "compute#routerStatusResponse",
            "result": {"network": router["network"], "bgpPeerStatus": peers, "bestRoutes": routes},
        }

    def _peer_session(self, router, scope, tunnel_link):
        if not tunnel_link or self._fabric is None:
            return None
        tunnel = self._compute._resources.get(("vpnTunnels", scope, _name_of(tunnel_link)))
        if tunnel is None or tunnel.get("router") != router["selfLink"]:
            return None
        key = self._end_key(tunnel)
        if key not in self._published_ends():
            return None
        try:
            return key, self._fabric.status(key)["bgp"]
        except KeyError:
            return None

    def _route(self, router, peer, tunnel_link, cidr):
        return {
            "kind": "compute#route",
            "name": "",
            "network": router["network"],
            "destRange": cidr,
            "priority": 100,
            "nextHopIp": peer.get("peerIpAddress"),
            "nextHopVpnTunnel": tunnel_link,
            "routeType": "BGP",
            "creationTimestamp": router["creationTimestamp"],
        }

    # ---------------------------------------------------------------- the fabric
    def _end_key(self, tunnel) -> str:
        return f"gcp/{_name_of(tunnel['region'])}/{tunnel['name']}"

    def _published_ends(self) -> dict:
        return self._plan()[1]

    def _plan(self):
        """(gateways, endpoints by key) of everything this project terminates."""
        gateways, endpoints = {}, {}
        subnets = self._resources("subnetworks")
        for gateway in self._resources("vpnGateways"):
            region = _name_of(gateway["region"])
            tunnels = [t for t in self._resources("vpnTunnels", region) if t["vpnGateway"] == gateway["selfLink"]]
            routers = [r for r in self._resources("routers", region) if r["network"] == gateway["network"]]
            linked = [t["router"] for t in tunnels if t.get("router")]
            router = next((r for r in routers if r["selfLink"] in linked), routers[0] if routers else None)
            if router is None or not router.get("bgp"):
                continue
            bgp = router["bgp"]
            if bgp.get("advertiseMode") == "CUSTOM":
                cidrs = [item["range"] for item in bgp.get("advertisedIpRanges") or []]
                if "ALL_SUBNETS" in (bgp.get("advertisedGroups") or []):
                    cidrs += [s["ipCidrRange"] for s in subnets if s["network"] == router["network"]]
            else:
                cidrs = [
                    s["ipCidrRange"]
                    for s in subnets
                    if s["network"] == router["network"] and _name_of(s["region"]) == region
                ]
            if not cidrs:
                continue
            key = f"gcp/{region}/{gateway['name']}"
            gateways[key] = {
                "key": key,
                "cloud": "gcp",
                "region": region,
                "asn": bgp["asn"],
                "cidrs": sorted(set(cidrs)),
            }
            interfaces = {i["name"]: i for i in router.get("interfaces") or []}
            for tunnel in tunnels:
                if tunnel.get("router") != router["selfLink"]:
                    continue
                links = [i for i in interfaces.values() if i.get("linkedVpnTunnel") == tunnel["selfLink"]]
                peer = next(
                    (p for p in router.get("bgpPeers") or [] for i in links if p.get("interfaceName") == i["name"]),
                    None,
                )
                if peer is None:
                    continue
                interface = interfaces[peer["interfaceName"]]
                end_key = self._end_key(tunnel)
                endpoints[end_key] = {
                    "key": end_key,
                    "gateway": key,
                    "local_public": gateway["vpnInterfaces"][tunnel["vpnGatewayInterface"]]["ipAddress"],
                    "remote_public": tunnel["peerIp"],
                    "psk": tunnel["sharedSecret"],
                    "ike_version": tunnel["ikeVersion"],
                    "inside": f"{peer['ipAddress']}/{ipaddress.IPv4Interface(interface['ipRange']).network.prefixlen}",
                    "remote_inside": peer["peerIpAddress"],
                    "peer_asn": peer["peerAsn"],
                }
        return gateways, endpoints

    def publish(self) -> None:
        """Tell the fabric everything this project terminates now (after every change)."""
        if self._fabric is None:
            return
        gateways, endpoints = self._plan()
        self._fabric.publish("gcp", list(gateways.values()), list(endpoints.values()))


def _merge(target: dict, patch: dict) -> dict:
    """RFC 7386 JSON merge patch, as Compute applies ``patch`` bodies: objects merge, the rest replaces."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target
