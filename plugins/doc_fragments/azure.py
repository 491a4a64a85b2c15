# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Azure credentials and endpoints. Matches AZURE_OPTIONS in plugins/module_utils/common/args.py.
    DOCUMENTATION = r"""
options:
  azure_subscription_id:
    description:
      - Azure subscription ID that holds the resources.
      - If not set, the environment variable E(AZURE_SUBSCRIPTION_ID) is used.
    type: str
  azure_tenant_id:
    description:
      - Microsoft Entra ID tenant of the service principal or of the user of O(azure_username). Optional
        for a user (the tenant of the user's work or school account is then found by sign-in).
      - If not set, the environment variables E(AZURE_TENANT_ID) and E(AZURE_TENANT) (what Automation
        Controller's Microsoft Azure Resource Manager credential sets) are tried in that order.
    type: str
  azure_client_id:
    description:
      - Application (client) ID of the service principal or user-assigned managed identity.
      - For user/password sign-in, the public client application the user signs in to; the Azure CLI's
        application ID V(04b07795-8ddb-461a-bbee-02f9e1bf7b46) when not set (as the azure.azcollection modules do).
      - If not set, the environment variable E(AZURE_CLIENT_ID) is used.
    type: str
  azure_client_secret:
    description:
      - Client secret of the service principal. Never logged or returned.
      - If not set, the environment variables E(AZURE_CLIENT_SECRET) and E(AZURE_SECRET) (what Automation
        Controller's Microsoft Azure Resource Manager credential sets) are tried in that order.
    type: str
  azure_username:
    description:
      - User principal name (V(user@example.com)) of a Microsoft Entra ID work or school account, for
        user/password sign-in with O(azure_password).
      - If not set, the environment variables E(AZURE_USERNAME) and E(AZURE_AD_USER) (what Automation
        Controller's Microsoft Azure Resource Manager credential sets) are tried in that order.
    type: str
  azure_password:
    description:
      - Password of O(azure_username). Never logged or returned.
      - User/password sign-in (azure-identity's C(UsernamePasswordCredential)) is deprecated by
        Microsoft and cannot pass multifactor authentication, which Microsoft Entra ID enforces for
        more and more accounts; prefer a service principal or a managed identity.
      - If not set, the environment variable E(AZURE_PASSWORD) is used.
    type: str
  azure_auth_source:
    description:
      - Where credentials come from. V(service_principal) uses O(azure_tenant_id),
        O(azure_client_id) and O(azure_client_secret); V(user_password) O(azure_username) and
        O(azure_password); V(cli) the Azure CLI's login; V(managed_identity) the machine's managed
        identity; V(auto) a service principal when its three options are set, else a user when
        O(azure_username) and O(azure_password) are set and O(azure_client_secret) is not, and the
        standard credential chain otherwise.
      - If not set, the environment variable E(AZURE_AUTH_SOURCE) is used.
    type: str
    choices: [auto, service_principal, user_password, cli, managed_identity]
    default: auto
  azure_cloud_environment:
    description:
      - The Azure cloud, by name, whose endpoints O(azure_base_url) and O(azure_authority_host)
        default to; one of V(AzureCloud), V(AzureChinaCloud) or V(AzureUSGovernment) (any case).
      - Explicit O(azure_base_url) and O(azure_authority_host) (or their environment variables) win
        over it. For Azure Stack Hub leave it unset and set those two.
      - If not set, the environment variable E(AZURE_CLOUD_ENVIRONMENT) (what Automation Controller's
        Microsoft Azure Resource Manager credential sets) is used; Azure's public cloud when neither is set.
    type: str
  azure_base_url:
    description:
      - Azure Resource Manager endpoint, for sovereign clouds, Azure Stack or the collection's
        local sandbox. Tokens are requested for its C(/.default) scope.
      - If not set, the environment variable E(AZURE_BASE_URL) is used.
      - Default is the endpoint of O(azure_cloud_environment) (V(https://management.chinacloudapi.cn) for
        V(AzureChinaCloud), V(https://management.usgovcloudapi.net) for V(AzureUSGovernment)), else
        V(https://management.azure.com).
    type: str
  azure_authority_host:
    description:
      - Microsoft Entra ID authority that issues tokens.
      - If not set, the environment variable E(AZURE_AUTHORITY_HOST) is used.
      - Default is the authority of O(azure_cloud_environment) (V(https://login.chinacloudapi.cn) for
        V(AzureChinaCloud), V(https://login.microsoftonline.us) for V(AzureUSGovernment)), else
        V(https://login.microsoftonline.com).
    type: str
  azure_ca_bundle:
    description:
      - PEM file of certificate authorities to trust for the Azure endpoints and the authority.
      - If not set, the environment variable E(AZURE_CA_BUNDLE) is used.
    type: path
requirements:
  - python >= 3.11
  - azure-identity >= 1.15.0
"""
