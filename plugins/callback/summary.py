# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: summary
type: aggregate
short_description: Prints the deployment summary of site.yml as a table
version_added: 0.1.0
description:
  - Prints the summary a playbook publishes with C(ansible.builtin.set_stats) under the key
    C(multicloud_fabric_summary) as plain lines, one row per cluster, right after the task that
    published it, whatever stdout callback and result format are configured.
  - The collection's playbooks load it on their own (it sits in C(playbooks/callback_plugins/)), so
    nothing has to be configured. Other playbooks can enable it with
    C(callbacks_enabled = multicloud.fabric.summary).
author:
  - multicloud.fabric contributors (@multicloud-fabric)
"""

from ansible.plugins.callback import CallbackBase  # noqa: E402 (DOCUMENTATION comes first in a plugin)

SUMMARY_KEY = "multicloud_fabric_summary"
COLUMNS = ("cloud", "region", "cluster", "k8s", "nodes", "endpoint", "took")


def _nodes(row):
    expected = row.get("nodes_expected", "?")
    if row.get("planned"):
        return f"{expected} (planned)"
    return f"{row.get('nodes_ready', '?')}/{expected} Ready"


def _cells(row):
    seconds = row.get("seconds")
    return (
        str(row.get("cloud", "")),
        str(row.get("region", "")),
        str(row.get("cluster", "")) + (" (planned)" if row.get("planned") else ""),
        str(row.get("version", "")),
        _nodes(row),
        str(row.get("endpoint") or "(known after apply)"),
        "" if seconds is None else f"{float(seconds):.1f} s",
    )


def _table(rows):
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip() for row in rows]


def _vpn_lines(vpn):
    """The mesh: tunnels and sessions up, then one line per pair of clouds."""
    lines = [
        "",
        f"vpn: {vpn.get('tunnels_up', 0)}/{vpn.get('tunnels_total', 0)} tunnels up, "
        f"{vpn.get('bgp_established', 0)}/{vpn.get('bgp_total', 0)} BGP sessions established",
    ]
    rows = [("pair", "latency", "loss")]
    for pair in vpn.get("pairs") or []:
        latency = pair.get("latency_ms")
        rows.append(
            (
                f"{pair.get('a')} <-> {pair.get('b')}",
                "-" if latency is None else f"{float(latency):.1f} ms",
                f"{float(pair.get('loss_pct') or 0):g} %",
            )
        )
    if len(rows) > 1:
        lines += ["  " + line for line in _table(rows)]
    return lines


def _app_lines(app):
    """The application: one line per cluster, replicas Ready of wanted, where it answers."""
    rows = [("app", "replicas", "load balancer", "health")]
    for row in app:
        planned = str(row.get("planned")).lower() == "true"
        replicas = (
            f"{row.get('replicas', '?')} (planned)"
            if planned
            else f"{row.get('ready', 0)}/{row.get('replicas', '?')} Ready"
        )
        address = row.get("address") or "(known after apply)"
        if address != "(known after apply)":
            address = f"{address}:{row.get('port', '')}"
        healthy = str(row.get("healthy")).lower() == "true"
        rows.append(
            (
                f"{row.get('cloud', '')}/{row.get('cluster', '')}",
                replicas,
                address,
                "-" if planned else ("healthy" if healthy else "not answering"),
            )
        )
    return ["", *_table(rows)]


def _global_lb_lines(glb):
    """The load balancer: provider and hostname, each pool's health, then location -> pool."""
    planned = str(glb.get("planned")).lower() == "true"
    lines = [
        "",
        f"global load balancer: {glb.get('hostname', '')} on {glb.get('provider', '')}"
        + (" (planned)" if planned else ""),
    ]
    rows = [("pool", "cloud", "health")]
    for pool in glb.get("pools") or []:
        enabled = str(pool.get("enabled", True)).lower() == "true"
        healthy = pool.get("healthy")
        state = "drained" if not enabled else ("healthy" if str(healthy).lower() == "true" else "unhealthy")
        rows.append((str(pool.get("name", "")), str(pool.get("cloud") or ""), state))
    if len(rows) > 1:
        lines += ["  " + line for line in _table(rows)]
    steering = glb.get("steering") or {}
    if steering:
        lines.append("  steering: " + ", ".join(f"{code} -> {pool or '(none)'}" for code, pool in steering.items()))
    return lines


def render_summary(summary):
    """The lines printed for ``summary`` (the dict site.yml writes to summary.json): a header, one
    row per cluster with columns as wide as their widest cell, the VPN mesh with a line per pair
    of clouds, the application with a line per cluster, the global load balancer's pools and
    steering, then the outputs and the total."""
    rows = [COLUMNS] + [_cells(row) for row in summary.get("clusters") or []]
    lines = _table(rows)
    if len(rows) == 1:
        lines.append("(no cluster in this run)")
    if summary.get("vpn"):
        lines += _vpn_lines(summary["vpn"])
    if summary.get("app"):
        lines += _app_lines(summary["app"])
    if summary.get("global_lb"):
        lines += _global_lb_lines(summary["global_lb"])
    total = f"{float(summary.get('seconds') or 0):.1f} s"
    summary_file = str(summary.get("summary_file", ""))
    if summary.get("check_mode"):
        total += " (check mode: nothing was changed)"
        summary_file += " (not written in check mode)"
    lines += [
        "",
        f"kubeconfig: {summary.get('kubeconfig', '')}",
        f"summary:    {summary_file}",
        f"total:      {total}",
    ]
    return lines


def published_summary(result):
    """The summary a ``set_stats`` result carries, or None."""
    stats = result.get("ansible_stats") if isinstance(result, dict) else None
    data = stats.get("data") if isinstance(stats, dict) else None
    summary = data.get(SUMMARY_KEY) if isinstance(data, dict) else None
    return summary if isinstance(summary, dict) else None


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "multicloud.fabric.summary"
    CALLBACK_NEEDS_ENABLED = False

    def v2_runner_on_ok(self, result):
        # ansible-core 2.19 passes a CallbackTaskResult (.result); earlier versions a TaskResult (._result).
        payload = result.result if hasattr(result, "result") else result._result
        summary = published_summary(payload)
        if summary is None:
            return
        self._display.display("")
        for line in render_summary(summary):
            self._display.display(line)
