# -*- coding: utf-8 -*-
"""The Google Cloud connection without a network: credentials, project, sessions, errors, helpers."""

from __future__ import annotations

import json

import google.auth
import google.auth.exceptions
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.api_core import exceptions as gexc
from google.cloud import compute_v1, container_v1
from google.oauth2 import credentials as oauth2_credentials
from google.oauth2 import service_account

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Deadline, Retrier, RetryPolicy
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp import client as gcp_client
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp.client import (
    Connection,
    compute_operation_error,
    compute_operation_state,
    resource_path,
    same_resource,
    self_link,
    to_dict,
)

EMPTY = {name: None for name in ("gcp_project", "gcp_service_account_file", "gcp_service_account_contents")}
EMPTY.update(gcp_access_token=None, gcp_scopes=None, gcp_api_endpoint=None, gcp_ca_bundle=None)


@pytest.fixture(scope="module")
def key_info():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": "key-project",
        "private_key_id": "abc",
        "private_key": pem,
        "client_email": "robot@key-project.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.example.test/token",
    }


def retrier(clock):
    return Retrier("gcp", policy=RetryPolicy(timeout=5, base_delay=0.1, max_delay=0.5), clock=clock, sleep=clock.sleep)


def connect(clock, **params):
    return Connection(dict(EMPTY, **params), retrier(clock))


def test_access_token_credentials_need_a_project(clock):
    conn = connect(clock, gcp_access_token="ya29.token-value")
    assert isinstance(conn.credentials, oauth2_credentials.Credentials)
    assert conn.access_token() == "ya29.token-value"
    with pytest.raises(E.ValidationError) as info:
        assert conn.project
    assert info.value.field == "gcp_project"
    assert "GCP_PROJECT" in info.value.describe()
    assert "GOOGLE_CLOUD_PROJECT" in info.value.describe()
    assert connect(clock, gcp_access_token="x", gcp_project="p1").project == "p1"


def test_service_account_contents_and_file(clock, key_info, tmp_path):
    conn = connect(clock, gcp_service_account_contents=json.dumps(key_info))
    assert isinstance(conn.credentials, service_account.Credentials)
    assert conn.project == "key-project"
    assert conn.credentials.scopes == ["https://www.googleapis.com/auth/cloud-platform"]
    path = tmp_path / "key.json"
    path.write_text(json.dumps(key_info))
    conn = connect(clock, gcp_service_account_file=str(path), gcp_project="override", gcp_scopes=["s1"])
    assert conn.credentials.service_account_email == key_info["client_email"]
    assert conn.credentials.scopes == ["s1"]
    assert conn.project == "override"


def test_access_token_wins_over_files(clock, key_info):
    conn = connect(clock, gcp_access_token="tok", gcp_service_account_contents=json.dumps(key_info), gcp_project="p")
    assert isinstance(conn.credentials, oauth2_credentials.Credentials)


def test_bad_credentials_are_validation_errors_without_secrets(clock, key_info, tmp_path):
    with pytest.raises(E.ValidationError) as info:
        assert connect(clock, gcp_service_account_contents="{not json secret-material").credentials
    assert info.value.field == "gcp_service_account_contents"
    assert "secret-material" not in info.value.describe()

    broken = dict(key_info)
    del broken["client_email"]
    with pytest.raises(E.ValidationError) as info:
        assert connect(clock, gcp_service_account_contents=json.dumps(broken)).credentials
    assert "client_email" in info.value.describe()
    assert "PRIVATE KEY" not in info.value.describe()

    with pytest.raises(E.ValidationError) as info:
        assert connect(clock, gcp_service_account_file=str(tmp_path / "missing.json")).credentials
    assert info.value.field == "gcp_service_account_file"
    assert "missing.json" in info.value.describe()


