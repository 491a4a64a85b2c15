# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # What names one global load balancer: mc_global_lb and mc_global_lb_info (SPEC_OPTIONS and
    # route53 in plugins/module_utils/glb/runner.py).
    DOCUMENTATION = r"""
options:
  provider:
    description: Which provider serves the load balancer.
    type: str
    required: true
    choices: [cloudflare, route53]
  hostname:
    description: The name users resolve, inside O(zone).
    type: str
    required: true
  zone:
    description:
      - The DNS zone (Cloudflare zone, Route 53 public hosted zone) that holds O(hostname).
      - Default the parent domain of O(hostname).
    type: str
  route53:
    description: Route 53 only.
    type: dict
    suboptions:
      hosted_zone_id:
        description: The public hosted zone, when several have the name O(zone).
        type: str
"""
