# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: clusters
short_description: Every Kubernetes cluster in AWS, Google Cloud and Azure as inventory hosts
version_added: 0.1.0
description:
  - One host per EKS, GKE and AKS cluster that really exists, with the same variables as
    M(multicloud.fabric.mc_cluster) results (prefixed C(mc_)) and C(ansible_connection=local), so
    the playbooks that run against a static inventory of clusters run against what exists.
  - Groups C(clusters), C(aws), C(gcp), C(azure) and one group per cloud and region
    (C(aws_us_east_1)) out of the box; C(compose), C(groups) and C(keyed_groups) add more.
  - Regions, projects and subscriptions are listed concurrently (O(max_workers) at a time). One
    that cannot be listed (unreachable, missing permission) gives a warning naming it and the rest
    of the inventory still loads, unless O(strict_permissions=true).
  - Credentials come from each cloud's section, else from the top-level options below, which Ansible's
    configuration reads from the inventory file, the same environment variables the modules read, or
    C(ansible.cfg) (section C([multicloud_fabric_clusters]), for the options that are not secrets); they
    never appear in host variables or in the cache.
  - The configuration file name must end with C(clusters.yml) or C(clusters.yaml)
    (for example C(prod.clusters.yml) or C(prod.mc_clusters.yml)).
author:
  - multicloud.fabric contributors (@multicloud-fabric)
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin.
    type: str
    required: true
    choices: [multicloud.fabric.clusters]
  aws:
    description:
      - List EKS clusters. Omit to skip AWS.
      - Keys are the provider options of the modules without the C(aws_) prefix (C(access_key), C(secret_key),
        C(session_token), C(profile), C(endpoint_url), C(ca_bundle)); a key not set here takes the value of the
        top-level option of the same name with the prefix (O(aws_access_key), ...), which reads the same
        environment variables as the modules.
      - C(regions), the regions to list; all regions enabled for the account when not set.
      - C(assume_role_arn), a role to assume first (with C(assume_role_session_name)).
      - Values may be templates (lookups, vault variables).
    type: dict
  gcp:
    description:
      - List GKE clusters. Omit to skip Google Cloud.
      - Keys are the provider options without the C(gcp_) prefix (C(project), C(service_account_file),
        C(service_account_contents), C(access_token), C(scopes), C(api_endpoint), C(ca_bundle)); a key not set here
        takes the value of the top-level option O(gcp_project), ... .
      - C(projects), the projects to list (default C(project)); C(locations), regions or zones to keep (all
        when not set).
    type: dict
  azure:
    description:
      - List AKS clusters. Omit to skip Azure.
      - Keys are the provider options without the C(azure_) prefix (C(subscription_id), C(tenant_id),
        C(client_id), C(client_secret), C(username), C(password), C(auth_source), C(cloud_environment),
        C(base_url), C(authority_host), C(ca_bundle)); a key not set here takes the value of the top-level option
        O(azure_subscription_id), ... .
      - C(subscriptions), the subscriptions to list (default C(subscription_id)); C(resource_groups), only these
        groups (the whole subscription when not set); C(locations), locations to keep.
    type: dict
  aws_access_key:
    description: AWS access key ID, for the keys the O(aws) section does not set.
    type: str
    env:
      - name: AWS_ACCESS_KEY_ID
  aws_secret_key:
    description: AWS secret access key. Never shown in host variables, the cache or messages.
    type: str
    env:
      - name: AWS_SECRET_ACCESS_KEY
  aws_session_token:
    description: Session token of temporary AWS credentials. Never shown.
    type: str
    env:
      - name: AWS_SESSION_TOKEN
      - name: AWS_SECURITY_TOKEN
  aws_profile:
    description: Named profile of the AWS shared config and credentials files.
    type: str
    env:
      - name: AWS_PROFILE
    ini:
      - section: multicloud_fabric_clusters
        key: aws_profile
  aws_endpoint_url:
    description: URL that replaces every AWS service endpoint (a private endpoint, an emulator, the sandbox).
    type: str
    env:
      - name: AWS_ENDPOINT_URL
    ini:
      - section: multicloud_fabric_clusters
        key: aws_endpoint_url
  aws_ca_bundle:
    description: PEM file of certificate authorities to trust for the AWS endpoints.
    type: path
    env:
      - name: AWS_CA_BUNDLE
    ini:
      - section: multicloud_fabric_clusters
        key: aws_ca_bundle
  gcp_project:
    description: Google Cloud project, the default of the O(gcp) section's C(projects).
    type: str
    env:
      - name: GCP_PROJECT
      - name: GOOGLE_CLOUD_PROJECT
      - name: CLOUDSDK_CORE_PROJECT
      - name: GCE_PROJECT
    ini:
      - section: multicloud_fabric_clusters
        key: gcp_project
  gcp_service_account_file:
    description: Path of a service-account key file (JSON).
    type: path
    env:
      - name: GCP_SERVICE_ACCOUNT_FILE
      - name: GOOGLE_APPLICATION_CREDENTIALS
      - name: GCE_CREDENTIALS_FILE_PATH
    ini:
      - section: multicloud_fabric_clusters
        key: gcp_service_account_file
  gcp_service_account_contents:
    description: Contents of a service-account key (JSON). Never shown.
    type: str
    env:
      - name: GCP_SERVICE_ACCOUNT_CONTENTS
  gcp_access_token:
    description: OAuth2 access token to use as is. Never shown.
    type: str
    env:
      - name: GCP_ACCESS_TOKEN
  gcp_scopes:
    description: OAuth2 scopes requested for service-account and default credentials.
    type: list
    elements: str
    default: ["https://www.googleapis.com/auth/cloud-platform"]
  gcp_api_endpoint:
    description: Base URL that replaces the Google API endpoints (an emulator, the sandbox).
    type: str
    env:
      - name: GCP_API_ENDPOINT
    ini:
      - section: multicloud_fabric_clusters
        key: gcp_api_endpoint
  gcp_ca_bundle:
    description: PEM file of certificate authorities to trust for the Google endpoints.
    type: path
    env:
      - name: GCP_CA_BUNDLE
    ini:
      - section: multicloud_fabric_clusters
        key: gcp_ca_bundle
  azure_subscription_id:
    description: Azure subscription, the default of the O(azure) section's C(subscriptions).
    type: str
    env:
      - name: AZURE_SUBSCRIPTION_ID
    ini:
      - section: multicloud_fabric_clusters
        key: azure_subscription_id
  azure_tenant_id:
    description: Microsoft Entra tenant of the service principal.
    type: str
    env:
      - name: AZURE_TENANT_ID
      - name: AZURE_TENANT
    ini:
      - section: multicloud_fabric_clusters
        key: azure_tenant_id
  azure_client_id:
    description: Application (client) ID of the service principal or managed identity.
    type: str
    env:
      - name: AZURE_CLIENT_ID
  azure_client_secret:
    description: Client secret of the service principal. Never shown.
    type: str
    env:
      - name: AZURE_CLIENT_SECRET
      - name: AZURE_SECRET
  azure_username:
    description: Microsoft Entra work or school account for user/password sign-in, as the modules' O(azure_username).
    type: str
    env:
      - name: AZURE_USERNAME
      - name: AZURE_AD_USER
  azure_password:
    description: Password of O(azure_username) (user/password sign-in is deprecated by Microsoft). Never shown.
    type: str
    env:
      - name: AZURE_PASSWORD
  azure_auth_source:
    description: Where Azure credentials come from, as for the modules' O(azure_auth_source).
    type: str
    choices: [auto, service_principal, user_password, cli, managed_identity]
    default: auto
    env:
      - name: AZURE_AUTH_SOURCE
    ini:
      - section: multicloud_fabric_clusters
        key: azure_auth_source
  azure_cloud_environment:
    description:
      - Azure cloud (V(AzureCloud), V(AzureChinaCloud), V(AzureUSGovernment)) whose endpoints O(azure_base_url) and
        O(azure_authority_host) default to, as for the modules' O(azure_cloud_environment).
    type: str
    env:
      - name: AZURE_CLOUD_ENVIRONMENT
    ini:
      - section: multicloud_fabric_clusters
        key: azure_cloud_environment
  azure_base_url:
    description:
      - Azure Resource Manager endpoint (a sovereign cloud, an emulator, the sandbox).
      - Default is the endpoint of O(azure_cloud_environment), else V(https://management.azure.com).
    type: str
    env:
      - name: AZURE_BASE_URL
    ini:
      - section: multicloud_fabric_clusters
        key: azure_base_url
  azure_authority_host:
    description:
      - Microsoft Entra authority host that issues tokens.
      - Default is the authority of O(azure_cloud_environment), else V(https://login.microsoftonline.com).
    type: str
    env:
      - name: AZURE_AUTHORITY_HOST
    ini:
      - section: multicloud_fabric_clusters
        key: azure_authority_host
  azure_ca_bundle:
    description: PEM file of certificate authorities to trust for the Azure endpoints.
    type: path
    env:
      - name: AZURE_CA_BUNDLE
    ini:
      - section: multicloud_fabric_clusters
        key: azure_ca_bundle
  hostnames:
    description:
      - Templates for the host name, tried in order; the first that renders to a non-empty string is used.
      - Host variables (C(mc_cloud), C(mc_region), C(mc_name), ...) are available.
    type: list
    elements: str
    default: ["{{ mc_cloud }}-{{ mc_region }}-{{ mc_name }}"]
  filters:
    description: Keep only the clusters that match every given filter.
    type: dict
    suboptions:
      status:
        description: Portable statuses to keep (C(ACTIVE), C(CREATING), C(UPDATING), C(DELETING), C(FAILED)).
        type: list
        elements: str
      versions:
        description: Kubernetes minor versions to keep (V("1.31")).
        type: list
        elements: str
      tags:
        description: Tags/labels that must all be present with these values.
        type: dict
  max_workers:
    description: How many regions, projects and subscriptions are listed at once.
    type: int
    default: 8
    ini:
      - section: multicloud_fabric_clusters
        key: max_workers
  timeout:
    description: Seconds per listing, retries of throttled calls included.
    type: int
    default: 120
    ini:
      - section: multicloud_fabric_clusters
        key: timeout
  strict_permissions:
    description: Fail when a region, project or subscription cannot be listed instead of warning.
    type: bool
    default: false
  kubeconfig:
    description:
      - Write a kubeconfig with a context per discovered cluster (named like the host) to this path.
      - Users are the clouds' credential plugins (C(aws eks get-token), C(gke-gcloud-auth-plugin)) or, on AKS, the
        user entry of C(listClusterUserCredential); no token is written for EKS and GKE.
      - Written on every load, also when the hosts come from the cache; the users are never cached, they
        are made anew.
    type: path
"""

EXAMPLES = r"""
# prod.clusters.yml: every cluster of the platform team, in three clouds
plugin: multicloud.fabric.clusters
aws:
  profile: platform-prod
  regions: [us-east-1, eu-west-1]
gcp:
  projects: [acme-platform]
  service_account_file: /secrets/gcp-inventory.json
azure:
  subscription_id: 00000000-0000-0000-0000-000000000000
  resource_groups: [platform-rg]
filters:
  status: [ACTIVE]
keyed_groups:
  - key: mc_version
    prefix: k8s
  - key: mc_tags.team | default('none')
    prefix: team
compose:
  node_count: mc_node_pools | map(attribute='count') | sum
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ansible-inventory
cache_timeout: 600

---
# sandbox.clusters.yml: the local sandbox, credentials from its endpoints file
plugin: multicloud.fabric.clusters
aws:
  endpoint_url: "{{ (lookup('file', '.sandbox/endpoints.yml') | from_yaml).aws.endpoint_url }}"
  regions: [us-east-1]
"""

import copy
import re
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from ansible.errors import AnsibleError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display

try:  # ansible-core >= 2.19 renders only templates marked as trusted
    from ansible.template import trust_as_template
except ImportError:  # older ansible-core trusts every string

    def trust_as_template(value):
        return value


from ansible_collections.multicloud.fabric.plugins.module_utils.cluster import kubeconfig as kcfg
from ansible_collections.multicloud.fabric.plugins.module_utils.cluster.spec import cluster_result
from ansible_collections.multicloud.fabric.plugins.module_utils.common import clouds, locations
from ansible_collections.multicloud.fabric.plugins.module_utils.common.args import PROVIDER_OPTIONS
from ansible_collections.multicloud.fabric.plugins.module_utils.common.clouds import CLOUDS
from ansible_collections.multicloud.fabric.plugins.module_utils.common.diff import mask
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import FabricError
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Retrier, RetryPolicy

display = Display()
# Keys of a cloud's section that select what to list, not how to connect.
SCOPE_KEYS = {
    "aws": ("regions", "assume_role_arn", "assume_role_session_name"),
    "gcp": ("projects", "locations"),
    "azure": ("subscriptions", "resource_groups", "locations"),
}
# The provider option that a cluster's listing scope sets (the rest is the cloud's section).
SCOPE_PARAMS = {"gcp": "gcp_project", "azure": "azure_subscription_id"}
VAR_KEYS = (
    ("id", "mc_id"),
    ("status", "mc_status"),
    ("provider_status", "mc_provider_status"),
    ("status_message", "mc_status_message"),
    ("version", "mc_version"),
    ("version_full", "mc_version_full"),
    ("endpoint", "mc_endpoint"),
    ("ca_data", "mc_ca_data"),
    ("endpoint_access", "mc_endpoint_access"),
    ("tags", "mc_tags"),
    ("network", "mc_network"),
    ("provider", "mc_provider"),
    ("node_pools", "mc_node_pools"),
)


# A hostname template made only of text and ``{{ variable }}`` references (the default is one).
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def simple_template(template):
    """``[(text, variable or None), ...]`` when ``template`` is plain text and ``{{ variable }}``
    references only, else None (a template that needs Jinja: filters, expressions, blocks)."""
    pieces, position = [], 0
    for found in _VARIABLE.finditer(template):
        pieces.append((template[position : found.start()], found.group(1)))
        position = found.end()
    pieces.append((template[position:], None))
    if any("{" in text or "}" in text for text, _variable in pieces):
        return None
    return pieces


def render_simple(pieces, variables):
    """``pieces`` of :func:`simple_template` filled from ``variables``; None unless every variable
    is a non-empty string (anything else is left to Jinja, which decides how it renders)."""
    parts = []
    for text, variable in pieces:
        parts.append(text)
        if variable is not None:
            value = variables.get(variable)
            if not isinstance(value, str) or not value:
                return None
            parts.append(value)
    return "".join(parts)


def plain(value):
    """``value`` with every string a plain ``str``: values read from the inventory file carry
    ansible-core's tags (origin, trusted as template), which would follow the cloud names they
    make into host variables and the cache (and make every cached string an object to decode)."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def group_name(*parts):
    """A valid group name: ``aws_us_east_1``."""
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(str(p) for p in parts if p))


def host_vars(cluster):
    """Inventory variables of one cluster, ``mc_``-prefixed ``mc_cluster`` result keys.

    The values are the cluster's own (not copies): each cluster description is made fresh for one
    host, by the cloud listing or the cache load."""
    variables = {
        "ansible_connection": "local",
        "mc_cloud": cluster["cloud"],
        "mc_region": cluster["region"],
        "mc_name": cluster["name"],
    }
    for key, var in VAR_KEYS:
        variables[var] = cluster.get(key)
    return variables


def matches(cluster, filters):
    """Whether ``cluster`` passes every given filter."""
    filters = filters or {}
    if filters.get("status") and cluster.get("status") not in filters["status"]:
        return False
    if filters.get("versions") and cluster.get("version") not in [str(v) for v in filters["versions"]]:
        return False
    tags = cluster.get("tags") or {}
    return all(str(tags.get(key)) == str(value) for key, value in (filters.get("tags") or {}).items())


class ListingError(Exception):
    """A scope (region, project, subscription) that could not be listed; its text names it."""


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "multicloud.fabric.clusters"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("clusters.yml", "clusters.yaml"))

    # ------------------------------------------------------------------ discovery

    def _template(self, value):
        if isinstance(value, str) and self.templar.is_template(value):
            return self.templar.template(value)
        if isinstance(value, dict):
            return {k: self._template(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._template(v) for v in value]
        return value

    def _retrier(self, cloud):
        return Retrier(cloud, policy=RetryPolicy(timeout=float(self.get_option("timeout"))))

    def _connection(self, cloud, params, region=None):
        """One connection per cloud and credential set for the whole run, shared by its units: an
        SDK session and its clients (per region, for AWS) are built once, not once per unit."""
        key = (cloud, tuple(sorted((name, repr(value)) for name, value in params.items())))
        with self._connections_lock:
            connection = self._connections.get(key)
            if connection is None:
                connection = clouds.connect(cloud, params, self._retrier(cloud), region=region)
                self._connections[key] = connection
        return connection

    def _scopes(self, cloud, section, params):
        """``(label, params, region, provider)`` units of listing work for one cloud."""
        regions = section.get("regions")
        if cloud == "aws" and not regions:
            regions = self._aws_regions(params, section)
        return locations.listing_scopes(
            cloud,
            params,
            regions=regions,
            projects=section.get("projects"),
            resource_groups=section.get("resource_groups"),
            subscriptions=section.get("subscriptions"),
        )

    def _aws_regions(self, params, section):
        connection = self._connection("aws", params, region=section.get("region") or "us-east-1")
        try:
            response = connection.call(
                connection.ec2.describe_regions, resource="regions", call="DescribeRegions", AllRegionStatus=False
            )
        except FabricError as error:
            raise AnsibleError(f"multicloud.fabric.clusters: cannot list the AWS regions: {error.describe()}") from None
        return sorted(r["RegionName"] for r in response.get("Regions") or [])

    def _result(self, adapter, cluster, scope):
        """The inventory's description of a listed cluster: its result, the scope it was listed in
        (region, project, subscription: no credential) and, for a kubeconfig, its CA and user."""
        result = cluster_result(cluster)
        result["_scope"] = scope
        return self._with_user(adapter, result, cluster)

    def _with_user(self, adapter, result, current=None):
        current = result if current is None else current
        if self._kubeconfig_path and result["status"] == "ACTIVE":
            if not result.get("ca_data"):  # AKS lists clusters without their CA
                result["ca_data"] = (adapter.read(current) or {}).get("ca_data")
            result["_kube_user"] = adapter.kube_user(current, mode="exec")
        return result

    def _guarded(self, label, work):
        try:
            return work()
        except FabricError as error:
            raise ListingError(f"{label}: {error.describe()}") from None
        except Exception as error:  # pylint: disable=broad-except
            raise ListingError(f"{label}: {type(error).__name__}: {error}") from None

    def _list_unit(self, cloud, unit):
        """One scope: its clusters, or the per-cluster work still to do (``(fn, *args)`` for the
        pool): where the cloud lists only names (EKS) the reads, and where a kubeconfig is written
        each cluster's CA and user, so that a scope's clusters are not completed one after the other."""
        label, params, region, provider = unit
        scope = {"region": region} if region else {}
        if cloud in SCOPE_PARAMS:
            scope["params"] = {SCOPE_PARAMS[cloud]: params.get(SCOPE_PARAMS[cloud])}

        def work():
            adapter = clouds.clusters(cloud, self._connection(cloud, params, region))
            if adapter.lists_by_name:
                names = adapter.names(region, provider)
                return [], [(self._read_one, label, adapter, region, name, scope) for name in names]
            listed = adapter.list(region=region, provider=provider)
            if self._kubeconfig_path:
                return [], [(self._complete_one, label, adapter, cluster, scope) for cluster in listed]
            return [self._result(adapter, cluster, scope) for cluster in listed], []

        return self._guarded(label, work)

    def _read_one(self, label, adapter, region, name, scope):
        def work():
            cluster = adapter.read({"region": region, "name": name})
            return ([self._result(adapter, cluster, scope)] if cluster else []), []

        return self._guarded(f"{label} cluster {name}", work)

    def _complete_one(self, label, adapter, cluster, scope):
        return self._guarded(
            f"{label} cluster {cluster['name']}", lambda: ([self._result(adapter, cluster, scope)], [])
        )

    def _provider_params(self, cloud, section):
        """Module-style provider options (``aws_access_key`` ...) from a cloud's section, falling back
        to the top-level options of the same names (inventory file, environment, ansible.cfg)."""
        prefix = f"{cloud}_"
        params = {}
        for name, option in PROVIDER_OPTIONS[cloud].items():
            value = section.get(name[len(prefix) :])
            if value is None:
                value = plain(self.get_option(name))
            if value in (None, "") and "default" in option:
                value = copy.deepcopy(option["default"])
            params[name] = value if value != "" else None
        return params

    def _sections(self):
        """``{cloud: (section, params)}`` of the configured clouds (templated, checked, with the
        assumed role's credentials for AWS), and the secret values to mask in messages."""
        sections, secrets = {}, []
        for cloud in CLOUDS:
            section = self.get_option(cloud)
            if section is None:
                continue
            section = plain(self._template(dict(section)))
            unknown = set(section) - set(SCOPE_KEYS[cloud]) - {n[len(cloud) + 1 :] for n in PROVIDER_OPTIONS[cloud]}
            if cloud == "aws":
                unknown -= {"region"}
            if unknown:
                raise AnsibleError(f"multicloud.fabric.clusters: unknown key {cloud}.{sorted(unknown)[0]}")
            params = self._provider_params(cloud, section)
            secrets += [
                v for n, v in params.items() if PROVIDER_OPTIONS[cloud][n].get("no_log") and isinstance(v, str) and v
            ]
            if cloud == "aws" and section.get("assume_role_arn"):
                params = self._assume_role(params, section)
                secrets += [params["aws_secret_key"], params["aws_session_token"]]
            sections[cloud] = (section, params)
        return sections, secrets

    def _run(self, tasks, secrets):
        """Run ``tasks`` (``(fn, *args)`` returning ``(clusters, more tasks)``) in the worker pool;
        the clusters found, after warning about (or, strict, failing on) the scopes that failed."""
        clusters, failures = [], []
        workers = max(1, int(self.get_option("max_workers")))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mc-inventory") as pool:
            pending = {pool.submit(*task) for task in tasks}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    try:
                        found, more = future.result()
                    except ListingError as error:
                        failures.append(mask(str(error), secrets))
                        continue
                    clusters += found
                    pending |= {pool.submit(*task) for task in more}
        for failure in failures:
            message = f"multicloud.fabric.clusters: could not list {failure}"
            if self.get_option("strict_permissions"):
                raise AnsibleError(message)
            display.warning(message)
        return clusters

    def discover(self, sections, secrets):
        """Every cluster of the configured clouds, listed concurrently."""
        tasks = []
        for cloud, (section, params) in sections.items():
            tasks += [(self._list_unit, cloud, unit) for unit in self._scopes(cloud, section, params)]
        clusters = self._run(tasks, secrets)
        keep_locations = {cloud: sections[cloud][0].get("locations") for cloud in ("gcp", "azure") if cloud in sections}
        clusters = [
            c
            for c in clusters
            if not keep_locations.get(c["cloud"]) or locations.in_locations(c["region"], keep_locations[c["cloud"]])
        ]
        clusters.sort(key=lambda c: (c["cloud"], c["region"], c["name"]))
        return clusters

    def _complete_cached(self, sections, cluster):
        """Make the kubeconfig user (and, where the cache has none, the CA) of a cluster loaded from
        the cache, with the connection of the scope it was listed in."""
        cloud, scope = cluster["cloud"], cluster.get("_scope") or {}
        label = f"{cloud} cluster {cluster['name']} ({cluster['region']})"

        def work():
            params = dict(sections[cloud][1], **(scope.get("params") or {}))
            adapter = clouds.clusters(cloud, self._connection(cloud, params, scope.get("region")))
            return [self._with_user(adapter, cluster)], []

        return self._guarded(label, work)

    def _assume_role(self, params, section):
        connection = clouds.connect("aws", params, self._retrier("aws"), region=section.get("region") or "us-east-1")
        try:
            return connection.assume_role(
                section["assume_role_arn"], section.get("assume_role_session_name") or "multicloud-fabric-inventory"
            )
        except FabricError as error:
            raise AnsibleError(
                f"multicloud.fabric.clusters: cannot assume {section['assume_role_arn']}: {error.describe()}"
            ) from None

    # ------------------------------------------------------------------ inventory

    def _hostname(self, variables):
        for template, pieces in self._hostname_templates:
            name = render_simple(pieces, variables) if pieces is not None else None
            if name is None:
                self.templar.available_variables = variables
                name = self.templar.template(trust_as_template(template))
            if name:
                return str(name)
        raise AnsibleError(f"multicloud.fabric.clusters: no hostname template rendered for {variables['mc_name']}")

    def populate(self, clusters):
        strict = self.get_option("strict")
        self.inventory.add_group("clusters")
        kube_entries = []
        for cluster in clusters:
            if not matches(cluster, self.get_option("filters")):
                continue
            variables = host_vars(cluster)
            host = self._hostname(variables)
            variables["mc_kube_context"] = host
            cloud_group = self.inventory.add_group(cluster["cloud"])
            self.inventory.add_child("clusters", cloud_group)
            region_group = self.inventory.add_group(group_name(cluster["cloud"], cluster["region"]))
            self.inventory.add_child(cloud_group, region_group)
            self.inventory.add_host(host, group=region_group)
            for key, value in variables.items():
                self.inventory.set_variable(host, key, value)
            self._set_composite_vars(self.get_option("compose"), variables, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, host, strict=strict)
            if self._kubeconfig_path and cluster.get("_kube_user") and cluster.get("endpoint"):
                kube_entries.append(kcfg.entry(cluster, cluster["_kube_user"], host))
        if self._kubeconfig_path and kube_entries:

            def merge_all(config):
                for entry in kube_entries:
                    config = kcfg.merge(config, entry)
                return config

            kcfg.update_file(self._kubeconfig_path, merge_all)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path)
        self._read_config_data(path)
        self._kubeconfig_path = self.get_option("kubeconfig")
        self._connections = {}
        self._connections_lock = threading.Lock()
        # Parsed once per run: rendering a plain hostname template needs no Jinja compile per host.
        self._hostname_templates = [(t, simple_template(t)) for t in self.get_option("hostnames")]
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        clusters = None
        if use_cache:
            try:
                clusters = self._cache[cache_key]
            except KeyError:
                update_cache = True
        # A cache hit calls no cloud unless a kubeconfig is written: its users are never cached.
        if clusters is None or self._kubeconfig_path:
            sections, secrets = self._sections()
            if clusters is not None:
                clusters = self._complete_all_cached(sections, secrets, clusters)
            if clusters is None:
                clusters = self.discover(sections, secrets)
                update_cache = bool(self.get_option("cache"))
        if update_cache:
            # Only cluster descriptions are cached: no credentials, no kubeconfig users.
            self._cache[cache_key] = [{k: v for k, v in c.items() if k != "_kube_user"} for c in clusters]
        self.populate(clusters)

    def _complete_all_cached(self, sections, secrets, cached):
        """The cached clusters with the kubeconfig users made anew, in the worker pool; None (list
        again) when the cache holds clusters of a cloud no longer configured or from a version of
        this plugin that did not record their scope."""
        cached = [dict(c) for c in cached]
        if any(c["cloud"] not in sections or "_scope" not in c for c in cached):
            return None
        ready = [c for c in cached if c.get("status") == "ACTIVE"]
        completed = self._run([(self._complete_cached, sections, c) for c in ready], secrets)
        # A cluster whose user could not be made (warned about) stays a host, without a context.
        done = {(c["cloud"], c["region"], c["name"]) for c in completed}
        clusters = completed + [c for c in cached if (c["cloud"], c["region"], c["name"]) not in done]
        clusters.sort(key=lambda c: (c["cloud"], c["region"], c["name"]))
        return clusters
