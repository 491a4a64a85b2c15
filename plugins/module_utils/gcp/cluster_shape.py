# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""GKE clusters <-> the portable cluster shape (``cluster/spec.py``): pure functions, no SDK.

Google Cloud specifics of the mapping:

- Location: the portable ``region`` is the GKE location. A region (``us-central1``) makes a
  regional cluster, a zone (``us-central1-c``) a zonal one.
- Node counts: the portable ``count``, ``min_count`` and ``max_count`` are TOTALS over the pool;
  GKE sizes pools per zone (``initialNodeCount``, ``setSize``, autoscaling min/max). Totals are
  divided by the number of zones the pool runs in: the pool's ``locations`` as the API reports
  them, else the cluster's; for a new cluster, 1 for a zone and 3 for a region (GKE's default for
  regional clusters). A total that does not divide evenly is refused before any write with a
  ValidationError naming ``node_pools[i].count`` (or ``min_count``/``max_count``). Reads report
  ``per-zone value x zones`` (or GKE's ``totalMin/MaxNodeCount`` when autoscaling uses them).
- Versions: ``kubernetes_version`` "1.31" is sent as it is (GKE accepts MAJOR.MINOR aliases for
  ``initialClusterVersion``, ``masterVersion`` and ``nodeVersion``) and read back as the MAJOR.MINOR
  of ``currentMasterVersion``; ``version_full`` is ``currentMasterVersion``.
- Tags are the cluster's ``resourceLabels`` (GKE label rules: lowercase keys and values of letters,
  digits, ``_`` and ``-``, at most 63 characters); ``goog-`` labels are Google's and never managed.
- Network: ``network.id`` (a network selfLink, ``projects/...`` path or name) and
  ``network.subnet_ids[0]`` become ``network``/``subnetwork``; the cluster is VPC-native
  (``useIpAliases``) with ``pods_range``/``services_range`` as the secondary range names. Reads
  report selfLinks, spelled as the desired network spells them when both name the same resource.
"""

from __future__ import annotations

import re

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError
from ansible_collections.multicloud.fabric.plugins.module_utils.common.kube import (
    TAINT_EFFECT_FROM_API,
    TAINT_EFFECT_TO_API,
    minor_of,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.common.tags import check_tags
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp.client import (
    resource_path,
    same_resource,
    self_link,
)

# GKE status -> portable status (cluster and node pool).
CLUSTER_STATUS = {
    "PROVISIONING": "CREATING",
    "RUNNING": "ACTIVE",
    "RECONCILING": "UPDATING",
    "STOPPING": "DELETING",
    "ERROR": "FAILED",
    "DEGRADED": "FAILED",
}
POOL_STATUS = {
    "PROVISIONING": "CREATING",
    "RUNNING": "ACTIVE",
    "RUNNING_WITH_ERROR": "FAILED",
    "RECONCILING": "UPDATING",
    "STOPPING": "DELETING",
    "ERROR": "FAILED",
}
# Zones GKE spreads a regional cluster over when no locations are given.
DEFAULT_REGIONAL_ZONES = 3
INTERNAL_LABEL_PREFIX = "goog-"
_ZONE = re.compile(r"^([a-z]+-[a-z]+\d+)-[a-z]$")


def is_zone(location):
    return bool(_ZONE.match(str(location or "")))


def region_of(location):
    """``us-central1`` for ``us-central1-c`` (and for ``us-central1``)."""
    found = _ZONE.match(str(location or ""))
    return found.group(1) if found else location


def default_zone_count(location):
    """Zones of a new cluster at ``location``: 1 for a zone, GKE's default 3 for a region."""
    return 1 if is_zone(location) else DEFAULT_REGIONAL_ZONES


def per_zone(total, zones, field):
    """The per-zone GKE count of a portable ``total`` over ``zones`` zones (None stays None)."""
    if total is None:
        return None
    zones = max(1, int(zones))
    if total % zones:
        low, high = total // zones * zones, (total // zones + 1) * zones
        near = f"{low} or {high}" if low else str(high)
        raise ValidationError(
            field,
            f"{total} nodes cannot be spread evenly over the pool's {zones} zones: GKE sizes node pools per zone",
            advice=f"use a multiple of {zones} (e.g. {near}), or a zonal location for one zone",
        )
    return total // zones


