"""Cloudflare health monitors that really probe: what pool health and the edge report.

`HealthProber` probes, for every pool that has a monitor, each *enabled* origin with the
monitor's request and records the verdict with `CloudflareStore.set_origin_health`, which is
what `GET .../pools/{id}/health` answers and what the edge (`dataplane.Edge`) steers by.

The request: `<type>://<address>[:<port>]<path>` (type `http` or `https`, port left out when the
monitor's is 0), the monitor's `method`, its `header` (`{name: [values]}`, the first value of
each) and the origin's own `header` (e.g. `Host`) on top, a `User-Agent` naming the pool, and the
monitor's `timeout`. The response passes when its status matches `expected_codes` (exact codes
such as `"200"`, classes such as `"2xx"`, several separated by commas or spaces) and, when the
monitor has an `expected_body`, its first 64 KiB contain it (case-insensitively). Redirects
(3xx) are followed with `follow_redirects`, at most 5, and only while they point at the same
origin (a probe never reaches any other host); without it a 3xx is judged as a status like any
other. `https` monitors verify the origin's certificate (against the system's and the sandbox's
CA) unless `allow_insecure`. `tcp` monitors pass when a TCP connection to the port opens; the
other types (`udp_icmp`, `icmp_ping`, `smtp`) are not probed and their origins stay healthy.

Timing: a monitor's `interval` and `timeout` are Cloudflare seconds, scaled by the sandbox's time
factor (`mc_sandbox.core.config.scaled`) and floored at `MIN_INTERVAL` (0.2 s) and `MIN_TIMEOUT`
(0.5 s) of real time, so a high time factor cannot make the prober spin or every probe time out.
An origin is first probed one interval after the prober first sees it, then every interval (a
probe still running when the next is due delays it; probes of one origin never overlap).

Verdicts (every origin starts healthy): an origin turns unhealthy when `consecutive_down`
consecutive probes fail, or, when the monitor's `consecutive_down` is 0 (the default),
`retries + 1` consecutive probes (Cloudflare's `retries` is the number of retries before an origin
is marked unhealthy); it turns healthy again after `consecutive_up` consecutive successes (1 when
0, the default). So with the defaults (retries 2) an origin that stops answering is unhealthy
about 3 intervals after its last success. The reason recorded is what the last probe saw:
`"HTTP 503"`, `"connection refused"`, `"timeout"`, `"response body did not contain the expected
body"`, `"TLS error: ..."`. The store is only written when a verdict changes.

Origins of a pool without a monitor are healthy (the prober forgets what it said about them);
disabled origins are not probed (the edge never sends them traffic whatever their health says).
In the sandbox the origins are the loopback addresses of LoadBalancer Services' responders
(`mc_sandbox.k8s.load_balancers`), which stop listening while their region is down: a downed
region shows up as `connection refused` and fails over.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import re
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from mc_sandbox.clouds.cloudflare.errors import ApiError
from mc_sandbox.core.config import scaled

log = logging.getLogger(__name__)

MIN_INTERVAL = 0.2  # real seconds between two probes of one origin, at least
MIN_TIMEOUT = 0.5  # real seconds a probe may take, at least
MAX_PROBES = 16  # probes running at once, over all pools
MAX_REDIRECTS = 5
BODY_LIMIT = 64 * 1024
TICK = 0.05  # how often the scheduler looks for due probes and changed pools
PROBED_TYPES = ("http", "https", "tcp")
_CODES = re.compile(r"^([1-5])(xx|\d\d)$", re.IGNORECASE)


def probe_timing(monitor: dict, time_factor: float) -> tuple[float, float]:
    """(interval, timeout) in real seconds for a monitor (see the module docstring)."""
    interval = max(MIN_INTERVAL, scaled(float(monitor.get("interval") or 60), time_factor))
    timeout = max(MIN_TIMEOUT, scaled(float(monitor.get("timeout") or 5), time_factor))
    return interval, timeout


def thresholds(monitor: dict) -> tuple[int, int]:
    """(consecutive failures that make an origin unhealthy, consecutive successes that make it healthy)."""
    down = int(monitor.get("consecutive_down") or 0) or int(monitor.get("retries") or 0) + 1
    up = int(monitor.get("consecutive_up") or 0) or 1
    return down, up


def codes_match(expected: str, status: int) -> bool:
    """Whether `status` is one of `expected` ("200", "2xx", "200,301", "2xx 3xx")."""
    for code in re.split(r"[\s,]+", (expected or "").strip()):
        found = _CODES.match(code)
        if not found:
            continue
        if found.group(2).lower() == "xx":
            if status // 100 == int(found.group(1)):
                return True
        elif status == int(code):
            return True
    return False


def _first_values(header: dict | None) -> dict[str, str]:
    """{name: [values]} as the headers of one request (the first value of each)."""
    headers = {}
    for name, values in (header or {}).items():
        if isinstance(values, list) and values:
            headers[str(name)] = str(values[0])
        elif isinstance(values, str):
            headers[str(name)] = values
    return headers


def probe(
    address: str,
    monitor: dict,
    timeout: float,
    *,
    origin_header: dict | None = None,
    pool_id: str = "",
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[bool, str]:
    """One probe of one origin: (passed, reason); the reason is "" when it passed."""
    kind = monitor.get("type") or "http"
    port = int(monitor.get("port") or 0) or None
    try:
        if kind == "tcp":
            with socket.create_connection((address, port or 80), timeout=timeout):
                return True, ""
        return _probe_http(
            address, port, monitor, timeout, origin_header=origin_header, pool_id=pool_id, ssl_context=ssl_context
        )
    except ConnectionRefusedError:
        return False, "connection refused"
    except TimeoutError:
        return False, "timeout"
    except ssl.SSLError as exc:
        return False, f"TLS error: {exc.reason or exc}"
    except (OSError, http.client.HTTPException) as exc:
        return False, f"connection failed: {exc.__class__.__name__}: {exc}".rstrip(": ")


def _probe_http(address, port, monitor, timeout, *, origin_header, pool_id, ssl_context) -> tuple[bool, str]:
    https = monitor.get("type") == "https"
    if https and ssl_context is None:
        ssl_context = ssl.create_default_context()
    if https and monitor.get("allow_insecure"):
        ssl_context = ssl.create_default_context()
        ssl_context.check_hostname = False
        ssl_context.verify_mode = ssl.CERT_NONE
    headers = {
        "User-Agent": f"Mozilla/5.0 (compatible; Cloudflare-Traffic-Manager/1.0; mc-sandbox; pool-id: {pool_id})",
        "Accept": "*/*",
        **_first_values(monitor.get("header")),
        **_first_values(origin_header),
    }
    method = (monitor.get("method") or "GET").upper()
    path = monitor.get("path") or "/"
    if not path.startswith("/"):
        path = "/" + path
    deadline = time.monotonic() + timeout
    for _hop in range(MAX_REDIRECTS + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False, "timeout"
        if https:
            connection = http.client.HTTPSConnection(address, port, timeout=remaining, context=ssl_context)
        else:
            connection = http.client.HTTPConnection(address, port, timeout=remaining)
        try:
            connection.request(method, path, headers=headers)
            response = connection.getresponse()
            body = response.read(BODY_LIMIT) if method != "HEAD" else b""
            status, location = response.status, response.getheader("Location")
        finally:
            connection.close()
        if monitor.get("follow_redirects") and 300 <= status < 400 and location:
            target = urlsplit(location)
            if target.hostname and (target.hostname != address or (target.port or None) not in (None, port)):
                return False, f"HTTP {status}: redirect away from the origin ({target.hostname})"
            path = (target.path or "/") + (f"?{target.query}" if target.query else "")
            continue
        if not codes_match(monitor.get("expected_codes") or "200", status):
            return False, f"HTTP {status}"
        expected = monitor.get("expected_body") or ""
        if expected and expected.lower() not in body.decode("utf-8", "replace").lower():
            return False, "response body did not contain the expected body"
        return True, ""
    return False, f"HTTP {status}: more than {MAX_REDIRECTS} redirects"


@dataclass
class _Origin:
    """What the prober knows of one (pool, address)."""

    due: float
    healthy: bool = True
    failures: int = 0
    successes: int = 0
    reason: str = ""
    probes: int = 0
    running: bool = False
    last_probe: float | None = None


class HealthProber:
    """Probes the origins of every monitored pool of a `CloudflareStore` on background threads.

    `start()` starts one scheduler thread and a pool of at most `max_probes` probe threads;
    `stop()` stops and joins them (probes are bounded by their timeout); `reset()` forgets every
    verdict (the store's health is cleared by its own reset).
    """

    def __init__(
        self,
        store,
        *,
        time_factor: float,
        max_probes: int = MAX_PROBES,
        ca_file: str | None = None,
        name: str = "mc-sandbox-cloudflare-prober",
    ):
        self.store = store
        self.time_factor = time_factor
        self.max_probes = max_probes
        self.name = name
        self._ca_file = ca_file
        self._lock = threading.Lock()
        self._origins: dict[tuple[str, str], _Origin] = {}
        self._generation = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._ssl: ssl.SSLContext | None = None

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> None:
        if self._thread is not None:
            return
        self._ssl = ssl.create_default_context()
        if self._ca_file:
            try:
                self._ssl.load_verify_locations(cafile=self._ca_file)
            except OSError as exc:
                log.warning("health monitors cannot read the CA bundle %s: %s", self._ca_file, exc)
        self._stop.clear()
        self._executor = ThreadPoolExecutor(max_workers=self.max_probes, thread_name_prefix=f"{self.name}-probe")
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def reset(self) -> None:
        with self._lock:
            self._generation += 1
            self._origins.clear()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ---------------------------------------------------------------- the loop
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception:
                log.exception("health monitor round failed")
            self._stop.wait(TICK)

    def _tick(self) -> None:
        now = time.monotonic()
        seen: set[tuple[str, str]] = set()
        due: list[tuple[int, tuple[str, str], dict, dict, float]] = []
        unmonitored: list[tuple[str, str]] = []
        plan = self.store.monitored_pools()
        with self._lock:
            generation = self._generation
            for pool, monitor in plan:
                pool_id = pool["id"]
                probed = monitor is not None and monitor.get("type") in PROBED_TYPES
                for origin in pool.get("origins") or []:
                    key = (pool_id, origin["address"])
                    if not probed or not origin.get("enabled", True):
                        continue
                    seen.add(key)
                    interval, timeout = probe_timing(monitor, self.time_factor)
                    state = self._origins.get(key)
                    if state is None:
                        state = self._origins[key] = _Origin(due=now + interval)
                    if state.running or now < state.due:
                        continue
                    state.running = True
                    due.append((generation, key, monitor, origin, timeout))
            for key in [key for key in self._origins if key not in seen]:
                state = self._origins.pop(key)
                if not state.healthy:
                    unmonitored.append(key)
        for key in unmonitored:  # no longer probed (monitor gone, origin disabled): healthy again
            self._record(key, True, "")
        for generation, key, monitor, origin, timeout in due:
            try:
                self._executor.submit(self._probe, generation, key, monitor, origin, timeout)
            except RuntimeError:  # shutting down
                return

    def _probe(self, generation: int, key: tuple[str, str], monitor: dict, origin: dict, timeout: float) -> None:
        pool_id, address = key
        started = time.monotonic()
        try:
            passed, reason = probe(
                address,
                monitor,
                timeout,
                origin_header=origin.get("header"),
                pool_id=pool_id,
                ssl_context=self._ssl,
            )
        except Exception as exc:  # a probe never takes the prober down
            log.exception("probe of %s for pool %s failed", address, pool_id)
            passed, reason = False, f"probe failed: {exc}"
        interval, _timeout = probe_timing(monitor, self.time_factor)
        down, up = thresholds(monitor)
        change = None
        with self._lock:
            state = self._origins.get(key)
            if generation != self._generation or state is None:
                return
            state.running = False
            state.probes += 1
            state.last_probe = started
            state.due = max(started + interval, time.monotonic())
            if passed:
                state.failures, state.successes = 0, state.successes + 1
                if not state.healthy and state.successes >= up:
                    state.healthy = True
                    change = (True, "")
                if state.healthy:
                    state.reason = ""
            else:
                state.failures, state.successes = state.failures + 1, 0
                if state.healthy and state.failures >= down:
                    state.healthy = False
                    change = (False, reason)
                elif not state.healthy and reason != state.reason:
                    change = (False, reason)  # still unhealthy, for another reason now
                state.reason = reason
        if change is not None:
            verdict = "healthy" if change[0] else f"unhealthy ({change[1]})"
            log.info("origin %s of pool %s is %s", address, pool_id, verdict)
            self._record(key, *change)

    def _record(self, key: tuple[str, str], healthy: bool, reason: str) -> None:
        with contextlib.suppress(ApiError):  # the pool went meanwhile
            self.store.set_origin_health(key[0], key[1], healthy, reason)

    # ---------------------------------------------------------------- status
    def status(self) -> dict:
        """{pool id: {address: {healthy, reason, probes, failures}}} of the probed origins."""
        with self._lock:
            pools: dict[str, dict] = {}
            for (pool_id, address), state in sorted(self._origins.items()):
                pools.setdefault(pool_id, {})[address] = {
                    "healthy": state.healthy,
                    "reason": state.reason,
                    "probes": state.probes,
                    "consecutive_failures": state.failures,
                }
            return pools
