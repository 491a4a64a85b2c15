# -*- coding: utf-8 -*-
"""Every cloud's adapters implement the protocols of ``common/contracts.py``: each method the
runners and the inventory plugin call exists with a compatible signature, and each declared
attribute is set, so a cloud missing one fails here rather than in a playbook."""

from __future__ import annotations

import importlib
import inspect

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.common import clouds, contracts
from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Retrier

PACKAGE = "ansible_collections.multicloud.fabric.plugins.module_utils"
# Protocol -> (module of a cloud package, class name).
IMPLEMENTATIONS = {
    contracts.Connection: ("client", "Connection"),
    contracts.Networks: ("network", "Networks"),
    contracts.Clusters: ("cluster", "Clusters"),
    contracts.VpnGateways: ("vpn", "VpnGateways"),
}
CASES = [(cloud, protocol) for cloud in clouds.CLOUDS for protocol in IMPLEMENTATIONS]


def members(protocol):
    """``(methods, attributes)`` a protocol declares (not those of ``typing.Protocol`` itself)."""
    methods = {
        name: value for name, value in vars(protocol).items() if inspect.isfunction(value) and not name.startswith("_")
    }
    attributes = sorted(getattr(protocol, "__annotations__", {}))
    return methods, attributes


def implementation(cloud, protocol):
    module_name, class_name = IMPLEMENTATIONS[protocol]
    return getattr(importlib.import_module(f"{PACKAGE}.{cloud}.{module_name}"), class_name)


def instance(cloud, protocol):
    """An instance to read attributes from: a real connection (no call is made), adapters on it."""
    params = {"azure_subscription_id": "00000000-0000-0000-0000-000000000000"} if cloud == "azure" else {}
    connection = clouds.connect(cloud, params, Retrier(cloud), region="r1")
    if protocol is contracts.Connection:
        return connection
    return implementation(cloud, protocol)(connection)


