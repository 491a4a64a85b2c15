#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: mc_crdb_info
short_description: Health of a multi-region CockroachDB cluster, its ranges, backup schedules and replication lag
version_added: 0.4.0
description:
  - Reads, over SQL (psycopg 3) through one gateway node, what a CockroachDB cluster looks like
    right now; never changes it, except for the opt-in lag probe (O(lag_probes)).
  - Nodes with their locality, liveness and draining state from C(crdb_internal.gossip_nodes) and
    C(crdb_internal.gossip_liveness), and per region how many of its nodes are live.
  - Unavailable and under-replicated ranges, summed over the live nodes' stores from the
    C(ranges.unavailable), C(ranges.underreplicated) and C(ranges) metrics of
    C(crdb_internal.kv_store_status).
  - With O(database), its primary region, regions, survival goal and replication factor
    (C(SHOW REGIONS FROM DATABASE), C(SHOW SURVIVAL GOAL), C(SHOW ZONE CONFIGURATION)).
  - Backup schedules (C(SHOW SCHEDULES FOR BACKUP)) and the last job each started
    (C(system.jobs) and C(crdb_internal.jobs)). The schedules' commands, whose destinations can
    hold storage keys, are not returned.
  - With O(lag_probes), the replication lag between regions, measured. This is the only write the
    module does, and why it is opt-in.
  - A gateway of O(lag_probes) that cannot be reached (its region is down) is reported as an error
    for its region; only a failure of O(connection) fails the task.
author:
  - multicloud.fabric contributors (@multicloud-fabric)
requirements:
  - psycopg >= 3.1 (C(pip install 'psycopg[binary]'))
options:
  connection:
    description: How to reach a node of the cluster (any live node; it is the SQL gateway).
    type: dict
    required: true
    suboptions:
      host:
        description: Address of a node's SQL port (its load balancer or a pod's Service).
        type: str
        required: true
      port:
        description: SQL port.
        type: int
        default: 26257
      user:
        description: >-
          SQL user. C(root) signs in with its client certificate. Reading the jobs and schedules
          needs the C(admin) role.
        type: str
        default: root
      password:
        description: Password of O(connection.user), when it signs in with one. Never shown.
        type: str
      sslmode:
        description: libpq's TLS mode. Secure clusters need C(verify-full) or C(verify-ca).
        type: str
        default: verify-full
        choices: [disable, allow, prefer, require, verify-ca, verify-full]
      ssl_rootcert:
        description: The cluster's CA certificate (PEM file).
        type: path
      ssl_cert:
        description: The client certificate of O(connection.user) (PEM file).
        type: path
      ssl_key:
        description: The client certificate's private key (PEM file, mode 0600).
        type: path
      connect_timeout:
        description: Seconds to wait for the connection.
        type: int
        default: 10
  database:
    description: A database whose multi-region configuration to return as RV(database).
    type: str
  lag_probes:
    description:
      - One gateway per region to measure replication lag between. The first one that connects
        writes, for each gateway in turn, a row with a unique key and its write time into
        C(defaultdb.public.mc_fabric_lag_probe) (created if missing), polls through that gateway
        until the row is visible, and deletes it. The seconds from the committed write to the
        first read that sees the row are that region's RV(replication_lag); they include that
        read's round trip, so they are an upper bound. The writer's own region reads its own
        write (a baseline).
      - These writes are the only ones the module does; they happen in check mode too.
      - A gateway that cannot be reached, or whose read fails or times out, is reported as an
        error for its region.
    type: list
    elements: dict
    suboptions:
      name:
        description: The label of the gateway's region in RV(replication_lag) (for example C(us-east-1)); unique.
        type: str
        required: true
      host:
        description: Address of the SQL port of a node in that region.
        type: str
        required: true
      port:
        description: SQL port.
        type: int
        default: 26257
      user:
        description: >-
          SQL user; it needs C(CREATE) on C(defaultdb) the first time, and C(INSERT), C(SELECT)
          and C(DELETE) on the probe table.
        type: str
        default: root
      password:
        description: Password of the user, when it signs in with one. Never shown.
        type: str
      sslmode:
        description: libpq's TLS mode.
        type: str
        default: verify-full
        choices: [disable, allow, prefer, require, verify-ca, verify-full]
      ssl_rootcert:
        description: The cluster's CA certificate (PEM file).
        type: path
      ssl_cert:
        description: The client certificate of the user (PEM file).
        type: path
      ssl_key:
        description: The client certificate's private key (PEM file, mode 0600).
        type: path
      connect_timeout:
        description: Seconds to wait for the connection.
        type: int
        default: 10
  lag_timeout:
    description: >-
      Seconds to wait for a probe row to be visible through a gateway before reporting a timeout
      for its region.
    type: float
    default: 10.0
