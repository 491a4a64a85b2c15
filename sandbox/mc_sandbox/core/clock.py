"""The sandbox's clock: real time, with jumps forward a test can make.

Clients sign with their own (real) clocks, so the sandbox cannot simply run ahead of them: a
fresh token would look as old as the jump. Instead the clock records each jump (``mc-sandbox
clock advance SECONDS``) and what the sandbox checks against elapsed time (today: the age of
the EKS tokens its webhook verifies) asks :meth:`Clock.skipped_since`: a credential issued before
a jump has aged by it, one issued after has not. A test of what happens once credentials expire
jumps past their lifetime instead of waiting it out. A reset forgets every jump.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

MAX_JUMP = 366 * 86400.0


class Clock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jumps: list[tuple[datetime, float]] = []

    @property
    def offset(self) -> float:
        """Seconds skipped in all."""
        with self._lock:
            return sum(seconds for _, seconds in self._jumps)

    def advance(self, seconds) -> float:
        """Skip ``seconds`` now; the seconds skipped in all."""
        try:
            seconds = float(seconds)
        except (TypeError, ValueError):
            raise ValueError(f"advance_seconds: expected a number of seconds, got {seconds!r}") from None
        if not 0 <= seconds <= MAX_JUMP:
            raise ValueError(f"advance_seconds: expected 0 to {MAX_JUMP:.0f} seconds, got {seconds:g}")
        with self._lock:
            self._jumps.append((datetime.now(UTC), seconds))
        return self.offset

    def skipped_since(self, moment: datetime) -> timedelta:
        """Time skipped by the jumps made at or after ``moment``."""
        with self._lock:
            return timedelta(seconds=sum(seconds for at, seconds in self._jumps if at >= moment))

    def reset(self) -> None:
        with self._lock:
            self._jumps.clear()
