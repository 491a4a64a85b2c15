# -*- coding: utf-8 -*-
"""vpn/runner.py with a fake adapter: the phases, pending pairs, masking, check mode and errors
of mc_vpn and mc_vpn_info, without any SDK."""

from __future__ import annotations

import copy
import json
import threading

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.common import clouds
from ansible_collections.multicloud.fabric.plugins.module_utils.common.diff import mask
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError
from ansible_collections.multicloud.fabric.plugins.module_utils.common.waiter import Waiter
from ansible_collections.multicloud.fabric.plugins.module_utils.vpn import runner
from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.plan import ref
from ansible_collections.multicloud.fabric.plugins.modules import mc_vpn, mc_vpn_info

SEED = "runner-test-seed-0123456789"
GCP = {"cloud": "gcp", "region": "us-central1", "name": "fabric", "network": "fabric", "cidrs": ["10.1.0.0/16"]}
AWS_FACTS = {"cloud": "aws", "region": "us-east-1", "name": "fabric", "asn": 64512, "cidrs": ["10.0.0.0/16"]}
AZURE_FACTS = {
    "cloud": "azure",
    "region": "eastus",
    "name": "fabric",
    "asn": 64516,
    "cidrs": ["10.2.0.0/16"],
    "interfaces": ["198.18.0.20", "198.18.0.21"],
}


def aws_tunnel_ips(pair="aws-gcp"):
    return {f"fabric-{pair}-{i}": f"198.18.1.{i + 1}" for i in range(4)}


class FakeConnection:
    def __init__(self, cloud, region, calls):
        self.cloud, self.region, self.calls = cloud, region, calls

    def locations(self):
        self.calls.append(("locations",))
        return {"us-central1": ["us-central1-a"], "us-east-1": ["us-east-1a"], "eastus": []}

    def waiter(self, resource, **kwargs):
        return Waiter(self.cloud, resource, interval=1.0, **kwargs)

    def wait(self, waiter, fetch, deadline=None):
        return waiter.wait(fetch, timeout=60, clock=lambda: 0.0, sleep=lambda s: self.calls.append(("sleep", s)))


class FakeVpn:
    """A cloud with a gateway kind and a tunnel kind referring to it, kept in ``store``."""

    KINDS = ("gateway", "tunnel")
    GATEWAY_KINDS = ("gateway",)
    CONCURRENT_KINDS = frozenset(("tunnel",))
    WRITE_ONLY = frozenset({"psk"})

    # How many reads a resource left running (wait=False) is still in progress at.
    BUSY_READS = 4

    def __init__(self, conn, store, layouts):
        self.conn, self.store, self.warnings, self.layouts = conn, store, [], layouts

    def resources(self, desired):
        self.layouts.append(desired.get("layout"))
        out = [{"kind": "gateway", "name": f"{desired['name']}-gw", "spec": {"asn": desired["asn"]}}]
        for tunnel in desired["tunnels"]:
            spec = {
                "gateway": ref("gateway", f"{desired['name']}-gw"),
                "peer_ip": tunnel["remote"]["public_ip"],
                "inside_cidr": tunnel["inside_cidr"],
                "psk": tunnel["psk"],
                "psk_fingerprint": tunnel["psk"][:3] + "...",
            }
            out.append({"kind": "tunnel", "name": tunnel["name"], "spec": spec, "replace_on": "*"})
        return out

    def read(self, desired):
        self.conn.calls.append(("read",))
        out = []
        for stored in self.store.values():
            if stored.get("busy_reads"):
                stored["busy_reads"] -= 1
                stored["status"] = "busy" if stored["busy_reads"] else "ready"
            resource = copy.deepcopy(stored)
            resource.pop("busy_reads", None)
            resource["spec"].pop("psk", None)  # write-only, as GCP's tunnel secret
            out.append(resource)
        return out

    @staticmethod
    def in_progress(current):
        return [f"{r['kind']}/{r['name']}" for r in current if r.get("status") == "busy"]

    def apply(self, action, desired, ids, wait=True):
        self.conn.calls.append(("apply", action["action"], action["kind"], action["name"], wait))
        key = f"{action['kind']}/{action['name']}"
        if action["action"] == "delete":
            del self.store[key]
            return None
        for target in [v["ref"] for v in action["spec"].values() if isinstance(v, dict)]:
            assert target in ids, f"{key} refers to {target} which does not exist yet"
        self.store[key] = {"kind": action["kind"], "name": action["name"], "spec": action["spec"], "id": "id-" + key}
        if not wait:
            self.store[key].update(status="busy", busy_reads=self.BUSY_READS + 1)  # +1: the read that ends the run
        return "id-" + key

    def gateway(self, desired, current):
        return {
            "cloud": desired["cloud"],
            "region": desired["region"],
            "name": desired["name"],
            "asn": desired["asn"],
            "cidrs": desired["cidrs"],
            "interfaces": ["198.18.0.10", "198.18.0.11"],
            "tunnel_ips": {},
            "id": "gw-1",  # adapters may say more than the facts the other sides take
        }

    def tunnel_status(self, desired, current):
        have = {r["name"] for r in current if r["kind"] == "tunnel"}
        return [
            {
                "name": t["name"],
                "pair": t["pair"],
                "index": t["index"],
                "status": "UP" if t["name"] in have else "DOWN",
                "status_message": "Tunnel is up and running." if t["name"] in have else "No tunnel",
                "bgp_state": "Established" if t["name"] in have else "Idle",
                "routes_learned": [],
                "local_public_ip": None,
                "remote_public_ip": t["remote"]["public_ip"],
            }
            for t in desired["tunnels"]
        ]


