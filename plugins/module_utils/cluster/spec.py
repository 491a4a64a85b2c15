# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The portable Kubernetes cluster: one spec for EKS, GKE and AKS, and the plan that converges it.

Pure functions, no SDK. ``normalize_cluster(params)`` validates ``mc_cluster``'s input (every
invalid combination fails here, before any API call, naming the option) and returns the desired
cluster in the portable shape; ``plan_cluster(current, desired, ...)`` returns the ordered actions
the cloud adapter performs: control-plane upgrades one minor version at a time, each followed by
the node pools' upgrade to it, then pool changes (size, autoscaling bounds, labels, taints), new
pools, removed pools, and tags last. What a cloud cannot change in place raises
:class:`ImmutableFieldsError` listing every such field.
"""

from __future__ import annotations

import copy
import re

from ansible_collections.multicloud.fabric.plugins.module_utils.common.args import check_resource
from ansible_collections.multicloud.fabric.plugins.module_utils.common.clouds import CLOUDS
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    ImmutableFieldsError,
    ValidationError,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.common.kube import VERSION, minor_version
from ansible_collections.multicloud.fabric.plugins.module_utils.common.tags import check_tags, tags_action

# Portable machine sizes: the same vCPU / memory in each cloud (general purpose, current generation).
SIZE_CLASSES = {
    "small": {"aws": "m6i.large", "gcp": "e2-standard-2", "azure": "Standard_D2s_v5"},  # 2 vCPU, 8 GiB
    "medium": {"aws": "m6i.xlarge", "gcp": "e2-standard-4", "azure": "Standard_D4s_v5"},  # 4 vCPU, 16 GiB
    "large": {"aws": "m6i.2xlarge", "gcp": "e2-standard-8", "azure": "Standard_D8s_v5"},  # 8 vCPU, 32 GiB
    "xlarge": {"aws": "m6i.4xlarge", "gcp": "e2-standard-16", "azure": "Standard_D16s_v5"},  # 16 vCPU, 64 GiB
}
DEFAULT_SIZE = "medium"
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
# Kubernetes minor versions the collection knows how to plan for (upgrade paths, skew rules).
SUPPORTED_MINORS = tuple(f"1.{minor}" for minor in range(28, 36))
POOL_NAME = {
    "aws": (re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"), "1-63 letters, digits, '-' and '_'"),
    "gcp": (re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$"), "1-40 lowercase letters, digits and '-'"),
    "azure": (re.compile(r"^[a-z][a-z0-9]{0,11}$"), "1-12 lowercase letters and digits, starting with a letter"),
}
CLUSTER_NAME = {
    "aws": (re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"), "1-100 letters, digits, '-' and '_'"),
    "gcp": (re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$"), "1-40 lowercase letters, digits and '-'"),
    "azure": (re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,61}[A-Za-z0-9]$"), "2-63 letters, digits, '-' and '_'"),
}
PROVIDER_OPTIONS = {
    "aws": {"role_arn": None, "node_role_arn": None, "security_group_ids": []},
    "gcp": {"project": None, "release_channel": None},
    "azure": {"resource_group": None, "dns_prefix": None, "network_plugin": None},
}
RELEASE_CHANNELS = ("RAPID", "REGULAR", "STABLE", "EXTENDED", "UNSPECIFIED")
NETWORK_PLUGINS = ("azure", "kubenet", "none")
AZURE_RESOURCE_GROUP = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
AZURE_DNS_PREFIX = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,52}[A-Za-z0-9])?$")
IAM_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")


def version_tuple(value):
    major, minor = minor_version(value).split(".")
    return int(major), int(minor)


def _desired_version(value):
    if value in (None, ""):
        return None
    if isinstance(value, float):
        # YAML reads 1.30 unquoted as the number 1.3: the trailing zero is gone before the module runs.
        raise ValidationError(
            "kubernetes_version",
            f"got the number {value!r}, not a version string; YAML turns an unquoted 1.30 into 1.3",
            advice='quote the version, e.g. kubernetes_version: "1.30"',
        )
    text = str(value).strip()
    found = VERSION.match(text)
    if not found:
        raise ValidationError("kubernetes_version", f"{value!r} is not a Kubernetes version like 1.31")
    if found.group(3) is not None or text != text.split("-", maxsplit=1)[0].split("+", maxsplit=1)[0]:
        raise ValidationError(
            "kubernetes_version",
            f"give MAJOR.MINOR ({minor_version(text)}), not {text}: each cloud picks its own patch release",
        )
    version = minor_version(text)
    if version not in SUPPORTED_MINORS:
        hint = ""
        if f"{version}0" in SUPPORTED_MINORS:
            hint = f' (if you wrote {version}0 unquoted, YAML made it the number {version}: quote it, "{version}0")'
        raise ValidationError(
            "kubernetes_version",
            f"{version} is not supported; expected one of {', '.join(SUPPORTED_MINORS)}{hint}",
        )
    return version


def _str_dict(value, field):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(field, "expected a dictionary of key: value")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _taints(value, field):
    taints = []
    for index, taint in enumerate(value or []):
        t_field = f"{field}[{index}]"
        if not isinstance(taint, dict):
            raise ValidationError(t_field, "expected a dictionary with key, value and effect")
        if not taint.get("key"):
            raise ValidationError(f"{t_field}.key", "every taint needs a key")
        unknown = sorted(set(taint) - {"key", "value", "effect"})
        if unknown:
            raise ValidationError(f"{t_field}.{unknown[0]}", "unknown taint option; expected key, value and effect")
        effect = taint.get("effect") or "NoSchedule"
        if effect not in TAINT_EFFECTS:
            raise ValidationError(f"{t_field}.effect", f"expected one of {', '.join(TAINT_EFFECTS)}, got {effect!r}")
        taints.append({"key": str(taint["key"]), "value": str(taint.get("value") or ""), "effect": effect})
    return sorted(taints, key=lambda t: (t["key"], t["effect"], t["value"]))


def _pool(cloud, entry, index):
    field = f"node_pools[{index}]"
    if not isinstance(entry, dict):
        raise ValidationError(field, "expected a dictionary with at least name and count")
    name = entry.get("name")
    pattern, rule = POOL_NAME[cloud]
    if not name or not pattern.match(str(name)):
        raise ValidationError(f"{field}.name", f"{name!r}: {cloud} node pool names are {rule}")
    count = entry.get("count")
    min_count, max_count = entry.get("min_count"), entry.get("max_count")
    if (min_count is None) != (max_count is None):
        raise ValidationError(
            f"{field}.min_count" if min_count is None else f"{field}.max_count",
            "autoscaling needs both min_count and max_count (or neither)",
        )
    if count is None:
        if min_count is None:
            raise ValidationError(f"{field}.count", "is required unless min_count/max_count are given")
        count = min_count
    for key, value in (("count", count), ("min_count", min_count), ("max_count", max_count)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise ValidationError(f"{field}.{key}", f"expected a whole number >= 0, got {value!r}")
    if min_count is not None:
        if min_count > max_count:
            raise ValidationError(f"{field}.min_count", f"{min_count} is above max_count {max_count}")
        if not min_count <= count <= max_count:
            raise ValidationError(
                f"{field}.count", f"{count} is outside min_count..max_count ({min_count}..{max_count})"
            )
        if min_count == max_count == count:
            min_count = max_count = None  # a fixed size is not autoscaling
    size, machine_type = entry.get("size"), entry.get("machine_type")
    if size and machine_type:
        raise ValidationError(f"{field}.size", "give either size (portable) or machine_type (cloud-specific), not both")
    if not machine_type:
        size = size or DEFAULT_SIZE
        if size not in SIZE_CLASSES:
            raise ValidationError(f"{field}.size", f"expected one of {', '.join(SIZE_CLASSES)}, got {size!r}")
        machine_type = SIZE_CLASSES[size][cloud]
    disk = entry.get("disk_size_gb")
    if disk is not None and (not isinstance(disk, int) or disk < 10):
        raise ValidationError(f"{field}.disk_size_gb", f"expected at least 10 (GB), got {disk!r}")
    return {
        "name": str(name),
        "count": count,
        "min_count": min_count,
        "max_count": max_count,
        "machine_type": str(machine_type),
        "labels": _str_dict(entry.get("labels"), f"{field}.labels"),
        "taints": _taints(entry.get("taints"), f"{field}.taints"),
        "spot": bool(entry.get("spot")),
        "disk_size_gb": disk,
    }


def _network(cloud, value):
    """``network`` given as explicit IDs or as ``mc_network``'s result (its ``network`` key)."""
    network = {"id": None, "subnet_ids": [], "pods_range": None, "services_range": None}
    if not value:
        return network
    if not isinstance(value, dict):
        raise ValidationError("network", "expected a dictionary (mc_network's result or explicit IDs)")
    if value.get("cloud") and value["cloud"] != cloud:
        raise ValidationError("network", f"this network belongs to {value['cloud']}, the cluster to {cloud}")
    known = {"id", "subnet_ids", "pods_range", "services_range", "subnets", "cloud", "region", "name", "cidr"}
    known |= {"tags", "provider", "extra", "status"}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ValidationError(
            f"network.{unknown[0]}", "unknown key; expected id, subnet_ids, pods_range, services_range"
        )
    network["id"] = value.get("id")
    subnet_ids = value.get("subnet_ids")
    node_subnets = [s for s in value.get("subnets") or [] if (s.get("role") or "nodes") == "nodes"]
    if subnet_ids is None:
        subnet_ids = [s.get("id") for s in node_subnets if s.get("id")]
    if not isinstance(subnet_ids, list) or not all(isinstance(s, str) and s for s in subnet_ids):
        raise ValidationError("network.subnet_ids", "expected a list of subnet IDs")
    network["subnet_ids"] = list(subnet_ids)
    ranges = {r.get("name") for s in node_subnets[:1] for r in s.get("secondary_ranges") or []}
    for key, default in (("pods_range", "pods"), ("services_range", "services")):
        network[key] = value.get(key) or (default if default in ranges else None)
    if cloud != "gcp" and (network["pods_range"] or network["services_range"]):
        raise ValidationError("network.pods_range", "secondary ranges are a gcp concept")
    return network


