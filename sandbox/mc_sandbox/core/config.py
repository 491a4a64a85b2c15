"""Where the sandbox keeps its state, and how fast simulated time runs."""

from __future__ import annotations

import os
import pathlib

# sandbox/mc_sandbox/core/config.py -> the checkout
CHECKOUT = pathlib.Path(__file__).resolve().parents[3]
KUBE_SOURCE = CHECKOUT / "sandbox" / "kube"

STATE_ENV = "MC_SANDBOX_DIR"
TIME_FACTOR_ENV = "MC_SANDBOX_TIME_FACTOR"
CACHE_ENV = "MC_SANDBOX_CACHE"
# Seeds the fault sampling, so a test that injects error rates sees the same faults every run.
SEED_ENV = "MC_SANDBOX_SEED"

# At the default a 10-minute cloud operation (EKS creation) takes 10 seconds.
DEFAULT_TIME_FACTOR = 1 / 60


def state_dir() -> pathlib.Path:
    """The one directory holding all sandbox state (default: .sandbox/ in the checkout)."""
    return pathlib.Path(os.environ.get(STATE_ENV) or CHECKOUT / ".sandbox").resolve()


def cache_dir() -> pathlib.Path:
    """Built binaries, kept across `reset` and across checkouts."""
    default = pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache") / "multicloud-fabric"
    return pathlib.Path(os.environ.get(CACHE_ENV) or default)


def time_factor() -> float:
    raw = os.environ.get(TIME_FACTOR_ENV)
    if raw in (None, ""):
        return DEFAULT_TIME_FACTOR
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{TIME_FACTOR_ENV} must be a number, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{TIME_FACTOR_ENV} must be >= 0, got {raw!r}")
    return value


def scaled(real_seconds: float, factor: float | None = None) -> float:
    """How long a cloud operation that really takes `real_seconds` takes in the sandbox."""
    return real_seconds * (time_factor() if factor is None else factor)


def fault_seed() -> int | None:
    raw = os.environ.get(SEED_ENV)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{SEED_ENV} must be an integer, got {raw!r}") from None
