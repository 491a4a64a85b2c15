# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one retry helper: jittered exponential backoff inside a deadline.

Throttling and transient errors (as the cloud's classifier decides) are retried; every other
error is raised at once as a typed :class:`FabricError`. A server's ``Retry-After`` is honoured.
The clock, the sleep function and the random source are injectable so tests never sleep.
"""

from __future__ import annotations

import functools
import random
import time

from ansible_collections.multicloud.fabric.plugins.module_utils.common.classify import translate_error


class Deadline:
    """A point in time after which waiting and retrying stop."""

    def __init__(self, timeout, clock=time.monotonic):
        if timeout is None or timeout < 0:
            raise ValueError("timeout must be a number of seconds >= 0")
        self.timeout = float(timeout)
        self.clock = clock
        self.started = clock()

    def elapsed(self):
        return self.clock() - self.started

    def remaining(self):
        return max(0.0, self.timeout - self.elapsed())

    def expired(self):
        return self.remaining() <= 0.0


class RetryPolicy:
    """How hard to try: first backoff ``base_delay``, doubling up to ``max_delay``, all within
    ``timeout`` seconds and at most ``max_attempts`` calls (None: bounded by time only)."""

    def __init__(self, *, timeout=300.0, base_delay=1.0, max_delay=30.0, max_attempts=None):
        if base_delay <= 0 or max_delay < base_delay:
            raise ValueError("need 0 < base_delay <= max_delay")
        self.timeout = timeout
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts

    def backoff(self, attempt, rng):
        """Delay after failed attempt number ``attempt`` (1-based): 'equal jitter', i.e. half the
        exponential step plus a random part of the other half, so delays grow but never align."""
        step = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return step / 2.0 + rng.uniform(0.0, step / 2.0)


class Retrier:
    """Calls functions of one cloud's SDK with the retry policy.

    ``deadline`` may be shared with other work of the same task (e.g. the module's
    ``wait_timeout``); otherwise each call gets ``policy.timeout`` of its own.
    """

    def __init__(
        self, cloud, *, policy=None, deadline=None, clock=time.monotonic, sleep=time.sleep, rng=None, on_retry=None
    ):
        self.cloud = cloud
        self.policy = policy or RetryPolicy()
        self.deadline = deadline
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.on_retry = on_retry
        self.retries = 0

    def call(self, fn, *args, resource=None, call=None, **kwargs):
        """Return ``fn(*args, **kwargs)``, retrying what is retryable.

        Raises a typed :class:`FabricError` naming cloud, ``resource`` and ``call``.
        """
        call = call or getattr(fn, "__name__", None)
        deadline = self.deadline or Deadline(self.policy.timeout, self.clock)
        started = self.clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # pylint: disable=broad-except
                error = translate_error(self.cloud, exc, resource=resource, call=call)
                if not error.retryable:
                    raise error from exc
                delay = self.policy.backoff(attempt, self.rng)
                if error.retry_after is not None:
                    delay = max(delay, error.retry_after)
                out_of_attempts = self.policy.max_attempts is not None and attempt >= self.policy.max_attempts
                if out_of_attempts or delay > deadline.remaining():
                    error.attempts = attempt
                    error.elapsed = self.clock() - started
                    raise error from exc
                self.retries += 1
                if self.on_retry is not None:
                    self.on_retry(error, attempt, delay)
                self.sleep(delay)

    def wrap(self, fn=None, *, call=None):
        """Decorator form: ``@retrier.wrap`` or ``@retrier.wrap(call="CreateCluster")``."""

        def decorate(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                return self.call(func, *args, call=call or func.__name__, **kwargs)

            return wrapper

        return decorate(fn) if fn is not None else decorate
