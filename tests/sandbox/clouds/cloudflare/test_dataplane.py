"""The sandbox's Cloudflare data plane: health monitors probing real origins, and the edge
steering and proxying real HTTP to them.

Each origin is a tiny HTTP server on its own loopback address (127.0.0.1, .2, .3, ...), all on one
ephemeral port that the monitor names, so the edge proxies to `http://<address>:<monitor port>`.
Pools, monitors and load balancers are made through the emulator's API (its WSGI server, with the
token); requests go through the edge with the `Host` and `X-MC-Sandbox-Location` headers.
"""

from __future__ import annotations

import json
import random
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from mc_sandbox.clouds.cloudflare import dataplane, monitors
from mc_sandbox.clouds.cloudflare.server import CloudflareCloud
from mc_sandbox.core.runtime import CloudContext
from mc_sandbox.k8s.pki import sandbox_tls
from support import wait_until

ZONE = "fabric.example"
APP = f"app.{ZONE}"
TIME_FACTOR = 0.01  # a 5 s monitor interval is 0.05 s, floored to monitors.MIN_INTERVAL
TIMEOUT = 5  # seconds any single HTTP call of a test may take


# ---------------------------------------------------------------------------- origins
class Origin:
    """An origin server: `/health` answers `health_status`, every other path echoes the request."""

    def __init__(self, name: str, ip: str, port: int):
        self.name, self.ip, self.port = name, ip, port
        self.health_status = 200
        self.requests: list[dict] = []
        self.probes = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _handler(self):
        origin = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                if self.path == "/health":
                    origin.probes += 1
                    self._send(origin.health_status, {"origin": origin.name, "health": origin.health_status})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                seen = {"method": self.command, "path": self.path, "body": body, "headers": dict(self.headers)}
                origin.requests.append(seen)
                self._send(200, {"origin": origin.name, **seen}, {"X-Origin": origin.name, "Keep-Alive": "x"})

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

            def _send(self, status, body, headers=None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def log_message(self, format, *args):
                pass

        return Handler

    def start(self, tls: ssl.SSLContext | None = None) -> None:
        server = ThreadingHTTPServer((self.ip, self.port), self._handler())
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self._server = server

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            self._thread.join(TIMEOUT)


def _free_port_on_all(ips) -> int:
    """A port that is free on every one of `ips` right now."""
    for _attempt in range(20):
        with socket.socket() as probe:
            probe.bind((ips[0], 0))
            port = probe.getsockname()[1]
        try:
            for ip in ips:
                with socket.socket() as other:
                    other.bind((ip, port))
        except OSError:
            continue
        return port
    raise AssertionError("no port free on every origin address")


ORIGINS = {"enam": "127.0.0.1", "weu": "127.0.0.2", "neas": "127.0.0.3", "fallback": "127.0.0.4"}


@pytest.fixture
def origins():
    port = _free_port_on_all(list(ORIGINS.values()))
    servers = {name: Origin(f"{name}-1", ip, port) for name, ip in ORIGINS.items()}
    for server in servers.values():
        server.start()
    yield servers
    for server in servers.values():
        server.stop()


# ---------------------------------------------------------------------------- the cloud
def _our_threads():
    return [t for t in threading.enumerate() if t.name.startswith("mc-sandbox-cloudflare") and t.is_alive()]


@pytest.fixture
def cloud(faults, runtime, tmp_path):
    context = CloudContext(faults, runtime, TIME_FACTOR, tmp_path / "cloudflare", tls=None)
    cloud = CloudflareCloud(context, zone_name=ZONE)
    cloud.section = cloud.start()
    yield cloud
    cloud.stop()
    assert _our_threads() == [], "the Cloudflare emulator left threads running"


class Api:
    """The emulator's API v4 over HTTP, with the token."""

    def __init__(self, cloud):
        self.cloud = cloud
        self.base = cloud.section["base_url"]
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {cloud.api_token}"

    def call(self, method: str, path: str, body=None) -> dict:
        answer = self.session.request(method, f"{self.base}/{path}", json=body, timeout=TIMEOUT)
        assert answer.ok, answer.text
        return answer.json()["result"]

    def account(self, method, path, body=None):
        return self.call(method, f"accounts/{self.cloud.account_id}/load_balancers/{path}", body)

    def zone(self, method, path, body=None):
        return self.call(method, f"zones/{self.cloud.zone_id}/{path}", body)

    def health(self, pool_id: str) -> dict:
        """address -> health of one pool's origins, as the pool health API reports them (first region)."""
        result = self.account("GET", f"pools/{pool_id}/health")
        first = next(iter(result["pop_health"].values()))
        return first["origins"][0]

    def close(self):
        self.session.close()


@pytest.fixture
def api(cloud):
    api = Api(cloud)
    yield api
    api.close()


@pytest.fixture
def fabric(cloud, api, origins):
    """A monitor, one pool per origin and the geo-steered load balancer `app`."""
    port = next(iter(origins.values())).port
    monitor = api.account(
        "POST",
        "monitors",
        {"type": "http", "path": "/health", "expected_codes": "2xx", "interval": 5, "timeout": 1, "retries": 1,
         "port": port, "header": {"X-Probe": ["sandbox"]}},
    )  # fmt: skip
    pools = {
        name: api.account(
            "POST",
            "pools",
            {"name": name, "monitor": monitor["id"], "origins": [{"name": f"{name}-1", "address": server.ip}]},
        )
        for name, server in origins.items()
    }
    ids = {name: pool["id"] for name, pool in pools.items()}
    lb = api.zone(
        "POST",
        "load_balancers",
        {
            "name": "app",
            "steering_policy": "geo",
            "proxied": True,
            "default_pools": [ids["enam"], ids["weu"], ids["neas"]],
            "region_pools": {
                "ENAM": [ids["enam"], ids["weu"]],
                "WEU": [ids["weu"], ids["enam"]],
                "NEAS": [ids["neas"], ids["enam"]],
            },
            "fallback_pool": ids["fallback"],
        },
    )
    return {"monitor": monitor, "pools": ids, "lb": lb, "origins": origins, "interval": monitors.MIN_INTERVAL}


def through_edge(cloud, location=None, *, host=APP, method="GET", path="/", **kwargs) -> requests.Response:
    headers = {"Host": host, **kwargs.pop("headers", {})}
    if location:
        headers["X-MC-Sandbox-Location"] = location
    return requests.request(method, cloud.edge_url + path, headers=headers, timeout=TIMEOUT, **kwargs)


def served_by(cloud, location=None) -> tuple[str, str]:
    """(origin the body names, X-MC-Sandbox-Steering) of one request through the edge."""
    answer = through_edge(cloud, location)
    if answer.status_code != 200:
        return ("", f"HTTP {answer.status_code}")
    return answer.json()["origin"], answer.headers["X-MC-Sandbox-Steering"]


# ---------------------------------------------------------------------------- the edge steers
def test_geo_steering_through_the_edge(cloud, api, fabric):
    assert cloud.section["edge_url"].startswith("http://127.0.0.1:") and cloud.section["edge_url"] == cloud.edge_url
    for location, pool in (("New York", "enam"), ("tokyo", "neas"), ("London", "weu"), ("JP", "neas"),
                           ("WEU", "weu"), (None, "enam"), ("Atlantis", "enam")):  # fmt: skip
        answer = through_edge(cloud, location)
        assert answer.status_code == 200, (location, answer.text)
        assert answer.json()["origin"] == f"{pool}-1", location
        assert answer.headers["X-MC-Sandbox-Pool"] == pool
        assert answer.headers["X-MC-Sandbox-Origin"] == f"{pool}-1"
        assert answer.headers["X-MC-Sandbox-Steering"] == "steered"
    assert through_edge(cloud, "Tokyo").headers["X-MC-Sandbox-Region"] == "NEAS"

    # country_pools come before region_pools
    pools = fabric["pools"]
    api.zone("PATCH", f"load_balancers/{fabric['lb']['id']}", {"country_pools": {"GB": [pools["neas"]]}})
    assert served_by(cloud, "London") == ("neas-1", "steered")
    assert served_by(cloud, "Paris") == ("weu-1", "steered")
    # "off": the default pools in order, wherever the client is
    api.zone("PATCH", f"load_balancers/{fabric['lb']['id']}", {"steering_policy": "off"})
    assert served_by(cloud, "Tokyo") == ("enam-1", "steered")

    status = cloud.status()
    assert status["edge_url"] == cloud.edge_url
    assert status["pool_health"][pools["neas"]]["served"] >= 3
    assert status["pool_health"][pools["neas"]]["healthy"] is True
    assert status["counts"]["load_balancers"] == 1


def test_requests_are_proxied_with_method_body_and_forwarding_headers(cloud, fabric):
    origins = fabric["origins"]
    answer = through_edge(
        cloud, "New York", method="POST", path="/orders?id=7&x=%2F", data=b'{"qty": 2}',
        headers={"Content-Type": "application/json", "X-Custom": "kept", "Connection": "close, X-Drop",
                 "X-Drop": "gone", "X-Forwarded-For": "203.0.113.9"},
    )  # fmt: skip
    assert answer.status_code == 200
    seen = origins["enam"].requests[-1]
    assert seen["method"] == "POST" and seen["path"] == "/orders?id=7&x=%2F" and seen["body"] == '{"qty": 2}'
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["host"] == APP and headers["x-custom"] == "kept" and "x-drop" not in headers
    assert headers["x-forwarded-for"] == "203.0.113.9, 127.0.0.1" and headers["cf-connecting-ip"] == "127.0.0.1"
    assert headers["cf-ipcountry"] == "US" and headers["x-forwarded-proto"] == "http"
    assert headers["x-mc-sandbox-location"] == "New York"
    # the origin's own headers come back, hop-by-hop ones do not
    assert answer.headers["X-Origin"] == "enam-1" and "Keep-Alive" not in answer.headers
    assert answer.headers["Server"] == "cloudflare" and answer.headers["CF-Ray"].endswith("-SBX")
    head = through_edge(cloud, "Tokyo", method="HEAD")
    assert head.status_code == 200 and head.content == b"" and head.headers["X-MC-Sandbox-Pool"] == "neas"


def test_unknown_host_disabled_load_balancer_and_unreachable_origin(cloud, api, fabric):
    missing = through_edge(cloud, host="nothing.fabric.example")
    assert missing.status_code == 404 and "no load balancer for host nothing.fabric.example" in missing.text
    assert through_edge(cloud, host=f"{APP.upper()}.:8080").status_code == 200  # case, dot and port ignored

    # a pool without a monitor is healthy, and its origins are proxied on port 80: nothing listens there
    dead = api.account("POST", "pools", {"name": "nomonitor", "origins": [{"name": "dead-1", "address": "127.0.0.9"}]})
    api.zone("POST", "load_balancers", {"name": "dead", "default_pools": [dead["id"]], "fallback_pool": dead["id"]})
    gone = through_edge(cloud, host=f"dead.{ZONE}")
    assert gone.status_code == 502
    assert gone.headers["X-MC-Sandbox-Pool"] == "nomonitor" and gone.headers["X-MC-Sandbox-Origin"] == "dead-1"
    assert gone.headers["X-MC-Sandbox-Error"] == "connection refused"
    assert api.health(dead["id"])["127.0.0.9"]["healthy"] is True
    assert cloud.status()["pool_health"][dead["id"]]["failed"] == 1

    api.zone("PATCH", f"load_balancers/{fabric['lb']['id']}", {"enabled": False})
    disabled = through_edge(cloud, "New York")
    assert disabled.status_code == 503 and "disabled" in disabled.text


# ---------------------------------------------------------------------------- health and failover
def test_failover_fallback_and_recovery_follow_the_monitors(cloud, api, fabric):
    origins, pools = fabric["origins"], fabric["pools"]
    assert served_by(cloud, "New York") == ("enam-1", "steered")
    down = monitors.thresholds(fabric["monitor"])[0]
    assert down == 2  # retries 1: the second failed probe in a row

    stopped = time.monotonic()
    origins["enam"].stop()
    wait_until(lambda: served_by(cloud, "New York") == ("weu-1", "failover"), TIMEOUT, "failover to WEU")
    took = time.monotonic() - stopped
    # unhealthy after `down` consecutive failed probes, one interval apart (plus the tick)
    assert took < (down + 2) * fabric["interval"] + 2.0, took
    assert served_by(cloud, "London") == ("weu-1", "steered")
    health = api.health(pools["enam"])["127.0.0.1"]
    assert health["healthy"] is False and health["failure_reason"] == "connection refused"
    assert cloud.status()["pool_health"][pools["enam"]]["healthy"] is False

    # every pool of New York's list down: the fallback pool
    origins["weu"].stop()
    wait_until(lambda: served_by(cloud, "New York") == ("fallback-1", "fallback"), TIMEOUT, "the fallback pool")
    assert served_by(cloud, "Tokyo") == ("neas-1", "steered")

    # the fallback pool serves even when it is unhealthy: its origin is tried and answers 502
    origins["fallback"].stop()
    wait_until(lambda: api.health(pools["fallback"])["127.0.0.4"]["healthy"] is False, TIMEOUT, "fallback down")
    answer = through_edge(cloud, "New York")
    assert answer.status_code == 502 and answer.headers["X-MC-Sandbox-Steering"] == "fallback"
    assert answer.headers["X-MC-Sandbox-Origin"] == "fallback-1"

    # back: one successful probe makes an origin healthy again
    origins["enam"].start()
    wait_until(lambda: served_by(cloud, "New York") == ("enam-1", "steered"), TIMEOUT, "recovery of ENAM")
    assert api.health(pools["enam"])["127.0.0.1"] == {
        "healthy": True, "failure_reason": "No failures", "response_code": 200, "rtt": "12.1ms"
    }  # fmt: skip
    assert (
        origins["neas"].probes >= 2
        and cloud.status()["pool_health"][pools["neas"]]["origins"]["127.0.0.3"]["probes"] >= 2
    )


def test_expected_codes_mark_a_503_origin_unhealthy(cloud, api, fabric):
    origins, pools = fabric["origins"], fabric["pools"]
    origins["weu"].health_status = 503  # listening, but its health check fails 2xx
    wait_until(lambda: not api.health(pools["weu"])["127.0.0.2"]["healthy"], TIMEOUT, "WEU unhealthy")
    assert api.health(pools["weu"])["127.0.0.2"]["failure_reason"] == "HTTP 503"
    assert served_by(cloud, "London") == ("enam-1", "failover")
    origins["weu"].health_status = 204  # any 2xx passes
    wait_until(lambda: served_by(cloud, "London") == ("weu-1", "steered"), TIMEOUT, "WEU back")


def test_a_drained_pool_never_serves(cloud, api, fabric):
    pools = fabric["pools"]
    api.account("PATCH", f"pools/{pools['enam']}", {"enabled": False})
    assert {served_by(cloud, "New York") for _ in range(20)} == {("weu-1", "failover")}
    # a disabled origin is not probed and not sent traffic either
    api.account("PATCH", f"pools/{pools['enam']}", {"enabled": True})
    assert served_by(cloud, "New York") == ("enam-1", "steered")
    origin = {"name": "enam-1", "address": "127.0.0.1", "enabled": False}
    api.account("PATCH", f"pools/{pools['enam']}", {"origins": [origin]})
    assert served_by(cloud, "New York") == ("weu-1", "failover")
    before = fabric["origins"]["enam"].probes
    time.sleep(4 * fabric["interval"])
    assert fabric["origins"]["enam"].probes <= before + 1  # at most one probe that was already running


def test_random_steering_spreads_over_healthy_default_pools(cloud, api, fabric):
    pools = fabric["pools"]
    lb = fabric["lb"]["id"]
    api.zone("PATCH", f"load_balancers/{lb}", {"steering_policy": "random"})
    seen = {served_by(cloud, "Tokyo")[0] for _ in range(40)}
    assert seen == {"enam-1", "weu-1", "neas-1"}
    weights = {"default_weight": 1, "pool_weights": {pools["weu"]: 0, pools["neas"]: 0}}
    api.zone("PATCH", f"load_balancers/{lb}", {"random_steering": weights})
    assert {served_by(cloud, "Tokyo") for _ in range(20)} == {("enam-1", "steered")}


def test_reset_clears_health_and_the_prober_stops_cleanly(cloud, api, fabric):
    pools = fabric["pools"]
    fabric["origins"]["neas"].stop()
    wait_until(lambda: not api.health(pools["neas"])["127.0.0.3"]["healthy"], TIMEOUT, "NEAS unhealthy")
    cloud.reset()
    assert cloud.store.health == {} and cloud.prober.status() == {}
    assert cloud.status()["pool_health"] == {} and cloud.edge.status()["requests"] == 0
    assert through_edge(cloud, "Tokyo").status_code == 404  # the load balancer went with the reset
    assert cloud.prober.running
    names = {t.name for t in _our_threads()}
    assert "mc-sandbox-cloudflare-prober" in names and "mc-sandbox-cloudflare-edge" in names


# ---------------------------------------------------------------------------- the rules, alone
def test_expected_codes_timing_and_thresholds():
    assert monitors.codes_match("200", 200) and not monitors.codes_match("200", 204)
    assert monitors.codes_match("2xx", 204) and not monitors.codes_match("2xx", 301)
    assert monitors.codes_match("200, 3XX", 302) and not monitors.codes_match("", 200)
    assert monitors.probe_timing({"interval": 60, "timeout": 5}, 1 / 60) == (1.0, 0.5)
    assert monitors.probe_timing({"interval": 5, "timeout": 1}, 0.01) == (monitors.MIN_INTERVAL, monitors.MIN_TIMEOUT)
    assert monitors.probe_timing({"interval": 60, "timeout": 5}, 1) == (60, 5)
    assert monitors.thresholds({"retries": 2}) == (3, 1)
    assert monitors.thresholds({"retries": 0, "consecutive_down": 4, "consecutive_up": 2}) == (4, 2)


def test_probe_reasons(origins):
    origin = origins["enam"]
    monitor = {"type": "http", "path": "/health", "expected_codes": "2xx", "port": origin.port}
    assert monitors.probe(origin.ip, monitor, 1.0) == (True, "")
    assert monitors.probe(origin.ip, {**monitor, "expected_body": "ENAM-1"}, 1.0) == (True, "")
    assert monitors.probe(origin.ip, {**monitor, "expected_body": "nope"}, 1.0)[0] is False
    origin.health_status = 500
    assert monitors.probe(origin.ip, monitor, 1.0) == (False, "HTTP 500")
    origin.stop()
    assert monitors.probe(origin.ip, monitor, 1.0) == (False, "connection refused")
    assert monitors.probe(origin.ip, {**monitor, "type": "tcp"}, 1.0) == (False, "connection refused")
    # a listener that never answers: timeout
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        started = time.monotonic()
        assert monitors.probe("127.0.0.1", {**monitor, "port": port}, 0.3) == (False, "timeout")
        assert time.monotonic() - started < 2


def test_steering_rules_alone():
    def pool(pool_id, healthy=True, enabled=True, minimum=1, origins=1):
        return {
            "id": pool_id, "name": pool_id, "enabled": enabled, "minimum_origins": minimum,
            "origins": [{"name": f"{pool_id}-{i}", "address": f"10.0.0.{i}", "enabled": True, "weight": 1}
                        for i in range(origins)],
        }  # fmt: skip

    pools = {"a": pool("a", minimum=2, origins=2), "b": pool("b"), "f": pool("f")}
    lb = {"name": "x", "steering_policy": "geo", "default_pools": ["a", "b"], "fallback_pool": "f",
          "region_pools": {"WEU": ["b"]}, "country_pools": {}}  # fmt: skip
    rng = random.Random(1)
    assert dataplane.choose_pool(lb, pools, {}, {"region": "ENAM"}, rng) == (pools["a"], "steered")
    assert dataplane.choose_pool(lb, pools, {}, {"region": "WEU"}, rng) == (pools["b"], "steered")
    one_down = {("a", "10.0.0.1"): (False, "timeout")}  # 1 of 2 healthy < minimum_origins 2
    assert dataplane.choose_pool(lb, pools, one_down, {}, rng) == (pools["b"], "failover")
    all_down = {**one_down, ("b", "10.0.0.0"): (False, "timeout")}
    assert dataplane.choose_pool(lb, pools, all_down, {}, rng) == (pools["f"], "fallback")
    pools["f"]["enabled"] = False
    with pytest.raises(dataplane.EdgeError) as error:
        dataplane.choose_pool(lb, pools, all_down, {}, rng)
    assert error.value.status == 503
    weighted = pool("w", origins=2)
    weighted["origins"][0]["weight"] = 0
    assert {dataplane.pick_origin(weighted, {}, rng)["name"] for _ in range(20)} == {"w-1"}


def test_https_probes_verify_unless_allow_insecure(tmp_path):
    files = sandbox_tls(tmp_path)  # a CA and a certificate for 127.0.0.1
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(files.cert, files.key)
    port = _free_port_on_all(["127.0.0.1"])
    origin = Origin("tls-1", "127.0.0.1", port)
    origin.start(tls)
    try:
        monitor = {"type": "https", "path": "/health", "expected_codes": "200", "port": port}
        verdict = monitors.probe("127.0.0.1", monitor, 2.0, ssl_context=ssl.create_default_context())
        assert verdict[0] is False and verdict[1].startswith("TLS error: ")
        assert monitors.probe("127.0.0.1", {**monitor, "allow_insecure": True}, 2.0) == (True, "")
        trusting = ssl.create_default_context(cafile=str(files.ca))
        assert monitors.probe("127.0.0.1", monitor, 2.0, ssl_context=trusting) == (True, "")
    finally:
        origin.stop()


def test_the_api_alone_without_a_data_plane(faults, runtime, tmp_path):
    context = CloudContext(faults, runtime, TIME_FACTOR, tmp_path / "cloudflare", tls=None)
    cloud = CloudflareCloud(context, zone_name=ZONE, data_plane=False)
    section = cloud.start()
    try:
        assert "edge_url" not in section and cloud.edge_url is None and not cloud.prober.running
    finally:
        cloud.stop()
    assert _our_threads() == []
