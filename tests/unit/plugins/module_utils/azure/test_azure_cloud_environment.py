# -*- coding: utf-8 -*-
"""Azure cloud environments (the endpoints a cloud name stands for) and user/password sign-in (no network)."""

from __future__ import annotations

import pytest
from azure.identity import UsernamePasswordCredential

from ansible_collections.multicloud.fabric.plugins.module_utils.azure import client as C
from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Retrier, RetryPolicy

PASSWORD = "pa55-word-never-shown"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
STACK_ARM = "https://management.local.azurestack.external"
STACK_AUTHORITY = "https://adfs.local.azurestack.external/adfs"


def user_params(**overrides):
    """The options as a module parses them when only user, password (and a cloud) are set."""
    params = {
        "azure_subscription_id": SUBSCRIPTION,
        "azure_tenant_id": None,
        "azure_client_id": None,
        "azure_client_secret": None,
        "azure_username": "deployer@acme.onmicrosoft.com",
        "azure_password": PASSWORD,
        "azure_auth_source": "auto",
        "azure_cloud_environment": None,
        "azure_base_url": None,
        "azure_authority_host": None,
        "azure_ca_bundle": None,
    }
    params.update(overrides)
    return params


def retrier():
    return Retrier("azure", policy=RetryPolicy(timeout=5, base_delay=0.1, max_delay=1))


# ------------------------------------------------------------------ cloud environments


