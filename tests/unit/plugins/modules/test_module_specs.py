# -*- coding: utf-8 -*-
"""Each module's own argument spec and the rules between its options, as Ansible applies them
before the module runs (so before any API call)."""

from __future__ import annotations

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError

from ansible_collections.multicloud.fabric.plugins.module_utils.common import args as A
from ansible_collections.multicloud.fabric.plugins.modules import (
    mc_cluster,
    mc_cluster_info,
    mc_network,
    mc_network_info,
)

NETWORK = {"cloud": "aws", "name": "fabric", "region": "us-east-1", "cidr": "10.0.0.0/16"}
CLUSTER = {"cloud": "aws", "name": "fabric-aws", "region": "us-east-1", "node_pools": [{"name": "system", "count": 1}]}


def without(params, option):
    return {key: value for key, value in params.items() if key != option}


def errors(module, params):
    return ArgumentSpecValidator(**module.module_spec()).validate(params).error_messages


@pytest.mark.parametrize(
    ("module", "params"),
    [
        (mc_network, NETWORK),
        (mc_network, {"cloud": "aws", "name": "fabric", "region": "us-east-1", "state": "absent"}),
        (mc_network, dict(NETWORK, subnets=[{"name": "a", "cidr": "10.0.0.0/24"}], gateway_subnet=False)),
        (mc_network_info, {"cloud": "aws", "region": "us-east-1"}),
        (mc_network_info, {"cloud": "gcp"}),
        (mc_cluster, CLUSTER),
        (mc_cluster, {"cloud": "gcp", "name": "fabric-gcp", "region": "us-central1", "state": "absent"}),
        (mc_cluster_info, {"clouds": ["aws", "gcp"], "regions": ["us-east-1"]}),
    ],
)
def test_valid_input_passes(module, params):
    assert errors(module, params) == []


@pytest.mark.parametrize(
    ("module", "params", "message"),
    [
        (mc_network, without(NETWORK, "cidr"), "state is present but all of the following are missing: cidr"),
        (
            mc_network,
            dict(NETWORK, subnets=[{"name": "a", "cidr": "10.0.0.0/24"}], pods_cidr="10.9.0.0/16"),
            "parameters are mutually exclusive: subnets|pods_cidr",
        ),
        (
            mc_network,
            dict(NETWORK, subnets=[{"name": "a", "cidr": "10.0.0.0/24"}], subnet_count=2, subnet_prefix=20),
            "parameters are mutually exclusive: subnets|subnet_count, subnets|subnet_prefix",
        ),
        (mc_network, dict(NETWORK, cloud="oracle"), "value of cloud must be one of: aws, gcp, azure, got: oracle"),
        (mc_network_info, {"cloud": "aws"}, "cloud is aws but all of the following are missing: region"),
        (
            mc_cluster,
            without(CLUSTER, "node_pools"),
            "state is present but all of the following are missing: node_pools",
        ),
        (
            mc_cluster,
            dict(CLUSTER, endpoint_access="internal"),
            "value of endpoint_access must be one of: public, private, got: internal",
        ),
        (
            mc_cluster_info,
            {"clouds": ["aws", "oci"]},
            "value of clouds must be one or more of: aws, gcp, azure. Got no match for: oci",
        ),
    ],
)
def test_bad_input_fails_naming_the_option(module, params, message):
    assert message in errors(module, params)


def test_modules_build_their_spec_from_the_shared_pieces():
    spec = mc_cluster.module_spec()["argument_spec"]
    for piece in (A.resource_argument_spec(["aws", "gcp", "azure"]), A.tags_argument_spec(), A.wait_argument_spec()):
        assert {name: spec[name] for name in piece} == piece
    assert spec["node_pools"]["options"] is mc_cluster.NODE_POOL_OPTIONS
    with pytest.raises(ValueError, match="option 'tags' is defined twice"):
        A.argument_spec(A.tags_argument_spec(), {"tags": {"type": "list"}})


@pytest.mark.parametrize("module", [mc_network, mc_network_info, mc_cluster, mc_cluster_info])
def test_no_module_takes_provider_options_it_never_uses(module):
    params = {
        mc_network: NETWORK,
        mc_network_info: {"cloud": "gcp"},
        mc_cluster: CLUSTER,
        mc_cluster_info: {"clouds": ["gcp"]},
    }[module]
    given = dict(params, cloudflare_api_token="t", cloudflare_base_url="https://cf.example")
    found = ArgumentSpecValidator(**module.module_spec()).validate(given).errors
    unsupported = [str(e) for e in found if isinstance(e, UnsupportedError)]
    assert len(unsupported) == 1 and unsupported[0].startswith("cloudflare_api_token, cloudflare_base_url."), found
