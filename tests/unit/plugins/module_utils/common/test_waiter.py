# -*- coding: utf-8 -*-
"""The waiter with a fake clock: success, failure states with the provider's message, timeout."""

from __future__ import annotations

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Deadline
from ansible_collections.multicloud.fabric.plugins.module_utils.common.waiter import ABSENT, Waiter

EKS = Waiter(
    "aws",
    "EKS cluster c1",
    state_of=lambda c: c["status"],
    success={"ACTIVE"},
    failure={"FAILED"},
    failure_message=lambda c: "; ".join(i["message"] for i in c.get("health", {}).get("issues", [])),
    interval=5,
    max_interval=20,
)


class Sequence:
    """fetch() returning the given objects in turn, repeating the last one."""

    def __init__(self, *objects):
        self.objects = list(objects)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.objects.pop(0) if len(self.objects) > 1 else self.objects[0]


def test_returns_the_object_that_reached_success(clock):
    fetch = Sequence({"status": "CREATING"}, {"status": "CREATING"}, {"status": "ACTIVE", "id": 1})
    obj = EKS.wait(fetch, timeout=600, clock=clock, sleep=clock.sleep)
    assert obj == {"status": "ACTIVE", "id": 1}
    assert fetch.calls == 3
    assert clock.sleeps == [5, 7.5]


def test_already_there_does_not_sleep(clock):
    assert EKS.wait(Sequence({"status": "ACTIVE"}), timeout=1, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == []


def test_failure_state_stops_early_with_provider_message(clock):
    failed = {"status": "FAILED", "health": {"issues": [{"message": "Subnet subnet-1 has no free IPs"}]}}
    fetch = Sequence({"status": "CREATING"}, failed)
    with pytest.raises(E.ResourceFailedError) as info:
        EKS.wait(fetch, timeout=600, clock=clock, sleep=clock.sleep)
    err = info.value
    assert fetch.calls == 2
    assert err.code == "FAILED"
    assert err.describe().startswith(
        "aws: EKS cluster c1: wait failed (FAILED): reached failure state FAILED: Subnet subnet-1 has no free IPs"
    )
    assert not err.retryable


def test_timeout_names_the_last_state_and_never_oversleeps(clock):
    fetch = Sequence({"status": "CREATING"}, {"status": "UPDATING"})
    start = clock.now
    with pytest.raises(E.WaitTimeoutError) as info:
        EKS.wait(fetch, timeout=60, clock=clock, sleep=clock.sleep)
    assert clock.now - start == 60
    assert max(clock.sleeps) <= 20
    assert "timed out after 60s waiting for state ACTIVE" in info.value.message
    assert info.value.message.endswith("last state seen: UPDATING")
    assert info.value.code == "UPDATING"
    assert "raise wait_timeout" in info.value.describe()


def test_waiting_for_deletion_treats_none_as_absent(clock):
    deleting = Waiter("gcp", "GKE cluster g1", state_of=lambda c: c["status"], success={ABSENT}, failure={"ERROR"})
    fetch = Sequence({"status": "STOPPING"}, {"status": "STOPPING"}, None)
    assert deleting.wait(fetch, timeout=300, clock=clock, sleep=clock.sleep) is None
    assert fetch.calls == 3


def test_shared_deadline_and_poll_callback(clock):
    deadline = Deadline(12, clock)
    polls = []
    with pytest.raises(E.WaitTimeoutError):
        EKS.wait(
            Sequence({"status": "CREATING"}),
            deadline=deadline,
            clock=clock,
            sleep=clock.sleep,
            on_poll=lambda state, n: polls.append((state, n)),
        )
    assert clock.sleeps == [5, 7]
    assert polls == [("CREATING", 1), ("CREATING", 2), ("CREATING", 3)]


def test_failure_without_message(clock):
    bare = Waiter(
        "azure", "AKS a1", state_of=lambda c: c["provisioningState"], success={"Succeeded"}, failure={"Failed"}
    )
    with pytest.raises(E.ResourceFailedError) as info:
        bare.wait(Sequence({"provisioningState": "Failed"}), timeout=10, clock=clock, sleep=clock.sleep)
    assert info.value.message == "reached failure state Failed"


def test_interval_validation():
    with pytest.raises(ValueError):
        Waiter("aws", "x", state_of=str, success={"A"}, interval=0)
