"""The cluster planner: normalisation per cloud, upgrade paths, immutable fields, pool diffs."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.cluster.spec import (
    SIZE_CLASSES,
    cluster_result,
    context_name,
    expected_after,
    expected_nodes,
    normalize_cluster,
    plan_cluster,
    portable_spec,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    ImmutableFieldsError,
    ValidationError,
)

ROLE = "arn:aws:iam::123456789012:role/eks"
NODE_ROLE = "arn:aws:iam::123456789012:role/nodes"
PROVIDERS = {
    "aws": {"aws": {"role_arn": ROLE, "node_role_arn": NODE_ROLE}, "network": {"subnet_ids": ["subnet-a", "subnet-b"]}},
    "gcp": {"gcp": {"project": "demo"}},
    "azure": {"azure": {"resource_group": "rg"}},
}


def params(cloud="aws", **overrides):
    base = {
        "cloud": cloud,
        "name": "fabric",
        "region": "us-east-1",
        "kubernetes_version": "1.31",
        "node_pools": [{"name": "system", "count": 3}],
    }
    base.update(copy.deepcopy(PROVIDERS[cloud]))
    base.update(overrides)
    if "cloud_override" in base:
        base["cloud"] = base.pop("cloud_override")
    return base


def running(desired, version=None, **extra):
    """The adapter's view of a converged ``desired`` cluster."""
    current = copy.deepcopy(desired)
    version = version or desired["kubernetes_version"]
    current.update(
        id="id-1", status="ACTIVE", kubernetes_version=version, tags=desired["tags"] or {}, endpoint="https://x"
    )
    for pool in current["node_pools"]:
        pool.update(version=version, status="ACTIVE")
    current.update(extra)
    return current


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_same_spec_normalises_in_every_cloud(cloud):
    desired = normalize_cluster(params(cloud, node_pools=[{"name": "system", "count": 3, "size": "large"}]))
    (pool,) = desired["node_pools"]
    assert pool["machine_type"] == SIZE_CLASSES["large"][cloud]
    assert (pool["count"], pool["min_count"], pool["max_count"]) == (3, None, None)
    assert desired["kubernetes_version"] == "1.31" and desired["endpoint_access"] == "public"


def test_network_from_mc_network_result():
    network = {
        "cloud": "gcp",
        "id": "projects/demo/global/networks/fabric",
        "subnets": [
            {
                "name": "fabric-nodes",
                "id": "projects/demo/regions/us-central1/subnetworks/fabric-nodes",
                "role": "nodes",
                "secondary_ranges": [
                    {"name": "pods", "cidr": "10.2.0.0/16"},
                    {"name": "services", "cidr": "10.3.0.0/20"},
                ],
            }
        ],
    }
    desired = normalize_cluster(params("gcp", network=network))
    assert desired["network"] == {
        "id": "projects/demo/global/networks/fabric",
        "subnet_ids": ["projects/demo/regions/us-central1/subnetworks/fabric-nodes"],
        "pods_range": "pods",
        "services_range": "services",
    }
    azure_net = {
        "cloud": "azure",
        "id": "vnet",
        "subnets": [{"id": "s1", "role": "nodes"}, {"id": "gw", "role": "gateway"}],
    }
    assert normalize_cluster(params("azure", network=azure_net))["network"]["subnet_ids"] == ["s1"]


