"""The collection's provider options for this sandbox: what `module_defaults` of
`group/multicloud.fabric.mc` needs to reach every emulated cloud.

Written into endpoints.yml (`provider_options`) so the sandbox inventory, the integration tests and
anyone scripting against the sandbox use one mapping. Only endpoints, CA bundles and credentials:
exactly what a production inventory sets for real clouds.
"""

from __future__ import annotations

# Per cloud: each provider option and the endpoints.yml field it takes its value from.
_OPTIONS = {
    "aws": {"aws_endpoint_url": "endpoint_url", "aws_access_key": "access_key", "aws_secret_key": "secret_key"},
    "gcp": {
        "gcp_project": "project",
        "gcp_service_account_file": "service_account_file",
        "gcp_api_endpoint": "api_endpoint",
        "gcp_ca_bundle": "ca_bundle",
    },
    "azure": {
        "azure_subscription_id": "subscription_id",
        "azure_tenant_id": "tenant_id",
        "azure_client_id": "client_id",
        "azure_client_secret": "client_secret",
        "azure_base_url": "base_url",
        "azure_authority_host": "authority_host",
        "azure_ca_bundle": "ca_bundle",
    },
    "cloudflare": {
        "cloudflare_api_token": "api_token",
        "cloudflare_account_id": "account_id",
        "cloudflare_base_url": "base_url",
    },
}
# Options whose value is the same for every sandbox.
_FIXED = {"azure": {"azure_auth_source": "service_principal"}}


def provider_options(endpoints: dict) -> dict:
    options: dict = {}
    for cloud, fields in _OPTIONS.items():
        section = endpoints.get(cloud)
        if section:
            options.update({option: section[field] for option, field in fields.items()})
            options.update(_FIXED.get(cloud, {}))
    return options
