# -*- coding: utf-8 -*-
"""ping_stats reads every ping's summary; vpn_summary counts a tunnel up only when both sides say so;
vpn_layout_peers reads the other sides from the inventory."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.multicloud.fabric.plugins.filter.ping_stats import ping_stats
from ansible_collections.multicloud.fabric.plugins.filter.vpn_layout_peers import vpn_layout_peers
from ansible_collections.multicloud.fabric.plugins.filter.vpn_summary import vpn_summary

IPUTILS = """PING 10.1.0.2 (10.1.0.2) 56(84) bytes of data.

--- 10.1.0.2 ping statistics ---
5 packets transmitted, 4 received, 20% packet loss, time 802ms
rtt min/avg/max/mdev = 30.412/31.020/32.771/0.904 ms
"""
BUSYBOX = """PING 10.2.0.2 (10.2.0.2): 56 data bytes

--- 10.2.0.2 ping statistics ---
3 packets transmitted, 3 packets received, 0% packet loss
round-trip min/avg/max = 1.101/1.250/1.400 ms
"""
MACOS = """--- 10.0.0.2 ping statistics ---
2 packets transmitted, 2 packets received, 0.0% packet loss
round-trip min/avg/max/stddev = 70.1/71.5/72.9/1.4 ms
"""
ALL_LOST = """--- 10.1.0.2 ping statistics ---
5 packets transmitted, 0 received, 100% packet loss, time 4080ms
"""


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (IPUTILS, {"sent": 5, "received": 4, "loss_pct": 20.0, "rtt_ms": 31.02, "rtt_min_ms": 30.412}),
        (BUSYBOX, {"sent": 3, "received": 3, "loss_pct": 0.0, "rtt_ms": 1.25, "rtt_max_ms": 1.4}),
        (MACOS, {"sent": 2, "received": 2, "loss_pct": 0.0, "rtt_ms": 71.5}),
        (ALL_LOST, {"sent": 5, "received": 0, "loss_pct": 100.0, "rtt_ms": None}),
    ],
)
def test_ping_stats_reads_each_ping(output, expected):
    stats = ping_stats(output)
    assert {k: stats[k] for k in expected} == expected


def test_no_summary_is_every_probe_lost():
    assert ping_stats("ping: connect: Network is unreachable", 5) == {
        "sent": 5,
        "received": 0,
        "loss_pct": 100.0,
        "rtt_ms": None,
        "rtt_min_ms": None,
        "rtt_max_ms": None,
    }
    assert ping_stats(None)["loss_pct"] == 100.0


def tunnel(name, status="UP", bgp="Established"):
    return {"name": name, "pair": name.rsplit("-", 1)[0], "status": status, "bgp_state": bgp}


def probe(rtt, loss=0.0):
    return {"sent": 5, "received": 5, "loss_pct": loss, "rtt_ms": rtt}


def test_vpn_summary_needs_both_sides_and_averages_both_directions():
    aws = [tunnel(f"aws-gcp-{i}") for i in range(4)]
    gcp = [tunnel(f"aws-gcp-{i}") for i in range(4)]
    gcp[1] = tunnel("aws-gcp-1", status="DOWN", bgp="Idle")  # GCP says a wrong key keeps it down
    aws[2] = tunnel("aws-gcp-2", bgp="Connect")  # one side's BGP is not up
    sides = [
        {"cloud": "gcp", "tunnels": gcp, "probes": {"aws": probe(30.0, loss=20.0)}},
        {"cloud": "aws", "tunnels": aws, "probes": {"gcp": probe(32.0)}},
    ]
    summary = vpn_summary(sides, 4)
    assert summary["tunnels_up"] == 3 and summary["tunnels_total"] == 4
    assert summary["bgp_established"] == 2 and summary["bgp_total"] == 4
    assert summary["pairs"] == [{"a": "aws", "b": "gcp", "latency_ms": 31.0, "loss_pct": 20.0}]


def test_vpn_summary_of_a_full_mesh_orders_pairs_by_cloud():
    names = {"aws-gcp", "aws-azure", "gcp-azure"}
    sides = []
    for cloud in ("azure", "aws", "gcp"):
        tunnels = [tunnel(f"{pair}-{i}") for pair in names if cloud in pair for i in range(4)]
        others = [c for c in ("aws", "gcp", "azure") if c != cloud]
        sides.append({"cloud": cloud, "tunnels": tunnels, "probes": {o: probe(10.0) for o in others}})
    summary = vpn_summary(sides)
    assert (summary["tunnels_up"], summary["tunnels_total"], summary["bgp_established"]) == (12, 12, 12)
    assert [(p["a"], p["b"]) for p in summary["pairs"]] == [("aws", "gcp"), ("aws", "azure"), ("gcp", "azure")]


def test_a_probe_that_got_nothing_back_has_no_latency():
    sides = [
        {
            "cloud": "aws",
            "tunnels": [],
            "probes": {"gcp": {"sent": 5, "received": 0, "loss_pct": 100.0, "rtt_ms": None}},
        },
        {"cloud": "gcp", "tunnels": [], "probes": {}},
    ]
    assert vpn_summary(sides)["pairs"] == [{"a": "aws", "b": "gcp", "latency_ms": None, "loss_pct": 100.0}]


def test_layout_peers_come_from_the_inventory_alone():
    hosts = [
        {"inventory_hostname": "fabric-aws", "mc_cloud": "aws", "mc_region": "us-east-1", "mc_cidr": "10.0.0.0/16"},
        {
            "inventory_hostname": "fabric-azure",
            "mc_cloud": "azure",
            "mc_region": "eastus",
            "mc_cidr": "10.2.0.0/16",
            "mc_deployment": "prod",
            "mc_vpn_asn": 65010,
            "vpn_mesh_cidrs": ["10.2.0.0/16", "10.20.0.0/16"],
        },
    ]
    assert vpn_layout_peers(hosts) == [
        {"cloud": "aws", "region": "us-east-1", "name": "fabric", "asn": 64512, "cidrs": ["10.0.0.0/16"]},
        {"cloud": "azure", "region": "eastus", "name": "prod", "asn": 65010, "cidrs": ["10.2.0.0/16", "10.20.0.0/16"]},
    ]
    assert vpn_layout_peers([]) == []


@pytest.mark.parametrize(
    ("host", "words"),
    [
        ({"inventory_hostname": "h1", "mc_cloud": "aws", "mc_region": "us-east-1"}, "h1 has no mc_cidr"),
        ({"inventory_hostname": "h2", "mc_cloud": "oci", "mc_region": "x", "mc_cidr": "10.0.0.0/16"}, "'oci'"),
    ],
)
def test_layout_peers_name_the_host_and_the_missing_var(host, words):
    with pytest.raises(AnsibleFilterError, match=words):
        vpn_layout_peers([host])