@pytest.mark.parametrize(
    ("cloud", "overrides", "field"),
    [
        ("aws", {"cloud_override": "ibm"}, "cloud"),
        ("aws", {"name": "bad name"}, "name"),
        ("aws", {"region": ""}, "region"),
        ("aws", {"kubernetes_version": "1.31.4"}, "kubernetes_version"),
        ("aws", {"kubernetes_version": "latest"}, "kubernetes_version"),
        ("aws", {"kubernetes_version": "1.12"}, "kubernetes_version"),
        ("aws", {"node_pools": []}, "node_pools"),
        ("aws", {"node_pools": [{"name": "a", "count": -1}]}, "node_pools[0].count"),
        ("aws", {"node_pools": [{"name": "a"}]}, "node_pools[0].count"),
        ("aws", {"node_pools": [{"name": "a", "count": 3, "min_count": 1}]}, "node_pools[0].max_count"),
        ("aws", {"node_pools": [{"name": "a", "count": 3, "min_count": 4, "max_count": 2}]}, "node_pools[0].min_count"),
        ("aws", {"node_pools": [{"name": "a", "count": 9, "min_count": 1, "max_count": 5}]}, "node_pools[0].count"),
        (
            "aws",
            {"node_pools": [{"name": "a", "count": 1, "size": "small", "machine_type": "t3.large"}]},
            "node_pools[0].size",
        ),
        ("aws", {"node_pools": [{"name": "a", "count": 1, "size": "huge"}]}, "node_pools[0].size"),
        ("aws", {"node_pools": [{"name": "a", "count": 1}, {"name": "a", "count": 1}]}, "node_pools[1].name"),
        (
            "aws",
            {"node_pools": [{"name": "a", "count": 1, "taints": [{"key": "k", "effect": "Never"}]}]},
            "node_pools[0].taints[0].effect",
        ),
        ("aws", {"node_pools": [{"name": "a", "count": 1, "disk_size_gb": 5}]}, "node_pools[0].disk_size_gb"),
        ("aws", {"aws": {"node_role_arn": NODE_ROLE}}, "aws.role_arn"),
        ("aws", {"aws": {"role_arn": ROLE}}, "aws.node_role_arn"),
        ("aws", {"aws": {"role_arn": "eks-role", "node_role_arn": NODE_ROLE}}, "aws.role_arn"),
        ("aws", {"network": {"subnet_ids": ["subnet-a"]}}, "network.subnet_ids"),
        ("aws", {"network": {"cloud": "gcp", "subnet_ids": ["a", "b"]}}, "network"),
        ("aws", {"gcp": {"project": "x"}}, "gcp"),
        ("aws", {"tags": {"aws:x": "1"}}, "tags.aws:x"),
        ("gcp", {"name": "Fabric"}, "name"),
        ("gcp", {"tags": {"Team": "x"}}, "tags.Team"),
        ("gcp", {"gcp": {"release_channel": "beta"}}, "gcp.release_channel"),
        ("gcp", {"network": {"subnet_ids": ["a", "b"]}}, "network.subnet_ids"),
        ("gcp", {"network": {"pods_range": "pods"}}, "network.services_range"),
        ("gcp", {"node_pools": [{"name": "Pool_1", "count": 1}]}, "node_pools[0].name"),
        ("azure", {"azure": {}}, "azure.resource_group"),
        ("azure", {"node_pools": [{"name": "system-pool", "count": 1}]}, "node_pools[0].name"),
        ("azure", {"node_pools": [{"name": "system", "count": 1, "spot": True}]}, "node_pools[0].spot"),
        ("azure", {"node_pools": [{"name": "system", "count": 0}]}, "node_pools[0].count"),
        ("azure", {"network": {"subnet_ids": ["a", "b"]}}, "network.subnet_ids"),
        ("azure", {"network": {"pods_range": "pods", "services_range": "svc"}}, "network.pods_range"),
        ("azure", {"azure": {"resource_group": "rg", "network_plugin": "calico"}}, "azure.network_plugin"),
    ],
)
def test_invalid_input_names_the_field(cloud, overrides, field):
    with pytest.raises(ValidationError) as error:
        normalize_cluster(params(cloud, **overrides))
    assert error.value.field == field, error.value.describe()


def test_fixed_size_with_equal_bounds_is_not_autoscaling():
    desired = normalize_cluster(params(node_pools=[{"name": "a", "count": 2, "min_count": 2, "max_count": 2}]))
    assert (desired["node_pools"][0]["min_count"], desired["node_pools"][0]["max_count"]) == (None, None)