def test_no_credentials_anywhere_names_the_options(clock, monkeypatch):
    def no_adc(scopes=None):
        raise google.auth.exceptions.DefaultCredentialsError("Your default credentials were not found.")

    monkeypatch.setattr(google.auth, "default", no_adc)
    with pytest.raises(E.ValidationError) as info:
        assert connect(clock).credentials
    text = info.value.describe()
    for name in ("gcp_access_token", "gcp_service_account_file", "GOOGLE_APPLICATION_CREDENTIALS", "GCP_ACCESS_TOKEN"):
        assert name in text


def test_default_credentials_give_their_project(clock, monkeypatch):
    token = oauth2_credentials.Credentials(token="t")
    monkeypatch.setattr(google.auth, "default", lambda scopes=None: (token, "adc-project"))
    conn = connect(clock)
    assert conn.credentials is token
    assert conn.project == "adc-project"


def test_missing_sdk_is_a_validation_error_naming_the_package(clock, monkeypatch):
    monkeypatch.setattr(gcp_client, "HAS_GOOGLE_AUTH", False)
    monkeypatch.setattr(gcp_client, "GOOGLE_AUTH_IMPORT_ERROR", ImportError("No module named 'google.auth'"))
    with pytest.raises(E.FabricError) as info:
        connect(clock)
    assert info.value.kind == E.VALIDATION
    assert "pip install google-auth" in info.value.describe()
    monkeypatch.setattr(gcp_client, "HAS_GOOGLE_AUTH", True)
    monkeypatch.setattr(gcp_client, "HAS_CONTAINER", False)
    conn = connect(clock, gcp_access_token="t", gcp_project="p")
    with pytest.raises(E.FabricError) as info:
        assert conn.container
    assert "google-cloud-container" in info.value.describe()


def test_ca_bundle_must_exist(clock, tmp_path):
    with pytest.raises(E.ValidationError) as info:
        connect(clock, gcp_ca_bundle=str(tmp_path / "nope.pem"))
    assert info.value.field == "gcp_ca_bundle"


def test_sessions_verify_with_the_bundle_and_never_retry(clock, tmp_path, monkeypatch):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    conn = connect(clock, gcp_access_token="t", gcp_project="p", gcp_ca_bundle=str(bundle))
    session = conn.session()
    adapter = session.get_adapter("https://example.test/")
    assert adapter.ca_bundle == str(bundle)
    assert adapter.max_retries.total == 0
    seen = {}

    def fake_send(self, request, **kwargs):
        seen.update(kwargs)
        raise requests.exceptions.ConnectionError("stop here")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", fake_send)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "elsewhere.pem"))
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get("https://example.test/", verify=False)
    assert seen["verify"] == str(bundle)


def test_clients_use_the_endpoint_and_hardened_sessions(clock, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    conn = connect(
        clock,
        gcp_access_token="t",
        gcp_project="p",
        gcp_api_endpoint="https://127.0.0.1:8443",
        gcp_ca_bundle=str(bundle),
    )
    for client in (conn.container, conn.networks, conn.subnetworks, conn.global_operations, conn.region_operations):
        transport = client.transport
        assert transport._host == "https://127.0.0.1:8443"
        assert transport._session.get_adapter("https://x/").ca_bundle == str(bundle)
        assert transport._session._auth_request.session.get_adapter("https://x/").ca_bundle == str(bundle)
    assert conn.container is conn.container


def test_rpc_turns_sdk_retries_off_and_types_errors(clock):
    conn = connect(clock, gcp_access_token="t", gcp_project="p")
    seen = {}

    def method(**kwargs):
        seen.update(kwargs)
        return "ok"

    assert conn.rpc(method, request={"name": "n"}, call="GetCluster") == "ok"
    assert seen == {"request": {"name": "n"}, "retry": None, "timeout": conn.request_timeout}

    def conflict(**kwargs):
        raise gexc.AlreadyExists("Already exists: projects/p/locations/l/clusters/c.")

    with pytest.raises(E.ConflictError) as info:
        conn.rpc(conflict, resource="cluster l/c", call="CreateCluster")
    assert (info.value.cloud, info.value.resource, info.value.call) == ("gcp", "cluster l/c", "CreateCluster")

    calls = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) < 3:
            raise gexc.ServiceUnavailable("try later")
        return "done"

    assert conn.rpc(flaky, call="GetCluster") == "done"
    assert len(calls) == 3


