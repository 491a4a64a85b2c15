# -*- coding: utf-8 -*-
"""Azure networks: portable shape <-> VNet JSON, and what each action sends (SDK clients mocked)."""

from __future__ import annotations

from unittest import mock

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from ansible_collections.multicloud.fabric.plugins.module_utils.azure import client as C
from ansible_collections.multicloud.fabric.plugins.module_utils.azure import network as N
from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Retrier, RetryPolicy

SUB = "00000000-0000-0000-0000-000000000001"
VNET_ID = f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/net1"


def desired(**overrides):
    spec = {
        "cloud": "azure",
        "region": "westeurope",
        "name": "net1",
        "cidr": "10.1.0.0/16",
        "subnets": [
            {"name": "nodes", "cidr": "10.1.0.0/20", "zone": None, "role": "nodes", "secondary_ranges": []},
            {"name": "GatewaySubnet", "cidr": "10.1.255.0/27", "zone": None, "role": "gateway", "secondary_ranges": []},
        ],
        "tags": {"env": "dev"},
        "purge_tags": True,
        "provider": {"project": None, "resource_group": "rg1", "create_resource_group": True},
    }
    spec.update(overrides)
    return spec


def vnet_json(tags=None, state="Succeeded"):
    """A VNet as NRP's GET returns it (trimmed)."""
    return {
        "id": VNET_ID,
        "name": "net1",
        "type": "Microsoft.Network/virtualNetworks",
        "location": "westeurope",
        "etag": 'W/"1"',
        "tags": tags if tags is not None else {"env": "dev"},
        "properties": {
            "provisioningState": state,
            "resourceGuid": "guid",
            "addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
            "subnets": [
                {
                    "id": VNET_ID + "/subnets/nodes",
                    "name": "nodes",
                    "properties": {"addressPrefix": "10.1.0.0/20", "provisioningState": "Succeeded"},
                },
                {
                    "id": VNET_ID + "/subnets/GatewaySubnet",
                    "name": "GatewaySubnet",
                    "properties": {"addressPrefixes": ["10.1.255.0/27"], "provisioningState": "Succeeded"},
                },
            ],
        },
    }


# ------------------------------------------------------------------ translation


def test_request_bodies():
    assert N.network_body(desired()) == {
        "location": "westeurope",
        "tags": {"env": "dev"},
        "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]}},
    }
    assert N.network_body(desired(tags=None))["tags"] == {}
    assert N.subnet_body(desired()["subnets"][0]) == {"properties": {"addressPrefix": "10.1.0.0/20"}}
    assert N.subnet_name({"name": "gw", "role": "gateway"}) == "GatewaySubnet"
    assert N.subnet_name({"name": "nodes", "role": "nodes"}) == "nodes"


def test_a_vnet_reads_as_the_portable_shape_it_was_created_from():
    want = desired()
    current = N.network_from_arm(vnet_json(), want)
    portable = {k: current[k] for k in ("cloud", "region", "name", "cidr", "tags", "purge_tags", "provider")}
    assert portable == {k: want[k] for k in portable}
    assert [dict(s, id=None) for s in current["subnets"]] == [dict(s, id=None) for s in want["subnets"]]
    assert current["subnets"][1]["id"] == VNET_ID + "/subnets/GatewaySubnet"
    assert current["id"] == VNET_ID
    assert current["status"] == "available"
    assert current["extra"] == {"resource_group_id": f"/subscriptions/{SUB}/resourceGroups/rg1"}
    assert current["raw"] == vnet_json()


def test_without_desired_the_unrecorded_fields_are_defaults():
    current = N.network_from_arm(vnet_json(tags={}, state="Updating"))
    assert current["purge_tags"] is False
    assert current["provider"] == {"project": None, "resource_group": "rg1", "create_resource_group": False}
    assert current["status"] == "updating" and current["tags"] == {}


@pytest.mark.parametrize(
    ("state", "status"),
    [("Succeeded", "available"), (None, "available"), ("Deleting", "deleting"), ("Failed", "failed")],
)
def test_status(state, status):
    assert N.network_status(state) == status


