"""What every managed-Kubernetes emulator (EKS, GKE, AKS) shares about its clusters' lifecycle."""

from __future__ import annotations

import threading

from mc_sandbox.core.runtime import KubeRuntime, delete_control_planes
from mc_sandbox.core.scheduler import Scheduler


def _never_fails(*_args, **_kwargs) -> None:
    """The provisioning-failure check of an emulator without a fault manager."""
    return None


def provisioning_failure_check(runtime: KubeRuntime, faults=None):
    """`faults.provisioning_failure` (a FaultManager's, by default the runtime's): it decides
    which cluster creations fail; without a fault manager none does."""
    faults = faults if faults is not None else getattr(runtime, "faults", None)
    return getattr(faults, "provisioning_failure", None) or _never_fails


class ClusterEmulator:
    """A lock, the scheduler that runs the background transitions after their simulated delay, and
    the control planes started and not deleted yet, keyed (region or location, name).

    `reset` bumps the generation: jobs scheduled before it find their world gone and do nothing.
    """

    cloud = ""

    def __init__(self, runtime: KubeRuntime, *, time_factor: float, faults=None):
        self._runtime = runtime
        self._provisioning_failure = provisioning_failure_check(runtime, faults)
        self._factor = time_factor
        self._lock = threading.RLock()
        self._generation = 0
        self._started: set[tuple[str, str]] = set()
        self._scheduler = Scheduler(name=self.cloud)

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        self._scheduler.stop()

    def reset(self) -> None:
        """Forget every cluster and stop the control planes this emulator started."""
        with self._lock:
            self._generation += 1
            self._forget()
        self._scheduler.clear()  # waits for running jobs, so a control plane being started is counted
        with self._lock:
            started = sorted(self._started)
            self._started.clear()
        delete_control_planes(self._runtime, self.cloud, started)

    def _forget(self) -> None:
        """Drop every resource the emulator holds (called under the lock)."""
        raise NotImplementedError
