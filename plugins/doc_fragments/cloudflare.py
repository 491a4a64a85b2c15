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
      - "Cloudflare API token with the permissions C(Load Balancing: Monitors and Pools) (account),
        C(Load Balancers) and C(Zone) read (zone). Never logged or returned."
      - If not set, the environment variable E(CLOUDFLARE_API_TOKEN) is used.
      - Used only when O(provider=cloudflare).
    type: str
  cloudflare_account_id:
    description:
      - The Cloudflare account that holds the load balancer's pools and monitors (they are
        account-scoped; the load balancer and its DNS record belong to the zone).
      - If not set, the environment variable E(CLOUDFLARE_ACCOUNT_ID) is used, then the account
        that owns the zone.
    type: str
  cloudflare_base_url:
    description:
      - URL of the Cloudflare API v4 (default the public API), for a proxy or the collection's
        local sandbox.
      - If not set, the environment variable E(CLOUDFLARE_BASE_URL) is used.
    type: str
  cloudflare_ca_bundle:
    description:
      - PEM file of certificate authorities to trust for O(cloudflare_base_url).
      - If not set, the environment variable E(CLOUDFLARE_CA_BUNDLE) is used.
    type: path
requirements:
  - python >= 3.11
  - cloudflare >= 4.0.0
"""
