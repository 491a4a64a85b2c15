# -*- coding: utf-8 -*-
"""Portable network <-> Compute networks and subnetworks: request bodies and the read shape."""

from __future__ import annotations

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp.network import (
    Networks,
    cidr_of,
    network_body,
    network_to_portable,
    region_of_link,
    subnet_body,
    subnet_to_portable,
)

BASE = "https://www.googleapis.com/compute/v1/projects/p1"
NET = f"{BASE}/global/networks/core"


def desired():
    return {
        "cloud": "gcp",
        "region": "europe-west1",
        "name": "core",
        "cidr": "10.10.0.0/16",
        "subnets": [
            {
                "name": "core-nodes",
                "cidr": "10.10.0.0/20",
                "zone": None,
                "role": "nodes",
                "secondary_ranges": [
                    {"name": "pods", "cidr": "10.64.0.0/14"},
                    {"name": "services", "cidr": "10.68.0.0/20"},
                ],
            }
        ],
        "tags": None,
        "purge_tags": True,
        "provider": {"project": "p1", "resource_group": None, "create_resource_group": False},
    }


def compute_network():
    return {
        "name": "core",
        "self_link": NET,
        "auto_create_subnetworks": False,
        "routing_config": {"routing_mode": "REGIONAL"},
        "description": "Managed by multicloud.fabric; cidr=10.10.0.0/16",
        "mtu": 1460,
        "subnetworks": [f"{BASE}/regions/europe-west1/subnetworks/core-nodes"],
    }


def compute_subnet(name="core-nodes", network=NET):
    return {
        "name": name,
        "self_link": f"{BASE}/regions/europe-west1/subnetworks/{name}",
        "network": network,
        "region": f"{BASE}/regions/europe-west1",
        "ip_cidr_range": "10.10.0.0/20",
        "private_ip_google_access": True,
        "secondary_ip_ranges": [
            {"range_name": "pods", "ip_cidr_range": "10.64.0.0/14"},
            {"range_name": "services", "ip_cidr_range": "10.68.0.0/20"},
        ],
    }


def test_network_body_is_custom_mode_regional_and_records_the_cidr():
    body = network_body(desired())
    assert body == {
        "name": "core",
        "auto_create_subnetworks": False,
        "routing_config": {"routing_mode": "REGIONAL"},
        "description": "Managed by multicloud.fabric; cidr=10.10.0.0/16",
    }
    assert cidr_of(body) == "10.10.0.0/16"
    assert cidr_of({"description": "made by hand"}) is None
    assert cidr_of({}) is None


def test_subnet_body_has_secondary_ranges_and_private_google_access():
    body = subnet_body(desired()["subnets"][0], "projects/p1/global/networks/core")
    assert body == {
        "name": "core-nodes",
        "network": "projects/p1/global/networks/core",
        "ip_cidr_range": "10.10.0.0/20",
        "private_ip_google_access": True,
        "secondary_ip_ranges": [
            {"range_name": "pods", "ip_cidr_range": "10.64.0.0/14"},
            {"range_name": "services", "ip_cidr_range": "10.68.0.0/20"},
        ],
    }


def test_read_shape_matches_the_desired_shape():
    other = compute_subnet("elsewhere", network=f"{BASE}/global/networks/other")
    current = network_to_portable(
        compute_network(), [compute_subnet(), other], region="europe-west1", project="p1", desired=desired()
    )
    want = desired()
    for key in ("cloud", "region", "name", "cidr", "provider"):
        assert current[key] == want[key], key
    assert current["id"] == NET
    assert current["tags"] == {}
    assert current["status"] == "available"
    assert current["raw"]["name"] == "core"
    (subnet,) = current["subnets"]
    assert subnet == dict(want["subnets"][0], id=f"{BASE}/regions/europe-west1/subnetworks/core-nodes")


def test_subnet_and_region_helpers():
    assert subnet_to_portable({"name": "s", "self_link": "L", "ip_cidr_range": "10.0.0.0/24"}) == {
        "name": "s",
        "id": "L",
        "cidr": "10.0.0.0/24",
        "zone": None,
        "role": "nodes",
        "secondary_ranges": [],
    }
    assert region_of_link(f"{BASE}/regions/europe-west1/subnetworks/s") == "europe-west1"
    assert region_of_link(None) is None


class FakeConn:
    """Records rpc calls; operations are DONE at once."""

    project = "p1"
    region = "europe-west1"

    def __init__(self, subnets=()):
        self.calls = []
        self.waited = []
        self.subnets_listed = list(subnets)
        self.networks = self._Client(self, "networks")
        self.subnetworks = self._Client(self, "subnetworks")

    class _Client:
        def __init__(self, conn, kind):
            self.conn, self.kind = conn, kind

        def __getattr__(self, name):
            def method(**kwargs):
                self.conn.calls.append((f"{self.kind}.{name}", kwargs))
                if name == "get":
                    return compute_network()
                if name == "list":
                    return list(self.conn.subnets_listed) if self.kind == "subnetworks" else [compute_network()]
                return {"name": f"op-{len(self.conn.calls)}", "status": "RUNNING"}

            return method

    def rpc(self, method, *, resource=None, call=None, **kwargs):
        return method(**kwargs)

    def rpc_list(self, method, *, resource=None, call=None, **kwargs):
        return list(method(**kwargs))

    def wait_compute_operation(self, op, *, project, region=None, resource=None, deadline=None):
        self.waited.append((op["name"], region))


def test_apply_create_and_delete_sequence():
    conn = FakeConn(subnets=[compute_subnet(), compute_subnet("foreign", network=f"{BASE}/global/networks/x")])
    nets = Networks(conn)
    nets.apply({"action": "create_network"}, desired(), None)
    nets.apply({"action": "create_subnet", "subnet": desired()["subnets"][0]}, desired(), None)
    assert [c[0] for c in conn.calls] == ["networks.insert_unary", "subnetworks.insert_unary"]
    assert conn.calls[1][1]["region"] == "europe-west1"
    assert conn.calls[1][1]["subnetwork_resource"]["network"] == "projects/p1/global/networks/core"
    assert [w[1] for w in conn.waited] == [None, "europe-west1"]

    conn.calls.clear()
    nets.apply({"action": "update_tags", "set": {"a": "b"}, "remove": [], "tags": {"a": "b"}}, desired(), None)
    assert conn.calls == []

    nets.apply({"action": "delete_network"}, desired(), None)
    names = [c[0] for c in conn.calls]
    assert names == ["networks.get", "subnetworks.list", "subnetworks.delete_unary", "networks.delete_unary"]
    assert conn.calls[2][1]["subnetwork"] == "core-nodes"  # the foreign network's subnet is left alone


def test_unknown_action_and_zones():
    nets = Networks(FakeConn())
    assert nets.zones("europe-west1") == []
    with pytest.raises(E.ValidationError):
        nets.apply({"action": "resize"}, desired(), None)
