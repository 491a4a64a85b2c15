"""The VPN mesh planner: every tunnel's addresses, ASNs and keys obey all three clouds' rules."""

from __future__ import annotations

import ipaddress
import re

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError
from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.spec import (
    AWS_RESERVED_INSIDE,
    check_psk,
    derive_psk,
    plan_mesh,
    tunnels_of,
)

SEED = "correct-horse-battery-staple"
QUARTET = ["169.254.21.0/30", "169.254.21.4/30", "169.254.21.8/30", "169.254.21.12/30"]
AWS_PSK = re.compile(r"^[A-Za-z1-9._][A-Za-z0-9._]{7,63}$")


def gateways(**changes):
    base = {
        "aws": {"cloud": "aws", "region": "us-east-1", "name": "fabric-aws", "cidrs": ["10.0.0.0/16"]},
        "gcp": {"cloud": "gcp", "region": "us-central1", "name": "fabric-gcp", "cidrs": ["10.1.0.0/16"]},
        "azure": {"cloud": "azure", "region": "eastus", "name": "fabric-azure", "cidrs": ["10.2.0.0/16"]},
    }
    for cloud, change in changes.items():
        if change is None:
            del base[cloud]
        else:
            base[cloud] = dict(base[cloud], **change)
    return list(base.values())


def error(*args, **kwargs):
    with pytest.raises(ValidationError) as info:
        plan_mesh(*args, **kwargs)
    return info.value


def test_three_clouds_make_three_pairs_of_four_tunnels():
    mesh = plan_mesh(gateways(), SEED)
    assert [p["name"] for p in mesh["pairs"]] == ["aws-gcp", "aws-azure", "gcp-azure"]
    assert all(len(p["tunnels"]) == 4 for p in mesh["pairs"])
    assert mesh["tunnels_total"] == mesh["bgp_total"] == 12
    assert mesh["gateways"]["aws"]["peers"] == ["aws-gcp", "aws-azure"]
    assert mesh["gateways"]["azure"]["peers"] == ["aws-azure", "gcp-azure"]


def test_two_clouds_make_one_pair():
    mesh = plan_mesh(gateways(azure=None), SEED)
    assert [p["name"] for p in mesh["pairs"]] == ["aws-gcp"]
    assert mesh["tunnels_total"] == 4


def test_gateway_order_does_not_change_the_mesh():
    assert plan_mesh(list(reversed(gateways())), SEED) == plan_mesh(gateways(), SEED)


def test_aws_pairs_use_two_connections_of_two_tunnels_onto_two_interfaces():
    mesh = plan_mesh(gateways(), SEED)
    for pair in mesh["pairs"][:2]:
        ends = [(t["a"]["connection"], t["a"]["tunnel"], t["b"]["interface"]) for t in pair["tunnels"]]
        assert ends == [(0, 0, 0), (0, 1, 0), (1, 0, 1), (1, 1, 1)]


def test_gcp_azure_connects_every_interface_to_every_instance():
    gcp_azure = plan_mesh(gateways(), SEED)["pairs"][2]
    assert [(t["a"]["interface"], t["b"]["interface"]) for t in gcp_azure["tunnels"]] == [
        (0, 0),
        (0, 1),
        (1, 0),
        (1, 1),
    ]


def test_inside_addresses_follow_every_clouds_rules_and_are_unique():
    mesh = plan_mesh(gateways(), SEED)
    seen = []
    for pair in mesh["pairs"]:
        for tunnel in pair["tunnels"]:
            net = ipaddress.ip_network(tunnel["inside_cidr"])
            assert net.prefixlen == 30 and net.subnet_of(ipaddress.ip_network("169.254.0.0/16"))
            if "aws" in pair["name"]:
                assert net not in AWS_RESERVED_INSIDE
            if "azure" in pair["name"]:
                low, high = ipaddress.ip_address("169.254.21.0"), ipaddress.ip_address("169.254.22.255")
                assert low <= net.network_address and net.broadcast_address <= high
            a, b = ipaddress.ip_address(tunnel["a"]["bgp_ip"]), ipaddress.ip_address(tunnel["b"]["bgp_ip"])
            assert a in net and b in net and a != b
            assert a not in (net.network_address, net.broadcast_address)
            assert not any(net.overlaps(other) for other in seen)
            seen.append(net)
    assert len(seen) == 12