@pytest.mark.parametrize(
    ("name", "base_url", "authority"),
    [
        ("AzureCloud", "https://management.azure.com", "https://login.microsoftonline.com"),
        ("AzureChinaCloud", "https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
        ("AzureUSGovernment", "https://management.usgovcloudapi.net", "https://login.microsoftonline.us"),
    ],
)
def test_each_cloud_environment_sets_the_endpoint_the_scope_and_the_authority(name, base_url, authority):
    params = user_params(azure_cloud_environment=name)
    assert C.endpoints(params) == (base_url, authority)
    settings = C.client_settings(params)
    assert settings["base_url"] == base_url
    assert settings["credential_scopes"] == [base_url + "/.default"]
    kind, kwargs = C.credential_settings(params)
    assert kind == "user_password"
    assert kwargs["authority"] == authority
    assert "disable_instance_discovery" not in kwargs  # Microsoft's own authorities


def test_cloud_environment_names_match_regardless_of_case():
    assert C.cloud_environment(user_params(azure_cloud_environment=" azurechinacloud ")) == "AzureChinaCloud"
    assert C.cloud_environment(user_params()) is None
    assert C.cloud_environment(user_params(azure_cloud_environment="")) is None


def test_without_a_cloud_environment_the_public_cloud_is_the_default():
    assert C.endpoints(user_params()) == (C.DEFAULT_BASE_URL, C.DEFAULT_AUTHORITY_HOST)
    assert C.endpoints({}) == ("https://management.azure.com", "https://login.microsoftonline.com")


def test_explicit_endpoints_win_over_the_cloud_environment():
    params = user_params(
        azure_cloud_environment="AzureUSGovernment",
        azure_base_url=STACK_ARM + "/",
        azure_authority_host=STACK_AUTHORITY,
    )
    assert C.endpoints(params) == (STACK_ARM, STACK_AUTHORITY)
    assert C.client_settings(params)["credential_scopes"] == [STACK_ARM + "/.default"]
    _kind, kwargs = C.credential_settings(params)
    assert kwargs["authority"] == STACK_AUTHORITY and kwargs["disable_instance_discovery"] is True
    # each one on its own: the other still follows the cloud environment
    only_url = user_params(azure_cloud_environment="AzureChinaCloud", azure_base_url=STACK_ARM)
    assert C.endpoints(only_url) == (STACK_ARM, "https://login.chinacloudapi.cn")
    only_authority = user_params(azure_cloud_environment="AzureChinaCloud", azure_authority_host=STACK_AUTHORITY)
    assert C.endpoints(only_authority) == ("https://management.chinacloudapi.cn", STACK_AUTHORITY)


def test_an_unknown_cloud_environment_names_the_option_and_the_valid_names():
    params = user_params(azure_cloud_environment="AzureGermanCloud")
    for call in (C.endpoints, C.client_settings, C.credential_settings):
        with pytest.raises(E.ValidationError) as info:
            call(params)
        assert info.value.field == "azure_cloud_environment"
        text = info.value.describe()
        for name in ("AzureCloud", "AzureChinaCloud", "AzureUSGovernment", "'AzureGermanCloud'"):
            assert name in text
        assert "AZURE_CLOUD_ENVIRONMENT" in text
        assert PASSWORD not in text and PASSWORD not in repr(info.value)
    with pytest.raises(E.ValidationError, match="azure_cloud_environment"):
        C.Connection(params, retrier())


# ------------------------------------------------------------------ user and password


def test_auto_with_username_and_password_signs_the_user_in_with_the_azure_cli_application():
    kind, kwargs = C.credential_settings(user_params())
    assert kind == "user_password"
    assert kwargs == {
        "client_id": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        "username": "deployer@acme.onmicrosoft.com",
        "password": PASSWORD,
        "authority": "https://login.microsoftonline.com",
    }


def test_user_password_takes_the_tenant_the_client_and_the_ca_bundle_given(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    kind, kwargs = C.credential_settings(
        user_params(
            azure_auth_source="user_password",
            azure_tenant_id="11111111-1111-1111-1111-111111111111",
            azure_client_id="22222222-2222-2222-2222-222222222222",
            azure_ca_bundle=str(ca),
        )
    )
    assert kind == "user_password"
    assert kwargs["tenant_id"] == "11111111-1111-1111-1111-111111111111"
    assert kwargs["client_id"] == "22222222-2222-2222-2222-222222222222"
    assert kwargs["connection_verify"] == str(ca)


def test_auto_prefers_a_client_secret_over_a_password():
    service_principal = user_params(
        azure_tenant_id="11111111-1111-1111-1111-111111111111",
        azure_client_id="22222222-2222-2222-2222-222222222222",
        azure_client_secret="client-secret",
    )
    assert C.credential_settings(service_principal)[0] == "service_principal"
    # an incomplete service principal next to a password is not read as a user sign-in
    assert C.credential_settings(user_params(azure_client_secret="client-secret"))[0] == "default"
    assert C.credential_settings(user_params(azure_password=None))[0] == "default"
    assert C.credential_settings(user_params(azure_password=""))[0] == "default"


@pytest.mark.parametrize(
    ("missing", "variable"), [("azure_username", "AZURE_AD_USER"), ("azure_password", "AZURE_PASSWORD")]
)
def test_user_password_names_what_is_missing_and_never_the_password(missing, variable):
    with pytest.raises(E.ValidationError) as info:
        C.credential_settings(user_params(azure_auth_source="user_password", **{missing: None}))
    assert info.value.field == missing
    assert variable in info.value.describe()
    assert PASSWORD not in info.value.describe() and PASSWORD not in repr(info.value)


def test_the_user_credential_is_built_lazily_and_the_password_stays_out_of_reprs():
    conn = C.Connection(user_params(azure_cloud_environment="AzureUSGovernment"), retrier())
    assert conn.credential_kind == "user_password" and conn._credential is None
    assert PASSWORD not in repr(conn)
    # azure-identity deprecates this credential (no multifactor authentication); the warning is not hidden
    with pytest.warns(DeprecationWarning, match="UsernamePasswordCredential"):
        credential = conn.credential
    assert isinstance(credential, UsernamePasswordCredential)
    assert PASSWORD not in repr(credential)


def test_a_malformed_tenant_of_a_user_is_a_validation_error_without_the_password():
    conn = C.Connection(user_params(azure_tenant_id="not a tenant!"), retrier())
    with pytest.raises(E.ValidationError) as info, pytest.warns(DeprecationWarning):
        conn.credential  # noqa: B018
    assert info.value.field == "azure_tenant_id"
    assert "UsernamePasswordCredential" in info.value.describe()
    assert PASSWORD not in info.value.describe() and PASSWORD not in repr(info.value)
