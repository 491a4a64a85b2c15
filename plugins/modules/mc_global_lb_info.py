#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: mc_global_lb_info
short_description: Health of a global load balancer's pools as the provider sees it, and where each location goes now
version_added: 0.3.0
description:
  - Reads the load balancer M(multicloud.fabric.mc_global_lb) made for O(hostname) and reports,
    per pool and origin, healthy or not as the provider reports it (Cloudflare pool health from
    every check region; Route 53 C(GetHealthCheckStatus) from every checker) with the reason,
    and for each location the steering names (plus C(default)) the pool that serves it now,
    with the provider's own precedence and failover.
  - Changes nothing.
author:
  - multicloud.fabric contributors (@multicloud-fabric)
options:
  wait_timeout:
    description: Seconds the module may spend retrying throttled or failing API calls.
    type: int
    default: 300
extends_documentation_fragment:
  - multicloud.fabric.global_lb
  - multicloud.fabric.cloudflare
  - multicloud.fabric.aws
  - multicloud.fabric.attributes.info_module
seealso:
  - module: multicloud.fabric.mc_global_lb
"""

EXAMPLES = r"""
- name: Wait until every pool is healthy
  multicloud.fabric.mc_global_lb_info:
    provider: cloudflare
    hostname: app.example.com
  register: glb
  until: glb.pools | rejectattr('healthy') | list | length == 0
  retries: 30
  delay: 10

- name: Where does North America go now?
  ansible.builtin.debug:
    msg: "{{ glb.steering.ENAM.pool }} ({{ glb.steering.ENAM.reason }})"
"""

RETURN = r"""
exists:
  description: Whether the load balancer exists.
  returned: always
  type: bool
load_balancer:
  description:
    - The load balancer in the portable shape (as M(multicloud.fabric.mc_global_lb) returns it); empty when absent.
  returned: always
  type: dict
pools:
  description: Every pool with its health.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Pool name.
      type: str
    cloud:
      description: The cloud the pool serves.
      type: str
    region:
      description: The region the pool serves.
      type: str
    enabled:
      description: False while the pool is drained.
      type: bool
    healthy:
      description: The provider's verdict; null for a drained pool, which is not checked.
      type: bool
    reason:
      description: Why, e.g. C(healthy) or the failing origins' reasons.
      type: str
    origins:
      description: Each origin's C(name), C(address), C(healthy) and C(reason).
      type: list
      elements: dict
  sample:
    - {"name": "aws", "cloud": "aws", "region": "us-east-1", "enabled": true, "healthy": false,
       "reason": "aws-lb: connection refused",
       "origins": [{"name": "aws-lb", "address": "203.0.113.10", "healthy": false, "reason": "connection refused"}]}
steering:
  description:
    - For each region, continent or country code the steering names, and C(default), the pool
      that serves it now and why (C(steered), C(failover), C(fallback), C(no healthy pool)).
  returned: always
  type: dict
  sample:
    ENAM: {"pool": "gcp", "reason": "failover"}
    NEAS: {"pool": "gcp", "reason": "steered"}
    default: {"pool": "gcp", "reason": "failover"}
"""

from ansible_collections.multicloud.fabric.plugins.module_utils.common.args import argument_spec, provider_argument_spec
from ansible_collections.multicloud.fabric.plugins.module_utils.common.module import FabricModule, run
from ansible_collections.multicloud.fabric.plugins.module_utils.glb.runner import INFO_OPTIONS, info


def module_spec():
    """Everything ``FabricModule`` takes for this module."""
    return {"argument_spec": argument_spec(INFO_OPTIONS, provider_argument_spec("cloudflare", "aws"))}


def main():
    run(FabricModule(supports_check_mode=True, **module_spec()), info)


if __name__ == "__main__":
    main()
