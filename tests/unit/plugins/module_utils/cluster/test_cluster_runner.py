# -*- coding: utf-8 -*-
"""cluster/runner.py with a fake adapter: what mc_cluster does with what the cloud reports
(present/absent, check mode, wait true/false, kubeconfig changed or not), without any SDK."""

from __future__ import annotations

import copy

import pytest
import yaml

from ansible_collections.multicloud.fabric.plugins.module_utils.cluster import nodes, runner
from ansible_collections.multicloud.fabric.plugins.module_utils.common import clouds
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    ResourceFailedError,
    ValidationError,
)
from ansible_collections.multicloud.fabric.plugins.modules import mc_cluster

KNOWN = {"us-central1": ["us-central1-a", "us-central1-c"]}
POOLS = [{"name": "system", "count": 2}]
ARGS = {
    "cloud": "gcp",
    "region": "us-central1",
    "name": "fabric-gcp",
    "gcp_project": "p1",
    "kubernetes_version": "1.31",
    "node_pools": POOLS,
}


class FakeConnection:
    poll_interval = 0.001

    def __init__(self, cloud, region, calls):
        self.cloud, self.region, self.calls = cloud, region, calls

    def locations(self):
        self.calls.append(("locations",))
        return KNOWN


class FakeClusters:
    """The adapter methods the runner calls over one fake cloud: ``apply`` starts an operation
    (the cluster goes CREATING/UPDATING/DELETING), ``wait`` lets the cloud finish it."""

    def __init__(self, conn, state):
        self.conn, self.state = conn, state

    def _log(self, *call):
        self.conn.calls.append(call)

    def read(self, desired):
        self._log("read")
        cluster = self.state.get("cluster")
        if cluster is not None and self.state.get("settle_after") is not None:
            self.state["settle_after"] -= 1
            if self.state["settle_after"] <= 0:
                cluster["status"], self.state["settle_after"] = "ACTIVE", None
        return copy.deepcopy(cluster)

    def apply(self, action, desired, current):
        kind = action["action"]
        self._log("apply", kind, action.get("version") if kind.startswith("upgrade") else action.get("pool"))
        if kind == "create_cluster":
            pools = [dict(p, version=desired["kubernetes_version"], status="ACTIVE") for p in desired["node_pools"]]
            self.state["cluster"] = dict(
                copy.deepcopy(desired),
                id=f"projects/p1/locations/us-central1/clusters/{desired['name']}",
                status="CREATING",
                provider_status="PROVISIONING",
                status_message="",
                version_full=f"{desired['kubernetes_version']}.5-gke.1200",
                endpoint="https://203.0.113.10",
                ca_data="Q0EK",
                node_pools=pools,
                tags=dict(desired["tags"] or {}),
            )
            return
        cluster = self.state["cluster"]
        cluster["status"] = "DELETING" if kind == "delete_cluster" else "UPDATING"
        if kind == "upgrade_control_plane":
            cluster["kubernetes_version"] = action["version"]
        elif kind == "upgrade_node_pool":
            next(p for p in cluster["node_pools"] if p["name"] == action["pool"])["version"] = action["version"]
        elif kind == "update_node_pool":
            next(p for p in cluster["node_pools"] if p["name"] == action["pool"]).update(action["changes"])
        elif kind == "create_node_pool":
            pool = dict(action["pool"], version=cluster["kubernetes_version"], status="ACTIVE")
            cluster["node_pools"].append(pool)
        elif kind == "delete_node_pool":
            cluster["node_pools"] = [p for p in cluster["node_pools"] if p["name"] != action["pool"]]
        elif kind == "update_tags":
            cluster["tags"] = dict(action["tags"])
        elif kind != "delete_cluster":
            raise AssertionError(f"unexpected action {kind}")

    def wait(self, desired, action, deadline):
        self._log("wait", action["action"])
        assert deadline is self.state["deadline"]  # the task's one deadline
        if action["action"] == "delete_cluster":
            self.state["cluster"] = None
        else:
            self.state["cluster"]["status"] = "ACTIVE"
        return self.read(desired)

    def kube_user(self, current, mode):
        self._log("kube_user", mode)
        self.state["tokens"] = self.state.get("tokens", 0) + 1
        if mode == "exec":
            return {"exec": {"command": "gke-gcloud-auth-plugin", "apiVersion": "client.authentication.k8s.io/v1beta1"}}
        return {"token": f"ya29.token-{self.state['tokens']}"}


@pytest.fixture
def cloud(monkeypatch):
    """The fake cloud: its one cluster and every call made to it."""
    state = {"cluster": None, "calls": []}

    def connect(cloud_name, params, retrier, region=None):
        assert retrier.cloud == cloud_name and params["gcp_project"] == "p1"
        return FakeConnection(cloud_name, region, state["calls"])

    monkeypatch.setattr(clouds, "connect", connect)
    monkeypatch.setattr(clouds, "clusters", lambda cloud_name, conn: FakeClusters(conn, state))
    return state


