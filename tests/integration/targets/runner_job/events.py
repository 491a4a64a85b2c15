"""Assert on one ansible-runner job's artifacts as Controller reads them: the status and rc files,
the job events (runner_on_ok / runner_on_failed / runner_on_unreachable) and the final
playbook_on_stats event with its per-host counts and the set_stats artifact (the fabric's summary).

    python3 events.py <artifacts>/<ident> --expect site|verify|teardown
"""

from __future__ import annotations

import argparse
import collections
import json
import pathlib

CLUSTER_HOSTS = ("fabric-aws", "fabric-gcp", "fabric-azure")
REPLICAS = {"aws": 3, "gcp": 3, "azure": 2}


def load(artifacts: pathlib.Path) -> tuple[str, int, list[dict]]:
    status = (artifacts / "status").read_text().strip()
    rc = int((artifacts / "rc").read_text().strip())
    events = [json.loads(p.read_text()) for p in sorted((artifacts / "job_events").glob("*.json"))]
    events.sort(key=lambda e: e["counter"])
    return status, rc, events


def check_summary(summary: dict, *, check_mode: bool) -> None:
    assert summary["check_mode"] is check_mode, summary["check_mode"]
    rows = {row["cloud"]: row for row in summary["clusters"]}
    assert sorted(rows) == ["aws", "azure", "gcp"], rows
    for cloud, row in rows.items():
        assert row["nodes_ready"] == row["nodes_expected"] == 3 and not row["planned"], (cloud, row)
    app = {row["cloud"]: row for row in summary["app"]}
    for cloud, replicas in REPLICAS.items():
        assert app[cloud]["replicas"] == app[cloud]["ready"] == replicas and app[cloud]["healthy"], app[cloud]
    vpn = summary["vpn"]
    assert vpn["tunnels_up"] == vpn["tunnels_total"] == 12 and vpn["bgp_established"] == vpn["bgp_total"] == 12, vpn
    assert all(pair["loss_pct"] == 0 for pair in vpn["pairs"]), vpn["pairs"]
    glb = summary["global_lb"]
    assert sorted(pool["cloud"] for pool in glb["pools"] if pool["healthy"] and pool["enabled"]) == [
        "aws",
        "azure",
        "gcp",
    ], glb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("artifacts", type=pathlib.Path)
    parser.add_argument("--expect", choices=("site", "verify", "teardown"), required=True)
    args = parser.parse_args()
    status, rc, events = load(args.artifacts)
    counts = collections.Counter(e["event"] for e in events)
    failed = [
        e for e in events if e["event"] == "runner_on_failed" and not e.get("event_data", {}).get("ignore_errors")
    ]
    stats = [e for e in events if e["event"] == "playbook_on_stats"]
    print(
        f"{args.expect}: status {status}, rc {rc}, {len(events)} events:",
        ", ".join(f"{name} {counts[name]}" for name in ("runner_on_ok", "runner_on_failed", "runner_on_unreachable")),
    )
    assert status == "successful" and rc == 0, (status, rc)
    assert not failed, [e["event_data"].get("task") for e in failed]
    assert counts["runner_on_unreachable"] == 0, counts
    assert counts["runner_on_ok"] > 0 and len(stats) == 1, counts
    data = stats[0]["event_data"]
    changed, ok = data.get("changed") or {}, data.get("ok") or {}
    print(f"{args.expect}: ok per host {dict(sorted(ok.items()))}; changed per host {dict(sorted(changed.items()))}")
    assert not data.get("failures") and not data.get("dark"), data
    assert set(CLUSTER_HOSTS) <= set(ok), ok
    summary = (data.get("artifact_data") or {}).get("multicloud_fabric_summary")
    if args.expect == "site":
        # A fresh deployment: every cluster host made changes, and the summary artifact reports
        # the whole fabric as `make demo` does.
        assert all(changed.get(host, 0) > 0 for host in CLUSTER_HOSTS), changed
        check_summary(summary, check_mode=False)
        on_disk = json.loads(pathlib.Path(summary["summary_file"]).read_text())
        assert on_disk["clusters"] == summary["clusters"], (on_disk["clusters"], summary["clusters"])
    elif args.expect == "verify":
        # Controller's Check job on the fabric just built: no drift, so no change anywhere.
        assert not any(changed.values()), changed
        check_summary(summary, check_mode=True)
    else:
        # Deleted for real: the play that looks for what is left ran its assertion on every host
        # (it is skipped in check mode).
        assert all(changed.get(host, 0) > 0 for host in CLUSTER_HOSTS), changed
        gone = {
            e["event_data"]["host"]
            for e in events
            if e["event"] == "runner_on_ok" and e["event_data"].get("task") == "Both are gone"
        }
        assert gone == set(CLUSTER_HOSTS), gone


if __name__ == "__main__":
    main()
