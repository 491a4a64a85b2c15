# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue of ``mc_network`` and ``mc_network_info``: normalise, read, plan, act, report."""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.common import clouds, locations
from ansible_collections.multicloud.fabric.plugins.module_utils.common.diff import build_diff
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError
from ansible_collections.multicloud.fabric.plugins.module_utils.network.spec import (
    expected_after,
    normalize_network,
    plan_network,
    portable_view,
)

# Subnet IDs a check-mode run cannot know yet; mc_cluster accepts them only in check mode.
PENDING_ID = "(known after apply)"


def _adapter(module, cloud, region, project=None):
    params = dict(module.params)
    if project:
        params["gcp_project"] = project
    connection = clouds.connect(cloud, params, module.retrier(cloud), region=region)
    return clouds.networks(cloud, connection)


def _needs_zones(params):
    if params["cloud"] != "aws" or params["state"] != "present":
        return False
    return not params.get("subnets") or any(not s.get("zone") for s in params["subnets"])


def ensure(module):
    params = module.params
    if params["cloud"] == "gcp" and params.get("tags"):
        module.warn("gcp: Compute Engine networks have no labels; tags are not applied to the network")
    networks = _adapter(module, params["cloud"], params["region"])
    # The region against the cloud's own list, then its zones, then the plan: all before any write.
    locations.validate(networks.conn, params["cloud"], "region", params["region"])
    zones = networks.zones(params["region"]) if _needs_zones(params) else None
    desired = normalize_network(params, zones)
    current = networks.read(desired)
    actions = plan_network(current, desired, params["state"], params["purge_subnets"])
    after = expected_after(current, desired, actions)
    result = {
        "changed": bool(actions),
        "actions": actions,
        "diff": build_diff(
            portable_view(current),
            portable_view(after),
            module.secret_values,
            f"{desired['cloud']} network {desired['name']}",
        ),
    }
    if module.check_mode:
        view = portable_view(after)
        if view:
            view["id"] = view.get("id") or PENDING_ID
            for subnet in view["subnets"]:
                subnet["id"] = subnet.get("id") or PENDING_ID
        result["network"] = view or {}
        return result
    for action in actions:
        networks.apply(action, desired, current)
    for warning in networks.warnings:
        module.warn(warning)
    if actions:
        current = networks.read(desired)
    result["network"] = portable_view(current) or {}
    return result


def info(module):
    params = module.params
    cloud = params["cloud"]
    if params.get("azure") and cloud != "azure":
        raise ValidationError("azure", f"is an azure option; {cloud} networks do not use it, remove it")
    networks = _adapter(module, cloud, params.get("region"))
    if params.get("region"):
        locations.validate(networks.conn, cloud, "region", params["region"])
    provider = None
    if cloud == "azure" and (params.get("azure") or {}).get("resource_group"):
        provider = {"resource_group": params["azure"]["resource_group"]}
    found = []
    for network in networks.list(region=params.get("region"), provider=provider):
        if params.get("name") and network["name"] != params["name"]:
            continue
        if params.get("region") and network.get("region") not in (None, params["region"]):
            continue
        found.append(portable_view(network))
    found.sort(key=lambda n: (n["region"] or "", n["name"]))
    return {"changed": False, "networks": found}
