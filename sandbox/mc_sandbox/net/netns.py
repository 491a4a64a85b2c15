"""Network namespaces the sandbox owns: created, wired, listed and removed by name prefix.

Every namespace the data plane makes is named ``<prefix>-<role>`` where the prefix carries the
sandbox's identity (a hash of its state directory), so two sandboxes on one machine never touch
each other's namespaces and ``remove_all`` finds exactly its own, even after a crash.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import subprocess

NETNS_DIR = pathlib.Path("/run/netns")
# Interface names are at most 15 characters (IFNAMSIZ - 1).
IFNAME_MAX = 15


class NetnsUnavailable(RuntimeError):
    """The machine cannot give the sandbox network namespaces (not root, or no ``ip``)."""


def identity(state_dir: pathlib.Path) -> str:
    """A short, stable name part for the sandbox living in ``state_dir``."""
    return hashlib.sha256(str(pathlib.Path(state_dir).resolve()).encode()).hexdigest()[:6]


def missing_requirements(binaries=("ip",)) -> list[str]:
    """What stops this process from building namespaces, in words a user can act on."""
    problems = []
    if os.geteuid() != 0:
        problems.append("network namespaces need root (run the sandbox as root, e.g. in a container)")
    for binary in binaries:
        if shutil.which(binary) is None:
            problems.append(f"{binary} is not installed")
    return problems


def run(argv, check=True, timeout=30):
    """Run a command, returning its stdout; a failure names the command and what it printed."""
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()}")
    return proc.stdout


class Namespaces:
    """The namespaces of one sandbox, by role."""

    def __init__(self, prefix: str):
        if len(prefix) > 16 or not prefix.replace("-", "").isalnum():
            raise ValueError(f"namespace prefix {prefix!r}: use up to 16 letters, digits and '-'")
        self.prefix = prefix

    def name(self, role: str) -> str:
        return f"{self.prefix}-{role}"

    def exists(self, role: str) -> bool:
        return (NETNS_DIR / self.name(role)).exists()

    def add(self, role: str, forwarding=False) -> str:
        name = self.name(role)
        if not self.exists(role):
            run(["ip", "netns", "add", name])
        self.ip(role, "link", "set", "lo", "up")
        if forwarding:
            self.sysctl(role, "net.ipv4.ip_forward", "1")
        return name

    def ip(self, role: str, *args, check=True) -> str:
        return run(["ip", "-n", self.name(role), *args], check=check)

    def sysctl(self, role: str, key: str, value: str) -> None:
        run(["ip", "netns", "exec", self.name(role), "sysctl", "-qw", f"{key}={value}"])

    def exec_argv(self, role: str, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name(role), *argv]

    def veth(self, role_a: str, if_a: str, role_b: str, if_b: str) -> None:
        """A veth pair from ``role_a`` (``if_a``) to ``role_b`` (``if_b``), both up, checksums
        computed in full (a partially checksummed packet would not survive a userspace hop)."""
        for ifname in (if_a, if_b):
            if len(ifname) > IFNAME_MAX:
                raise ValueError(f"interface name {ifname!r} is longer than {IFNAME_MAX} characters")
        if if_a in self.links(role_a):
            return
        self.ip(role_a, "link", "add", if_a, "type", "veth", "peer", "name", if_b, "netns", self.name(role_b))
        self.ip(role_a, "link", "set", if_a, "up")
        self.ip(role_b, "link", "set", if_b, "up")

    def links(self, role: str) -> list[str]:
        out = self.ip(role, "-o", "link", "show", check=False)
        return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line]

    def owned(self) -> list[str]:
        """Every namespace on the machine carrying this sandbox's prefix."""
        if not NETNS_DIR.is_dir():
            return []
        return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(self.prefix + "-"))

    def pids(self, name: str) -> list[int]:
        out = run(["ip", "netns", "pids", name], check=False)
        return [int(p) for p in out.split() if p.isdigit()]

    def remove_all(self) -> list[str]:
        """Delete every namespace of this sandbox (and kill what still runs in them)."""
        removed = []
        for name in self.owned():
            for pid in self.pids(name):
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            run(["ip", "netns", "del", name], check=False)
            removed.append(name)
        return removed