def test_location_names_are_compared_canonically():
    assert N.normalize_location("West Europe") == "westeurope"


def test_the_resource_group_is_required():
    with pytest.raises(E.ValidationError) as info:
        N.resource_group_of(desired(provider={"project": None, "resource_group": None}))
    assert info.value.field == "azure.resource_group"


# ------------------------------------------------------------------ the adapter with mocked SDK clients


class Done:
    """A finished LRO poller."""

    def __init__(self, result=None):
        self._result = result

    def wait(self, timeout=None):
        return None

    def done(self):
        return True

    def status(self):
        return "Succeeded"

    def result(self, timeout=None):
        return self._result


@pytest.fixture
def adapter(clock):
    retrier = Retrier(
        "azure", policy=RetryPolicy(timeout=5, base_delay=0.1, max_delay=1), clock=clock, sleep=clock.sleep
    )
    conn = C.Connection({"azure_subscription_id": SUB}, retrier, poll_interval=1)
    network, resources = mock.MagicMock(), mock.MagicMock()
    conn._clients.update(network=network, resources=resources)
    for op in ("begin_create_or_update", "begin_delete"):
        setattr(network.virtual_networks, op, mock.MagicMock(return_value=Done()))
        setattr(network.subnets, op, mock.MagicMock(return_value=Done()))
    resources.resource_groups.begin_delete.return_value = Done()
    return conn, N.Networks(conn), network, resources


def not_found(code="ResourceNotFound"):
    body = '{"error": {"code": "%s", "message": "not found"}}' % code  # noqa: UP031
    return ResourceNotFoundError(response=FakeResponse(404, body))


class FakeResponse:
    def __init__(self, status, body):
        self.status_code, self.reason, self.headers = status, "Reason", {}
        self.content_type, self.request, self._body = "application/json", None, body

    def text(self, encoding=None):
        return self._body


def test_create_network_creates_the_missing_group_then_the_vnet(adapter):
    _conn, networks, network, resources = adapter
    resources.resource_groups.check_existence.return_value = False
    networks.apply({"action": "create_network"}, desired(), None)
    resources.resource_groups.create_or_update.assert_called_once_with(
        "rg1", {"location": "westeurope", "tags": {"env": "dev"}}
    )
    args = network.virtual_networks.begin_create_or_update.call_args
    assert args.args == ("rg1", "net1", N.network_body(desired()))
    assert args.kwargs == {"polling_interval": 1.0}


def test_an_existing_group_or_an_unmanaged_one_is_left_alone(adapter):
    _conn, networks, _network_client, resources = adapter
    resources.resource_groups.check_existence.return_value = True
    networks.apply({"action": "create_network"}, desired(), None)
    networks.apply(
        {"action": "create_network"},
        desired(provider={"project": None, "resource_group": "rg1", "create_resource_group": False}),
        None,
    )
    resources.resource_groups.check_existence.assert_called_once()
    resources.resource_groups.create_or_update.assert_not_called()


def test_subnets_tags_and_reads(adapter):
    _conn, networks, network, _resources = adapter
    gateway = desired()["subnets"][1]
    networks.apply({"action": "create_subnet", "subnet": dict(gateway, name="whatever")}, desired(), None)
    args = network.subnets.begin_create_or_update.call_args.args
    assert args == ("rg1", "net1", "GatewaySubnet", {"properties": {"addressPrefix": "10.1.255.0/27"}})
    networks.apply({"action": "delete_subnet", "subnet": {"name": "nodes"}}, desired(), None)
    assert network.subnets.begin_delete.call_args.args == ("rg1", "net1", "nodes")
    action = {"action": "update_tags", "set": {}, "remove": ["env"], "tags": {"team": "a"}}
    networks.apply(action, desired(), None)
    network.virtual_networks.update_tags.assert_called_once_with("rg1", "net1", {"tags": {"team": "a"}})
    network.virtual_networks.get.return_value = vnet_json()
    assert networks.read(desired())["id"] == VNET_ID
    network.virtual_networks.get.side_effect = not_found()
    assert networks.read(desired()) is None
    with pytest.raises(E.ValidationError):
        networks.apply({"action": "rename_network"}, desired(), None)


