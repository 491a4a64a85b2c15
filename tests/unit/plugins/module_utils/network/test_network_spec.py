"""The network planner: CIDR plans validated before any write, and the actions that converge them."""

from __future__ import annotations

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    ImmutableFieldsError,
    ValidationError,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.network.spec import (
    expected_after,
    normalize_network,
    plan_network,
)

ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]


def params(**overrides):
    base = {"cloud": "aws", "name": "fabric", "region": "us-east-1", "cidr": "10.0.0.0/16", "state": "present"}
    base.update(overrides)
    return base


def current_of(desired, **extra):
    """What an adapter would read back after creating ``desired``."""
    current = dict(desired, id="net-1", tags=desired["tags"] or {})
    if desired["cloud"] == "aws":
        current["extra"] = {"internet_gateway_id": "igw-1", "route_table_id": "rtb-1"}
    current["subnets"] = [dict(s, id=f"sub-{i}") for i, s in enumerate(desired["subnets"])]
    current.update(extra)
    return current


def test_aws_default_plan_two_zones_of_slash_20():
    desired = normalize_network(params(), ZONES)
    assert [(s["name"], s["cidr"], s["zone"]) for s in desired["subnets"]] == [
        ("fabric-us-east-1a", "10.0.0.0/20", "us-east-1a"),
        ("fabric-us-east-1b", "10.0.16.0/20", "us-east-1b"),
    ]


def test_gcp_plan_has_pod_and_service_ranges_outside_the_primary():
    desired = normalize_network(
        params(
            cloud="gcp", region="us-central1", cidr="10.1.0.0/16", pods_cidr="10.2.0.0/16", services_cidr="10.3.0.0/20"
        ),
        None,
    )
    (subnet,) = desired["subnets"]
    assert subnet["name"] == "fabric-nodes" and subnet["cidr"] == "10.1.0.0/20"
    assert subnet["secondary_ranges"] == [
        {"name": "pods", "cidr": "10.2.0.0/16"},
        {"name": "services", "cidr": "10.3.0.0/20"},
    ]
    assert desired["tags"] is None  # Compute networks have no labels


def test_azure_plan_adds_gateway_subnet_at_the_end():
    desired = normalize_network(
        params(cloud="azure", region="eastus", cidr="10.4.0.0/16", azure={"resource_group": "rg"})
    )
    assert [(s["name"], s["cidr"], s["role"]) for s in desired["subnets"]] == [
        ("fabric-nodes", "10.4.0.0/20", "nodes"),
        ("GatewaySubnet", "10.4.255.224/27", "gateway"),
    ]
    assert desired["provider"] == {"project": None, "resource_group": "rg", "create_resource_group": True}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"cloud": "oracle"}, "cloud"),
        ({"name": ""}, "name"),
        ({"cidr": None}, "cidr"),
        ({"cidr": "10.0.0.1/16"}, "cidr"),
        ({"cidr": "300.0.0.0/16"}, "cidr"),
        ({"cidr": "8.8.0.0/16"}, "cidr"),
        ({"cidr": "fd00::/48"}, "cidr"),
        ({"cidr": "10.0.0.0/12"}, "cidr"),
        ({"subnet_count": 4}, "subnet_count"),
        ({"subnet_count": 1}, "subnet_count"),
        ({"subnet_prefix": 12}, "subnet_prefix"),
        ({"subnets": [{"name": "a", "cidr": "10.1.0.0/24", "zone": "us-east-1a"}]}, "subnets[0].cidr"),
        (
            {
                "subnets": [
                    {"name": "a", "cidr": "10.0.0.0/20", "zone": "us-east-1a"},
                    {"name": "b", "cidr": "10.0.8.0/24", "zone": "us-east-1b"},
                ]
            },
            "subnets[1].cidr",
        ),
        (
            {
                "subnets": [
                    {"name": "a", "cidr": "10.0.0.0/24", "zone": "us-east-1a"},
                    {"name": "a", "cidr": "10.0.1.0/24", "zone": "us-east-1b"},
                ]
            },
            "subnets[1].name",
        ),
        ({"subnets": [{"name": "a", "cidr": "10.0.0.0/24"}]}, "subnets[0].zone"),
        ({"subnets": [{"name": "a", "cidr": "10.0.0.0/24", "zone": "eu-west-1a"}]}, "subnets[0].zone"),
        (
            {
                "subnets": [
                    {"name": "a", "cidr": "10.0.0.0/24", "zone": "us-east-1a"},
                    {"name": "b", "cidr": "10.0.1.0/24", "zone": "us-east-1a"},
                ]
            },
            "subnets[0]",
        ),
        (
            {"subnets": [{"name": "a", "cidr": "10.0.0.0/24", "zone": "us-east-1a", "role": "gateway"}]},
            "subnets[0].role",
        ),
        ({"gateway_subnet": True}, "gateway_subnet"),
        ({"tags": {"aws:reserved": "x"}}, "tags.aws:reserved"),
    ],
)
def test_aws_bad_input_names_the_field(overrides, field):
    with pytest.raises(ValidationError) as error:
        normalize_network(params(**overrides), ZONES)
    assert error.value.field == field, error.value.describe()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "Fabric_1"}, "name"),
        ({"pods_cidr": "10.0.0.0/16"}, "pods_cidr"),
        ({"pods_cidr": "10.2.0.0/16", "services_cidr": "10.2.128.0/20"}, "services_cidr"),
        ({"pods_cidr": "100.64.0.0/16"}, "pods_cidr"),
        ({"subnets": [{"name": "a", "cidr": "10.0.0.0/24", "zone": "us-central1-a"}]}, "subnets[0].zone"),
        (
            {
                "subnets": [
                    {"name": "a", "cidr": "10.0.0.0/24", "secondary_ranges": [{"name": "pods", "cidr": "10.0.0.0/25"}]}
                ]
            },
            "subnets[0].secondary_ranges[0].cidr",
        ),
    ],
)
def test_gcp_bad_input_names_the_field(overrides, field):
    with pytest.raises(ValidationError) as error:
        normalize_network(params(cloud="gcp", region="us-central1", **overrides))
    assert error.value.field == field, error.value.describe()


