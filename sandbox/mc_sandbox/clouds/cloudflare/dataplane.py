"""Cloudflare's edge for the sandbox: one HTTP listener proxying every load balancer's hostname.

Like Cloudflare's anycast edge, one address (`Edge.url`, `edge_url` in endpoints.yml) serves every
load balancer of the zone: the request's `Host` header names the load balancer (port and trailing
dot ignored). No load balancer of that name: `404`; the load balancer disabled: `503`.

Where the client is comes from the `X-MC-Sandbox-Location` header (`mc_sandbox.core.geo`): a city
("New York", "tokyo"), a country code ("JP") or a region code ("WEU"); without it the client is
nowhere in particular and gets the default pools.

Steering (which pools, in which order) by the load balancer's `steering_policy`:

- `geo`: `pop_pools` are ignored (there are no PoPs here), then `country_pools[country]`, else
  `region_pools[region]`, else `default_pools`: the most specific list that exists for the client;
- `off` (what `""` is stored as): `default_pools`;
- `random`: `default_pools` in a random order, weighted by `random_steering.pool_weights`
  (`default_weight`, 1, for pools it does not name; weight 0 only after every other pool);
- `dynamic_latency`, `proximity`, `least_outstanding_requests`, `least_connections`:
  `default_pools` in order (every origin is on loopback, so there is no latency or distance to
  compare).

The first pool of that list that serves wins: a pool serves when it is enabled and at least
`minimum_origins` of its enabled origins are healthy (pool health, as the health monitors of
`monitors.HealthProber` set it). None serves: the `fallback_pool`, which (as on Cloudflare) serves
even when unhealthy, unless it is disabled (then `503`). The response says which:
`X-MC-Sandbox-Steering: steered` (the first pool of the list), `failover` (a later one) or
`fallback`.

Within the pool an origin is chosen at random, weighted by origin `weight` (weight 0 never), among
its enabled healthy origins (the fallback pool uses its enabled origins whatever their health when
none is healthy). The request goes to `http://<address>:<port>` with `port` the pool's monitor's
`port` when it sets one, else 80 (Cloudflare origins are hosts: the port of a real origin is the
one the monitor probes); the edge always speaks plain HTTP to origins. It carries the client's
method, path, query, body and headers minus hop-by-hop ones, `Host` the load balancer's hostname
(or the origin's `header.Host`), `X-Forwarded-For`, `X-Forwarded-Proto`, `X-Forwarded-Host`,
`CF-Connecting-IP`, `CF-IPCountry` and `CF-Ray`, with a timeout of `proxy_timeout` seconds for
connecting and for each read. The origin's status, headers (minus hop-by-hop) and body come back
with `X-MC-Sandbox-Pool: <pool name>`, `X-MC-Sandbox-Origin: <origin name, else its address>`,
`X-MC-Sandbox-Steering` and `X-MC-Sandbox-Region` (the client's region code, `-` when unknown).

An origin that cannot be reached answers `502` with those headers naming it (the request is not
retried on another origin, as Cloudflare answers its 52x errors) and the reason in
`X-MC-Sandbox-Error` and the body. Session affinity is not emulated, and a load balancer that is
not `proxied` is proxied all the same (the edge is how a test reaches it).
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import secrets
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mc_sandbox.core.geo import LOCATION_HEADER, locate
from mc_sandbox.core.serving import serve_in_thread, stop_server

log = logging.getLogger(__name__)

POOL_HEADER = "X-MC-Sandbox-Pool"
ORIGIN_HEADER = "X-MC-Sandbox-Origin"
STEERING_HEADER = "X-MC-Sandbox-Steering"
REGION_HEADER = "X-MC-Sandbox-Region"
ERROR_HEADER = "X-MC-Sandbox-Error"
DEFAULT_PROXY_TIMEOUT = 10.0
DEFAULT_PORT = 80
MAX_BODY = 16 * 1024 * 1024
CLIENT_TIMEOUT = 10  # seconds a client may take to send its request
HOP_BY_HOP = frozenset(
    ("connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
     "trailer", "trailers", "transfer-encoding", "upgrade")
)  # fmt: skip


class EdgeError(Exception):
    """An answer of the edge itself (no origin involved)."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


