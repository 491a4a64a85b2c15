# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The other clouds' gateways, as mc_vpn and mc_vpn_info take them. Matches PEER_OPTIONS in
    # plugins/module_utils/vpn/runner.py.
    DOCUMENTATION = r"""
options:
  peers:
    description:
      - The other clouds' gateways, as their M(multicloud.fabric.mc_vpn) runs returned
        RV(multicloud.fabric.mc_vpn#module:gateway) (the role C(multicloud.fabric.vpn_mesh) passes them).
    type: list
    elements: dict
    suboptions:
      cloud:
        description: The peer's cloud.
        type: str
        required: true
        choices: [aws, gcp, azure]
      region:
        description: The peer's region.
        type: str
        required: true
      name:
        description: The peer's mesh name (the same mesh).
        type: str
        required: true
      asn:
        description: The peer gateway's ASN.
        type: int
        required: true
      cidrs:
        description: The ranges the peer advertises.
        type: list
        elements: str
        required: true
      interfaces:
        description: GCP and Azure peers, the public address of each HA VPN interface / gateway instance.
        type: list
        elements: str
      tunnel_ips:
        description: AWS peers, the public address of each tunnel by tunnel name.
        type: dict
"""
