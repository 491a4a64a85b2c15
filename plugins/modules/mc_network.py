#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: mc_network
short_description: One network per cloud region from a CIDR plan, for EKS, GKE and AKS
version_added: 0.1.0
description:
  - Creates the network a Kubernetes cluster and a site-to-site VPN need in one cloud region,
    from one CIDR plan, and returns its IDs in one shape for every cloud.
  - AWS, a VPC with subnets in at least two availability zones, an internet gateway and a route
    table (what EKS needs). GCP, a custom-mode network and a regional subnetwork with secondary
    ranges for pods and services. Azure, a resource group (optional), a VNet and subnets,
    including C(GatewaySubnet) sized for a VPN gateway.
  - The plan is validated before any write. Every range must be private (RFC 1918) unless
    O(allow_public_cidr=true), subnets must lie inside O(cidr), and no two ranges (subnets and
    secondary ranges) may overlap. Errors name the option.
  - The address space and existing subnets cannot change in place; such a change fails and lists
    the fields. New subnets are added; subnets not listed are deleted only with O(purge_subnets=true).
author:
  - multicloud.fabric contributors (@multicloud-fabric)
options:
  cloud:
    description: The cloud of the network.
    type: str
    required: true
    choices: [aws, gcp, azure]
  name:
    description:
      - Name of the network (AWS C(Name) tag of the VPC, GCP network name, Azure VNet name).
    type: str
    required: true
  region:
    description:
      - AWS region, GCP region of the subnetworks, or Azure location.
      - Checked before any write against the cloud's own list; an unknown one fails listing the valid ones.
    type: str
    required: true
  state:
    description: Whether the network should exist. V(absent) deletes its subnets and the network.
    type: str
    choices: [present, absent]
    default: present
  cidr:
    description:
      - Address space of the network, for example V(10.0.0.0/16). Required with O(state=present).
      - AWS accepts /16 to /28.
    type: str
  subnets:
    description:
      - Explicit subnets. When not set, subnets are planned from O(subnet_count) and O(subnet_prefix).
    type: list
    elements: dict
    suboptions:
      name:
        description: Subnet name (on Azure, V(GatewaySubnet) for the gateway subnet).
        type: str
        required: true
      cidr:
        description: Range of the subnet, inside O(cidr).
        type: str
        required: true
      zone:
        description: AWS only, the availability zone.
        type: str
      role:
        description: V(nodes) for cluster nodes, V(gateway) for the Azure VPN gateway subnet.
        type: str
        choices: [nodes, gateway]
        default: nodes
      secondary_ranges:
        description: GCP only, secondary ranges (pods, services).
        type: list
        elements: dict
        suboptions:
          name:
            description: Range name (V(pods) and V(services) are what M(multicloud.fabric.mc_cluster) looks for).
            type: str
            required: true
          cidr:
            description: The range; may lie outside O(cidr) but must not overlap any other range.
            type: str
            required: true
  subnet_count:
    description:
      - Number of node subnets to plan when O(subnets) is not set. AWS, one per availability zone
        (default and minimum 2); GCP and Azure, default 1.
    type: int
  subnet_prefix:
    description: Prefix length of planned node subnets; default four bits longer than O(cidr) (a /16 gives /20s).
    type: int
  pods_cidr:
    description:
      - GCP only, the C(pods) secondary range of the planned subnetwork.
      - This and every other option of one cloud (O(services_cidr), O(gateway_subnet), O(gateway_subnet_prefix),
        O(azure)) fails when given for another cloud, naming the option; nothing is silently ignored.
    type: str
  services_cidr:
    description: GCP only, the C(services) secondary range of the planned subnetwork.
    type: str
  gateway_subnet:
    description:
      - Azure only, plan a C(GatewaySubnet) at the end of O(cidr) for a VPN gateway. Default V(true) on Azure.
    type: bool
  gateway_subnet_prefix:
    description:
      - Azure only, prefix length of the planned C(GatewaySubnet); Azure needs /27 or larger. Default V(27).
    type: int
  allow_public_cidr:
    description: Allow ranges outside RFC 1918 (only for address space you own).
    type: bool
    default: false
  tags:
    description:
      - Tags of the VPC and its subnets (AWS) or of the VNet and resource group (Azure). Not set means tags are
        not managed. Compute Engine networks have no labels, so on GCP tags are ignored with a warning.
    type: dict
  purge_tags:
    description: Remove tags not listed in O(tags). Has no effect when O(tags) is not set.
    type: bool
    default: true
  purge_subnets:
    description: Delete subnets of the network that are not in the plan.
    type: bool
    default: false
  azure:
    description: Options only Azure has.
    type: dict
    suboptions:
      resource_group:
        description: Resource group of the VNet. Required on Azure.
        type: str
      create_resource_group:
        description:
          - Create the resource group when it does not exist; with O(state=absent) delete it when it is left empty.
        type: bool
        default: true
notes:
  - A no-op rerun only reads. The region is checked first against the cloud's own list (GCP regions.list,
    Azure Subscriptions_ListLocations; AWS from the SDK's partition data). AWS, DescribeAvailabilityZones
    (when subnets are planned), DescribeVpcs, DescribeSubnets, DescribeInternetGateways and
    DescribeRouteTables; GCP, networks get and subnetworks list; Azure, resource group and virtual network get.
  - In check mode the returned IDs of resources that do not exist yet are C((known after apply)).
