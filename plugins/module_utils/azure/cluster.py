# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AKS managed clusters in the portable cluster shape (``cluster/spec.py``).

A portable cluster is a managed cluster in a resource group; its node pools are agent pools (the
first one in System mode, the others in User mode). Every change is one ARM long-running
operation: :meth:`Clusters.apply` starts it and keeps the SDK's poller, :meth:`Clusters.wait` waits
for the poller within the deadline and then until the cluster and every pool are ``Succeeded``,
stopping at once with the operation's error when it failed.

Reads are cheap: ``ManagedClusters_Get`` and ``AgentPools_List``. The cluster CA (``ca_data``) comes
from ``listClusterUserCredential``, which AKS answers with a whole kubeconfig (and which the
sandbox answers with a freshly signed client certificate): it is fetched once per connection and
cluster, the first time the cluster is read ACTIVE, and cached.

The translation functions are pure and work on the REST JSON (camelCase) of the SDK models.
"""

from __future__ import annotations

import base64
import copy
import re

from ansible_collections.multicloud.fabric.plugins.module_utils.azure.client import (
    CLOUD,
    parse_id,
    to_wire,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    AUTH,
    CONFLICT,
    DENIED,
    NOT_FOUND,
    TIMEOUT,
    VALIDATION,
    FabricError,
    NotFoundError,
    ResourceFailedError,
    ValidationError,
)

try:
    import yaml
except ImportError as exc:  # pragma: no cover - PyYAML comes with ansible-core
    yaml = None
    YAML_IMPORT_ERROR = exc
else:
    YAML_IMPORT_ERROR = None

# AKS provisioningState -> portable status.
STATUS = {
    "creating": "CREATING",
    "succeeded": "ACTIVE",
    "updating": "UPDATING",
    "upgrading": "UPDATING",
    "scaling": "UPDATING",
    "deleting": "DELETING",
    "failed": "FAILED",
    "canceled": "FAILED",
    "cancelled": "FAILED",
}
# Labels and taints AKS sets itself (spot pools, system pools): not part of the portable shape.
INTERNAL_PREFIX = "kubernetes.azure.com/"
# Properties AKS computes; they are left out of PUT bodies built from a GET.
CLUSTER_READ_ONLY = (
    "provisioningState",
    "powerState",
    "currentKubernetesVersion",
    "fqdn",
    "azurePortalFQDN",
    "privateFQDN",
    "maxAgentPools",
    "resourceUID",
    "status",
)
POOL_READ_ONLY = ("provisioningState", "currentOrchestratorVersion", "nodeImageVersion", "eTag", "status")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)")
_TAINT = re.compile(r"^([^=:\s]+)(?:=([^:\s]*))?:(\w+)$")
_DNS_PREFIX_BAD = re.compile(r"[^A-Za-z0-9-]")
KUBECONFIG_FORMAT = "exec"  # AAD clusters: a kubelogin exec user; others: a client certificate


# ----------------------------------------------------------------------------- translation


def portable_status(provisioning_state):
    """CREATING|ACTIVE|UPDATING|DELETING|FAILED for an AKS provisioningState."""
    if not provisioning_state:
        return "UPDATING"
    return STATUS.get(str(provisioning_state).lower(), "UPDATING")


def minor(version):
    """``"1.31"`` for ``"1.31"``, ``"1.31.4"`` or ``"v1.31.4"``; None for None."""
    found = _VERSION.match(str(version or "").strip())
    return f"{int(found.group(1))}.{int(found.group(2))}" if found else None


def format_taint(taint):
    """``key=value:Effect`` (``key:Effect`` without a value), as AKS's nodeTaints hold them."""
    if taint.get("value"):
        return f"{taint['key']}={taint['value']}:{taint['effect']}"
    return f"{taint['key']}:{taint['effect']}"


def parse_taint(text):
    """``{"key", "value", "effect"}`` of an AKS taint string, or None when it is not one."""
    found = _TAINT.match(str(text or "").strip())
    if not found:
        return None
    return {"key": found.group(1), "value": found.group(2) or "", "effect": found.group(3)}


def _internal_taint(text):
    return str(text).startswith(INTERNAL_PREFIX)


def default_dns_prefix(name):
    """A DNS prefix AKS accepts from a cluster name (letters, digits and '-', at most 54)."""
    prefix = _DNS_PREFIX_BAD.sub("-", name).strip("-")[:54].strip("-")
    return prefix or "aks"