def test_a_new_eks_cluster_plans_its_node_groups_after_the_control_plane():
    """EKS creates node groups only once the control plane is ACTIVE: each is an action of the
    plan (so check mode and ``actions`` report it); GKE and AKS create the pools with the cluster."""
    pools = [{"name": "system", "count": 3}, {"name": "batch", "count": 1, "spot": True}]
    desired = normalize_cluster(params(node_pools=pools))
    actions = plan_cluster(None, desired)
    assert [a["action"] for a in actions] == ["create_cluster", "create_node_pool", "create_node_pool"]
    assert [a["pool"] for a in actions[1:]] == desired["node_pools"]
    after = expected_after(None, desired, actions)
    assert [(p["name"], p["count"], p["version"]) for p in after["node_pools"]] == [
        ("batch", 1, "1.31"),
        ("system", 3, "1.31"),
    ]
    for cloud in ("gcp", "azure"):
        assert plan_cluster(None, normalize_cluster(params(cloud, node_pools=pools))) == [{"action": "create_cluster"}]


def test_create_absent_and_noop():
    desired = normalize_cluster(params("gcp"))
    assert plan_cluster(None, desired) == [{"action": "create_cluster"}]
    assert plan_cluster(running(desired), desired) == []
    assert plan_cluster(None, desired, state="absent") == []
    assert plan_cluster(running(desired), desired, state="absent") == [{"action": "delete_cluster"}]


def test_upgrade_two_minors_goes_one_at_a_time_control_plane_first():
    desired = normalize_cluster(
        params(kubernetes_version="1.32", node_pools=[{"name": "a", "count": 1}, {"name": "b", "count": 1}])
    )
    actions = plan_cluster(running(desired, version="1.30"), desired)
    assert actions == [
        {"action": "upgrade_control_plane", "version": "1.31"},
        {"action": "upgrade_node_pool", "pool": "a", "version": "1.31"},
        {"action": "upgrade_node_pool", "pool": "b", "version": "1.31"},
        {"action": "upgrade_control_plane", "version": "1.32"},
        {"action": "upgrade_node_pool", "pool": "a", "version": "1.32"},
        {"action": "upgrade_node_pool", "pool": "b", "version": "1.32"},
    ]


def test_lagging_pools_catch_up_one_minor_at_a_time():
    desired = normalize_cluster(params(kubernetes_version="1.31"))
    current = running(desired)
    current["node_pools"][0]["version"] = "1.29"
    assert plan_cluster(current, desired) == [
        {"action": "upgrade_node_pool", "pool": "system", "version": "1.30"},
        {"action": "upgrade_node_pool", "pool": "system", "version": "1.31"},
    ]


def test_downgrade_is_refused():
    desired = normalize_cluster(params(kubernetes_version="1.30"))
    with pytest.raises(ValidationError) as error:
        plan_cluster(running(desired, version="1.31"), desired)
    assert error.value.field == "kubernetes_version" and "not downgraded" in error.value.message


def test_version_not_managed_when_not_given():
    desired = normalize_cluster(params(kubernetes_version=None))
    assert plan_cluster(running(desired, version="1.29"), desired) == []


