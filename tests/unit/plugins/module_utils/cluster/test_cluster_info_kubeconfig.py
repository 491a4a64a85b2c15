"""mc_cluster_info's kubeconfig output: a fresh file for long runs, and a usable returned kubeconfig."""

from __future__ import annotations

import contextlib
import json

import pytest
import yaml
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.multicloud.fabric.plugins.module_utils.cluster import runner
from ansible_collections.multicloud.fabric.plugins.module_utils.common import clouds
from ansible_collections.multicloud.fabric.plugins.module_utils.common.diff import MASK
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError
from ansible_collections.multicloud.fabric.plugins.module_utils.common.module import FabricModule, run
from ansible_collections.multicloud.fabric.plugins.modules import mc_cluster_info

try:  # ansible-core >= 2.19
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.17 / 2.18

    @contextlib.contextmanager
    def patch_module_args(args):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved


EXISTING = [
    {"cloud": "aws", "region": "us-east-1", "name": "eks-1", "status": "ACTIVE"},
    {"cloud": "aws", "region": "us-east-1", "name": "eks-new", "status": "CREATING"},
]


class World:
    """The fake cloud: clusters, the token each kube_user call mints, and every call made."""

    def __init__(self):
        self.calls = []
        self.minted = 0

    def connect(self, cloud, params, retrier, region=None):
        self.calls.append(("connect", cloud, region))
        return self

    def clusters(self, cloud, conn):
        return self

    def locations(self):
        self.calls.append(("locations",))
        return {"us-east-1": []}

    def list(self, region=None, provider=None):
        self.calls.append(("list", region))
        return [
            dict(c, endpoint=f"https://{c['name']}.example", ca_data="Q0E=", node_pools=[])
            for c in EXISTING
            if c["region"] == region
        ]

    def read(self, current):
        self.calls.append(("read", current["name"]))
        return dict(current, ca_data="UkVBRA==")

    def kube_user(self, current, mode="token"):
        self.minted += 1
        return {"token": f"k8s-aws-v1.minted-{self.minted}"}


@pytest.fixture
def world(monkeypatch):
    fake = World()
    monkeypatch.setattr(clouds, "connect", fake.connect)
    monkeypatch.setattr(clouds, "clusters", fake.clusters)
    return fake


class Module:
    def __init__(self, check_mode=False, no_log=False, **params):
        self.check_mode, self.no_log = check_mode, no_log
        self.params = {
            "clouds": ["aws"],
            "regions": ["us-east-1"],
            "name": None,
            "projects": None,
            "resource_groups": None,
            "return_kubeconfig": False,
            "kubeconfig_auth": "token",
            "kubeconfig_path": None,
            **params,
        }

    def retrier(self, cloud):
        return None


def users(path):
    return {u["name"]: u["user"]["token"] for u in yaml.safe_load(path.read_text())["users"]}


def test_kubeconfig_path_gets_a_fresh_entry_of_every_active_cluster(world, tmp_path):
    path = tmp_path / "kubeconfig"
    first = runner.info(Module(kubeconfig_path=str(path)))
    assert first["changed"] is True and first["kubeconfig_path"] == str(path)
    active, creating = first["clusters"]
    assert active["kube_context"] == "aws-us-east-1-eks-1" and "kube_context" not in creating
    assert users(path) == {"aws-us-east-1-eks-1": "k8s-aws-v1.minted-1"}
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert "kubeconfig" not in active, "credentials stay in the file unless return_kubeconfig"

    # A later step of a long run: the same call replaces the expired token; that is no change.
    again = runner.info(Module(kubeconfig_path=str(path)))
    assert again["changed"] is False
    assert users(path) == {"aws-us-east-1-eks-1": "k8s-aws-v1.minted-2"}


def test_check_mode_writes_no_kubeconfig_and_predicts_the_change(world, tmp_path):
    path = tmp_path / "kubeconfig"
    result = runner.info(Module(check_mode=True, kubeconfig_path=str(path)))
    assert result["changed"] is True and not path.exists()


def test_return_kubeconfig_needs_a_no_log_task_and_fails_before_any_call(world):
    with pytest.raises(ValidationError) as error:
        runner.info(Module(return_kubeconfig=True))
    assert error.value.field == "return_kubeconfig" and "no_log" in str(error.value)
    assert world.calls == []


def test_return_kubeconfig_on_a_no_log_task_is_usable(world, capsys):
    """Run through the module wrapper as the real module does: the kubeconfig comes back with its
    token, not the mask, when the task is no_log."""
    args = {"clouds": ["aws"], "regions": ["us-east-1"], "return_kubeconfig": True, "_ansible_no_log": True}
    with patch_module_args(args), pytest.raises(SystemExit):
        run(FabricModule(supports_check_mode=True, **mc_cluster_info.module_spec()), runner.info)
    out = json.loads(capsys.readouterr().out)
    kubeconfig = out["clusters"][0]["kubeconfig"]
    assert kubeconfig != MASK
    assert kubeconfig["users"][0]["user"]["token"] == "k8s-aws-v1.minted-1"
    assert kubeconfig["clusters"][0]["cluster"]["server"] == "https://eks-1.example"
    assert kubeconfig["contexts"][0]["name"] == "aws-us-east-1-eks-1"


def test_returned_kubeconfig_without_no_log_fails_naming_the_option(world, capsys):
    args = {"clouds": ["aws"], "regions": ["us-east-1"], "return_kubeconfig": True}
    with patch_module_args(args), pytest.raises(SystemExit) as done:
        run(FabricModule(supports_check_mode=True, **mc_cluster_info.module_spec()), runner.info)
    out = json.loads(capsys.readouterr().out)
    assert done.value.code == 1 and out["error"]["field"] == "return_kubeconfig"
    assert "minted" not in json.dumps(out) and world.calls == []


def test_mc_cluster_return_kubeconfig_needs_a_no_log_task_too(world):
    module = Module(return_kubeconfig=True, cloud="aws", name="eks-1", region="us-east-1", state="present")
    with pytest.raises(ValidationError) as error:
        runner.ensure(module)
    assert error.value.field == "return_kubeconfig"
    assert world.calls == []


def test_a_cluster_listed_without_its_ca_gets_it_read_for_the_entry(world, tmp_path, monkeypatch):
    """AKS lists clusters without their CA: the entry written must still trust the API server."""
    listed = world.list
    monkeypatch.setattr(
        world, "list", lambda region=None, provider=None: [dict(c, ca_data=None) for c in listed(region, provider)]
    )
    path = tmp_path / "kubeconfig"
    runner.info(Module(kubeconfig_path=str(path)))
    written = yaml.safe_load(path.read_text())
    assert written["clusters"][0]["cluster"]["certificate-authority-data"] == "UkVBRA=="
    assert ("read", "eks-1") in world.calls and ("read", "eks-new") not in world.calls
