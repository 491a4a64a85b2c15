# -*- coding: utf-8 -*-
"""Collection metadata stays consistent as modules and dependencies are added."""

from __future__ import annotations

import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load(path):
    return yaml.safe_load((ROOT / path).read_text())


def test_every_module_is_in_the_mc_action_group():
    modules = {p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__"}
    group = load("meta/runtime.yml")["action_groups"]["mc"] or []
    assert sorted(group) == sorted(modules), "meta/runtime.yml action_groups.mc must list exactly the modules"


def test_requires_ansible():
    assert load("meta/runtime.yml")["requires_ansible"] == ">=2.17.0"


def test_galaxy_metadata():
    galaxy = load("galaxy.yml")
    assert (galaxy["namespace"], galaxy["name"]) == ("multicloud", "fabric")
    assert re.fullmatch(r"\d+\.\d+\.\d+", galaxy["version"])
    for collection in ("kubernetes.core", "community.crypto"):
        assert galaxy["dependencies"][collection].startswith(">="), collection


def test_python_requirements_have_lower_bounds_and_no_pins():
    for raw in (ROOT / "requirements.txt").read_text().splitlines():
        line = raw.split("#")[0].strip()
        if not line:
            continue
        assert ">=" in line, f"{line}: needs a lower bound"
        assert "==" not in line, f"{line}: no exact pins in runtime requirements"


def test_execution_environment_points_at_the_dependency_files():
    deps = load("meta/execution-environment.yml")["dependencies"]
    assert (ROOT / deps["python"]).is_file()
    assert (ROOT / deps["system"]).is_file()
