# -*- coding: utf-8 -*-
"""network/runner.py with a fake adapter: what mc_network and mc_network_info do with what the
cloud reports, in every mode, without any SDK."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.common import clouds
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError
from ansible_collections.multicloud.fabric.plugins.module_utils.network import runner
from ansible_collections.multicloud.fabric.plugins.modules import mc_network, mc_network_info

ZONES = {"us-east-1": ["us-east-1a", "us-east-1b", "us-east-1c"], "eu-west-1": ["eu-west-1a", "eu-west-1b"]}
ARGS = {"cloud": "aws", "region": "us-east-1", "name": "fabric", "cidr": "10.0.0.0/16", "tags": {"team": "a"}}
WRITES = ("create_network", "create_subnet", "delete_subnet", "update_tags", "delete_network")


class FakeConnection:
    def __init__(self, cloud, region, calls):
        self.cloud, self.region, self.calls = cloud, region, calls

    def locations(self):
        self.calls.append(("locations",))
        return {region: list(zones) for region, zones in ZONES.items()}


class FakeNetworks:
    """The adapter methods the runner calls, over networks kept in ``cloud``:
    ``{(region, name): network}`` in the portable shape ``read`` returns."""

    def __init__(self, conn, cloud):
        self.conn, self.cloud, self.warnings = conn, cloud, []
        self._ids = 0

    def _id(self, kind):
        self._ids += 1
        return f"{kind}-{self._ids}"

    def zones(self, region):
        self.conn.calls.append(("zones", region))
        return list(ZONES[region])

    def read(self, desired):
        self.conn.calls.append(("read", desired["name"]))
        return copy.deepcopy(self.cloud.get((desired["region"], desired["name"])))

    def list(self, region=None, provider=None):
        self.conn.calls.append(("list", region))
        return [copy.deepcopy(n) for (r, _name), n in sorted(self.cloud.items()) if region in (None, r)]

    def apply(self, action, desired, current):
        kind = action["action"]
        self.conn.calls.append(("apply", kind, (action.get("subnet") or {}).get("name")))
        key = (desired["region"], desired["name"])
        if kind == "create_network":
            self.cloud[key] = {
                "cloud": desired["cloud"],
                "region": desired["region"],
                "name": desired["name"],
                "id": self._id("vpc"),
                "cidr": desired["cidr"],
                "subnets": [],
                "tags": dict(desired["tags"] or {}),
                "provider": dict(desired["provider"]),
                "extra": {"internet_gateway_id": self._id("igw"), "route_table_id": self._id("rtb")},
            }
        elif kind == "create_subnet":
            self.cloud[key]["subnets"].append(dict(copy.deepcopy(action["subnet"]), id=self._id("subnet")))
        elif kind == "delete_subnet":
            subnets = self.cloud[key]["subnets"]
            subnets[:] = [s for s in subnets if s["name"] != action["subnet"]["name"]]
        elif kind == "update_tags":
            self.cloud[key]["tags"] = dict(action["tags"])
        elif kind == "delete_network":
            del self.cloud[key]
        else:
            raise AssertionError(f"unknown action {kind}")


@pytest.fixture
def cloud(monkeypatch):
    """The fake cloud: its networks and every call made to it."""
    state = {"networks": {}, "calls": []}

    def connect(cloud_name, params, retrier, region=None):
        assert retrier.cloud == cloud_name
        return FakeConnection(cloud_name, region, state["calls"])

    monkeypatch.setattr(clouds, "connect", connect)
    monkeypatch.setattr(clouds, "networks", lambda cloud_name, conn: FakeNetworks(conn, state["networks"]))
    return state


def writes(state):
    return [call[1:] for call in state["calls"] if call[0] == "apply"]


def ensure(fake_module, args, check_mode=False):
    module = fake_module(mc_network.module_spec(), args, check_mode)
    return module, runner.ensure(module)


def test_present_creates_the_network_then_its_subnets_and_reports_their_ids(cloud, fake_module):
    _module, result = ensure(fake_module, ARGS)
    assert result["changed"] is True
    assert writes(cloud) == [
        ("create_network", None),
        ("create_subnet", "fabric-us-east-1a"),
        ("create_subnet", "fabric-us-east-1b"),
    ]
    network = result["network"]
    assert network["id"] == "vpc-1" and network["tags"] == {"team": "a"}
    assert [(s["name"], s["id"], s["cidr"], s["zone"]) for s in network["subnets"]] == [
        ("fabric-us-east-1a", "subnet-4", "10.0.0.0/20", "us-east-1a"),
        ("fabric-us-east-1b", "subnet-5", "10.0.16.0/20", "us-east-1b"),
    ]
    assert "extra" not in network  # the portable view, never the provider's internals
    assert result["diff"]["before"] == {} and result["diff"]["after"]["cidr"] == "10.0.0.0/16"


def test_a_second_run_changes_nothing_and_only_reads(cloud, fake_module):
    ensure(fake_module, ARGS)
    cloud["calls"].clear()
    _module, result = ensure(fake_module, ARGS)
    assert result["changed"] is False and result["actions"] == []
    assert writes(cloud) == []
    assert [c[0] for c in cloud["calls"]] == ["locations", "zones", "read"]
    assert result["network"]["id"] == "vpc-1"


def test_check_mode_predicts_the_same_actions_and_writes_nothing(cloud, fake_module):
    _module, predicted = ensure(fake_module, ARGS, check_mode=True)
    assert writes(cloud) == [] and cloud["networks"] == {}
    assert predicted["changed"] is True
    assert predicted["network"]["id"] == runner.PENDING_ID
    assert {s["id"] for s in predicted["network"]["subnets"]} == {runner.PENDING_ID}
    _module, applied = ensure(fake_module, ARGS)
    assert applied["actions"] == predicted["actions"]
    assert [s["name"] for s in applied["network"]["subnets"]] == [s["name"] for s in predicted["network"]["subnets"]]


def test_check_mode_of_a_change_shows_the_existing_ids_and_the_planned_tags(cloud, fake_module):
    ensure(fake_module, ARGS)
    cloud["calls"].clear()
    _module, result = ensure(fake_module, dict(ARGS, tags={"team": "b"}), check_mode=True)
    assert result["actions"] == [{"action": "update_tags", "set": {"team": "b"}, "remove": [], "tags": {"team": "b"}}]
    assert result["network"]["id"] == "vpc-1" and result["network"]["tags"] == {"team": "b"}
    assert writes(cloud) == [] and cloud["networks"][("us-east-1", "fabric")]["tags"] == {"team": "a"}


def test_absent_deletes_an_existing_network_and_is_a_no_op_when_gone(cloud, fake_module):
    ensure(fake_module, ARGS)
    cloud["calls"].clear()
    absent = {"cloud": "aws", "region": "us-east-1", "name": "fabric", "state": "absent"}
    _module, result = ensure(fake_module, absent)
    assert result["changed"] is True and writes(cloud) == [("delete_network", None)]
    assert result["network"] == {} and cloud["networks"] == {}
    assert ("zones", "us-east-1") not in cloud["calls"]  # nothing is planned, so no zone is asked for
    cloud["calls"].clear()
    _module, again = ensure(fake_module, absent)
    assert again["changed"] is False and writes(cloud) == []


def test_an_unknown_region_fails_before_anything_is_read(cloud, fake_module):
    with pytest.raises(ValidationError) as error:
        ensure(fake_module, dict(ARGS, region="mars-1"))
    assert error.value.field == "region" and "us-east-1" in error.value.describe()
    assert cloud["calls"] == [("locations",)]


def test_gcp_tags_and_adapter_warnings_reach_the_user(cloud, fake_module, monkeypatch):
    ZONES_GCP = {"us-central1": []}
    monkeypatch.setattr(FakeConnection, "locations", lambda self: ZONES_GCP)
    original = FakeNetworks.apply

    def apply(self, action, desired, current):
        original(self, action, desired, current)
        self.warnings.append(f"{action['action']} took the long way")

    monkeypatch.setattr(FakeNetworks, "apply", apply)
    args = {"cloud": "gcp", "region": "us-central1", "name": "fabric", "cidr": "10.1.0.0/16", "tags": {"a": "b"}}
    module, result = ensure(fake_module, args)
    assert module.warnings[0] == "gcp: Compute Engine networks have no labels; tags are not applied to the network"
    assert module.warnings[1:] == ["create_network took the long way", "create_subnet took the long way"]
    assert result["network"]["tags"] == {}


def test_info_lists_in_one_shape_filtered_by_name_and_region(cloud, fake_module):
    ensure(fake_module, ARGS)
    ensure(fake_module, dict(ARGS, name="other", cidr="10.5.0.0/16", tags=None))
    ensure(fake_module, dict(ARGS, region="eu-west-1", cidr="10.6.0.0/16"))
    cloud["calls"].clear()
    module = fake_module(mc_network_info.module_spec(), {"cloud": "aws", "region": "us-east-1"})
    found = runner.info(module)["networks"]
    assert [(n["region"], n["name"]) for n in found] == [("us-east-1", "fabric"), ("us-east-1", "other")]
    assert all("extra" not in n for n in found)
    module = fake_module(mc_network_info.module_spec(), {"cloud": "aws", "region": "us-east-1", "name": "other"})
    assert [n["name"] for n in runner.info(module)["networks"]] == ["other"]
    assert writes(cloud) == []


def test_info_refuses_an_azure_option_for_another_cloud_before_listing(cloud, fake_module):
    args = {"cloud": "gcp", "azure": {"resource_group": "rg"}}
    with pytest.raises(ValidationError) as error:
        runner.info(fake_module(mc_network_info.module_spec(), args))
    assert error.value.field == "azure"
    assert cloud["calls"] == []
