#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: mc_vpn_info
short_description: State of every tunnel and BGP session of one cloud's side of the VPN mesh
version_added: 0.2.0
description:
  - Reads, for one cloud's side of the mesh M(multicloud.fabric.mc_vpn) built, each tunnel's
    state and its BGP session with the routes learned, in one shape for every cloud.
  - AWS, from the VPN connections' C(VgwTelemetry) (status, message, accepted route count). GCP,
    from each tunnel's C(status)/C(detailedStatus) and the Cloud Router's C(getRouterStatus).
    Azure, from each connection's C(tunnelConnectionStatus) and the gateway's C(getBgpPeerStatus).
  - Takes the same O(peers) as M(multicloud.fabric.mc_vpn) to know which tunnels the mesh has;
    reading needs no keys, so O(psk_seed) is not required. Changes nothing.
author:
  - multicloud.fabric contributors (@multicloud-fabric)
options:
  cloud:
    description: The cloud whose side is read.
    type: str
    required: true
    choices: [aws, gcp, azure]
  name:
    description: Name of the mesh.
    type: str
    required: true
  region:
    description: Region or location of the gateway.
    type: str
    required: true
  network:
    description: As for M(multicloud.fabric.mc_vpn).
    type: str
    required: true
  cidrs:
    description: The ranges this gateway advertises.
    type: list
    elements: str
    required: true
  asn:
    description: This gateway's ASN (default per cloud as for M(multicloud.fabric.mc_vpn)).
    type: int
  psk_seed:
    description: Not needed to read; accepted so the same variables serve both modules.
    type: str
  rotations:
    description: As for M(multicloud.fabric.mc_vpn).
    type: dict
  inside_cidrs:
    description: As for M(multicloud.fabric.mc_vpn).
    type: dict
  azure:
    description: Azure side only.
    type: dict
    suboptions:
      resource_group:
        description: Resource group of the VNet and the VPN resources.
        type: str
      gateway_subnet_cidr:
        description: Accepted as for M(multicloud.fabric.mc_vpn); not used to read.
        type: str
extends_documentation_fragment:
  - multicloud.fabric.vpn
  - multicloud.fabric.aws
  - multicloud.fabric.gcp
  - multicloud.fabric.azure
  - multicloud.fabric.attributes.info_module
seealso:
  - module: multicloud.fabric.mc_vpn
"""

EXAMPLES = r"""
- name: Wait until every tunnel of this side is up and its BGP session established
  multicloud.fabric.mc_vpn_info:
    cloud: "{{ cloud }}"
    region: "{{ region }}"
    name: fabric
    network: "{{ network_id }}"
    cidrs: ["{{ network_cidr }}"]
    peers: "{{ vpn_peers }}"
  register: vpn
  until: >-
    vpn.tunnels | length > 0
    and vpn.tunnels_up == vpn.tunnels | length
    and vpn.bgp_established == vpn.tunnels | length
  retries: 60
  delay: 10
"""

RETURN = r"""
tunnels:
  description: Every tunnel of this side of the mesh, in the mesh's order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The tunnel's name in the mesh.
      type: str
      sample: fabric-aws-gcp-0
    pair:
      description: The pair of clouds.
      type: str
      sample: aws-gcp
    index:
      description: The tunnel's number within its pair (0-3).
      type: int
    status:
      description: V(UP) or V(DOWN).
      type: str
    status_message:
      description:
        - The cloud's own words for the state (AWS C(StatusMessage), GCP C(detailedStatus), Azure
          connection status).
      type: str
    bgp_state:
      description: The BGP session's state, e.g. V(Established).
      type: str
    routes_learned:
      description: Prefixes learned over the session.
      type: list
      elements: str
    local_public_ip:
      description: This side's public address of the tunnel.
      type: str
    remote_public_ip:
      description: The other side's public address.
      type: str
tunnels_up:
  description: How many tunnels are V(UP).
  returned: always
  type: int
bgp_established:
  description: How many BGP sessions are established.
  returned: always
  type: int
gateway:
  description: The gateway's facts as M(multicloud.fabric.mc_vpn) returns them; empty when it does not exist.
  returned: always
  type: dict
pending:
  description: Pairs whose other side's addresses are not known yet.
  returned: always
  type: list
  elements: str
in_progress:
  description: Resources (C(kind/name)) the cloud is still making, changing or deleting.
  returned: always
  type: list
  elements: str
  sample: [vpn_gateway/fabric-gw]
"""

from ansible_collections.multicloud.fabric.plugins.module_utils.common.module import (
    FabricModule,
    info_module_spec,
    run,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.runner import MESH_OPTIONS, info

OPTIONS = dict(
    {
        "cloud": {"type": "str", "required": True, "choices": ["aws", "gcp", "azure"]},
        "name": {"type": "str", "required": True},
        "region": {"type": "str", "required": True},
        "network": {"type": "str", "required": True},
        "cidrs": {"type": "list", "elements": "str", "required": True},
    },
    **MESH_OPTIONS,
)


def module_spec():
    return info_module_spec(OPTIONS)


def main():
    run(FabricModule(supports_check_mode=True, **module_spec()), info)


if __name__ == "__main__":
    main()