# ---------------------------------------------------------------------------- steering
def pool_serves(pool: dict, health: dict) -> bool:
    """Enabled, and at least `minimum_origins` of its enabled origins healthy."""
    if not pool.get("enabled", True):
        return False
    healthy = sum(
        1
        for origin in pool.get("origins") or []
        if origin.get("enabled", True) and health.get((pool["id"], origin["address"]), (True, ""))[0]
    )
    return healthy >= int(pool.get("minimum_origins") or 1)


def _weighted_order(pool_ids: list[str], weights: dict[str, float], rng: random.Random) -> list[str]:
    """`pool_ids` in a random order, heavier first more often; weight 0 only after all others."""
    left = list(dict.fromkeys(pool_ids))
    order = []
    while left:
        positive = [pool_id for pool_id in left if weights.get(pool_id, 1.0) > 0]
        if not positive:
            rng.shuffle(left)
            order.extend(left)
            break
        chosen = rng.choices(positive, weights=[weights.get(p, 1.0) for p in positive])[0]
        order.append(chosen)
        left.remove(chosen)
    return order


def candidates(lb: dict, location: dict, rng: random.Random) -> list[str]:
    """The pools a client at `location` is steered to, in failover order (see the module docstring)."""
    policy = lb.get("steering_policy") or "off"
    defaults = list(lb.get("default_pools") or [])
    if policy == "geo":
        country, region = location.get("country"), location.get("region")
        if country and (lb.get("country_pools") or {}).get(country):
            return list(lb["country_pools"][country])
        if region and (lb.get("region_pools") or {}).get(region):
            return list(lb["region_pools"][region])
        return defaults
    if policy == "random":
        steering = lb.get("random_steering") or {}
        default_weight = steering.get("default_weight", 1.0)
        pool_weights = steering.get("pool_weights") or {}
        weights = {pool_id: float(pool_weights.get(pool_id, default_weight)) for pool_id in defaults}
        return _weighted_order(defaults, weights, rng)
    return defaults


def choose_pool(lb: dict, pools: dict, health: dict, location: dict, rng: random.Random) -> tuple[dict, str]:
    """(pool, "steered" | "failover" | "fallback") for one request; EdgeError 503 when no pool can serve."""
    for index, pool_id in enumerate(candidates(lb, location, rng)):
        pool = pools.get(pool_id)
        if pool is not None and pool_serves(pool, health) and _usable(pool, health):
            return pool, "steered" if index == 0 else "failover"
    fallback = pools.get(lb.get("fallback_pool"))
    if fallback is None or not fallback.get("enabled", True):
        raise EdgeError(503, f"no pool of load balancer {lb['name']} can serve: every pool is down or disabled")
    return fallback, "fallback"


def _usable(pool: dict, health: dict) -> list[dict]:
    """Enabled origins with a weight above 0 that are healthy."""
    return [
        o
        for o in pool.get("origins") or []
        if o.get("enabled", True)
        and float(o.get("weight", 1)) > 0
        and health.get((pool["id"], o["address"]), (True, ""))[0]
    ]


def pick_origin(pool: dict, health: dict, rng: random.Random, *, any_health: bool = False) -> dict | None:
    """A healthy enabled origin, at random weighted by `weight` (0 never); with `any_health`, any
    enabled one when none is healthy. None when there is none."""
    enabled = [o for o in pool.get("origins") or [] if o.get("enabled", True) and float(o.get("weight", 1)) > 0]
    healthy = [o for o in enabled if health.get((pool["id"], o["address"]), (True, ""))[0]]
    choices = healthy or (enabled if any_health else [])
    if not choices:
        return None
    return rng.choices(choices, weights=[float(o.get("weight", 1)) for o in choices])[0]


def origin_port(pool: dict) -> int:
    """The port the edge proxies a pool's origins on: its monitor's port, else 80."""
    monitor = pool.get("monitor_object") or {}
    return int(monitor.get("port") or 0) or DEFAULT_PORT


# ---------------------------------------------------------------------------- the listener
class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close joins every request's thread
    block_on_close = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        """A client that went away mid-answer is not the edge's failure."""
        log.debug("edge: request from %s failed", client_address, exc_info=True)