def test_rpc_list_reads_every_page_inside_the_retry(clock):
    conn = connect(clock, gcp_access_token="t", gcp_project="p")

    def pager(**kwargs):
        yield from ("a", "b")

    assert conn.rpc_list(pager, call="networks.list") == ["a", "b"]


def test_compute_operation_state_and_error():
    assert compute_operation_state({"status": "RUNNING"}) == "RUNNING"
    assert compute_operation_state({"status": "DONE"}) == "DONE"
    failed = {"status": "DONE", "error": {"errors": [{"code": "RESOURCE_IN_USE", "message": "in use"}]}}
    assert compute_operation_state(failed) == "FAILED"
    assert compute_operation_error(failed) == "RESOURCE_IN_USE: in use"
    http = {"status": "DONE", "http_error_status_code": 409, "http_error_message": "CONFLICT"}
    assert compute_operation_state(http) == "FAILED"
    assert compute_operation_error(http) == "409 CONFLICT"


def test_compute_operation_wait_asks_compute_to_wait_with_our_clients(clock):
    """operations.wait returns when the operation is done (or after about two minutes, RUNNING):
    the waiter calls it again until DONE, each call bounded by the deadline."""
    conn = connect(clock, gcp_access_token="t", gcp_project="p")
    conn.poll_interval = 0.5
    polls = []

    class Ops:
        def wait(self, **kwargs):
            polls.append(kwargs)
            return {"name": "op-1", "status": "DONE" if len(polls) >= 2 else "RUNNING"}

    conn._clients["region_operations"] = Ops()
    done = conn.wait_compute_operation(
        {"name": "op-1", "status": "RUNNING"}, project="p", region="r1", deadline=Deadline(30, clock)
    )
    assert done["status"] == "DONE" and len(polls) == 2
    assert polls[0]["region"] == "r1" and polls[0]["operation"] == "op-1" and polls[0]["retry"] is None
    assert 1.0 <= polls[0]["timeout"] <= 30  # never past the deadline

    class Failing:
        def wait(self, **kwargs):
            return {"name": "op-2", "status": "DONE", "error": {"errors": [{"message": "quota exceeded"}]}}

    conn._clients["global_operations"] = Failing()
    with pytest.raises(E.ResourceFailedError) as info:
        conn.wait_compute_operation({"name": "op-2"}, project="p", resource="network n")
    assert "quota exceeded" in info.value.describe()
    assert info.value.resource == "network n"


def test_links_and_paths():
    link = self_link("projects/p/global/networks/n")
    assert link == "https://www.googleapis.com/compute/v1/projects/p/global/networks/n"
    assert resource_path(link) == "projects/p/global/networks/n"
    assert resource_path("n") == "n"
    assert same_resource(link, "projects/p/global/networks/n")
    assert same_resource(link, "n")
    assert not same_resource(link, "projects/q/global/networks/n")
    assert not same_resource(link, None)


def test_to_dict_uses_proto_names_and_enum_names():
    cluster = container_v1.Cluster(name="c", status="RUNNING", resource_labels={"a": "b"})
    assert to_dict(cluster) == {"name": "c", "status": "RUNNING", "resource_labels": {"a": "b"}}
    assert to_dict(compute_v1.Operation(name="o", status="DONE")) == {"name": "o", "status": "DONE"}
    assert to_dict({"x": 1}) == {"x": 1}


