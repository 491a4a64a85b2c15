"""Child processes of the sandbox daemon, and the loopback ports they listen on.

The daemon runs in a session of its own, so every process it starts shares its process group:
`down` signals the group and then checks, through /proc, that no member is left.
"""

from __future__ import annotations

import logging
import os
import pathlib
import signal
import socket
import subprocess
import threading
import time

log = logging.getLogger(__name__)
LOOPBACK = "127.0.0.1"
_port_lock = threading.Lock()
_handed_out: set[int] = set()


def free_port(host: str = LOOPBACK) -> int:
    """A loopback TCP port nothing listens on and that this process has not handed out yet."""
    with _port_lock:
        for _attempt in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind((host, 0))
                port = sock.getsockname()[1]
            if port not in _handed_out:
                _handed_out.add(port)
                return port
    raise RuntimeError("no free loopback port")


def wait_for_port(port: int, timeout: float, host: str = LOOPBACK) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f}s") from None
            time.sleep(0.1)


class Process:
    """One long-running child: its command line, log file and Popen."""

    def __init__(self, name: str, argv: list[str], log: pathlib.Path, env: dict | None = None):
        self.name = name
        self.argv = argv
        self.log = log
        self.env = env
        self.popen: subprocess.Popen | None = None

    def start(self) -> Process:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(  # noqa: S603 - argv built by the sandbox itself
                self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env
            )
        return self

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        stop_all([self], timeout)


def stop_all(processes: list[Process], timeout: float = 10.0) -> None:
    """SIGTERM every process at once, then SIGKILL whatever is still running after `timeout`."""
    running = [p for p in processes if p.alive()]
    for process in running:
        process.popen.terminate()
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.popen.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.info("%s still running %.0fs after SIGTERM; killing it", process.name, timeout)
            process.popen.kill()
            process.popen.wait(5)


def group_members(pgid: int) -> list[int]:
    """PIDs of the live processes in process group `pgid` (zombies excluded)."""
    members = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name is in parentheses and may contain spaces: split after the last ')'
        fields = stat.rsplit(")", 1)[1].split()
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            members.append(int(entry.name))
    return sorted(members)


def stop_group(pgid: int, timeout: float = 20.0) -> list[int]:
    """SIGTERM the group, SIGKILL what is left after `timeout`; return PIDs that survived."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        if not group_members(pgid):
            return []
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return []
        deadline = time.monotonic() + wait
        while group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
    return group_members(pgid)
