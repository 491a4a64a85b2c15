# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: ping_stats
short_description: Sent, received, loss and round-trip times out of the output of ping
version_added: 0.2.0
description:
  - Reads the summary lines of C(ping) (iputils, BusyBox, BSD/macOS) and returns the figures in
    one shape; the role C(multicloud.fabric.vpn_mesh) measures the mesh with it.
  - Output without a summary line (ping not found, no route) counts as every probe lost.
author:
  - multicloud.fabric contributors (@multicloud-fabric)
positional: _input, count
options:
  _input:
    description: What ping printed.
    type: str
    required: true
  count:
    description: Probes sent, used when the output has no summary.
    type: int
    default: 1
"""

EXAMPLES = r"""
- name: Loss and latency from this VPC to another one
  ansible.builtin.set_fact:
    probe: "{{ ping_result.stdout | multicloud.fabric.ping_stats(5) }}"
"""

RETURN = r"""
_value:
  description:
    - C(sent), C(received), C(loss_pct) and C(rtt_ms) (the average round trip; C(rtt_min_ms),
      C(rtt_max_ms)); the times are null when nothing came back.
  type: dict
"""

import re

_SENT = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")
# iputils: "rtt min/avg/max/mdev = 0.041/0.051/0.066/0.010 ms"; BusyBox and BSD: "round-trip min/avg/max = ..."
_RTT = re.compile(r"(?:rtt|round-trip) min/avg/max(?:/\w+)? = ([\d.]+)/([\d.]+)/([\d.]+)")


def ping_stats(output, count=1):
    text = str(output or "")
    sent = _SENT.search(text)
    transmitted, received = (int(sent.group(1)), int(sent.group(2))) if sent else (int(count), 0)
    rtt = _RTT.search(text)
    return {
        "sent": transmitted,
        "received": received,
        "loss_pct": round(100.0 * (transmitted - received) / transmitted, 1) if transmitted else 100.0,
        "rtt_ms": float(rtt.group(2)) if rtt and received else None,
        "rtt_min_ms": float(rtt.group(1)) if rtt and received else None,
        "rtt_max_ms": float(rtt.group(3)) if rtt and received else None,
    }


class FilterModule:
    def filters(self):
        return {"ping_stats": ping_stats}