def test_service_account_contents_may_be_a_mapping(clock, key_info):
    conn = connect(clock, gcp_service_account_contents=dict(key_info))
    assert conn.credentials.service_account_email == key_info["client_email"]


def _response(request, status, body):
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    response.request = request
    response.url = request.url
    return response


def test_locations_read_regions_list_over_rest_without_the_compute_sdk(clock, tmp_path, monkeypatch):
    """A GKE task checks its location with Compute regions.list; importing google-cloud-compute for
    that one read cost about a second, so the call goes through google-auth's session instead."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    conn = connect(
        clock, gcp_access_token="tok", gcp_project="p1", gcp_api_endpoint="127.0.0.1:8443", gcp_ca_bundle=str(bundle)
    )

    def no_compute_sdk(module):
        raise AssertionError(f"imported {module}")

    monkeypatch.setattr(gcp_client, "_compute_sdk", no_compute_sdk)
    pages = [
        (
            200,
            {
                "items": [
                    {
                        "name": "us-central1",
                        "zones": [
                            f"{gcp_client.COMPUTE_BASE}projects/p1/zones/us-central1-c",
                            f"{gcp_client.COMPUTE_BASE}projects/p1/zones/us-central1-a",
                        ],
                    }
                ],
                "nextPageToken": "t2",
            },
        ),
        (503, {"error": {"code": 503, "message": "backend unavailable", "status": "UNAVAILABLE"}}),
        (200, {"items": [{"name": "europe-west1", "zones": []}]}),
    ]
    seen = []

    def fake_send(self, request, **kwargs):
        seen.append((request.url, request.headers.get("Authorization"), kwargs["verify"], kwargs["timeout"]))
        status, body = pages.pop(0)
        return _response(request, status, body)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", fake_send)
    found = conn.locations()
    assert found == {"us-central1": ["us-central1-a", "us-central1-c"], "europe-west1": []}
    base = "https://127.0.0.1:8443/compute/v1/projects/p1/regions"
    # Every page is read; the page that got a 503 is read again under the retrier.
    assert [s[0] for s in seen] == [base, base + "?pageToken=t2", base + "?pageToken=t2"]
    assert seen[0][1:] == ("Bearer tok", str(bundle), conn.request_timeout)


def test_locations_errors_are_typed_and_name_the_call(clock, monkeypatch):
    conn = connect(clock, gcp_access_token="tok", gcp_project="p1")

    def forbidden(self, request, **kwargs):
        assert request.url == "https://compute.googleapis.com/compute/v1/projects/p1/regions"
        body = {
            "error": {
                "code": 403,
                "message": "Compute Engine API has not been used in project p1",
                "status": "PERMISSION_DENIED",
            }
        }
        return _response(request, 403, body)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", forbidden)
    with pytest.raises(E.PermissionDeniedError) as info:
        conn.locations()
    assert info.value.call == "regions.list" and info.value.resource == "regions of project p1"
    assert "Compute Engine API has not been used" in info.value.describe()


def test_locations_with_a_service_account_sign_their_own_jwt_like_the_sdk_clients(clock, key_info, monkeypatch):
    """No token request for the location check: like the SDK's clients, a self-signed JWT (a no-op
    rerun of a GKE task sends regions.list, GetCluster and the kubeconfig's one token refresh)."""
    conn = connect(clock, gcp_service_account_contents=json.dumps(key_info), gcp_project="p1")
    seen = []

    def fake_send(self, request, **kwargs):
        seen.append((request.method, request.url, request.headers.get("Authorization") or ""))
        return _response(request, 200, {"items": [{"name": "us-east1", "zones": []}]})

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", fake_send)
    assert conn.locations() == {"us-east1": []}
    assert [s[:2] for s in seen] == [("GET", "https://compute.googleapis.com/compute/v1/projects/p1/regions")]
    token = seen[0][2].removeprefix("Bearer ")
    assert google.auth.jwt.decode(token, verify=False)["iss"] == key_info["client_email"]