def _provider(cloud, params):
    provider = dict(PROVIDER_OPTIONS[cloud])
    for other in CLOUDS:
        if other != cloud and params.get(other):
            raise ValidationError(other, f"options for {other} given to a {cloud} cluster")
    given = params.get(cloud) or {}
    unknown = sorted(set(given) - set(provider))
    if unknown:
        raise ValidationError(f"{cloud}.{unknown[0]}", f"unknown option; expected {', '.join(sorted(provider))}")
    provider.update({k: v for k, v in given.items() if v is not None})
    if cloud == "gcp":
        provider["project"] = provider.get("project") or params.get("gcp_project")
        channel = provider.get("release_channel")
        if channel is not None:
            channel = str(channel).upper()
            if channel not in RELEASE_CHANNELS:
                raise ValidationError(
                    "gcp.release_channel", f"expected one of {', '.join(RELEASE_CHANNELS)}, got {channel!r}"
                )
            provider["release_channel"] = channel
    if cloud == "azure":
        if not provider.get("resource_group"):
            raise ValidationError("azure.resource_group", "AKS clusters live in a resource group; name it")
        if not AZURE_RESOURCE_GROUP.match(str(provider["resource_group"])):
            raise ValidationError(
                "azure.resource_group",
                f"{provider['resource_group']!r}: resource group names are 1-90 letters, digits, '_', '-', '.', "
                "'(' and ')', not ending in '.'",
            )
        prefix = provider.get("dns_prefix")
        if prefix is not None and not AZURE_DNS_PREFIX.match(str(prefix)):
            raise ValidationError(
                "azure.dns_prefix",
                f"{prefix!r}: AKS DNS prefixes are 1-54 letters, digits and '-', alphanumeric at both ends",
            )
        plugin = provider.get("network_plugin")
        if plugin is not None and plugin not in NETWORK_PLUGINS:
            raise ValidationError(
                "azure.network_plugin", f"expected one of {', '.join(NETWORK_PLUGINS)}, got {plugin!r}"
            )
    if cloud == "aws":
        for key in ("role_arn", "node_role_arn"):
            if provider.get(key) and not IAM_ROLE_ARN.match(provider[key]):
                raise ValidationError(f"aws.{key}", f"{provider[key]!r} is not an IAM role ARN")
        provider["security_group_ids"] = list(provider.get("security_group_ids") or [])
    return provider