@pytest.fixture
def run(cloud, fake_module):
    def run_(check_mode=False, no_log=False, **changes):
        module = fake_module(mc_cluster.module_spec(), dict(ARGS, **changes), check_mode, no_log)
        cloud["deadline"] = module.deadline()
        cloud["calls"].clear()
        return module, runner.ensure(module)

    return run_


def calls(cloud, *kinds):
    return [c for c in cloud["calls"] if c[0] in kinds]


def test_create_waits_until_active_and_reports_the_cluster(cloud, run):
    _module, result = run()
    assert result["changed"] is True and result["actions"] == [{"action": "create_cluster"}]
    assert calls(cloud, "apply", "wait") == [("apply", "create_cluster", None), ("wait", "create_cluster")]
    cluster = result["cluster"]
    assert (cluster["status"], cluster["version"], cluster["endpoint"]) == ("ACTIVE", "1.31", "https://203.0.113.10")
    assert [(p["name"], p["count"], p["status"]) for p in cluster["node_pools"]] == [("system", 2, "ACTIVE")]
    assert result["diff"]["before"] == {} and result["diff"]["after"]["node_pools"][0]["version"] == "1.31"


def test_create_without_wait_returns_once_the_cloud_accepted_it(cloud, run):
    module, result = run(wait=False, kubeconfig={"path": "/nonexistent/dir/kubeconfig"})
    assert calls(cloud, "apply", "wait") == [("apply", "create_cluster", None)]
    assert result["changed"] is True and result["cluster"]["status"] == "CREATING"
    # Not ACTIVE yet: the kubeconfig is not written (and would fail in that directory), the user is told.
    assert module.warnings == ["cluster fabric-gcp is CREATING: kubeconfig not written yet"]
    assert calls(cloud, "kube_user") == []


def test_without_wait_every_step_but_the_last_is_still_waited_for(cloud, run):
    run()
    _module, result = run(kubernetes_version="1.33", wait=False)
    assert calls(cloud, "apply", "wait") == [
        ("apply", "upgrade_control_plane", "1.32"),
        ("wait", "upgrade_control_plane"),
        ("apply", "upgrade_node_pool", "1.32"),
        ("wait", "upgrade_node_pool"),
        ("apply", "upgrade_control_plane", "1.33"),
        ("wait", "upgrade_control_plane"),
        ("apply", "upgrade_node_pool", "1.33"),
    ]
    assert result["cluster"]["status"] == "UPDATING" and result["cluster"]["version"] == "1.33"


def test_a_converged_cluster_changes_nothing_and_only_reads(cloud, run):
    run()
    _module, result = run()
    assert result["changed"] is False and result["actions"] == []
    assert calls(cloud, "apply", "wait", "kube_user") == []
    assert [c[0] for c in cloud["calls"]] == ["locations", "read"]


def test_check_mode_predicts_the_actions_and_writes_nothing(cloud, run, tmp_path):
    path = tmp_path / "kubeconfig"
    _module, predicted = run(check_mode=True, kubeconfig={"path": str(path)})
    assert predicted["changed"] is True and predicted["actions"] == [{"action": "create_cluster"}]
    assert predicted["cluster"] == {}  # as it is now: absent
    assert cloud["cluster"] is None and calls(cloud, "apply", "wait", "kube_user") == []
    assert not path.exists()
    _module, applied = run(kubeconfig={"path": str(path)})
    assert applied["actions"] == predicted["actions"]
    _module, scale = run(check_mode=True, node_pools=[{"name": "system", "count": 4}])
    assert scale["actions"] == [{"action": "update_node_pool", "pool": "system", "changes": {"count": 4}}]
    assert scale["diff"]["after"]["node_pools"][0]["count"] == 4 and cloud["cluster"]["node_pools"][0]["count"] == 2
    assert calls(cloud, "apply") == []


