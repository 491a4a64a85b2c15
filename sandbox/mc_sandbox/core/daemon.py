"""The sandbox daemon: one process hosting the emulated clouds and supervising Kubernetes.

`mc-sandbox up` starts it in a session of its own; it writes `endpoints.yml` (every endpoint,
CA bundle and credential, mode 0600) and `daemon.json` in the state directory, and serves a small
admin API on loopback that the CLI uses for status, faults, reset and shutdown. Every request that
changes something (faults, reset, shutdown) needs the `admin_token` of endpoints.yml as a bearer
token; without it the answer is 401 and nothing changes.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import pathlib
import random
import secrets
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

from mc_sandbox.clouds.aws.server import AwsCloud
from mc_sandbox.clouds.azure.server import AzureCloud
from mc_sandbox.clouds.cloudflare.server import CloudflareCloud
from mc_sandbox.clouds.gcp.server import GcpCloud
from mc_sandbox.core import config
from mc_sandbox.core.clock import Clock
from mc_sandbox.core.faults import FaultManager, FaultRule, ProvisioningFailure
from mc_sandbox.core.files import write_file
from mc_sandbox.core.httpjson import read_json, reply_json
from mc_sandbox.core.procs import LOOPBACK
from mc_sandbox.core.provider import provider_options
from mc_sandbox.core.runtime import CloudContext
from mc_sandbox.core.serving import serve_in_thread, stop_server
from mc_sandbox.k8s.control_planes import KubeManager
from mc_sandbox.k8s.load_balancers import LoadBalancerController
from mc_sandbox.k8s.pki import sandbox_tls
from mc_sandbox.net.fabric import VpnFabric

log = logging.getLogger(__name__)

ENDPOINTS = "endpoints.yml"
DAEMON = "daemon.json"
# The emulated clouds, each a runtime.Cloud: the section of endpoints.yml it writes is its name.
CLOUDS = {"aws": AwsCloud, "gcp": GcpCloud, "azure": AzureCloud, "cloudflare": CloudflareCloud}


class Sandbox:
    def __init__(self, state: pathlib.Path, binary: pathlib.Path, kwok_config: pathlib.Path, time_factor: float):
        self.state = state
        self.time_factor = time_factor
        self.started = time.time()
        seed = config.fault_seed()
        self.faults = FaultManager(rng=None if seed is None else random.Random(seed))  # noqa: S311
        self.kube = KubeManager(state, binary, kwok_config, self.faults)
        self.lbs = LoadBalancerController(self.faults)
        self.kube.on_cluster_change(self.lbs.on_cluster_change)
        self.tls = sandbox_tls(state / "pki")
        self.vpn = VpnFabric(state, self.faults)
        self.clock = Clock()
        shared = {"vpn": self.vpn, "clock": self.clock}
        self.clouds = {
            name: cls(CloudContext(self.faults, self.kube, time_factor, state / "clouds" / name, self.tls, **shared))
            for name, cls in CLOUDS.items()
        }
        self.stopped = threading.Event()  # set once everything has stopped
        self._stopping = threading.Event()
        self._admin: ThreadingHTTPServer | None = None
        self.admin_token = secrets.token_urlsafe(32)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        self.kube.start()
        self.vpn.start()
        sections = {name: cloud.start() for name, cloud in self.clouds.items()}
        self._admin = ThreadingHTTPServer((LOOPBACK, 0), self._admin_handler())
        self._admin.daemon_threads = True
        self._admin_thread = serve_in_thread(self._admin, "admin")
        admin_url = f"http://{LOOPBACK}:{self._admin.server_address[1]}"
        endpoints = {
            "admin_url": admin_url,
            "admin_token": self.admin_token,
            "state_dir": str(self.state),
            "time_factor": self.time_factor,
            "kubernetes_version": self.kube.git_version,
            "ca_bundle": str(self.tls.ca),
            **sections,
        }
        endpoints["provider_options"] = provider_options(endpoints)
        write_file(self.state / ENDPOINTS, yaml.safe_dump(endpoints, sort_keys=False), private=True)
        daemon = {
            "pid": os.getpid(),
            "pgid": os.getpgid(0),
            "admin_url": admin_url,
            "started": self.started,
            "binary": str(self.kube.binary),
        }
        (self.state / DAEMON).write_text(json.dumps(daemon))
        log.info("sandbox up: admin %s, clouds %s", admin_url, ", ".join(self.clouds))
        threading.Thread(target=self._watch_state, name="state-watch", daemon=True).start()

    def _watch_state(self) -> None:
        """Stop when our record disappears (state directory deleted): no orphaned sandbox."""
        while not self._stopping.wait(2.0):
            if not (self.state / DAEMON).exists():
                log.warning("%s vanished: stopping", self.state / DAEMON)
                self.stop()
                return

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        started = time.monotonic()
        steps = [*(cloud.stop for cloud in self.clouds.values()), self.vpn.stop, self.lbs.stop, self.kube.stop]
        for step in steps:
            try:
                step()
            except Exception:
                log.exception("while stopping the sandbox")
        if self._admin is not None:
            stop_server(self._admin, self._admin_thread)
        log.info("stopped every process in %.1fs", time.monotonic() - started)
        self.stopped.set()

    def reset(self) -> None:
        """Empty every cloud (and stop every cluster); faults and counters start afresh."""
        for cloud in self.clouds.values():
            cloud.reset()
        self.vpn.reset()
        self.clock.reset()
        for key in list(self.kube.clusters):
            cloud, region, name = key.split("/", 2)
            self.kube.delete_cluster(cloud, region, name)
        self.faults.clear()
        self.faults.requests.clear()
        self.faults.injected.clear()
        self.faults.provisioning_failed.clear()

    def status(self) -> dict:
        return {
            "running": True,
            "pid": os.getpid(),
            "uptime_seconds": round(time.time() - self.started, 1),
            "state_dir": str(self.state),
            "time_factor": self.time_factor,
            "clock_offset_seconds": self.clock.offset,
            "clouds": {name: cloud.status() for name, cloud in self.clouds.items()},
            "kubernetes": self.kube.status(),
            "load_balancers": self.lbs.status(),
            "vpn": self.vpn.snapshot(),
            "faults": self.faults.snapshot(),
        }

    # ------------------------------------------------------------------ admin API
    def _admin_handler(self):
        sandbox = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: dict) -> None:
                reply_json(self, status, body)

            def do_GET(self):
                if self.path == "/health":  # liveness, for the CLI's polling
                    self._reply(200, {"ok": True})
                elif self.path == "/status":
                    self._reply(200, sandbox.status())
                else:
                    self._reply(404, {"error": f"no such path {self.path}"})

            def _authorized(self) -> bool:
                """Whether the request carries the admin token; if not, it is answered 401."""
                scheme, _, token = self.headers.get("Authorization", "").partition(" ")
                if scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), sandbox.admin_token.encode()):
                    return True
                self.rfile.read(int(self.headers.get("Content-Length") or 0))  # unread, it would reset the connection
                reply_json(
                    self,
                    401,
                    {"error": f"{self.command} {self.path} needs the admin_token of {ENDPOINTS} as a bearer token"},
                    headers={"WWW-Authenticate": "Bearer"},
                )
                return False

            def do_POST(self):
                if not self._authorized():
                    return
                try:
                    body = read_json(self)
                    if self.path == "/faults":
                        rule = sandbox.faults.add_rule(FaultRule(**body))
                        self._reply(200, {"rule": rule.__dict__})
                    elif self.path == "/faults/fail-create":
                        rule = sandbox.faults.add_provisioning_failure(ProvisioningFailure(**body))
                        self._reply(200, {"provisioning_failure": rule.__dict__})
                    elif self.path == "/faults/region-down":
                        sandbox.faults.region_down(body["cloud"], body["region"])
                        self._reply(200, sandbox.faults.snapshot())
                    elif self.path == "/clock":
                        offset = sandbox.clock.advance(body.get("advance_seconds"))
                        self._reply(200, {"offset_seconds": offset})
                    elif self.path == "/reset":
                        sandbox.reset()
                        self._reply(200, {"reset": True})
                    elif self.path == "/shutdown":
                        self._reply(200, {"stopping": True})
                        threading.Thread(target=sandbox.stop, daemon=True).start()
                    else:
                        self._reply(404, {"error": f"no such path {self.path}"})
                except (TypeError, ValueError, KeyError) as exc:
                    self._reply(400, {"error": str(exc)})

            def do_DELETE(self):
                if not self._authorized():
                    return
                if self.path == "/faults":
                    sandbox.faults.clear()
                    self._reply(200, sandbox.faults.snapshot())
                else:
                    self._reply(404, {"error": f"no such path {self.path}"})

            def log_message(self, format, *args):
                log.debug("admin: " + format, *args)

        return Handler


def serve(binary: pathlib.Path, kwok_config: pathlib.Path) -> None:
    """Run the daemon until SIGTERM/SIGINT or an admin shutdown."""
    state = config.state_dir()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sandbox = Sandbox(state, binary, kwok_config, config.time_factor())

    def on_signal(signum, _frame):
        log.info("signal %s: stopping", signum)
        threading.Thread(target=sandbox.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        sandbox.start()
    except Exception:
        log.exception("sandbox failed to start")
        sandbox.stop()
        raise
    sandbox.stopped.wait()
    for name in (ENDPOINTS, DAEMON):
        (state / name).unlink(missing_ok=True)
    log.info("sandbox stopped")