@pytest.fixture
def cloud(monkeypatch):
    state = {"calls": [], "store": {}, "layouts": []}

    def connect(cloud_name, params, retrier, region=None, poll_interval=None):
        return FakeConnection(cloud_name, region, state["calls"])

    monkeypatch.setattr(clouds, "connect", connect)
    monkeypatch.setattr(
        clouds, "vpn_gateways", lambda cloud_name, conn: FakeVpn(conn, state["store"], state["layouts"])
    )
    return state


def module(fake_module, check_mode=False, **args):
    return fake_module(mc_vpn.module_spec(), dict(GCP, **args), check_mode=check_mode)


def writes(state):
    return [c for c in state["calls"] if c[0] == "apply"]


def test_the_gateway_phase_makes_the_gateway_only_and_returns_its_facts(cloud, fake_module):
    result = runner.ensure(module(fake_module))
    assert [(a["action"], a["kind"]) for a in result["actions"]] == [("create", "gateway")]
    assert result["gateway"]["asn"] == 64514  # GCP's default
    assert result["gateway"]["interfaces"] == ["198.18.0.10", "198.18.0.11"]
    assert sorted(result["gateway"]) == sorted(mc_vpn.MESH_OPTIONS["peers"]["options"])
    assert result["pending"] == []
    again = runner.ensure(module(fake_module))
    assert again["changed"] is False and again["actions"] == []


def test_peerings_plan_the_mesh_and_make_this_sides_half(cloud, fake_module):
    peers = [dict(AWS_FACTS, tunnel_ips=aws_tunnel_ips()), AZURE_FACTS]
    task = module(fake_module, peers=peers, psk_seed=SEED)
    result = runner.ensure(task)
    created = [(a["kind"], a["name"]) for a in result["actions"]]
    assert created[0] == ("gateway", "fabric-gw")
    assert sorted(n for k, n in created if k == "tunnel") == sorted(
        [f"fabric-aws-gcp-{i}" for i in range(4)] + [f"fabric-gcp-azure-{i}" for i in range(4)]
    )
    # Every tunnel points at the address the other side reported for its end.
    specs = {r["name"]: r["spec"] for r in cloud["store"].values() if r["kind"] == "tunnel"}
    assert specs["fabric-aws-gcp-2"]["peer_ip"] == "198.18.1.3"
    assert {specs[f"fabric-gcp-azure-{i}"]["peer_ip"] for i in range(4)} == set(AZURE_FACTS["interfaces"])
    # The derived keys are secrets of the task: Ansible masks them in everything it shows.
    keys = {s["psk"] for s in specs.values()}
    assert len(keys) == 8 and keys <= task.secret_values
    shown = json.dumps(mask(result, task.secret_values))
    assert not any(k in shown for k in keys)
    assert SEED not in shown
    # Rerun: nothing to do although the cloud never returns the keys.
    again = runner.ensure(module(fake_module, peers=peers, psk_seed=SEED))
    assert again["actions"] == []


