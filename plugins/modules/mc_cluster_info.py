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
  - Only reads the clouds. No credentials are returned unless O(return_kubeconfig=true).
  - With O(kubeconfig_path) it merges a freshly made entry of every C(ACTIVE) cluster it returns into
    that kubeconfig file; this is how later steps of a long run replace the short-lived tokens written
    earlier (EKS about 15 minutes, GKE about an hour). The C(multicloud.fabric.kubeconfig) role does
    this for the cluster of an inventory host.
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
    description:
      - Add a C(kubeconfig) with credentials to each C(ACTIVE) cluster of the result.
      - The credentials are returned as they are (a usable kubeconfig), so the task must have
        C(no_log=true); without it the module fails before any call. Ansible then never prints or
        logs the result, and the registered variable still holds it.
      - To hand a kubeconfig to other tools, prefer O(kubeconfig_path), which keeps credentials out of
        variables altogether.
    type: bool
    default: false
  kubeconfig_auth:
    description:
      - How the kubeconfigs returned or written authenticate, see
        O(multicloud.fabric.mc_cluster#module:kubeconfig.auth).
    type: str
    choices: [token, exec]
    default: token
  kubeconfig_path:
    description:
      - Merge a fresh entry (cluster, user and context C(<cloud>-<region>-<name>)) of every C(ACTIVE)
        cluster returned into this kubeconfig file, created with mode 0600, safe when several hosts write
        it at once.
      - New credentials are written every time; the task reports C(changed) only when a context was
        added or now points at another endpoint or CA. In check mode nothing is written.
    type: path
extends_documentation_fragment:
  - multicloud.fabric.aws
  - multicloud.fabric.gcp
  - multicloud.fabric.azure
  - multicloud.fabric.attributes.info_module
seealso:
  - module: multicloud.fabric.mc_cluster
notes:
  - Writing O(kubeconfig_path) is the module's only write, and it is to a local file, never to a cloud.
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

- name: AKS clusters of one resource group, with kubeconfigs (the task must be no_log)
  multicloud.fabric.mc_cluster_info:
    clouds: [azure]
    resource_groups: [fabric-rg]
    return_kubeconfig: true
  no_log: true
  register: aks

- name: Fresh tokens for the EKS cluster in the shared kubeconfig, before using it
  multicloud.fabric.mc_cluster_info:
    clouds: [aws]
    regions: [us-east-1]
    name: fabric-aws
    kubeconfig_path: "{{ playbook_dir }}/.output/kubeconfig"
  register: fresh
"""

RETURN = r"""
clusters:
  description:
    - The clusters found, sorted by cloud, region and name, in the shape of
      M(multicloud.fabric.mc_cluster)'s RV(multicloud.fabric.mc_cluster#module:cluster) result.
    - With O(return_kubeconfig=true) each C(ACTIVE) cluster also has C(kubeconfig), a kubeconfig with
      this cluster only, credentials included.
    - With O(kubeconfig_path) each C(ACTIVE) cluster also has C(kube_context), its context in that file.
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
      kube_context: gcp-us-central1-fabric-gcp
kubeconfig_path:
  description: The kubeconfig file written.
  returned: when O(kubeconfig_path) is set
  type: str
  sample: /home/user/fabric/.output/kubeconfig
"""

from ansible_collections.multicloud.fabric.plugins.module_utils.cluster.runner import info
from ansible_collections.multicloud.fabric.plugins.module_utils.common.clouds import CLOUDS
from ansible_collections.multicloud.fabric.plugins.module_utils.common.module import FabricModule, info_module_spec, run

OPTIONS = {
    "clouds": {"type": "list", "elements": "str", "required": True, "choices": list(CLOUDS)},
    "regions": {"type": "list", "elements": "str"},
    "name": {"type": "str"},
    "projects": {"type": "list", "elements": "str"},
    "resource_groups": {"type": "list", "elements": "str"},
    "return_kubeconfig": {"type": "bool", "default": False},
    "kubeconfig_auth": {"type": "str", "choices": ["token", "exec"], "default": "token"},
    "kubeconfig_path": {"type": "path"},
}


def module_spec():
    """Everything ``FabricModule`` takes for this module: its options."""
    return info_module_spec(OPTIONS)


def main():
    run(FabricModule(supports_check_mode=True, **module_spec()), info)


if __name__ == "__main__":
    main()
