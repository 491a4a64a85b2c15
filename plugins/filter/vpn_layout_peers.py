# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: vpn_layout_peers
short_description: The other sides of the VPN mesh as mc_vpn peers, from their host vars alone
version_added: 0.2.0
description:
  - Turns the host vars of the mesh's other hosts into O(multicloud.fabric.mc_vpn#module:peers)
    entries without addresses (C(cloud), C(region), C(name), C(asn), C(cidrs)), read from the
    inventory only, so a host can start its gateway while the others are still making theirs.
  - M(multicloud.fabric.mc_vpn) given such peers and no C(psk_seed) makes the gateway with the
    mesh's layout (Azure's instances get their APIPA BGP addresses at once) and no peering.
  - Per host, C(mc_cloud), C(mc_region) and C(mc_cidr) are required; C(vpn_mesh_name) (default
    C(mc_deployment), else C(fabric)), C(mc_vpn_asn) (default the cloud's) and C(vpn_mesh_cidrs)
    (default C([mc_cidr])) are read when the host sets them.
author:
  - multicloud.fabric contributors (@multicloud-fabric)
positional: _input
options:
  _input:
    description: The host vars of the other hosts (C(hostvars) extracted for their names).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Start this side's gateway while the other clouds make theirs
  multicloud.fabric.mc_vpn:
    cloud: "{{ mc_cloud }}"
    region: "{{ mc_region }}"
    name: fabric
    network: "{{ network_id }}"
    cidrs: ["{{ mc_cidr }}"]
    peers: >-
      {{ ansible_play_hosts | difference([inventory_hostname]) | map('extract', hostvars)
         | list | multicloud.fabric.vpn_layout_peers }}
    wait: false
"""

RETURN = r"""
_value:
  description: One C({cloud, region, name, asn, cidrs}) per host, in the order given.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.spec import DEFAULT_ASNS


def _get(host, key, default=None):
    try:
        value = host[key]
    except (KeyError, TypeError):
        return default
    return default if value is None else value


def vpn_layout_peers(hosts):
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError("vpn_layout_peers: expected a list of host vars")
    out = []
    for index, host in enumerate(hosts):
        label = _get(host, "inventory_hostname", f"host {index}")
        missing = [key for key in ("mc_cloud", "mc_region", "mc_cidr") if _get(host, key) in (None, "")]
        if missing:
            raise AnsibleFilterError(f"vpn_layout_peers: {label} has no {', '.join(missing)}")
        cloud = str(_get(host, "mc_cloud"))
        if cloud not in DEFAULT_ASNS:
            raise AnsibleFilterError(
                f"vpn_layout_peers: {label}: mc_cloud is {cloud!r}, expected one of {', '.join(DEFAULT_ASNS)}"
            )
        cidrs = _get(host, "vpn_mesh_cidrs") or [_get(host, "mc_cidr")]
        out.append(
            {
                "cloud": cloud,
                "region": str(_get(host, "mc_region")),
                "name": str(_get(host, "vpn_mesh_name") or _get(host, "mc_deployment") or "fabric"),
                "asn": int(_get(host, "mc_vpn_asn", DEFAULT_ASNS[cloud])),
                "cidrs": [str(c) for c in cidrs],
            }
        )
    return out


class FilterModule:
    def filters(self):
        return {"vpn_layout_peers": vpn_layout_peers}