extends_documentation_fragment:
  - multicloud.fabric.aws
  - multicloud.fabric.gcp
  - multicloud.fabric.azure
  - multicloud.fabric.wait
  - multicloud.fabric.attributes
seealso:
  - module: multicloud.fabric.mc_network_info
  - module: multicloud.fabric.mc_cluster
"""

EXAMPLES = r"""
- name: AWS VPC with two /20 subnets in two zones
  multicloud.fabric.mc_network:
    cloud: aws
    region: us-east-1
    name: fabric
    cidr: 10.0.0.0/16
    tags:
      team: platform
  register: aws_net

- name: GCP network with pod and service ranges
  multicloud.fabric.mc_network:
    cloud: gcp
    region: us-central1
    name: fabric
    cidr: 10.1.0.0/16
    pods_cidr: 10.2.0.0/16
    services_cidr: 10.3.0.0/20
  register: gcp_net

- name: Azure VNet with a node subnet and a GatewaySubnet, explicit
  multicloud.fabric.mc_network:
    cloud: azure
    region: eastus
    name: fabric
    cidr: 10.4.0.0/16
    subnets:
      - name: nodes
        cidr: 10.4.0.0/20
      - name: GatewaySubnet
        cidr: 10.4.255.224/27
        role: gateway
    azure:
      resource_group: fabric-rg
  register: azure_net

- name: Delete the AWS network
  multicloud.fabric.mc_network:
    cloud: aws
    region: us-east-1
    name: fabric
    state: absent
"""

RETURN = r"""
network:
  description: The network after the run (in check mode, as predicted); empty when absent.
  returned: always
  type: dict
  contains:
    cloud:
      description: V(aws), V(gcp) or V(azure).
      type: str
    region:
      description: Region or location.
      type: str
    name:
      description: Network name.
      type: str
    id:
      description: AWS VPC ID, GCP network self link or Azure VNet ID.
      type: str
      sample: vpc-0a1b2c3d4e5f67890
    cidr:
      description: Address space.
      type: str
      sample: 10.0.0.0/16
    tags:
      description: Tags of the network (always empty on GCP).
      type: dict
    provider:
      description: Project (GCP) or resource group (Azure) of the network.
      type: dict
    subnets:
      description: Subnets.
      type: list
      elements: dict
      contains:
        name:
          description: Subnet name.
          type: str
        id:
          description: Subnet ID (AWS subnet ID, GCP subnetwork self link, Azure subnet ID).
          type: str
        cidr:
          description: Range.
          type: str
        zone:
          description: Availability zone (AWS), else null.
          type: str
        role:
          description: V(nodes) or V(gateway).
          type: str
        secondary_ranges:
          description: Secondary ranges (GCP).
          type: list
          elements: dict
actions:
  description: What the run did (or, in check mode, would do), in order.
  returned: always
  type: list
  elements: dict
  sample:
    - {"action": "create_network"}
    - {"action": "create_subnet", "subnet": {"name": "fabric-us-east-1a", "cidr": "10.0.0.0/20"}}
"""

from ansible_collections.multicloud.fabric.plugins.module_utils.common.module import (
    FabricModule,
    resource_module_spec,
    run,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.network.runner import ensure

OPTIONS = {
    "cidr": {"type": "str"},
    "subnets": {
        "type": "list",
        "elements": "dict",
        "options": {
            "name": {"type": "str", "required": True},
            "cidr": {"type": "str", "required": True},
            "zone": {"type": "str"},
            "role": {"type": "str", "choices": ["nodes", "gateway"], "default": "nodes"},
            "secondary_ranges": {
                "type": "list",
                "elements": "dict",
                "options": {"name": {"type": "str", "required": True}, "cidr": {"type": "str", "required": True}},
            },
        },
    },
    "subnet_count": {"type": "int"},
    "subnet_prefix": {"type": "int"},
    "pods_cidr": {"type": "str"},
    "services_cidr": {"type": "str"},
    "gateway_subnet": {"type": "bool"},
    # No default here: given for another cloud it is an error (the planner uses /27 on azure).
    "gateway_subnet_prefix": {"type": "int"},
    "allow_public_cidr": {"type": "bool", "default": False},
    "purge_subnets": {"type": "bool", "default": False},
    "azure": {
        "type": "dict",
        "options": {
            "resource_group": {"type": "str"},
            "create_resource_group": {"type": "bool", "default": True},
        },
    },
}
REQUIRED_IF = [("state", "present", ["cidr"])]
# An explicit subnets list replaces the planned one, and with it what plans it.
MUTUALLY_EXCLUSIVE = [["subnets", option] for option in ("subnet_count", "subnet_prefix", "pods_cidr", "services_cidr")]


def module_spec():
    """Everything ``FabricModule`` takes for this module: its options and the rules between them."""
    return resource_module_spec(OPTIONS, required_if=REQUIRED_IF, mutually_exclusive=MUTUALLY_EXCLUSIVE)


def main():
    run(FabricModule(supports_check_mode=True, **module_spec()), ensure)


if __name__ == "__main__":
    main()
