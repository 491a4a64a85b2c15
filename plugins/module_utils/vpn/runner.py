# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue of ``mc_vpn`` and ``mc_vpn_info``: plan the mesh, take this cloud's half, diff, act, report.

One run of ``mc_vpn`` manages one cloud's side. Without ``peers`` it is the *gateway phase*: the
gateway (and what it needs) is made and its facts returned (``gateway``: ASN, ranges, public
addresses), which the other clouds' hosts read. Peers given without addresses and without
``psk_seed`` (their gateways are being made at the same time) are still the gateway phase: they
only give the mesh's layout, so a gateway that carries every tunnel's address (Azure's BGP
addresses) is made with them at once instead of being updated later. With ``peers`` (those facts of the other clouds)
the whole mesh is planned (``vpn/spec.py``: inside /30s, ASNs, keys derived from ``psk_seed``) and
this cloud's half of every peering whose other side's addresses are known is made too. A pair
whose other side has no addresses yet (AWS's tunnel addresses exist only once its VPN connections
do) is reported in ``pending`` and left as it is: nothing of it is deleted.

``wait: false`` starts the last action and returns (the other actions are waited for, as it needs
them); a later run with ``wait: true`` first waits for what an earlier one left in progress
(``in_progress``), so the 30-45 minutes of an Azure gateway can run while the cluster is made.