def normalize_cluster(params):
    """Validate ``mc_cluster``'s parameters; return the desired cluster (portable shape)."""
    cloud = check_resource(params, CLOUDS)
    pattern, rule = CLUSTER_NAME[cloud]
    if not pattern.match(params["name"]):
        raise ValidationError("name", f"{params['name']!r}: {cloud} cluster names are {rule}")
    state = params.get("state") or "present"
    provider = _provider(cloud, params)
    desired = {
        "cloud": cloud,
        "region": params["region"],
        "name": params["name"],
        "kubernetes_version": _desired_version(params.get("kubernetes_version")),
        "endpoint_access": params.get("endpoint_access") or "public",
        "tags": check_tags(cloud, params.get("tags")),
        "purge_tags": bool(params.get("purge_tags", True)),
        "node_pools": [],
        "network": _network(cloud, params.get("network")),
        "provider": provider,
    }
    if state == "absent":
        return desired
    pools = params.get("node_pools")
    if not pools:
        raise ValidationError("node_pools", "at least one node pool is needed")
    seen = {}
    for index, entry in enumerate(pools):
        pool = _pool(cloud, entry, index)
        if pool["name"] in seen:
            raise ValidationError(
                f"node_pools[{index}].name", f"{pool['name']!r} is also node_pools[{seen[pool['name']]}]"
            )
        seen[pool["name"]] = index
        desired["node_pools"].append(pool)
    _check_combinations(desired)
    return desired


