"""One IPsec tunnel endpoint: a strongSwan charon in a namespace of its own, ESP in userspace.

The machine's kernel has XFRM but no ESP, so every charon runs the ``kernel-libipsec`` plugin:
ESP in UDP (port 4500, ``encap``) and a TUN device ``ipsec0`` carrying the decrypted traffic. One
charon serves one tunnel, so its TUN device is that tunnel's interface: the mesh moves it into the
gateway's namespace, where BGP runs over it. Each charon gets its own ``strongswan.conf`` (log,
vici socket) and, since its pid file path is fixed, its own ``/run`` bind-mounted in a private
mount namespace. Configuration and state go through the vici socket (the official ``vici``
Python binding); why a tunnel is down is read from charon's log, in the words IKE uses
(``AUTHENTICATION_FAILED``, ``NO_PROPOSAL_CHOSEN``), since charon does not retry after them.
"""

from __future__ import annotations

import contextlib
import pathlib
import re
import shutil
import socket
import subprocess
import time

CHARON = pathlib.Path("/usr/lib/ipsec/charon")
PLUGIN_DIR = pathlib.Path("/usr/lib/ipsec/plugins")
PLUGINS = (
    "random nonce openssl pem pkcs1 x509 pubkey socket-default kernel-libipsec kernel-netlink vici "
    "hmac aes sha1 sha2 gcm kdf"
)
IKE_PROPOSALS = ["aes256-sha256-modp2048", "aes128-sha256-modp2048"]
ESP_PROPOSALS = ["aes256gcm16", "aes128gcm16"]
# What charon logs when a negotiation fails, mapped to the reason the clouds' status reports, the
# most telling first.
FAILURES = (
    (re.compile(r"AUTHENTICATION_FAILED|MAC mismatched|no shared key found"), "AUTHENTICATION_FAILED"),
    (re.compile(r"NO_PROPOSAL_CHOSEN|no IKE config found|no matching proposal"), "NO_PROPOSAL_CHOSEN"),
    (re.compile(r"giving up after \d+ retransmits"), "PEER_UNREACHABLE"),
)


def missing() -> list[str]:
    problems = []
    if not CHARON.exists():
        problems.append(f"{CHARON} is missing (Debian packages strongswan-charon and libcharon-extra-plugins)")
    elif PLUGIN_DIR.is_dir():
        # Without one of these charon still starts, and every negotiation fails later ("configured DH
        # group MODP_2048 not supported" when openssl is missing).
        absent = [p for p in PLUGINS.split() if not (PLUGIN_DIR / f"libstrongswan-{p}.so").exists()]
        if absent:
            problems.append(
                f"strongSwan plugins {', '.join(absent)} are missing from {PLUGIN_DIR} (Debian packages "
                "libstrongswan-standard-plugins and libcharon-extra-plugins)"
            )
    if shutil.which("unshare") is None:
        problems.append("unshare is missing (util-linux)")
    try:
        import vici  # noqa: F401, PLC0415
    except ImportError:
        problems.append("the Python package vici is missing")
    return problems


