# -*- coding: utf-8 -*-
"""The collection's action plugin: own-cloud credentials only, and none of them on disk.

The end-to-end tests run a real ``ansible-playbook`` whose three hosts (aws, gcp, azure) share
one ``module_defaults`` group with every cloud's credentials; the cloud endpoints are a loopback
server that accepts connections and never answers, so the modules wait until the run is killed
with SIGKILL (the whole process group: nothing gets to clean up).
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.multicloud.fabric.plugins.plugin_utils import module_action
from ansible_collections.multicloud.fabric.plugins.plugin_utils.module_action import (
    clouds_of,
    own_credentials,
    pipelining_blocker,
)

ROOT = Path(__file__).resolve().parents[4]
COLLECTIONS = ROOT / ".collections"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSANDBOXSECRETKEY"
AZURE_SECRET = "azure-client-secret-Q8~sandbox.value_2T"


# --------------------------------------------------------------------------- pure helpers


def test_clouds_of_reads_one_cloud_a_list_or_a_comma_string():
    assert clouds_of({"cloud": "gcp"}, "cloud") == {"gcp"}
    assert clouds_of({"clouds": ["aws", "azure"]}, "clouds") == {"aws", "azure"}
    assert clouds_of({"clouds": "aws, gcp"}, "clouds") == {"aws", "gcp"}
    assert clouds_of({}, "cloud") == set()


def test_own_credentials_keeps_only_the_tasks_cloud():
    args = {
        "cloud": "gcp",
        "name": "n",
        "aws_access_key": "AKIA",
        "aws_secret_key": AWS_SECRET,
        "gcp_project": "p",
        "gcp_service_account_contents": "{}",
        "azure_client_secret": AZURE_SECRET,
        "azure_base_url": "https://management.azure.com",
    }
    assert own_credentials(args, {"gcp"}) == {
        "cloud": "gcp",
        "name": "n",
        "gcp_project": "p",
        "gcp_service_account_contents": "{}",
    }
    both = own_credentials(args, {"aws", "azure"})
    assert both["aws_secret_key"] == AWS_SECRET and both["azure_client_secret"] == AZURE_SECRET
    assert "gcp_project" not in both and "gcp_service_account_contents" not in both


def test_own_credentials_of_an_unknown_cloud_keeps_no_credentials():
    args = {"cloud": "mars", "aws_secret_key": AWS_SECRET, "name": "n"}
    assert own_credentials(args, {"mars"}) == {"cloud": "mars", "name": "n"}


class FakeBecome:
    def __init__(self, name, pipelining=None):
        self.name = name
        if pipelining is not None:
            self.pipelining = pipelining


class FakeConnection:
    def __init__(self, transport="local", has_pipelining=True, always=False, become=None):
        self.transport, self.has_pipelining, self.always_pipeline_modules = transport, has_pipelining, always
        self.become = become


def test_pipelining_is_used_whenever_the_connection_can_pipe():
    assert pipelining_blocker(FakeConnection()) is None
    assert pipelining_blocker(FakeConnection(become=FakeBecome("sudo"))) is None
    assert pipelining_blocker(FakeConnection(transport="winrm", has_pipelining=False, always=True)) is None


def test_what_keeps_a_module_from_being_piped_is_named(monkeypatch):
    assert "async" in pipelining_blocker(FakeConnection(), wrap_async=True)
    assert "paramiko" in pipelining_blocker(FakeConnection(transport="paramiko", has_pipelining=False))
    assert "su " in pipelining_blocker(FakeConnection(become=FakeBecome("su")))
    assert "doas" in pipelining_blocker(FakeConnection(become=FakeBecome("doas", pipelining=False)))
    monkeypatch.setattr(module_action.C, "DEFAULT_KEEP_REMOTE_FILES", True)
    assert "ANSIBLE_KEEP_REMOTE_FILES" in pipelining_blocker(FakeConnection())


# --------------------------------------------------------------------------- a killed run


class SilentServer:
    """A loopback TCP server that accepts connections, reads and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.clients = []
        self.requests = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                client = self.sock.accept()[0]
            except OSError:
                return
            self.clients.append(client)
            threading.Thread(target=self._read, args=(client,), daemon=True).start()

    def _read(self, client):
        try:
            data = client.recv(65536)
        except OSError:
            return
        if data:
            self.requests.append(data)

    def close(self):
        self.sock.close()
        for client in self.clients:
            client.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


def _gcp_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


PLAYBOOK = """
- name: Networks of every cloud
  hosts: clusters
  gather_facts: false
  module_defaults:
    group/multicloud.fabric.mc: "{{ provider_options }}"
  tasks:
    - name: Network
      multicloud.fabric.mc_network:
        cloud: "{{ mc_cloud }}"
        region: "{{ mc_region }}"
        name: interrupted
        cidr: "{{ cidr }}"
        subnet_count: 1
        subnet_prefix: 24
        azure:
          resource_group: interrupted
        wait_timeout: 120
"""


