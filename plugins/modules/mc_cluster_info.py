#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: mc_cluster_info
short_description: List Kubernetes clusters in EKS, GKE and AKS in one result shape
version_added: 0.1.0
description:
  - Lists the managed Kubernetes clusters of the given clouds, regions, projects and resource
    groups, each in the same shape as the C(cluster) result of M(multicloud.fabric.mc_cluster).
  - Only reads. No credentials are returned unless O(return_kubeconfig=true).
author:
  - multicloud.fabric contributors (@multicloud-fabric)
options:
  clouds:
    description: The clouds to look in.
    type: list
    elements: str
    required: true
    choices: [aws, gcp, azure]
  regions:
    description:
      - Regions to look in. Required for AWS (EKS is listed per region).
      - On GCP and Azure, clusters of every location are listed and then filtered to these regions
        (a GCP zone counts as part of its region).
      - Each region applies only to the clouds whose own list has it, so one list can mix AWS, GCP and
        Azure regions. A region none of O(clouds) has fails, naming it.
    type: list
    elements: str
  name:
    description: Only the cluster of this name.
    type: str
  projects:
    description: GCP projects to list; defaults to O(gcp_project). Only with V(gcp) in O(clouds).
    type: list
    elements: str
  resource_groups:
    description: Azure resource groups to list; the whole subscription when not set. Only with V(azure) in O(clouds).
    type: list
    elements: str
  return_kubeconfig:
    description: Add a C(kubeconfig) with credentials to each C(ACTIVE) cluster. Use C(no_log) on the task.
    type: bool
    default: false
  kubeconfig_auth:
    description: How the returned kubeconfigs authenticate, see O(multicloud.fabric.mc_cluster#module:kubeconfig.auth).
    type: str
    choices: [token, exec]
    default: token
extends_documentation_fragment:
  - multicloud.fabric.aws
  - multicloud.fabric.gcp
  - multicloud.fabric.azure
  - multicloud.fabric.cloudflare
  - multicloud.fabric.attributes.info_module
seealso:
  - module: multicloud.fabric.mc_cluster
"""

EXAMPLES = r"""
- name: Every EKS cluster in two regions
  multicloud.fabric.mc_cluster_info:
    clouds: [aws]
    regions: [us-east-1, eu-west-1]
  register: eks

- name: One GKE cluster
  multicloud.fabric.mc_cluster_info:
    clouds: [gcp]
    projects: [my-project]
    name: fabric-gcp

- name: AKS clusters of one resource group, with kubeconfigs
  multicloud.fabric.mc_cluster_info:
    clouds: [azure]
    resource_groups: [fabric-rg]
    return_kubeconfig: true
  no_log: true
  register: aks
"""

RETURN = r"""
clusters:
  description:
    - The clusters found, sorted by cloud, region and name, in the shape of
      M(multicloud.fabric.mc_cluster)'s RV(multicloud.fabric.mc_cluster#module:cluster) result.
    - With O(return_kubeconfig=true) each C(ACTIVE) cluster also has C(kubeconfig).
  returned: always
  type: list
  elements: dict
  sample:
    - cloud: gcp
      region: us-central1
      name: fabric-gcp
      status: ACTIVE
      version: "1.31"
      endpoint: https://203.0.113.10
      node_pools:
        - name: system
          count: 3
          version: "1.31"
          status: ACTIVE
"""

from ansible_collections.multicloud.fabric.plugins.module_utils.cluster.runner import info, info_argument_spec
from ansible_collections.multicloud.fabric.plugins.module_utils.common.module import FabricModule, run


def main():
    module = FabricModule(argument_spec=info_argument_spec(), supports_check_mode=True)
    run(module, info)


if __name__ == "__main__":
    main()