def test_aws_side_takes_the_first_host():
    tunnel = plan_mesh(gateways(), SEED)["pairs"][0]["tunnels"][0]
    assert (tunnel["inside_cidr"], tunnel["a"]["bgp_ip"], tunnel["b"]["bgp_ip"]) == (
        "169.254.10.0/30",
        "169.254.10.1",
        "169.254.10.2",
    )


def test_asns_default_private_unique_and_carried_on_each_end():
    mesh = plan_mesh(gateways(), SEED)
    asns = {c: g["asn"] for c, g in mesh["gateways"].items()}
    assert len(set(asns.values())) == 3
    assert all(64512 <= a <= 65534 for a in asns.values())
    for pair in mesh["pairs"]:
        for tunnel in pair["tunnels"]:
            assert tunnel["a"]["asn"] == asns[pair["a"]] and tunnel["b"]["asn"] == asns[pair["b"]]


def test_given_asns_are_used():
    mesh = plan_mesh(gateways(aws={"asn": 4200000001}, gcp={"asn": "65001"}), SEED)
    assert mesh["gateways"]["aws"]["asn"] == 4200000001
    assert mesh["gateways"]["gcp"]["asn"] == 65001


def test_keys_are_stable_valid_everywhere_and_distinct():
    first = plan_mesh(gateways(), SEED)
    again = plan_mesh(gateways(), SEED)
    keys = [t["psk"] for p in first["pairs"] for t in p["tunnels"]]
    assert keys == [t["psk"] for p in again["pairs"] for t in p["tunnels"]]
    assert len(set(keys)) == 12
    assert all(AWS_PSK.match(k) for k in keys)
    other_seed = plan_mesh(gateways(), SEED + "!")
    assert not set(keys) & {t["psk"] for p in other_seed["pairs"] for t in p["tunnels"]}


def test_rotation_changes_only_that_pairs_keys():
    before = plan_mesh(gateways(), SEED)
    after = plan_mesh(gateways(), SEED, rotations={"aws-azure": 1})
    for old, new in zip(before["pairs"], after["pairs"], strict=True):
        changed = [a["psk"] != b["psk"] for a, b in zip(old["tunnels"], new["tunnels"], strict=True)]
        assert changed == [old["name"] == "aws-azure"] * 4
        # Nothing but the key moves.
        strip = [{k: v for k, v in t.items() if k != "psk"} for t in old["tunnels"]]
        assert strip == [{k: v for k, v in t.items() if k != "psk"} for t in new["tunnels"]]


def test_derived_key_never_starts_with_zero_over_many_tunnels():
    keys = [derive_psk(SEED, "aws-gcp", i, r) for i in range(4) for r in range(500)]
    assert all(AWS_PSK.match(k) for k in keys)


def test_given_inside_cidrs_and_psks_are_used():
    cidrs = ["169.254.21.16/30", "169.254.21.20/30", "169.254.21.24/30", "169.254.21.28/30"]
    keys = ["Key_one.1234", "Key_two.1234", "Key_three.12", "Key_four.123"]
    mesh = plan_mesh(gateways(), SEED, inside_cidrs={"aws-azure": cidrs}, psks={"aws-azure": keys})
    pair = mesh["pairs"][1]
    assert [t["inside_cidr"] for t in pair["tunnels"]] == cidrs
    assert [t["psk"] for t in pair["tunnels"]] == keys


