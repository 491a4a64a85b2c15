# -*- coding: utf-8 -*-
"""The retry helper with a fake clock: what is retried, how long it waits, when it gives up."""

from __future__ import annotations

import random

import pytest
from botocore.exceptions import ClientError

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Deadline, Retrier, RetryPolicy


def throttle(headers=None):
    return ClientError(
        {
            "Error": {"Code": "Throttling", "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": headers or {}},
        },
        "CreateCluster",
    )


def denied():
    return ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "nope"}, "ResponseMetadata": {"HTTPStatusCode": 403}},
        "CreateCluster",
    )


class Flaky:
    """Raises the given exceptions in turn, then returns ``value``."""

    def __init__(self, *failures, value="ok"):
        self.failures = list(failures)
        self.value = value
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        self.args = (args, kwargs)
        if self.failures:
            raise self.failures.pop(0)
        return self.value


def retrier(clock, **policy):
    return Retrier("aws", policy=RetryPolicy(**policy), clock=clock, sleep=clock.sleep, rng=random.Random(7))


def test_success_first_time_does_not_sleep(clock):
    fn = Flaky()
    assert retrier(clock).call(fn, 1, name="x") == "ok"
    assert fn.calls == 1
    assert fn.args == ((1,), {"name": "x"})
    assert clock.sleeps == []


def test_throttling_is_retried_until_success(clock):
    fn = Flaky(throttle(), throttle(), throttle())
    r = retrier(clock)
    assert r.call(fn) == "ok"
    assert fn.calls == 4
    assert r.retries == 3
    assert len(clock.sleeps) == 3


def test_non_retryable_error_fails_at_once_with_context(clock):
    fn = Flaky(denied())
    with pytest.raises(E.PermissionDeniedError) as info:
        retrier(clock).call(fn, resource="EKS cluster c1", call="CreateCluster")
    assert fn.calls == 1
    assert clock.sleeps == []
    assert info.value.describe().startswith("aws: EKS cluster c1: CreateCluster failed (403, AccessDenied): nope.")


def test_call_name_defaults_to_function_name(clock):
    def describe_vpcs():
        raise denied()

    with pytest.raises(E.FabricError) as info:
        retrier(clock).call(describe_vpcs)
    assert info.value.call == "describe_vpcs"


def test_backoff_is_exponential_jittered_and_capped(clock):
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(1)
    for attempt, step in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 8), (9, 8)]:
        for _i in range(50):
            delay = policy.backoff(attempt, rng)
            assert step / 2 <= delay <= step
    # jitter: the same attempt does not always wait the same time
    assert len({round(policy.backoff(3, rng), 6) for _i in range(20)}) > 1


def test_sleeps_grow_between_attempts(clock):
    fn = Flaky(*[throttle() for _i in range(5)])
    retrier(clock, base_delay=1.0, max_delay=100.0, timeout=1000).call(fn)
    for earlier, later in zip(clock.sleeps, clock.sleeps[1:], strict=False):
        assert later >= earlier  # with equal jitter step n+1's minimum is step n's maximum


def test_retry_after_is_honoured(clock):
    fn = Flaky(throttle({"retry-after": "7"}))
    retrier(clock, base_delay=0.5).call(fn)
    assert clock.sleeps == [7.0]


def test_retry_after_never_shortens_backoff(clock):
    fn = Flaky(throttle({"retry-after": "0"}))
    retrier(clock, base_delay=4.0, max_delay=4.0).call(fn)
    assert 2.0 <= clock.sleeps[0] <= 4.0


def test_gives_up_at_the_deadline_without_sleeping_past_it(clock):
    fn = Flaky(*[throttle() for _i in range(1000)])
    start = clock.now
    with pytest.raises(E.ThrottledError) as info:
        retrier(clock, timeout=60, base_delay=1.0, max_delay=10.0).call(fn, resource="r", call="c")
    assert clock.now - start <= 60
    err = info.value
    assert err.attempts == fn.calls > 3
    assert err.elapsed == pytest.approx(clock.now - start)
    assert f"gave up after {err.attempts} attempts" in err.describe()


def test_retry_after_beyond_deadline_gives_up_immediately(clock):
    fn = Flaky(throttle({"retry-after": "3600"}))
    with pytest.raises(E.ThrottledError):
        retrier(clock, timeout=60).call(fn)
    assert clock.sleeps == []
    assert fn.calls == 1


def test_max_attempts(clock):
    fn = Flaky(*[throttle() for _i in range(10)])
    with pytest.raises(E.ThrottledError) as info:
        retrier(clock, max_attempts=3, timeout=10_000).call(fn)
    assert fn.calls == 3
    assert info.value.attempts == 3


def test_shared_deadline_spans_several_calls(clock):
    deadline = Deadline(30, clock)
    r = Retrier("aws", deadline=deadline, clock=clock, sleep=clock.sleep, rng=random.Random(3))
    clock.advance(29.5)
    with pytest.raises(E.ThrottledError):
        r.call(Flaky(throttle()))
    assert clock.sleeps == []


def test_on_retry_callback_sees_each_retry(clock):
    seen = []
    r = Retrier(
        "aws",
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(5),
        on_retry=lambda err, attempt, delay: seen.append((err.kind, attempt, delay)),
    )
    r.call(Flaky(throttle(), throttle()))
    assert [(kind, attempt) for kind, attempt, _delay in seen] == [("throttled", 1), ("throttled", 2)]
    assert [delay for _kind, _attempt, delay in seen] == clock.sleeps


def test_wrap_decorator(clock):
    r = retrier(clock)
    fn = Flaky(throttle())

    @r.wrap(call="ListClusters")
    def list_clusters(region):
        return fn(region)

    assert list_clusters("eu-west-1") == "ok"
    assert list_clusters.__name__ == "list_clusters"

    @r.wrap
    def delete_cluster():
        raise denied()

    with pytest.raises(E.PermissionDeniedError) as info:
        delete_cluster()
    assert info.value.call == "delete_cluster"


def test_original_exception_is_chained(clock):
    with pytest.raises(E.FabricError) as info:
        retrier(clock).call(Flaky(denied()))
    assert isinstance(info.value.__cause__, ClientError)


def test_deadline(clock):
    deadline = Deadline(10, clock)
    assert deadline.remaining() == 10
    clock.advance(4)
    assert (deadline.elapsed(), deadline.remaining(), deadline.expired()) == (4, 6, False)
    clock.advance(7)
    assert (deadline.remaining(), deadline.expired()) == (0, True)
    with pytest.raises(ValueError):
        Deadline(-1, clock)


def test_policy_validation():
    with pytest.raises(ValueError):
        RetryPolicy(base_delay=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay=5, max_delay=1)
