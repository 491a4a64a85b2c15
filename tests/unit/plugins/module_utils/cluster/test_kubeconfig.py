"""One kubeconfig written by many hosts at once: nothing lost, nothing half-written, 0600."""

from __future__ import annotations

import multiprocessing
import os
import stat

import yaml

from ansible_collections.multicloud.fabric.plugins.module_utils.cluster import kubeconfig as kcfg


def cluster(name):
    return {"endpoint": f"https://{name}.example:443", "ca_data": "Q0E="}


def add(path, name, token="t0"):
    return kcfg.merge_file(str(path), kcfg.entry(cluster(name), {"token": token}, name))


def _writer(args):
    path, index = args
    for round_ in range(5):
        add(path, f"cluster-{index}", token=f"t{round_}")
    return index


def test_parallel_writers_lose_nothing(tmp_path):
    path = tmp_path / "out" / "kubeconfig"
    with multiprocessing.get_context("fork").Pool(6) as pool:
        assert sorted(pool.map(_writer, [(str(path), i) for i in range(12)])) == list(range(12))
    config = yaml.safe_load(path.read_text())
    names = sorted(c["name"] for c in config["contexts"])
    assert names == sorted(f"cluster-{i}" for i in range(12))
    assert len(config["users"]) == len(config["clusters"]) == 12
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".kubeconfig-")] == []


def test_rerun_is_no_change_and_refreshed_token_is_not_a_change(tmp_path):
    path = tmp_path / "kubeconfig"
    assert add(path, "a") is True
    assert add(path, "a") is False
    assert add(path, "a", token="fresh") is False
    assert yaml.safe_load(path.read_text())["users"][0]["user"]["token"] == "fresh"
    moved = kcfg.entry({"endpoint": "https://elsewhere", "ca_data": "Q0E="}, {"token": "x"}, "a")
    assert kcfg.merge_file(str(path), moved) is True


def test_existing_entries_and_current_context_are_kept(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "mine",
                "contexts": [{"name": "mine", "context": {}}],
            }
        )
    )
    add(path, "a")
    config = yaml.safe_load(path.read_text())
    assert config["current-context"] == "mine"
    assert [c["name"] for c in config["contexts"]] == ["mine", "a"]


def test_check_mode_predicts_without_writing(tmp_path):
    path = tmp_path / "kubeconfig"
    entry = kcfg.entry(cluster("a"), {"token": "t"}, "a")
    assert kcfg.merge_file(str(path), entry, check_mode=True) is True
    assert not path.exists()
    assert kcfg.has_context(str(path), "a", cluster("a")) is False
    add(path, "a")
    assert kcfg.has_context(str(path), "a", cluster("a")) is True
    assert kcfg.remove_file(str(path), "a", check_mode=True) is True
    assert kcfg.has_context(str(path), "a", cluster("a")) is True


def test_remove_context(tmp_path):
    path = tmp_path / "kubeconfig"
    add(path, "a")
    add(path, "b")
    assert kcfg.remove_file(str(path), "a") is True
    assert kcfg.remove_file(str(path), "a") is False
    config = yaml.safe_load(path.read_text())
    assert [c["name"] for c in config["contexts"]] == ["b"] and config["current-context"] == "b"
    assert kcfg.remove_file(str(tmp_path / "missing"), "a") is False