def test_public_ranges_only_when_allowed():
    desired = normalize_network(params(cidr="100.64.0.0/16", allow_public_cidr=True), ZONES)
    assert desired["cidr"] == "100.64.0.0/16"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"azure": {}}, "azure.resource_group"),
        ({"gateway_subnet_prefix": 28}, "subnets[1].cidr"),
        (
            {
                "subnets": [
                    {"name": "nodes", "cidr": "10.4.0.0/20"},
                    {"name": "gw", "cidr": "10.4.255.224/27", "role": "gateway"},
                ]
            },
            "subnets[1].name",
        ),
        ({"subnets": [{"name": "GatewaySubnet", "cidr": "10.4.255.224/27"}]}, "subnets[0].role"),
        ({"subnets": [{"name": "GatewaySubnet", "cidr": "10.4.255.224/27", "role": "gateway"}]}, "subnets"),
        ({"tags": {"a/b": "x"}}, "tags.a/b"),
    ],
)
def test_azure_bad_input_names_the_field(overrides, field):
    base = {"cloud": "azure", "region": "eastus", "cidr": "10.4.0.0/16", "azure": {"resource_group": "rg"}}
    base.update(overrides)
    with pytest.raises(ValidationError) as error:
        normalize_network(params(**base))
    assert error.value.field == field, error.value.describe()


def test_create_plan_is_network_then_subnets():
    desired = normalize_network(params(), ZONES)
    actions = plan_network(None, desired)
    assert [a["action"] for a in actions] == ["create_network", "create_subnet", "create_subnet"]


def test_converged_network_plans_nothing():
    desired = normalize_network(params(tags={"team": "platform"}), ZONES)
    assert plan_network(current_of(desired), desired) == []


def test_absent():
    desired = normalize_network(params(state="absent"), ZONES)
    assert plan_network(None, desired, state="absent") == []
    assert plan_network({"name": "fabric"}, desired, state="absent") == [{"action": "delete_network"}]


