# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue of ``mc_vpn`` and ``mc_vpn_info``: plan the mesh, take this cloud's half, diff, act, report.

One run of ``mc_vpn`` manages one cloud's side. Without ``peers`` it is the *gateway phase*: the
gateway (and what it needs) is made and its facts returned (``gateway``: ASN, ranges, public
addresses), which the other clouds' hosts read. With ``peers`` (those facts of the other clouds)
the whole mesh is planned (``vpn/spec.py``: inside /30s, ASNs, keys derived from ``psk_seed``) and
this cloud's half of every peering whose other side's addresses are known is made too. A pair
whose other side has no addresses yet (AWS's tunnel addresses exist only once its VPN connections
do) is reported in ``pending`` and left as it is: nothing of it is deleted.
"""

from __future__ import annotations

import secrets

from ansible_collections.multicloud.fabric.plugins.module_utils.common import clouds, locations
from ansible_collections.multicloud.fabric.plugins.module_utils.common.diff import build_diff
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError
from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.plan import (
    describe,
    ids_of,
    key_of,
    plan_resources,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.spec import (
    DEFAULT_ASNS,
    check_asn,
    check_cidrs,
    check_name,
    plan_mesh,
    tunnels_of,
)

PENDING = "(known after apply)"

# The options mc_vpn and mc_vpn_info share: the mesh as this side sees it.
PEER_OPTIONS = {
    "cloud": {"type": "str", "required": True, "choices": list(clouds.CLOUDS)},
    "region": {"type": "str", "required": True},
    "name": {"type": "str", "required": True},
    "asn": {"type": "int", "required": True},
    "cidrs": {"type": "list", "elements": "str", "required": True},
    "interfaces": {"type": "list", "elements": "str"},
    "tunnel_ips": {"type": "dict"},
}
MESH_OPTIONS = {
    "asn": {"type": "int"},
    "peers": {"type": "list", "elements": "dict", "options": PEER_OPTIONS},
    "psk_seed": {"type": "str", "no_log": True},
    "rotations": {"type": "dict"},
    "inside_cidrs": {"type": "dict"},
    "azure": {
        "type": "dict",
        "options": {"resource_group": {"type": "str"}, "gateway_subnet_cidr": {"type": "str"}},
    },
}


def _adapter(module, cloud, region):
    connection = clouds.connect(cloud, dict(module.params), module.retrier(cloud), region=region)
    return clouds.vpn_gateways(cloud, connection)


def _network(params):
    cloud = params["cloud"]
    azure = params.get("azure") or {}
    if cloud != "azure" and params.get("azure"):
        raise ValidationError("azure", f"is an azure option; the {cloud} side does not use it, remove it")
    if cloud == "aws":
        return {"vpc_id": params["network"]}
    if cloud == "gcp":
        return {"network": params["network"]}
    if not azure.get("resource_group"):
        raise ValidationError("azure.resource_group", "the Azure side needs the resource group of its VNet")
    return {
        "vnet": params["network"],
        "resource_group": azure["resource_group"],
        "gateway_subnet_cidr": azure.get("gateway_subnet_cidr"),
    }


def _rename_field(error, peers_offset=1):
    """plan_mesh names fields of its ``gateways`` list; this module's options are the gateway's
    own (gateways[0]) and ``peers`` (the rest)."""
    field = str(error.field)
    if field.startswith("gateways["):
        index, _bracket, rest = field[len("gateways[") :].partition("]")
        position = int(index)
        rest = rest.lstrip(".")
        if position == 0:
            error.field = rest or "cidrs"
        else:
            error.field = f"peers[{position - peers_offset}]" + (f".{rest}" if rest else "")
    return error


def _peer_addresses(peer, index):
    """The public address of the remote end of ``tunnel`` as that cloud's facts give it."""
    field = f"peers[{index}]"
    interfaces = peer.get("interfaces") or []
    tunnel_ips = peer.get("tunnel_ips") or {}
    if not isinstance(interfaces, list):
        raise ValidationError(f"{field}.interfaces", "expected a list of public addresses, one per interface")
    if not isinstance(tunnel_ips, dict):
        raise ValidationError(f"{field}.tunnel_ips", "expected a dictionary of tunnel name: public address")
    return interfaces, tunnel_ips


