# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: vpn_summary
short_description: The VPN mesh's section of the deployment summary, from every cloud's view
version_added: 0.2.0
description:
  - Combines what each cloud's side reported (M(multicloud.fabric.mc_vpn_info) tunnels and the
    probes from its VPC to the others) into the C(vpn) section of C(summary.json).
  - A tunnel counts as up, and its BGP session as established, only when every side that
    reports it says so. A pair's latency is the mean round-trip time of the probes both ways;
    its loss the worse of the two.
author:
  - multicloud.fabric contributors (@multicloud-fabric)
positional: _input, tunnels_total
options:
  _input:
    description:
      - One entry per cloud, C({"cloud", "tunnels", "probes"}), C(probes) keyed by the peer cloud
        with values as the P(multicloud.fabric.ping_stats#filter) filter returns them.
    type: list
    elements: dict
    required: true
  tunnels_total:
    description: Tunnels the mesh has (default, the distinct tunnels reported).
    type: int
"""

EXAMPLES = r"""
- name: The summary's vpn section
  ansible.builtin.set_fact:
    vpn_section: >-
      {{ groups['vpn'] | map('extract', hostvars, 'vpn_mesh_side') | list
         | multicloud.fabric.vpn_summary(12) }}
"""

RETURN = r"""
_value:
  description:
    - C(tunnels_up), C(tunnels_total), C(bgp_established), C(bgp_total) and C(pairs), a list of
      C({a, b, latency_ms, loss_pct}).
  type: dict
"""

from ansible_collections.multicloud.fabric.plugins.module_utils.common.clouds import CLOUDS


def vpn_summary(sides, tunnels_total=None):
    """The mesh's ``vpn`` section of the summary from every side's view: ``sides`` is a list of
    ``{"cloud", "tunnels": <mc_vpn_info tunnels>, "probes": {peer cloud: ping_stats}}``. A tunnel
    counts as up (and its BGP session as established) only when every side reporting it says so."""
    seen = {}
    for side in sides or []:
        for tunnel in side.get("tunnels") or []:
            entry = seen.setdefault(tunnel["name"], {"pair": tunnel.get("pair"), "up": True, "bgp": True})
            entry["up"] = entry["up"] and tunnel.get("status") == "UP"
            entry["bgp"] = entry["bgp"] and tunnel.get("bgp_state") == "Established"
    total = len(seen) if tunnels_total is None else int(tunnels_total)
    clouds = sorted({s["cloud"] for s in sides or []}, key=CLOUDS.index)
    probes = {s["cloud"]: s.get("probes") or {} for s in sides or []}
    pairs = []
    for index, a in enumerate(clouds):
        for b in clouds[index + 1 :]:
            there = probes[a].get(b)
            back = probes[b].get(a)
            measured = [p for p in (there, back) if p]
            if not measured:
                continue
            rtts = [p["rtt_ms"] for p in measured if p.get("rtt_ms") is not None]
            pairs.append(
                {
                    "a": a,
                    "b": b,
                    "latency_ms": round(sum(rtts) / len(rtts), 1) if rtts else None,
                    "loss_pct": max(p["loss_pct"] for p in measured),
                }
            )
    return {
        "tunnels_up": sum(1 for t in seen.values() if t["up"]),
        "tunnels_total": total,
        "bgp_established": sum(1 for t in seen.values() if t["bgp"]),
        "bgp_total": total,
        "pairs": pairs,
    }


class FilterModule:
    def filters(self):
        return {"vpn_summary": vpn_summary}
