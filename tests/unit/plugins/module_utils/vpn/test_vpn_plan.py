# -*- coding: utf-8 -*-
"""The generic planner every cloud's VPN side goes through: create, update, replace, delete, in
an order where every reference exists before what refers to it."""

from __future__ import annotations

import itertools
import random

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.plan import (
    describe,
    ids_of,
    plan_resources,
    ref,
    references,
)

KINDS = ("vpn_gateway", "router", "external_vpn_gateway", "vpn_tunnel", "router_peer")
GATEWAY_KINDS = ("vpn_gateway", "router")


def res(kind, name, replace_on=(), **spec):
    return {"kind": kind, "name": name, "spec": spec, "replace_on": replace_on}


def cur(resource, id_=None, **spec_changes):
    out = {"kind": resource["kind"], "name": resource["name"], "spec": {**resource["spec"], **spec_changes}}
    out["id"] = id_ or f"id-{resource['name']}"
    return out


def mesh():
    gw = res("vpn_gateway", "m-gw", replace_on="*", network="net")
    router = res("router", "m-router", asn=64514, network="net", advertised=["10.1.0.0/16"])
    ext = res("external_vpn_gateway", "m-aws", replace_on="*", interfaces=["198.18.0.1", "198.18.0.2"])
    tunnels = [
        res(
            "vpn_tunnel",
            f"m-aws-{i}",
            replace_on="*",
            gateway=ref("vpn_gateway", "m-gw"),
            peer=ref("external_vpn_gateway", "m-aws"),
            secret_fingerprint=f"fp{i}",
            secret=f"psk{i}",
        )
        for i in range(2)
    ]
    peers = [
        res("router_peer", f"m-aws-{i}", tunnel=ref("vpn_tunnel", f"m-aws-{i}"), router=ref("router", "m-router"))
        for i in range(2)
    ]
    return [gw, router, ext, *tunnels, *peers]


def kinds_in_order(actions, verb):
    return [a["kind"] for a in actions if a["action"] == verb]


def test_nothing_exists_creates_everything_in_kind_order():
    desired = mesh()
    actions = plan_resources(desired, [], KINDS)
    assert [a["action"] for a in actions] == ["create"] * len(desired)
    order = [KINDS.index(k) for k in kinds_in_order(actions, "create")]
    assert order == sorted(order)
    assert not any(a.get("replace") for a in actions)


def test_what_exists_as_desired_plans_nothing():
    desired = mesh()
    assert plan_resources(desired, [cur(r) for r in desired], KINDS) == []


def test_a_mutable_change_is_an_update_with_its_changes():
    desired = mesh()
    current = [cur(r) for r in desired]
    current[1] = cur(desired[1], advertised=["10.9.0.0/16"])
    actions = plan_resources(desired, current, KINDS)
    assert actions == [
        {
            "action": "update",
            "kind": "router",
            "name": "m-router",
            "id": "id-m-router",
            "spec": desired[1]["spec"],
            "changes": {"advertised": {"before": ["10.9.0.0/16"], "after": ["10.1.0.0/16"]}},
        }
    ]
    assert describe(actions[0]) == "update router m-router (advertised)"


def test_an_immutable_change_replaces_the_resource_and_what_refers_to_it():
    desired = mesh()
    current = [cur(r) for r in desired]
    # The other cloud's addresses changed: the external gateway must be replaced, and with it both
    # tunnels (they refer to it) and both router peers (they refer to the tunnels).
    current[2] = cur(desired[2], interfaces=["198.18.0.9", "198.18.0.2"])
    actions = plan_resources(desired, current, KINDS)
    deleted = [(a["kind"], a["name"]) for a in actions if a["action"] == "delete"]
    created = [(a["kind"], a["name"]) for a in actions if a["action"] == "create"]
    assert deleted == [
        ("router_peer", "m-aws-1"),
        ("router_peer", "m-aws-0"),
        ("vpn_tunnel", "m-aws-1"),
        ("vpn_tunnel", "m-aws-0"),
        ("external_vpn_gateway", "m-aws"),
    ]
    positions = [KINDS.index(kind) for kind, _name in created]
    assert positions == sorted(positions)
    assert set(created) == set(deleted)
    assert all(a.get("replace") for a in actions)
    assert all(a["id"] for a in actions if a["action"] == "delete")
    # A delete carries the spec the cloud holds (the adapter may need what is attached where).
    assert next(a for a in actions if a["action"] == "delete" and a["kind"] == "external_vpn_gateway")["spec"] == {
        "interfaces": ["198.18.0.9", "198.18.0.2"]
    }
    # Deletes all come before creates.
    verbs = [a["action"] for a in actions]
    assert verbs == ["delete"] * 5 + ["create"] * 5


def test_replace_on_lists_only_some_keys():
    thing = res("vpn_connection", "c", replace_on=("customer_gateway",), psk="a", customer_gateway="x")
    current = cur(thing, psk="b")
    actions = plan_resources([thing], [current], ("vpn_connection",))
    assert [a["action"] for a in actions] == ["update"]
    current = cur(thing, customer_gateway="y")
    actions = plan_resources([thing], [current], ("vpn_connection",))
    assert [(a["action"], a.get("replace")) for a in actions] == [("delete", True), ("create", True)]


