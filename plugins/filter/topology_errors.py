# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: topology_errors
short_description: Everything wrong with a multi-cloud topology, before anything is created
version_added: 0.1.0
description:
  - Checks the networks and clusters of every inventory host at once, the way
    M(multicloud.fabric.mc_network) and M(multicloud.fabric.mc_cluster) check one host, and across
    hosts, unique cluster names and kubeconfig contexts, and no two address ranges overlapping
    across clouds (networks, subnets, pod and service ranges).
  - Returns the list of problems, each naming the host and the field; an empty list means the
    topology can be built. The bootstrap role fails with this list before its first write.
author:
  - multicloud.fabric contributors (@multicloud-fabric)
positional: _input
options:
  _input:
    description:
      - The host variables of every cluster host (C(mc_cloud), C(mc_region), C(mc_cidr), and optionally
        C(mc_pods_cidr), C(mc_services_cidr), C(mc_subnets), C(mc_kubernetes_version), C(mc_node_pools),
        C(mc_aws), C(mc_gcp), C(mc_azure), C(mc_kube_context), C(mc_deployment)).
      - The network and cluster are checked under the names the bootstrap role gives them, the host's
        C(bootstrap_network_name) and C(bootstrap_cluster_name) when it sets them.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse a topology with overlapping ranges
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems }}"
  vars:
    problems: "{{ groups['clusters'] | map('extract', hostvars) | multicloud.fabric.topology_errors }}"
"""

RETURN = r"""
_value:
  description: "The problems found, each C(<host>: <field>: <what is wrong>); empty when there is none."
  type: list
  elements: str
"""

import ipaddress
import re

from ansible_collections.multicloud.fabric.plugins.module_utils.cluster.spec import (
    DEFAULT_DEPLOYMENT,
    cluster_name,
    context_name,
    normalize_cluster,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.common.clouds import CLOUDS
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import FabricError
from ansible_collections.multicloud.fabric.plugins.module_utils.network.spec import normalize_network

# Region names as each cloud spells them; a typo is caught before anything is created.
REGION_PATTERNS = {
    "aws": r"^[a-z]{2}(-gov)?-[a-z]+-\d$",
    "gcp": r"^[a-z]+-[a-z]+\d(-[a-z])?$",
    "azure": r"^[a-z]+[a-z0-9]*$",
}


def _entry(host_vars):
    """The fields the checks need, from a host's variables. The names are the bootstrap role's:
    its ``bootstrap_network_name`` and ``bootstrap_cluster_name`` when the host sets them, else
    what the role derives from ``mc_deployment``."""
    get = host_vars.get
    cloud = get("mc_cloud")
    deployment = get("mc_deployment") or DEFAULT_DEPLOYMENT
    return {
        "host": get("inventory_hostname") or "?",
        "cloud": cloud,
        "region": get("mc_region"),
        "cidr": get("mc_cidr"),
        "pods_cidr": get("mc_pods_cidr"),
        "services_cidr": get("mc_services_cidr"),
        "subnets": get("mc_subnets"),
        "kubernetes_version": get("mc_kubernetes_version"),
        "node_pools": get("mc_node_pools"),
        "provider": get(f"mc_{cloud}") if cloud in CLOUDS else None,
        "network_name": get("bootstrap_network_name") or deployment,
        "cluster_name": get("bootstrap_cluster_name") or cluster_name(cloud, deployment),
        "context": get("mc_kube_context"),
    }


def _zones(entry):
    """Stand-in availability zones for planning AWS subnets (the module asks the region itself)."""
    if entry["cloud"] != "aws":
        return None
    return [f"{entry['region']}{letter}" for letter in "abcdef"]


def _network_params(entry):
    params = {
        "cloud": entry["cloud"],
        "region": entry["region"],
        "name": entry["network_name"],
        "cidr": entry["cidr"],
        "state": "present",
        "pods_cidr": entry["pods_cidr"],
        "services_cidr": entry["services_cidr"],
        "subnets": entry["subnets"],
    }
    if entry["cloud"] == "azure":
        params["azure"] = {"resource_group": (entry["provider"] or {}).get("resource_group")}
    return params


def _cluster_params(entry):
    params = {
        "cloud": entry["cloud"],
        "region": entry["region"],
        "name": entry["cluster_name"],
        "state": "present",
        "kubernetes_version": entry["kubernetes_version"],
        "node_pools": entry["node_pools"],
    }
    if entry["cloud"] in CLOUDS:
        params[entry["cloud"]] = dict(entry["provider"] or {})
    if entry["cloud"] == "aws":
        # The subnets come from the network created first; two stand-ins satisfy the planner.
        params["network"] = {"subnet_ids": ["planned-a", "planned-b"]}
    return params


def _ranges(network):
    for subnet in network["subnets"]:
        yield subnet["cidr"], f"subnet {subnet['name']}"
        for item in subnet["secondary_ranges"]:
            yield item["cidr"], f"{item['name']} range"


def topology_errors(entries):
    """Problems of a whole topology (see DOCUMENTATION)."""
    problems = []
    ranges = []  # (network, host, what)
    names, contexts = {}, {}
    for host_vars in entries or []:
        entry = _entry(host_vars)
        host, cloud, region = entry["host"], entry["cloud"], entry["region"] or ""
        if cloud in REGION_PATTERNS and not re.match(REGION_PATTERNS[cloud], region):
            problems.append(f"{host}: region: {region!r} is not a {cloud} region name")
        try:
            network = normalize_network(_network_params(entry), _zones(entry))
        except FabricError as error:
            problems.append(f"{host}: network {error.describe()}")
            network = None
        try:
            cluster = normalize_cluster(_cluster_params(entry))
        except FabricError as error:
            problems.append(f"{host}: cluster {error.describe()}")
            cluster = None
        if network:
            ranges.append((ipaddress.ip_network(network["cidr"]), host, "network"))
            ranges += [(ipaddress.ip_network(cidr), host, what) for cidr, what in _ranges(network)]
        if cluster:
            key = (cluster["cloud"], cluster["region"], cluster["name"])
            if key in names:
                problems.append(f"{host}: cluster_name: {cluster['name']!r} in {cloud} {region} is also {names[key]}'s")
            names.setdefault(key, host)
            context = context_name(cluster, entry["context"])
            if context in contexts:
                problems.append(f"{host}: context: kubeconfig context {context!r} is also {contexts[context]}'s")
            contexts.setdefault(context, host)
    reported = set()  # one problem per pair of hosts: the first overlap found says enough
    for index, (net_a, host_a, what_a) in enumerate(ranges):
        for net_b, host_b, what_b in ranges[index + 1 :]:
            if host_a == host_b or (host_a, host_b) in reported or not net_a.overlaps(net_b):
                continue
            reported.add((host_a, host_b))
            problems.append(f"{host_b}: {what_b} {net_b} overlaps {host_a}'s {what_a} {net_a}")
    return problems


class FilterModule:
    def filters(self):
        return {"topology_errors": topology_errors}