Consecutive actions of one kind the cloud lets run side by side (the adapter's
``CONCURRENT_KINDS``: AWS's VPN connections, GCP's tunnels, Azure's local network gateways, ...)
run in threads, at most ``MAX_PARALLEL`` at once; the rest one after another (Azure's connections:
the gateway takes one connection operation at a time and answers the others with 409).
"""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.multicloud.fabric.plugins.module_utils.common import clouds, locations
from ansible_collections.multicloud.fabric.plugins.module_utils.common.diff import build_diff
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError
from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.plan import (
    describe,
    ids_of,
    key_of,
    plan_resources,
    references,
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
# At most this many actions of one wave run at once (independent resources of one kind).
MAX_PARALLEL = 8

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
    # Peers with no addresses yet (their gateways are being made too) shape only this side's
    # gateway: the mesh's layout gives its BGP addresses, and no key is needed for that.
    layout_only = not any(peer.get("interfaces") or peer.get("tunnel_ips") for peer in peers)
    if not seed and not layout_only:
        raise ValidationError("psk_seed", "peerings need the secret every tunnel key is derived from")
    try:
        mesh = plan_mesh(
            gateways,
            seed or layout_seed(),
            name=params["name"],
            rotations=params.get("rotations"),
            inside_cidrs=params.get("inside_cidrs"),
            psks=params.get("psks"),
        )
    except ValidationError as error:
        raise _rename_field(error) from None
    desired["asn"] = mesh["gateways"][cloud]["asn"]
    # Every tunnel this side will terminate, addresses known or not, without keys: what a gateway
    # carries for all of its tunnels (Azure's BGP addresses) is set once, not per pair as they come.
    desired["layout"] = [{k: v for k, v in t.items() if k != "psk"} for t in tunnels_of(mesh, cloud)]
    if layout_only and not seed:
        # Still the gateway phase: no peering is asked for, so none is pending or removed.
        return desired, None, []
    module.add_secrets(t["psk"] for p in mesh["pairs"] for t in p["tunnels"])
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


def layout_seed():
    """A throwaway seed for planning where only the mesh's layout matters, never its keys: any
    seed gives the same layout."""
    return secrets.token_urlsafe(24)


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
    if params["wait"] and not module.check_mode and adapter.in_progress(current):
        current = _settle(module, adapter, desired, current)
    owned = None if (params["state"] == "absent" or (mesh is not None and not pending)) else adapter.GATEWAY_KINDS
    actions = plan_resources(wanted, current, adapter.KINDS, write_only=adapter.WRITE_ONLY, owned_kinds=owned)
    after = _after(current, wanted, actions)
    header = f"{cloud} VPN {params['name']}"
    result = {
        "changed": bool(actions),
        "actions": actions,
        "pending": pending,
        "in_progress": adapter.in_progress(current),
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
    done = 0
    for wave in waves(actions, adapter.CONCURRENT_KINDS):
        # What comes later may need what an action makes: only the last one may be left running.
        waits = [params["wait"] or done + i < len(actions) - 1 for i in range(len(wave))]
        for action in wave:
            module.log(describe(action))
        for action, resource_id in zip(wave, _apply_wave(adapter, wave, desired, ids, waits), strict=True):
            key = f"{action['kind']}/{action['name']}"
            if action["action"] == "delete":
                ids.pop(key, None)
            elif resource_id is not None:
                ids[key] = resource_id
        done += len(wave)
    for warning in adapter.warnings:
        module.warn(warning)
    if actions:
        current = adapter.read(desired)
        result["in_progress"] = adapter.in_progress(current)
    result["gateway"] = _facts(adapter.gateway(desired, current)) if params["state"] == "present" else {}
    return result


def waves(actions, concurrent_kinds, limit=MAX_PARALLEL):
    """``actions`` (in plan order) cut into waves that may each run at once: consecutive writes (or
    deletes) of one kind the adapter lists in ``CONCURRENT_KINDS``, none referring to another of
    the wave, at most ``limit``; every other action is a wave of its own."""
    out = []
    for action in actions:
        last = out[-1] if out else None
        if (
            last is not None
            and action["kind"] in concurrent_kinds
            and (_verb(last[0]), last[0]["kind"]) == (_verb(action), action["kind"])
            and len(last) < limit
            and not references(action.get("spec")) & {key_of(a) for a in last}
        ):
            last.append(action)
        else:
            out.append([action])
    return out


def _verb(action):
    return "delete" if action["action"] == "delete" else "write"


def _apply_wave(adapter, wave, desired, ids, waits):
    """Each action's resource id, in order; the actions of a wave run in threads. When one fails,
    the others still finish (what they made is read back by the next run) and the first error in
    plan order is raised."""
    if len(wave) == 1:
        return [adapter.apply(wave[0], desired, ids, wait=waits[0])]
    snapshot = dict(ids)
    with ThreadPoolExecutor(max_workers=len(wave), thread_name_prefix="mc-vpn") as pool:
        futures = [pool.submit(adapter.apply, a, desired, snapshot, wait=w) for a, w in zip(wave, waits, strict=True)]
    # Every future is done here: the first failed one, in plan order, raises.
    return [f.result() for f in futures]


def _settle(module, adapter, desired, current):
    """Wait (within the task's deadline) until no resource of this side is still being made or
    changed, e.g. by an earlier run with ``wait: false``; the resources as they are then."""
    busy = adapter.in_progress(current)
    waiter = adapter.conn.waiter(
        f"{desired['cloud']} VPN {desired['name']} ({', '.join(busy)})",
        state_of=lambda resources: "IN_PROGRESS" if adapter.in_progress(resources) else "DONE",
        success=("DONE",),
    )
    return adapter.conn.wait(waiter, lambda: adapter.read(desired), deadline=module.deadline())


def info(module):
    """Every tunnel of this cloud's side of the mesh with its state, in one shape."""
    params = module.params
    if not params.get("psk_seed"):
        params = dict(params, psk_seed=layout_seed())
    desired, mesh, pending = plan(module, params)
    adapter = _adapter(module, params["cloud"], params["region"])
    current = adapter.read(desired)
    tunnels = adapter.tunnel_status(desired, current) if mesh is not None else []
    return {
        "changed": False,
        "gateway": _facts(adapter.gateway(desired, current)) if current else {},
        "tunnels": tunnels,
        "pending": pending,
        "in_progress": adapter.in_progress(current),
        "tunnels_up": sum(1 for t in tunnels if t["status"] == "UP"),
        "bgp_established": sum(1 for t in tunnels if t.get("bgp_state") == "Established"),
    }
