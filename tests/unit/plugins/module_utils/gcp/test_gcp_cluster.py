# -*- coding: utf-8 -*-
"""Portable cluster <-> GKE: request bodies, per-zone node counts, the read shape, status mapping."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Deadline
from ansible_collections.multicloud.fabric.plugins.module_utils.common.waiter import Waiter
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp.cluster import Clusters
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp.cluster_shape import (
    cluster_body,
    cluster_failure,
    cluster_to_portable,
    default_zone_count,
    idle_state,
    operation_failure,
    operation_state,
    per_zone,
    pool_body,
    pool_to_portable,
    pool_update_steps,
    region_of,
)

NET = "https://www.googleapis.com/compute/v1/projects/p1/global/networks/core"
SUBNET = "https://www.googleapis.com/compute/v1/projects/p1/regions/us-central1/subnetworks/core-nodes"


def desired(region="us-central1", **changes):
    cluster = {
        "cloud": "gcp",
        "region": region,
        "name": "blue",
        "kubernetes_version": "1.31",
        "endpoint_access": "public",
        "tags": {"team": "platform"},
        "purge_tags": True,
        "node_pools": [
            {
                "name": "workers",
                "count": 3,
                "min_count": None,
                "max_count": None,
                "machine_type": "e2-standard-4",
                "labels": {"role": "app"},
                "taints": [{"key": "dedicated", "value": "app", "effect": "NoSchedule"}],
                "spot": False,
                "disk_size_gb": None,
            }
        ],
        "network": {"id": NET, "subnet_ids": [SUBNET], "pods_range": "pods", "services_range": "services"},
        "provider": {"project": "p1", "release_channel": "REGULAR"},
    }
    cluster.update(changes)
    return cluster


def gke_cluster(location="us-central1", zones=("us-central1-a", "us-central1-b", "us-central1-c")):
    return {
        "name": "blue",
        "self_link": f"https://container.googleapis.com/v1/projects/p1/locations/{location}/clusters/blue",
        "location": location,
        "locations": list(zones),
        "status": "RUNNING",
        "current_master_version": "1.31.13-gke.1100",
        "endpoint": "34.1.2.3",
        "master_auth": {"cluster_ca_certificate": "LS0tLS1CRUdJTg=="},
        "resource_labels": {"team": "platform", "goog-managed": "x"},
        "label_fingerprint": "fp1",
        "network": "core",
        "subnetwork": "core-nodes",
        "network_config": {
            "network": "projects/p1/global/networks/core",
            "subnetwork": "projects/p1/regions/us-central1/subnetworks/core-nodes",
        },
        "ip_allocation_policy": {
            "use_ip_aliases": True,
            "cluster_secondary_range_name": "pods",
            "services_secondary_range_name": "services",
        },
        "release_channel": {"channel": "REGULAR"},
        "node_pools": [
            {
                "name": "workers",
                "initial_node_count": 1,
                "locations": list(zones),
                "version": "1.31.13-gke.1100",
                "status": "RUNNING",
                "config": {
                    "machine_type": "e2-standard-4",
                    "labels": {"role": "app"},
                    "taints": [{"key": "dedicated", "value": "app", "effect": "NO_SCHEDULE"}],
                    "disk_size_gb": 100,
                    "image_type": "COS_CONTAINERD",
                },
            }
        ],
    }


# ----------------------------------------------------------------------------- node counts


def test_zone_counts_and_locations():
    assert default_zone_count("us-central1") == 3
    assert default_zone_count("us-central1-c") == 1
    assert region_of("europe-west4-b") == "europe-west4"
    assert region_of("europe-west4") == "europe-west4"


def test_per_zone_divides_totals_or_names_the_field():
    assert per_zone(6, 3, "node_pools[0].count") == 2
    assert per_zone(5, 1, "node_pools[0].count") == 5
    assert per_zone(None, 3, "x") is None
    assert per_zone(0, 3, "x") == 0
    with pytest.raises(E.ValidationError) as info:
        per_zone(4, 3, "node_pools[1].count")
    assert info.value.field == "node_pools[1].count"
    assert "3 or 6" in info.value.describe()
    with pytest.raises(E.ValidationError) as info:
        per_zone(2, 3, "node_pools[0].min_count")
    assert "e.g. 3)" in info.value.describe()


def test_pool_body_is_per_zone_with_autoscaling_spot_disk_and_taints():
    pool = dict(desired()["node_pools"][0], count=6, min_count=3, max_count=9, spot=True, disk_size_gb=50)
    assert pool_body(pool, 3, 0) == {
        "name": "workers",
        "initial_node_count": 2,
        "config": {
            "machine_type": "e2-standard-4",
            "labels": {"role": "app"},
            "taints": [{"key": "dedicated", "value": "app", "effect": "NO_SCHEDULE"}],
            "spot": True,
            "disk_size_gb": 50,
        },
        "autoscaling": {"enabled": True, "min_node_count": 1, "max_node_count": 3},
    }
    with pytest.raises(E.ValidationError) as info:
        pool_body(dict(pool, max_count=10), 3, 2)
    assert info.value.field == "node_pools[2].max_count"


# ----------------------------------------------------------------------------- create body


def test_cluster_body_regional():
    body = cluster_body(desired(), "p1")
    assert body["name"] == "blue"
    assert body["initial_cluster_version"] == "1.31"
    assert body["resource_labels"] == {"team": "platform"}
    assert body["network"] == "projects/p1/global/networks/core"
    assert body["subnetwork"] == "projects/p1/regions/us-central1/subnetworks/core-nodes"
    assert body["ip_allocation_policy"] == {
        "use_ip_aliases": True,
        "cluster_secondary_range_name": "pods",
        "services_secondary_range_name": "services",
    }
    assert body["release_channel"] == {"channel": "REGULAR"}
    assert "private_cluster_config" not in body
    assert body["node_pools"][0]["initial_node_count"] == 1  # 3 nodes over the region's 3 zones


def test_cluster_body_zonal_private_defaults():
    want = desired(
        "us-central1-c",
        kubernetes_version=None,
        endpoint_access="private",
        tags=None,
        network={"id": None, "subnet_ids": [], "pods_range": None, "services_range": None},
        provider={"project": "p1", "release_channel": None},
    )
    body = cluster_body(want, "p1")
    assert body["node_pools"][0]["initial_node_count"] == 3
    assert "initial_cluster_version" not in body
    assert "network" not in body and "subnetwork" not in body
    assert body["ip_allocation_policy"] == {"use_ip_aliases": True}
    assert body["private_cluster_config"] == {"enable_private_nodes": True, "enable_private_endpoint": True}
    assert "release_channel" not in body
    assert body["resource_labels"] == {}


def test_cluster_body_refuses_bad_labels_and_uneven_counts():
    with pytest.raises(E.ValidationError) as info:
        cluster_body(desired(tags={"Team": "x"}), "p1")
    assert info.value.field == "tags.Team"
    with pytest.raises(E.ValidationError) as info:
        cluster_body(desired(tags={"team": "Platform Team"}), "p1")
    assert info.value.field == "tags.team"
    uneven = desired()
    uneven["node_pools"][0]["count"] = 4
    with pytest.raises(E.ValidationError) as info:
        cluster_body(uneven, "p1")
    assert info.value.field == "node_pools[0].count"


# ----------------------------------------------------------------------------- read shape


def test_read_shape_matches_desired():
    current = cluster_to_portable(gke_cluster(), "p1", desired())
    want = desired()
    for key in ("cloud", "region", "name", "kubernetes_version", "endpoint_access", "tags", "network", "provider"):
        assert current[key] == want[key], key
    (pool,) = current["node_pools"]
    for key in ("name", "count", "min_count", "max_count", "machine_type", "labels", "taints", "spot"):
        assert pool[key] == want["node_pools"][0][key], key
    assert pool["disk_size_gb"] == 100
    assert (pool["version"], pool["status"], pool["provider_status"]) == ("1.31", "ACTIVE", "RUNNING")
    assert current["id"].endswith("/locations/us-central1/clusters/blue")
    assert (current["status"], current["provider_status"], current["status_message"]) == ("ACTIVE", "RUNNING", "")
    assert current["version_full"] == "1.31.13-gke.1100"
    assert current["endpoint"] == "https://34.1.2.3"
    assert current["ca_data"] == "LS0tLS1CRUdJTg=="
    assert current["raw"]["label_fingerprint"] == "fp1"


def test_read_network_links_from_names_and_desired_spelling():
    raw = gke_cluster()
    del raw["network_config"]
    current = cluster_to_portable(raw, "p1")
    assert current["network"]["id"] == NET
    assert current["network"]["subnet_ids"] == [SUBNET]
    spelled = desired(network={"id": "core", "subnet_ids": ["core-nodes"], "pods_range": None, "services_range": None})
    current = cluster_to_portable(raw, "p1", spelled)
    assert current["network"]["id"] == "core"
    assert current["network"]["subnet_ids"] == ["core-nodes"]
    other = desired(network={"id": "other", "subnet_ids": [], "pods_range": None, "services_range": None})
    assert cluster_to_portable(raw, "p1", other)["network"]["id"] == NET


def test_read_defaults():
    raw = {"name": "c", "location": "europe-west1-b", "status": "PROVISIONING", "node_pools": []}
    current = cluster_to_portable(raw, "p1")
    assert current["provider"] == {"project": "p1", "release_channel": "UNSPECIFIED"}
    assert current["network"] == {"id": None, "subnet_ids": [], "pods_range": None, "services_range": None}
    assert (current["status"], current["endpoint"], current["endpoint_access"]) == ("CREATING", None, "public")
    assert current["kubernetes_version"] is None
    raw["private_cluster_config"] = {"enable_private_endpoint": True}
    assert cluster_to_portable(raw, "p1")["endpoint_access"] == "private"


@pytest.mark.parametrize(
    ("gke", "portable"),
    [
        ("PROVISIONING", "CREATING"),
        ("RUNNING", "ACTIVE"),
        ("RECONCILING", "UPDATING"),
        ("STOPPING", "DELETING"),
        ("ERROR", "FAILED"),
        ("DEGRADED", "FAILED"),
    ],
)
def test_cluster_status_mapping(gke, portable):
    raw = dict(gke_cluster(), status=gke)
    assert cluster_to_portable(raw, "p1")["status"] == portable
    assert cluster_to_portable(raw, "p1")["provider_status"] == gke


def test_pool_counts_are_totals():
    raw = gke_cluster()
    pool = dict(
        raw["node_pools"][0],
        initial_node_count=2,
        autoscaling={"enabled": True, "min_node_count": 1, "max_node_count": 4},
    )
    portable = pool_to_portable(pool, raw)
    assert (portable["count"], portable["min_count"], portable["max_count"]) == (6, 3, 12)
    totals = dict(pool, autoscaling={"enabled": True, "total_min_node_count": 2, "total_max_node_count": 7})
    assert (pool_to_portable(totals, raw)["min_count"], pool_to_portable(totals, raw)["max_count"]) == (2, 7)
    zonal = dict(pool, locations=["us-central1-c"], autoscaling={"enabled": False})
    assert (pool_to_portable(zonal, raw)["count"], pool_to_portable(zonal, raw)["min_count"]) == (2, None)
    assert pool_to_portable(dict(pool, status="RUNNING_WITH_ERROR"), raw)["status"] == "FAILED"


# ----------------------------------------------------------------------------- updates


def test_pool_update_steps_order_and_per_zone_values():
    changes = {"count": 9, "min_count": 3, "max_count": 12, "labels": {"a": "b"}, "taints": []}
    assert pool_update_steps(changes, 3, 0) == [
        ("set_node_pool_autoscaling", {"autoscaling": {"enabled": True, "min_node_count": 1, "max_node_count": 4}}),
        ("update_node_pool", {"labels": {"labels": {"a": "b"}}, "taints": {"taints": []}}),
        ("set_node_pool_size", {"node_count": 3}),
    ]
    assert pool_update_steps({"min_count": None, "max_count": None, "count": 2}, 1) == [
        ("set_node_pool_autoscaling", {"autoscaling": {"enabled": False}}),
        ("set_node_pool_size", {"node_count": 2}),
    ]
    with pytest.raises(E.ValidationError) as info:
        pool_update_steps({"count": 5}, 3, 1)
    assert info.value.field == "node_pools[1].count"


# ----------------------------------------------------------------------------- waiting


def test_idle_state_needs_every_pool_running():
    raw = gke_cluster()
    assert idle_state(raw) == "ACTIVE"
    raw["node_pools"][0]["status"] = "RECONCILING"
    assert idle_state(raw) == "UPDATING"
    raw["node_pools"][0]["status"] = "ERROR"
    raw["node_pools"][0]["status_message"] = "zone out of capacity"
    assert idle_state(raw) == "FAILED"
    assert "zone out of capacity" in cluster_failure(raw)
    assert idle_state(dict(gke_cluster(), status="PROVISIONING")) == "CREATING"
    broken = dict(gke_cluster(), status="ERROR", status_message="Control plane failed")
    assert idle_state(broken) == "FAILED"
    assert cluster_failure(broken).startswith("Control plane failed")


def test_operation_state_and_failure():
    assert operation_state({"status": "RUNNING"}) == "RUNNING"
    assert operation_state({"status": "DONE"}) == "DONE"
    failed = {
        "name": "op-1",
        "operation_type": "CREATE_CLUSTER",
        "status": "DONE",
        "error": {"code": 8, "message": "Insufficient regional quota"},
        "cluster_conditions": [{"message": "GCE_QUOTA_EXCEEDED"}],
    }
    assert operation_state(failed) == "FAILED"
    assert operation_failure(failed) == (
        "operation op-1 (CREATE_CLUSTER) failed: Insufficient regional quota; GCE_QUOTA_EXCEEDED"
    )


class FakeContainer:
    def __init__(self, cluster):
        self.cluster = cluster
        self.calls = []
        self.ops = 0

    def __getattr__(self, name):
        def method(request=None, **kwargs):
            self.calls.append((name, copy.deepcopy(request)))
            if name == "get_cluster":
                return copy.deepcopy(self.cluster)
            if name == "get_operation":
                return {"name": request["name"].rsplit("/", 1)[-1], "status": "DONE"}
            if name == "list_operations":
                return {"operations": []}
            self.ops += 1
            return {"name": f"op-{self.ops}", "location": "us-central1", "status": "RUNNING"}

        return method


class FakeConn:
    project = "p1"
    poll_interval = 0.1

    def __init__(self, cluster, clock):
        self.container = FakeContainer(cluster)
        self.clock = clock

    def rpc(self, method, *, resource=None, call=None, **kwargs):
        return method(**kwargs)

    def deadline(self):
        return Deadline(60, self.clock)

    def waiter(self, resource, **kwargs):
        return Waiter("gcp", resource, interval=0.1, max_interval=1, **kwargs)

    def wait(self, waiter, fetch, deadline=None):
        return waiter.wait(fetch, deadline=deadline or self.deadline(), clock=self.clock, sleep=self.clock.sleep)

    def access_token(self):
        return "ya29.fresh"


def test_update_node_pool_waits_between_gke_operations(clock):
    conn = FakeConn(gke_cluster(), clock)
    clusters = Clusters(conn)
    want = desired()
    current = cluster_to_portable(gke_cluster(), "p1", want)
    clusters.apply(
        {"action": "update_node_pool", "pool": "workers", "changes": {"count": 6, "labels": {"role": "x"}}},
        want,
        current,
    )
    names = [c[0] for c in conn.container.calls]
    assert names == ["update_node_pool", "get_operation", "set_node_pool_size"]
    assert conn.container.calls[0][1]["name"] == "projects/p1/locations/us-central1/clusters/blue/nodePools/workers"
    assert conn.container.calls[2][1]["node_count"] == 2
    assert conn.container.calls[1][1]["name"] == "projects/p1/locations/us-central1/operations/op-1"
    result = clusters.wait(want, {"action": "update_node_pool"}, conn.deadline())
    assert result["status"] == "ACTIVE"
    assert [c[0] for c in conn.container.calls[3:]] == ["get_operation", "list_operations", "get_cluster"]


def test_update_tags_keeps_google_labels_and_sends_the_fingerprint(clock):
    conn = FakeConn(gke_cluster(), clock)
    Clusters(conn).apply(
        {"action": "update_tags", "set": {"env": "prod"}, "remove": ["team"], "tags": {"env": "prod"}}, desired(), None
    )
    (call, request) = conn.container.calls[-1]
    assert call == "set_labels"
    assert request["resource_labels"] == {"goog-managed": "x", "env": "prod"}
    assert request["label_fingerprint"] == "fp1"


def test_upgrades_and_pool_lifecycle_requests(clock):
    conn = FakeConn(gke_cluster(), clock)
    clusters = Clusters(conn)
    current = cluster_to_portable(gke_cluster(), "p1", desired())
    clusters.apply({"action": "upgrade_control_plane", "version": "1.32"}, desired(), current)
    clusters.apply({"action": "upgrade_node_pool", "pool": "workers", "version": "1.32"}, desired(), current)
    pool = dict(desired()["node_pools"][0], name="extra", count=6)
    clusters.apply({"action": "create_node_pool", "pool": pool}, desired(), current)
    clusters.apply({"action": "delete_node_pool", "pool": "extra"}, desired(), current)
    clusters.apply({"action": "delete_cluster"}, desired(), current)
    calls = conn.container.calls
    assert calls[0] == (
        "update_master",
        {"name": "projects/p1/locations/us-central1/clusters/blue", "master_version": "1.32"},
    )
    assert calls[1][1]["node_version"] == "1.32" and calls[1][1]["image_type"] == "COS_CONTAINERD"
    assert calls[2][0] == "create_node_pool" and calls[2][1]["node_pool"]["initial_node_count"] == 2
    assert calls[3] == ("delete_node_pool", {"name": "projects/p1/locations/us-central1/clusters/blue/nodePools/extra"})
    assert calls[4] == ("delete_cluster", {"name": "projects/p1/locations/us-central1/clusters/blue"})


def test_validate_for_check_mode(clock):
    clusters = Clusters(FakeConn(gke_cluster(), clock))
    clusters.validate(desired())
    uneven = desired()
    uneven["node_pools"][0]["count"] = 5
    with pytest.raises(E.ValidationError):
        clusters.validate(uneven)
    zonal = cluster_to_portable(gke_cluster(zones=["us-central1-c"]), "p1")
    clusters.validate(uneven, zonal)  # one zone: any total works


def test_kube_user_entries(clock):
    clusters = Clusters(FakeConn(gke_cluster(), clock))
    assert clusters.kube_user({}, "token") == {"token": "ya29.fresh"}
    entry = clusters.kube_user({}, "exec")["exec"]
    assert entry["command"] == "gke-gcloud-auth-plugin"
    assert entry["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert entry["provideClusterInfo"] is True
    assert entry["interactiveMode"] == "Never"
    with pytest.raises(E.ValidationError):
        clusters.kube_user({}, "password")