def test_a_rotation_replaces_only_that_pairs_tunnels(cloud, fake_module):
    peers = [dict(AWS_FACTS, tunnel_ips=aws_tunnel_ips()), AZURE_FACTS]
    runner.ensure(module(fake_module, peers=peers, psk_seed=SEED))
    result = runner.ensure(module(fake_module, peers=peers, psk_seed=SEED, rotations={"gcp-azure": 1}))
    touched = {a["name"] for a in result["actions"]}
    assert touched == {f"fabric-gcp-azure-{i}" for i in range(4)}
    assert {a["action"] for a in result["actions"]} == {"delete", "create"}


def test_a_pair_whose_other_side_has_no_addresses_waits_and_loses_nothing(cloud, fake_module):
    peers = [dict(AWS_FACTS, tunnel_ips=aws_tunnel_ips()), AZURE_FACTS]
    runner.ensure(module(fake_module, peers=peers, psk_seed=SEED))
    task = module(fake_module, peers=[AWS_FACTS, AZURE_FACTS], psk_seed=SEED)  # AWS facts from a gateway phase
    result = runner.ensure(task)
    assert result["pending"] == ["aws-gcp"]
    assert result["actions"] == []  # the AWS pair's tunnels are kept
    assert any("aws-gcp" in w for w in task.warnings)


def test_check_mode_predicts_the_run_and_writes_nothing(cloud, fake_module):
    peers = [dict(AWS_FACTS, tunnel_ips=aws_tunnel_ips())]
    predicted = runner.ensure(module(fake_module, check_mode=True, peers=peers, psk_seed=SEED))
    assert writes(cloud) == []
    done = runner.ensure(module(fake_module, peers=peers, psk_seed=SEED))
    assert predicted["actions"] == done["actions"]
    assert predicted["diff"]["after"] == done["diff"]["after"]


def test_absent_removes_every_resource_of_the_mesh_tunnels_first(cloud, fake_module):
    peers = [dict(AWS_FACTS, tunnel_ips=aws_tunnel_ips())]
    runner.ensure(module(fake_module, peers=peers, psk_seed=SEED))
    result = runner.ensure(module(fake_module, state="absent"))
    kinds = [a["kind"] for a in result["actions"]]
    assert kinds == ["tunnel"] * 4 + ["gateway"] and cloud["store"] == {}
    assert result["gateway"] == {}


BAD = [
    ({"peers": [dict(AWS_FACTS, asn=65515), AZURE_FACTS], "psk_seed": SEED}, "peers[0].asn", "reserved by Azure"),
    ({"asn": 65515, "peers": [AZURE_FACTS], "psk_seed": SEED}, "asn", "reserved by Azure"),
    ({"asn": 100}, "asn", "not a private ASN"),
    # Two gateways clash: the error names this side's option (the later in the mesh's order) ...
    ({"peers": [dict(AWS_FACTS, cidrs=["10.1.0.0/20"])], "psk_seed": SEED}, "cidrs[0]", "overlaps"),
    ({"peers": [dict(AWS_FACTS, asn=64514)], "psk_seed": SEED}, "asn", "already the ASN"),
    # ... or the peer's, when the peer comes later.
    ({"peers": [dict(AZURE_FACTS, cidrs=["10.1.128.0/20"])], "psk_seed": SEED}, "peers[0].cidrs[0]", "overlaps"),
    ({"peers": [AZURE_FACTS]}, "psk_seed", None),
    ({"peers": [AWS_FACTS], "psk_seed": "short"}, "psk_seed", "at least 16"),
    ({"peers": [dict(GCP, asn=1, cloud="gcp")], "psk_seed": SEED}, "peers[0].cloud", "own cloud"),
    ({"peers": [AWS_FACTS], "psk_seed": SEED, "inside_cidrs": {"aws-gcp": ["169.254.0.0/30"] * 4}}, None, "AWS"),
    ({"peers": [AZURE_FACTS], "psk_seed": SEED, "inside_cidrs": {"gcp-azure": ["169.254.30.0/30"] * 4}}, None, "APIPA"),
    ({"peers": [AWS_FACTS], "psk_seed": SEED, "psks": {"aws-gcp": ["bad key!"] * 4}}, "psks.aws-gcp[0]", None),
    ({"peers": [AWS_FACTS], "psk_seed": SEED, "rotations": {"aws-azure": 1}}, "rotations.aws-azure", "no such pair"),
    ({"name": "Fabric_1"}, "name", None),
    ({"cidrs": ["10.1.0.0/33"]}, "cidrs[0]", None),
    ({"azure": {"resource_group": "rg"}}, "azure", "azure option"),
]