def pool_index(desired, name):
    for index, pool in enumerate((desired or {}).get("node_pools") or []):
        if pool.get("name") == name:
            return index
    return None


def _pool_field(index, key):
    return f"node_pools[{index}].{key}" if index is not None else f"node_pools[].{key}"


def taints_body(taints):
    return [
        {
            "key": t["key"],
            "value": t.get("value") or "",
            "effect": TAINT_EFFECT_TO_API.get(t.get("effect"), t.get("effect")),
        }
        for t in taints or []
    ]


def autoscaling_body(min_count, max_count, zones, index=None):
    """GKE ``NodePoolAutoscaling`` for portable totals (both None: autoscaling off)."""
    if min_count is None or max_count is None:
        return {"enabled": False}
    return {
        "enabled": True,
        "min_node_count": per_zone(min_count, zones, _pool_field(index, "min_count")),
        "max_node_count": per_zone(max_count, zones, _pool_field(index, "max_count")),
    }


def pool_body(pool, zones, index=None):
    """GKE ``NodePool`` of a desired portable pool spread over ``zones`` zones."""
    config = {
        "machine_type": pool["machine_type"],
        "labels": dict(pool.get("labels") or {}),
        "taints": taints_body(pool.get("taints")),
    }
    if pool.get("spot"):
        config["spot"] = True
    if pool.get("disk_size_gb"):
        config["disk_size_gb"] = int(pool["disk_size_gb"])
    body = {
        "name": pool["name"],
        "initial_node_count": per_zone(pool["count"], zones, _pool_field(index, "count")),
        "config": config,
    }
    if pool.get("min_count") is not None and pool.get("max_count") is not None:
        body["autoscaling"] = autoscaling_body(pool["min_count"], pool["max_count"], zones, index)
    return body


def network_refs(network):
    """``(network, subnetwork)`` references GKE takes (``projects/...`` paths or names)."""
    network = network or {}
    net = resource_path(network["id"]) if network.get("id") else None
    subnet_ids = network.get("subnet_ids") or []
    subnet = resource_path(subnet_ids[0]) if subnet_ids else None
    return net, subnet


def check_labels(tags):
    """GKE resource labels of portable ``tags`` (None: not managed); errors name ``tags.<key>``."""
    return check_tags("gcp", tags)


def cluster_body(desired, project):
    """GKE ``Cluster`` of a desired portable cluster (validated: labels, per-zone counts)."""
    location = desired["region"]
    zones = default_zone_count(location)
    labels = check_labels(desired.get("tags")) or {}
    body = {
        "name": desired["name"],
        "resource_labels": labels,
        "node_pools": [pool_body(pool, zones, index) for index, pool in enumerate(desired["node_pools"])],
    }
    if desired.get("kubernetes_version"):
        body["initial_cluster_version"] = desired["kubernetes_version"]
    network = desired.get("network") or {}
    net, subnet = network_refs(network)
    if net:
        body["network"] = net
    if subnet:
        body["subnetwork"] = subnet
    policy = {"use_ip_aliases": True}
    if network.get("pods_range"):
        policy["cluster_secondary_range_name"] = network["pods_range"]
    if network.get("services_range"):
        policy["services_secondary_range_name"] = network["services_range"]
    body["ip_allocation_policy"] = policy
    if desired.get("endpoint_access") == "private":
        private = {"enable_private_nodes": True, "enable_private_endpoint": True}
        cidr = (desired.get("provider") or {}).get("master_ipv4_cidr_block")
        if cidr:
            private["master_ipv4_cidr_block"] = cidr
        body["private_cluster_config"] = private
        body["master_authorized_networks_config"] = {"enabled": True}
    channel = (desired.get("provider") or {}).get("release_channel")
    if channel:
        body["release_channel"] = {"channel": channel}
    return body


