# -*- coding: utf-8 -*-
"""Diff mode output never carries a secret, whether found by key name or by value."""

from __future__ import annotations

import json

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.common.diff import (
    MASK,
    build_diff,
    changed_paths,
    is_secret_key,
    mask,
)


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "admin_password",
        "client_secret",
        "aws_secret_key",
        "aws_session_token",
        "api_token",
        "psk",
        "pre_shared_key",
        "preSharedKey",
        "sharedKey",
        "private_key",
        "client-key-data",
        "kubeconfig",
        "gcp_service_account_contents",
        "connectionString",
    ],
)
def test_secret_key_names(key):
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key",
    ["name", "token_uri", "secret_name", "public_key", "ca_data", "region", "tokens_used", "key", "keepalive", 3],
)
def test_not_secret_key_names(key):
    assert not is_secret_key(key)


def test_build_diff_masks_keys_and_values_everywhere():
    psk = "s3cr3t-PSK-value"
    before = {"name": "t1", "tunnels": [{"inside_cidr": "169.254.21.0/30", "psk": psk}]}
    after = {
        "name": "t1",
        "tunnels": [{"inside_cidr": "169.254.21.4/30", "preSharedKey": psk}],
        "note": f"rotated from {psk}",
        "kubeconfig": "apiVersion: v1 ...",
    }
    diff = build_diff(before, after, secret_values={psk}, before_header="t1", after_header="t1")
    text = json.dumps(diff)
    assert psk not in text
    assert diff["after"]["note"] == f"rotated from {MASK}"
    assert diff["after"]["tunnels"][0]["preSharedKey"] == MASK
    assert diff["after"]["kubeconfig"] == MASK
    assert diff["after"]["tunnels"][0]["inside_cidr"] == "169.254.21.4/30"
    assert diff["before_header"] == diff["after_header"] == "t1"


def test_build_diff_for_create_and_delete():
    assert build_diff(None, {"name": "c"}) == {"before": {}, "after": {"name": "c"}}
    assert build_diff({"name": "c"}, None) == {"before": {"name": "c"}, "after": {}}


def test_mask_does_not_touch_input_or_empty_secrets():
    data = {"token": "abcdef", "password": "", "items": ("x", "abcdef")}
    out = mask(data, secret_values=["abcdef"])
    assert data == {"token": "abcdef", "password": "", "items": ("x", "abcdef")}
    assert out == {"token": MASK, "password": "", "items": ["x", MASK]}


def test_very_short_values_are_not_masked_everywhere():
    assert mask("a node in region 1", secret_values=["1", "a"]) == "a node in region 1"


def test_longest_secret_masked_first():
    assert mask("key=abcdefgh", secret_values=["abcd", "abcdefgh"]) == f"key={MASK}"


def test_changed_paths():
    before = {"version": "1.30", "pools": {"a": {"count": 3}, "b": {"count": 1}}, "tags": {"env": "dev"}}
    after = {"version": "1.31", "pools": {"a": {"count": 5}}, "tags": {"env": "dev"}, "labels": {}}
    assert changed_paths(before, after) == ["labels", "pools.a.count", "pools.b", "version"]
    assert changed_paths(before, before) == []
    assert changed_paths(1, 2) == ["."]
