#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: mc_global_lb
short_description: One global load balancer on Cloudflare or Route 53 from one portable spec
version_added: 0.3.0
description:
  - Manages the load balancer of one hostname that steers users by location to pools of
    origins (one pool per cloud or region) and fails over when a pool is unhealthy.
  - The same spec drives both providers. B(Cloudflare) gets one monitor, one pool per O(pools)
    entry (both account-scoped) and the zone's load balancer (C(region_pools),
    C(country_pools), C(default_pools), C(fallback_pool), C(steering_policy)), through the
    official C(cloudflare) SDK. B(Route 53) gets one health check per pool and, per steering
    entry, a record set of the hostname with C(GeoLocation) (continent or country, plus the
    default C(*) record for O(fallback_pool)), C(Failover) C(PRIMARY)/C(SECONDARY) or C(Weight),
    each with its C(SetIdentifier) and C(HealthCheckId), through boto3.
  - Everything is validated before the first call, with errors naming the field; provider rules
    included (region and country codes, monitor interval at least the timeout, a Route 53 pool
    is one origin, hostname inside the zone).
  - Objects are found again by name and description (Cloudflare) or caller reference and set
    identifier (Route 53), never by ids kept elsewhere, so a run that stopped half-way converges
    on the next run.
  - Drain a pool for maintenance or a disaster-recovery drill with C(enabled=false) in its
    O(pools) entry and restore it with C(enabled=true); nothing else changes. On Route 53 a
    drained pool's records are withdrawn and the locations it served fall to the next record
    (continent, then the default record, whose pool becomes the first enabled default pool).
  - The role C(multicloud.fabric.global_lb) builds the pools from the application's
    LoadBalancer addresses in every cluster and runs this module as a layer of C(site.yml).
author:
  - multicloud.fabric contributors (@multicloud-fabric)
options:
  state:
    description: C(present) makes the provider match the spec; C(absent) removes every object of O(hostname).
    type: str
    choices: [present, absent]
    default: present
  pools:
    description:
      - The pools, in no particular order; O(steering) and O(fallback_pool) name them.
      - Required with O(state=present).
    type: list
    elements: dict
    suboptions:
      name:
        description: Pool name, 1-64 letters, digits, C(-) or C(_); unique.
        type: str
        required: true
      cloud:
        description: The cloud the pool's origins run in (reported back by M(multicloud.fabric.mc_global_lb_info)).
        type: str
      region:
        description: The region the pool's origins run in.
        type: str
      enabled:
        description: C(false) drains the pool (it serves no traffic and is not checked); C(true) restores it.
        type: bool
        default: true
      description:
        description: Free text kept with the pool.
        type: str
      origins:
        description: The pool's origins. Route 53 takes exactly one per pool.
        type: list
        elements: dict
        required: true
        suboptions:
          name:
            description: Origin name, default its address.
            type: str
          address:
            description: IP address or host name.
            type: str
            required: true
          weight:
            description: Share of the pool's traffic, 0 to 1.
            type: float
            default: 1.0
          enabled:
            description: C(false) takes this origin out of the pool.
            type: bool
            default: true
  monitor:
    description:
      - The health check every pool's origins get. Cloudflare takes interval 5-3600 s,
        timeout 1-10 s, retries 0-5; Route 53 checks every 10 or 30 s, O(monitor.retries) is its
        failure threshold (1-10) and it takes no timeout, headers or method other than GET.
    type: dict
    suboptions:
      type:
        description: Protocol of the check.
        type: str
        choices: [http, https]
      path:
        description: Path requested, default C(/health).
        type: str
      port:
        description: Port, default 80 or 443 by O(monitor.type).
        type: int
      method:
        description: HTTP method, default C(GET).
        type: str
      expected_codes:
        description: Status code or class that means healthy, e.g. C(200) or C(2xx). Default C(200).
        type: str
      interval:
        description: Seconds between checks (default 60 on Cloudflare, 30 on Route 53).
        type: int
      timeout:
        description: Seconds a check may take (Cloudflare; default 5).
        type: int
      retries:
        description: Failed checks before an origin counts as unhealthy (default 2).
        type: int
      headers:
        description: Request headers of the check, name to value (Cloudflare).
        type: dict
  steering:
    description: How clients are steered.
    type: dict
    suboptions:
      policy:
        description:
          - C(geo) (default) by O(steering.regions) and O(steering.countries); C(random) among
            the healthy default pools; Cloudflare also C(off) (failover in O(steering.default_pools)
            order), C(dynamic_latency), C(proximity), C(least_outstanding_requests),
            C(least_connections); Route 53 also C(failover) (PRIMARY and SECONDARY).
        type: str
      regions:
        description:
          - Location code to the pools that serve it, in failover order. Cloudflare region codes
            (WNAM, ENAM, WEU, EEU, NSAM, SSAM, OC, ME, NAF, SAF, SAS, SEAS, NEAS); Route 53
            continent codes (AF, AN, AS, EU, NA, OC, SA) with exactly one pool each.
        type: dict
      countries:
        description: ISO 3166-1 alpha-2 country code to pools, as O(steering.regions); a country wins over its region.
        type: dict
      default_pools:
        description: Pools for everyone else, in failover order (default all pools in O(pools) order).
        type: list
        elements: str
  fallback_pool:
    description:
      - The pool of last resort, one of O(pools). Cloudflare serves it when every other pool is
        down; on Route 53 it is the default C(*) geolocation record.
    type: str
  ttl:
    description: DNS TTL in seconds (Cloudflare 1 = automatic or 30-86400, default 30; Route 53 default 60).
    type: int
  proxied:
    description: Cloudflare only, whether traffic goes through Cloudflare's proxy (default false).
    type: bool
  session_affinity:
    description: Cloudflare only, C(none), C(cookie), C(ip_cookie) or C(header).
    type: str
  wait_timeout:
    description: Seconds the module may spend retrying throttled or failing API calls in all.
    type: int
    default: 600