def test_tags_purge_and_keep():
    desired = normalize_network(params(tags={"team": "platform", "env": "prod"}), ZONES)
    current = current_of(desired, tags={"team": "old", "owner": "me"})
    (action,) = plan_network(current, desired)
    assert action == {
        "action": "update_tags",
        "set": {"team": "platform", "env": "prod"},
        "remove": ["owner"],
        "tags": {"team": "platform", "env": "prod"},
    }
    kept = normalize_network(params(tags={"team": "platform"}, purge_tags=False), ZONES)
    (action,) = plan_network(current_of(kept, tags={"team": "old", "owner": "me"}), kept)
    assert action["remove"] == [] and action["tags"] == {"team": "platform", "owner": "me"}
    unmanaged = normalize_network(params(), ZONES)
    assert plan_network(current_of(unmanaged, tags={"owner": "me"}), unmanaged) == []


def test_immutable_changes_are_listed_together():
    desired = normalize_network(params(), ZONES)
    current = current_of(desired, cidr="10.9.0.0/16")
    current["subnets"][1]["cidr"] = "10.0.32.0/20"
    with pytest.raises(ImmutableFieldsError) as error:
        plan_network(current, desired)
    assert [c[0] for c in error.value.changes] == ["cidr", "subnets[1].cidr"]
    assert "10.9.0.0/16" in error.value.describe()


def test_added_subnet_is_created_and_extra_one_only_deleted_with_purge():
    desired = normalize_network(params(subnet_count=3), ZONES)
    current = current_of(normalize_network(params(), ZONES))
    assert [a["subnet"]["name"] for a in plan_network(current, desired)] == ["fabric-us-east-1c"]
    fewer = normalize_network(params(), ZONES)
    current = current_of(desired)
    assert plan_network(current, fewer) == []
    (delete,) = plan_network(current, fewer, purge_subnets=True)
    assert delete["action"] == "delete_subnet" and delete["subnet"]["name"] == "fabric-us-east-1c"


def test_expected_after_predicts_the_created_network():
    desired = normalize_network(params(tags={"team": "platform"}), ZONES)
    after = expected_after(None, desired, plan_network(None, desired))
    assert after["cidr"] == "10.0.0.0/16" and after["tags"] == {"team": "platform"}
    assert [s["name"] for s in after["subnets"]] == ["fabric-us-east-1a", "fabric-us-east-1b"]
    assert expected_after(current_of(desired), desired, [{"action": "delete_network"}]) is None


def test_half_created_aws_network_is_completed():
    desired = normalize_network(params(), ZONES)
    current = current_of(desired)
    current["extra"]["internet_gateway_id"] = None
    assert plan_network(current, desired) == [{"action": "create_network"}]


# ----------------------------------------------------------------------------- issue 19: limits, unused options


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "n" * 257}, "name"),
        ({"name": "n" * 250}, "name"),  # the planned subnets fabric-<zone> would pass 256
        ({"subnets": [{"name": "s" * 257, "cidr": "10.0.0.0/20", "zone": "us-east-1a"}]}, "subnets[0].name"),
        ({"tags": {f"k{i}": "v" for i in range(50)}}, "tags"),  # 49 plus the Name tag
        ({"pods_cidr": "10.2.0.0/16"}, "pods_cidr"),
        ({"services_cidr": "10.3.0.0/20"}, "services_cidr"),
        ({"gateway_subnet_prefix": 27}, "gateway_subnet_prefix"),
        ({"azure": {"resource_group": "rg", "create_resource_group": True}}, "azure"),
        ({"cloud": "azure", "pods_cidr": "10.2.0.0/16", "azure": {"resource_group": "rg"}}, "pods_cidr"),
        ({"cloud": "gcp", "gateway_subnet_prefix": 26}, "gateway_subnet_prefix"),
        ({"cloud": "gcp", "name": "n" * 60}, "name"),  # n...-nodes passes 63
        ({"cloud": "azure", "azure": {"resource_group": "rg."}}, "azure.resource_group"),
        (
            {
                "cloud": "azure",
                "azure": {"resource_group": "rg"},
                "subnets": [{"name": "bad name", "cidr": "10.0.0.0/20"}],
            },
            "subnets[0].name",
        ),
    ],
)
def test_limits_and_options_of_other_clouds_fail_naming_the_field(overrides, field):
    with pytest.raises(ValidationError) as error:
        normalize_network(params(**overrides), ZONES)
    assert error.value.field == field, error.value.describe()


def test_aws_names_up_to_the_tag_limit_are_accepted():
    desired = normalize_network(params(name="n" * 245, tags={f"k{i}": "v" for i in range(49)}), ZONES)
    assert max(len(s["name"]) for s in desired["subnets"]) == 256
