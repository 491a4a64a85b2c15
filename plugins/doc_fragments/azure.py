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
      - Microsoft Entra ID tenant of the service principal.
      - If not set, the environment variables E(AZURE_TENANT_ID) and E(AZURE_TENANT) (what Automation
        Controller's Microsoft Azure Resource Manager credential sets) are tried in that order.
    type: str
  azure_client_id:
    description:
      - Application (client) ID of the service principal or user-assigned managed identity.
      - If not set, the environment variable E(AZURE_CLIENT_ID) is used.
    type: str
  azure_client_secret:
    description:
      - Client secret of the service principal. Never logged or returned.
      - If not set, the environment variables E(AZURE_CLIENT_SECRET) and E(AZURE_SECRET) (what Automation
        Controller's Microsoft Azure Resource Manager credential sets) are tried in that order.
    type: str
  azure_auth_source:
    description:
      - Where credentials come from. V(service_principal) uses O(azure_tenant_id),
        O(azure_client_id) and O(azure_client_secret); V(cli) the Azure CLI's login;
        V(managed_identity) the machine's managed identity; V(auto) a service principal when
        its three options are set and the standard credential chain otherwise.
      - If not set, the environment variable E(AZURE_AUTH_SOURCE) is used.
    type: str
    choices: [auto, service_principal, cli, managed_identity]
    default: auto
  azure_base_url:
    description:
      - Azure Resource Manager endpoint, for sovereign clouds, Azure Stack or the collection's
        local sandbox.
      - If not set, the environment variable E(AZURE_BASE_URL) is used.
    type: str
    default: https://management.azure.com
  azure_authority_host:
    description:
      - Microsoft Entra ID authority that issues tokens.
      - If not set, the environment variable E(AZURE_AUTHORITY_HOST) is used.
    type: str
    default: https://login.microsoftonline.com
  azure_ca_bundle:
    description:
      - PEM file of certificate authorities to trust for the Azure endpoints and the authority.
      - If not set, the environment variable E(AZURE_CA_BUNDLE) is used.
    type: path
requirements:
  - python >= 3.11
  - azure-identity >= 1.15.0
"""