@pytest.mark.parametrize(("args", "field", "words"), BAD)
def test_bad_input_is_refused_naming_the_field_before_any_call(cloud, fake_module, args, field, words):
    peers = args.get("peers")
    if peers:
        args = dict(args, peers=[{k: v for k, v in p.items() if k != "network"} for p in peers])
    with pytest.raises(ValidationError) as caught:
        runner.ensure(module(fake_module, **args))
    if field is not None:
        assert caught.value.field == field, caught.value.describe()
    if words is not None:
        assert words in caught.value.describe()
    assert cloud["calls"] == []
    # A rejected key is never echoed back.
    assert "bad key!" not in caught.value.describe()


def test_azure_needs_its_resource_group(cloud, fake_module):
    args = dict(cloud="azure", region="eastus", network="fabric", cidrs=["10.2.0.0/16"])
    with pytest.raises(ValidationError) as caught:
        runner.ensure(fake_module(mc_vpn.module_spec(), dict(GCP, **args)))
    assert caught.value.field == "azure.resource_group"


def test_info_reports_every_tunnel_without_the_keys(cloud, fake_module):
    peers = [dict(AWS_FACTS, tunnel_ips=aws_tunnel_ips()), AZURE_FACTS]
    runner.ensure(module(fake_module, peers=peers, psk_seed=SEED))
    args = dict(GCP)
    task = fake_module(mc_vpn_info.module_spec(), dict(args, peers=peers))
    result = runner.info(task)
    assert result["tunnels_up"] == 8 and result["bgp_established"] == 8
    assert [t["name"] for t in result["tunnels"]][:2] == ["fabric-aws-gcp-0", "fabric-aws-gcp-1"]
    assert writes(cloud) == [c for c in cloud["calls"] if c[0] == "apply"]  # info itself wrote nothing
    assert result["gateway"]["asn"] == 64514


def test_wait_false_leaves_only_the_last_action_running_and_a_later_run_waits_for_it(cloud, fake_module):
    peers = [dict(AWS_FACTS, tunnel_ips=aws_tunnel_ips())]
    started = runner.ensure(module(fake_module, peers=peers, psk_seed=SEED, wait=False))
    waits = [c[-1] for c in writes(cloud)]
    assert waits == [True] * (len(waits) - 1) + [False]
    assert started["in_progress"] == [f"tunnel/{started['actions'][-1]['name']}"]
    cloud["calls"].clear()
    # Check mode reports what is still running and waits for nothing.
    looked = runner.ensure(module(fake_module, check_mode=True, peers=peers, psk_seed=SEED))
    assert looked["in_progress"] == started["in_progress"] and looked["actions"] == []
    assert not [c for c in cloud["calls"] if c[0] == "sleep"]
    settled = runner.ensure(module(fake_module, peers=peers, psk_seed=SEED))
    assert [c for c in cloud["calls"] if c[0] == "sleep"], "the run waited for the tunnel left running"
    assert settled["in_progress"] == [] and settled["actions"] == [] and writes(cloud) == []


