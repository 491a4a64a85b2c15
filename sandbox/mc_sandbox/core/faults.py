"""The fault framework every emulated API goes through.

Rules inject errors (a rate and the status codes to answer with) and latency per cloud and
operation; `region-down` takes a whole region out (its Kubernetes APIs, load balancer responders
and, later, tunnels, origins and database nodes); provisioning failures make cluster creations end
in the cloud's failed state with the cloud's own message. Every request and every failed creation
is counted, so tests can prove that faults really happened.
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
# The clouds whose emulators create clusters, and what each one's failed creation says by default
# (`{name}` and `{region}` become the cluster's). Each is a real failure of that cloud, reported
# with the code its emulator uses (EKS InsufficientFreeAddresses, GKE GCE_QUOTA_EXCEEDED /
# RESOURCE_EXHAUSTED, AKS QuotaExceeded).
PROVISIONING_MESSAGES = {
    "aws": (
        "One or more of the subnets associated with cluster {name} does not have enough available IP "
        "addresses for Amazon EKS to create the cluster's network interfaces. Free up addresses in the "
        "subnets, or create the cluster with other subnets."
    ),
    "gcp": (
        "Insufficient regional quota to satisfy request: resource \"CPUS\": request requires '6.0' and is "
        "short '2.0'. project has a quota of '24.0' with '4.0' available. View and manage quotas at "
        "https://console.cloud.google.com/iam-admin/quotas?usage=USED."
    ),
    "azure": (
        "Provisioning of resource(s) for container service {name} failed. Message: Operation could not be "
        "completed as it results in exceeding approved Total Regional Cores quota. Additional details - "
        "Deployment Model: Resource Manager, Location: {region}, Current Limit: 10, Current Usage: 8, "
        "Additional Required: 6, (Minimum) New Limit Required: 14."
    ),
}


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
class ProvisioningFailure:
    """Cluster creations of one cloud (in `region`, of clusters whose name matches `name`, a glob)
    that end in the cloud's failed state with `message`; `count` creations, 0 for every one."""

    cloud: str
    region: str | None = None
    name: str = "*"
    message: str | None = None  # None: the cloud's PROVISIONING_MESSAGES text
    count: int = 1
    failed: int = 0  # creations this rule has failed so far
    id: int = 0

    def validate(self) -> None:
        if self.cloud not in PROVISIONING_MESSAGES:
            raise ValueError(f"cloud: expected one of {', '.join(PROVISIONING_MESSAGES)}, got {self.cloud!r}")
        if self.region is not None and (not isinstance(self.region, str) or not self.region):
            raise ValueError(f"region: expected a region name, got {self.region!r}")
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name: expected a cluster name or glob, got {self.name!r}")
        if self.message is not None and (not isinstance(self.message, str) or not self.message.strip()):
            raise ValueError(f"message: expected a non-empty text, got {self.message!r}")
        if not isinstance(self.count, int) or isinstance(self.count, bool) or self.count < 0:
            raise ValueError(f"count: expected an integer >= 0 (0 = every creation), got {self.count!r}")

    def matches(self, cloud: str, region: str, name: str, zone: str | None) -> bool:
        if cloud != self.cloud or not fnmatch.fnmatchcase(name, self.name):
            return False
        return self.region is None or self.region in (region, zone)


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
        self._provisioning: list[ProvisioningFailure] = []
        self.requests: Counter = Counter()  # (cloud, operation) -> count
        self.injected: Counter = Counter()  # (cloud, operation, status) -> count
        self.provisioning_failed: Counter = Counter()  # cloud -> failed cluster creations

    # ---------------------------------------------------------------- configuration
    def add_rule(self, rule: FaultRule) -> FaultRule:
        rule.validate()
        with self._lock:
            rule.id = self._next_id
            self._next_id += 1
            self._rules.append(rule)
        return rule

    def add_provisioning_failure(self, rule: ProvisioningFailure) -> ProvisioningFailure:
        """Make the next `rule.count` matching cluster creations fail (see `provisioning_failure`)."""
        rule.validate()
        if rule.message is None:
            rule.message = PROVISIONING_MESSAGES[rule.cloud]
        rule.failed = 0
        with self._lock:
            rule.id = self._next_id
            self._next_id += 1
            self._provisioning.append(rule)
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
        """Remove every rule (provisioning failures too) and bring every region back (counters are kept)."""
        with self._lock:
            had_down = bool(self._down)
            self._rules.clear()
            self._provisioning.clear()
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

    def provisioning_failure(self, cloud: str, region: str, name: str, *, zone: str | None = None) -> str | None:
        """The message a cluster creation starting now fails with, or None if it succeeds.

        Emulators call this once per creation, when they start its background work; a match uses
        up one of its rule's `count` (the rule goes when none is left). `zone` is the location of
        a zonal cluster (GKE), which a rule's region may name as well.
        """
        with self._lock:
            for rule in self._provisioning:
                if not rule.matches(cloud, region, name, zone):
                    continue
                rule.failed += 1
                if rule.count and rule.failed >= rule.count:
                    self._provisioning.remove(rule)
                self.provisioning_failed[cloud] += 1
                return rule.message.replace("{name}", name).replace("{region}", zone or region)
            return None

    def apply(self, cloud: str, operation: str, region: str | None = None) -> Decision:
        """`decide`, and sleep the injected latency."""
        decision = self.decide(cloud, operation, region)
        if decision.latency:
            self._sleep(decision.latency)
        return decision

    def snapshot(self) -> dict:
        """Everything `status` shows: rules, provisioning failures, downed regions, request and fault counters."""
        with self._lock:
            requests: dict[str, dict[str, int]] = {}
            for (cloud, operation), count in sorted(self.requests.items()):
                requests.setdefault(cloud, {})[operation] = count
            injected: dict[str, dict[str, dict[str, int]]] = {}
            for (cloud, operation, status), count in sorted(self.injected.items()):
                injected.setdefault(cloud, {}).setdefault(operation, {})[str(status)] = count
            return {
                "rules": [asdict(rule) for rule in self._rules],
                "provisioning_failures": [asdict(rule) for rule in self._provisioning],
                "regions_down": [f"{cloud}/{region}" for cloud, region in sorted(self._down)],
                "requests": requests,
                "requests_total": {cloud: sum(ops.values()) for cloud, ops in requests.items()},
                "injected": injected,
                "provisioning_failed": dict(sorted(self.provisioning_failed.items())),
            }