def compatible(expected, actual):
    """Why ``actual`` (a method) cannot be called as ``expected`` is, or None when it can."""
    want = [p for p in inspect.signature(expected).parameters.values() if p.name != "self"]
    have = [p for p in inspect.signature(actual).parameters.values() if p.name != "self"]
    by_name = {p.name: p for p in have}
    positional = [p for p in have if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for index, param in enumerate(want):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            if not any(p.kind == param.kind for p in have):
                return f"takes no {param}"
            continue
        found = by_name.get(param.name)
        if found is None:
            return f"has no parameter {param.name}"
        if found.kind != param.kind:
            return f"{param.name} is {found.kind.description}, expected {param.kind.description}"
        if param.kind == param.POSITIONAL_OR_KEYWORD and positional.index(found) != index:
            return f"{param.name} is at position {positional.index(found)}, expected {index}"
        if found.default != param.default:
            return f"{param.name} defaults to {found.default!r}, expected {param.default!r}"
    names = {p.name for p in want}
    extra = [
        p.name
        for p in have
        if p.name not in names and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.default is p.empty
    ]
    if extra:
        return f"requires parameters the contract does not pass: {', '.join(extra)}"
    return None


@pytest.mark.parametrize(("cloud", "protocol"), CASES, ids=[f"{c}-{p.__name__}" for c, p in CASES])
def test_adapter_implements_its_contract(cloud, protocol):
    cls = implementation(cloud, protocol)
    methods, attributes = members(protocol)
    assert methods, f"{protocol.__name__} declares no method"
    problems = []
    for name, expected in sorted(methods.items()):
        actual = getattr(cls, name, None)
        if not callable(actual):
            problems.append(f"{cls.__module__}.{cls.__name__} has no method {name}")
            continue
        why = compatible(expected, actual)
        if why:
            problems.append(f"{cls.__module__}.{cls.__name__}.{name} {why}")
    obj = instance(cloud, protocol)
    problems += [f"{cls.__module__}.{cls.__name__} has no attribute {a}" for a in attributes if not hasattr(obj, a)]
    assert problems == []


def test_the_check_finds_what_breaks_a_contract():
    """The comparison itself: a missing parameter, another order, another default, a required extra."""

    def expected(self, desired, action, deadline=None):
        """Contract."""

    def good(self, desired, action, deadline=None, *, extra=1):
        """Implementation with an optional extra."""

    def missing(self, desired, deadline=None):
        """No action."""

    def swapped(self, action, desired, deadline=None):
        """Other order."""

    def other_default(self, desired, action, deadline=5):
        """Other default."""

    def required_extra(self, desired, action, deadline=None, *, extra):
        """An extra the callers do not pass."""

    assert compatible(expected, good) is None
    assert compatible(expected, missing) == "has no parameter action"
    assert compatible(expected, swapped) == "desired is at position 1, expected 0"
    assert compatible(expected, other_default) == "deadline defaults to 5, expected None"
    assert compatible(expected, required_extra) == "requires parameters the contract does not pass: extra"


def test_listing_by_name_is_declared_per_cloud():
    """EKS lists names only (the inventory reads each cluster); GKE and AKS list whole clusters."""
    assert {cloud: implementation(cloud, contracts.Clusters).lists_by_name for cloud in clouds.CLOUDS} == {
        "aws": True,
        "gcp": False,
        "azure": False,
    }


class NoCalls:
    """A connection that fails the test on any use: an unknown action must send nothing."""

    region = "r1"

    def __getattr__(self, name):
        raise AssertionError(f"the adapter used conn.{name} for an unknown action")


ADAPTER_CASES = [(cloud, protocol) for cloud in clouds.CLOUDS for protocol in (contracts.Networks, contracts.Clusters)]


@pytest.mark.parametrize(("cloud", "protocol"), ADAPTER_CASES, ids=[f"{c}-{p.__name__}" for c, p in ADAPTER_CASES])
def test_an_unknown_action_is_one_error_for_every_cloud_before_any_call(cloud, protocol):
    adapter = implementation(cloud, protocol)(NoCalls())
    desired = {"cloud": cloud, "region": "r1", "name": "n1", "provider": {"resource_group": "rg1", "project": "p1"}}
    what = "network" if protocol is contracts.Networks else "cluster"
    with pytest.raises(E.UnknownActionError) as caught:
        adapter.apply({"action": "resize_everything"}, desired, None)
    error = caught.value
    assert (error.cloud, error.field, error.action) == (cloud, "action", "resize_everything")
    assert f"the {cloud} {what} adapter has no action 'resize_everything'" in error.describe()
    # The table names only methods the adapter has, and the error lists every action it performs.
    assert all(callable(getattr(adapter, method)) for method in adapter.ACTIONS.values())
    assert all(kind in error.message for kind in adapter.ACTIONS)


def test_the_action_tables_cover_the_planners_actions():
    """Every action the planners emit has a method in every cloud's table."""
    network_actions = {"create_network", "create_subnet", "delete_subnet", "update_tags", "delete_network"}
    cluster_actions = {
        "create_cluster",
        "upgrade_control_plane",
        "upgrade_node_pool",
        "create_node_pool",
        "update_node_pool",
        "delete_node_pool",
        "update_tags",
        "delete_cluster",
    }
    for cloud in clouds.CLOUDS:
        assert set(implementation(cloud, contracts.Networks).ACTIONS) == network_actions
        assert set(implementation(cloud, contracts.Clusters).ACTIONS) == cluster_actions


def test_every_vpn_adapter_orders_its_kinds_gateway_first_and_is_found_by_clouds():
    """The generic planner creates in KINDS order and the gateway phase owns GATEWAY_KINDS: those
    come first, so a peering never refers to something made after it."""
    for cloud in clouds.CLOUDS:
        cls = implementation(cloud, contracts.VpnGateways)
        kinds, gateway_kinds = tuple(cls.KINDS), tuple(cls.GATEWAY_KINDS)
        assert len(set(kinds)) == len(kinds), cloud
        assert kinds[: len(gateway_kinds)] == gateway_kinds, cloud
        assert len(kinds) > len(gateway_kinds), cloud
        assert isinstance(cls.WRITE_ONLY, frozenset), cloud
        # Some of its kinds, and only those, are made side by side.
        assert isinstance(cls.CONCURRENT_KINDS, frozenset) and cls.CONCURRENT_KINDS < set(kinds), cloud
        assert isinstance(instance(cloud, contracts.VpnGateways), cls)
        connection = clouds.connect(
            cloud,
            {"azure_subscription_id": "00000000-0000-0000-0000-000000000000"} if cloud == "azure" else {},
            Retrier(cloud),
            region="r1",
        )
        assert clouds.vpn_gateways(cloud, connection).__class__ is cls


NETWORKS = {
    "aws": {"vpc_id": "vpc-1"},
    "gcp": {"network": "n1"},
    "azure": {"vnet": "n1", "resource_group": "rg1", "gateway_subnet_cidr": None},
}


@pytest.mark.parametrize("cloud", clouds.CLOUDS)
def test_gateway_facts_of_a_planned_gateway_are_the_peer_options_without_addresses(cloud):
    """Check mode asks for the facts of resources that do not exist yet: no id, no raw object."""
    from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.runner import PEER_OPTIONS  # noqa: PLC0415

    adapter = instance(cloud, contracts.VpnGateways)
    desired = {
        "cloud": cloud,
        "region": "r1",
        "name": "m1",
        "network": NETWORKS[cloud],
        "asn": 64600,
        "cidrs": ["10.9.0.0/16"],
        "tags": {},
        "tunnels": [],
    }
    facts = adapter.gateway(desired, adapter.resources(desired))
    assert set(PEER_OPTIONS) <= set(facts)
    assert (facts["cloud"], facts["region"], facts["name"], facts["asn"]) == (cloud, "r1", "m1", 64600)
    assert facts["cidrs"] == ["10.9.0.0/16"]
    assert facts["interfaces"] == [] and facts["tunnel_ips"] == {}