def test_a_write_only_key_is_compared_only_when_the_cloud_returns_it():
    desired = mesh()
    current = [cur(r) for r in desired]
    for item in current:
        item["spec"].pop("secret", None)  # GCP never returns a tunnel's secret
    assert plan_resources(desired, current, KINDS, write_only={"secret"}) == []
    # Without the rule a missing key is a difference.
    assert plan_resources(desired, current, KINDS) != []
    # The fingerprint it carries instead does change the plan.
    current[3]["spec"]["secret_fingerprint"] = "old"
    actions = plan_resources(desired, current, KINDS, write_only={"secret"})
    assert ("delete", "vpn_tunnel", "m-aws-0") in [(a["action"], a["kind"], a["name"]) for a in actions]


def test_unneeded_resources_are_deleted_only_for_owned_kinds():
    desired = mesh()
    current = [cur(r) for r in desired]
    gateway_only = [r for r in desired if r["kind"] in GATEWAY_KINDS]
    # The gateway phase sees only the gateway's resources desired: it must not remove peerings.
    assert plan_resources(gateway_only, current, KINDS, owned_kinds=GATEWAY_KINDS) == []
    # state=absent: nothing desired, everything owned: every resource goes, dependents first.
    actions = plan_resources([], current, KINDS)
    assert [a["action"] for a in actions] == ["delete"] * len(current)
    order = [KINDS.index(a["kind"]) for a in actions]
    assert order == sorted(order, reverse=True)


def test_a_removed_peer_takes_its_dependents_with_it():
    desired = mesh()
    current = [cur(r) for r in desired]
    # The mesh drops one tunnel: its router peer goes first, then the tunnel.
    smaller = [r for r in desired if r["name"] != "m-aws-1"]
    actions = plan_resources(smaller, current, KINDS)
    assert [(a["action"], a["kind"], a["name"]) for a in actions] == [
        ("delete", "router_peer", "m-aws-1"),
        ("delete", "vpn_tunnel", "m-aws-1"),
    ]


def test_a_resource_referring_to_one_deleted_for_good_is_replaced():
    a = res("customer_gateway", "a", replace_on="*", ip="1")
    b = res("vpn_connection", "b", gateway=ref("customer_gateway", "a"))
    kinds = ("customer_gateway", "vpn_connection")
    current = [cur(a), cur(b), cur(res("customer_gateway", "old", ip="2"))]
    # b now refers to "a" while it used to refer to "old", which goes away.
    current[1]["spec"]["gateway"] = ref("customer_gateway", "old")
    actions = plan_resources([a, b], current, kinds)
    assert [(x["action"], x["name"]) for x in actions] == [("delete", "b"), ("delete", "old"), ("create", "b")]


def test_unknown_kinds_and_duplicates_are_programming_errors():
    with pytest.raises(ValueError, match="kind 'nope'"):
        plan_resources([res("nope", "x")], [], KINDS)
    with pytest.raises(ValueError, match="same kind and name"):
        plan_resources([res("router", "x"), res("router", "x")], [], KINDS)


def test_references_and_ids():
    spec = {"a": ref("router", "r"), "b": [ref("vpn_tunnel", "t"), {"c": ref("router", "r")}], "d": {"ref": 1}}
    assert references(spec) == {"router/r", "vpn_tunnel/t"}
    assert ids_of([{"kind": "router", "name": "r", "id": "1"}, {"kind": "x", "name": "y"}]) == {"router/r": "1"}


def test_applying_any_plan_converges_and_respects_references():
    """Property: for random current states, applying the plan in order never creates a resource
    before what it refers to, never deletes one while something still refers to it, and ends in
    exactly the desired set (a second plan is empty)."""
    rng = random.Random(12)
    desired = mesh()
    for _case in range(300):
        current = []
        for resource in desired:
            roll = rng.random()
            if roll < 0.25:
                continue
            changed = {}
            if roll > 0.8:
                key = rng.choice(sorted(resource["spec"]))
                changed[key] = "stale"
            current.append(cur(resource, **changed))
        if rng.random() < 0.3:
            current.append(cur(res("vpn_tunnel", "m-old", gateway=ref("vpn_gateway", "m-gw"))))
            current.append(cur(res("router_peer", "m-old", tunnel=ref("vpn_tunnel", "m-old"))))
        state = {f"{r['kind']}/{r['name']}": r for r in current}
        for action in plan_resources(desired, current, KINDS):
            key = f"{action['kind']}/{action['name']}"
            if action["action"] == "delete":
                del state[key]
                users = [k for k, r in state.items() if key in references(r["spec"])]
                assert not users, f"{key} deleted while {users} refer to it"
            else:
                missing = [k for k in references(action["spec"]) if k not in state]
                assert not missing, f"{key} {action['action']}d before {missing}"
                state[key] = {"kind": action["kind"], "name": action["name"], "spec": action["spec"], "id": "new"}
        final = list(state.values())
        assert plan_resources(desired, final, KINDS) == []
        assert sorted(state) == sorted(f"{r['kind']}/{r['name']}" for r in desired)


@pytest.mark.parametrize("verb", ["create", "delete"])
def test_describe_names_replacements(verb):
    action = {"action": verb, "kind": "vpn_tunnel", "name": "t", "replace": True}
    assert describe(action) == f"replace ({verb}) vpn_tunnel t"


def test_plans_are_deterministic():
    desired = mesh()
    current = [cur(r, **{"network": "other"}) if r["kind"] == "vpn_gateway" else cur(r) for r in desired]
    orders = itertools.islice(itertools.permutations(desired), 50)
    plans = {repr(plan_resources(list(p), current, KINDS)) for p in orders}
    assert len(plans) == 1
