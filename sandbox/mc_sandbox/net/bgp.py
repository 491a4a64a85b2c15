"""BGP of one gateway: a BIRD 2 daemon in the gateway's namespace, one session per tunnel.

Each session is eBGP straight over the tunnel's interface (the /30 inside addresses), so a route
learned over a tunnel has that tunnel as next hop, the kernel gets every tunnel's route merged as
ECMP, and losing one tunnel only removes its next hop. The gateway announces its VPC ranges (the
addresses on its ``vpc`` link). State and learned prefixes are read back with ``birdc``, in
BIRD's own words (``Established``, ``Connect``, ``Active``; last error ``Bad peer AS``).
"""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import time

BIRD = "bird"
BIRDC = "birdc"
HOLD_TIME = 9
KEEPALIVE = 3
CONNECT_RETRY = 2


def missing() -> list[str]:
    return [f"{b} is missing (Debian package bird2)" for b in (BIRD, BIRDC) if shutil.which(b) is None]


def render(router_id: str, asn: int, sessions: list[dict], vpc_ifname: str = "vpc") -> str:
    """BIRD's configuration: ``sessions`` is a list of ``{"name", "ifname", "local", "remote",
    "peer_asn"}``; names are tunnel protocol names (letters, digits, '_')."""
    lines = [
        f"router id {router_id};",
        "protocol device { scan time 1; }",
        f'protocol direct vpc {{ ipv4; interface "{vpc_ifname}"; }}',
        "protocol kernel {",
        "  ipv4 { import none; export where source = RTS_BGP; };",
        "  merge paths on;",
        "}",
    ]
    for session in sessions:
        lines += [
            f"protocol bgp {session['name']} {{",
            f"  local {session['local']} as {int(asn)};",
            f"  neighbor {session['remote']} as {int(session['peer_asn'])};",
            f'  interface "{session["ifname"]}";',
            "  direct;",
            f"  hold time {HOLD_TIME}; keepalive time {KEEPALIVE}; connect retry time {CONNECT_RETRY};",
            "  error wait time 1, 4;",
            '  ipv4 { import where net !~ [ 169.254.0.0/16+ ]; export where proto = "vpc"; next hop self; };',
            "}",
        ]
    return "\n".join(lines) + "\n"


class Bird:
    """The BIRD of one gateway namespace."""

    def __init__(self, netns_argv, workdir: pathlib.Path):
        self.netns_argv = netns_argv
        self.dir = pathlib.Path(workdir)
        self.conf = self.dir / "bird.conf"
        self.ctl = self.dir / "bird.ctl"
        self.pidfile = self.dir / "bird.pid"

    def running(self) -> bool:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return False
        return pathlib.Path(f"/proc/{pid}").exists()

    def apply(self, text: str) -> None:
        """Write the configuration and start BIRD, or make the running one reload it."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.conf.exists() and self.conf.read_text() == text and self.running():
            return
        self.conf.write_text(text)
        if self.running():
            out = self.birdc("configure", f'"{self.conf}"')
            if "Reconfigured" not in out and "Reconfiguration in progress" not in out:
                raise RuntimeError(f"BIRD refused its configuration: {out.strip()}")
            return
        subprocess.run(  # noqa: S603 - argv built by the sandbox itself
            [*self.netns_argv, BIRD, "-c", str(self.conf), "-s", str(self.ctl), "-P", str(self.pidfile)],
            check=True,
            capture_output=True,
            timeout=10,
        )
        deadline = time.monotonic() + 5
        while not self.ctl.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def birdc(self, *args: str) -> str:
        argv = [BIRDC, "-s", str(self.ctl), *args]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)  # noqa: S603
        return proc.stdout

    def session(self, name: str) -> dict:
        """``{"state", "last_error", "routes"}`` of one tunnel's BGP session."""
        out = self.birdc("show", "protocols", "all", name)
        state = re.search(r"BGP state:\s+(\S+)", out)
        error = re.search(r"Last error:\s+(.+)", out)
        routes = self.birdc("show", "route", "protocol", name)
        prefixes = sorted(set(re.findall(r"^(\d+\.\d+\.\d+\.\d+/\d+)", routes, re.MULTILINE)))
        return {
            "state": state.group(1) if state else "Down",
            "last_error": error.group(1).strip() if error else None,
            "routes": prefixes,
        }

    def stop(self) -> None:
        if self.running():
            self.birdc("down")
            deadline = time.monotonic() + 5
            while self.running() and time.monotonic() < deadline:
                time.sleep(0.05)
        self.pidfile.unlink(missing_ok=True)
