# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue of ``mc_cluster`` and ``mc_cluster_info``: normalise, read, plan, act, wait, report.

Decisions are made by the pure planner (``cluster/spec.py``); calls to a cloud by its adapter
(``<cloud>/cluster.py``). This file only sequences them and builds the result.
"""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.cluster import kubeconfig as kcfg
from ansible_collections.multicloud.fabric.plugins.module_utils.cluster import nodes
from ansible_collections.multicloud.fabric.plugins.module_utils.cluster.spec import (
    cluster_result,
    context_name,
    expected_after,
    expected_nodes,
    normalize_cluster,
    plan_cluster,
    portable_spec,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.common import clouds, locations
from ansible_collections.multicloud.fabric.plugins.module_utils.common.diff import build_diff
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    ResourceFailedError,
    ValidationError,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.common.waiter import Waiter
from ansible_collections.multicloud.fabric.plugins.module_utils.network.runner import PENDING_ID

TRANSITIONAL = ("CREATING", "UPDATING")


def _clean(params):
    """Module params with the suboption dicts AnsibleModule fills with None turned into plain input."""
    params = dict(params)
    for key in ("aws", "gcp", "azure"):
        if params.get(key):
            params[key] = {k: v for k, v in params[key].items() if v is not None}
    if params.get("network"):
        params["network"] = {k: v for k, v in params["network"].items() if v is not None}
    return params


def adapter(module, desired):
    cloud = desired["cloud"]
    params = dict(module.params)
    if cloud == "gcp" and desired["provider"].get("project"):
        params["gcp_project"] = desired["provider"]["project"]
    connection = clouds.connect(cloud, params, module.retrier(cloud), region=desired["region"])
    return clouds.clusters(cloud, connection)


def _settle(clusters, desired, deadline):
    """Wait until a cluster a previous run left CREATING/UPDATING is idle, so planning sees the truth."""

    def state(cluster):
        pools = [p.get("status") for p in cluster.get("node_pools") or []]
        if cluster["status"] == "FAILED" or "FAILED" in pools:
            return "FAILED"
        if cluster["status"] in TRANSITIONAL or any(s in TRANSITIONAL for s in pools):
            return cluster["status"] if cluster["status"] in TRANSITIONAL else "UPDATING"
        return cluster["status"]

    waiter = Waiter(
        desired["cloud"],
        f"cluster {desired['name']}",
        state_of=state,
        success=("ACTIVE", "DELETING", "ABSENT"),
        failure=("FAILED",),
        failure_message=_failure_message,
        interval=clusters.conn.poll_interval,
        max_interval=30.0,
    )
    return waiter.wait(lambda: clusters.read(desired), deadline=deadline)


def _failure_message(cluster):
    messages = [cluster.get("status_message") or ""]
    messages += [
        f"node pool {p['name']}: {p.get('status_message') or p.get('provider_status')}"
        for p in cluster.get("node_pools") or []
        if p.get("status") == "FAILED"
    ]
    return "; ".join(m for m in messages if m) or cluster.get("provider_status")


def _kube_entry(clusters, current, options):
    context = context_name(current, options.get("context"))
    user = clusters.kube_user(current, mode=options.get("auth") or "token")
    return context, kcfg.entry(current, user, context)


def ensure(module):
    require_no_log(module)
    params = _clean(module.params)
    state = params["state"]
    desired = normalize_cluster(params)
    if not module.check_mode and PENDING_ID in [desired["network"]["id"], *desired["network"]["subnet_ids"]]:
        raise ValidationError(
            "network", "the network has not been created yet (it comes from a check-mode run of mc_network)"
        )
    clusters = adapter(module, desired)
    # A GKE location may be a zone (zonal cluster); EKS and AKS take a region.
    locations.validate(clusters.conn, desired["cloud"], "region", desired["region"], zonal=desired["cloud"] == "gcp")
    deadline = module.deadline()
    current = clusters.read(desired)
    if current is not None and state == "present":
        if current["status"] == "FAILED":
            raise ResourceFailedError(
                f"the cluster is in state {current.get('provider_status')}: {_failure_message(current)}",
                cloud=desired["cloud"],
                resource=f"cluster {desired['name']}",
                call="read",
                advice="delete it (state: absent) and run again to recreate it",
            )
        if not module.check_mode and module.params["wait"] and current["status"] in TRANSITIONAL:
            current = _settle(clusters, desired, deadline)
    actions = plan_cluster(current, desired, state, params["purge_node_pools"])
    before, after = portable_spec(current), expected_after(current, desired, actions)
    result = {
        "changed": bool(actions),
        "actions": actions,
        "diff": build_diff(
            before, after, module.secret_values, f"{desired['cloud']} cluster {desired['name']}", "planned"
        ),
    }
    if not module.check_mode:
        for index, action in enumerate(actions):
            clusters.apply(action, desired, current)
            if module.params["wait"] or index < len(actions) - 1:
                current = clusters.wait(desired, action, deadline)
            else:
                current = clusters.read(desired)
    result["cluster"] = cluster_result(current)

    options = params.get("kubeconfig")
    if options:
        _kubeconfig(module, clusters, desired, current, result)
    if state == "present" and current is not None and current["status"] == "ACTIVE" and not module.check_mode:
        if params["return_kubeconfig"] or params["wait_for_nodes"]:
            entry = result.pop("_entry", None) or _kube_entry(clusters, current, options or {})[1]
            if params["return_kubeconfig"]:
                result["kubeconfig"] = entry
                result["_revealed"] = ["kubeconfig"]
            if params["wait_for_nodes"]:
                expected = expected_nodes(current)
                ready, _total = nodes.wait_ready(
                    entry,
                    expected,
                    module.retrier("kubernetes"),
                    deadline,
                    cloud=desired["cloud"],
                    name=desired["name"],
                )
                result["nodes_ready"] = ready
    result.pop("_entry", None)
    return result


def _kubeconfig(module, clusters, desired, current, result):
    options = module.params["kubeconfig"]
    path = options["path"]
    context = context_name(desired, options.get("context"))
    result["kubeconfig_path"] = path
    result["kube_context"] = context
    if module.params["state"] == "absent":
        if kcfg.remove_file(path, context, module.check_mode):
            result["changed"] = True
        return
    if module.check_mode:
        # A cluster about to be created will be written; an existing one only if its entry differs.
        if current is None or not kcfg.has_context(path, context, current):
            result["changed"] = True
        return
    if current is None or current.get("status") != "ACTIVE":
        status = current.get("status") if current else "not created yet"
        module.warn(f"cluster {desired['name']} is {status}: kubeconfig not written yet")
        return
    context, entry = _kube_entry(clusters, current, options)
    result["_entry"] = entry
    if kcfg.merge_file(path, entry):
        result["changed"] = True


def _region_scopes(module, params):
    """``{cloud: [regions]}``: each given region applies to the clouds whose own list has it (a
    multi-cloud call must not ask AWS about Azure locations). A region no selected cloud knows is
    an error naming it and each cloud's valid regions."""
    regions = params.get("regions") or []
    selected = params["clouds"]
    if not regions:
        return {}
    known = {}
    for cloud in selected:
        options = dict(params)
        if cloud == "gcp" and params.get("projects"):
            options["gcp_project"] = params["projects"][0]
        conn = clouds.connect(cloud, options, module.retrier(cloud))
        known[cloud] = locations.known_locations(conn)
    scoped = {cloud: [] for cloud in selected}
    for index, region in enumerate(regions):
        owners = [c for c in selected if region in known[c] or any(region in z for z in known[c].values())]
        if not owners:
            # The error of the first cloud names the valid values; for several clouds each is listed.
            details = "; ".join(f"{locations.KIND[c]}s: {', '.join(sorted(known[c]))}" for c in selected)
            raise ValidationError(
                f"regions[{index}]", f"{region!r} is not a region of {', '.join(selected)} ({details})"
            )
        for cloud in owners:
            scoped[cloud].append(region)
    return scoped


