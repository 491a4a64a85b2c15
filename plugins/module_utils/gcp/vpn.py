# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Google Cloud's side of the VPN mesh: HA VPN, Cloud Router, external VPN gateways and tunnels.

The resources (``common/contracts.py`` ``VpnGateways``), in creation order:

- ``vpn_gateway`` ``<mesh>-havpn``: the regional HA VPN gateway on ``desired["network"]["network"]``
  (two interfaces, each with its own public address); immutable.
- ``router`` ``<mesh>-router``: the Cloud Router with the gateway's ASN, advertising exactly
  ``desired["cidrs"]`` (custom mode); ASN and ranges are updated in place (``routers.patch``).
- ``external_vpn_gateway`` ``<mesh>-peer-<cloud>``: one per remote cloud; AWS's four tunnel
  addresses (``FOUR_IPS_REDUNDANCY``, interface ``i`` is tunnel ``i``), Azure's two instance
  addresses (``TWO_IPS_REDUNDANCY``, interface ``i`` is instance ``i``); immutable.
- ``vpn_tunnel`` (the tunnel's name): immutable, so any change replaces it. Compute never returns
  the shared secret; the tunnel's ``description`` carries a fingerprint of it (a truncated
  HMAC-SHA256 keyed by the tunnel's name) that ``read`` returns as ``psk_fingerprint``, so a new
  key shows as a change while ``shared_secret`` itself is ``WRITE_ONLY``.
- ``router_peer`` (the tunnel's name): the router interface (same name) linked to the tunnel and
  its BGP peer (``<tunnel>-bgp``). The router is replaced as a whole (``routers.update``): a
  patch cannot remove the last interface, since the SDK sends no empty list. Its ``id`` is
  ``<router selfLink>/interfaces/<name>``.

Ids are selfLinks. Every write waits for its Compute operation. ``gateway()`` reports the two HA
VPN interface addresses and no per-tunnel addresses; ``tunnel_status()`` reads each tunnel's
``status``/``detailedStatus`` and the router's ``getRouterStatus``.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    UnknownActionError,
    ValidationError,
    gone_is_done,
    missing_means,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp.client import CLOUD, self_link, to_dict
from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.spec import psk_fingerprint

KINDS = ("vpn_gateway", "router", "external_vpn_gateway", "vpn_tunnel", "router_peer")
GATEWAY_KINDS = ("vpn_gateway", "router")
# Independent resources Compute makes side by side; BGP peers are edits of one router, one at a time.
CONCURRENT_KINDS = frozenset(("external_vpn_gateway", "vpn_tunnel"))
WRITE_ONLY = frozenset(("shared_secret",))
REDUNDANCY = {1: "SINGLE_IP_INTERNALLY_REDUNDANT", 2: "TWO_IPS_REDUNDANCY", 4: "FOUR_IPS_REDUNDANCY"}
NOTE = "Managed by multicloud.fabric"
TUNNEL_NOTE = NOTE + "; psk-hmac={fingerprint}"
_FINGERPRINT = re.compile(r"\bpsk-hmac=([0-9a-f]{16})\b")
_NAME = re.compile(r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?")
_ACTIONS = tuple(f"{verb} {kind}" for kind in KINDS for verb in ("create", "update", "delete"))


# ----------------------------------------------------------------------------- pure translation


def gateway_name(mesh):
    return f"{mesh}-havpn"


def router_name(mesh):
    return f"{mesh}-router"


def external_name(mesh, cloud):
    return f"{mesh}-peer-{cloud}"


def peer_name(tunnel):
    """The BGP peer of the router interface named like ``tunnel``."""
    return f"{tunnel}-bgp"


def ref(kind, name):
    return {"ref": f"{kind}/{name}"}


def owns(mesh, name):
    """True when ``name`` is one this mesh gives a resource, not another mesh's whose name merely
    starts with this one's (``fabric`` must not take ``fabric-2-router``)."""
    pattern = r"(havpn|router|peer-(aws|azure)|(aws-gcp|gcp-azure)-[0-9]+)"
    return re.fullmatch(re.escape(mesh) + "-" + pattern, str(name or "")) is not None


def _name_of(link):
    return str(link or "").rstrip("/").rsplit("/", 1)[-1]


def _check_name(name, field):
    if not _NAME.fullmatch(name):
        raise ValidationError(
            field,
            f"{name!r} is not a Google Cloud resource name (1-63 lowercase letters, digits and '-', "
            "starting with a letter)",
            advice="use a shorter or lowercase mesh name",
        )
    return name


def _ipv4(value, field):
    try:
        return str(ipaddress.IPv4Address(str(value)))
    except ValueError:
        raise ValidationError(field, f"expected the peer's public IPv4 address, got {value!r}") from None


def _external_gateways(desired):
    """``{remote cloud: [public ip by interface id]}`` of the tunnels, checked."""
    found = {}
    for index, tunnel in enumerate(desired.get("tunnels") or []):
        remote = tunnel.get("remote") or {}
        field = f"tunnels[{index}].remote.public_ip"
        address = _ipv4(remote.get("public_ip"), field)
        cloud = remote.get("cloud")
        # Azure: one address per gateway instance; AWS: one per tunnel.
        ident = remote["interface"] if "interface" in remote else tunnel["index"]
        interfaces = found.setdefault(cloud, {})
        if interfaces.get(ident, address) != address:
            raise ValidationError(
                field,
                f"{cloud} interface {ident} is {interfaces[ident]} for another tunnel; one interface has one address",
            )
        interfaces[ident] = address
    out = {}
    for cloud, interfaces in found.items():
        count = len(interfaces)
        if count not in REDUNDANCY or sorted(interfaces) != list(range(count)):
            raise ValidationError(
                "tunnels",
                f"the {cloud} side has interfaces {sorted(interfaces)}; an external VPN gateway has 1, 2 or 4 "
                "interfaces numbered from 0",
                advice=f"pass every tunnel to {cloud} once its addresses are known",
            )
        out[cloud] = [interfaces[i] for i in range(count)]
    return out


def vpn_resources(desired):
    """Every resource ``desired`` needs (see the module docstring), checked, without any call."""
    mesh = desired.get("name") or ""
    _check_name(mesh, "name")
    network = (desired.get("network") or {}).get("network")
    if not network:
        raise ValidationError("network.network", "the HA VPN gateway needs the name of its VPC network")
    try:
        asn = int(desired.get("asn"))
    except (TypeError, ValueError):
        raise ValidationError("asn", f"expected a whole number, got {desired.get('asn')!r}") from None
    cidrs = sorted(str(c) for c in desired.get("cidrs") or [])
    if not cidrs:
        raise ValidationError("cidrs", "the Cloud Router needs the ranges it advertises")
    gateway, router = gateway_name(mesh), _check_name(router_name(mesh), "name")
    _check_name(gateway, "name")
    out = [
        {
            "kind": "vpn_gateway",
            "name": gateway,
            "spec": {"network": _name_of(network), "stack_type": "IPV4_ONLY"},
            "replace_on": "*",
        },
        {
            "kind": "router",
            "name": router,
            "spec": {
                "network": _name_of(network),
                "asn": asn,
                "advertise_mode": "CUSTOM",
                "advertised_groups": [],
                "advertised_ranges": cidrs,
            },
            "replace_on": ["network"],
        },
    ]
    externals = _external_gateways(desired)
    for cloud, addresses in sorted(externals.items()):
        out.append(
            {
                "kind": "external_vpn_gateway",
                "name": _check_name(external_name(mesh, cloud), "name"),
                "spec": {"redundancy_type": REDUNDANCY[len(addresses)], "interfaces": addresses},
                "replace_on": "*",
            }
        )
    tunnels, peers = [], []
    for index, tunnel in enumerate(desired.get("tunnels") or []):
        name = _check_name(tunnel["name"], f"tunnels[{index}].name")
        _check_name(peer_name(name), f"tunnels[{index}].name")
        local, remote = tunnel["local"], tunnel["remote"]
        if local.get("interface") not in (0, 1):
            raise ValidationError(f"tunnels[{index}].local.interface", "an HA VPN gateway has interfaces 0 and 1")
        prefix = ipaddress.ip_network(tunnel["inside_cidr"]).prefixlen
        tunnels.append(
            {
                "kind": "vpn_tunnel",
                "name": name,
                "spec": {
                    "vpn_gateway": ref("vpn_gateway", gateway),
                    "vpn_gateway_interface": local["interface"],
                    "peer_external_gateway": ref("external_vpn_gateway", external_name(mesh, remote["cloud"])),
                    "peer_external_gateway_interface": remote["interface"]
                    if "interface" in remote
                    else tunnel["index"],
                    "ike_version": int(tunnel.get("ike_version") or 2),
                    "router": ref("router", router),
                    "shared_secret": tunnel["psk"],
                    "psk_fingerprint": psk_fingerprint(name, tunnel["psk"]),
                },
                "replace_on": "*",
            }
        )
        peers.append(
            {
                "kind": "router_peer",
                "name": name,
                "spec": {
                    "router": ref("router", router),
                    "vpn_tunnel": ref("vpn_tunnel", name),
                    "ip_range": f"{local['bgp_ip']}/{prefix}",
                    "peer_ip": remote["bgp_ip"],
                    "peer_asn": int(remote["asn"]),
                },
                "replace_on": ["router"],
            }
        )
    return out + tunnels + peers


def _resource(kind, name, link, spec, raw, status="ready"):  # noqa: PLR0917
    return {"kind": kind, "name": name, "id": link, "status": status, "spec": spec, "raw": raw}


def gateway_from_cloud(item):
    return _resource(
        "vpn_gateway",
        item["name"],
        item.get("self_link"),
        {"network": _name_of(item.get("network")), "stack_type": item.get("stack_type") or "IPV4_ONLY"},
        item,
    )


def router_from_cloud(item):
    bgp = item.get("bgp") or {}
    spec = {
        "network": _name_of(item.get("network")),
        "asn": bgp.get("asn"),
        "advertise_mode": bgp.get("advertise_mode") or "DEFAULT",
        "advertised_groups": list(bgp.get("advertised_groups") or []),
        # proto-plus spells the field range_ (a Python builtin); a plain dict may say range
        "advertised_ranges": sorted(r.get("range_") or r.get("range") for r in bgp.get("advertised_ip_ranges") or []),
    }
    return _resource("router", item["name"], item.get("self_link"), spec, item)


def router_peers_from_cloud(item, mesh):
    """The ``router_peer`` resources of a router: its interfaces of ``mesh`` and their peers."""
    peers = {p.get("interface_name"): p for p in item.get("bgp_peers") or []}
    out = []
    for interface in item.get("interfaces") or []:
        name = interface.get("name") or ""
        if not owns(mesh, name):
            continue
        peer = peers.get(name) or {}
        spec = {
            "router": ref("router", item["name"]),
            "vpn_tunnel": ref("vpn_tunnel", _name_of(interface.get("linked_vpn_tunnel"))),
            "ip_range": interface.get("ip_range"),
            "peer_ip": peer.get("peer_ip_address"),
            "peer_asn": peer.get("peer_asn"),
        }
        link = f"{item.get('self_link')}/interfaces/{name}"
        out.append(_resource("router_peer", name, link, spec, {"interface": interface, "bgp_peer": peer or None}))
    return out


def external_from_cloud(item):
    interfaces = sorted(item.get("interfaces") or [], key=lambda i: i.get("id") or 0)
    spec = {"redundancy_type": item.get("redundancy_type"), "interfaces": [i.get("ip_address") for i in interfaces]}
    return _resource("external_vpn_gateway", item["name"], item.get("self_link"), spec, item)


def tunnel_from_cloud(item):
    found = _FINGERPRINT.search(item.get("description") or "")
    spec = {
        "vpn_gateway": ref("vpn_gateway", _name_of(item.get("vpn_gateway"))),
        "vpn_gateway_interface": item.get("vpn_gateway_interface") or 0,
        "peer_external_gateway": ref("external_vpn_gateway", _name_of(item.get("peer_external_gateway"))),
        "peer_external_gateway_interface": item.get("peer_external_gateway_interface") or 0,
        "ike_version": item.get("ike_version") or 2,
        "router": ref("router", _name_of(item.get("router"))),
        "psk_fingerprint": found.group(1) if found else None,
    }
    raw = {k: v for k, v in item.items() if k != "shared_secret"}
    return _resource("vpn_tunnel", item["name"], item.get("self_link"), spec, raw, status=item.get("status"))


# ----------------------------------------------------------------------------- adapter


class VpnGateways:
    """The VPN mesh's Google Cloud resources over Compute Engine v1 (see the module docstring)."""

    KINDS = KINDS
    GATEWAY_KINDS = GATEWAY_KINDS
    CONCURRENT_KINDS = CONCURRENT_KINDS
    WRITE_ONLY = WRITE_ONLY

    def __init__(self, conn):
        self.conn = conn
        self.warnings = []

    def _client(self, service):
        # The connection's one factory of Compute clients (endpoint, CA bundle, credentials).
        return self.conn.compute(service)

    def _region(self, desired):
        region = desired.get("region") or self.conn.region
        if not region:
            raise ValidationError("region", "no Google Cloud region was given", advice="set the task's region option")
        return region

    def _project(self, desired):
        return ((desired.get("network") or {}).get("project")) or self.conn.project

    def _path(self, desired, kind, name):
        project, region = self._project(desired), self._region(desired)
        if kind == "external_vpn_gateway":
            return f"projects/{project}/global/externalVpnGateways/{name}"
        collection = {"vpn_gateway": "vpnGateways", "router": "routers", "vpn_tunnel": "vpnTunnels"}[kind]
        return f"projects/{project}/regions/{region}/{collection}/{name}"

    def _link(self, desired, value, ids):
        """The selfLink a ``{"ref": "<kind>/<name>"}`` stands for (the run's ids, else by name)."""
        kind, name = value["ref"].split("/", 1)
        return ids.get(value["ref"]) or self_link(self._path(desired, kind, name))

    # ------------------------------------------------------------------ the contract

    def resources(self, desired):
        """The resources ``desired`` needs."""
        return vpn_resources(desired)

    def _list(self, service, call, **kwargs):
        items = self.conn.rpc_list(
            self._client(service).list, resource=f"{service} of the VPN mesh", call=call, **kwargs
        )
        return [to_dict(item) for item in items]

    def read(self, desired):
        """Every resource of this mesh that exists (the names it gives), in ``KINDS`` order."""
        project, region, mesh = self._project(desired), self._region(desired), desired["name"]

        def mine(items):
            return sorted((i for i in items if owns(mesh, i.get("name"))), key=lambda i: i["name"])

        gateways = mine(self._list("vpn_gateways", "vpnGateways.list", project=project, region=region))
        routers = mine(self._list("routers", "routers.list", project=project, region=region))
        externals = mine(self._list("external_vpn_gateways", "externalVpnGateways.list", project=project))
        tunnels = mine(self._list("vpn_tunnels", "vpnTunnels.list", project=project, region=region))
        return (
            [gateway_from_cloud(g) for g in gateways]
            + [router_from_cloud(r) for r in routers]
            + [external_from_cloud(e) for e in externals]
            + [tunnel_from_cloud(t) for t in tunnels]
            + [p for r in routers for p in router_peers_from_cloud(r, mesh)]
        )

    @staticmethod
    def in_progress(current):
        """None: every operation is waited for, and a resource is listed once it is made."""
        return []

    def apply(self, action, desired, ids, wait=True):
        """Perform one planned create/update/delete and wait for its operation (seconds, so
        ``wait`` is not needed); the resource's id (None once deleted)."""
        verb, kind = action.get("action"), action.get("kind")
        method = getattr(self, f"_{verb}_{kind}", None) if kind in KINDS else None
        if method is None:
            raise UnknownActionError(CLOUD, "vpn", f"{verb} {kind}", _ACTIONS)
        return method(action, desired, ids)

    def gateway(self, desired, current):
        """The HA VPN gateway's two interface addresses, with the gateway's ASN and ranges."""
        found = [r for r in current or [] if r["kind"] == "vpn_gateway" and r["name"] == gateway_name(desired["name"])]
        interfaces = []
        if found:
            items = sorted((found[0].get("raw") or {}).get("vpn_interfaces") or [], key=lambda i: i.get("id") or 0)
            interfaces = [i.get("ip_address") for i in items]
        return {
            "cloud": CLOUD,
            "region": self._region(desired),
            "name": desired["name"],
            "asn": int(desired["asn"]),
            "cidrs": sorted(desired.get("cidrs") or []),
            "interfaces": interfaces,
            "tunnel_ips": {},
        }

    def tunnel_status(self, desired, current):
        """Every tunnel's state from its ``status``/``detailedStatus`` and the router's BGP sessions."""
        project, region = self._project(desired), self._region(desired)
        tunnels = {t["name"]: t for t in self._list("vpn_tunnels", "vpnTunnels.list", project=project, region=region)}
        status = self._router_status(project, region, router_name(desired["name"])) or {}
        peers = {p.get("name"): p for p in status.get("bgp_peer_status") or []}
        routes = {}
        for route in status.get("best_routes") or []:
            routes.setdefault(_name_of(route.get("next_hop_vpn_tunnel")), set()).add(route.get("dest_range"))
        interfaces = self.gateway(desired, current)["interfaces"]
        out = []
        for tunnel in desired.get("tunnels") or []:
            found = tunnels.get(tunnel["name"]) or {}
            peer = peers.get(peer_name(tunnel["name"])) or {}
            state = found.get("status")
            local = tunnel["local"].get("interface")
            out.append(
                {
                    "name": tunnel["name"],
                    "pair": tunnel["pair"],
                    "index": tunnel["index"],
                    "status": "UP" if state == "ESTABLISHED" else "DOWN",
                    "status_message": (
                        f"{state}: {found.get('detailed_status') or ''}".rstrip(": ")
                        if found
                        else "the VPN tunnel does not exist"
                    ),
                    "bgp_state": peer.get("state") or ("Idle" if found else None),
                    "routes_learned": sorted(routes.get(tunnel["name"], ())) if peer.get("status") == "UP" else [],
                    "local_public_ip": interfaces[local] if local is not None and local < len(interfaces) else None,
                    "remote_public_ip": found.get("peer_ip") or tunnel["remote"].get("public_ip"),
                }
            )
        return out

    @missing_means(None)
    def _router_status(self, project, region, name):
        answer = self.conn.rpc(
            self._client("routers").get_router_status,
            project=project,
            region=region,
            router=name,
            resource=f"router {region}/{name}",
            call="routers.getRouterStatus",
        )
        return to_dict(answer).get("result") or {}

    # ------------------------------------------------------------------ writes

    def _insert(self, desired, service, call, resource, **kwargs):
        project = self._project(desired)
        region = None if service == "external_vpn_gateways" else self._region(desired)
        scope = {"region": region} if region else {}
        op = self.conn.rpc(
            self._client(service).insert_unary, project=project, resource=resource, call=call, **scope, **kwargs
        )
        self.conn.wait_compute_operation(op, project=project, region=region, resource=resource)

    def _delete(self, desired, service, call, kind, name, argument):  # noqa: PLR0917
        project = self._project(desired)
        region = None if service == "external_vpn_gateways" else self._region(desired)
        scope = {"region": region} if region else {}
        resource = f"{kind.replace('_', ' ')} {name}"
        op = gone_is_done(
            self.conn.rpc,
            self._client(service).delete_unary,
            project=project,
            resource=resource,
            call=call,
            **scope,
            **{argument: name},
        )
        if op is not None:
            self.conn.wait_compute_operation(op, project=project, region=region, resource=resource)

    def _create_vpn_gateway(self, action, desired, ids):
        spec, name = action["spec"], action["name"]
        body = {
            "name": name,
            "description": NOTE,
            "network": f"projects/{self._project(desired)}/global/networks/{spec['network']}",
            "stack_type": spec["stack_type"],
        }
        self._insert(desired, "vpn_gateways", "vpnGateways.insert", f"vpn gateway {name}", vpn_gateway_resource=body)
        return self_link(self._path(desired, "vpn_gateway", name))

    def _delete_vpn_gateway(self, action, desired, ids):
        self._delete(desired, "vpn_gateways", "vpnGateways.delete", "vpn_gateway", action["name"], "vpn_gateway")

    @staticmethod
    def _bgp(spec):
        return {
            "asn": spec["asn"],
            "advertise_mode": spec["advertise_mode"],
            "advertised_groups": list(spec["advertised_groups"]),
            "advertised_ip_ranges": [{"range_": cidr} for cidr in spec["advertised_ranges"]],
        }

    def _create_router(self, action, desired, ids):
        spec, name = action["spec"], action["name"]
        body = {
            "name": name,
            "description": NOTE,
            "network": f"projects/{self._project(desired)}/global/networks/{spec['network']}",
            "bgp": self._bgp(spec),
        }
        self._insert(desired, "routers", "routers.insert", f"router {name}", router_resource=body)
        return self_link(self._path(desired, "router", name))

    def _update_router(self, action, desired, ids):
        name, project, region = action["name"], self._project(desired), self._region(desired)
        resource = f"router {name}"
        op = self.conn.rpc(
            self._client("routers").patch_unary,
            project=project,
            region=region,
            router=name,
            router_resource={"bgp": self._bgp(action["spec"])},
            resource=resource,
            call="routers.patch",
        )
        self.conn.wait_compute_operation(op, project=project, region=region, resource=resource)
        return self_link(self._path(desired, "router", name))

    def _delete_router(self, action, desired, ids):
        self._delete(desired, "routers", "routers.delete", "router", action["name"], "router")

    def _create_external_vpn_gateway(self, action, desired, ids):
        spec, name = action["spec"], action["name"]
        body = {
            "name": name,
            "description": NOTE,
            "redundancy_type": spec["redundancy_type"],
            "interfaces": [{"id": i, "ip_address": address} for i, address in enumerate(spec["interfaces"])],
        }
        self._insert(
            desired,
            "external_vpn_gateways",
            "externalVpnGateways.insert",
            f"external vpn gateway {name}",
            external_vpn_gateway_resource=body,
        )
        return self_link(self._path(desired, "external_vpn_gateway", name))

    def _delete_external_vpn_gateway(self, action, desired, ids):
        self._delete(
            desired,
            "external_vpn_gateways",
            "externalVpnGateways.delete",
            "external_vpn_gateway",
            action["name"],
            "external_vpn_gateway",
        )

    def _create_vpn_tunnel(self, action, desired, ids):
        spec, name = action["spec"], action["name"]
        body = {
            "name": name,
            "description": TUNNEL_NOTE.format(fingerprint=spec["psk_fingerprint"]),
            "vpn_gateway": self._link(desired, spec["vpn_gateway"], ids),
            "vpn_gateway_interface": spec["vpn_gateway_interface"],
            "peer_external_gateway": self._link(desired, spec["peer_external_gateway"], ids),
            "peer_external_gateway_interface": spec["peer_external_gateway_interface"],
            "shared_secret": spec["shared_secret"],
            "ike_version": spec["ike_version"],
            "router": self._link(desired, spec["router"], ids),
        }
        self._insert(desired, "vpn_tunnels", "vpnTunnels.insert", f"vpn tunnel {name}", vpn_tunnel_resource=body)
        return self_link(self._path(desired, "vpn_tunnel", name))

    def _delete_vpn_tunnel(self, action, desired, ids):
        self._delete(desired, "vpn_tunnels", "vpnTunnels.delete", "vpn_tunnel", action["name"], "vpn_tunnel")

    @missing_means(None)
    def _get_router(self, project, region, name):
        found = self.conn.rpc(
            self._client("routers").get,
            project=project,
            region=region,
            router=name,
            resource=f"router {region}/{name}",
            call="routers.get",
        )
        return to_dict(found)

    def _replace_peer(self, action, desired, ids, spec):
        """Put the router back with the interface and BGP peer named ``action["name"]`` replaced by
        those of ``spec`` (removed when ``spec`` is None); the router's id, or None when it is gone."""
        project, region, name = self._project(desired), self._region(desired), action["name"]
        router_ref = (spec or action.get("spec") or {}).get("router") or ref("router", router_name(desired["name"]))
        router = _name_of(self._link(desired, router_ref, ids))
        current = self._get_router(project, region, router)
        if current is None:
            if spec is None:
                return None
            raise ValidationError(f"router_peer/{name}.router", f"the Cloud Router {router} does not exist")
        interfaces = [i for i in current.get("interfaces") or [] if i.get("name") != name]
        peers = [
            p
            for p in current.get("bgp_peers") or []
            if p.get("name") != peer_name(name) and p.get("interface_name") != name
        ]
        if spec is not None:
            interfaces.append(
                {
                    "name": name,
                    "ip_range": spec["ip_range"],
                    "linked_vpn_tunnel": self._link(desired, spec["vpn_tunnel"], ids),
                }
            )
            peers.append(
                {
                    "name": peer_name(name),
                    "interface_name": name,
                    "ip_address": spec["ip_range"].split("/")[0],
                    "peer_ip_address": spec["peer_ip"],
                    "peer_asn": spec["peer_asn"],
                }
            )
        body = dict(current, interfaces=interfaces, bgp_peers=peers)
        resource = f"router {router} interface {name}"
        op = self.conn.rpc(
            self._client("routers").update_unary,
            project=project,
            region=region,
            router=router,
            router_resource=body,
            resource=resource,
            call="routers.update",
        )
        self.conn.wait_compute_operation(op, project=project, region=region, resource=resource)
        return f"{current.get('self_link')}/interfaces/{name}"

    def _create_router_peer(self, action, desired, ids):
        return self._replace_peer(action, desired, ids, action["spec"])

    def _update_router_peer(self, action, desired, ids):
        return self._replace_peer(action, desired, ids, action["spec"])

    def _delete_router_peer(self, action, desired, ids):
        self._replace_peer(action, desired, ids, None)
