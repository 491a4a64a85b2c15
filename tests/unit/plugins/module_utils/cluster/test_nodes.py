# -*- coding: utf-8 -*-
"""cluster/nodes.py with a fake Kubernetes API: counting Ready nodes and waiting for them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.cluster import nodes
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError, WaitTimeoutError
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Deadline, Retrier

KUBECONFIG = {"current-context": "gcp-us-central1-fabric-gcp"}


def node(*conditions):
    return SimpleNamespace(
        status=SimpleNamespace(conditions=[SimpleNamespace(type=t, status=s) for t, s in conditions])
    )


class FakeApi:
    """The kubernetes client as nodes.py uses it: one ApiClient per count, closed after it."""

    def __init__(self, answers):
        self.answers, self.made, self.closed, self.configs = list(answers), 0, 0, []

    def new_client_from_config_dict(self, config):
        self.configs.append(config)
        self.made += 1
        return self

    def close(self):
        self.closed += 1

    def core(self, api):
        assert api is self
        return SimpleNamespace(list_node=self.list_node)

    def list_node(self):
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return SimpleNamespace(items=answer)


@pytest.fixture
def api(monkeypatch):
    def install(*answers):
        fake = FakeApi(answers)
        monkeypatch.setattr(nodes, "HAS_KUBERNETES", True)
        monkeypatch.setattr(
            nodes, "k8s_config", SimpleNamespace(new_client_from_config_dict=fake.new_client_from_config_dict)
        )
        monkeypatch.setattr(nodes, "k8s_client", SimpleNamespace(CoreV1Api=fake.core))
        return fake

    return install


READY = ("Ready", "True")
NOT_READY = ("Ready", "False")


def test_count_ready_counts_only_ready_nodes_and_closes_the_client(api, clock):
    fake = api([node(READY), node(NOT_READY), node(("MemoryPressure", "False")), node(READY)])
    assert nodes.count_ready(KUBECONFIG, Retrier("kubernetes", clock=clock, sleep=clock.sleep)) == (2, 4)
    assert fake.configs == [KUBECONFIG] and fake.closed == 1


def test_wait_ready_polls_until_enough_nodes_are_ready(api, clock):
    fake = api([], [node(NOT_READY)], [node(READY), node(NOT_READY)], [node(READY), node(READY), node(READY)])
    deadline = Deadline(600, clock)
    retrier = Retrier("kubernetes", deadline=deadline, clock=clock, sleep=clock.sleep)
    ready = nodes.wait_ready(KUBECONFIG, 2, retrier, deadline, cloud="gcp", name="fabric-gcp", sleep=clock.sleep)
    assert ready == (3, 3)
    assert fake.made == fake.closed == 4
    assert clock.sleeps[0] == nodes.POLL_INTERVAL and max(clock.sleeps) <= nodes.MAX_POLL_INTERVAL


def test_wait_ready_times_out_saying_how_many_are_ready(api, clock):
    api([node(READY), node(NOT_READY)])
    deadline = Deadline(60, clock)
    retrier = Retrier("kubernetes", deadline=deadline, clock=clock, sleep=clock.sleep)
    with pytest.raises(WaitTimeoutError) as error:
        nodes.wait_ready(KUBECONFIG, 3, retrier, deadline, cloud="aws", name="fabric-aws", sleep=clock.sleep)
    text = error.value.describe()
    assert "1 of 3 expected nodes are Ready (2 registered)" in text and "cluster fabric-aws nodes" in text
    assert clock.now - 1000.0 <= 60


def test_without_the_kubernetes_package_the_option_is_named(monkeypatch, clock):
    monkeypatch.setattr(nodes, "HAS_KUBERNETES", False)
    with pytest.raises(ValidationError) as error:
        nodes.count_ready(KUBECONFIG, Retrier("kubernetes", clock=clock, sleep=clock.sleep))
    assert error.value.field == "wait_for_nodes" and "pip install kubernetes" in error.value.describe()
