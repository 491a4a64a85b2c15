# -*- coding: utf-8 -*-
"""Shared fixtures: a fake clock so retry and wait tests never sleep, and the module the runners see."""

from __future__ import annotations

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Deadline, Retrier


class FakeClock:
    """Monotonic clock whose ``sleep`` advances time instead of waiting."""

    def __init__(self, start=1000.0):
        self.now = start
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0, "negative sleep"
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


class FakeModule:
    """What the runners use of ``FabricModule``, with the parameters a task would have: validated
    and defaulted by the module's own argument spec. Waits and retries run on ``clock``."""

    def __init__(self, module_spec, args, clock, check_mode=False, no_log=False):
        result = ArgumentSpecValidator(**module_spec).validate(args)
        assert not result.error_messages, result.error_messages
        self.params = result.validated_parameters
        self.secret_values = result._no_log_values  # pylint: disable=protected-access
        self.check_mode = check_mode
        self.no_log = no_log  # the task's no_log: true
        self.warnings = []
        self.logged = []
        self.clock = clock
        self._deadline = Deadline(self.params.get("wait_timeout") or 300, clock)

    def deadline(self):
        return self._deadline

    def retrier(self, cloud):
        return Retrier(cloud, deadline=self._deadline, clock=self.clock, sleep=self.clock.sleep)

    def warn(self, message):
        self.warnings.append(message)

    def add_secrets(self, values):
        self.secret_values.update(str(v) for v in values if v)

    def log(self, message):
        self.logged.append(message)


@pytest.fixture
def fake_module(clock):
    """``fake_module(module_spec, args, check_mode=False, no_log=False)``: a module as the runners see it."""
    return lambda module_spec, args, check_mode=False, no_log=False: FakeModule(
        module_spec, args, clock, check_mode, no_log
    )
