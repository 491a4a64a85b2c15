"""The summary table site.yml prints, whatever stdout callback the user has."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

from ansible_collections.multicloud.fabric.plugins.callback.summary import (
    CallbackModule,
    published_summary,
    render_summary,
)

ROOT = pathlib.Path(__file__).resolve().parents[4]
ROWS = [
    {
        "cloud": "aws",
        "region": "us-east-1",
        "cluster": "fabric-aws",
        "planned": False,
        "version": "1.31",
        "nodes_ready": "3",
        "nodes_expected": "3",
        "endpoint": "https://127.0.0.1:43977",
        "seconds": "28.4",
    },
    {
        "cloud": "azure",
        "region": "eastus",
        "cluster": "fabric-azure",
        "planned": False,
        "version": "1.31",
        "nodes_ready": "2",
        "nodes_expected": "3",
        "endpoint": "https://127.0.0.1:40969",
        "seconds": "31.25",
    },
]
SUMMARY = {
    "deployment": "fabric",
    "check_mode": False,
    "seconds": 34.12,
    "kubeconfig": "/out/kubeconfig",
    "summary_file": "/out/summary.json",
    "clusters": ROWS,
}


def test_rows_are_aligned_columns():
    lines = render_summary(SUMMARY)
    assert lines[0].split() == ["cloud", "region", "cluster", "k8s", "nodes", "endpoint", "took"]
    assert lines[1].split() == [
        "aws",
        "us-east-1",
        "fabric-aws",
        "1.31",
        "3/3",
        "Ready",
        "https://127.0.0.1:43977",
        "28.4",
        "s",
    ]
    assert lines[2].split()[4:6] == ["2/3", "Ready"]
    assert lines[2].endswith("31.2 s")
    # Every column starts at the same offset on every line.
    for column in ("region", "cluster", "endpoint", "took"):
        offset = lines[0].index(column)
        assert lines[1][offset - 2 : offset] == "  " and lines[1][offset] != " "
        assert lines[2][offset - 2 : offset] == "  " and lines[2][offset] != " "
    assert lines[3:] == ["", "kubeconfig: /out/kubeconfig", "summary:    /out/summary.json", "total:      34.1 s"]


def test_check_mode_marks_only_what_does_not_exist():
    planned = dict(ROWS[0], cloud="gcp", cluster="fabric-gcp", planned=True, nodes_ready="0", endpoint="")
    lines = render_summary(dict(SUMMARY, check_mode=True, clusters=[ROWS[0], planned]))
    assert "3/3 Ready" in lines[1] and "planned" not in lines[1]
    assert "fabric-gcp (planned)" in lines[2] and "3 (planned)" in lines[2] and "(known after apply)" in lines[2]
    assert "0/3" not in lines[2]
    assert lines[-2:] == [
        "summary:    /out/summary.json (not written in check mode)",
        "total:      34.1 s (check mode: nothing was changed)",
    ]


def test_the_vpn_mesh_gets_a_line_per_pair():
    summary = {
        "clusters": ROWS,
        "seconds": 80,
        "vpn": {
            "tunnels_up": 11,
            "tunnels_total": 12,
            "bgp_established": 11,
            "bgp_total": 12,
            "pairs": [
                {"a": "aws", "b": "gcp", "latency_ms": 25.6, "loss_pct": 0.0},
                {"a": "gcp", "b": "azure", "latency_ms": None, "loss_pct": 100.0},
            ],
        },
    }
    lines = render_summary(summary)
    assert "vpn: 11/12 tunnels up, 11/12 BGP sessions established" in lines
    pairs = lines[lines.index("vpn: 11/12 tunnels up, 11/12 BGP sessions established") + 1 :]
    assert pairs[0].split() == ["pair", "latency", "loss"]
    assert pairs[1].split() == ["aws", "<->", "gcp", "25.6", "ms", "0", "%"]
    assert pairs[2].split() == ["gcp", "<->", "azure", "-", "100", "%"]
    # Columns line up.
    assert pairs[1].index("25.6") == pairs[2].index("  -  ") + 2


def test_a_run_without_clusters_says_so():
    assert render_summary(dict(SUMMARY, clusters=[]))[1] == "(no cluster in this run)"


def test_only_the_published_summary_is_picked_up():
    assert published_summary({"ansible_stats": {"data": {"multicloud_fabric_summary": SUMMARY}}}) == SUMMARY
    assert published_summary({"ansible_stats": {"data": {"other": 1}}}) is None
    assert published_summary({"msg": "hello"}) is None
    assert published_summary("not a dict") is None


class _Display:
    def __init__(self):
        self.lines = []

    def display(self, msg, **_kwargs):
        self.lines.append(msg)


class _Result:
    def __init__(self, payload):
        self.result = payload


def test_the_callback_prints_plain_lines_for_the_summary_task_only():
    callback = CallbackModule()
    callback._display = _Display()
    callback.v2_runner_on_ok(_Result({"changed": False}))
    assert callback._display.lines == []
    callback.v2_runner_on_ok(_Result({"ansible_stats": {"data": {"multicloud_fabric_summary": SUMMARY}}}))
    assert callback._display.lines == ["", *render_summary(SUMMARY)]


def test_a_playbook_next_to_the_collection_callback_prints_the_table_with_the_default_callback(tmp_path):
    """The default stdout callback in its default JSON format, nothing enabled: the playbooks'
    callback_plugins/ directory next to a playbook alone makes the table print as plain lines."""
    (tmp_path / "callback_plugins").symlink_to(ROOT / "playbooks" / "callback_plugins")
    playbook = tmp_path / "summary.yml"
    playbook.write_text(
        "- hosts: localhost\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - ansible.builtin.set_stats:\n"
        "        data: {multicloud_fabric_summary: " + json.dumps(SUMMARY) + "}\n"
        "        per_host: false\n"
        "        aggregate: false\n"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_") or key == "ANSIBLE_CONFIG"}
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="default",
        ANSIBLE_CALLBACK_RESULT_FORMAT="json",
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"),
        ANSIBLE_LOCALHOST_WARNING="false",
    )
    ansible_playbook = pathlib.Path(sys.executable).with_name("ansible-playbook")
    run = subprocess.run(
        [str(ansible_playbook), "-i", "localhost,", "-c", "local", str(playbook)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    table = render_summary(SUMMARY)
    start = lines.index(table[0])
    assert lines[start : start + len(table)] == table
    assert '"msg"' not in run.stdout


def test_app_section_has_a_line_per_cluster_with_ready_replicas_and_health():
    app = [
        {
            "cloud": "aws",
            "cluster": "fabric-aws",
            "replicas": "3",
            "ready": "3",
            "address": "127.1.2.3",
            "port": "80",
            "healthy": True,
            "planned": False,
        },
        {
            "cloud": "azure",
            "cluster": "fabric-azure",
            "replicas": 2,
            "ready": 1,
            "address": "127.1.2.4",
            "port": 80,
            "healthy": "False",
            "planned": "False",
        },
        {
            "cloud": "gcp",
            "cluster": "fabric-gcp",
            "replicas": 3,
            "ready": 0,
            "address": "(known after apply)",
            "port": 80,
            "healthy": False,
            "planned": True,
        },
    ]
    lines = render_summary({**SUMMARY, "app": app})
    start = lines.index(next(line for line in lines if line.startswith("app ")))
    assert lines[start - 1] == ""
    assert lines[start].split() == ["app", "replicas", "load", "balancer", "health"]
    assert lines[start + 1].split() == ["aws/fabric-aws", "3/3", "Ready", "127.1.2.3:80", "healthy"]
    assert lines[start + 2].split() == ["azure/fabric-azure", "1/2", "Ready", "127.1.2.4:80", "not", "answering"]
    assert lines[start + 3].split() == ["gcp/fabric-gcp", "3", "(planned)", "(known", "after", "apply)", "-"]
    # columns line up: every row's replicas cell starts where the header's does
    column = lines[start].index("replicas")
    assert all(line[column - 2 : column] == "  " and line[column] != " " for line in lines[start + 1 : start + 4])


def test_no_app_section_without_app_rows():
    assert not any(line.startswith("app ") for line in render_summary({**SUMMARY, "app": []}))


def test_global_lb_section_has_pools_health_and_steering():
    glb = {
        "provider": "cloudflare",
        "hostname": "app.fabric.example",
        "planned": "False",
        "pools": [
            {"name": "aws", "cloud": "aws", "enabled": True, "healthy": True},
            {"name": "gcp", "cloud": "gcp", "enabled": "True", "healthy": "False"},
            {"name": "azure", "cloud": "azure", "enabled": False, "healthy": None},
        ],
        "steering": {"ENAM": "aws", "NEAS": "gcp", "default": None},
    }
    lines = render_summary({**SUMMARY, "global_lb": glb})
    start = lines.index("global load balancer: app.fabric.example on cloudflare")
    assert lines[start - 1] == ""
    assert [line.split() for line in lines[start + 1 : start + 5]] == [
        ["pool", "cloud", "health"],
        ["aws", "aws", "healthy"],
        ["gcp", "gcp", "unhealthy"],
        ["azure", "azure", "drained"],
    ]
    assert lines[start + 5] == "  steering: ENAM -> aws, NEAS -> gcp, default -> (none)"


def test_no_global_lb_section_without_one():
    assert not any(line.startswith("global load balancer") for line in render_summary({**SUMMARY, "global_lb": {}}))
