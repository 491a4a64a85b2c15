"""The admin API changes the sandbox only for who holds the admin token of endpoints.yml."""

from __future__ import annotations

import json

import pytest
import requests

CHANGES = [
    ("POST", "/faults", {"cloud": "aws", "operation": "*", "error_rate": 1.0, "statuses": [503]}),
    ("POST", "/faults/fail-create", {"cloud": "aws", "name": "*", "count": 0}),
    ("POST", "/faults/region-down", {"cloud": "aws", "region": "us-east-1"}),
    ("DELETE", "/faults", None),
    ("POST", "/reset", None),
    ("POST", "/shutdown", None),
]


def status(sandbox) -> dict:
    response = requests.get(sandbox["endpoints"]["admin_url"] + "/status", timeout=30)
    response.raise_for_status()
    return response.json()


@pytest.fixture
def a_fault(sandbox):
    """A rule put there with the token (by mc-sandbox), which a request without it must not clear."""
    sandbox["cli"]("fault", "add", "--cloud", "gcp", "--operation", "GetServerConfig", "--latency-ms", "1")
    yield status(sandbox)["faults"]
    sandbox["cli"]("fault", "clear")


def test_the_token_is_in_the_private_endpoints_file(sandbox):
    path = sandbox["state"] / "endpoints.yml"
    assert path.stat().st_mode & 0o077 == 0
    token = sandbox["endpoints"]["admin_token"]
    assert len(token) >= 32
    assert token not in (sandbox["state"] / "daemon.json").read_text()
    assert token not in json.dumps(status(sandbox))


def test_changes_without_the_token_are_refused_and_change_nothing(sandbox, a_fault):
    token = sandbox["endpoints"].get("admin_token", "")
    for method, path, body in CHANGES:
        for authorization in (None, "Bearer not-the-token", f"Basic {token}", token, f"Bearer {token}x"):
            headers = {"Authorization": authorization} if authorization is not None else {}
            response = requests.request(
                method, sandbox["endpoints"]["admin_url"] + path, json=body, headers=headers, timeout=30
            )
            what = f"{method} {path} with {authorization and authorization.split()[0]!r}"
            assert response.status_code == 401, what
            assert response.headers["WWW-Authenticate"] == "Bearer", what
            assert "admin_token" in response.json()["error"], what
            assert not token or token not in response.text, what
            after = status(sandbox)  # still running: not shut down
            assert after["running"] is True, what
            assert after["faults"] == a_fault, what


def test_mc_sandbox_sends_the_token(sandbox, a_fault):
    cli = sandbox["cli"]
    assert len(a_fault["rules"]) == 1
    cli("fault", "add", "--cloud", "aws", "--operation", "DescribeCluster", "--latency-ms", "1")
    assert len(status(sandbox)["faults"]["rules"]) == 2
    cli("fault", "clear")
    assert status(sandbox)["faults"]["rules"] == []