class Edge:
    """The HTTP listener (see the module docstring); `start()` binds and serves, `stop()` closes
    and joins every thread it started."""

    def __init__(
        self,
        store,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        proxy_timeout: float = DEFAULT_PROXY_TIMEOUT,
        rng: random.Random | None = None,
        name: str = "mc-sandbox-cloudflare-edge",
    ):
        self.store = store
        self.host = host
        self.port = port
        self.proxy_timeout = proxy_timeout
        self.name = name
        self._rng = rng or random.Random()  # noqa: S311 - load spreading, not cryptography
        self._rng_lock = threading.Lock()
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.requests = 0
        self.served: Counter = Counter()  # pool id -> requests proxied to one of its origins
        self.failed: Counter = Counter()  # pool id -> of those, answered 502 (origin unreachable)
        self.origins: Counter = Counter()  # (pool id, origin address) -> requests proxied
        self.steering: Counter = Counter()  # steered / failover / fallback -> requests

    @property
    def url(self) -> str | None:
        return f"http://{self.host}:{self._server.server_port}" if self._server else None

    def start(self) -> str:
        if self._server is None:
            self._server = _Server((self.host, self.port), self._handler_class())
            self._thread = serve_in_thread(self._server, self.name)
        return self.url

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            stop_server(server, thread)

    def reset(self) -> None:
        with self._lock:
            self.requests = 0
            for counter in (self.served, self.failed, self.origins, self.steering):
                counter.clear()

    def status(self) -> dict:
        with self._lock:
            return {
                "url": self.url,
                "requests": self.requests,
                "served": dict(self.served),
                "failed": dict(self.failed),
                "steering": dict(self.steering),
            }

    # ---------------------------------------------------------------- one request
    def _count(self, pool_id: str | None = None, address: str | None = None, steering: str | None = None,
               failed: bool = False) -> None:  # fmt: skip
        with self._lock:
            if pool_id is None:
                self.requests += 1
                return
            self.served[pool_id] += 1
            self.origins[(pool_id, address)] += 1
            self.steering[steering] += 1
            if failed:
                self.failed[pool_id] += 1

    def route(self, host_header: str, location_header: str | None):
        """(load balancer, pool, origin, steering, location) for a request, or EdgeError."""
        hostname = _hostname(host_header)
        if not hostname:
            raise EdgeError(400, "the request has no Host header naming a load balancer")
        view = self.store.edge_view(hostname)
        if view is None:
            raise EdgeError(404, f"no load balancer for host {hostname}")
        lb, pools, health = view
        if not lb.get("enabled", True):
            raise EdgeError(503, f"load balancer {hostname} is disabled")
        location = locate(location_header)
        with self._rng_lock:
            pool, steering = choose_pool(lb, pools, health, location, self._rng)
            origin = pick_origin(pool, health, self._rng, any_health=steering == "fallback")
        if origin is None:
            raise EdgeError(
                503,
                f"pool {pool['name']} of load balancer {hostname} has no enabled origin",
                {POOL_HEADER: pool["name"], STEERING_HEADER: steering},
            )
        return lb, pool, origin, steering, location

    def _handler_class(self):
        edge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = CLIENT_TIMEOUT

            def version_string(self):
                return "cloudflare"

            def _serve(self):
                self.close_connection = True
                edge._count()
                try:
                    body = self._read_body()
                    lb, pool, origin, steering, location = edge.route(
                        self.headers.get("Host", ""), self.headers.get(LOCATION_HEADER)
                    )
                except EdgeError as exc:
                    self._reply_error(exc.status, exc.message, exc.headers)
                    return
                ours = {
                    POOL_HEADER: pool["name"],
                    ORIGIN_HEADER: origin.get("name") or origin["address"],
                    STEERING_HEADER: steering,
                    REGION_HEADER: location.get("region") or "-",
                }
                try:
                    status, reason, headers, data = edge._proxy(self, (lb, pool, origin, steering, location), body)
                except (OSError, http.client.HTTPException) as exc:
                    edge._count(pool["id"], origin["address"], steering, failed=True)
                    why = _failure(exc)
                    log.debug("origin %s of pool %s: %s", origin["address"], pool["name"], why)
                    self._reply_error(502, f"origin {ours[ORIGIN_HEADER]} is unreachable: {why}",
                                      {**ours, ERROR_HEADER: why})  # fmt: skip
                    return
                edge._count(pool["id"], origin["address"], steering)
                self._send(status, [*headers, *ours.items()], data, reason)

            def _send(self, status: int, headers, data: bytes, reason: str | None = None) -> None:
                self.send_response(status, reason)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("CF-Ray", self._ray)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

            @property
            def _ray(self) -> str:
                if not hasattr(self, "_ray_id"):
                    self._ray_id = f"{secrets.token_hex(8)}-SBX"
                return self._ray_id

            def _read_body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    return self._read_chunked()
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    raise EdgeError(400, "Content-Length is not a number") from None
                if length > MAX_BODY:
                    raise EdgeError(413, f"request body larger than {MAX_BODY} bytes")
                return self.rfile.read(length) if length > 0 else b""

            def _read_chunked(self) -> bytes:
                data = bytearray()
                while True:
                    line = self.rfile.readline(1024).split(b";")[0].strip()
                    try:
                        size = int(line, 16)
                    except ValueError:
                        raise EdgeError(400, "malformed chunked request body") from None
                    if size == 0:
                        while self.rfile.readline(1024).strip():  # trailers
                            pass
                        return bytes(data)
                    if len(data) + size > MAX_BODY:
                        raise EdgeError(413, f"request body larger than {MAX_BODY} bytes")
                    data += self.rfile.read(size)
                    self.rfile.readline(1024)

            def _reply_error(self, status: int, message: str, headers: dict) -> None:
                data = json.dumps({"success": False, "status": status, "error": message}).encode()
                self._send(status, [("Content-Type", "application/json"), *headers.items()], data)

            def log_message(self, format, *args):
                log.debug("edge: " + format, *args)

        return Handler

    def _proxy(self, handler, route: tuple, body: bytes):
        """Send the request to the origin: (status, reason, headers, body) of its answer."""
        lb, pool, origin, _steering, location = route
        client_ip = handler.client_address[0]
        connection_tokens = {
            token.strip().lower() for token in handler.headers.get("Connection", "").split(",") if token.strip()
        }
        dropped = HOP_BY_HOP | connection_tokens | {"host", "content-length"}
        headers = [(name, value) for name, value in handler.headers.items() if name.lower() not in dropped]
        forwarded_for = handler.headers.get("X-Forwarded-For")
        overrides = {
            "Host": lb["name"],
            "X-Forwarded-For": f"{forwarded_for}, {client_ip}" if forwarded_for else client_ip,
            "X-Forwarded-Proto": "http",
            "X-Forwarded-Host": _hostname(handler.headers.get("Host", "")),
            "CF-Connecting-IP": client_ip,
            "CF-IPCountry": location.get("country") or "XX",
            "CF-Ray": handler._ray,
        }
        for name, values in (origin.get("header") or {}).items():
            value = values[0] if isinstance(values, list) and values else values
            if value:
                overrides["Host" if name.lower() == "host" else name] = str(value)
        lowered = {name.lower() for name in overrides}
        headers = [(n, v) for n, v in headers if n.lower() not in lowered] + list(overrides.items())
        connection = http.client.HTTPConnection(origin["address"], origin_port(pool), timeout=self.proxy_timeout)
        try:
            connection.putrequest(handler.command, handler.path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            if body or handler.command in ("POST", "PUT", "PATCH"):
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body or None)
            response = connection.getresponse()
            data = b"" if handler.command == "HEAD" else response.read()
            origin_tokens = {
                token.strip().lower() for token in (response.getheader("Connection") or "").split(",") if token
            }
            skip = HOP_BY_HOP | origin_tokens | {"content-length", "server", "date"}
            kept = [(name, value) for name, value in response.getheaders() if name.lower() not in skip]
            return response.status, response.reason, kept, data
        finally:
            connection.close()


def _hostname(host_header: str) -> str:
    """The host a Host header names: no port, no trailing dot, lower case."""
    host = (host_header or "").strip().lower()
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def _failure(exc: Exception) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "origin closed the connection"
    return f"{exc.__class__.__name__}: {exc}"
