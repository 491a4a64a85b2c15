#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: mc_network_info
short_description: List networks in AWS, GCP and Azure in one result shape
version_added: 0.1.0
description:
  - Lists the networks of one cloud (AWS VPCs, GCP networks with their subnetworks, Azure VNets),
    each in the shape of the C(network) result of M(multicloud.fabric.mc_network).
author:
  - multicloud.fabric contributors (@multicloud-fabric)
options:
  cloud:
    description: The cloud to look in.
    type: str
    required: true
    choices: [aws, gcp, azure]
  region:
    description: Region to look in. Required on AWS; on GCP only subnetworks of this region are shown.
    type: str
  name:
    description: Only the network of this name.
    type: str
  azure:
    description: Options only Azure has.
    type: dict
    suboptions:
      resource_group:
        description: Only VNets of this resource group; the whole subscription when not set.
        type: str
extends_documentation_fragment:
  - multicloud.fabric.aws
  - multicloud.fabric.gcp
  - multicloud.fabric.azure
  - multicloud.fabric.attributes.info_module
seealso:
  - module: multicloud.fabric.mc_network
"""

EXAMPLES = r"""
- name: Every VPC of a region
  multicloud.fabric.mc_network_info:
    cloud: aws
    region: us-east-1

- name: One GCP network
  multicloud.fabric.mc_network_info:
    cloud: gcp
    region: us-central1
    name: fabric
    gcp_project: my-project

- name: VNets of a resource group
  multicloud.fabric.mc_network_info:
    cloud: azure
    azure:
      resource_group: fabric-rg
"""

RETURN = r"""
networks:
  description:
    - The networks found, in the shape of M(multicloud.fabric.mc_network)'s
      RV(multicloud.fabric.mc_network#module:network) result.
  returned: always
  type: list
  elements: dict
  sample:
    - cloud: aws
      region: us-east-1
      name: fabric
      id: vpc-0a1b2c3d4e5f67890
      cidr: 10.0.0.0/16
      tags: {team: platform}
      subnets:
        - name: fabric-us-east-1a
          id: subnet-0123456789abcdef0
          cidr: 10.0.0.0/20
          zone: us-east-1a
          role: nodes
          secondary_ranges: []
"""

from ansible_collections.multicloud.fabric.plugins.module_utils.common.clouds import CLOUDS
from ansible_collections.multicloud.fabric.plugins.module_utils.common.module import FabricModule, info_module_spec, run
from ansible_collections.multicloud.fabric.plugins.module_utils.network.runner import info

OPTIONS = {
    "cloud": {"type": "str", "required": True, "choices": list(CLOUDS)},
    "region": {"type": "str"},
    "name": {"type": "str"},
    "azure": {"type": "dict", "options": {"resource_group": {"type": "str"}}},
}
# EC2 lists VPCs per region; GCP and Azure list the whole project or subscription.
REQUIRED_IF = [("cloud", "aws", ["region"])]


def module_spec():
    """Everything ``FabricModule`` takes for this module: its options and the rules between them."""
    return info_module_spec(OPTIONS, required_if=REQUIRED_IF)


def main():
    run(FabricModule(supports_check_mode=True, **module_spec()), info)


if __name__ == "__main__":
    main()
