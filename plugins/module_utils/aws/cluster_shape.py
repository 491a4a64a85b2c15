# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EKS objects <-> the portable cluster shape (``cluster/spec.py``): pure functions, no SDK.

A portable cluster is an EKS control plane (``DescribeCluster``) plus one managed node group per
node pool (``DescribeNodegroup``); this module maps their status words, health texts, scaling
configs, labels and taints both ways and builds the request parameters of the writes.
"""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.aws.client import CLOUD, to_plain
from ansible_collections.multicloud.fabric.plugins.module_utils.aws.tags import user_tags
from ansible_collections.multicloud.fabric.plugins.module_utils.common.kube import (
    TAINT_EFFECT_FROM_API,
    TAINT_EFFECT_TO_API,
    minor_of,
)

# Portable status of an EKS cluster / node group status.
CLUSTER_STATUS = {
    "PENDING": "CREATING",
    "CREATING": "CREATING",
    "ACTIVE": "ACTIVE",
    "UPDATING": "UPDATING",
    "DELETING": "DELETING",
    "FAILED": "FAILED",
}
NODEGROUP_STATUS = {
    "CREATING": "CREATING",
    "ACTIVE": "ACTIVE",
    "UPDATING": "UPDATING",
    "DELETING": "DELETING",
    "CREATE_FAILED": "FAILED",
    "DELETE_FAILED": "FAILED",
    "DEGRADED": "FAILED",
}


def cluster_status(status):
    """Portable status of an EKS cluster status word (unknown words pass through)."""
    return CLUSTER_STATUS.get(status, status)


def nodegroup_status(status):
    """Portable status of an EKS node group status word (unknown words pass through)."""
    return NODEGROUP_STATUS.get(status, status)


def health_message(obj):
    """EKS's own text for a cluster's or node group's health issues ('' when healthy)."""
    issues = ((obj or {}).get("health") or {}).get("issues") or []
    parts = []
    for issue in issues:
        message = issue.get("message") or ""
        code = issue.get("code")
        parts.append(f"{code}: {message}" if code and message else (message or code or ""))
    return "; ".join(part for part in parts if part)


def aws_provider(desired):
    """The AWS part of a cluster's ``provider``: ``provider.aws`` when nested, else ``provider``."""
    provider = (desired or {}).get("provider") or {}
    if isinstance(provider.get("aws"), dict):
        provider = provider["aws"]
    return {
        "role_arn": provider.get("role_arn"),
        "node_role_arn": provider.get("node_role_arn"),
        "security_group_ids": list(provider.get("security_group_ids") or []),
    }


def taint_to_eks(taint):
    out = {"key": taint["key"], "effect": TAINT_EFFECT_TO_API.get(taint["effect"], taint["effect"])}
    if taint.get("value") not in (None, ""):
        out["value"] = str(taint["value"])
    return out


def taint_from_eks(taint):
    return {
        "key": taint["key"],
        "value": taint.get("value") or "",
        "effect": TAINT_EFFECT_FROM_API.get(taint.get("effect"), taint.get("effect")),
    }


def is_fixed_size(min_size, max_size, desired_size):
    """True when a node group's scaling config means 'no autoscaling': min = desired and
    max = desired (or 1 for an empty group, EKS's least maxSize)."""
    return min_size == desired_size and max_size == max(desired_size, 1)


def scaling_config(count, min_count=None, max_count=None):
    """EKS ``scalingConfig`` of a pool: min = max = desired = count without autoscaling."""
    count = int(count)
    if min_count is None or max_count is None:
        return {"minSize": count, "maxSize": max(count, 1), "desiredSize": count}
    return {"minSize": int(min_count), "maxSize": int(max_count), "desiredSize": count}


