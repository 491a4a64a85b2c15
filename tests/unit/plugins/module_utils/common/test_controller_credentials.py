"""What Automation Controller's built-in credential types inject is what the modules authenticate with.

Each test sets exactly the environment the credential's injector produces (AWX,
awx_plugins/credentials/injectors.py: Amazon Web Services, Google Compute Engine, Microsoft Azure
Resource Manager), parses a module's arguments the way Ansible does, and checks the credentials
the cloud's connection then resolves.
"""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.multicloud.fabric.plugins.module_utils.azure.client import (
    AZURE_CLI_CLIENT_ID,
    client_settings,
    credential_settings,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.common.args import PROVIDER_OPTIONS
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Retrier
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp.client import Connection as GcpConnection
from ansible_collections.multicloud.fabric.plugins.modules import mc_cluster_info

ALL = [name for options in PROVIDER_OPTIONS.values() for option in options.values() for name in option.get("env", ())]


@pytest.fixture
def controller_env(monkeypatch):
    """A job's environment: nothing but what the credentials inject."""
    for name in ALL:
        monkeypatch.delenv(name, raising=False)

    def inject(env):
        for key, value in env.items():
            monkeypatch.setenv(key, value)

    return inject


def params():
    result = ArgumentSpecValidator(**mc_cluster_info.module_spec()).validate({"clouds": ["aws", "gcp", "azure"]})
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def test_amazon_web_services_with_a_security_token(controller_env):
    # injectors.aws: username, password, and security_token as both variables.
    controller_env(
        {
            "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "secret-key",
            "AWS_SECURITY_TOKEN": "session-token",
            "AWS_SESSION_TOKEN": "session-token",
        }
    )
    p = params()
    assert (p["aws_access_key"], p["aws_secret_key"], p["aws_session_token"]) == (
        "AKIAEXAMPLE",
        "secret-key",
        "session-token",
    )


def test_aws_security_token_alone_is_read_too(controller_env):
    # Older injectors and some tools set only AWS_SECURITY_TOKEN.
    controller_env({"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "k", "AWS_SECURITY_TOKEN": "t"})
    assert params()["aws_session_token"] == "t"


def service_account_file(tmp_path, email, project):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    # injectors.gce writes exactly these keys (mode 0600) under the job's private data directory.
    path = tmp_path / "env" / "tmpgce"
    path.parent.mkdir()
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "private_key": pem,
                "client_email": email,
                "project_id": project,
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    path.chmod(0o600)
    return str(path)


@pytest.mark.parametrize("inventory_update", [False, True])
def test_google_compute_engine(controller_env, tmp_path, inventory_update):
    path = service_account_file(tmp_path, "deployer@acme-platform.iam.gserviceaccount.com", "acme-platform")
    env = {
        "GCE_CREDENTIALS_FILE_PATH": path,
        "GCP_SERVICE_ACCOUNT_FILE": path,
        "GOOGLE_APPLICATION_CREDENTIALS": path,
        "GCP_AUTH_KIND": "serviceaccount",
        "GCP_PROJECT": "acme-platform",
        "GCP_ENV_TYPE": "tower",
    }
    if not inventory_update:  # jobs also get GCE_EMAIL / GCE_PROJECT
        env.update(GCE_EMAIL="deployer@acme-platform.iam.gserviceaccount.com", GCE_PROJECT="acme-platform")
    controller_env(env)
    p = params()
    assert (p["gcp_service_account_file"], p["gcp_project"]) == (path, "acme-platform")
    conn = GcpConnection(p, Retrier("gcp"))
    assert conn.credentials.service_account_email == "deployer@acme-platform.iam.gserviceaccount.com"
    assert conn.project == "acme-platform"


def test_gce_variables_alone_are_enough(controller_env, tmp_path):
    # A job environment where only the older GCE_* names survived (e.g. a custom credential type).
    path = service_account_file(tmp_path, "ci@acme.iam.gserviceaccount.com", "acme")
    controller_env({"GCE_CREDENTIALS_FILE_PATH": path, "GCE_PROJECT": "acme"})
    p = params()
    assert (p["gcp_service_account_file"], p["gcp_project"]) == (path, "acme")


def test_microsoft_azure_resource_manager_service_principal(controller_env):
    # injectors.azure_rm with client and tenant: AZURE_TENANT and AZURE_SECRET, not the SDK's names.
    controller_env(
        {
            "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000001",
            "AZURE_CLIENT_ID": "11111111-1111-1111-1111-111111111111",
            "AZURE_TENANT": "22222222-2222-2222-2222-222222222222",
            "AZURE_SECRET": "client-secret",
        }
    )
    p = params()
    assert p["azure_subscription_id"] == "00000000-0000-0000-0000-000000000001"
    kind, kwargs = credential_settings(p)
    assert kind == "service_principal"
    assert (kwargs["tenant_id"], kwargs["client_id"], kwargs["client_secret"]) == (
        "22222222-2222-2222-2222-222222222222",
        "11111111-1111-1111-1111-111111111111",
        "client-secret",
    )


def test_the_sdk_names_win_over_the_controller_names(controller_env):
    controller_env(
        {
            "AZURE_CLIENT_ID": "c",
            "AZURE_TENANT_ID": "tenant-sdk",
            "AZURE_TENANT": "tenant-controller",
            "AZURE_CLIENT_SECRET": "secret-sdk",
            "AZURE_SECRET": "secret-controller",
        }
    )
    p = params()
    assert (p["azure_tenant_id"], p["azure_client_secret"]) == ("tenant-sdk", "secret-sdk")


@pytest.mark.parametrize(
    ("cloud_environment", "base_url", "authority"),
    [
        (None, "https://management.azure.com", "https://login.microsoftonline.com"),
        ("AzureCloud", "https://management.azure.com", "https://login.microsoftonline.com"),
        ("AzureChinaCloud", "https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
        ("AzureUSGovernment", "https://management.usgovcloudapi.net", "https://login.microsoftonline.us"),
    ],
)
def test_microsoft_azure_resource_manager_username_and_password(controller_env, cloud_environment, base_url, authority):
    # injectors.azure_rm without client or tenant: AZURE_AD_USER and AZURE_PASSWORD, and
    # AZURE_CLOUD_ENVIRONMENT when the credential has a cloud environment.
    env = {
        "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000001",
        "AZURE_AD_USER": "deployer@acme.onmicrosoft.com",
        "AZURE_PASSWORD": "user-password",
    }
    if cloud_environment:
        env["AZURE_CLOUD_ENVIRONMENT"] = cloud_environment
    controller_env(env)
    p = params()
    assert (p["azure_username"], p["azure_password"]) == ("deployer@acme.onmicrosoft.com", "user-password")
    assert p["azure_base_url"] is None and p["azure_authority_host"] is None  # not given: the cloud's
    kind, kwargs = credential_settings(p)
    assert kind == "user_password"
    assert kwargs == {
        "client_id": AZURE_CLI_CLIENT_ID,
        "username": "deployer@acme.onmicrosoft.com",
        "password": "user-password",
        "authority": authority,
    }
    settings = client_settings(p)
    assert settings["base_url"] == base_url
    assert settings["credential_scopes"] == [base_url + "/.default"]


def test_azure_cloud_environment_applies_to_a_service_principal_too(controller_env):
    controller_env(
        {
            "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000001",
            "AZURE_CLIENT_ID": "11111111-1111-1111-1111-111111111111",
            "AZURE_TENANT": "22222222-2222-2222-2222-222222222222",
            "AZURE_SECRET": "client-secret",
            "AZURE_CLOUD_ENVIRONMENT": "AzureUSGovernment",
        }
    )
    p = params()
    kind, kwargs = credential_settings(p)
    assert kind == "service_principal"
    assert kwargs["authority"] == "https://login.microsoftonline.us"
    assert "disable_instance_discovery" not in kwargs  # a Microsoft authority: MSAL knows it
    assert client_settings(p)["base_url"] == "https://management.usgovcloudapi.net"


def test_the_sdk_username_wins_over_the_controller_name(controller_env):
    controller_env({"AZURE_USERNAME": "sdk@acme.example", "AZURE_AD_USER": "controller@acme.example"})
    assert params()["azure_username"] == "sdk@acme.example"
