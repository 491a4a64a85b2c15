# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Cloudflare credentials and endpoint. Matches CLOUDFLARE_OPTIONS in plugins/module_utils/common/args.py.
    DOCUMENTATION = r"""
options:
  cloudflare_api_token:
    description:
      - Cloudflare API token with the permissions the module needs. Never logged or returned.
      - If not set, the environment variable E(CLOUDFLARE_API_TOKEN) is used.
    type: str
  cloudflare_account_id:
    description:
      - Cloudflare account ID that owns account-level objects (load balancer pools, monitors).
      - If not set, the environment variable E(CLOUDFLARE_ACCOUNT_ID) is used.
    type: str
  cloudflare_base_url:
    description:
      - Base URL of the Cloudflare API v4, for a proxy or the collection's local sandbox.
      - If not set, the environment variable E(CLOUDFLARE_BASE_URL) is used.
    type: str
    default: https://api.cloudflare.com/client/v4
  cloudflare_ca_bundle:
    description:
      - PEM file of certificate authorities to trust for the Cloudflare endpoint.
      - If not set, the environment variable E(CLOUDFLARE_CA_BUNDLE) is used.
    type: path
requirements:
  - python >= 3.11
  - cloudflare >= 4.0.0
"""
