#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: mc_vpn
short_description: One cloud's side of a highly available IPsec + BGP mesh between AWS, GCP and Azure
version_added: 0.2.0
description:
  - Manages one cloud's VPN gateway and its half of every peering with the other clouds, so
    that three runs (one per cloud, one inventory host each) build the whole mesh (four tunnels
    per pair of clouds, BGP over every tunnel, each VPC's ranges learned by the others).
  - AWS, a virtual private gateway attached to the VPC with route propagation into its route
    tables, a customer gateway per remote interface and two VPN connections per peer (two tunnels
    each, with their inside CIDRs, keys and IKE versions as C(TunnelOptions)). GCP, an HA VPN
    gateway, a Cloud Router with a BGP peer per tunnel, an external VPN gateway per peer and the
    tunnels. Azure, two public IPs, an active-active VPN gateway with BGP on custom APIPA
    addresses, a local network gateway per remote address and the connections.
  - Without O(peers) only the gateway is managed (the I(gateway phase)); its public addresses and
    ASN come back in RV(gateway), which the other clouds' runs take as O(peers). With O(peers)
    the mesh is planned, with inside /30s that every cloud accepts (never AWS's reserved ones, inside
    Azure's APIPA range on Azure pairs, unique), private ASNs unique per gateway and none a cloud
    reserves, and one pre-shared key per tunnel derived from O(psk_seed) with HMAC-SHA-512, so
    every rerun on any machine gets the same keys without stored state. Every planning error
    names the option, before any write.
  - AWS assigns its tunnel addresses when its VPN connections are made; a GCP or Azure run whose
    AWS peer has no RV(gateway.tunnel_ips) yet leaves that pair in RV(pending) (and deletes
    nothing of it). The role C(multicloud.fabric.vpn_mesh) runs the phases in the right order.
  - Keys never appear in the result, the diff or the log; changes to a key show as masked.
  - In a real cloud an Azure VPN gateway takes 30 to 45 minutes; start the gateway phase early
    (as soon as the VNet exists) with O(wait=false) and run the peerings later. With
    O(wait=false) the last action is started and not waited for (what it needs is); a later run
    with O(wait=true) first waits for whatever is still in RV(in_progress). AWS and GCP always
    wait, as their gateway phase takes seconds and the other sides need its addresses.
  - O(peers) given without addresses (no RV(gateway.interfaces) or RV(gateway.tunnel_ips)) and
    without O(psk_seed) are still the gateway phase; they give the mesh's layout, so the Azure
    gateway is made with the APIPA BGP addresses of every tunnel it will have and is not updated
    (another 15 minutes) when the peerings come. The filter P(multicloud.fabric.vpn_layout_peers#filter)
    reads such peers from the inventory.
author:
  - multicloud.fabric contributors (@multicloud-fabric)
options:
  cloud:
    description: The cloud whose side this run manages.
    type: str
    required: true
    choices: [aws, gcp, azure]
  name:
    description:
      - Name of the mesh; every resource this module makes is named after it (lowercase letters,
        digits and C(-), starting with a letter, at most 40 characters).
    type: str
    required: true
  region:
    description: AWS region, GCP region or Azure location of the gateway (the network's).
    type: str
    required: true
  state:
    description:
      - V(absent) deletes every VPN resource of the mesh in this cloud (peerings first, then the
        gateway); the network is left alone.
    type: str
    choices: [present, absent]
    default: present
  network:
    description:
      - The network the gateway serves. AWS, the VPC ID; GCP, the VPC network's name; Azure, the
        VNet's name (in O(azure.resource_group)). Required with O(state=present).
    type: str
  cidrs:
    description:
      - The ranges this gateway advertises over BGP (its VPC/VNet ranges). Required with
        O(state=present). No range may overlap a peer's.
    type: list
    elements: str
  asn:
    description:
      - This gateway's private ASN. Defaults to V(64512) (AWS), V(64514) (GCP), V(64516) (Azure).
      - Azure's reserved ASNs (65515, 65517-65520) are refused for every gateway that peers with Azure.
    type: int
  psk_seed:
    description:
      - The secret every tunnel's pre-shared key is derived from (at least 16 characters). Keep it
        in Ansible Vault or a secret store. Required with O(peers).
    type: str
  rotations:
    description:
      - Per pair (V(aws-gcp), V(aws-azure), V(gcp-azure)) a number; raising it derives new keys for
        that pair's four tunnels only.
    type: dict
  inside_cidrs:
    description:
      - Per pair, four /30s for its tunnels instead of the planned ones (checked against every
        cloud's rules and each other).
    type: dict
  psks:
    description:
      - Per pair, four explicit keys instead of derived ones (8-64 of letters, digits, C(.) and
        C(_), not starting with C(0)).
    type: dict
  azure:
    description: Azure side only.
    type: dict
    suboptions:
      resource_group:
        description: Resource group of the VNet; the VPN resources are made in it.
        type: str
      gateway_subnet_cidr:
        description:
          - Range of the VNet's C(GatewaySubnet) when it does not exist yet (M(multicloud.fabric.mc_network)
            with O(multicloud.fabric.mc_network#module:gateway_subnet=true) makes it).
        type: str
  tags:
    description: Tags of the resources that take them (AWS, Azure).
    type: dict
  purge_tags:
    description: Remove tags not listed in O(tags). Has no effect when O(tags) is not set.
    type: bool
    default: true
notes:
  - Check mode reports exactly the actions a run would take; diff mode shows each resource's
    spec before and after, keys masked.
extends_documentation_fragment:
  - multicloud.fabric.vpn
  - multicloud.fabric.aws
  - multicloud.fabric.gcp
  - multicloud.fabric.azure
  - multicloud.fabric.wait
  - multicloud.fabric.attributes
seealso:
  - module: multicloud.fabric.mc_vpn_info
  - module: multicloud.fabric.mc_network
"""

EXAMPLES = r"""
- name: Gateway phase, on every cloud's host (its facts go to the others)
  multicloud.fabric.mc_vpn:
    cloud: "{{ cloud }}"
    region: "{{ region }}"
    name: fabric
    network: "{{ network_id }}"
    cidrs: ["{{ network_cidr }}"]
    azure:
      resource_group: "{{ resource_group | default(omit) }}"
  register: vpn_gateway

- name: Start the Azure gateway as soon as its VNet exists; a later gateway phase waits for it
  multicloud.fabric.mc_vpn:
    cloud: azure
    region: eastus
    name: fabric
    network: fabric
    cidrs: [10.2.0.0/16]
    azure:
      resource_group: fabric-rg
    # The other sides from the inventory: the gateway gets every tunnel's BGP address at once.
    peers: >-
      {{ groups['vpn'] | difference([inventory_hostname]) | map('extract', hostvars) | list
         | multicloud.fabric.vpn_layout_peers }}
    wait: false

- name: Peerings, AWS first (its tunnel addresses exist once its connections do)
  multicloud.fabric.mc_vpn:
    cloud: aws
    region: us-east-1
    name: fabric
    network: vpc-0a1b2c3d4e5f67890
    cidrs: [10.0.0.0/16]
    peers: >-
      {{ groups['vpn'] | difference([inventory_hostname])
         | map('extract', hostvars, ['vpn_gateway', 'gateway']) | list }}
    psk_seed: "{{ vault_vpn_psk_seed }}"

- name: Rotate the keys of the AWS<->GCP tunnels only
  multicloud.fabric.mc_vpn:
    cloud: gcp
    region: us-central1
    name: fabric
    network: fabric
    cidrs: [10.1.0.0/16]
    peers: "{{ vpn_peers }}"
    psk_seed: "{{ vault_vpn_psk_seed }}"
    rotations:
      aws-gcp: 1

- name: Remove the Azure side of the mesh
  multicloud.fabric.mc_vpn:
    cloud: azure
    region: eastus
    name: fabric
    state: absent
    azure:
      resource_group: fabric-rg
"""

RETURN = r"""
gateway:
  description:
    - This cloud's gateway as the other clouds' runs take it in O(peers); empty when absent.
    - In check mode addresses not assigned yet are missing.
  returned: always
  type: dict
  contains:
    cloud:
      description: The cloud.
      type: str
    region:
      description: Region or location.
      type: str
    name:
      description: The mesh name.
      type: str
    asn:
      description: The gateway's ASN.
      type: int
      sample: 64514
    cidrs:
      description: The ranges it advertises.
      type: list
      elements: str
    interfaces:
      description: GCP, the two HA VPN interface addresses; Azure, the two instance addresses; AWS, empty.
      type: list
      elements: str
      sample: [203.0.113.10, 203.0.113.11]
    tunnel_ips:
      description: AWS, each tunnel's outside address by tunnel name; else empty.
      type: dict
      sample: {"fabric-aws-gcp-0": "198.51.100.7"}
pending:
  description: Pairs left out because the other side's addresses are not known yet.
  returned: always
  type: list
  elements: str
  sample: [aws-gcp]
in_progress:
  description:
    - Resources (C(kind/name)) the cloud is still making, changing or deleting when the module
      returns, e.g. the gateway started with O(wait=false).
  returned: always
  type: list
  elements: str
  sample: [vpn_gateway/fabric-gw]
actions:
  description:
    - What the run did (or, in check mode, would do), in order; keys masked.
  returned: always
  type: list
  elements: dict
  sample:
    - {"action": "create", "kind": "vpn_gateway", "name": "fabric-gw", "spec": {"network": "fabric"}}
    - action: update
      kind: vpn_connection
      name: fabric-aws-gcp-0
      changes: {"psk": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}
"""

from ansible_collections.multicloud.fabric.plugins.module_utils.common.module import (
    FabricModule,
    resource_module_spec,
    run,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.runner import MESH_OPTIONS, ensure

OPTIONS = dict(
    {
        "network": {"type": "str"},
        "cidrs": {"type": "list", "elements": "str"},
        "psks": {"type": "dict", "no_log": True},
    },
    **MESH_OPTIONS,
)
REQUIRED_IF = [("state", "present", ["network", "cidrs"])]


def module_spec():
    """Everything ``FabricModule`` takes for this module: its options and the rules between them."""
    return resource_module_spec(OPTIONS, required_if=REQUIRED_IF)


def main():
    run(FabricModule(supports_check_mode=True, **module_spec()), ensure)


if __name__ == "__main__":
    main()
