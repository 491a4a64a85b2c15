"""Fixtures of the sandbox's tests: one real sandbox for every test module that needs it
(starting one takes seconds), and a seeded fault manager plus a fake runtime for the fast ones."""

from __future__ import annotations

import json
import os
import pathlib
import random
import subprocess
import sys

import pytest
import yaml
from mc_sandbox.core import procs
from mc_sandbox.core.faults import FaultManager
from support import FakeRuntime

MC_SANDBOX = pathlib.Path(sys.executable).parent / "mc-sandbox"
TIME_FACTOR = "0.01"


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    """A running sandbox: its state dir, endpoints and a `cli(*args)` bound to it.

    Torn down with `mc-sandbox down`, which must leave no process of the sandbox behind.
    """
    state = tmp_path_factory.mktemp("sandbox")
    env = dict(os.environ, MC_SANDBOX_DIR=str(state), MC_SANDBOX_TIME_FACTOR=TIME_FACTOR)

    def cli(*args, check=True):
        result = subprocess.run(
            [str(MC_SANDBOX), *args], env=env, capture_output=True, text=True, timeout=1800, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"mc-sandbox {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    cli("up", "--json")
    pgid = json.loads((state / "daemon.json").read_text())["pgid"]
    try:
        yield {
            "state": state,
            "env": env,
            "cli": cli,
            "endpoints": yaml.safe_load((state / "endpoints.yml").read_text()),
        }
    finally:
        result = cli("down", "--json", check=False)
        assert result.returncode == 0, result.stderr
        assert procs.group_members(pgid) == [], "mc-sandbox down left processes behind"
        assert not (state / "endpoints.yml").exists()


@pytest.fixture
def faults():
    """Seeded, so error-rate tests see the same faults every run."""
    return FaultManager(rng=random.Random(20240601))


@pytest.fixture
def runtime():
    return FakeRuntime()
