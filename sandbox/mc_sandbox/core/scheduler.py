"""The clock of the sandbox's AWS: delayed jobs on one timer thread, run on a small pool."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

log = logging.getLogger(__name__)


class Scheduler:
    """One timer thread for every delayed transition; the jobs run on a small pool.

    Runtime calls block (starting a control plane takes seconds), so jobs run on workers rather
    than on the timer thread: one slow cluster must not hold up every other transition, and no
    request thread ever waits on the runtime.
    """

    def __init__(self, workers: int = 4, name: str = "cloud"):
        self._workers = workers
        self._name = name
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._running: set[Future] = set()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._stopping = False

    def start(self) -> None:
        self._stopping = False
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix=f"mc-sandbox-{self._name}-job")
        self._thread = threading.Thread(target=self._loop, name=f"mc-sandbox-{self._name}-timer", daemon=True)
        self._thread.start()

    def call_later(self, delay: float, job: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), job))
            self._cond.notify()

    def clear(self) -> None:
        """Drop every pending job and wait for the running ones."""
        with self._cond:
            self._heap.clear()
            running = set(self._running)
        wait(running)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread:
            self._thread.join()
            self._thread = None
        self.clear()
        if self._pool:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _loop(self) -> None:
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                if self._heap and self._heap[0][0] <= now:
                    _, _, job = heapq.heappop(self._heap)
                    future = self._pool.submit(self._run, job)
                    self._running.add(future)
                    future.add_done_callback(self._done)
                    continue
                self._cond.wait(self._heap[0][0] - now if self._heap else None)

    def _done(self, future: Future) -> None:
        with self._cond:
            self._running.discard(future)

    @staticmethod
    def _run(job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:
            log.exception("sandbox AWS job %s failed", job)
