# -*- coding: utf-8 -*-
from __future__ import annotations

import pytest

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


def _raising(error):
    def call(*args, **kwargs):
        call.seen.append((args, kwargs))
        raise error

    call.seen = []
    return call


def test_found_or_answers_the_default_only_for_a_missing_resource():
    missing = _raising(E.NotFoundError("no such vpc", cloud="aws", call="DescribeVpcs"))
    assert E.found_or(None, missing, "vpc-1", region="r1") is None
    assert missing.seen == [(("vpc-1",), {"region": "r1"})]  # arguments reach the call
    first, second = E.found_or([], missing), E.found_or([], missing)
    first.append("x")
    assert second == []  # each answer is a fresh copy of the default
    assert E.found_or(None, lambda *a, **k: {"a": a, "k": k}, 1, k=2) == {"a": (1,), "k": {"k": 2}}
    for error in (E.PermissionDeniedError("denied"), E.ThrottledError("slow down"), KeyError("bug")):
        with pytest.raises(type(error)):
            E.found_or(None, _raising(error))


def test_missing_means_decorates_a_read():
    class Reads:
        @E.missing_means(None)
        def get(self, name):
            """Read one."""
            if name == "gone":
                raise E.NotFoundError("gone")
            if name == "locked":
                raise E.ConflictError("locked")
            return {"name": name}

    reads = Reads()
    assert reads.get("a") == {"name": "a"}
    assert reads.get("gone") is None
    with pytest.raises(E.ConflictError):
        reads.get("locked")
    assert (Reads.get.__name__, Reads.get.__doc__) == ("get", "Read one.")


def test_gone_is_done_for_deletes():
    assert E.gone_is_done(_raising(E.NotFoundError("already deleted"))) is None
    assert E.gone_is_done(lambda group, *, name: f"op {group}/{name}", "rg", name="n") == "op rg/n"
    not_attached = E.FabricError("not attached", code="Gateway.NotAttached")
    assert E.gone_is_done(_raising(not_attached), gone_codes=("Gateway.NotAttached",)) is None
    with pytest.raises(E.FabricError):
        E.gone_is_done(_raising(not_attached))  # only the codes given count as gone
    for error in (E.ConflictError("in use", code="DependencyViolation"), E.AuthenticationError("expired")):
        with pytest.raises(type(error)):
            E.gone_is_done(_raising(error), gone_codes=("Gateway.NotAttached",))