def test_defaults_step_around_given_inside_cidrs():
    # The aws-gcp pair is given the /30s aws-azure would take by default: aws-azure moves on.
    mesh = plan_mesh(gateways(), SEED, inside_cidrs={"aws-gcp": QUARTET})
    assert [t["inside_cidr"] for t in mesh["pairs"][0]["tunnels"]] == QUARTET
    assert [t["inside_cidr"] for t in mesh["pairs"][1]["tunnels"]] == [
        "169.254.21.16/30",
        "169.254.21.20/30",
        "169.254.21.24/30",
        "169.254.21.28/30",
    ]


def test_tunnels_of_one_cloud_see_local_and_remote_ends():
    mesh = plan_mesh(gateways(), SEED)
    gcp = tunnels_of(mesh, "gcp")
    assert [t["pair"] for t in gcp] == ["aws-gcp"] * 4 + ["gcp-azure"] * 4
    assert all(t["local"]["cloud"] == "gcp" for t in gcp)
    assert gcp[0]["remote"]["cloud"] == "aws" and gcp[0]["remote_cidrs"] == ["10.0.0.0/16"]
    assert gcp[4]["remote"]["cloud"] == "azure" and gcp[4]["remote_cidrs"] == ["10.2.0.0/16"]
    # The GCP end of aws-gcp is side b, of gcp-azure side a: both seen as local.
    assert gcp[0]["local"]["bgp_ip"] == mesh["pairs"][0]["tunnels"][0]["b"]["bgp_ip"]
    assert gcp[4]["local"]["bgp_ip"] == mesh["pairs"][2]["tunnels"][0]["a"]["bgp_ip"]


