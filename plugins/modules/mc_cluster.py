#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: mc_cluster
short_description: One Kubernetes cluster spec for EKS, GKE and AKS
version_added: 0.1.0
description:
  - Creates, updates and deletes a managed Kubernetes cluster and its node pools in AWS (EKS),
    Google Cloud (GKE) or Azure (AKS) from the same portable spec.
  - Updates happen in place in the order the cloud requires. The control plane is upgraded first,
    one minor version at a time, each step followed by the node pools; then pool sizes,
    autoscaling bounds, labels and taints change, new pools are added, pools no longer listed are
    removed, and tags are set last. Downgrades are refused.
  - What a cloud cannot change in place (name, region, network, subnets, endpoint access, machine
    type, spot, network plugin, ...) fails before any write, listing every such field and how to
    replace the resource.
  - Input is validated before any API call; errors name the option. Creating a cluster that
    already exists, or deleting one that is absent, changes nothing.
  - Clusters are independent, so one task per cluster (one inventory host per cluster) creates
    clusters in several clouds in parallel.
author:
  - multicloud.fabric contributors (@multicloud-fabric)
options:
  cloud:
    description: The cloud that runs the cluster.
    type: str
    required: true
    choices: [aws, gcp, azure]
  name:
    description: Name of the cluster in its cloud.
    type: str
    required: true
  region:
    description:
      - AWS region, Azure location, or Google Cloud location. On GCP a region (V(us-central1))
        makes a regional cluster and a zone (V(us-central1-c)) a zonal one.
      - Checked before any write against the cloud's own list (AWS SDK partition data, GCP Compute
        regions and their zones, Azure subscription locations); an unknown one fails listing the valid ones.
    type: str
    required: true
  state:
    description: Whether the cluster should exist. V(absent) deletes its node pools and the cluster.
    type: str
    choices: [present, absent]
    default: present
  kubernetes_version:
    description:
      - Kubernetes minor version as V(MAJOR.MINOR), for example V("1.31"). Each cloud picks its
        own patch release (EKS platform version, GKE C(-gke.N) build, AKS patch).
      - Not set means the cloud's default version on create, and the version is left alone on update.
      - A higher version upgrades the control plane, then every node pool, one minor at a time.
      - Quote it. YAML reads an unquoted V(1.30) as the number 1.3; such a number fails, saying to quote it.
    type: raw
  endpoint_access:
    description: Whether the Kubernetes API endpoint is reachable from the internet or only privately.
    type: str
    choices: [public, private]
    default: public
  node_pools:
    description:
      - The node pools (EKS managed node groups, GKE node pools, AKS agent pools).
      - Required with O(state=present). On AKS the first pool is the system pool.
    type: list
    elements: dict
    suboptions:
      name:
        description: Pool name (AKS allows 1-12 lowercase letters and digits).
        type: str
        required: true
      count:
        description:
          - Total number of nodes in the pool (on regional GKE clusters, across all its zones).
          - With autoscaling, the initial size; the autoscaler owns the size afterwards.
        type: int
      min_count:
        description:
          - Autoscaling lower bound; give both O(node_pools[].min_count) and O(node_pools[].max_count)
            to autoscale.
        type: int
      max_count:
        description: Autoscaling upper bound.
        type: int
      size:
        description:
          - Portable machine size, mapped per cloud (general purpose, current generation).
          - V(small) 2 vCPU/8 GiB (m6i.large, e2-standard-2, Standard_D2s_v5); V(medium) 4 vCPU/16 GiB
            (m6i.xlarge, e2-standard-4, Standard_D4s_v5); V(large) 8 vCPU/32 GiB; V(xlarge) 16 vCPU/64 GiB.
          - Defaults to V(medium) when O(node_pools[].machine_type) is not set either.
        type: str
        choices: [small, medium, large, xlarge]
      machine_type:
        description: The cloud's own instance type / machine type / VM size; excludes O(node_pools[].size).
        type: str
      labels:
        description: Kubernetes labels of the pool's nodes (the full set; labels not listed are removed).
        type: dict
      taints:
        description: Kubernetes taints of the pool's nodes (the full list).
        type: list
        elements: dict
        suboptions:
          key:
            description: Taint key. Required; a taint without one fails naming it (V(node_pools[1].taints[0].key)).
            type: str
          value:
            description: Taint value.
            type: str
          effect:
            description: Taint effect, one of V(NoSchedule), V(PreferNoSchedule) or V(NoExecute).
            type: str
            default: NoSchedule
      spot:
        description: Use spot (preemptible) capacity. Not allowed for the AKS system pool.
        type: bool
        default: false
      disk_size_gb:
        description: Node OS disk size in GB; the cloud's default when not set.
        type: int
  purge_node_pools:
    description: Delete node pools that exist in the cloud but are not in O(node_pools).
    type: bool
    default: true
  network:
    description:
      - Where the cluster's nodes live. Either the C(network) result of M(multicloud.fabric.mc_network) as it is
        (its node subnets and, on GCP, its C(pods) and C(services) secondary ranges are used) or explicit IDs.
      - Explicit keys are C(id) (AWS VPC ID, GCP network self link or name, Azure VNet ID), C(subnet_ids)
        (list of node subnet IDs; AWS at least two in different zones, GCP and Azure one), and on GCP
        C(pods_range) and C(services_range) (names of the subnetwork's secondary ranges).
      - Required on AWS. On GCP and Azure, when not set, the cloud's default network (GKE) or a managed
        VNet (AKS) is used.
    type: dict
  tags:
    description:
      - Tags (AWS, Azure) or labels (GKE resource labels) of the cluster. Not set means tags are not managed.
      - GKE labels must be lowercase letters, digits, C(_) and C(-).
    type: dict
  purge_tags:
    description: Remove tags not listed in O(tags). Has no effect when O(tags) is not set.
    type: bool
    default: true
  aws:
    description: Options only EKS has.
    type: dict
    suboptions:
      role_arn:
        description: IAM role the EKS control plane assumes. Required on AWS; fixed at creation.
        type: str
      node_role_arn:
        description: IAM role of the managed node groups' nodes. Required on AWS.
        type: str
      security_group_ids:
        description: Extra security groups for the control plane's network interfaces; fixed at creation.
        type: list
        elements: str
  gcp:
    description: Options only GKE has.
    type: dict
    suboptions:
      project:
        description: Project of the cluster; defaults to O(gcp_project).
        type: str
      release_channel:
        description: GKE release channel; fixed at creation here.
        type: str
        choices: [RAPID, REGULAR, STABLE, EXTENDED, UNSPECIFIED]
  azure:
    description: Options only AKS has.
    type: dict
    suboptions:
      resource_group:
        description: Resource group of the cluster. Required on Azure.
        type: str
      dns_prefix:
        description: DNS prefix of the API server's FQDN; defaults to O(name). Fixed at creation.
        type: str
      network_plugin:
        description: AKS network plugin; fixed at creation.
        type: str
        choices: [azure, kubenet, none]
  wait_for_nodes:
    description:
      - After the cluster is ready, connect to its Kubernetes API with the credentials the cloud hands
        out and wait until as many nodes as the pools' sizes are Ready.
    type: bool
    default: false
  kubeconfig:
    description:
      - Merge the cluster into a kubeconfig file (cluster, user and context of the same name).
      - Safe when several hosts write the same file at once (an exclusive lock and an atomic rename);
        the file is created with mode 0600. With O(state=absent) the context is removed.
    type: dict
    suboptions:
      path:
        description: The kubeconfig file.
        type: path
        required: true
      context:
        description: Context name; defaults to C(<cloud>-<region>-<name>).
        type: str
      auth:
        description:
          - V(token) writes a short-lived bearer token made now (EKS presigned token, about 15 minutes;
            GKE OAuth access token, about an hour). Refreshing credentials (tokens, AKS client
            certificates) rewrites the file but does not count as a change.
          - V(exec) writes the clouds' credential plugins instead (C(aws eks get-token),
            C(gke-gcloud-auth-plugin)), which must be installed where kubectl runs.
          - AKS always uses the user entry of C(listClusterUserCredential).
        type: str
        choices: [token, exec]
        default: token
  return_kubeconfig:
    description:
      - Return the cluster's kubeconfig (with credentials) as RV(kubeconfig), usable as it is.
      - The task must have C(no_log=true), else the module fails before any call; Ansible then never
        prints or logs the result, and the registered variable still holds it.
    type: bool
    default: false