def require_no_log(module):
    """``return_kubeconfig`` returns credentials in the result: only to a task whose results
    Ansible never prints or logs (``no_log: true``), as amazon.aws does for returned secrets."""
    if module.params.get("return_kubeconfig") and not module.no_log:
        raise ValidationError(
            "return_kubeconfig",
            "returns credentials, so the task must have no_log: true (the registered result still holds them)",
            advice="set no_log: true on the task, or write the kubeconfig to a file instead (kubeconfig_path)",
        )


def info(module):
    params = module.params
    require_no_log(module)
    for option, cloud in (("projects", "gcp"), ("resource_groups", "azure")):
        if params.get(option) and cloud not in params["clouds"]:
            raise ValidationError(option, f"is for {cloud}, which is not in clouds; remove it or add {cloud}")
    if "aws" in params["clouds"] and not params.get("regions"):
        raise ValidationError("regions", "listing EKS clusters needs the AWS regions to look in")
    scoped = _region_scopes(module, params)
    found, entries = [], []
    for cloud in params["clouds"]:
        if params.get("regions") and not scoped.get(cloud):
            continue  # none of the regions is this cloud's
        units = locations.listing_scopes(
            cloud,
            params,
            regions=scoped.get(cloud),
            projects=params.get("projects"),
            resource_groups=params.get("resource_groups"),
        )
        for _label, options, region, provider in units:
            adapter_ = clouds.clusters(cloud, clouds.connect(cloud, options, module.retrier(cloud), region=region))
            for cluster in adapter_.list(region=region, provider=provider):
                if params.get("name") and cluster["name"] != params["name"]:
                    continue
                if params.get("regions") and not locations.in_locations(cluster["region"], scoped[cloud]):
                    continue
                item = cluster_result(cluster)
                wanted = params["return_kubeconfig"] or params.get("kubeconfig_path")
                if wanted and cluster["status"] == "ACTIVE":
                    complete = cluster
                    if not cluster.get("ca_data"):  # AKS lists clusters without their CA
                        complete = dict(cluster, ca_data=(adapter_.read(cluster) or {}).get("ca_data"))
                    context, entry = _kube_entry(adapter_, complete, {"auth": params["kubeconfig_auth"]})
                    if params["return_kubeconfig"]:
                        item["kubeconfig"] = entry
                    if params.get("kubeconfig_path"):
                        item["kube_context"] = context
                        entries.append(entry)
                found.append(item)
    found.sort(key=lambda c: (c["cloud"], c["region"], c["name"]))
    result = {"changed": False, "clusters": found}
    if params.get("kubeconfig_path"):
        result["kubeconfig_path"] = params["kubeconfig_path"]
        if entries:
            # Fresh credentials are written every time; only a new or moved cluster is a change.
            result["changed"] = kcfg.update_file(
                params["kubeconfig_path"], lambda config: _merge_all(config, entries), module.check_mode
            )
    if params["return_kubeconfig"]:
        result["_revealed"] = ["clusters"]
    return result


def _merge_all(config, entries):
    for entry in entries:
        config = kcfg.merge(config, entry)
    return config