def _write_run(tmp_path, port):
    endpoint = f"http://127.0.0.1:{port}"
    private_key = _gcp_key()
    service_account = {
        "type": "service_account",
        "project_id": "fabric-sandbox",
        "private_key_id": "1",
        "private_key": private_key,
        "client_email": "fabric@fabric-sandbox.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": f"{endpoint}/token",
    }
    provider = {
        "aws_access_key": "AKIASANDBOXACCESSKEY",
        "aws_secret_key": AWS_SECRET,
        "aws_endpoint_url": endpoint,
        "gcp_project": "fabric-sandbox",
        "gcp_service_account_contents": json.dumps(service_account),
        "gcp_api_endpoint": endpoint,
        "azure_subscription_id": "00000000-0000-0000-0000-000000000001",
        "azure_tenant_id": "00000000-0000-0000-0000-000000000002",
        "azure_client_id": "00000000-0000-0000-0000-000000000003",
        "azure_client_secret": AZURE_SECRET,
        "azure_auth_source": "service_principal",
        "azure_base_url": endpoint,
        "azure_authority_host": endpoint,
    }
    python = sys.executable
    inventory = {
        "all": {
            "children": {
                "clusters": {
                    "hosts": {
                        "fabric-aws": {"mc_cloud": "aws", "mc_region": "us-east-1", "cidr": "10.10.0.0/16"},
                        "fabric-gcp": {"mc_cloud": "gcp", "mc_region": "europe-west1", "cidr": "10.20.0.0/16"},
                        "fabric-azure": {"mc_cloud": "azure", "mc_region": "eastus", "cidr": "10.30.0.0/16"},
                    },
                    "vars": {
                        "ansible_connection": "local",
                        "ansible_python_interpreter": python,
                        "provider_options": provider,
                    },
                }
            }
        }
    }
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    # Distinctive lines of the key: they appear verbatim however the JSON around them is escaped.
    key_lines = [line for line in private_key.splitlines() if line and not line.startswith("-----")]
    return {"aws secret key": AWS_SECRET, "azure client secret": AZURE_SECRET, "gcp private key": key_lines[5]}


def _run_and_kill(tmp_path, server, extra_env=None, wait_for=1, wait_output=None):
    """Run the play until ``wait_for`` requests reached ``server`` (and ``wait_output`` is in its
    output: warnings reach the output asynchronously), then kill it (SIGKILL: nothing gets to clean up)."""
    temp_dirs = {name: tmp_path / name for name in ("local", "remote", "system")}
    for path in temp_dirs.values():
        path.mkdir()
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
            "ANSIBLE_LOCAL_TEMP": str(temp_dirs["local"]),
            "ANSIBLE_REMOTE_TMP": str(temp_dirs["remote"]),
            "TMPDIR": str(temp_dirs["system"]),
            "ANSIBLE_CONFIG": str(tmp_path / "none.cfg"),  # defaults: no pipelining configured
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORKS": "3",
        }
    )
    for name in list(env):
        if name.startswith(("AWS_", "AZURE_", "GCP_", "GOOGLE_")):
            del env[name]
    env.update(extra_env or {})
    playbook = Path(sys.executable).with_name("ansible-playbook")
    with open(tmp_path / "run.log", "wb") as log:
        proc = subprocess.Popen(
            [str(playbook), "-i", str(tmp_path / "inventory.json"), str(tmp_path / "play.yml")],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 90
            while proc.poll() is None and time.monotonic() < deadline:
                seen = (tmp_path / "run.log").read_text(errors="replace")
                if len(server.requests) >= wait_for and (wait_output is None or wait_output in seen):
                    break
                time.sleep(0.2)
            time.sleep(1.0)  # every module is waiting on the silent endpoint now
            running = proc.poll() is None
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    output = (tmp_path / "run.log").read_text(errors="replace")
    assert running, f"the run ended before it was killed:\n{output}"
    assert len(server.requests) >= wait_for, f"no module reached the cloud endpoint:\n{output}"
    return temp_dirs, output


def _files_holding(directory, needle):
    found = []
    for path in directory.rglob("*"):
        if path.is_file() and needle.encode() in path.read_bytes():
            found.append(str(path.relative_to(directory)))
    return found


def test_a_killed_run_leaves_no_credential_in_the_temporary_directories(tmp_path, silent_server):
    secrets = _write_run(tmp_path, silent_server.port)
    temp_dirs, output = _run_and_kill(tmp_path, silent_server, wait_for=2)
    leaks = {
        f"{what} in {where}": files
        for what, secret in secrets.items()
        for where, directory in temp_dirs.items()
        if (files := _files_holding(directory, secret))
    }
    assert leaks == {}
    for secret in secrets.values():
        assert secret not in output


def test_each_module_receives_only_its_own_clouds_credentials(tmp_path, silent_server):
    # Keeping the remote files is the one way to see the arguments a module really received.
    secrets = _write_run(tmp_path, silent_server.port)
    warning = "are written to a file under the remote temporary directory"
    extra_env = {"ANSIBLE_KEEP_REMOTE_FILES": "1"}
    temp_dirs, output = _run_and_kill(tmp_path, silent_server, extra_env, wait_for=2, wait_output=warning)
    assert warning in output
    modules = sorted(temp_dirs["remote"].rglob("AnsiballZ_mc_network.py"))
    assert len(modules) >= 2, output
    by_cloud = {}
    for module in modules:
        text = module.read_text()
        cloud = next(c for c in ("aws", "gcp", "azure") if f'"cloud": "{c}"' in text or f"'cloud': '{c}'" in text)
        by_cloud[cloud] = {what for what, secret in secrets.items() if secret in text}
    own = {"aws": {"aws secret key"}, "gcp": {"gcp private key"}, "azure": {"azure client secret"}}
    assert by_cloud == {cloud: own[cloud] for cloud in by_cloud}


def test_every_module_runs_through_the_piping_action():
    """A module without its action plugin would be written to the remote temporary directory with
    every cloud's credentials in its arguments."""
    plugins = pathlib.Path(__file__).resolve().parents[4] / "plugins"
    modules = {p.stem for p in (plugins / "modules").glob("mc_*.py")}
    actions = {p.stem for p in (plugins / "action").glob("mc_*.py")}
    assert modules and modules == actions
