# -*- coding: utf-8 -*-
from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E


def test_describe_names_cloud_resource_call_status_and_advice():
    err = E.PermissionDeniedError(
        "User: arn:aws:iam::1:user/ci is not authorized to perform eks:CreateCluster",
        cloud="aws",
        resource="EKS cluster prod-use1",
        call="CreateCluster",
        status=403,
        code="AccessDeniedException",
    )
    text = err.describe()
    assert text.startswith("aws: EKS cluster prod-use1: CreateCluster failed (403, AccessDeniedException): User:")
    assert "What to do: grant the identity the permission" in text
    assert not err.retryable
    assert err.as_dict() == {
        "kind": "permission_denied",
        "cloud": "aws",
        "resource": "EKS cluster prod-use1",
        "call": "CreateCluster",
        "status": 403,
        "code": "AccessDeniedException",
        "attempts": 1,
    }


def test_only_throttled_and_transient_are_retryable():
    retryable = {cls.kind for cls in E.ERROR_CLASSES.values() if cls("x").retryable}
    assert retryable == {E.THROTTLED, E.TRANSIENT}


def test_explicit_advice_wins_and_attempts_are_reported():
    err = E.ThrottledError("Rate exceeded", cloud="gcp", call="clusters.list", advice="slow down")
    err.attempts, err.elapsed = 4, 12.25
    assert (
        err.describe()
        == "gcp: clusters.list failed: Rate exceeded (gave up after 4 attempts in 12.2s). What to do: slow down"
    )


def test_validation_error_names_the_field():
    err = E.ValidationError("node_pools[1].count", "must be >= 0, got -2")
    assert str(err) == "invalid value for 'node_pools[1].count': must be >= 0, got -2"
    assert err.as_dict()["field"] == "node_pools[1].count"
    assert err.kind == "validation"