def test_peers_without_addresses_or_seed_shape_only_the_gateway(cloud, fake_module):
    """Made while the other gateways are: the layout of the mesh is known, no peering is made,
    nothing is pending or warned about, and no key is handed to the adapter."""
    task = module(fake_module, peers=[AWS_FACTS, {k: v for k, v in AZURE_FACTS.items() if k != "interfaces"}])
    result = runner.ensure(task)
    assert [(a["action"], a["kind"]) for a in result["actions"]] == [("create", "gateway")]
    assert result["pending"] == [] and task.warnings == []
    layout = cloud["layouts"][-1]
    assert sorted(t["name"] for t in layout) == sorted(
        [f"fabric-aws-gcp-{i}" for i in range(4)] + [f"fabric-gcp-azure-{i}" for i in range(4)]
    )
    assert all("psk" not in t and "public_ip" not in t["remote"] for t in layout)
    # The same layout as the peering run's: the gateway is not changed when the peerings come.
    peers = [dict(AWS_FACTS, tunnel_ips=aws_tunnel_ips()), AZURE_FACTS]
    runner.ensure(module(fake_module, peers=peers, psk_seed=SEED))
    assert cloud["layouts"][-1] == layout


def test_peers_with_addresses_need_the_seed(cloud, fake_module):
    with pytest.raises(ValidationError) as caught:
        runner.ensure(module(fake_module, peers=[dict(AWS_FACTS, tunnel_ips=aws_tunnel_ips())]))
    assert caught.value.field == "psk_seed"
    assert writes(cloud) == []


def test_independent_actions_of_one_kind_run_at_once_and_the_rest_in_order():
    def act(verb, kind, name, spec=None):
        return {"action": verb, "kind": kind, "name": name, "spec": spec or {}}

    actions = [
        act("delete", "tunnel", "old-0"),
        act("delete", "tunnel", "old-1"),
        act("create", "gateway", "gw"),
        act("create", "tunnel", "t0", {"gateway": ref("gateway", "gw")}),
        act("update", "tunnel", "t1", {"gateway": ref("gateway", "gw")}),
        act("create", "tunnel", "t2", {"after": ref("tunnel", "t1")}),  # refers to one of its wave
        act("create", "peer", "p0"),
        act("create", "peer", "p1"),  # not a concurrent kind
    ]
    got = [[a["name"] for a in wave] for wave in runner.waves(actions, frozenset(("tunnel",)))]
    assert got == [["old-0", "old-1"], ["gw"], ["t0", "t1"], ["t2"], ["p0"], ["p1"]]
    many = [act("create", "tunnel", f"t{i}") for i in range(10)]
    assert [len(w) for w in runner.waves(many, frozenset(("tunnel",)), limit=4)] == [4, 4, 2]


def test_a_wave_runs_in_threads_and_a_failure_in_it_loses_the_others(cloud, fake_module, monkeypatch):
    peers = [dict(AWS_FACTS, tunnel_ips=aws_tunnel_ips()), AZURE_FACTS]
    threads = set()
    real_apply = FakeVpn.apply

    def apply(self, action, desired, ids, wait=True):
        threads.add(threading.current_thread().name)
        if action["name"] == "fabric-gcp-azure-1":
            raise ValidationError("tunnels.fabric-gcp-azure-1", "refused by the cloud")
        return real_apply(self, action, desired, ids, wait=wait)

    monkeypatch.setattr(FakeVpn, "apply", apply)
    with pytest.raises(ValidationError, match="refused"):
        runner.ensure(module(fake_module, peers=peers, psk_seed=SEED))
    assert any(name.startswith("mc-vpn") for name in threads)
    made = {k for k in cloud["store"] if k.startswith("tunnel/")}
    assert len(made) == 7 and "tunnel/fabric-gcp-azure-1" not in made  # the others of the wave were made
    monkeypatch.setattr(FakeVpn, "apply", real_apply)
    again = runner.ensure(module(fake_module, peers=peers, psk_seed=SEED))
    assert [a["name"] for a in again["actions"]] == ["fabric-gcp-azure-1"]  # the rerun converges
