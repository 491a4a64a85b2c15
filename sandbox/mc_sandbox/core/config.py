"""Where the sandbox keeps its state, and how fast simulated time runs."""

from __future__ import annotations

import os
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1]
# The Go module of the Kubernetes binary and its build script ship inside the package, so an
# installed sandbox builds (or finds in the cache) the same binary as a checkout.
KUBE_SOURCE = PACKAGE / "kube"
# The collection's checkout when the package runs from one (sandbox/mc_sandbox/), else None.
_TOP = PACKAGE.parents[1]
CHECKOUT = _TOP if (_TOP / "galaxy.yml").is_file() and _TOP / "sandbox" / "mc_sandbox" == PACKAGE else None

STATE_ENV = "MC_SANDBOX_DIR"
TIME_FACTOR_ENV = "MC_SANDBOX_TIME_FACTOR"
CACHE_ENV = "MC_SANDBOX_CACHE"
# Seeds the fault sampling, so a test that injects error rates sees the same faults every run.
SEED_ENV = "MC_SANDBOX_SEED"
# Seconds an EKS bearer token is accepted after it was signed (EKS: 15 minutes). Shorter values
# rehearse runs that outlive their tokens without waiting a quarter of an hour.
EKS_TOKEN_MAX_AGE_ENV = "MC_SANDBOX_EKS_TOKEN_MAX_AGE"  # noqa: S105 - a variable name, not a secret
DEFAULT_EKS_TOKEN_MAX_AGE = 15 * 60

# At the default a 10-minute cloud operation (EKS creation) takes 10 seconds.
DEFAULT_TIME_FACTOR = 1 / 60


def state_dir() -> pathlib.Path:
    """The one directory holding all sandbox state: MC_SANDBOX_DIR, else .sandbox/ in the checkout,
    else multicloud-fabric/sandbox under XDG_STATE_HOME (~/.local/state) for an installed package."""
    if os.environ.get(STATE_ENV):
        return pathlib.Path(os.environ[STATE_ENV]).resolve()
    if CHECKOUT is not None:
        return (CHECKOUT / ".sandbox").resolve()
    base = pathlib.Path(os.environ.get("XDG_STATE_HOME") or pathlib.Path.home() / ".local" / "state")
    return (base / "multicloud-fabric" / "sandbox").resolve()


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


def eks_token_max_age() -> float:
    """Seconds an EKS token stays valid after it was signed."""
    raw = os.environ.get(EKS_TOKEN_MAX_AGE_ENV)
    if raw in (None, ""):
        return float(DEFAULT_EKS_TOKEN_MAX_AGE)
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{EKS_TOKEN_MAX_AGE_ENV} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{EKS_TOKEN_MAX_AGE_ENV} must be > 0, got {raw!r}")
    return value