def _check_combinations(desired):
    cloud, provider, network, pools = desired["cloud"], desired["provider"], desired["network"], desired["node_pools"]
    if cloud == "aws":
        if not provider.get("role_arn"):
            raise ValidationError("aws.role_arn", "EKS needs the IAM role the control plane assumes")
        if not provider.get("node_role_arn"):
            raise ValidationError("aws.node_role_arn", "EKS managed node groups need the IAM role of their nodes")
        if len(network["subnet_ids"]) < 2:
            raise ValidationError(
                "network.subnet_ids", "EKS needs at least two subnets in different availability zones (see mc_network)"
            )
    if cloud == "azure":
        first = pools[0]
        if first["spot"]:
            raise ValidationError("node_pools[0].spot", "the first pool is AKS's system pool and cannot be spot")
        if first["count"] < 1 or (first["min_count"] is not None and first["min_count"] < 1):
            raise ValidationError("node_pools[0].count", "AKS's system pool needs at least one node")
        if len(network["subnet_ids"]) > 1:
            raise ValidationError("network.subnet_ids", "AKS takes one node subnet")
        if network["subnet_ids"] and provider.get("network_plugin") == "none":
            raise ValidationError("azure.network_plugin", "network_plugin none cannot use a VNet subnet")
    if cloud == "gcp":
        if len(network["subnet_ids"]) > 1:
            raise ValidationError("network.subnet_ids", "a GKE cluster takes one subnetwork")
        if bool(network["pods_range"]) != bool(network["services_range"]):
            raise ValidationError("network.services_range", "give both pods_range and services_range, or neither")


# ----------------------------------------------------------------------------- planning


def _pool_changes(have, want):
    changes = {}
    if want["min_count"] is None:
        if have.get("min_count") is not None:
            changes.update(min_count=None, max_count=None)
        if have.get("count") != want["count"] or "min_count" in changes:
            changes["count"] = want["count"]
    elif (have.get("min_count"), have.get("max_count")) != (want["min_count"], want["max_count"]):
        changes.update(min_count=want["min_count"], max_count=want["max_count"])
        count = have.get("count") or 0
        if not want["min_count"] <= count <= want["max_count"]:
            changes["count"] = min(max(count, want["min_count"]), want["max_count"])
    if (have.get("labels") or {}) != want["labels"]:
        changes["labels"] = dict(want["labels"])
    if _taints(have.get("taints"), "current") != want["taints"]:
        changes["taints"] = list(want["taints"])
    return changes


