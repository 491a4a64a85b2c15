#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: mc_crdb
short_description: A multi-region CockroachDB database, its survival goal, replication and table localities
version_added: 0.4.0
description:
  - Makes a database of a CockroachDB cluster multi-region as asked, over SQL (psycopg 3), and
    sends only the statements that change something.
  - Reads the current state first (C(SHOW DATABASES), C(SHOW REGIONS FROM DATABASE),
    C(SHOW SURVIVAL GOAL), C(SHOW ZONE CONFIGURATION), C(SHOW TABLES), C(SHOW CLUSTER SETTING))
    and orders what it sends as CockroachDB accepts it; regions are added before the survival goal
    is raised to C(region), the goal is lowered before the database drops below three regions, and
    a region is added before it becomes the primary one.
  - Checks the whole input before any statement. Every region must be a region of a node of the
    cluster (its C(--locality) region tier), survival goal C(region) needs at least three regions
    and at least five replicas, and table localities must name the database's regions.
  - Also manages SQL users with their privileges on the database, and backup schedules into
    C(s3://), C(gs://) and C(azure-blob://) collections (C(SHOW USERS), C(SHOW GRANTS),
    C(SHOW SCHEDULES FOR BACKUP)).
  - In check mode it returns the statements it would run, and runs none.
  - Identifiers are always double-quoted and literals single-quoted, so no input can change what a
    statement does.
author:
  - multicloud.fabric contributors (@multicloud-fabric)
requirements:
  - psycopg >= 3.1 (C(pip install 'psycopg[binary]'))