def test_kubeconfig_is_a_change_only_when_the_entry_really_changes(cloud, run, tmp_path):
    path = tmp_path / "kubeconfig"
    _module, first = run(kubeconfig={"path": str(path)})
    assert first["changed"] is True and first["kube_context"] == "gcp-us-central1-fabric-gcp"
    written = yaml.safe_load(path.read_text())
    assert written["users"][0]["user"] == {"token": "ya29.token-1"}
    assert written["clusters"][0]["cluster"]["server"] == "https://203.0.113.10"
    # A rerun refreshes the token (rewrites the file) but that is no change.
    _module, again = run(kubeconfig={"path": str(path)})
    assert again["changed"] is False and again["actions"] == []
    assert yaml.safe_load(path.read_text())["users"][0]["user"] == {"token": "ya29.token-2"}
    # In check mode the existing, identical entry is no change either.
    _module, check = run(check_mode=True, kubeconfig={"path": str(path)})
    assert check["changed"] is False
    # A new endpoint is: the entry is rewritten and reported.
    cloud["cluster"]["endpoint"] = "https://203.0.113.99"
    _module, check = run(check_mode=True, kubeconfig={"path": str(path)})
    assert check["changed"] is True
    _module, moved = run(kubeconfig={"path": str(path)})
    assert moved["changed"] is True and moved["actions"] == []
    assert yaml.safe_load(path.read_text())["clusters"][0]["cluster"]["server"] == "https://203.0.113.99"
    # exec mode writes the credential plugin instead of a token.
    _module, execs = run(kubeconfig={"path": str(path), "auth": "exec"})
    assert execs["changed"] is True
    assert yaml.safe_load(path.read_text())["users"][0]["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"


def test_absent_deletes_the_cluster_and_its_context(cloud, run, tmp_path):
    path = tmp_path / "kubeconfig"
    run(kubeconfig={"path": str(path)})
    _module, check = run(check_mode=True, state="absent", kubeconfig={"path": str(path)})
    assert check["actions"] == [{"action": "delete_cluster"}] and cloud["cluster"] is not None
    assert yaml.safe_load(path.read_text())["contexts"]
    _module, result = run(state="absent", kubeconfig={"path": str(path)})
    assert result["changed"] is True and result["cluster"] == {}
    assert calls(cloud, "apply", "wait") == [("apply", "delete_cluster", None), ("wait", "delete_cluster")]
    assert yaml.safe_load(path.read_text())["contexts"] == []
    _module, again = run(state="absent", kubeconfig={"path": str(path)})
    assert again["changed"] is False and calls(cloud, "apply") == []


def test_a_failed_cluster_fails_with_the_clouds_message_before_any_write(cloud, run):
    run()
    cloud["cluster"].update(status="FAILED", provider_status="ERROR", status_message="quota exceeded")
    with pytest.raises(ResourceFailedError) as error:
        run(node_pools=[{"name": "system", "count": 3}])
    text = error.value.describe()
    assert "the cluster is in state ERROR: quota exceeded" in text and "state: absent" in text
    assert calls(cloud, "apply") == []


def test_a_cluster_still_changing_is_waited_for_before_planning(cloud, run):
    run()
    cloud["cluster"]["status"] = "UPDATING"
    cloud["settle_after"] = 3  # the third read finds it ACTIVE
    _module, result = run(node_pools=[{"name": "system", "count": 3}])
    assert [c[0] for c in cloud["calls"]][:4] == ["locations", "read", "read", "read"]
    assert result["actions"] == [{"action": "update_node_pool", "pool": "system", "changes": {"count": 3}}]
    # Check mode and wait=false do not wait: they plan on what the cloud reports now.
    cloud["cluster"]["status"] = "UPDATING"
    cloud["settle_after"] = 3
    _module, result = run(check_mode=True, node_pools=[{"name": "system", "count": 4}])
    assert [c[0] for c in cloud["calls"]] == ["locations", "read"]
    _module, result = run(wait=False, node_pools=[{"name": "system", "count": 4}])
    assert [c[0] for c in cloud["calls"]] == ["locations", "read", "apply", "read"]


def test_a_network_from_a_check_mode_run_is_refused_outside_check_mode(cloud, run):
    pending = {"id": "net", "subnet_ids": [runner.PENDING_ID]}
    with pytest.raises(ValidationError) as error:
        run(network=pending)
    assert error.value.field == "network"
    assert cloud["calls"] == []
    _module, result = run(check_mode=True, network=pending)
    assert result["actions"] == [{"action": "create_cluster"}]


def test_return_kubeconfig_and_wait_for_nodes_use_one_entry(cloud, run, tmp_path, monkeypatch):
    seen = []

    def wait_ready(kubeconfig, expected, retrier, deadline, *, cloud, name):
        seen.append((kubeconfig["users"][0]["user"], expected, cloud, name))
        return expected, expected

    monkeypatch.setattr(nodes, "wait_ready", wait_ready)
    _module, result = run(
        node_pools=[{"name": "system", "count": 2}, {"name": "batch", "count": 1}],
        kubeconfig={"path": str(tmp_path / "kubeconfig")},
        return_kubeconfig=True,
        wait_for_nodes=True,
        no_log=True,  # returned credentials need a no_log task
    )
    assert result["nodes_ready"] == 3
    assert seen == [({"token": "ya29.token-1"}, 3, "gcp", "fabric-gcp")]
    assert result["kubeconfig"]["users"][0]["user"] == {"token": "ya29.token-1"}
    assert len(calls(cloud, "kube_user")) == 1  # the written entry is the returned and waited-on one
    assert "_entry" not in result
    # Without a kubeconfig file, one entry is still made for the return value.
    _module, result = run(return_kubeconfig=True, no_log=True)
    assert result["kubeconfig"]["current-context"] == "gcp-us-central1-fabric-gcp"
    assert "nodes_ready" not in result
