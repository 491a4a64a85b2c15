# -*- coding: utf-8 -*-
"""The Kubernetes spellings every cloud adapter shares: MAJOR.MINOR of a version, taint effects."""

from __future__ import annotations

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.common.kube import (
    TAINT_EFFECT_FROM_API,
    TAINT_EFFECT_TO_API,
    minor_of,
)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.31", "1.31"),
        ("1.31.4", "1.31"),
        ("v1.31.4", "1.31"),
        ("v1.31.4-eks-5e0fdde", "1.31"),  # EKS platform versions
        ("1.31.5-gke.1200", "1.31"),  # GKE currentMasterVersion
        (" 1.30.9 ", "1.30"),
        ("1.05", "1.5"),
        (None, None),
        ("", None),
        ("x", None),
        ("latest", None),
    ],
)
def test_minor_of(version, expected):
    assert minor_of(version) == expected


def test_taint_effects_round_trip_between_kubernetes_and_the_cloud_apis():
    assert TAINT_EFFECT_TO_API == {
        "NoSchedule": "NO_SCHEDULE",
        "PreferNoSchedule": "PREFER_NO_SCHEDULE",
        "NoExecute": "NO_EXECUTE",
    }
    assert {TAINT_EFFECT_FROM_API[v]: v for v in TAINT_EFFECT_TO_API.values()} == TAINT_EFFECT_TO_API