options:
  connection:
    description: How to reach a node of the cluster (any node; it is the SQL gateway).
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
        description: SQL user. C(root) signs in with its client certificate.
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
    description: Name of the database.
    type: str
    required: true
  state:
    description:
      - C(present) creates the database if needed and makes it as asked.
      - C(absent) drops it with every table in it (C(DROP DATABASE ... CASCADE)).
    type: str
    choices: [present, absent]
    default: present
  primary_region:
    description: The database's primary region. Defaults to the first of O(regions).
    type: str
  regions:
    description:
      - Every region of the database, in order. Regions not listed are dropped from it.
      - Required when O(state=present).
    type: list
    elements: str
  survival_goal:
    description:
      - C(zone) keeps the data available when a zone fails (3 replicas in the home region).
      - C(region) keeps it available when a whole region fails (5 replicas, no region with a majority).
    type: str
    choices: [zone, region]
    default: zone
  replication_factor:
    description:
      - The database's C(num_replicas) (its zone configuration). Left as it is when not given.
      - At least 5 with O(survival_goal=region), at least 3 otherwise.
    type: int
  tables:
    description: Localities of existing tables of the database. Tables not listed are left alone.
    type: list
    elements: dict
    suboptions:
      name:
        description: Table name.
        type: str
        required: true
      locality:
        description:
          - C(global), C(regional_by_row), C(regional_by_table) (its home is the primary region) or
            C(regional_by_table:<region>).
        type: str
        required: true
  settings:
    description:
      - Cluster settings, name to value (C(SET CLUSTER SETTING)). Settings not listed are left alone.
      - Values of settings whose names contain key, secret, password, token or credential are never shown.
    type: dict
  users:
    description:
      - SQL users and their privileges on O(database). Users not listed are left alone.
      - CockroachDB never shows a password, so the module signs in as the user with the password
        given to find out whether it changed, and sends C(ALTER USER ... WITH PASSWORD) only when
        that sign-in fails.
    type: list
    elements: dict
    suboptions:
      name:
        description: User name (not C(root), C(admin), C(public) or C(node)).
        type: str
        required: true
      password:
        description: The user's password. Never shown. Left as it is when not given.
        type: str
      login:
        description: Whether the user may sign in (C(LOGIN)) or is a role (C(NOLOGIN)).
        type: bool
        default: true
      privileges:
        description:
          - Exactly the privileges the user holds on O(database), such as C(CONNECT) and C(CREATE),
            or C(ALL). Left as they are when not given; an empty list revokes them all.
        type: list
        elements: str
      state:
        description: C(absent) revokes the user's privileges on O(database) and drops the user.
        type: str
        choices: [present, absent]
        default: present
  backup_schedules:
    description:
      - Backup schedules of O(database) (C(CREATE SCHEDULE ... FOR BACKUP)), one per label.
        Schedules not listed are left alone.
      - A schedule whose full backups recur less often than its backups is a pair in CockroachDB
        (a full and an incremental schedule with the same label); the module manages the pair.
    type: list
    elements: dict
    suboptions:
      label:
        description: The schedule's label, unique among the schedules listed.
        type: str
        required: true
      destination:
        description:
          - The backup collection, C(s3://), C(gs://) or C(azure-blob://) with the query parameters
            for its credentials (C(AUTH=implicit) uses the nodes' own).
          - The values of secret parameters (C(AWS_SECRET_ACCESS_KEY), C(CREDENTIALS),
            C(AZURE_ACCOUNT_KEY), C(AZURE_CLIENT_SECRET)) are never shown.
          - CockroachDB shows destinations with those values redacted, so a change of only a secret
            value is not seen; to rotate a key, change the schedule's label (or remove and re-add it).
          - Required when O(backup_schedules[].state=present).
        type: str
      recurring:
        description: How often backups run, a cron expression (5 fields) or C(@daily), C(@hourly) etc.
        type: str
      full_backup:
        description: C(always), or a cron expression for full backups with incremental ones between.
        type: str
        default: always
      revision_history:
        description: Keep every revision of the data between backups (C(WITH revision_history)).
        type: bool
        default: true
      state:
        description: C(absent) drops the schedule (and its pair).
        type: str
        choices: [present, absent]
        default: present
attributes:
  check_mode:
    description: Returns the statements it would run, and runs none.
    support: full
  diff_mode:
    description: Returns C(before) and C(after) of the database's multi-region configuration.
    support: full
  action_group:
    description: >-
      Use C(group/multicloud.fabric.mc) in C(module_defaults) to set O(connection) once for this
      module and every other module of the collection.
    support: full
    membership:
      - multicloud.fabric.mc
notes:
  - CockroachDB can refuse a statement for a while after a region fails (SQLSTATE 58C00) or ask
    for a retry (40001); the module reports them as transient errors, and a rerun converges.
seealso:
  - name: CockroachDB multi-region overview
    description: Regions, survival goals and table localities.
    link: https://www.cockroachlabs.com/docs/stable/multiregion-overview
"""

EXAMPLES = r"""
- name: One database over three clouds that survives the loss of a region
  multicloud.fabric.mc_crdb:
    connection:
      host: crdb-public.crdb.svc
      ssl_rootcert: "{{ crdb_certs }}/ca.crt"
      ssl_cert: "{{ crdb_certs }}/client.root.crt"
      ssl_key: "{{ crdb_certs }}/client.root.key"
    database: app
    primary_region: us-east-1
    regions: [us-east-1, us-central1, eastus]
    survival_goal: region
    replication_factor: 5
    tables:
      - name: users
        locality: regional_by_row
      - name: promotions
        locality: global

- name: An application user and nightly backups into two clouds
  multicloud.fabric.mc_crdb:
    connection: "{{ crdb_connection }}"
    database: app
    regions: [us-east-1, us-central1, eastus]
    survival_goal: region
    users:
      - name: app
        password: "{{ vault_crdb_app_password }}"
        privileges: [CONNECT, CREATE]
    backup_schedules:
      - label: app-s3
        destination: "s3://fabric-backups/app?AWS_ACCESS_KEY_ID={{ key_id }}&AWS_SECRET_ACCESS_KEY={{ key }}"
        recurring: "0 * * * *"
        full_backup: "@daily"
      - label: app-azure
        destination: "azure-blob://backups/app?AZURE_ACCOUNT_NAME=fabric&AZURE_ACCOUNT_KEY={{ azure_key }}"
        recurring: "@daily"

- name: What would change?
  multicloud.fabric.mc_crdb:
    connection: "{{ crdb_connection }}"
    database: app
    regions: [us-east-1, us-central1, eastus]
    survival_goal: region
  check_mode: true
  register: plan

- name: Show the statements
  ansible.builtin.debug:
    var: plan.statements
"""

RETURN = r"""
statements:
  description: The statements run (in check mode, those that would run), in order, secrets masked.
  returned: always
  type: list
  elements: str
  sample:
    - ALTER DATABASE "app" ADD REGION "eastus"
    - ALTER DATABASE "app" SURVIVE REGION FAILURE
database:
  description: The database's multi-region configuration after the task.
  returned: always
  type: dict
  contains:
    name:
      description: Database name.
      type: str
    exists:
      description: Whether the database exists after the task.
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
      description: C(num_replicas) of the database's zone configuration.
      type: int
    tables:
      description: Table name to locality, for the tables the task manages.
      type: dict
    settings:
      description: The cluster settings the task manages.
      type: dict
    users:
      description: For the users the task manages, C(login) and C(privileges) on the database (never a password).
      type: dict
    backup_schedules:
      description: >-
        Label to C(destination) (secrets masked), C(recurring), C(full_backup) and
        C(revision_history), for the schedules the task manages.
      type: dict
  sample:
    name: app
    exists: true
    primary_region: us-east-1
    regions: [us-east-1, us-central1, eastus]
    survival_goal: region
    replication_factor: 5
    tables: {users: regional_by_row}
    settings: {}
    users: {app: {login: true, privileges: [CONNECT, CREATE]}}
    backup_schedules:
      app-s3:
        destination: s3://fabric-backups/app?AWS_ACCESS_KEY_ID=AKIA...&AWS_SECRET_ACCESS_KEY=********
        recurring: "0 * * * *"
        full_backup: "@daily"
        revision_history: true
"""

from ansible_collections.multicloud.fabric.plugins.module_utils.common.module import FabricModule, run
from ansible_collections.multicloud.fabric.plugins.module_utils.crdb.runner import OPTIONS, REQUIRED_IF, ensure


def module_spec():
    """Everything ``FabricModule`` takes for this module."""
    return {"argument_spec": dict(OPTIONS), "required_if": REQUIRED_IF}


def main():
    run(FabricModule(supports_check_mode=True, **module_spec()), ensure)


if __name__ == "__main__":
    main()