def test_list_filters_by_region(adapter):
    _conn, networks, network, _resources = adapter
    other = dict(vnet_json(), location="eastus", id=VNET_ID.replace("net1", "net2"), name="net2")
    network.virtual_networks.list_all.return_value = iter([vnet_json(), other])
    assert [n["name"] for n in networks.list(region="West Europe")] == ["net1"]
    network.virtual_networks.list.return_value = iter([vnet_json()])
    assert [n["name"] for n in networks.list(provider={"resource_group": "rg1"})] == ["net1"]
    network.virtual_networks.list.assert_called_once_with("rg1")


def test_delete_network_deletes_a_managed_group_only_when_nothing_else_is_left(adapter):
    _conn, networks, network, resources = adapter
    current = N.network_from_arm(vnet_json(), desired())
    # ARM's listing may still show the VNet just deleted: that one does not count
    resources.resources.list_by_resource_group.return_value = iter([{"id": VNET_ID.upper()}])
    network.virtual_networks.get.side_effect = not_found()
    networks.apply({"action": "delete_network"}, desired(), current)
    assert network.virtual_networks.begin_delete.call_args.args == ("rg1", "net1")
    resources.resource_groups.begin_delete.assert_called_once()
    assert networks.warnings == []


def test_a_group_with_other_resources_is_kept(adapter):
    _conn, networks, _network_client, resources = adapter
    current = N.network_from_arm(vnet_json(), desired())
    resources.resources.list_by_resource_group.return_value = iter([{"id": "/subscriptions/x/.../storageAccounts/s"}])
    networks.apply({"action": "delete_network"}, desired(), current)
    resources.resource_groups.begin_delete.assert_not_called()
    assert networks.warnings == ["kept resource group rg1: it still holds 1 other resource(s)"]


def test_a_group_whose_content_cannot_be_listed_is_kept(adapter):
    _conn, networks, _network_client, resources = adapter
    current = N.network_from_arm(vnet_json(), desired())
    resources.resources.list_by_resource_group.side_effect = not_found("InvalidResourceType")
    networks.apply({"action": "delete_network"}, desired(), current)
    resources.resource_groups.begin_delete.assert_not_called()
    assert "could not be listed (InvalidResourceType)" in networks.warnings[0]


def test_an_unmanaged_group_is_never_deleted(adapter):
    _conn, networks, _network_client, resources = adapter
    unmanaged = desired(provider={"project": None, "resource_group": "rg1", "create_resource_group": False})
    networks.apply({"action": "delete_network"}, unmanaged, None)
    resources.resources.list_by_resource_group.assert_not_called()
    resources.resource_groups.begin_delete.assert_not_called()


def test_throttled_polling_is_confirmed_by_reading(adapter, clock):
    _conn, networks, network, _resources = adapter

    class Throttled(Done):
        def wait(self, timeout=None):
            raise HttpResponseError(
                response=FakeResponse(429, '{"error": {"code": "TooManyRequests", "message": "x"}}')
            )

    network.virtual_networks.begin_create_or_update.return_value = Throttled()
    network.virtual_networks.get.side_effect = [vnet_json(state="Updating"), vnet_json()]
    networks.apply({"action": "create_network"}, desired(provider={"resource_group": "rg1"}), None)
    assert network.virtual_networks.get.call_count == 2
    assert clock.sleeps == [1]


def test_a_failed_operation_raises_its_error(adapter):
    _conn, networks, network, _resources = adapter

    class Failed(Done):
        def wait(self, timeout=None):
            body = '{"error": {"code": "NetcfgSubnetRangesOverlap", "message": "overlaps subnet nodes"}}'
            raise HttpResponseError(response=FakeResponse(400, body))

    network.subnets.begin_create_or_update.return_value = Failed()
    with pytest.raises(E.InvalidRequestError) as info:
        networks.apply({"action": "create_subnet", "subnet": desired()["subnets"][0]}, desired(), None)
    assert (info.value.call, info.value.code) == ("Subnets_CreateOrUpdate", "NetcfgSubnetRangesOverlap")
    assert info.value.resource == "subnet net1/nodes (resource group rg1)"