notes:
  - Check mode reports exactly the actions a run would take and sends no write; diff mode shows
    the monitor, pools and load balancer (Cloudflare) or health checks and records (Route 53)
    before and after.
  - Throttling (429) and server errors are retried with jittered backoff within O(wait_timeout);
    the SDKs' own retries are off.
extends_documentation_fragment:
  - multicloud.fabric.global_lb
  - multicloud.fabric.cloudflare
  - multicloud.fabric.aws
  - multicloud.fabric.attributes
seealso:
  - module: multicloud.fabric.mc_global_lb_info
"""

EXAMPLES = r"""
- name: One hostname, New York to AWS, Tokyo to GCP, London to Azure
  multicloud.fabric.mc_global_lb:
    provider: cloudflare
    hostname: app.example.com
    pools:
      - {name: aws, cloud: aws, region: us-east-1, origins: [{address: 203.0.113.10}]}
      - {name: gcp, cloud: gcp, region: us-central1, origins: [{address: 203.0.113.20}]}
      - {name: azure, cloud: azure, region: eastus, origins: [{address: 203.0.113.30}]}
    monitor: {type: http, path: /health, interval: 60, timeout: 5, retries: 2}
    steering:
      policy: geo
      regions: {ENAM: [aws, gcp], WNAM: [aws, gcp], NEAS: [gcp, aws], WEU: [azure, aws]}
      countries: {JP: [gcp, azure]}
    fallback_pool: aws
    cloudflare_api_token: "{{ vault_cloudflare_token }}"

- name: Drain the AWS pool for maintenance (run again with enabled true to restore)
  multicloud.fabric.mc_global_lb:
    provider: cloudflare
    hostname: app.example.com
    pools:
      - {name: aws, cloud: aws, region: us-east-1, enabled: false, origins: [{address: 203.0.113.10}]}
      - {name: gcp, cloud: gcp, region: us-central1, origins: [{address: 203.0.113.20}]}
      - {name: azure, cloud: azure, region: eastus, origins: [{address: 203.0.113.30}]}
    monitor: {type: http, path: /health}
    steering: {policy: geo, regions: {ENAM: [aws, gcp], NEAS: [gcp, aws], WEU: [azure, aws]}}
    fallback_pool: aws

- name: The same on Route 53, by continent with the default record on AWS
  multicloud.fabric.mc_global_lb:
    provider: route53
    hostname: app.example.com
    pools:
      - {name: aws, cloud: aws, region: us-east-1, origins: [{address: 203.0.113.10}]}
      - {name: gcp, cloud: gcp, region: us-central1, origins: [{address: 203.0.113.20}]}
      - {name: azure, cloud: azure, region: eastus, origins: [{address: 203.0.113.30}]}
    monitor: {type: http, path: /health, interval: 10, retries: 3}
    steering: {policy: geo, regions: {NA: [aws], AS: [gcp], EU: [azure]}}
    fallback_pool: aws

- name: Remove it
  multicloud.fabric.mc_global_lb:
    provider: cloudflare
    hostname: app.example.com
    state: absent
"""

RETURN = r"""
load_balancer:
  description: The load balancer as the provider holds it after the run, in the portable shape; empty when absent.
  returned: always
  type: dict
  contains:
    provider:
      description: C(cloudflare) or C(route53).
      type: str
    hostname:
      description: The hostname.
      type: str
    zone:
      description: The zone.
      type: str
    id:
      description: The provider's id of the load balancer (Cloudflare) or hosted zone (Route 53).
      type: str
    pools:
      description:
        - Each pool with C(name), C(id) (Cloudflare pool or Route 53 health check), C(cloud),
          C(region), C(enabled), C(origins).
      type: list
      elements: dict
    steering:
      description: C(policy), C(regions), C(countries) and C(default_pools) by pool name.
      type: dict
    fallback_pool:
      description: The fallback pool.
      type: str
  sample:
    provider: cloudflare
    hostname: app.example.com
    pools: [{"name": "aws", "cloud": "aws", "region": "us-east-1", "enabled": true}]
    steering:
      policy: geo
      regions: {"ENAM": ["aws", "gcp"]}
      countries: {}
      default_pools: [aws, gcp, azure]
    fallback_pool: aws
actions:
  description: What the run did (in check mode, would do), in order.
  returned: always
  type: list
  elements: dict
  sample:
    - {"action": "create", "kind": "monitor", "name": "app.example.com", "spec": {"path": "/health"}}
    - {"action": "update", "kind": "pool", "name": "aws", "changes": {"enabled": {"before": true, "after": false}}}
"""

from ansible_collections.multicloud.fabric.plugins.module_utils.common.args import argument_spec, provider_argument_spec
from ansible_collections.multicloud.fabric.plugins.module_utils.common.module import FabricModule, run
from ansible_collections.multicloud.fabric.plugins.module_utils.glb.runner import OPTIONS, REQUIRED_IF, ensure


def module_spec():
    """Everything ``FabricModule`` takes for this module."""
    return {
        "argument_spec": argument_spec(OPTIONS, provider_argument_spec("cloudflare", "aws")),
        "required_if": REQUIRED_IF,
    }


def main():
    run(FabricModule(supports_check_mode=True, **module_spec()), ensure)


if __name__ == "__main__":
    main()