def _upgrade_steps(current, desired):
    """Upgrade actions: one minor at a time, the control plane first, then the pools behind it."""
    target = desired["kubernetes_version"]
    if target is None:
        return []
    cp = current.get("kubernetes_version")
    target_t, cp_t = version_tuple(target), version_tuple(cp)
    if target_t < cp_t:
        raise ValidationError(
            "kubernetes_version",
            f"{target} is older than the running {cp}; Kubernetes clusters are not downgraded",
            advice=f"set kubernetes_version to {cp} or later",
        )
    wanted = {p["name"] for p in desired["node_pools"]}
    pools = {
        p["name"]: version_tuple(p.get("version") or cp) for p in current.get("node_pools") or [] if p["name"] in wanted
    }
    newer = [name for name, version in pools.items() if version > target_t]
    if newer:
        raise ValidationError(
            "kubernetes_version",
            f"node pool {newer[0]} already runs a newer version than {target}; pools are not downgraded",
        )
    lowest = min([cp_t, *pools.values()])
    actions = []
    for minor in range(lowest[1] + 1, target_t[1] + 1):
        step = (target_t[0], minor)
        version = f"{step[0]}.{step[1]}"
        if cp_t < step:
            actions.append({"action": "upgrade_control_plane", "version": version})
            cp_t = step
        for name in sorted(pools):
            if pools[name] < step:
                actions.append({"action": "upgrade_node_pool", "pool": name, "version": version})
                pools[name] = step
    return actions


def _immutable(current, desired):
    found = []

    def compare(field, before, after, how):
        if after not in (None, [], "") and before != after:
            found.append((field, before, after, how))

    replace = "set at creation; replace the cluster (state: absent, then present) or use a new name"
    compare("endpoint_access", current.get("endpoint_access"), desired["endpoint_access"], replace)
    have_net, want_net = current.get("network") or {}, desired["network"]
    compare("network.id", have_net.get("id"), want_net["id"], replace)
    compare("network.subnet_ids", sorted(have_net.get("subnet_ids") or []), sorted(want_net["subnet_ids"]), replace)
    compare("network.pods_range", have_net.get("pods_range"), want_net["pods_range"], replace)
    compare("network.services_range", have_net.get("services_range"), want_net["services_range"], replace)
    have_p, want_p = current.get("provider") or {}, desired["provider"]
    cloud = desired["cloud"]
    fixed = {
        "aws": ("role_arn", "security_group_ids"),
        "gcp": ("release_channel",),
        "azure": ("dns_prefix", "network_plugin"),
    }[cloud]
    for key in fixed:
        before, after = have_p.get(key), want_p.get(key)
        if key == "security_group_ids":
            before, after = sorted(before or []), sorted(after or [])
        compare(f"{cloud}.{key}", before, after, replace)
    existing = {p["name"]: p for p in current.get("node_pools") or []}
    for index, pool in enumerate(desired["node_pools"]):
        have = existing.get(pool["name"])
        if have is None:
            continue
        how = "node pools are replaced, not changed: add a pool under a new name and remove this one"
        compare(f"node_pools[{index}].machine_type", have.get("machine_type"), pool["machine_type"], how)
        if bool(have.get("spot")) != pool["spot"]:
            found.append((f"node_pools[{index}].spot", bool(have.get("spot")), pool["spot"], how))
        if pool["disk_size_gb"] is not None:
            compare(f"node_pools[{index}].disk_size_gb", have.get("disk_size_gb"), pool["disk_size_gb"], how)
    return found


# Clouds whose create_cluster makes the control plane only: EKS accepts CreateNodegroup once the
# cluster is ACTIVE, so a new cluster's node pools are actions of their own (reported by check mode).
POOLS_AFTER_CLUSTER = ("aws",)


def plan_cluster(current, desired, state="present", purge_node_pools=True):
    """Ordered actions that turn ``current`` (None: absent) into ``desired``."""
    if state == "absent":
        return [] if current is None else [{"action": "delete_cluster"}]
    if current is None:
        actions = [{"action": "create_cluster"}]
        if desired["cloud"] in POOLS_AFTER_CLUSTER:
            actions += [{"action": "create_node_pool", "pool": pool} for pool in desired["node_pools"]]
        return actions
    immutable = _immutable(current, desired)
    if immutable:
        raise ImmutableFieldsError(immutable, resource=f"{desired['cloud']} cluster {desired['name']}")
    actions = _upgrade_steps(current, desired)
    existing = {p["name"]: p for p in current.get("node_pools") or []}
    creates = []
    for pool in desired["node_pools"]:
        have = existing.get(pool["name"])
        if have is None:
            creates.append({"action": "create_node_pool", "pool": pool})
            continue
        changes = _pool_changes(have, pool)
        if changes:
            actions.append({"action": "update_node_pool", "pool": pool["name"], "changes": changes})
    actions += creates
    if purge_node_pools:
        wanted = {p["name"] for p in desired["node_pools"]}
        actions += [{"action": "delete_node_pool", "pool": name} for name in sorted(existing) if name not in wanted]
    tags = tags_action(current.get("tags"), desired["tags"], desired["purge_tags"])
    if tags:
        actions.append(tags)
    return actions


