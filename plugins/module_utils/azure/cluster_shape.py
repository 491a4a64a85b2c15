# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AKS managed clusters <-> the portable cluster shape (``cluster/spec.py``): pure functions on
the REST JSON (camelCase) of the SDK models.

A portable cluster is a managed cluster in a resource group; its node pools are agent pools (the
first one in System mode, the others in User mode).
"""

from __future__ import annotations

import copy
import functools
import re

from ansible_collections.multicloud.fabric.plugins.module_utils.azure.client import CLOUD, parse_id
from ansible_collections.multicloud.fabric.plugins.module_utils.azure.client import (
    resource_group_of as client_resource_group_of,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.common.kube import minor_of

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
_TAINT = re.compile(r"^([^=:\s]+)(?:=([^:\s]*))?:(\w+)$")
_DNS_PREFIX_BAD = re.compile(r"[^A-Za-z0-9-]")


def portable_status(provisioning_state):
    """CREATING|ACTIVE|UPDATING|DELETING|FAILED for an AKS provisioningState."""
    if not provisioning_state:
        return "UPDATING"
    return STATUS.get(str(provisioning_state).lower(), "UPDATING")


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
        "version": minor_of(profile.get("orchestratorVersion") or profile.get("currentOrchestratorVersion")),
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
        "kubernetes_version": minor_of(props.get("kubernetesVersion") or props.get("currentKubernetesVersion")),
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


# The resource group of a desired cluster; the error names azure.resource_group.
resource_group_of = functools.partial(client_resource_group_of, what="AKS clusters")