class Charon:
    """The charon of one tunnel endpoint in namespace ``netns_name``."""

    def __init__(self, netns_argv, workdir: pathlib.Path, name: str, local: str, remote: str):
        self.netns_argv = netns_argv  # prefix that runs a command inside the endpoint's namespace
        self.dir = pathlib.Path(workdir)
        self.name = name
        self.local = local
        self.remote = remote
        self.proc: subprocess.Popen | None = None

    @property
    def vici_path(self) -> pathlib.Path:
        return self.dir / "charon.vici"

    @property
    def log_path(self) -> pathlib.Path:
        return self.dir / "charon.log"

    def _conf(self) -> str:
        return (
            "charon {\n"
            f"  load = {PLUGINS}\n"
            "  install_routes = no\n"
            "  install_virtual_ip = no\n"
            "  retransmit_tries = 3\n"
            "  retransmit_timeout = 1.0\n"
            "  retransmit_base = 1.4\n"
            f"  plugins {{\n    vici {{\n      socket = unix://{self.vici_path}\n    }}\n  }}\n"
            f"  filelog {{\n    main {{\n      path = {self.log_path}\n"
            "      default = 1\n      ike = 1\n      flush_line = yes\n    }\n  }\n"
            "}\n"
        )

    def start(self, timeout=10.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        (self.dir / "run").mkdir(parents=True, exist_ok=True)
        (self.dir / "strongswan.conf").write_text(self._conf())
        self.log_path.write_text("")
        self.vici_path.unlink(missing_ok=True)
        script = f"mount --bind {self.dir / 'run'} /run && exec {CHARON}"
        env = {"STRONGSWAN_CONF": str(self.dir / "strongswan.conf"), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        with open(self.dir / "stdout.log", "ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - argv built by the sandbox itself
                [*self.netns_argv, "unshare", "-m", "sh", "-c", script],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=False,
            )
        deadline = time.monotonic() + timeout
        while not self.vici_path.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"charon for {self.name} exited ({self.proc.returncode}); see {self.dir}/stdout.log")
            if time.monotonic() > deadline:
                raise TimeoutError(f"charon for {self.name} opened no vici socket in {timeout:.0f}s")
            time.sleep(0.05)

    @contextlib.contextmanager
    def session(self):
        import vici  # noqa: PLC0415

        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(10)
        sock.connect(str(self.vici_path))
        try:
            yield vici.Session(sock)
        finally:
            sock.close()

    def configure(self, psk: str, ike_version: int = 2) -> None:
        """Load (or replace) the tunnel's connection and key; the log starts afresh so the next
        failure read from it is this configuration's."""
        conn = {
            "version": str(ike_version),
            "local_addrs": [self.local],
            "remote_addrs": [self.remote],
            "encap": "yes",
            "proposals": IKE_PROPOSALS,
            "dpd_delay": "2s",
            # Retry for ever while the peer is unreachable (a cut region comes back); after an
            # authentication failure charon stops, as the clouds' tunnels stay down until fixed.
            "keyingtries": "0",
            "rekey_time": "4h",
            "local-1": {"auth": "psk", "id": self.local},
            "remote-1": {"auth": "psk", "id": self.remote},
            "children": {
                self.name: {
                    "local_ts": ["0.0.0.0/0"],
                    "remote_ts": ["0.0.0.0/0"],
                    "esp_proposals": ESP_PROPOSALS,
                    "dpd_action": "restart",
                    "start_action": "none",
                }
            },
        }
        with self.session() as s:
            if self.sas(s):
                for _ in s.terminate({"ike": self.name, "timeout": "-1", "force": "yes"}):
                    pass
            s.load_shared({"id": f"psk-{self.name}", "type": "IKE", "data": psk, "owners": [self.local, self.remote]})
            s.load_conn({self.name: conn})
        self.log_path.write_text("")

    def initiate(self) -> None:
        """Start negotiating without waiting for the result (the peer may not be up yet)."""
        with self.session() as s:
            for _ in s.initiate({"child": self.name, "ike": self.name, "timeout": "-1", "init-limits": "no"}):
                pass

    def sas(self, session=None) -> dict:
        def read(s):
            out = {}
            for item in s.list_sas({"ike": self.name}):
                out.update(item)
            return out

        if session is not None:
            return read(session)
        with self.session() as s:
            return read(s)

    def status(self) -> dict:
        """``{"state": "UP"|"DOWN", "reason": str|None, "bytes_in", "bytes_out"}``."""
        if self.proc is None or self.proc.poll() is not None:
            return {"state": "DOWN", "reason": "STOPPED", "bytes_in": 0, "bytes_out": 0}
        try:
            sas = self.sas()
        except OSError:
            return {"state": "DOWN", "reason": "STOPPED", "bytes_in": 0, "bytes_out": 0}
        children = [
            child
            for ike in sas.values()
            if ike.get("state") == b"ESTABLISHED"
            for child in (ike.get("child-sas") or {}).values()
            if child.get("state") == b"INSTALLED"
        ]
        if children:
            # Both ends may initiate at once: every installed CHILD_SA carries part of the traffic.
            return {
                "state": "UP",
                "reason": None,
                "bytes_in": sum(int(c.get("bytes-in", b"0")) for c in children),
                "bytes_out": sum(int(c.get("bytes-out", b"0")) for c in children),
            }
        return {"state": "DOWN", "reason": self.failure() or "NEGOTIATING", "bytes_in": 0, "bytes_out": 0}

    def failure(self) -> str | None:
        """Why negotiation fails under the current configuration, as IKE names it: the most
        telling failure charon logged since it was configured (a peer that asked before this
        end was configured draws a passing NO_PROPOSAL_CHOSEN; a wrong key stays)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return None
        for pattern, reason in FAILURES:
            if pattern.search(text):
                return reason
        return None

    def stop(self, timeout=5.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self.proc = None