def pool_update_steps(changes, zones, index=None):
    """The GKE calls of one portable ``update_node_pool``, in order: ``[(method, kwargs)]``.

    Autoscaling first (so a new size is inside the new bounds), then labels and taints (one
    UpdateNodePool), then the size.
    """
    steps = []
    if "min_count" in changes or "max_count" in changes:
        steps.append(
            (
                "set_node_pool_autoscaling",
                {"autoscaling": autoscaling_body(changes.get("min_count"), changes.get("max_count"), zones, index)},
            )
        )
    update = {}
    if "labels" in changes:
        update["labels"] = {"labels": dict(changes["labels"] or {})}
    if "taints" in changes:
        update["taints"] = {"taints": taints_body(changes["taints"])}
    if update:
        steps.append(("update_node_pool", update))
    if changes.get("count") is not None:
        steps.append(
            ("set_node_pool_size", {"node_count": per_zone(changes["count"], zones, _pool_field(index, "count"))})
        )
    return steps


def pool_zone_count(pool, cluster=None):
    """How many zones a GKE pool (dict) runs in: its locations, else the cluster's, else 1."""
    locations = (pool or {}).get("locations") or (cluster or {}).get("locations") or []
    if locations:
        return len(locations)
    return default_zone_count((cluster or {}).get("location"))


def pool_to_portable(pool, cluster=None):
    """A GKE node pool (dict, proto field names) as a portable pool (counts as totals)."""
    zones = pool_zone_count(pool, cluster)
    config = pool.get("config") or {}
    autoscaling = pool.get("autoscaling") or {}
    min_count = max_count = None
    if autoscaling.get("enabled"):
        if autoscaling.get("total_max_node_count"):
            min_count = int(autoscaling.get("total_min_node_count") or 0)
            max_count = int(autoscaling["total_max_node_count"])
        else:
            min_count = int(autoscaling.get("min_node_count") or 0) * zones
            max_count = int(autoscaling.get("max_node_count") or 0) * zones
    taints = sorted(
        (
            {
                "key": t.get("key"),
                "value": t.get("value") or "",
                "effect": TAINT_EFFECT_FROM_API.get(t.get("effect"), t.get("effect")),
            }
            for t in config.get("taints") or []
        ),
        key=lambda t: (t["key"], t["effect"], t["value"]),
    )
    status = pool.get("status") or "STATUS_UNSPECIFIED"
    return {
        "name": pool.get("name"),
        "count": int(pool.get("initial_node_count") or 0) * zones,
        "min_count": min_count,
        "max_count": max_count,
        "machine_type": config.get("machine_type"),
        "labels": dict(config.get("labels") or {}),
        "taints": taints,
        "spot": bool(config.get("spot")),
        "disk_size_gb": int(config["disk_size_gb"]) if config.get("disk_size_gb") else None,
        "version": minor_of(pool.get("version")),
        "status": POOL_STATUS.get(status, "UPDATING"),
        "provider_status": status,
    }


def _link(value, project, template):
    """selfLink of a GKE network/subnetwork field (a name or a ``projects/...`` path)."""
    if not value:
        return None
    path = resource_path(value)
    if not path.startswith("projects/"):
        path = template.format(project=project, name=path)
    return self_link(path)


def _spelled_like(current, desired):
    """``desired``'s spelling of ``current`` when both name the same resource, else ``current``."""
    return desired if current and desired and same_resource(current, desired) else current