attributes:
  check_mode:
    description: Runs as without check mode (the lag probe, when asked, still writes and deletes its rows).
    support: full
  diff_mode:
    description: Returns no diff; it changes nothing.
    support: none
  action_group:
    description: >-
      Use C(group/multicloud.fabric.mc) in C(module_defaults) to set O(connection) once for this
      module and every other module of the collection.
    support: full
    membership:
      - multicloud.fabric.mc
notes:
  - The range counts come from the store metrics of the live nodes; a range whose replicas are
    all on dead nodes has no live store to count it in CockroachDB, so check RV(regions) too.
  - Always returns C(changed=false).
seealso:
  - module: multicloud.fabric.mc_crdb
  - name: CockroachDB crdb_internal
    description: The virtual tables the module reads.
    link: https://www.cockroachlabs.com/docs/stable/crdb-internal
"""

EXAMPLES = r"""
- name: Cluster health through the Azure gateway
  multicloud.fabric.mc_crdb_info:
    connection:
      host: crdb-public.crdb.svc
      ssl_rootcert: "{{ crdb_certs }}/ca.crt"
      ssl_cert: "{{ crdb_certs }}/client.root.crt"
      ssl_key: "{{ crdb_certs }}/client.root.key"
    database: app
  register: crdb

- name: The cluster survived the loss of a region
  ansible.builtin.assert:
    that:
      - crdb.nodes_live == 6
      - crdb.ranges.unavailable == 0

- name: Replication lag between the three regions (crdb_tls holds sslmode and the certificate paths)
  multicloud.fabric.mc_crdb_info:
    connection: "{{ crdb_connection }}"
    lag_probes:
      - "{{ crdb_tls | combine({'name': 'us-east-1', 'host': 'crdb.aws.example.internal'}) }}"
      - "{{ crdb_tls | combine({'name': 'us-central1', 'host': 'crdb.gcp.example.internal'}) }}"
      - "{{ crdb_tls | combine({'name': 'eastus', 'host': 'crdb.azure.example.internal'}) }}"
    lag_timeout: 5
  register: lag

- name: Show the lag per region
  ansible.builtin.debug:
    var: lag.replication_lag
"""

RETURN = r"""
nodes:
  description: Every node of the cluster.
  returned: always
  type: list
  elements: dict
  contains:
    node_id:
      description: Node ID.
      type: int
    address:
      description: The node's address as gossiped.
      type: str
    locality:
      description: The node's C(--locality) tiers, in order.
      type: dict
    region:
      description: Its C(region) tier.
      type: str
    cloud:
      description: Its C(cloud) tier.
      type: str
    is_live:
      description: Whether the node is live.
      type: bool
    draining:
      description: Whether the node is draining (shutting down).
      type: bool
    membership:
      description: C(active), C(decommissioning) or C(decommissioned). Decommissioned nodes are not counted.
      type: str
  sample:
    - node_id: 1
      address: crdb-aws-0.crdb.svc:26257
      locality: {cloud: aws, region: us-east-1, zone: us-east-1a}
      region: us-east-1
      cloud: aws
      is_live: false
      draining: false
      membership: active
regions:
  description: Region to how many of its nodes are live, and how many it has.
  returned: always
  type: dict
  sample: {us-east-1: {live: 0, total: 3}, us-central1: {live: 3, total: 3}, eastus: {live: 3, total: 3}}
