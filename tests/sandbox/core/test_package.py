"""The collection tarball and the mc-sandbox package, installed outside the checkout as a user would.

`make build` writes both; the tarball goes into a collections directory with ansible-galaxy and
the package into a fresh virtualenv with pip. From a directory that is not the checkout, without
its ansible.cfg, .venv or source tree, the sandbox role first fails saying how to install the
package, then (with it installed) brings a sandbox up and down.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import pathlib
import subprocess
import sys
import tarfile

import yaml
from mc_sandbox.core import procs
from support import ROOT

PLAY = r"""
- name: The sandbox role of the installed collection
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Run the role
      ansible.builtin.include_role:
        name: multicloud.fabric.sandbox
      vars:
        sandbox_state: "{{ state }}"

    - name: Up sets the endpoints
      ansible.builtin.assert:
        that:
          - sandbox_run.changed
          - sandbox_endpoints.aws.endpoint_url is match('http://127\.0\.0\.1:[0-9]+$')
          - sandbox_endpoints.provider_options.gcp_api_endpoint is match('https://127\.0\.0\.1:')
      when: state == 'up'
"""


def run(args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900, check=False, **kwargs)
    assert result.returncode == 0, f"{args}:\n{result.stdout[-8000:]}\n{result.stderr[-3000:]}"
    return result


def test_the_sandbox_role_works_from_the_published_collection_and_package(tmp_path):
    dist = tmp_path / "dist"
    run(["make", "-C", ROOT, "build", f"DIST={dist}"])
    (tarball,) = dist.glob("multicloud-fabric-*.tar.gz")
    (wheel,) = dist.glob("mc_sandbox-*.whl")
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "roles/sandbox/tasks/main.yml" in names
    assert not [n for n in names if n.startswith("sandbox/") or n.endswith(".whl")]

    collections = tmp_path / "collections"
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    run([*pip, f"ansible-core=={importlib.metadata.version('ansible-core')}"])

    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "play.yml").write_text(PLAY)
    state = tmp_path / "state"
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not p.startswith(str(ROOT)))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ANSIBLE_", "PYTHON", "VIRTUAL_ENV", "MC_SANDBOX_DIR"))
    }
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{path}",
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        MC_SANDBOX_DIR=str(state),
        MC_SANDBOX_TIME_FACTOR="0.01",
    )

    # outside the checkout, without its ansible.cfg (whose collections path holds the checkout)
    galaxy = venv / "bin" / "ansible-galaxy"
    run([galaxy, "collection", "install", "--no-deps", "-p", collections, tarball], cwd=tmp_path, env=env)
    assert (collections / "ansible_collections" / "multicloud" / "fabric" / "roles" / "sandbox").is_dir()

    def playbook(sandbox_state, check=True):
        # no inventory: the implicit localhost, whose Python is ansible-playbook's (the virtualenv)
        args = [venv / "bin" / "ansible-playbook", "play.yml"]
        args += ["-e", f"state={sandbox_state}"]
        if check:
            return run(args, cwd=work, env=env)
        return subprocess.run(
            [str(a) for a in args], cwd=work, env=env, capture_output=True, text=True, timeout=600, check=False
        )

    # the package absent: the role says how to get it, before running anything
    missing = playbook("up", check=False)
    assert missing.returncode != 0
    message = " ".join(missing.stdout.split())
    assert "msg" in message, missing.stdout + missing.stderr
    assert f"{venv / 'bin' / 'mc-sandbox'} is not an executable file" in message
    assert f"{python} -m pip install mc-sandbox" in message
    assert "make build" in message
    assert not state.exists()

    run([*pip, wheel])
    where = run([python, "-c", "import mc_sandbox; print(mc_sandbox.__file__)"], cwd=work, env=env).stdout
    assert pathlib.Path(where.strip()).is_relative_to(venv)

    pgid = None
    try:
        playbook("up")
        endpoints = yaml.safe_load((state / "endpoints.yml").read_text())
        assert endpoints["state_dir"] == str(state)
        daemon = json.loads((state / "daemon.json").read_text())
        pgid = daemon["pgid"]
        assert procs.group_members(pgid)
        command = (pathlib.Path("/proc") / str(daemon["pid"]) / "cmdline").read_bytes().split(b"\0")
        assert command[0].decode().startswith(str(venv)), command  # the installed package runs it
        playbook("down")
        assert procs.group_members(pgid) == []
        assert not (state / "endpoints.yml").exists()
    finally:
        if pgid is not None and procs.group_members(pgid):
            subprocess.run([venv / "bin" / "mc-sandbox", "down"], env=env, timeout=120, check=False)