@pytest.mark.parametrize(
    ("call", "field", "words"),
    [
        (lambda: plan_mesh(gateways(gcp=None, azure=None), SEED), "gateways", "at least two clouds"),
        (lambda: plan_mesh(gateways(gcp={"cloud": "aws"}), SEED), "gateways[1].cloud", "appears twice"),
        (lambda: plan_mesh(gateways(gcp={"cloud": "oracle"}), SEED), "gateways[1].cloud", "expected one of"),
        (lambda: plan_mesh(gateways(gcp={"region": ""}), SEED), "gateways[1].region", "needs a region"),
        (lambda: plan_mesh(gateways(gcp={"cidrs": []}), SEED), "gateways[1].cidrs", "ranges it advertises"),
        (lambda: plan_mesh(gateways(gcp={"cidrs": ["10.1.0.1/16"]}), SEED), "gateways[1].cidrs[0]", "CIDR"),
        (lambda: plan_mesh(gateways(gcp={"cidrs": ["fd00::/64"]}), SEED), "gateways[1].cidrs[0]", "IPv6"),
        (
            lambda: plan_mesh(gateways(azure={"cidrs": ["10.2.0.0/16", "10.0.128.0/20"]}), SEED),
            "gateways[2].cidrs[1]",
            "overlaps 10.0.0.0/16 of the aws gateway",
        ),
        (lambda: plan_mesh(gateways(aws={"asn": 7224}), SEED), "gateways[0].asn", "not a private ASN"),
        (lambda: plan_mesh(gateways(aws={"asn": 65535}), SEED), "gateways[0].asn", "not a private ASN"),
        (lambda: plan_mesh(gateways(azure={"asn": 65515}), SEED), "gateways[2].asn", "reserved by Azure"),
        (lambda: plan_mesh(gateways(gcp={"asn": 65517}), SEED), "gateways[1].asn", "reserved by Azure"),
        (lambda: plan_mesh(gateways(gcp={"asn": "big"}), SEED), "gateways[1].asn", "whole number"),
        (lambda: plan_mesh(gateways(gcp={"asn": 64512}), SEED), "gateways[1].asn", "already the ASN of the aws"),
        (lambda: plan_mesh(gateways(), "short"), "psk_seed", "at least 16"),
        (lambda: plan_mesh(gateways(), None), "psk_seed", "at least 16"),
        (lambda: plan_mesh(gateways(), SEED, name="Fabric"), "name", "lowercase"),
        (lambda: plan_mesh(gateways(), SEED, name="x" * 41), "name", "1-40"),
        (
            lambda: plan_mesh(gateways(), SEED, inside_cidrs={"aws-azure": ["169.254.30.0/30", *QUARTET[1:]]}),
            "inside_cidrs.aws-azure[0]",
            "outside Azure's APIPA",
        ),
        (
            lambda: plan_mesh(gateways(), SEED, inside_cidrs={"aws-gcp": ["169.254.5.0/30", *QUARTET[1:]]}),
            "inside_cidrs.aws-gcp[0]",
            "reserved by AWS",
        ),
        (
            lambda: plan_mesh(gateways(), SEED, inside_cidrs={"aws-gcp": ["169.254.10.0/29", *QUARTET[1:]]}),
            "inside_cidrs.aws-gcp[0]",
            "not a /30",
        ),
        (
            lambda: plan_mesh(gateways(), SEED, inside_cidrs={"aws-gcp": ["10.0.0.0/30", *QUARTET[1:]]}),
            "inside_cidrs.aws-gcp[0]",
            "not a /30 inside 169.254.0.0/16",
        ),
        (
            lambda: plan_mesh(gateways(), SEED, inside_cidrs={"aws-gcp": QUARTET[:3]}),
            "inside_cidrs.aws-gcp",
            "list of 4",
        ),
        (
            lambda: plan_mesh(gateways(), SEED, inside_cidrs={"aws-azure": QUARTET, "gcp-azure": QUARTET}),
            "inside_cidrs.gcp-azure[0]",
            "overlaps 169.254.21.0/30 of tunnel 0 of aws-azure",
        ),
        (lambda: plan_mesh(gateways(), SEED, rotations={"aws-oracle": 1}), "rotations.aws-oracle", "no such pair"),
        (lambda: plan_mesh(gateways(), SEED, rotations={"aws-gcp": -1}), "rotations.aws-gcp", ">= 0"),
        (lambda: plan_mesh(gateways(), SEED, rotations=["aws-gcp"]), "rotations", "dictionary"),
        (
            lambda: plan_mesh(gateways(), SEED, psks={"aws-gcp": ["has space1", "Valid_key1", "Valid_key2", "V3_key"]}),
            "psks.aws-gcp[0]",
            "only letters, digits",
        ),
        (
            lambda: plan_mesh(
                gateways(), SEED, psks={"aws-gcp": ["0starts_zero", "Valid_key1", "Valid_key2", "V3_key"]}
            ),
            "psks.aws-gcp[0]",
            "cannot start with 0",
        ),
        (
            lambda: plan_mesh(gateways(), SEED, psks={"aws-gcp": ["short", "Valid_key1", "Valid_key2", "V3_key"]}),
            "psks.aws-gcp[0]",
            "8-64 characters",
        ),
        (lambda: plan_mesh(gateways(), SEED, psks={"aws-gcp": ["Valid_key1"]}), "psks.aws-gcp", "list of 4"),
    ],
)
def test_bad_input_is_rejected_naming_the_field(call, field, words):
    with pytest.raises(ValidationError) as info:
        call()
    assert info.value.field.startswith(field)
    assert words in info.value.message


def test_overlapping_given_inside_cidrs_name_the_second_tunnel():
    cidrs = ["169.254.11.0/30", "169.254.11.0/30", "169.254.11.8/30", "169.254.11.12/30"]
    err = error(gateways(), SEED, inside_cidrs={"aws-gcp": cidrs})
    assert err.field == "inside_cidrs.aws-gcp[1]"
    assert "overlaps 169.254.11.0/30 of tunnel 0 of aws-gcp" in err.message


def test_a_rejected_key_is_never_echoed():
    secret = "Secret key with spaces"
    err = error(gateways(), SEED, psks={"aws-gcp": [secret, "Valid_key1", "Valid_key2", "V3_key12"]})
    assert secret not in err.describe() and "Secret" not in err.describe()


def test_check_psk_accepts_the_boundaries():
    assert check_psk("A" * 8, "psk") == "A" * 8
    assert check_psk("A" * 64, "psk") == "A" * 64
    with pytest.raises(ValidationError):
        check_psk("A" * 65, "psk")
