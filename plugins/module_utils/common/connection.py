# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every cloud's ``Connection`` shares: calls under the one retrier, the task's deadline,
and waiters polling at the connection's interval."""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.common.args import DEFAULT_WAIT_TIMEOUT
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Deadline
from ansible_collections.multicloud.fabric.plugins.module_utils.common.waiter import Waiter

# Polls back off from the connection's poll_interval to at most this many seconds.
MAX_POLL_INTERVAL = 30.0


class BaseConnection:
    """Subclasses set ``cloud`` and, in their constructor, ``retrier`` and ``poll_interval``."""

    cloud = None
    retrier = None
    poll_interval = 10.0

    def call(self, fn, *args, resource=None, call=None, **kwargs):
        """``fn(*args, **kwargs)`` under the retry policy; errors become typed FabricErrors."""
        return self.retrier.call(fn, *args, resource=resource, call=call, **kwargs)

    def deadline(self):
        """The task's shared deadline if the retrier has one, else a fresh default one."""
        return self.retrier.deadline or Deadline(DEFAULT_WAIT_TIMEOUT, self.retrier.clock)

    def waiter(self, resource, *, state_of, success, failure=(), failure_message=None):
        """A :class:`Waiter` polling every ``poll_interval`` seconds (backing off to 30 s)."""
        return Waiter(
            self.cloud,
            resource,
            state_of=state_of,
            success=success,
            failure=failure,
            failure_message=failure_message,
            interval=self.poll_interval,
            max_interval=max(self.poll_interval, MAX_POLL_INTERVAL),
        )

    def wait(self, waiter, fetch, deadline=None):
        """Run ``waiter`` on ``fetch`` within ``deadline``, with the retrier's clock and sleep."""
        return waiter.wait(
            fetch, deadline=deadline or self.deadline(), clock=self.retrier.clock, sleep=self.retrier.sleep
        )