def pool_profile(pool, *, mode=None, subnet_id=None, version=None):
    """The agent pool profile (REST JSON, with ``name``) for a desired portable pool."""
    profile = {
        "name": pool["name"],
        "count": pool["count"],
        "vmSize": pool["machine_type"],
        "type": "VirtualMachineScaleSets",
        "osType": "Linux",
        "nodeLabels": dict(pool.get("labels") or {}),
        "nodeTaints": [format_taint(t) for t in pool.get("taints") or []],
    }
    if mode:
        profile["mode"] = mode
    autoscaling = pool.get("min_count") is not None and pool.get("max_count") is not None
    profile["enableAutoScaling"] = autoscaling
    if autoscaling:
        profile["minCount"] = pool["min_count"]
        profile["maxCount"] = pool["max_count"]
    if pool.get("spot"):
        profile["scaleSetPriority"] = "Spot"
        profile["scaleSetEvictionPolicy"] = "Delete"
        profile["spotMaxPrice"] = -1
    if pool.get("disk_size_gb"):
        profile["osDiskSizeGB"] = pool["disk_size_gb"]
    if subnet_id:
        profile["vnetSubnetID"] = subnet_id
    if version:
        profile["orchestratorVersion"] = version
    return profile


def cluster_body(desired):
    """The managed cluster PUT body that creates ``desired`` with every one of its node pools."""
    provider = desired.get("provider") or {}
    network = desired.get("network") or {}
    subnet_id = (network.get("subnet_ids") or [None])[0]
    pools = [
        pool_profile(pool, mode="System" if index == 0 else "User", subnet_id=subnet_id)
        for index, pool in enumerate(desired.get("node_pools") or [])
    ]
    properties = {
        "dnsPrefix": provider.get("dns_prefix") or default_dns_prefix(desired["name"]),
        "enableRBAC": True,
        "agentPoolProfiles": pools,
        "apiServerAccessProfile": {"enablePrivateCluster": desired.get("endpoint_access") == "private"},
    }
    if desired.get("kubernetes_version"):
        properties["kubernetesVersion"] = desired["kubernetes_version"]
    if provider.get("network_plugin"):
        properties["networkProfile"] = {"networkPlugin": provider["network_plugin"]}
    return {
        "location": desired["region"],
        "tags": dict(desired.get("tags") or {}),
        "identity": {"type": "SystemAssigned"},
        "properties": properties,
    }


