"""The multicloud.fabric.sandbox role and inventories/sandbox, through ansible-playbook."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

from support import ROOT

BIN = pathlib.Path(sys.executable).parent


def test_role_is_idempotent_and_inventory_reads_the_endpoints(sandbox):
    env = dict(sandbox["env"], ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PATH=f"{BIN}:{os.environ['PATH']}")
    result = subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "-v",
            "-i",
            str(ROOT / "inventories" / "sandbox"),
            str(ROOT / "tests" / "sandbox" / "core" / "playbooks" / "sandbox_role.yml"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "changed=0" in result.stdout
    assert sandbox["endpoints"]["aws"]["secret_key"] not in result.stdout + result.stderr