def _disk_size(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def nodegroup_to_pool(nodegroup):
    """An EKS node group -> the portable node pool shape (plus version, status and EKS's health text)."""
    scaling = nodegroup.get("scalingConfig") or {}
    desired_size = scaling.get("desiredSize", 0)
    min_size, max_size = scaling.get("minSize"), scaling.get("maxSize")
    if is_fixed_size(min_size, max_size, desired_size):
        min_size = max_size = None
    instance_types = nodegroup.get("instanceTypes") or []
    return {
        "name": nodegroup["nodegroupName"],
        "count": desired_size,
        "min_count": min_size,
        "max_count": max_size,
        "machine_type": instance_types[0] if instance_types else None,
        "labels": dict(nodegroup.get("labels") or {}),
        "taints": sorted(
            (taint_from_eks(t) for t in nodegroup.get("taints") or ()), key=lambda t: (t["key"], t["effect"])
        ),
        "spot": nodegroup.get("capacityType") == "SPOT",
        "disk_size_gb": _disk_size(nodegroup.get("diskSize")),
        "version": minor_of(nodegroup.get("version")),
        "status": nodegroup_status(nodegroup.get("status")),
        "provider_status": nodegroup.get("status"),
        "status_message": health_message(nodegroup),
    }


def cluster_to_portable(cluster, nodegroups, region, desired=None):
    """An EKS cluster (DescribeCluster's ``cluster``) and its node groups -> the portable shape."""
    vpc = cluster.get("resourcesVpcConfig") or {}
    version = cluster.get("version")
    platform = cluster.get("platformVersion")
    node_roles = [ng.get("nodeRole") for ng in nodegroups if ng.get("nodeRole")]
    network_config = cluster.get("kubernetesNetworkConfig") or {}
    return {
        "cloud": CLOUD,
        "region": region,
        "name": cluster["name"],
        "id": cluster.get("arn"),
        "kubernetes_version": minor_of(version),
        "version_full": f"{version}-{platform}" if version and platform else version,
        "endpoint_access": "public" if vpc.get("endpointPublicAccess", True) else "private",
        "tags": user_tags(cluster.get("tags")),
        "purge_tags": bool((desired or {}).get("purge_tags", False)),
        "node_pools": sorted((nodegroup_to_pool(ng) for ng in nodegroups), key=lambda p: p["name"]),
        "network": {
            "id": vpc.get("vpcId"),
            "subnet_ids": sorted(vpc.get("subnetIds") or []),
            "pods_range": None,
            "services_range": network_config.get("serviceIpv4Cidr"),
        },
        "provider": {
            "role_arn": cluster.get("roleArn"),
            "node_role_arn": node_roles[0] if node_roles else aws_provider(desired)["node_role_arn"],
            "security_group_ids": sorted(vpc.get("securityGroupIds") or []),
        },
        "status": cluster_status(cluster.get("status")),
        "provider_status": cluster.get("status"),
        "status_message": health_message(cluster),
        "endpoint": cluster.get("endpoint"),
        "ca_data": (cluster.get("certificateAuthority") or {}).get("data"),
        "raw": to_plain(cluster),
    }


def cluster_request(desired):
    """``CreateCluster`` parameters of a desired cluster (without its node pools)."""
    provider = aws_provider(desired)
    network = desired.get("network") or {}
    public = desired.get("endpoint_access", "public") != "private"
    vpc = {
        "subnetIds": list(network.get("subnet_ids") or []),
        "endpointPublicAccess": public,
        # Nodes reach the API server inside the VPC either way.
        "endpointPrivateAccess": True,
    }
    if provider["security_group_ids"]:
        vpc["securityGroupIds"] = list(provider["security_group_ids"])
    params = {"name": desired["name"], "roleArn": provider["role_arn"], "resourcesVpcConfig": vpc}
    if desired.get("kubernetes_version"):
        params["version"] = str(desired["kubernetes_version"])
    tags = user_tags(desired.get("tags"))
    if tags:
        params["tags"] = tags
    if network.get("services_range"):
        params["kubernetesNetworkConfig"] = {"serviceIpv4Cidr": network["services_range"]}
    return params


def nodegroup_request(cluster_name, pool, subnet_ids, node_role_arn):
    """``CreateNodegroup`` parameters of a desired node pool."""
    params = {
        "clusterName": cluster_name,
        "nodegroupName": pool["name"],
        "scalingConfig": scaling_config(pool["count"], pool.get("min_count"), pool.get("max_count")),
        "subnets": list(subnet_ids),
        "nodeRole": node_role_arn,
        "capacityType": "SPOT" if pool.get("spot") else "ON_DEMAND",
    }
    if pool.get("machine_type"):
        params["instanceTypes"] = [pool["machine_type"]]
    if pool.get("labels"):
        params["labels"] = {str(k): str(v) for k, v in pool["labels"].items()}
    if pool.get("taints"):
        params["taints"] = [taint_to_eks(t) for t in pool["taints"]]
    if pool.get("disk_size_gb"):
        params["diskSize"] = int(pool["disk_size_gb"])
    return params


def label_changes(current, desired):
    """``UpdateNodegroupConfig`` ``labels`` turning ``current`` into ``desired`` (None: no change)."""
    current, desired = current or {}, desired or {}
    add = {str(k): str(v) for k, v in desired.items() if current.get(k) != v}
    remove = sorted(k for k in current if k not in desired)
    return _add_remove("Labels", add, remove)


def taint_changes(current, desired):
    """``UpdateNodegroupConfig`` ``taints`` turning ``current`` into ``desired`` (None: no change).

    EKS identifies a taint by key and effect; a new value is an add-or-update.
    """
    current = {(t["key"], t["effect"]): t for t in current or ()}
    desired = {(t["key"], t["effect"]): t for t in desired or ()}
    add = [
        taint_to_eks(t)
        for ident, t in sorted(desired.items())
        if ident not in current or (current[ident].get("value") or "") != (t.get("value") or "")
    ]
    remove = [taint_to_eks(t) for ident, t in sorted(current.items()) if ident not in desired]
    return _add_remove("Taints", add, remove)


def _add_remove(what, add, remove):
    """``{"addOrUpdate<what>": add, "remove<what>": remove}`` without the empty halves; None when both are."""
    change = {}
    if add:
        change[f"addOrUpdate{what}"] = add
    if remove:
        change[f"remove{what}"] = remove
    return change or None


def nodegroup_update_request(cluster_name, current_pool, changes):
    """``UpdateNodegroupConfig`` parameters for an ``update_node_pool`` action's ``changes``
    (final values of count/min_count/max_count/labels/taints); None when nothing would change."""
    params = {}
    if any(key in changes for key in ("count", "min_count", "max_count")):
        count = changes.get("count", current_pool.get("count"))
        low = changes["min_count"] if "min_count" in changes else current_pool.get("min_count")
        high = changes["max_count"] if "max_count" in changes else current_pool.get("max_count")
        params["scalingConfig"] = scaling_config(count, low, high)
    if "labels" in changes:
        labels = label_changes(current_pool.get("labels"), changes["labels"])
        if labels:
            params["labels"] = labels
    if "taints" in changes:
        taints = taint_changes(current_pool.get("taints"), changes["taints"])
        if taints:
            params["taints"] = taints
    if not params:
        return None
    params.update(clusterName=cluster_name, nodegroupName=current_pool["name"])
    return params
