# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS's side of the VPN mesh: a virtual private gateway, route propagation, customer gateways and
Site-to-Site VPN connections, as the named resources the generic planner (``vpn/plan.py``) diffs.

Resources (every name starts with the mesh name and is the resource's ``Name`` tag; every resource
also carries ``multicloud.fabric/vpn=<mesh name>``, which ``read`` finds them by):

- ``vpn_gateway`` ``<mesh>-vgw``: ``{"asn", "vpc_id"}``, attached to the VPC (immutable: a change
  replaces it);
- ``route_propagation`` ``<mesh>-propagation``: the gateway's routes propagated into every route
  table of the VPC;
- ``customer_gateway`` ``<mesh>-<pair>-cgw<interface>``: one per remote interface/instance a
  connection points at, ``{"ip_address", "bgp_asn"}`` (immutable);
- ``vpn_connection`` ``<mesh>-<pair>-<connection>``: both tunnels of one connection in tunnel order,
  ``{"customer_gateway", "vpn_gateway", "static_routes_only", "inside_cidrs", "ike_versions",
  "psks"}``; new keys are an update (ModifyVpnTunnelOptions per tunnel), anything else replaces.

Calls are the EC2 API through ``Connection.api`` (never amazon.aws's ``ec2_vpc_vpn``); pre-shared
keys appear in requests only, never in resource labels, errors or logs.
"""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.aws.client import CLOUD
from ansible_collections.multicloud.fabric.plugins.module_utils.aws.tags import NAME_TAG, tag_list, tags_to_dict
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    UnknownActionError,
    gone_is_done,
)

VPN_TAG = "multicloud.fabric/vpn"
KINDS = ("vpn_gateway", "route_propagation", "customer_gateway", "vpn_connection")
GATEWAY_KINDS = ("vpn_gateway", "route_propagation")
# Independent resources EC2 makes side by side (a VPN connection takes minutes).
CONCURRENT_KINDS = frozenset(("customer_gateway", "vpn_connection"))
GATEWAY_TYPE = "ipsec.1"
LIVE_STATES = ("pending", "available")
_GONE_CODES = frozenset(("InvalidVpnConnectionID.NotFound", "InvalidCustomerGatewayID.NotFound", "Gateway.NotAttached"))
# kind -> (describe call, response key, id list parameter)
_DESCRIBE = {
    "vpn_gateway": ("DescribeVpnGateways", "VpnGateways", "VpnGatewayIds"),
    "customer_gateway": ("DescribeCustomerGateways", "CustomerGateways", "CustomerGatewayIds"),
    "vpn_connection": ("DescribeVpnConnections", "VpnConnections", "VpnConnectionIds"),
}
CONNECTION_REPLACE_ON = ("customer_gateway", "vpn_gateway", "static_routes_only", "inside_cidrs", "ike_versions")


# --------------------------------------------------------------------------- pure translation


def ref(kind, name):
    return {"ref": f"{kind}/{name}"}


def gateway_name(mesh):
    return f"{mesh}-vgw"


def propagation_name(mesh):
    return f"{mesh}-propagation"


def customer_gateway_name(mesh, pair, interface):
    return f"{mesh}-{pair}-cgw{interface}"


def connection_name(mesh, pair, connection):
    return f"{mesh}-{pair}-{connection}"


def ike_versions(tunnel):
    return [f"ikev{int(tunnel.get('ike_version') or 2)}"]


def resources(desired):
    """Every resource ``desired`` needs (no cloud call)."""
    mesh = desired["name"]
    vpc_id = (desired.get("network") or {}).get("vpc_id")
    vgw = gateway_name(mesh)
    out = [
        {"kind": "vpn_gateway", "name": vgw, "spec": {"asn": int(desired["asn"]), "vpc_id": vpc_id}, "replace_on": "*"},
        {
            "kind": "route_propagation",
            "name": propagation_name(mesh),
            "spec": {"gateway": ref("vpn_gateway", vgw), "vpc_id": vpc_id},
            "replace_on": "*",
        },
    ]
    gateways, connections = {}, {}
    for tunnel in desired.get("tunnels") or ():
        local, remote = tunnel["local"], tunnel["remote"]
        cgw = customer_gateway_name(mesh, tunnel["pair"], remote["interface"])
        gateways.setdefault(
            cgw,
            {
                "kind": "customer_gateway",
                "name": cgw,
                "spec": {"ip_address": remote["public_ip"], "bgp_asn": int(remote["asn"])},
                "replace_on": "*",
            },
        )
        name = connection_name(mesh, tunnel["pair"], local["connection"])
        connections.setdefault(name, {"cgw": cgw, "tunnels": {}})["tunnels"][int(local["tunnel"])] = tunnel
    out.extend(gateways[name] for name in sorted(gateways))
    for name in sorted(connections):
        tunnels = [connections[name]["tunnels"][i] for i in sorted(connections[name]["tunnels"])]
        out.append(
            {
                "kind": "vpn_connection",
                "name": name,
                "spec": {
                    "customer_gateway": ref("customer_gateway", connections[name]["cgw"]),
                    "vpn_gateway": ref("vpn_gateway", vgw),
                    "static_routes_only": False,
                    "inside_cidrs": [t["inside_cidr"] for t in tunnels],
                    "ike_versions": ike_versions(tunnels[0]),
                    "psks": [t["psk"] for t in tunnels],
                },
                "replace_on": list(CONNECTION_REPLACE_ON),
                "tunnels": [t["name"] for t in tunnels],
            }
        )
    return out


def tag_specifications(resource_type, name, mesh):
    return [{"ResourceType": resource_type, "Tags": tag_list({NAME_TAG: name, VPN_TAG: mesh})}]


def _named(item):
    return tags_to_dict(item.get("Tags")).get(NAME_TAG)


def gateway_to_resource(vgw):
    attached = [a["VpcId"] for a in vgw.get("VpcAttachments") or () if a.get("State") in ("attaching", "attached")]
    return {
        "kind": "vpn_gateway",
        "name": _named(vgw),
        "id": vgw["VpnGatewayId"],
        "status": vgw.get("State"),
        "spec": {"asn": int(vgw["AmazonSideAsn"]), "vpc_id": attached[0] if attached else None},
    }


def customer_gateway_to_resource(cgw):
    return {
        "kind": "customer_gateway",
        "name": _named(cgw),
        "id": cgw["CustomerGatewayId"],
        "status": cgw.get("State"),
        "spec": {"ip_address": cgw.get("IpAddress"), "bgp_asn": int(cgw["BgpAsn"])},
    }


def connection_to_resource(vpn, names):
    """An EC2 VPN connection -> the resource shape; ``names`` maps gateway ids to ``kind/name``."""
    options = vpn.get("Options") or {}
    tunnels = options.get("TunnelOptions") or []
    versions = sorted({v["Value"] for t in tunnels[:1] for v in t.get("IkeVersions") or ()})

    def refer(resource_id):
        found = names.get(resource_id)
        return {"ref": found} if found else resource_id

    return {
        "kind": "vpn_connection",
        "name": _named(vpn),
        "id": vpn["VpnConnectionId"],
        "status": vpn.get("State"),
        "spec": {
            "customer_gateway": refer(vpn.get("CustomerGatewayId")),
            "vpn_gateway": refer(vpn.get("VpnGatewayId")),
            "static_routes_only": bool(options.get("StaticRoutesOnly")),
            "inside_cidrs": [t.get("TunnelInsideCidr") for t in tunnels],
            "ike_versions": versions,
            "psks": [t.get("PreSharedKey") for t in tunnels],
        },
        "outside_ips": [t.get("OutsideIpAddress") for t in tunnels],
        "telemetry": {t.get("OutsideIpAddress"): t for t in vpn.get("VgwTelemetry") or ()},
    }


def tunnel_options(spec):
    return [
        {"TunnelInsideCidr": cidr, "PreSharedKey": psk, "IKEVersions": [{"Value": v} for v in spec["ike_versions"]]}
        for cidr, psk in zip(spec["inside_cidrs"], spec["psks"], strict=True)
    ]


def telemetry_status(entry):
    """(status, status_message, bgp_state, accepted route count) of one VgwTelemetry entry."""
    if not entry:
        return "DOWN", "no telemetry for this tunnel yet", "Idle", 0
    status = "UP" if entry.get("Status") == "UP" else "DOWN"
    count = int(entry.get("AcceptedRouteCount") or 0)
    return status, entry.get("StatusMessage") or "", "Established" if status == "UP" else "Idle", count


# --------------------------------------------------------------------------- the adapter


class VpnGateways:
    """AWS's gateway and its half of every peering of the mesh."""

    KINDS = KINDS
    GATEWAY_KINDS = GATEWAY_KINDS
    CONCURRENT_KINDS = CONCURRENT_KINDS
    WRITE_ONLY = frozenset()

    def __init__(self, conn):
        self.conn = conn
        self.warnings = []

    def resources(self, desired):
        return resources(desired)

    # ------------------------------------------------------------------ reading

    def _region(self, desired):
        return desired.get("region") or self.conn.region

    def _list(self, desired, operation, key, filters, resource):
        return self.conn.paginate(
            "ec2", operation, key, {"Filters": filters}, region=self._region(desired), resource=resource
        )

    def _ec2(self, desired, operation, params, resource, eventual=False):
        return self.conn.api(
            "ec2", operation, params, region=self._region(desired), resource=resource, eventual=eventual
        )

    def _tagged(self, desired):
        return [{"Name": f"tag:{VPN_TAG}", "Values": [desired["name"]]}]

    def _describe_connections(self, desired, resource):
        found = self._ec2(desired, "DescribeVpnConnections", {"Filters": self._tagged(desired)}, resource)
        return [v for v in found.get("VpnConnections") or () if v.get("State") in LIVE_STATES]

    def read(self, desired):
        mesh = desired["name"]
        resource = f"vpn mesh {mesh}"
        found = []
        gateways = self._ec2(desired, "DescribeVpnGateways", {"Filters": self._tagged(desired)}, resource)
        vgws = [gateway_to_resource(g) for g in gateways.get("VpnGateways") or () if g.get("State") in LIVE_STATES]
        found.extend(vgws)
        for vgw in vgws:
            propagation = self._read_propagation(desired, vgw)
            if propagation is not None:
                found.append(propagation)
        cgws = self._ec2(desired, "DescribeCustomerGateways", {"Filters": self._tagged(desired)}, resource)
        cgws = [
            customer_gateway_to_resource(c) for c in cgws.get("CustomerGateways") or () if c.get("State") in LIVE_STATES
        ]
        found.extend(cgws)
        names = {r["id"]: f"{r['kind']}/{r['name']}" for r in vgws + cgws}
        found.extend(connection_to_resource(v, names) for v in self._describe_connections(desired, resource))
        return found

    def _route_tables(self, desired, vpc_id):
        return self._list(
            desired,
            "DescribeRouteTables",
            "RouteTables",
            [{"Name": "vpc-id", "Values": [vpc_id]}],
            f"route tables of vpc {vpc_id}",
        )

    def _read_propagation(self, desired, vgw):
        """The propagation resource when every route table of the gateway's VPC propagates it."""
        vpc_id = vgw["spec"]["vpc_id"]
        if vpc_id is None:
            return None
        tables = self._route_tables(desired, vpc_id)
        propagating = [
            t for t in tables if any(p.get("GatewayId") == vgw["id"] for p in t.get("PropagatingVgws") or ())
        ]
        if not tables or len(propagating) != len(tables):
            return None
        return {
            "kind": "route_propagation",
            "name": propagation_name(desired["name"]),
            "id": f"{vgw['id']}/{vpc_id}",
            "status": "available",
            "spec": {"gateway": ref("vpn_gateway", vgw["name"]), "vpc_id": vpc_id},
        }

    # ------------------------------------------------------------------ changing

    def apply(self, action, desired, ids, wait=True):
        """Perform one planned action and wait for it (``wait`` is not needed: what this side
        makes takes seconds, except VPN connections, whose addresses the other sides need)."""
        kind, verb = action.get("kind"), action.get("action")
        method = getattr(self, f"_{verb}_{kind}", None) if kind in KINDS else None
        if method is None:
            raise UnknownActionError(
                CLOUD, "vpn", f"{verb} {kind}", [f"{v} {k}" for k in KINDS for v in ("create", "delete")]
            )
        return method(action, desired, ids)

    @staticmethod
    def in_progress(current):
        """Gateways, customer gateways and connections still ``pending`` (``read`` keeps only the
        live states, pending and available)."""
        return [f"{r['kind']}/{r['name']}" for r in current if r.get("status") == "pending"]

    @staticmethod
    def _resolve(value, ids):
        return ids[value["ref"]] if isinstance(value, dict) and "ref" in value else value

    def _wait(self, desired, resource, fetch, success, failure=()):
        waiter = self.conn.waiter(
            resource, state_of=lambda obj: obj.get("State") or obj.get("state"), success=success, failure=failure
        )
        return self.conn.wait(waiter, fetch)

    def _fetch(self, desired, kind, resource_id, resource):
        """The current EC2 object of ``kind`` with id ``resource_id`` (None once gone)."""
        operation, key, id_param = _DESCRIBE[kind]

        def fetch():
            found = gone_is_done(self._ec2, desired, operation, {id_param: [resource_id]}, resource) or {}
            items = found.get(key) or []
            return items[0] if items else None

        return fetch

    # vpn_gateway
    def _create_vpn_gateway(self, action, desired, ids):
        name, spec = action["name"], action["spec"]
        resource = f"vpn gateway {name}"
        vgw = self._ec2(
            desired,
            "CreateVpnGateway",
            {
                "Type": GATEWAY_TYPE,
                "AmazonSideAsn": int(spec["asn"]),
                "TagSpecifications": tag_specifications("vpn-gateway", name, desired["name"]),
            },
            resource,
        )["VpnGateway"]
        vgw_id = vgw["VpnGatewayId"]
        fetch = self._fetch(desired, "vpn_gateway", vgw_id, resource)
        self._wait(desired, resource, fetch, ("available",), ("deleted",))
        if spec.get("vpc_id"):
            self._ec2(desired, "AttachVpnGateway", {"VpnGatewayId": vgw_id, "VpcId": spec["vpc_id"]}, resource, True)

            def attached():
                vgw = fetch() or {}
                states = [a.get("State") for a in vgw.get("VpcAttachments") or () if a.get("VpcId") == spec["vpc_id"]]
                return {"State": states[0] if states else "detached"}

            self._wait(desired, resource, attached, ("attached",))
        return vgw_id

    def _delete_vpn_gateway(self, action, desired, ids):
        resource = f"vpn gateway {action['name']}"
        vgw_id = action.get("id") or ids.get(f"vpn_gateway/{action['name']}")
        fetch = self._fetch(desired, "vpn_gateway", vgw_id, resource)
        current = fetch() or {}
        for attachment in current.get("VpcAttachments") or ():
            if attachment.get("State") in ("attaching", "attached"):
                vpc_id = attachment["VpcId"]
                gone_is_done(
                    self._ec2,
                    desired,
                    "DetachVpnGateway",
                    {"VpnGatewayId": vgw_id, "VpcId": vpc_id},
                    resource,
                    gone_codes=_GONE_CODES,
                )

                def detached(vpc_id=vpc_id):
                    vgw = fetch() or {}
                    states = [a.get("State") for a in vgw.get("VpcAttachments") or () if a.get("VpcId") == vpc_id]
                    return {"State": states[0] if states else "detached"}

                self._wait(desired, resource, detached, ("detached",))
        gone_is_done(self._ec2, desired, "DeleteVpnGateway", {"VpnGatewayId": vgw_id}, resource)

    # route_propagation
    def _propagate(self, action, desired, ids, enable):
        spec = action["spec"]
        vgw_id = self._resolve(spec["gateway"], ids)
        resource = f"route propagation {action['name']}"
        for table in self._route_tables(desired, spec["vpc_id"]):
            on = any(p.get("GatewayId") == vgw_id for p in table.get("PropagatingVgws") or ())
            if on == enable:
                continue
            operation = "EnableVgwRoutePropagation" if enable else "DisableVgwRoutePropagation"
            params = {"RouteTableId": table["RouteTableId"], "GatewayId": vgw_id}
            if enable:
                self._ec2(desired, operation, params, resource, True)
            else:
                gone_is_done(self._ec2, desired, operation, params, resource, gone_codes=_GONE_CODES)
        return f"{vgw_id}/{spec['vpc_id']}" if enable else None

    def _create_route_propagation(self, action, desired, ids):
        return self._propagate(action, desired, ids, True)

    def _delete_route_propagation(self, action, desired, ids):
        return self._propagate(action, desired, ids, False)

    # customer_gateway
    def _create_customer_gateway(self, action, desired, ids):
        name, spec = action["name"], action["spec"]
        resource = f"customer gateway {name}"
        cgw = self._ec2(
            desired,
            "CreateCustomerGateway",
            {
                "Type": GATEWAY_TYPE,
                "BgpAsn": int(spec["bgp_asn"]),
                "IpAddress": spec["ip_address"],
                "TagSpecifications": tag_specifications("customer-gateway", name, desired["name"]),
            },
            resource,
        )["CustomerGateway"]
        cgw_id = cgw["CustomerGatewayId"]
        fetch = self._fetch(desired, "customer_gateway", cgw_id, resource)
        self._wait(desired, resource, fetch, ("available",), ("deleted",))
        return cgw_id

    def _delete_customer_gateway(self, action, desired, ids):
        resource = f"customer gateway {action['name']}"
        cgw_id = action.get("id") or ids.get(f"customer_gateway/{action['name']}")
        gone_is_done(
            self._ec2, desired, "DeleteCustomerGateway", {"CustomerGatewayId": cgw_id}, resource, gone_codes=_GONE_CODES
        )

    # vpn_connection
    def _connection_fetch(self, desired, vpn_id, resource):
        return self._fetch(desired, "vpn_connection", vpn_id, resource)

    def _create_vpn_connection(self, action, desired, ids):
        name, spec = action["name"], action["spec"]
        resource = f"vpn connection {name}"
        vpn = self._ec2(
            desired,
            "CreateVpnConnection",
            {
                "Type": GATEWAY_TYPE,
                "CustomerGatewayId": self._resolve(spec["customer_gateway"], ids),
                "VpnGatewayId": self._resolve(spec["vpn_gateway"], ids),
                "Options": {
                    "StaticRoutesOnly": bool(spec["static_routes_only"]),
                    "TunnelOptions": tunnel_options(spec),
                },
                "TagSpecifications": tag_specifications("vpn-connection", name, desired["name"]),
            },
            resource,
        )["VpnConnection"]
        vpn_id = vpn["VpnConnectionId"]
        self._wait(desired, resource, self._connection_fetch(desired, vpn_id, resource), ("available",), ("deleted",))
        return vpn_id

    def _update_vpn_connection(self, action, desired, ids):
        """New pre-shared keys, one ModifyVpnTunnelOptions per tunnel whose key changed."""
        name, spec = action["name"], action["spec"]
        resource = f"vpn connection {name}"
        vpn_id = action.get("id") or ids.get(f"vpn_connection/{name}")
        fetch = self._connection_fetch(desired, vpn_id, resource)
        current = fetch() or {}
        tunnels = (current.get("Options") or {}).get("TunnelOptions") or []
        for tunnel, psk in zip(tunnels, spec["psks"], strict=False):
            if tunnel.get("PreSharedKey") == psk:
                continue
            self._ec2(
                desired,
                "ModifyVpnTunnelOptions",
                {
                    "VpnConnectionId": vpn_id,
                    "VpnTunnelOutsideIpAddress": tunnel["OutsideIpAddress"],
                    "TunnelOptions": {"PreSharedKey": psk},
                },
                resource,
            )
            self._wait(desired, resource, fetch, ("available",), ("deleted",))
        return vpn_id

    def _delete_vpn_connection(self, action, desired, ids):
        resource = f"vpn connection {action['name']}"
        vpn_id = action.get("id") or ids.get(f"vpn_connection/{action['name']}")
        gone_is_done(
            self._ec2, desired, "DeleteVpnConnection", {"VpnConnectionId": vpn_id}, resource, gone_codes=_GONE_CODES
        )
        self._wait(desired, resource, self._connection_fetch(desired, vpn_id, resource), ("deleted", "ABSENT"))

    # ------------------------------------------------------------------ facts

    def _connections_by_name(self, current):
        return {r["name"]: r for r in current or () if r["kind"] == "vpn_connection"}

    def gateway(self, desired, current):
        mesh = desired["name"]
        vgw = next((r for r in current or () if r["kind"] == "vpn_gateway"), None)
        connections = self._connections_by_name(current)
        tunnel_ips = {}
        for tunnel in desired.get("tunnels") or ():
            local = tunnel["local"]
            found = connections.get(connection_name(mesh, tunnel["pair"], local["connection"]))
            if found and int(local["tunnel"]) < len(found.get("outside_ips") or ()):
                tunnel_ips[tunnel["name"]] = found["outside_ips"][int(local["tunnel"])]
        return {
            "cloud": CLOUD,
            "region": self._region(desired),
            "name": mesh,
            "id": (vgw or {}).get("id"),
            "asn": vgw["spec"]["asn"] if vgw else desired.get("asn"),
            "cidrs": list(desired.get("cidrs") or ()),
            "interfaces": [],
            "tunnel_ips": tunnel_ips,
        }

    def tunnel_status(self, desired, current):
        mesh = desired["name"]
        connections = self._connections_by_name(current)
        out = []
        for tunnel in desired.get("tunnels") or ():
            local = tunnel["local"]
            found = connections.get(connection_name(mesh, tunnel["pair"], local["connection"])) or {}
            ips = found.get("outside_ips") or []
            ip = ips[int(local["tunnel"])] if int(local["tunnel"]) < len(ips) else None
            status, message, bgp, count = telemetry_status((found.get("telemetry") or {}).get(ip))
            out.append(
                {
                    "name": tunnel["name"],
                    "pair": tunnel["pair"],
                    "index": tunnel["index"],
                    "status": status,
                    "status_message": message,
                    "bgp_state": bgp,
                    # EC2 reports how many routes a tunnel accepted, not which: with every route
                    # accepted they are the peer's advertised ranges.
                    "routes_learned": sorted(tunnel.get("remote_cidrs") or ())
                    if count and count >= len(tunnel.get("remote_cidrs") or ())
                    else [],
                    "accepted_route_count": count,
                    "local_public_ip": ip,
                    "remote_public_ip": tunnel["remote"].get("public_ip"),
                }
            )
        return out
