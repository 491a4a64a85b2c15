"""The sandbox's Cloudflare: API v4 for a global load balancer over HTTP on loopback.

Serves, under `/client/v4` as api.cloudflare.com does, the zones, DNS records and load balancing
(monitors, pools, pool health, load balancers) of one account and one zone created at start.
Every call needs the sandbox's API token as `Authorization: Bearer <token>` (401 otherwise), is
counted by the fault framework as `cloudflare/<operation>` (operations are named after the SDK's
resources, e.g. `load_balancers.pools.create`, `dns.records.list`) and may be answered with an
injected 429 (with `Retry-After`) or 5xx; then the in-memory store answers in Cloudflare's
envelope `{success, errors, messages, result, result_info}`.

Its data plane runs beside the API: `monitors.HealthProber` probes the origins of every pool with a
monitor and sets their health, and `dataplane.Edge`, one HTTP listener on loopback (`edge_url` in
the endpoints section), proxies every load balancer's hostname to the origins its steering picks.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import secrets
import threading
import uuid
from urllib.parse import parse_qsl, unquote

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from mc_sandbox.clouds.cloudflare.dataplane import Edge
from mc_sandbox.clouds.cloudflare.errors import ApiError, envelope, fault
from mc_sandbox.clouds.cloudflare.monitors import HealthProber
from mc_sandbox.clouds.cloudflare.store import CloudflareStore
from mc_sandbox.core.runtime import CloudContext
from mc_sandbox.core.serving import serve_in_thread, stop_server

log = logging.getLogger(__name__)

CLOUD = "cloudflare"
BASE_PATH = "/client/v4"
DEFAULT_ZONE = "fabric.example"
ZONE_VARIABLE = "MC_SANDBOX_CLOUDFLARE_ZONE"  # the zone created at start, DEFAULT_ZONE without it
MAX_PER_PAGE = {"zones": 50, "dns": 5000000}

_A = r"accounts/(?P<account>[^/]+)/load_balancers"
_Z = r"zones/(?P<zone>[^/]+)"
# (method, path after /client/v4/, operation)
ROUTES = [
    ("GET", r"zones", "zones.list"),
    ("GET", _Z, "zones.get"),
    ("GET", _Z + "/dns_records", "dns.records.list"),
    ("POST", _Z + "/dns_records", "dns.records.create"),
    ("GET", _Z + r"/dns_records/(?P<id>[^/]+)", "dns.records.get"),
    ("PUT", _Z + r"/dns_records/(?P<id>[^/]+)", "dns.records.update"),
    ("PATCH", _Z + r"/dns_records/(?P<id>[^/]+)", "dns.records.edit"),
    ("DELETE", _Z + r"/dns_records/(?P<id>[^/]+)", "dns.records.delete"),
    ("GET", _A + "/monitors", "load_balancers.monitors.list"),
    ("POST", _A + "/monitors", "load_balancers.monitors.create"),
    ("GET", _A + r"/monitors/(?P<id>[^/]+)", "load_balancers.monitors.get"),
    ("PUT", _A + r"/monitors/(?P<id>[^/]+)", "load_balancers.monitors.update"),
    ("PATCH", _A + r"/monitors/(?P<id>[^/]+)", "load_balancers.monitors.edit"),
    ("DELETE", _A + r"/monitors/(?P<id>[^/]+)", "load_balancers.monitors.delete"),
    ("GET", _A + "/pools", "load_balancers.pools.list"),
    ("POST", _A + "/pools", "load_balancers.pools.create"),
    ("GET", _A + r"/pools/(?P<id>[^/]+)", "load_balancers.pools.get"),
    ("PUT", _A + r"/pools/(?P<id>[^/]+)", "load_balancers.pools.update"),
    ("PATCH", _A + r"/pools/(?P<id>[^/]+)", "load_balancers.pools.edit"),
    ("DELETE", _A + r"/pools/(?P<id>[^/]+)", "load_balancers.pools.delete"),
    ("GET", _A + r"/pools/(?P<id>[^/]+)/health", "load_balancers.pools.health.get"),
    ("GET", _Z + "/load_balancers", "load_balancers.list"),
    ("POST", _Z + "/load_balancers", "load_balancers.create"),
    ("GET", _Z + r"/load_balancers/(?P<id>[^/]+)", "load_balancers.get"),
    ("PUT", _Z + r"/load_balancers/(?P<id>[^/]+)", "load_balancers.update"),
    ("PATCH", _Z + r"/load_balancers/(?P<id>[^/]+)", "load_balancers.edit"),
    ("DELETE", _Z + r"/load_balancers/(?P<id>[^/]+)", "load_balancers.delete"),
]
_ROUTES = [(method, re.compile(pattern), operation) for method, pattern, operation in ROUTES]


class _QuietHandler(WSGIRequestHandler):
    def log(self, type, message, *args):
        log.log(logging.WARNING if type == "error" else logging.DEBUG, message, *args)


def _page(items: list, query: dict, max_per_page: int, default_per_page: int) -> tuple[list, dict]:
    """One page of `items` and its result_info; past the last page the page is empty."""
    try:
        page = int(float(query.get("page", 1)))
        per_page = int(float(query.get("per_page", default_per_page)))
    except ValueError:
        raise ApiError(400, 1002, "page, per_page: expected integers") from None
    if page < 1:
        raise ApiError(400, 1002, f"page: expected an integer >= 1, got {page}")
    if not 1 <= per_page <= max_per_page:
        raise ApiError(400, 1002, f"per_page: expected an integer between 1 and {max_per_page}, got {per_page}")
    chunk = items[(page - 1) * per_page : page * per_page]
    total_pages = max(1, -(-len(items) // per_page))
    info = {"page": page, "per_page": per_page, "count": len(chunk), "total_count": len(items)}
    info["total_pages"] = total_pages
    return chunk, info


class CloudflareCloud:
    """runtime.Cloud for Cloudflare (see the module docstring)."""

    def __init__(
        self,
        context: CloudContext,
        *,
        zone_name: str | None = None,
        port: int = 0,
        edge_port: int = 0,
        data_plane: bool = True,
    ):
        """`edge_port`: the edge's port (0: any free one); `data_plane=False`: the API alone (no
        prober, no edge, no `edge_url`), for tests of the API that set origin health themselves."""
        zone_name = (zone_name or os.environ.get(ZONE_VARIABLE) or DEFAULT_ZONE).rstrip(".").lower()
        self._faults = context.faults
        self._port = port
        self.api_token = secrets.token_urlsafe(30)
        self.store = CloudflareStore(uuid.uuid4().hex, uuid.uuid4().hex, zone_name)
        tls = getattr(context, "tls", None)
        ca_file = str(tls.ca) if tls is not None and getattr(tls, "ca", None) else None
        self.prober = HealthProber(self.store, time_factor=context.time_factor, ca_file=ca_file)
        self.edge = Edge(self.store, port=edge_port)
        self.data_plane = data_plane
        self._server = None
        self._thread: threading.Thread | None = None
        # For contract tests: (method, operation, query, body) received and (method, operation, status, body) sent.
        self.record = False
        self.recorded_requests: list[tuple[str, str, dict, object]] = []
        self.recorded_responses: list[tuple[str, str, int, dict]] = []

    @property
    def account_id(self) -> str:
        return self.store.account_id

    @property
    def zone_id(self) -> str:
        return self.store.zone_id

    @property
    def base_url(self) -> str | None:
        return f"http://127.0.0.1:{self._server.server_port}{BASE_PATH}" if self._server else None

    @property
    def edge_url(self) -> str | None:
        """The data plane's one listener, `http://127.0.0.1:<port>` (None when stopped)."""
        return self.edge.url

    def set_origin_health(self, pool_id: str, address: str, healthy: bool, reason: str = "") -> None:
        """What pool health reports for one origin (every origin is healthy until set), for a data plane."""
        self.store.set_origin_health(pool_id, address, healthy, reason)

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> dict:
        self._server = make_server("127.0.0.1", self._port, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self._thread = serve_in_thread(self._server, "mc-sandbox-cloudflare")
        section = {
            "base_url": self.base_url,
            "api_token": self.api_token,
            "account_id": self.account_id,
            "zone_id": self.zone_id,
            "zone_name": self.store.zone_name,
        }
        if self.data_plane:
            try:
                self.edge.start()
                self.prober.start()
            except Exception:
                self.stop()
                raise
            section["edge_url"] = self.edge_url
        return section

    def stop(self) -> None:
        self.prober.stop()
        self.edge.stop()
        if self._server is not None:
            stop_server(self._server, self._thread)
            self._server = self._thread = None

    def reset(self) -> None:
        self.prober.reset()
        self.store.reset()
        self.edge.reset()

    def status(self) -> dict:
        return {
            "base_url": self.base_url,
            "edge_url": self.edge_url,
            "account_id": self.account_id,
            **self.store.status(),
            "pool_health": self._pool_health(),
        }

    def _pool_health(self) -> dict:
        """Per pool: whether it serves, its origins' health, and what the edge sent it."""
        edge = self.edge.status()
        probed = self.prober.status()
        pools = {}
        for pool, _monitor in self.store.monitored_pools():
            pool_id = pool["id"]
            origins = {}
            for origin in pool["origins"]:
                healthy, reason = self.store.origin_health(pool_id, origin["address"])
                origins[origin["address"]] = {
                    "name": origin.get("name", ""),
                    "enabled": origin.get("enabled", True),
                    "healthy": healthy,
                    "reason": reason,
                    "probes": probed.get(pool_id, {}).get(origin["address"], {}).get("probes", 0),
                }
            serving = sum(o["healthy"] and o["enabled"] for o in origins.values())
            pools[pool_id] = {
                "name": pool["name"],
                "enabled": pool.get("enabled", True),
                "healthy": pool.get("enabled", True) and serving >= pool.get("minimum_origins", 1),
                "origins": origins,
                "served": edge["served"].get(pool_id, 0),
                "failed": edge["failed"].get(pool_id, 0),
            }
        return pools

    # ---------------------------------------------------------------- the gateway
    def _wsgi(self, environ, start_response):
        request = Request(environ)
        try:
            status, body = self._dispatch(request)
            response = Response(json.dumps(body), status=status, content_type="application/json")
        except ApiError as exc:
            status, body, response = exc.status, exc.body(), exc.response()
        except Exception:
            log.exception("Cloudflare request %s %s failed", request.method, request.path)
            exc = ApiError(500, 10500, "Internal server error")
            status, body, response = exc.status, exc.body(), exc.response()
        operation = environ.get("mc_sandbox.operation")
        if self.record and operation:  # answers to paths the API does not have are not recorded
            self.recorded_responses.append((request.method, operation, status, body))
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> tuple[int, dict]:
        path = unquote(request.path)
        if not path.startswith(BASE_PATH + "/"):
            raise ApiError(404, 7000, f"No route for that URI: {path}")
        rest = path[len(BASE_PATH) + 1 :].rstrip("/")
        route = None
        for method, pattern, operation in _ROUTES:
            found = pattern.fullmatch(rest)
            if found:
                route = route or (None, None)
                if method == request.method:
                    route = (operation, found.groupdict())
                    break
        if route is None:
            raise ApiError(404, 7003, f"Could not route to /{rest}, perhaps your object identifier is invalid?")
        if route[0] is None:
            raise ApiError(405, 10405, f"Method {request.method} not allowed for /{rest}")
        operation, params = route
        request.environ["mc_sandbox.operation"] = operation
        self._authenticate(request)
        decision = self._faults.apply(CLOUD, operation, None)
        if decision.status is not None:
            raise fault(decision.status, decision.retry_after)
        if params.get("account", self.account_id) != self.account_id:
            raise ApiError(403, 10000, "Authentication error")
        if params.get("zone", self.zone_id) != self.zone_id:
            raise ApiError(404, 7003, f"Could not route to /{rest}, perhaps your object identifier is invalid?")
        query = dict(parse_qsl(request.query_string.decode()))
        body = None
        if request.method in ("POST", "PUT", "PATCH"):
            try:
                body = json.loads(request.get_data() or b"null")
            except ValueError:
                raise ApiError(400, 6007, "Malformed JSON in request body") from None
        if self.record:
            self.recorded_requests.append((request.method, operation, query, body))
        result, info = self._handle(operation, params.get("id"), query, body)
        return 200, envelope(result, result_info=info)

    def _authenticate(self, request: Request) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, 10001, "Unable to authenticate request: missing Authorization bearer token")
        if not hmac.compare_digest(token.strip().encode(), self.api_token.encode()):
            raise ApiError(401, 1000, "Invalid API Token")

    def _handle(self, operation: str, item: str | None, query: dict, body):
        store = self.store
        kind, _, verb = operation.rpartition(".")
        if operation == "zones.list":
            zones = [store.zone()]
            if "name" in query:
                zones = [z for z in zones if z["name"] == query["name"].lower()]
            if "account.id" in query:
                zones = [z for z in zones if z["account"]["id"] == query["account.id"]]
            if "status" in query:
                zones = [z for z in zones if z["status"] == query["status"]]
            return _page(zones, query, MAX_PER_PAGE["zones"], 20)
        if operation == "zones.get":
            return store.zone(), None
        if operation == "load_balancers.pools.health.get":
            return store.pool_health(item), None
        handlers = {
            "dns.records": (store.dns_get, store.dns_create, store.dns_update, store.dns_delete),
            "load_balancers.monitors": (
                store.monitor_get,
                store.monitor_create,
                store.monitor_update,
                store.monitor_delete,
            ),
            "load_balancers.pools": (store.pool_get, store.pool_create, store.pool_update, store.pool_delete),
            "load_balancers": (store.lb_get, store.lb_create, store.lb_update, store.lb_delete),
        }
        get, create, update, delete = handlers[kind]
        if verb == "list":
            if kind == "dns.records":
                return _page(store.dns_list(query), query, MAX_PER_PAGE["dns"], 100)
            items = {
                "load_balancers.monitors": store.monitor_list,
                "load_balancers.pools": lambda: store.pool_list(query),
                "load_balancers": store.lb_list,
            }[kind]()
            info = {"page": 1, "per_page": max(1, len(items)), "count": len(items), "total_count": len(items)}
            return items, {**info, "total_pages": 1}
        if verb == "get":
            return get(item), None
        if verb == "create":
            return create(body), None
        if verb in ("update", "edit"):
            return update(item, body, patch=verb == "edit"), None
        return delete(item), None
