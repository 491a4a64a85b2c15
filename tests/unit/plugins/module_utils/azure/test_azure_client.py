# -*- coding: utf-8 -*-
"""The Azure connection: credential choice, client settings, typed errors, LRO waiting (no network)."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential, DefaultAzureCredential
from azure.mgmt.containerservice import models as aks_models

from ansible_collections.multicloud.fabric.plugins.module_utils.azure import client as C
from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Deadline, Retrier, RetryPolicy

SECRET = "s3cr3t-value-never-shown"
SANDBOX = "https://127.0.0.1:8443"


def sp_params(**overrides):
    params = {
        "azure_subscription_id": "00000000-0000-0000-0000-000000000001",
        "azure_tenant_id": "11111111-1111-1111-1111-111111111111",
        "azure_client_id": "22222222-2222-2222-2222-222222222222",
        "azure_client_secret": SECRET,
        "azure_auth_source": "auto",
        "azure_base_url": "https://management.azure.com",
        "azure_authority_host": "https://login.microsoftonline.com",
        "azure_ca_bundle": None,
    }
    params.update(overrides)
    return params


def retrier(clock=None):
    kwargs = {"clock": clock, "sleep": clock.sleep} if clock else {}
    return Retrier("azure", policy=RetryPolicy(timeout=5, base_delay=0.1, max_delay=1), **kwargs)


# ------------------------------------------------------------------ credentials


@pytest.mark.parametrize(
    ("authority", "microsoft"),
    [
        ("https://login.microsoftonline.com", True),
        ("login.microsoftonline.com", True),
        ("https://login.microsoftonline.us/", True),
        ("login.chinacloudapi.cn", True),
        ("https://login.microsoftonline.de", True),
        (SANDBOX, False),
        ("https://adfs.local.azurestack.external/adfs", False),
        ("https://login.microsoftonline.com.evil.example", False),
    ],
)
def test_microsoft_authorities_are_recognised(authority, microsoft):
    assert C.is_microsoft_authority(authority) is microsoft


def test_auto_with_a_full_service_principal_uses_it():
    kind, kwargs = C.credential_settings(sp_params())
    assert kind == "service_principal"
    assert kwargs == {
        "tenant_id": "11111111-1111-1111-1111-111111111111",
        "client_id": "22222222-2222-2222-2222-222222222222",
        "client_secret": SECRET,
        "authority": "https://login.microsoftonline.com",
    }


def test_a_private_authority_turns_instance_discovery_off_and_the_ca_bundle_is_used(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    kind, kwargs = C.credential_settings(sp_params(azure_authority_host=SANDBOX + "/", azure_ca_bundle=str(ca)))
    assert kind == "service_principal"
    assert kwargs["authority"] == SANDBOX
    assert kwargs["disable_instance_discovery"] is True
    assert kwargs["connection_verify"] == str(ca)


def test_auto_without_a_full_service_principal_uses_the_default_chain():
    kind, kwargs = C.credential_settings(sp_params(azure_client_secret=None, azure_authority_host=SANDBOX))
    assert kind == "default"
    assert kwargs["exclude_interactive_browser_credential"] is True
    assert kwargs["managed_identity_client_id"] == "22222222-2222-2222-2222-222222222222"
    assert kwargs["authority"] == SANDBOX and kwargs["disable_instance_discovery"] is True


def test_service_principal_names_every_missing_option_and_its_variable():
    with pytest.raises(E.ValidationError) as info:
        C.credential_settings(
            sp_params(azure_auth_source="service_principal", azure_tenant_id=None, azure_client_secret="")
        )
    error = info.value
    assert error.field == "azure_tenant_id"
    text = error.describe()
    for name in ("azure_tenant_id", "azure_client_secret", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"):
        assert name in text
    assert "azure_client_id," not in text.split("What to do")[0]


def test_cli_and_managed_identity():
    assert C.credential_settings(sp_params(azure_auth_source="cli")) == (
        "cli",
        {"tenant_id": "11111111-1111-1111-1111-111111111111"},
    )
    assert C.credential_settings(sp_params(azure_auth_source="managed_identity", azure_client_id=None)) == (
        "managed_identity",
        {},
    )
    kind, kwargs = C.credential_settings(sp_params(azure_auth_source="managed_identity"))
    assert (kind, kwargs) == ("managed_identity", {"client_id": "22222222-2222-2222-2222-222222222222"})


def test_unknown_auth_source_and_missing_ca_bundle_are_refused(tmp_path):
    with pytest.raises(E.ValidationError) as info:
        C.credential_settings(sp_params(azure_auth_source="browser"))
    assert info.value.field == "azure_auth_source"
    with pytest.raises(E.ValidationError) as info:
        C.credential_settings(sp_params(azure_ca_bundle=str(tmp_path / "missing.pem")))
    assert info.value.field == "azure_ca_bundle" and "AZURE_CA_BUNDLE" in info.value.describe()


def test_client_settings_point_at_the_endpoint_with_its_scope_and_no_sdk_retries(tmp_path):
    assert C.client_settings(sp_params(), poll_interval=3) == {
        "base_url": "https://management.azure.com",
        "credential_scopes": ["https://management.azure.com/.default"],
        "retry_total": 0,
        "polling_interval": 3,
        "user_agent": "multicloud.fabric",
    }
    settings = C.client_settings(sp_params(azure_base_url=SANDBOX + "/", azure_ca_bundle=str(tmp_path)))
    assert settings["base_url"] == SANDBOX
    assert settings["credential_scopes"] == [SANDBOX + "/.default"]
    assert settings["connection_verify"] == str(tmp_path)


# ------------------------------------------------------------------ the connection


def test_missing_subscription_names_the_option_and_the_variable():
    with pytest.raises(E.ValidationError) as info:
        C.Connection(sp_params(azure_subscription_id=None), retrier())
    assert info.value.field == "azure_subscription_id"
    assert "AZURE_SUBSCRIPTION_ID" in info.value.describe()


def test_the_credential_is_built_lazily_and_the_secret_stays_out_of_reprs():
    conn = C.Connection(sp_params(azure_authority_host=SANDBOX), retrier(), region="westeurope")
    assert conn._credential is None
    assert isinstance(conn.credential, ClientSecretCredential)
    assert SECRET not in repr(conn)
    default = C.Connection(sp_params(azure_client_secret=None), retrier())
    assert isinstance(default.credential, DefaultAzureCredential)


def test_a_malformed_tenant_is_a_validation_error_without_the_secret():
    conn = C.Connection(sp_params(azure_tenant_id="not a tenant!"), retrier())
    with pytest.raises(E.ValidationError) as info:
        conn.credential  # noqa: B018
    assert info.value.field == "azure_tenant_id"
    assert SECRET not in info.value.describe()


def test_clients_are_built_once_with_the_shared_settings(monkeypatch):
    made = []

    class Recorder:
        def __init__(self, credential, subscription_id, **kwargs):
            made.append((credential, subscription_id, kwargs))

    monkeypatch.setattr(C, "ContainerServiceClient", Recorder)
    conn = C.Connection(sp_params(azure_base_url=SANDBOX), retrier(), poll_interval=0.5)
    first = conn.containerservice
    assert conn.containerservice is first
    ((credential, subscription, kwargs),) = made
    assert credential is conn.credential and subscription == "00000000-0000-0000-0000-000000000001"
    assert kwargs["base_url"] == SANDBOX and kwargs["retry_total"] == 0 and kwargs["polling_interval"] == 0.5


def test_missing_sdk_packages_are_named(monkeypatch):
    monkeypatch.setattr(C, "HAS_AZURE_IDENTITY", False)
    monkeypatch.setattr(C, "AZURE_IDENTITY_IMPORT_ERROR", ImportError("No module named 'azure.identity'"))
    with pytest.raises(E.FabricError) as info:
        C.Connection(sp_params(), retrier())
    assert info.value.kind == E.VALIDATION and "pip install azure-identity" in info.value.describe()
    monkeypatch.setattr(C, "HAS_AZURE_IDENTITY", True)
    monkeypatch.setattr(C, "_network_client_class", lambda: (None, ImportError("No module named 'azure.mgmt.network'")))
    conn = C.Connection(sp_params(), retrier())
    with pytest.raises(E.FabricError) as info:
        conn.network  # noqa: B018
    assert info.value.kind == E.VALIDATION and "azure-mgmt-network" in info.value.describe()


class FakeResponse:
    """Just enough of an azure-core HTTP response for HttpResponseError to parse an ARM error body."""

    def __init__(self, status, body, headers=None):
        self.status_code = status
        self.reason = "Reason"
        self.headers = headers or {}
        self.content_type = "application/json"
        self.request = None
        self._body = body

    def text(self, encoding=None):
        return self._body

    def body(self):
        return self._body.encode()


def test_calls_raise_typed_errors_naming_cloud_resource_and_call(clock):
    conn = C.Connection(sp_params(), retrier(clock))
    body = '{"error": {"code": "InvalidParameter", "message": "Agent pool name Bad_Pool is invalid."}}'

    def bad():
        raise HttpResponseError(response=FakeResponse(400, body))

    with pytest.raises(E.InvalidRequestError) as info:
        conn.call(bad, resource="agent pool Bad_Pool", call="AgentPools_CreateOrUpdate")
    error = info.value
    assert (error.cloud, error.resource, error.call, error.status, error.code) == (
        "azure",
        "agent pool Bad_Pool",
        "AgentPools_CreateOrUpdate",
        400,
        "InvalidParameter",
    )
    attempts = []
    throttled = '{"error": {"code": "TooManyRequests", "message": "slow down"}}'

    def flaky():
        attempts.append(1)
        if len(attempts) < 3:
            raise HttpResponseError(response=FakeResponse(429, throttled, {"Retry-After": "2"}))
        return "ok"

    assert conn.call(flaky, call="VirtualNetworks_Get") == "ok"
    assert len(attempts) == 3 and clock.sleeps[0] >= 2


class FakePoller:
    def __init__(self, done=True, result=None, error=None, status="Succeeded"):
        self._done, self._result, self._error, self._status = done, result, error, status
        self.waited = []

    def wait(self, timeout=None):
        self.waited.append(timeout)
        if self._error is not None:
            raise self._error

    def done(self):
        return self._done

    def status(self):
        return self._status

    def result(self, timeout=None):
        return self._result


def test_finish_waits_within_the_deadline(clock):
    conn = C.Connection(sp_params(), retrier(clock))
    poller = FakePoller(result="done")
    assert conn.finish(poller, deadline=Deadline(30, clock=clock)) == "done"
    assert poller.waited == [30]
    with pytest.raises(E.WaitTimeoutError) as info:
        conn.finish(FakePoller(done=False, status="InProgress"), resource="r", call="c", deadline=Deadline(5, clock))
    assert "InProgress" in info.value.message and (info.value.cloud, info.value.call) == ("azure", "c")
    failed = HttpResponseError(
        response=FakeResponse(200, '{"error": {"code": "QuotaExceeded", "message": "no cores"}}'),
    )
    with pytest.raises(E.FabricError) as info:
        conn.finish(FakePoller(error=failed), resource="r", call="ManagedClusters_CreateOrUpdate")
    assert info.value.code == "QuotaExceeded" and "no cores" in info.value.message
    gone = ResourceNotFoundError(response=FakeResponse(404, '{"error": {"code": "ResourceNotFound", "message": "x"}}'))
    with pytest.raises(E.NotFoundError):
        conn.finish(FakePoller(error=gone))


def test_deadline_is_the_retriers_when_shared(clock):
    shared = Deadline(42, clock=clock)
    conn = C.Connection(sp_params(), Retrier("azure", deadline=shared, clock=clock, sleep=clock.sleep))
    assert conn.deadline() is shared
    conn = C.Connection(sp_params(), retrier(clock))
    assert conn.deadline().timeout == 1800


# ------------------------------------------------------------------ helpers


def test_to_wire_gives_rest_json_for_models_and_dicts():
    model = aks_models.ManagedCluster(
        {"location": "westeurope", "properties": {"kubernetesVersion": "1.32", "agentPoolProfiles": [{"name": "a"}]}}
    )
    assert C.to_wire(model) == {
        "location": "westeurope",
        "properties": {"kubernetesVersion": "1.32", "agentPoolProfiles": [{"name": "a"}]},
    }
    plain = {"a": 1}
    assert C.to_wire(plain) is plain
    assert C.to_wire(None) is None


def test_parse_id():
    vnet = (
        "/subscriptions/s1/resourceGroups/RG-One/providers/Microsoft.Network/virtualNetworks/net1/subnets/GatewaySubnet"
    )
    assert C.parse_id(vnet) == {
        "subscription": "s1",
        "resource_group": "RG-One",
        "provider": "Microsoft.Network",
        "type": "virtualNetworks",
        "name": "net1",
        "parent": "net1",
        "child_type": "subnets",
        "child": "GatewaySubnet",
    }
    assert C.parse_id("/subscriptions/s1/resourcegroups/rg") == {"subscription": "s1", "resource_group": "rg"}
    assert C.parse_id(None) == {}


def test_one_resource_group_rule_for_networks_and_clusters():
    from ansible_collections.multicloud.fabric.plugins.module_utils.azure import cluster_shape, network  # noqa: PLC0415

    assert C.resource_group_of({"provider": {"resource_group": "rg1"}}) == "rg1"
    for of, text in ((network.resource_group_of, "Azure networks"), (cluster_shape.resource_group_of, "AKS clusters")):
        assert of({"provider": {"resource_group": "rg2"}}) == "rg2"
        for desired in ({}, {"provider": None}, {"provider": {"resource_group": ""}}):
            with pytest.raises(E.ValidationError) as info:
                of(desired)
            assert (info.value.field, info.value.message) == (
                "azure.resource_group",
                f"{text} live in a resource group; name it",
            )
