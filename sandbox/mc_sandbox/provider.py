"""The collection's provider options for this sandbox: what `module_defaults` of
`group/multicloud.fabric.mc` needs to reach every emulated cloud.

Written into endpoints.yml (`provider_options`) so the sandbox inventory, the integration tests and
anyone scripting against the sandbox use one mapping. Only endpoints, CA bundles and credentials:
exactly what a production inventory sets for real clouds.
"""

from __future__ import annotations


def provider_options(endpoints: dict) -> dict:
    options: dict = {}
    aws = endpoints.get("aws")
    if aws:
        options.update(
            aws_endpoint_url=aws["endpoint_url"],
            aws_access_key=aws["access_key"],
            aws_secret_key=aws["secret_key"],
        )
    gcp = endpoints.get("gcp")
    if gcp:
        options.update(
            gcp_project=gcp["project"],
            gcp_service_account_file=gcp["service_account_file"],
            gcp_api_endpoint=gcp["api_endpoint"],
            gcp_ca_bundle=gcp["ca_bundle"],
        )
    azure = endpoints.get("azure")
    if azure:
        options.update(
            azure_subscription_id=azure["subscription_id"],
            azure_tenant_id=azure["tenant_id"],
            azure_client_id=azure["client_id"],
            azure_client_secret=azure["client_secret"],
            azure_auth_source="service_principal",
            azure_base_url=azure["base_url"],
            azure_authority_host=azure["authority_host"],
            azure_ca_bundle=azure["ca_bundle"],
        )
    return options