def plan(module, params=None):
    """``(desired, mesh, pending)``: what the adapter is asked for, the whole mesh (None in the
    gateway phase) and the pairs left out because the other side's addresses are unknown.
    ``params``: the module's own unless given (``info`` plans with a throwaway seed)."""
    params = module.params if params is None else params
    cloud = params["cloud"]
    peers = params.get("peers") or []
    asn = params.get("asn")
    gateway = {
        "cloud": cloud,
        "region": params["region"],
        "name": params["name"],
        "cidrs": params.get("cidrs") or [],
        "asn": DEFAULT_ASNS[cloud] if asn is None else asn,
    }
    desired = {
        "cloud": cloud,
        "region": params["region"],
        "name": params["name"],
        "network": _network(params),
        "cidrs": list(gateway["cidrs"]),
        "tags": params.get("tags") or {},
        "tunnels": [],
    }
    if not peers:
        check_name(params["name"])
        desired["asn"] = check_asn(gateway["asn"], "asn", cloud, ())
        desired["cidrs"] = check_cidrs(gateway["cidrs"], "cidrs")
        return desired, None, []
    for index, peer in enumerate(peers):
        if peer.get("cloud") == cloud:
            raise ValidationError(f"peers[{index}].cloud", f"is this side's own cloud ({cloud}); peers are the others")
    gateways = [gateway] + [{k: peer.get(k) for k in ("cloud", "region", "name", "asn", "cidrs")} for peer in peers]
    seed = params.get("psk_seed")
    if not seed:
        raise ValidationError("psk_seed", "peerings need the secret every tunnel key is derived from")
    try:
        mesh = plan_mesh(
            gateways,
            seed,
            name=params["name"],
            rotations=params.get("rotations"),
            inside_cidrs=params.get("inside_cidrs"),
            psks=params.get("psks"),
        )
    except ValidationError as error:
        raise _rename_field(error) from None
    module.add_secrets(t["psk"] for p in mesh["pairs"] for t in p["tunnels"])
    desired["asn"] = mesh["gateways"][cloud]["asn"]
    by_cloud = {peer["cloud"]: (index, peer) for index, peer in enumerate(peers)}
    pending = set()
    tunnels = []
    for tunnel in tunnels_of(mesh, cloud):
        remote = tunnel["remote"]
        index, peer = by_cloud[remote["cloud"]]
        interfaces, tunnel_ips = _peer_addresses(peer, index)
        if remote["cloud"] == "aws":
            address = tunnel_ips.get(tunnel["name"])
        else:
            position = remote["interface"]
            address = interfaces[position] if position < len(interfaces) else None
        if not address:
            pending.add(tunnel["pair"])
            continue
        tunnels.append(dict(tunnel, remote=dict(remote, public_ip=address)))
    desired["tunnels"] = [t for t in tunnels if t["pair"] not in pending]
    return desired, mesh, sorted(pending)


def _facts(gateway):
    """What another side takes as one of its ``peers``: exactly the peer options."""
    return {key: gateway[key] for key in PEER_OPTIONS if key in gateway} if gateway else {}


def _view(resources):
    return {key_of(r): r.get("spec") for r in sorted(resources, key=key_of)}


def _after(current, desired_resources, actions):
    """The resources once ``actions`` ran (check mode's answer and the diff's ``after``)."""
    state = {key_of(r): r for r in current}
    wanted = {key_of(r): r for r in desired_resources}
    for action in actions:
        key = f"{action['kind']}/{action['name']}"
        if action["action"] == "delete":
            state.pop(key, None)
        else:
            state[key] = dict(wanted[key], id=state.get(key, {}).get("id") or PENDING)
    return list(state.values())


def ensure(module):
    params = module.params
    cloud = params["cloud"]
    if params["state"] == "present" and not params.get("network"):
        raise ValidationError("network", f"the {cloud} VPC/network/VNet the gateway serves is required")
    if params["state"] == "absent":
        desired = {
            "cloud": cloud,
            "region": params["region"],
            "name": params["name"],
            "network": _network(params) if params.get("network") else {},
            "asn": params.get("asn"),
            "cidrs": params.get("cidrs") or [],
            "tags": {},
            "tunnels": [],
        }
        mesh, pending = None, []
    else:
        desired, mesh, pending = plan(module)
    adapter = _adapter(module, cloud, params["region"])
    locations.validate(adapter.conn, cloud, "region", params["region"])
    wanted = adapter.resources(desired) if params["state"] == "present" else []
    current = adapter.read(desired)
    owned = None if (params["state"] == "absent" or (mesh is not None and not pending)) else adapter.GATEWAY_KINDS
    actions = plan_resources(wanted, current, adapter.KINDS, write_only=adapter.WRITE_ONLY, owned_kinds=owned)
    after = _after(current, wanted, actions)
    header = f"{cloud} VPN {params['name']}"
    result = {
        "changed": bool(actions),
        "actions": actions,
        "pending": pending,
        "diff": build_diff(_view(current), _view(after), module.secret_values, header, header),
    }
    for pair in pending:
        module.warn(
            f"pair {pair}: the other side's public addresses are not known yet; run its side (mc_vpn "
            "with peers) and then this one again"
        )
    if module.check_mode:
        result["gateway"] = _facts(adapter.gateway(desired, after)) if params["state"] == "present" else {}
        return result
    ids = ids_of(current)
    for action in actions:
        module.log(describe(action))
        resource_id = adapter.apply(action, desired, ids)
        key = f"{action['kind']}/{action['name']}"
        if action["action"] == "delete":
            ids.pop(key, None)
        elif resource_id is not None:
            ids[key] = resource_id
    for warning in adapter.warnings:
        module.warn(warning)
    if actions:
        current = adapter.read(desired)
    result["gateway"] = _facts(adapter.gateway(desired, current)) if params["state"] == "present" else {}
    return result


def info(module):
    """Every tunnel of this cloud's side of the mesh with its state, in one shape."""
    params = module.params
    if not params.get("psk_seed"):
        # Reading states needs the mesh's layout, never its keys: any seed gives the same layout.
        params = dict(params, psk_seed=secrets.token_urlsafe(24))
    desired, mesh, pending = plan(module, params)
    adapter = _adapter(module, params["cloud"], params["region"])
    current = adapter.read(desired)
    tunnels = adapter.tunnel_status(desired, current) if mesh is not None else []
    return {
        "changed": False,
        "gateway": _facts(adapter.gateway(desired, current)) if current else {},
        "tunnels": tunnels,
        "pending": pending,
        "tunnels_up": sum(1 for t in tunnels if t["status"] == "UP"),
        "bgp_established": sum(1 for t in tunnels if t.get("bgp_state") == "Established"),
    }