nodes_live:
  description: How many nodes are live.
  returned: always
  type: int
  sample: 6
nodes_total:
  description: How many nodes the cluster has (decommissioned ones left out).
  returned: always
  type: int
  sample: 9
ranges:
  description: Range health, summed over the live nodes' stores.
  returned: always
  type: dict
  contains:
    unavailable:
      description: Ranges without a quorum of live replicas; reads and writes of them fail.
      type: int
    under_replicated:
      description: Ranges with fewer live replicas than their zone configuration asks for.
      type: int
    total:
      description: Ranges counted.
      type: int
  sample: {unavailable: 0, under_replicated: 12, total: 40}
database:
  description: The multi-region configuration of O(database).
  returned: when O(database) is given
  type: dict
  contains:
    name:
      description: Database name.
      type: str
    exists:
      description: Whether it exists; the other keys are missing when it does not.
      type: bool
    primary_region:
      description: Primary region.
      type: str
    regions:
      description: Regions in order.
      type: list
      elements: str
    survival_goal:
      description: C(zone) or C(region).
      type: str
    replication_factor:
      description: C(num_replicas) of its zone configuration.
      type: int
  sample:
    name: app
    exists: true
    primary_region: us-east-1
    regions: [us-east-1, us-central1, eastus]
    survival_goal: region
    replication_factor: 5
replication_lag:
  description:
    - Name of each of O(lag_probes) to the seconds from the probe write to the first read through
      that gateway that saw it, or, when it could not be measured, a dict with C(error) (the
      message), C(kind) and C(sqlstate).
  returned: when O(lag_probes) is given
  type: dict
  sample:
    us-east-1:
      error: "cockroachdb: connect to crdb.aws.example.internal:26257 as root failed: ..."
      kind: transient
      sqlstate: null
    us-central1: 0.0121
    eastus: 0.0087
lag_writer:
  description: Name of the probe whose gateway wrote the rows (the first that connected); null when none did.
  returned: when O(lag_probes) is given
  type: str
  sample: us-central1
backup_schedules:
  description: Backup schedules, with the last job each started. Null when they could not be read (a warning says why).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Schedule ID.
      type: int
    label:
      description: Schedule label (a full and an incremental schedule share one).
      type: str
    status:
      description: C(ACTIVE) or C(PAUSED).
      type: str
    recurrence:
      description: Its crontab expression.
      type: str
    next_run:
      description: When it runs next (ISO 8601), null when paused.
      type: str
    state:
      description: What the scheduler last said about it.
      type: str
    backup_type:
      description: >-
        C(full) or C(incremental) (CockroachDB pairs the two under one label when full backups
        recur less often than backups).
      type: str
    jobs_running:
      description: How many of its jobs are running.
      type: int
    last_run:
      description: Its newest job, null when it has not run yet.
      type: dict
      contains:
        job_id:
          description: Job ID.
          type: int
        status:
          description: C(running), C(succeeded), C(failed), ...
          type: str
        started:
          description: When the job was created (ISO 8601).
          type: str
        finished:
          description: When it finished (ISO 8601), null while running.
          type: str
        error:
          description: Why it failed, null otherwise.
          type: str
  sample:
    - id: 1000000000000000001
      label: app-daily
      status: ACTIVE
      recurrence: "@daily"
      next_run: "2024-05-02T00:00:00+00:00"
      state: pending
      backup_type: full
      jobs_running: 0
      last_run:
        job_id: 1000000000000000003
        status: succeeded
        started: "2024-05-01T00:00:00+00:00"
        finished: "2024-05-01T00:02:10+00:00"
        error: null
"""

from ansible_collections.multicloud.fabric.plugins.module_utils.common.module import FabricModule, run
from ansible_collections.multicloud.fabric.plugins.module_utils.crdb.info import OPTIONS, gather


def module_spec():
    """Everything ``FabricModule`` takes for this module."""
    return {"argument_spec": dict(OPTIONS)}


def main():
    run(FabricModule(supports_check_mode=True, **module_spec()), gather)


if __name__ == "__main__":
    main()