# ----------------------------------------------------------------------------- views


POOL_KEYS = ("name", "count", "min_count", "max_count", "machine_type", "labels", "taints", "spot", "disk_size_gb")
VIEW_KEYS = ("cloud", "region", "name", "kubernetes_version", "endpoint_access", "tags", "network", "provider")


def portable_spec(cluster):
    """The portable spec of a cluster (desired or current) for diffs: what the user controls."""
    if cluster is None:
        return None
    view = {key: copy.deepcopy(cluster.get(key)) for key in VIEW_KEYS}
    view["node_pools"] = [
        dict(
            {key: copy.deepcopy(pool.get(key)) for key in POOL_KEYS},
            **({"version": pool["version"]} if pool.get("version") else {}),
        )
        for pool in sorted(cluster.get("node_pools") or [], key=lambda p: p["name"])
    ]
    return view


def expected_after(current, desired, actions):
    """The portable spec once ``actions`` ran: what check mode predicts and diff shows as ``after``."""
    if any(a["action"] == "delete_cluster" for a in actions):
        return None
    if current is None:
        after = portable_spec(desired)
        version = desired["kubernetes_version"]
        for pool in after["node_pools"]:
            if version:
                pool["version"] = version
        if after["tags"] is None:
            after["tags"] = {}
        return after
    after = portable_spec(current)
    pools = {p["name"]: p for p in after["node_pools"]}
    for action in actions:
        kind = action["action"]
        if kind == "upgrade_control_plane":
            after["kubernetes_version"] = action["version"]
        elif kind == "upgrade_node_pool":
            pools[action["pool"]]["version"] = action["version"]
        elif kind == "update_node_pool":
            pools[action["pool"]].update(copy.deepcopy(action["changes"]))
        elif kind == "create_node_pool":
            pool = {key: copy.deepcopy(action["pool"].get(key)) for key in POOL_KEYS}
            pool["version"] = after["kubernetes_version"]
            pools[pool["name"]] = pool
        elif kind == "delete_node_pool":
            pools.pop(action["pool"], None)
        elif kind == "update_tags":
            after["tags"] = dict(action["tags"])
    after["node_pools"] = [pools[name] for name in sorted(pools)]
    return after


RESULT_KEYS = (
    "cloud",
    "region",
    "name",
    "id",
    "status",
    "provider_status",
    "status_message",
    "kubernetes_version",
    "version_full",
    "endpoint",
    "ca_data",
    "endpoint_access",
    "tags",
    "network",
    "provider",
)


def cluster_result(current):
    """The one result shape of ``mc_cluster`` and ``mc_cluster_info`` (no raw object, no secret)."""
    if current is None:
        return {}
    result = {key: copy.deepcopy(current.get(key)) for key in RESULT_KEYS}
    result["version"] = current.get("kubernetes_version")
    result["node_pools"] = [
        dict(
            {key: copy.deepcopy(pool.get(key)) for key in POOL_KEYS},
            version=pool.get("version"),
            status=pool.get("status"),
        )
        for pool in current.get("node_pools") or []
    ]
    return result


def expected_nodes(cluster):
    """How many Ready nodes a cluster should have: the pools' current (or minimum) sizes."""
    total = 0
    for pool in cluster.get("node_pools") or []:
        total += pool.get("count") if pool.get("count") is not None else (pool.get("min_count") or 0)
    return total


# The deployment a topology describes when it names none (host variable mc_deployment).
DEFAULT_DEPLOYMENT = "fabric"


def cluster_name(cloud, deployment=None):
    """The name the bootstrap role gives a deployment's cluster in ``cloud``: ``<deployment>-<cloud>``."""
    return f"{deployment or DEFAULT_DEPLOYMENT}-{cloud}"


def context_name(cluster, given=None):
    """The kubeconfig context of a cluster: ``<cloud>-<region>-<name>`` unless one is given."""
    return given or f"{cluster['cloud']}-{cluster['region']}-{cluster['name']}"
