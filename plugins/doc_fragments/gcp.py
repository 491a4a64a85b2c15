# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Google Cloud credentials and endpoint. Matches GCP_OPTIONS in plugins/module_utils/common/args.py.
    DOCUMENTATION = r"""
options:
  gcp_project:
    description:
      - Google Cloud project ID that holds the resources.
      - If not set, the environment variables E(GCP_PROJECT), E(GOOGLE_CLOUD_PROJECT),
        E(CLOUDSDK_CORE_PROJECT) and E(GCE_PROJECT) are tried in that order.
    type: str
  gcp_service_account_file:
    description:
      - Path to a service-account JSON key file.
      - If not set, the environment variables E(GCP_SERVICE_ACCOUNT_FILE),
        E(GOOGLE_APPLICATION_CREDENTIALS) and E(GCE_CREDENTIALS_FILE_PATH) are tried in that order.
      - Credentials are chosen in this order, O(gcp_access_token), O(gcp_service_account_contents),
        O(gcp_service_account_file), then Application Default Credentials.
    type: path
  gcp_service_account_contents:
    description:
      - The content of a service-account JSON key, as a string. Never logged or returned.
      - If not set, the environment variable E(GCP_SERVICE_ACCOUNT_CONTENTS) is used.
    type: str
  gcp_access_token:
    description:
      - An OAuth2 access token to use as it is. Never logged or returned.
      - If not set, the environment variable E(GCP_ACCESS_TOKEN) is used.
    type: str
  gcp_scopes:
    description:
      - OAuth2 scopes requested for service-account and default credentials.
    type: list
    elements: str
    default: ["https://www.googleapis.com/auth/cloud-platform"]
  gcp_api_endpoint:
    description:
      - Base URL that replaces the Google Cloud API endpoints (GKE, Compute), for example a
        Private Service Connect endpoint or the collection's local sandbox.
      - If not set, the environment variable E(GCP_API_ENDPOINT) is used.
    type: str
  gcp_ca_bundle:
    description:
      - PEM file of certificate authorities to trust for the Google Cloud endpoints.
      - If not set, the environment variable E(GCP_CA_BUNDLE) is used.
    type: path
requirements:
  - python >= 3.11
  - google-auth >= 2.28.0
"""