notes:
  - With O(wait=false) the module still waits between dependent steps and returns once the cloud
    accepted the last one. EKS creates node groups only once the control plane is C(ACTIVE), so a new
    EKS cluster's pools are C(create_node_pool) actions after C(create_cluster) (check mode reports
    them), and with O(wait=false) the module waits for the control plane before starting them.
  - A no-op rerun only reads (EKS DescribeCluster, ListNodegroups and DescribeNodegroup per pool;
    GKE GetCluster; AKS managedClusters get, agentPools list and listClusterUserCredential), after the
    location check (GCP Compute regions.list, Azure Subscriptions_ListLocations; AWS from the SDK's data).
extends_documentation_fragment:
  - multicloud.fabric.aws
  - multicloud.fabric.gcp
  - multicloud.fabric.azure
  - multicloud.fabric.wait
  - multicloud.fabric.attributes
seealso:
  - module: multicloud.fabric.mc_cluster_info
  - module: multicloud.fabric.mc_network
"""

EXAMPLES = r"""
- name: EKS cluster with three nodes in the network mc_network created
  multicloud.fabric.mc_cluster:
    cloud: aws
    region: us-east-1
    name: fabric-aws
    kubernetes_version: "1.31"
    network: "{{ aws_net.network }}"
    node_pools:
      - name: system
        count: 3
        size: medium
    aws:
      role_arn: arn:aws:iam::123456789012:role/eks-cluster
      node_role_arn: arn:aws:iam::123456789012:role/eks-nodes
    tags:
      team: platform
    wait_for_nodes: true
    kubeconfig:
      path: "{{ playbook_dir }}/.output/kubeconfig"

- name: Regional GKE cluster, one node per zone, on the pods/services ranges of mc_network
  multicloud.fabric.mc_cluster:
    cloud: gcp
    region: us-central1
    name: fabric-gcp
    kubernetes_version: "1.31"
    network: "{{ gcp_net.network }}"
    node_pools:
      - name: system
        count: 3
        size: medium
    gcp:
      release_channel: REGULAR
    tags:
      team: platform

- name: AKS cluster with an autoscaling spot pool for batch work
  multicloud.fabric.mc_cluster:
    cloud: azure
    region: eastus
    name: fabric-azure
    kubernetes_version: "1.31"
    network: "{{ azure_net.network }}"
    node_pools:
      - name: system
        count: 3
      - name: batch
        count: 0
        min_count: 0
        max_count: 10
        spot: true
        taints:
          - key: workload
            value: batch
            effect: NoSchedule
    azure:
      resource_group: fabric-rg
      network_plugin: azure

- name: Upgrade one minor version (control plane, then pools) and scale
  multicloud.fabric.mc_cluster:
    cloud: aws
    region: us-east-1
    name: fabric-aws
    kubernetes_version: "1.32"
    network: "{{ aws_net.network }}"
    node_pools:
      - name: system
        count: 5
    aws:
      role_arn: arn:aws:iam::123456789012:role/eks-cluster
      node_role_arn: arn:aws:iam::123456789012:role/eks-nodes

- name: Delete a cluster and its node pools
  multicloud.fabric.mc_cluster:
    cloud: gcp
    region: us-central1
    name: fabric-gcp
    state: absent
"""

RETURN = r"""
cluster:
  description: The cluster after the run (in check mode, as it is now); empty when absent.
  returned: always
  type: dict
  contains:
    cloud:
      description: V(aws), V(gcp) or V(azure).
      type: str
      sample: aws
    region:
      description: Region or location.
      type: str
      sample: us-east-1
    name:
      description: Cluster name.
      type: str
      sample: fabric-aws
    id:
      description: EKS ARN, GKE self link or AKS resource ID.
      type: str
      sample: arn:aws:eks:us-east-1:123456789012:cluster/fabric-aws
    status:
      description: Portable status, one of C(CREATING), C(ACTIVE), C(UPDATING), C(DELETING), C(FAILED).
      type: str
      sample: ACTIVE
    provider_status:
      description: The cloud's own status word (C(ACTIVE), C(RUNNING), C(Succeeded), ...).
      type: str
      sample: RUNNING
    status_message:
      description: The cloud's status text, empty when there is none.
      type: str
      sample: ""
    version:
      description: Kubernetes minor version of the control plane.
      type: str
      sample: "1.31"
    kubernetes_version:
      description: Same as RV(cluster.version).
      type: str
      sample: "1.31"
    version_full:
      description: The full version the cloud reports.
      type: str
      sample: 1.31.5-gke.1200
    endpoint:
      description: URL of the Kubernetes API.
      type: str
      sample: https://ABCDEF.gr7.us-east-1.eks.amazonaws.com
    ca_data:
      description: Base64-encoded PEM of the cluster's certificate authority.
      type: str
    endpoint_access:
      description: V(public) or V(private).
      type: str
    tags:
      description: Tags or labels of the cluster.
      type: dict
      sample: {"team": "platform"}
    network:
      description: Network ID, subnet IDs and (GCP) secondary range names the cluster uses.
      type: dict
    provider:
      description:
        - The cloud-specific settings (role ARNs, project and release channel, resource group and
          network plugin).
      type: dict
    node_pools:
      description: Node pools.
      type: list
      elements: dict
      contains:
        name:
          description: Pool name.
          type: str
        count:
          description: Total nodes.
          type: int
        min_count:
          description: Autoscaling lower bound, null without autoscaling.
          type: int
        max_count:
          description: Autoscaling upper bound, null without autoscaling.
          type: int
        machine_type:
          description: Instance type / machine type / VM size.
          type: str
        labels:
          description: Node labels.
          type: dict
        taints:
          description: Node taints.
          type: list
          elements: dict
        spot:
          description: Spot capacity.
          type: bool
        disk_size_gb:
          description: OS disk size.
          type: int
        version:
          description: Kubernetes minor version of the pool's nodes.
          type: str
        status:
          description: Portable status of the pool.
          type: str
actions:
  description: What the run did (or, in check mode, would do), in order.
  returned: always
  type: list
  elements: dict
  sample:
    - {"action": "upgrade_control_plane", "version": "1.32"}
    - {"action": "upgrade_node_pool", "pool": "system", "version": "1.32"}
kube_context:
  description: The kubeconfig context written (or removed).
  returned: when O(kubeconfig) is set
  type: str
  sample: aws-us-east-1-fabric-aws
kubeconfig_path:
  description: The kubeconfig file written.
  returned: when O(kubeconfig) is set
  type: str
kubeconfig:
  description: A kubeconfig with this cluster only, credentials included.
  returned: when O(return_kubeconfig=true) and the cluster exists
  type: dict
nodes_ready:
  description: Ready nodes when the wait ended.
  returned: when O(wait_for_nodes=true)
  type: int
  sample: 3
"""

from ansible_collections.multicloud.fabric.plugins.module_utils.cluster.runner import ensure
from ansible_collections.multicloud.fabric.plugins.module_utils.common.module import (
    FabricModule,
    resource_module_spec,
    run,
)

# Rules within one pool (size or machine_type, min_count with max_count, required taint keys and
# effects) are the planner's: its errors name the pool and taint index (node_pools[1].taints[0].key),
# Ansible's name only the option.
NODE_POOL_OPTIONS = {
    "name": {"type": "str", "required": True},
    "count": {"type": "int"},
    "min_count": {"type": "int"},
    "max_count": {"type": "int"},
    "size": {"type": "str", "choices": ["small", "medium", "large", "xlarge"]},
    "machine_type": {"type": "str"},
    "labels": {"type": "dict"},
    "taints": {
        "type": "list",
        "elements": "dict",
        "options": {
            "key": {"type": "str", "no_log": False},
            "value": {"type": "str"},
            "effect": {"type": "str", "default": "NoSchedule"},
        },
    },
    "spot": {"type": "bool", "default": False},
    "disk_size_gb": {"type": "int"},
}
OPTIONS = {
    # raw: an unquoted 1.30 arrives as the float 1.3, which the planner recognises and explains.
    "kubernetes_version": {"type": "raw"},
    "endpoint_access": {"type": "str", "choices": ["public", "private"], "default": "public"},
    "node_pools": {"type": "list", "elements": "dict", "options": NODE_POOL_OPTIONS},
    "purge_node_pools": {"type": "bool", "default": True},
    # A plain dict: it takes mc_network's whole result as well as explicit IDs (checked by the planner).
    "network": {"type": "dict"},
    "aws": {
        "type": "dict",
        "options": {
            "role_arn": {"type": "str"},
            "node_role_arn": {"type": "str"},
            "security_group_ids": {"type": "list", "elements": "str"},
        },
    },
    "gcp": {
        "type": "dict",
        "options": {
            "project": {"type": "str"},
            "release_channel": {"type": "str", "choices": ["RAPID", "REGULAR", "STABLE", "EXTENDED", "UNSPECIFIED"]},
        },
    },
    "azure": {
        "type": "dict",
        "options": {
            "resource_group": {"type": "str"},
            "dns_prefix": {"type": "str"},
            "network_plugin": {"type": "str", "choices": ["azure", "kubenet", "none"]},
        },
    },
    "wait_for_nodes": {"type": "bool", "default": False},
    "kubeconfig": {
        "type": "dict",
        "options": {
            "path": {"type": "path", "required": True},
            "context": {"type": "str"},
            "auth": {"type": "str", "choices": ["token", "exec"], "default": "token"},
        },
    },
    "return_kubeconfig": {"type": "bool", "default": False},
}
REQUIRED_IF = [("state", "present", ["node_pools"])]


def module_spec():
    """Everything ``FabricModule`` takes for this module: its options and the rules between them."""
    return resource_module_spec(OPTIONS, required_if=REQUIRED_IF)


def main():
    run(FabricModule(supports_check_mode=True, **module_spec()), ensure)


if __name__ == "__main__":
    main()
