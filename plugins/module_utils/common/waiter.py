# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one waiter: poll a resource until it reaches a success state.

It stops early, with the provider's own message, when the resource reaches a failure state, and
gives up at the deadline with a message naming the last state seen. It never sleeps past the
deadline. Clock and sleep are injectable so tests never sleep.
"""

from __future__ import annotations

import time

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    ResourceFailedError,
    WaitTimeoutError,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Deadline

ABSENT = "ABSENT"


class Waiter:
    """Describes how to wait for one kind of resource.

    ``fetch()`` returns the current object, or None when it does not exist (state ``ABSENT``).
    ``state_of(obj)`` returns its state string; ``failure_message(obj)`` the provider's text for a
    failure state (status message, error details).
    """

    def __init__(
        self, cloud, resource, *, state_of, success, failure=(), failure_message=None, interval=5.0, max_interval=30.0
    ):
        if interval <= 0 or max_interval < interval:
            raise ValueError("need 0 < interval <= max_interval")
        self.cloud = cloud
        self.resource = resource
        self.state_of = state_of
        self.success = frozenset(success)
        self.failure = frozenset(failure)
        self.failure_message = failure_message
        self.interval = interval
        self.max_interval = max_interval

    def _state(self, obj):
        return ABSENT if obj is None else self.state_of(obj)

    def wait(self, fetch, *, timeout=None, deadline=None, clock=time.monotonic, sleep=time.sleep, on_poll=None):
        """Poll ``fetch`` until success; return the last object fetched.

        Pass either ``timeout`` seconds or a shared :class:`Deadline`.
        """
        if deadline is None:
            deadline = Deadline(timeout, clock)
        interval = self.interval
        polls = 0
        while True:
            obj = fetch()
            polls += 1
            state = self._state(obj)
            if on_poll is not None:
                on_poll(state, polls)
            if state in self.success:
                return obj
            if state in self.failure:
                detail = self.failure_message(obj) if (self.failure_message and obj is not None) else None
                message = f"reached failure state {state}"
                if detail:
                    message += f": {detail}"
                raise ResourceFailedError(message, cloud=self.cloud, resource=self.resource, call="wait", code=state)
            remaining = deadline.remaining()
            if remaining <= 0:
                wanted = "/".join(sorted(self.success))
                raise WaitTimeoutError(
                    f"timed out after {deadline.timeout:g}s waiting for state {wanted} "
                    f"({polls} polls); last state seen: {state}",
                    cloud=self.cloud,
                    resource=self.resource,
                    call="wait",
                    code=state,
                )
            sleep(min(interval, remaining))
            interval = min(self.max_interval, interval * 1.5)