def test_pool_changes_scale_autoscale_labels_taints():
    desired = normalize_cluster(
        params(
            node_pools=[
                {"name": "a", "count": 5},
                {"name": "b", "count": 2, "min_count": 1, "max_count": 6},
                {"name": "c", "count": 1, "labels": {"x": "1"}, "taints": [{"key": "k", "value": "v"}]},
            ]
        )
    )
    current = running(desired)
    current["node_pools"][0]["count"] = 3
    current["node_pools"][1].update(min_count=None, max_count=None, count=4)
    current["node_pools"][2].update(labels={"x": "0", "y": "1"}, taints=[])
    assert plan_cluster(current, desired) == [
        {"action": "update_node_pool", "pool": "a", "changes": {"count": 5}},
        {"action": "update_node_pool", "pool": "b", "changes": {"min_count": 1, "max_count": 6}},
        {
            "action": "update_node_pool",
            "pool": "c",
            "changes": {"labels": {"x": "1"}, "taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]},
        },
    ]


def test_autoscaled_pool_size_belongs_to_the_autoscaler():
    desired = normalize_cluster(params(node_pools=[{"name": "a", "count": 2, "min_count": 1, "max_count": 6}]))
    current = running(desired)
    current["node_pools"][0]["count"] = 5
    assert plan_cluster(current, desired) == []
    narrower = normalize_cluster(params(node_pools=[{"name": "a", "count": 2, "min_count": 1, "max_count": 3}]))
    assert plan_cluster(current, narrower) == [
        {"action": "update_node_pool", "pool": "a", "changes": {"min_count": 1, "max_count": 3, "count": 3}}
    ]


def test_turning_autoscaling_off_sets_a_fixed_size():
    desired = normalize_cluster(params(node_pools=[{"name": "a", "count": 3}]))
    current = running(desired)
    current["node_pools"][0].update(min_count=1, max_count=5, count=2)
    assert plan_cluster(current, desired) == [
        {"action": "update_node_pool", "pool": "a", "changes": {"min_count": None, "max_count": None, "count": 3}}
    ]


def test_pools_added_and_removed_after_updates_and_tags_last():
    desired = normalize_cluster(
        params(
            kubernetes_version="1.32",
            tags={"team": "x"},
            node_pools=[{"name": "a", "count": 2}, {"name": "new", "count": 1}],
        )
    )
    current = running(normalize_cluster(params(node_pools=[{"name": "a", "count": 1}, {"name": "old", "count": 1}])))
    kinds = [
        (a["action"], a.get("pool") if isinstance(a.get("pool"), str) else a.get("pool", {}).get("name"))
        for a in plan_cluster(current, desired)
    ]
    assert kinds == [
        ("upgrade_control_plane", None),
        ("upgrade_node_pool", "a"),
        ("update_node_pool", "a"),
        ("create_node_pool", "new"),
        ("delete_node_pool", "old"),
        ("update_tags", None),
    ]
    kept = plan_cluster(current, desired, purge_node_pools=False)
    assert "delete_node_pool" not in [a["action"] for a in kept]


def test_immutable_fields_listed_with_how_to_replace():
    desired = normalize_cluster(
        params(
            "azure",
            azure={"resource_group": "rg", "network_plugin": "azure", "dns_prefix": "new"},
            node_pools=[{"name": "system", "count": 3, "machine_type": "Standard_D8s_v5", "spot": False}],
            endpoint_access="private",
        )
    )
    current = running(
        normalize_cluster(
            params("azure", azure={"resource_group": "rg", "network_plugin": "kubenet", "dns_prefix": "old"})
        )
    )
    with pytest.raises(ImmutableFieldsError) as error:
        plan_cluster(current, desired)
    assert error.value.field == ("endpoint_access, azure.dns_prefix, azure.network_plugin, node_pools[0].machine_type")
    assert "replace" in error.value.describe()


def test_aws_subnets_and_role_are_immutable():
    desired = normalize_cluster(params(network={"subnet_ids": ["subnet-c", "subnet-d"]}))
    current = running(normalize_cluster(params()))
    with pytest.raises(ImmutableFieldsError) as error:
        plan_cluster(current, desired)
    assert [c[0] for c in error.value.changes] == ["network.subnet_ids"]
    same_order_free = normalize_cluster(params(network={"subnet_ids": ["subnet-b", "subnet-a"]}))
    assert plan_cluster(current, same_order_free) == []


def test_check_mode_prediction_and_diff_views():
    desired = normalize_cluster(
        params(kubernetes_version="1.32", tags={"team": "x"}, node_pools=[{"name": "a", "count": 4}])
    )
    assert expected_after(None, desired, [{"action": "create_cluster"}])["node_pools"][0]["version"] == "1.32"
    current = running(normalize_cluster(params(node_pools=[{"name": "a", "count": 3}])))
    after = expected_after(current, desired, plan_cluster(current, desired))
    assert after["kubernetes_version"] == "1.32" and after["tags"] == {"team": "x"}
    assert after["node_pools"][0]["count"] == 4 and after["node_pools"][0]["version"] == "1.32"
    assert portable_spec(current)["node_pools"][0]["count"] == 3  # the current view is not modified
    assert expected_after(current, desired, [{"action": "delete_cluster"}]) is None


def test_result_shape_and_helpers():
    current = running(normalize_cluster(params()), raw={"secret": "x"}, version_full="1.31.4-eks-1")
    result = cluster_result(current)
    assert "raw" not in result and result["version"] == "1.31" and result["node_pools"][0]["status"] == "ACTIVE"
    assert expected_nodes(current) == 3
    assert context_name(current) == "aws-us-east-1-fabric" and context_name(current, "mine") == "mine"
    assert cluster_result(None) == {}


# ----------------------------------------------------------------------------- issue 19: clearer errors, limits


def test_unquoted_version_float_says_to_quote_it():
    with pytest.raises(ValidationError) as error:
        normalize_cluster(params(kubernetes_version=1.3))
    assert error.value.field == "kubernetes_version"
    assert "quote" in error.value.describe() and '"1.30"' in error.value.describe()


def test_version_string_that_lost_its_zero_hints_at_quoting():
    with pytest.raises(ValidationError) as error:
        normalize_cluster(params(kubernetes_version="1.3"))
    assert "quote it" in error.value.describe() and "1.30" in error.value.describe()


def test_version_that_is_simply_unsupported_has_no_quoting_hint():
    with pytest.raises(ValidationError) as error:
        normalize_cluster(params(kubernetes_version="1.12"))
    assert "quote" not in error.value.describe()


@pytest.mark.parametrize(
    ("taints", "field"),
    [
        ([{"key": "k"}, {"value": "v", "effect": "NoSchedule"}], "node_pools[1].taints[1].key"),
        ([{"key": "k", "effect": "Never"}], "node_pools[1].taints[0].effect"),
        (["k=v:NoSchedule"], "node_pools[1].taints[0]"),
    ],
)
def test_taint_errors_name_the_pool_and_taint_index(taints, field):
    pools = [{"name": "system", "count": 1}, {"name": "batch", "count": 1, "taints": taints}]
    with pytest.raises(ValidationError) as error:
        normalize_cluster(params(node_pools=pools))
    assert error.value.field == field, error.value.describe()


@pytest.mark.parametrize(
    ("cloud", "overrides", "field"),
    [
        ("aws", {"tags": {f"k{i}": "v" for i in range(51)}}, "tags"),
        ("aws", {"tags": {"k": "v" * 257}}, "tags.k"),
        ("aws", {"tags": {"k" * 129: "v"}}, "tags." + "k" * 129),
        ("gcp", {"tags": {f"k{i}": "v" for i in range(65)}}, "tags"),
        ("azure", {"tags": {f"k{i}": "v" for i in range(51)}}, "tags"),
        ("azure", {"azure": {"resource_group": "rg."}}, "azure.resource_group"),
        ("azure", {"azure": {"resource_group": "r" * 91}}, "azure.resource_group"),
        ("azure", {"azure": {"resource_group": "rg", "dns_prefix": "-bad"}}, "azure.dns_prefix"),
        ("azure", {"azure": {"resource_group": "rg", "dns_prefix": "d" * 55}}, "azure.dns_prefix"),
    ],
)
def test_cloud_limits_are_checked_before_any_write(cloud, overrides, field):
    with pytest.raises(ValidationError) as error:
        normalize_cluster(params(cloud, **overrides))
    assert error.value.field == field, error.value.describe()


def test_limits_allow_what_the_cloud_allows():
    normalize_cluster(params("aws", tags={f"k{i}": "v" * 256 for i in range(50)}))
    normalize_cluster(params("azure", azure={"resource_group": "my_rg-(1).x", "dns_prefix": "d" * 54}))
