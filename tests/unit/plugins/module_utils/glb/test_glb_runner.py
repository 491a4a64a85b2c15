"""mc_global_lb's run: validation before any call, check mode without writes, a failed write
reported with what ran, and the info module's steering table."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.cloudflare import glb as cloudflare
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ThrottledError, ValidationError
from ansible_collections.multicloud.fabric.plugins.module_utils.glb import runner


class FakeLb:
    """The Cloudflare object model over an in-memory store (no SDK)."""

    kinds = cloudflare.KINDS

    def __init__(self, fail_on=None):
        self.objects = {}
        self.ids = {}
        self.writes = []
        self.reads = 0
        self.fail_on = fail_on
        self.warnings = []

    def desired_objects(self, desired):
        return cloudflare.desired_objects(desired)

    def current(self):
        self.reads += 1
        return [copy.deepcopy(o) for o in self.objects.values()]

    def apply(self, action):
        if self.fail_on and (action["kind"], action["action"]) == self.fail_on:
            raise ThrottledError("rate limited", cloud="cloudflare")
        self.writes.append((action["action"], action["kind"], action["name"]))
        key = f"{action['kind']}/{action['name']}"
        if action["action"] == "delete":
            del self.objects[key]
            self.ids.pop(key, None)
        else:
            self.objects[key] = {"kind": action["kind"], "name": action["name"], "id": key, "body": action["body"]}
            self.ids[key] = key

    def health(self, current):
        return {
            o["name"]: {"healthy": o["name"] != "aws", "reason": "x", "origins": []}
            for o in current
            if o["kind"] == "pool"
        }

    def portable(self, current):
        return cloudflare.GlobalLb.portable(self, current)

    hostname = "app.example.com"
    zone_name = "example.com"


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, params, check_mode=False):
        self.params = params
        self.check_mode = check_mode
        self.secret_values = set()
        self.warned = []
        self.failed = None

    def warn(self, message):
        self.warned.append(message)

    def fail(self, error, **result):
        self.failed = (error, result)
        raise Failed()


def module_params(**changes):
    params = {
        "provider": "cloudflare",
        "hostname": "app.example.com",
        "zone": None,
        "state": "present",
        "pools": [
            {
                "name": "aws",
                "cloud": "aws",
                "region": "us-east-1",
                "enabled": True,
                "description": None,
                "origins": [{"name": None, "address": "198.51.100.10", "weight": 1.0, "enabled": True}],
            },
            {
                "name": "gcp",
                "cloud": "gcp",
                "region": "us-central1",
                "enabled": True,
                "description": None,
                "origins": [{"name": None, "address": "198.51.100.20", "weight": 1.0, "enabled": True}],
            },
        ],
        "monitor": {
            "type": "http",
            "path": "/health",
            "port": None,
            "method": None,
            "expected_codes": None,
            "interval": 60,
            "timeout": None,
            "retries": None,
            "headers": None,
        },
        "steering": {"policy": "geo", "regions": {"ENAM": ["aws", "gcp"]}, "countries": None, "default_pools": None},
        "fallback_pool": "aws",
        "ttl": None,
        "proxied": None,
        "session_affinity": None,
        "route53": None,
    }
    params.update(changes)
    return params


@pytest.fixture
def fake(monkeypatch):
    lb = FakeLb()
    monkeypatch.setattr(runner, "adapter", lambda module, provider, hostname, zone: lb)
    return lb


def test_check_mode_predicts_and_writes_nothing_then_apply_then_nothing(fake):
    predicted = runner.ensure(FakeModule(module_params(), check_mode=True))
    assert predicted["changed"] and fake.writes == []
    assert [a["kind"] for a in predicted["actions"]] == ["monitor", "pool", "pool", "load_balancer"]
    applied = runner.ensure(FakeModule(module_params()))
    assert [(a["action"], a["kind"], a["name"]) for a in applied["actions"]] == fake.writes
    assert [a["action"] for a in predicted["actions"]] == [a["action"] for a in applied["actions"]]
    assert applied["diff"]["before"] == {} and set(applied["diff"]["after"]) == {"monitor", "pool", "load_balancer"}
    assert applied["load_balancer"]["steering"]["regions"] == {"ENAM": ["aws", "gcp"]}
    fake.writes.clear()
    again = runner.ensure(FakeModule(module_params()))
    assert again["changed"] is False and again["actions"] == [] and fake.writes == []


def test_bad_input_fails_before_any_call(fake):
    with pytest.raises(ValidationError) as caught:
        runner.ensure(FakeModule(module_params(fallback_pool="azure")))
    assert caught.value.field == "fallback_pool"
    assert fake.reads == 0 and fake.writes == []


def test_hostname_outside_the_zone_is_refused_before_any_call(fake):
    with pytest.raises(ValidationError) as caught:
        runner.ensure(FakeModule(module_params(zone="example.org")))
    assert caught.value.field == "hostname" and fake.reads == 0


def test_a_failed_write_reports_what_ran_and_a_rerun_converges(fake):
    fake.fail_on = ("load_balancer", "create")
    module = FakeModule(module_params())
    with pytest.raises(Failed):
        runner.ensure(module)
    error, result = module.failed
    assert isinstance(error, ThrottledError)
    assert [a["kind"] for a in result["actions"]] == ["monitor", "pool", "pool"] and result["changed"]
    fake.fail_on = None
    rerun = runner.ensure(FakeModule(module_params()))
    assert [(a["action"], a["kind"]) for a in rerun["actions"]] == [("create", "load_balancer")]


def test_absent_needs_no_pools_and_removes_everything(fake):
    runner.ensure(FakeModule(module_params()))
    gone = runner.ensure(FakeModule(module_params(state="absent", pools=None)))
    assert [a["action"] for a in gone["actions"]] == ["delete"] * 4 and fake.objects == {}
    assert gone["load_balancer"] == {}


def test_info_reports_health_and_where_each_location_goes(fake):
    runner.ensure(FakeModule(module_params()))
    info = runner.info(FakeModule(module_params()))
    assert info["exists"] is True
    assert [(p["name"], p["healthy"]) for p in info["pools"]] == [("aws", False), ("gcp", True)]
    assert info["steering"] == {
        "ENAM": {"pool": "gcp", "reason": "failover"},
        "default": {"pool": "gcp", "reason": "failover"},
    }


def test_info_of_a_missing_load_balancer(fake):
    assert runner.info(FakeModule(module_params()))["exists"] is False