def _without_nulls(value):
    """A copy of REST JSON without null members (a GET's null means 'not set'; a PUT must not say so)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _writable_pool(profile):
    pool = _without_nulls(profile)
    if not pool.get("orchestratorVersion") and pool.get("currentOrchestratorVersion"):
        pool["orchestratorVersion"] = pool["currentOrchestratorVersion"]
    for key in POOL_READ_ONLY:
        pool.pop(key, None)
    return pool


def upgrade_body(cluster, version):
    """The PUT body upgrading only the control plane of ``cluster`` (a GET's REST JSON) to ``version``.

    The whole current model goes back (ARM's PUT replaces), with ``kubernetesVersion`` changed and
    every agent pool's ``orchestratorVersion`` kept: AKS's control-plane-only upgrade.
    """
    body = _without_nulls(cluster)
    for key in ("systemData", "eTag", "etag"):
        body.pop(key, None)
    props = body.setdefault("properties", {})
    for key in CLUSTER_READ_ONLY:
        props.pop(key, None)
    props["kubernetesVersion"] = version
    props["agentPoolProfiles"] = [_writable_pool(p) for p in props.get("agentPoolProfiles") or []]
    return body


def _flat_pool(pool):
    """An agent pool as a flat profile: AgentPools_* answer ``{"name", "properties": {...}}``."""
    if isinstance(pool.get("properties"), dict):
        return dict(pool["properties"], name=pool.get("name"))
    return dict(pool)


def pool_version_body(pool, version):
    """The agent pool PUT body (``{"properties": ...}``) upgrading ``pool`` (REST JSON) to ``version``."""
    props = _writable_pool(_flat_pool(pool))
    props.pop("name", None)
    props["orchestratorVersion"] = version
    return {"properties": props}


def pool_update_body(pool, changes):
    """The agent pool PUT body applying a planner's ``changes`` (count, min/max_count, labels, taints).

    ``pool`` is the current agent pool's REST JSON; labels and taints AKS set itself are kept.
    """
    props = _writable_pool(_flat_pool(pool))
    props.pop("name", None)
    if "count" in changes:
        props["count"] = changes["count"]
    if "min_count" in changes or "max_count" in changes:
        low = changes["min_count"] if "min_count" in changes else props.get("minCount")
        high = changes["max_count"] if "max_count" in changes else props.get("maxCount")
        if low is None or high is None:
            props["enableAutoScaling"] = False
            props.pop("minCount", None)
            props.pop("maxCount", None)
        else:
            props["enableAutoScaling"] = True
            props["minCount"], props["maxCount"] = low, high
    if "labels" in changes:
        kept = {k: v for k, v in (props.get("nodeLabels") or {}).items() if k.startswith(INTERNAL_PREFIX)}
        props["nodeLabels"] = dict(kept, **dict(changes["labels"] or {}))
    if "taints" in changes:
        kept = [t for t in props.get("nodeTaints") or [] if _internal_taint(t)]
        props["nodeTaints"] = kept + [format_taint(t) for t in changes["taints"] or []]
    return {"properties": props}


def pool_from_arm(pool):
    """A portable node pool (with version and status) from an agent pool's REST JSON."""
    profile = _flat_pool(pool)
    autoscaling = bool(profile.get("enableAutoScaling"))
    labels = {k: v for k, v in (profile.get("nodeLabels") or {}).items() if not k.startswith(INTERNAL_PREFIX)}
    taints = [parse_taint(t) for t in profile.get("nodeTaints") or [] if not _internal_taint(t)]
    state = profile.get("provisioningState")
    return {
        "name": profile.get("name"),
        "count": profile.get("count"),
        "min_count": profile.get("minCount") if autoscaling else None,
        "max_count": profile.get("maxCount") if autoscaling else None,
        "machine_type": profile.get("vmSize"),
        "labels": labels,
        "taints": [t for t in taints if t is not None],
        "spot": str(profile.get("scaleSetPriority") or "").lower() == "spot",
        "disk_size_gb": profile.get("osDiskSizeGB"),
        "version": minor(profile.get("orchestratorVersion") or profile.get("currentOrchestratorVersion")),
        "status": portable_status(state),
        "provider_status": state,
    }


def _network_id(subnet_id):
    found = re.split(r"/subnets/", subnet_id, maxsplit=1, flags=re.IGNORECASE)
    return found[0] if len(found) == 2 else None


def status_message(cluster):
    """AKS's own text about a cluster's state ('' when it has none)."""
    props = cluster.get("properties") or {}
    error = (props.get("status") or {}).get("provisioningError") or {}
    message = error.get("message") or ""
    if error.get("code") and message:
        message = f"{error['code']}: {message}"
    power = (props.get("powerState") or {}).get("code")
    if not message and power and power != "Running":
        message = f"the cluster's power state is {power}"
    return message


def cluster_from_arm(cluster, pools=None, desired=None, ca_data=None):
    """The portable current cluster from a managed cluster's REST JSON.

    ``pools`` are the agent pools' REST JSON (AgentPools_List); without them the cluster's own
    ``agentPoolProfiles`` are used. ``purge_tags`` (not recorded by Azure) comes from ``desired``.
    """
    desired = desired or {}
    props = cluster.get("properties") or {}
    profiles = [_flat_pool(p) for p in (pools if pools is not None else props.get("agentPoolProfiles") or [])]
    subnet_ids = []
    for profile in profiles:
        subnet = profile.get("vnetSubnetID")
        if subnet and subnet not in subnet_ids:
            subnet_ids.append(subnet)
    state = props.get("provisioningState")
    fqdn = props.get("fqdn") or props.get("privateFQDN")
    access = props.get("apiServerAccessProfile") or {}
    network_profile = props.get("networkProfile") or {}
    return {
        "cloud": CLOUD,
        "region": cluster.get("location"),
        "name": cluster.get("name"),
        "kubernetes_version": minor(props.get("kubernetesVersion") or props.get("currentKubernetesVersion")),
        "endpoint_access": "private" if access.get("enablePrivateCluster") else "public",
        "tags": dict(cluster.get("tags") or {}),
        "purge_tags": bool(desired.get("purge_tags", False)),
        "node_pools": [pool_from_arm(p) for p in profiles],
        "network": {
            "id": _network_id(subnet_ids[0]) if subnet_ids else None,
            "subnet_ids": subnet_ids,
            "pods_range": None,
            "services_range": None,
        },
        "provider": {
            "resource_group": parse_id(cluster.get("id")).get("resource_group"),
            "dns_prefix": props.get("dnsPrefix"),
            "network_plugin": network_profile.get("networkPlugin"),
        },
        "id": cluster.get("id"),
        "status": portable_status(state),
        "provider_status": state,
        "status_message": status_message(cluster),
        "version_full": props.get("currentKubernetesVersion") or props.get("kubernetesVersion"),
        "endpoint": f"https://{fqdn}" if fqdn else None,
        "ca_data": ca_data,
        "raw": copy.deepcopy(cluster),
    }


def idle_state(current):
    """ACTIVE when the cluster and every pool are; FAILED when any is; else what is in progress."""
    states = [current["status"]] + [p["status"] for p in current.get("node_pools") or []]
    if "FAILED" in states:
        return "FAILED"
    if all(state == "ACTIVE" for state in states):
        return "ACTIVE"
    return current["status"] if current["status"] != "ACTIVE" else "UPDATING"


def failure_message(current):
    """The cluster's message, else the failed pools' names and states."""
    if current.get("status_message"):
        return current["status_message"]
    failed = [
        f"{p['name']} ({p['provider_status']})" for p in current.get("node_pools") or [] if p["status"] == "FAILED"
    ]
    text = f"provisioningState {current.get('provider_status')}"
    return f"{text}; failed node pools: {', '.join(failed)}" if failed else text


def parse_kubeconfig(value):
    """A kubeconfig (dict) from listClusterUserCredential's value (bytes, or base64 text)."""
    if yaml is None:
        raise FabricError(f"PyYAML is not installed ({YAML_IMPORT_ERROR})", cloud=CLOUD, kind=VALIDATION)
    if isinstance(value, str):
        value = base64.b64decode(value)
    config = yaml.safe_load(bytes(value).decode("utf-8"))
    if not isinstance(config, dict):
        raise FabricError("listClusterUserCredential returned no kubeconfig", cloud=CLOUD)
    return config


def _named(items, name):
    for item in items or []:
        if item.get("name") == name:
            return item
    return (items or [None])[0]


def kubeconfig_user(config):
    """The ``user`` mapping of the kubeconfig's current context (its first user without one)."""
    context = _named(config.get("contexts"), config.get("current-context")) or {}
    user = _named(config.get("users"), (context.get("context") or {}).get("user")) or {}
    return copy.deepcopy(user.get("user") or {})


def kubeconfig_ca_data(config):
    """``certificate-authority-data`` of the kubeconfig's current cluster (None when absent)."""
    context = _named(config.get("contexts"), config.get("current-context")) or {}
    cluster = _named(config.get("clusters"), (context.get("context") or {}).get("cluster")) or {}
    return (cluster.get("cluster") or {}).get("certificate-authority-data")


def resource_group_of(desired):
    group = (desired.get("provider") or {}).get("resource_group")
    if not group:
        raise ValidationError("azure.resource_group", "AKS clusters live in a resource group; name it")
    return group


# ----------------------------------------------------------------------------- adapter


class Clusters:
    """Reads and changes AKS clusters through a :class:`Connection`."""

    # ManagedClusters_List returns whole clusters: list() is one call per scope.
    lists_by_name = False

    def __init__(self, conn):
        self.conn = conn
        self._pollers = {}  # (group, name) lower-case -> (poller, call)
        # listClusterUserCredential answers fetched by read() for the CA, kept for the next
        # kube_user() of the same cluster so one task does not ask twice.
        self._unused_kubeconfigs = {}

    @staticmethod
    def _resource(group, name, pool=None):
        where = f"managed cluster {name} (resource group {group})"
        return f"agent pool {pool} of {where}" if pool else where

    @staticmethod
    def _key(group, name):
        return (group.lower(), name.lower())

    @property
    def _ca_cache(self):
        return self.conn.cache.setdefault("aks_ca_data", {})

    # ------------------------------------------------------------------ reading

    def _get(self, group, name):
        try:
            cluster = self.conn.call(
                self.conn.containerservice.managed_clusters.get,
                group,
                name,
                resource=self._resource(group, name),
                call="ManagedClusters_Get",
            )
        except NotFoundError:
            return None
        return to_wire(cluster)

    def _pools(self, group, name):
        try:
            pools = self.conn.items(
                self.conn.containerservice.agent_pools.list,
                group,
                name,
                resource=self._resource(group, name),
                call="AgentPools_List",
            )
        except NotFoundError:
            return None
        return [to_wire(p) for p in pools]

    def read(self, desired):
        """The current cluster (portable shape) named like ``desired``, or None when absent.

        ``ca_data`` is filled from the connection's cache, or fetched (listClusterUserCredential)
        once the cluster is ACTIVE.
        """
        group = resource_group_of(desired)
        cluster = self._get(group, desired["name"])
        if cluster is None:
            return None
        pools = self._pools(group, desired["name"])
        current = cluster_from_arm(cluster, pools, desired)
        current["ca_data"] = self._ca_data(current)
        return current

    def list(self, region=None, provider=None):
        """Every managed cluster of the subscription (or of ``provider.resource_group``).

        Node pools come from each cluster's ``agentPoolProfiles``; ``ca_data`` only from the
        connection's cache (:meth:`read` fetches it).
        """
        group = (provider or {}).get("resource_group")
        ops = self.conn.containerservice.managed_clusters
        try:
            if group:
                found = self.conn.items(
                    ops.list_by_resource_group,
                    group,
                    resource=f"resource group {group}",
                    call="ManagedClusters_ListByResourceGroup",
                )
            else:
                found = self.conn.items(ops.list, resource="managed clusters", call="ManagedClusters_List")
        except NotFoundError:
            return []
        shapes = []
        for cluster in found:
            current = cluster_from_arm(to_wire(cluster))
            current["ca_data"] = self._ca_cache.get(str(current["id"]).lower())
            shapes.append(current)
        if region:
            wanted = str(region).lower().replace(" ", "")
            shapes = [s for s in shapes if str(s["region"]).lower().replace(" ", "") == wanted]
        return shapes

    def names(self, region=None, provider=None):
        """Names of the clusters :meth:`list` returns, sorted."""
        return sorted(cluster["name"] for cluster in self.list(region, provider))

    def _ca_data(self, current):
        key = str(current["id"]).lower()
        if key in self._ca_cache:
            return self._ca_cache[key]
        if current["status"] != "ACTIVE":
            return None
        try:
            self.kubeconfig(current)  # fills the cache
        except FabricError as exc:
            if exc.kind in (NOT_FOUND, CONFLICT, DENIED):
                return None
            raise
        return self._ca_cache.get(key)

    def kubeconfig(self, current):
        """The kubeconfig (dict) of listClusterUserCredential for ``current`` (holds credentials)."""
        group = current["provider"]["resource_group"]
        name = current["name"]
        result = self.conn.call(
            self.conn.containerservice.managed_clusters.list_cluster_user_credentials,
            group,
            name,
            format=KUBECONFIG_FORMAT,
            resource=self._resource(group, name),
            call="ManagedClusters_ListClusterUserCredentials",
        )
        kubeconfigs = getattr(result, "kubeconfigs", None) or []
        if not kubeconfigs:
            raise FabricError(
                "listClusterUserCredential returned no kubeconfig",
                cloud=CLOUD,
                resource=self._resource(group, name),
                call="ManagedClusters_ListClusterUserCredentials",
            )
        config = parse_kubeconfig(kubeconfigs[0].value)
        ca_data = kubeconfig_ca_data(config)
        if ca_data and current.get("id"):
            self._ca_cache[str(current["id"]).lower()] = ca_data
            self._unused_kubeconfigs[str(current["id"]).lower()] = config
        return config

    def kube_user(self, current, mode="token"):
        """The kubeconfig ``user`` entry for ``current``: in both modes the user of
        listClusterUserCredential's kubeconfig (a client certificate for clusters with local
        accounts; a kubelogin ``exec`` entry for Entra ID (AAD) clusters)."""
        if mode not in ("token", "exec"):
            raise ValidationError("mode", f"expected token or exec, got {mode!r}")
        config = self._unused_kubeconfigs.pop(str(current.get("id") or "").lower(), None)
        return kubeconfig_user(config or self.kubeconfig(current))

    # ------------------------------------------------------------------ changing

    def apply(self, action, desired, current):
        """Start one planner action (an ARM long-running operation) and keep its poller for :meth:`wait`."""
        kind = action["action"]
        group = resource_group_of(desired)
        name = desired["name"]
        cs = self.conn.containerservice
        resource = self._resource(group, name)
        if kind == "create_cluster":
            call = "ManagedClusters_CreateOrUpdate"
            poller = self.conn.begin(
                cs.managed_clusters.begin_create_or_update,
                group,
                name,
                cluster_body(desired),
                resource=resource,
                call=call,
            )
        elif kind == "upgrade_control_plane":
            call = "ManagedClusters_CreateOrUpdate"
            model = self.conn.call(cs.managed_clusters.get, group, name, resource=resource, call="ManagedClusters_Get")
            poller = self.conn.begin(
                cs.managed_clusters.begin_create_or_update,
                group,
                name,
                upgrade_body(to_wire(model), action["version"]),
                resource=resource,
                call=call,
            )
        elif kind in ("upgrade_node_pool", "update_node_pool"):
            call = "AgentPools_CreateOrUpdate"
            pool = action["pool"]
            resource = self._resource(group, name, pool)
            model = to_wire(
                self.conn.call(cs.agent_pools.get, group, name, pool, resource=resource, call="AgentPools_Get")
            )
            if kind == "upgrade_node_pool":
                body = pool_version_body(model, action["version"])
            else:
                body = pool_update_body(model, action.get("changes") or {})
            poller = self.conn.begin(
                cs.agent_pools.begin_create_or_update, group, name, pool, body, resource=resource, call=call
            )
        elif kind == "create_node_pool":
            call = "AgentPools_CreateOrUpdate"
            pool = action["pool"]
            resource = self._resource(group, name, pool["name"])
            subnets = (desired.get("network") or {}).get("subnet_ids") or ((current or {}).get("network") or {}).get(
                "subnet_ids"
            )
            profile = pool_profile(pool, mode="User", subnet_id=(subnets or [None])[0])
            profile.pop("name")
            poller = self.conn.begin(
                cs.agent_pools.begin_create_or_update,
                group,
                name,
                pool["name"],
                {"properties": profile},
                resource=resource,
                call=call,
            )
        elif kind == "delete_node_pool":
            call = "AgentPools_Delete"
            resource = self._resource(group, name, action["pool"])
            poller = self.conn.begin(
                cs.agent_pools.begin_delete, group, name, action["pool"], resource=resource, call=call
            )
        elif kind == "update_tags":
            call = "ManagedClusters_UpdateTags"
            poller = self.conn.begin(
                cs.managed_clusters.begin_update_tags,
                group,
                name,
                {"tags": dict(action["tags"])},
                resource=resource,
                call=call,
            )
        elif kind == "delete_cluster":
            call = "ManagedClusters_Delete"
            poller = self.conn.begin(cs.managed_clusters.begin_delete, group, name, resource=resource, call=call)
            self._ca_cache.pop(str((current or {}).get("id") or "").lower(), None)
        else:
            raise ValidationError("action", f"the Azure cluster adapter has no action {kind!r}")
        self._pollers[self._key(group, name)] = (poller, resource, call)

    def wait(self, desired, action, deadline):
        """Block until ``action``'s operation finished and the cluster and its pools are Succeeded.

        Returns the current cluster (None after ``delete_cluster``). A failed operation or a
        Failed cluster / pool raises :class:`ResourceFailedError` with AKS's message.
        """
        group = resource_group_of(desired)
        name = desired["name"]
        resource = self._resource(group, name)
        kind = action["action"]
        entry = self._pollers.pop(self._key(group, name), None)
        if entry is not None:
            poller, op_resource, call = entry
            try:
                self.conn.finish(poller, resource=op_resource, call=call, deadline=deadline)
            except FabricError as exc:
                if exc.kind in (AUTH, DENIED, TIMEOUT, VALIDATION):
                    raise
                # Polling throttled or hit a 5xx (or the cluster is gone after a delete): the reads
                # below decide.
                if not (exc.retryable or (kind == "delete_cluster" and exc.kind == NOT_FOUND)):
                    raise ResourceFailedError(
                        f"the operation failed: {exc.message}",
                        cloud=CLOUD,
                        resource=op_resource,
                        call=call,
                        status=exc.status,
                        code=exc.code,
                    ) from exc
        if kind == "delete_cluster":
            waiter = self.conn.waiter(
                resource,
                state_of=lambda c: c["status"],
                success=("ABSENT",),
                failure=("FAILED",),
                failure_message=failure_message,
            )
            self.conn.wait(waiter, lambda: self._light(group, name), deadline)
            return None
        waiter = self.conn.waiter(
            resource,
            state_of=idle_state,
            success=("ACTIVE",),
            failure=("FAILED",),
            failure_message=failure_message,
        )
        return self.conn.wait(waiter, lambda: self.read(desired), deadline)

    def _light(self, group, name):
        cluster = self._get(group, name)
        return None if cluster is None else cluster_from_arm(cluster)