def cluster_to_portable(cluster, project, desired=None):
    """A GKE cluster (dict, proto field names) as the current portable cluster."""
    desired = desired or {}
    location = cluster.get("location") or cluster.get("zone")
    network_config = cluster.get("network_config") or {}
    net = _link(
        network_config.get("network") or cluster.get("network"), project, "projects/{project}/global/networks/{name}"
    )
    subnet_template = f"projects/{{project}}/regions/{region_of(location)}/subnetworks/{{name}}"
    subnet = _link(network_config.get("subnetwork") or cluster.get("subnetwork"), project, subnet_template)
    want_net = desired.get("network") or {}
    net = _spelled_like(net, want_net.get("id"))
    if subnet and want_net.get("subnet_ids"):
        subnet = _spelled_like(subnet, want_net["subnet_ids"][0])
    policy = cluster.get("ip_allocation_policy") or {}
    private = cluster.get("private_cluster_config") or {}
    labels = cluster.get("resource_labels") or {}
    status = cluster.get("status") or "STATUS_UNSPECIFIED"
    endpoint = cluster.get("endpoint")
    provider = dict(desired.get("provider") or {})
    provider.update(
        {"project": project, "release_channel": (cluster.get("release_channel") or {}).get("channel") or "UNSPECIFIED"}
    )
    return {
        "cloud": "gcp",
        "region": location,
        "name": cluster.get("name"),
        "id": cluster.get("self_link"),
        "kubernetes_version": minor_of(cluster.get("current_master_version")),
        "version_full": cluster.get("current_master_version"),
        "endpoint_access": "private" if private.get("enable_private_endpoint") else "public",
        "tags": {k: v for k, v in labels.items() if not k.startswith(INTERNAL_LABEL_PREFIX)},
        "node_pools": [pool_to_portable(p, cluster) for p in cluster.get("node_pools") or []],
        "network": {
            "id": net,
            "subnet_ids": [subnet] if subnet else [],
            "pods_range": policy.get("cluster_secondary_range_name") or None,
            "services_range": policy.get("services_secondary_range_name") or None,
        },
        "provider": provider,
        "status": CLUSTER_STATUS.get(status, "UPDATING"),
        "provider_status": status,
        "status_message": cluster.get("status_message") or "",
        "endpoint": f"https://{endpoint}" if endpoint else None,
        "ca_data": (cluster.get("master_auth") or {}).get("cluster_ca_certificate"),
        "raw": cluster,
    }


def idle_state(cluster):
    """Portable state of a GKE cluster dict for waiting: ACTIVE only when the cluster and every
    pool are RUNNING; FAILED when the cluster or a pool failed."""
    status = cluster.get("status")
    pools = [p.get("status") for p in cluster.get("node_pools") or []]
    if CLUSTER_STATUS.get(status) == "FAILED" or any(POOL_STATUS.get(s) == "FAILED" for s in pools):
        return "FAILED"
    if status == "RUNNING":
        return "ACTIVE" if all(s == "RUNNING" for s in pools) else "UPDATING"
    return CLUSTER_STATUS.get(status, "UPDATING")


def cluster_failure(cluster):
    """GKE's own words on a failed cluster: its status message, failed pools and conditions."""
    parts = []
    if cluster.get("status_message"):
        parts.append(cluster["status_message"])
    for pool in cluster.get("node_pools") or []:
        if POOL_STATUS.get(pool.get("status")) == "FAILED":
            parts.append(
                f"node pool {pool.get('name')} is {pool.get('status')}: {pool.get('status_message') or ''}".strip()
            )
    for condition in cluster.get("conditions") or []:
        if condition.get("message"):
            parts.append(condition["message"])
    return "; ".join(parts) or f"cluster is {cluster.get('status')}"


def operation_state(op):
    """``DONE``, ``FAILED`` (done with an error), ``RUNNING``, ``PENDING`` of a GKE operation dict."""
    status = op.get("status") or "PENDING"
    if status == "DONE" and ((op.get("error") or {}).get("message") or (op.get("error") or {}).get("code")):
        return "FAILED"
    return status


def operation_failure(op):
    error = op.get("error") or {}
    parts = [error.get("message") or op.get("status_message") or ""]
    for key in ("cluster_conditions", "nodepool_conditions"):
        parts += [c.get("message") for c in op.get(key) or [] if c.get("message")]
    text = "; ".join(p for p in parts if p)
    return f"operation {op.get('name')} ({op.get('operation_type')}) failed: {text or 'no message'}"
