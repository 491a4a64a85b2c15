"""The fault framework every emulated API goes through.

Rules inject errors (a rate and the status codes to answer with) and latency per cloud and
operation; `region-down` takes a whole region out (its Kubernetes APIs, load balancer responders
and, later, tunnels, origins and database nodes). Every request is counted, so tests can prove
that faults really happened.
"""

from __future__ import annotations

import fnmatch
import random
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field

CLOUDS = ("aws", "gcp", "azure", "cloudflare")
FAULT_STATUSES = (429, 500, 503)


@dataclass
class FaultRule:
    """Errors and latency for the calls of one cloud matching `operation` (a glob)."""

    cloud: str
    operation: str = "*"
    region: str | None = None
    error_rate: float = 0.0
    statuses: list[int] = field(default_factory=lambda: [429])
    retry_after: float = 1.0
    latency_ms: float = 0.0
    id: int = 0

    def validate(self) -> None:
        if self.cloud not in CLOUDS:
            raise ValueError(f"cloud: expected one of {', '.join(CLOUDS)}, got {self.cloud!r}")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"error_rate: expected 0..1, got {self.error_rate!r}")
        bad = [s for s in self.statuses if s not in FAULT_STATUSES]
        if bad or not self.statuses:
            raise ValueError(f"statuses: expected some of {FAULT_STATUSES}, got {self.statuses!r}")
        if self.latency_ms < 0 or self.retry_after < 0:
            raise ValueError("latency_ms and retry_after must be >= 0")

    def matches(self, cloud: str, operation: str, region: str | None) -> bool:
        if cloud != self.cloud or not fnmatch.fnmatchcase(operation, self.operation):
            return False
        return self.region is None or self.region == region


@dataclass
class Decision:
    """What to do with one request: wait `latency` seconds, then answer `status` if set."""

    latency: float = 0.0
    status: int | None = None
    retry_after: float | None = None
    region_down: bool = False


class FaultManager:
    """Thread-safe registry of fault rules, downed regions and request counters."""

    def __init__(self, rng: random.Random | None = None, sleep=time.sleep):
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._down: set[tuple[str, str]] = set()
        self._next_id = 1
        self._rng = rng or random.Random()  # noqa: S311 - fault sampling, not cryptography
        self._sleep = sleep
        self._listeners = []
        self.requests: Counter = Counter()  # (cloud, operation) -> count
        self.injected: Counter = Counter()  # (cloud, operation, status) -> count

    # ---------------------------------------------------------------- configuration
    def add_rule(self, rule: FaultRule) -> FaultRule:
        rule.validate()
        with self._lock:
            rule.id = self._next_id
            self._next_id += 1
            self._rules.append(rule)
        return rule

    def region_down(self, cloud: str, region: str) -> None:
        if cloud not in CLOUDS:
            raise ValueError(f"cloud: expected one of {', '.join(CLOUDS)}, got {cloud!r}")
        with self._lock:
            changed = (cloud, region) not in self._down
            self._down.add((cloud, region))
        if changed:
            self._notify()

    def clear(self) -> None:
        """Remove every rule and bring every region back (counters are kept)."""
        with self._lock:
            had_down = bool(self._down)
            self._rules.clear()
            self._down.clear()
        if had_down:
            self._notify()

    def on_change(self, callback) -> None:
        """Call `callback()` whenever the set of downed regions changes."""
        self._listeners.append(callback)

    def _notify(self) -> None:
        for callback in list(self._listeners):
            callback()

    # ---------------------------------------------------------------- queries
    def is_down(self, cloud: str, region: str | None) -> bool:
        with self._lock:
            return region is not None and (cloud, region) in self._down

    def decide(self, cloud: str, operation: str, region: str | None = None) -> Decision:
        """Count the request and decide its fate (callers apply it, see `apply`)."""
        with self._lock:
            self.requests[(cloud, operation)] += 1
            decision = Decision(region_down=region is not None and (cloud, region) in self._down)
            for rule in self._rules:
                if not rule.matches(cloud, operation, region):
                    continue
                decision.latency += rule.latency_ms / 1000.0
                if decision.status is None and rule.error_rate and self._rng.random() < rule.error_rate:
                    decision.status = self._rng.choice(rule.statuses)
                    decision.retry_after = rule.retry_after if decision.status == 429 else None
            if decision.status is not None:
                self.injected[(cloud, operation, decision.status)] += 1
            return decision

    def apply(self, cloud: str, operation: str, region: str | None = None) -> Decision:
        """`decide`, and sleep the injected latency."""
        decision = self.decide(cloud, operation, region)
        if decision.latency:
            self._sleep(decision.latency)
        return decision

    def snapshot(self) -> dict:
        """Everything `status` shows: rules, downed regions, request and fault counters."""
        with self._lock:
            requests: dict[str, dict[str, int]] = {}
            for (cloud, operation), count in sorted(self.requests.items()):
                requests.setdefault(cloud, {})[operation] = count
            injected: dict[str, dict[str, dict[str, int]]] = {}
            for (cloud, operation, status), count in sorted(self.injected.items()):
                injected.setdefault(cloud, {}).setdefault(operation, {})[str(status)] = count
            return {
                "rules": [asdict(rule) for rule in self._rules],
                "regions_down": [f"{cloud}/{region}" for cloud, region in sorted(self._down)],
                "requests": requests,
                "requests_total": {cloud: sum(ops.values()) for cloud, ops in requests.items()},
                "injected": injected,
            }
