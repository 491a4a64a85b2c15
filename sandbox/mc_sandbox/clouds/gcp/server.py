"""The sandbox's Google Cloud: OAuth token endpoint, GKE v1 and Compute v1 over HTTPS on loopback.

One TLS server (the sandbox's serving certificate) answers every Google API path the client
libraries use once `api_endpoint` points here: `/token` (service-account JWT grant), `/v1/...`
(GKE, as google-cloud-container's REST transport sends it) and `/compute/v1/...` (Compute, as
google-cloud-compute sends it). Every API call is authenticated (401 in Google's format otherwise),
then goes through the fault framework as `gcp/<operation>` with the location as region, then to the
emulator. GKE clusters become real control planes through the Kubernetes runtime, and their API
servers accept the sandbox's access tokens through the token webhook.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from urllib.parse import parse_qsl, unquote

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from mc_sandbox.clouds.gcp.auth import TOKEN_PREFIX, OAuthError, ServiceAccount, TokenIssuer
from mc_sandbox.clouds.gcp.compute import ComputeEmulator
from mc_sandbox.clouds.gcp.exceptions import ApiError, fault
from mc_sandbox.clouds.gcp.gke import GkeEmulator
from mc_sandbox.core.files import write_file
from mc_sandbox.core.runtime import CloudContext
from mc_sandbox.core.serving import serve_in_thread, stop_server

log = logging.getLogger(__name__)

DEFAULT_PROJECT = "mc-sandbox-project"
KEY_FILE = "service-account.json"

_P = r"projects/(?P<project>[^/]+)"
_L = _P + r"/locations/(?P<location>[^/]+)"
_C = _L + r"/clusters/(?P<cluster>[^/:]+)"
_N = _C + r"/nodePools/(?P<pool>[^/:]+)"
# (method, path after /v1/, operation): the GKE RPC names double as fault-rule operation names.
GKE_ROUTES = [
    ("GET", _L + "/clusters", "ListClusters"),
    ("POST", _L + "/clusters", "CreateCluster"),
    ("GET", _C, "GetCluster"),
    ("PUT", _C, "UpdateCluster"),
    ("DELETE", _C, "DeleteCluster"),
    ("POST", _C + ":updateMaster", "UpdateMaster"),
    ("POST", _C + ":setResourceLabels", "SetLabels"),
    ("GET", _C + "/nodePools", "ListNodePools"),
    ("POST", _C + "/nodePools", "CreateNodePool"),
    ("GET", _N, "GetNodePool"),
    ("PUT", _N, "UpdateNodePool"),
    ("DELETE", _N, "DeleteNodePool"),
    ("POST", _N + ":setSize", "SetNodePoolSize"),
    ("POST", _N + ":setAutoscaling", "SetNodePoolAutoscaling"),
    ("GET", _L + "/operations", "ListOperations"),
    ("GET", _L + r"/operations/(?P<operation>[^/:]+)", "GetOperation"),
    ("GET", _L + "/serverConfig", "GetServerConfig"),
]
# The older zonal form of the same API (the SDKs use it when called with project_id/zone/cluster_id).
_Z = _P + r"/zones/(?P<location>[^/]+)"
_ZC = _Z + r"/clusters/(?P<cluster>[^/:]+)"
_ZN = _ZC + r"/nodePools/(?P<pool>[^/:]+)"
GKE_ZONAL_ROUTES = [
    ("GET", _Z + "/clusters", "ListClusters"),
    ("POST", _Z + "/clusters", "CreateCluster"),
    ("GET", _ZC, "GetCluster"),
    ("PUT", _ZC, "UpdateCluster"),
    ("DELETE", _ZC, "DeleteCluster"),
    ("POST", _ZC + "/master", "UpdateMaster"),
    ("POST", _ZC + "/resourceLabels", "SetLabels"),
    ("GET", _ZC + "/nodePools", "ListNodePools"),
    ("POST", _ZC + "/nodePools", "CreateNodePool"),
    ("GET", _ZN, "GetNodePool"),
    ("POST", _ZN + "/update", "UpdateNodePool"),
    ("DELETE", _ZN, "DeleteNodePool"),
    ("POST", _ZN + "/setSize", "SetNodePoolSize"),
    ("POST", _ZN + "/autoscaling", "SetNodePoolAutoscaling"),
    ("GET", _Z + "/operations", "ListOperations"),
    ("GET", _Z + r"/operations/(?P<operation>[^/:]+)", "GetOperation"),
    ("GET", _Z + "/serverconfig", "GetServerConfig"),
]
_GKE = [(method, re.compile(pattern), operation) for method, pattern, operation in GKE_ROUTES + GKE_ZONAL_ROUTES]


class _QuietHandler(WSGIRequestHandler):
    def log(self, type, message, *args):
        log.log(logging.WARNING if type == "error" else logging.DEBUG, message, *args)


class GcpCloud:
    """runtime.Cloud for Google Cloud (see the module docstring)."""

    def __init__(self, context: CloudContext, *, project: str = DEFAULT_PROJECT, port: int = 0):
        self._context = context
        self._faults = context.faults
        self._runtime = context.runtime
        self.project = project
        self._port = port
        self.account = ServiceAccount.generate(project)
        self.gke = GkeEmulator(context.runtime, project, time_factor=context.time_factor, faults=context.faults)
        self.compute = ComputeEmulator(project, time_factor=context.time_factor, fabric=context.vpn)
        self.tokens: TokenIssuer | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        # Every request body received and every JSON answered, for contract tests: (operation, body).
        self.recorded_requests: list[tuple[str, dict]] = []
        self.recorded_responses: list[tuple[str, int, dict]] = []
        self.record = False

    # ---------------------------------------------------------------- lifecycle
    @property
    def endpoint(self) -> str | None:
        return f"https://127.0.0.1:{self._server.server_port}" if self._server else None

    def start(self) -> dict:
        tls = self._context.tls
        self._server = make_server(
            "127.0.0.1",
            self._port,
            self._wsgi,
            threaded=True,
            request_handler=_QuietHandler,
            ssl_context=(str(tls.cert), str(tls.key)),
        )
        self._thread = serve_in_thread(self._server, "mc-sandbox-gcp")
        token_uri = f"{self.endpoint}/token"
        self.tokens = TokenIssuer([self.account], token_uri)
        state_dir = self._context.state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        key_file = state_dir / KEY_FILE
        write_file(key_file, json.dumps(self.account.key_file(token_uri), indent=2), private=True)
        self.gke.start()
        self.compute.start()
        self._runtime.register_authenticator(TOKEN_PREFIX, self.tokens.authenticate)
        return {
            "api_endpoint": self.endpoint,
            "compute_endpoint": f"{self.endpoint}/compute/v1",
            "project": self.project,
            "service_account_file": str(key_file),
            "service_account_email": self.account.email,
            "token_uri": token_uri,
            "ca_bundle": str(tls.ca),
        }

    def stop(self) -> None:
        if self._server is not None:
            stop_server(self._server, self._thread)
            self._server = self._thread = None
        self.gke.stop()
        self.compute.stop()

    def reset(self) -> None:
        self.gke.reset()
        self.compute.reset()

    def status(self) -> dict:
        gke = self.gke.status()
        return {
            "endpoint": self.endpoint,
            "project": self.project,
            "service_account": self.account.email,
            "clusters": gke["clusters"],
            "operations_in_progress": gke["operations_in_progress"],
            "compute": self.compute.status(),
        }

    # ---------------------------------------------------------------- the gateway
    def _wsgi(self, environ, start_response):
        request = Request(environ)
        try:
            response = self._dispatch(request)
        except ApiError as exc:
            response = exc.response()
        except Exception:
            log.exception("GCP request %s %s failed", request.method, request.path)
            response = ApiError(500, "Internal error encountered.").response()
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        path = unquote(request.path)
        if path == "/token" and request.method == "POST":
            return self._token(request)
        if path.startswith("/v1/"):
            service, rest = "gke", path[len("/v1/") :]
            match = next(
                (
                    (operation, found.groupdict())
                    for method, pattern, operation in _GKE
                    if method == request.method and (found := pattern.fullmatch(rest))
                ),
                None,
            )
        elif path.startswith("/compute/v1/"):
            service, rest = "compute", path[len("/compute/v1/") :]
            match = self.compute.route(request.method, rest)
        else:
            raise ApiError(404, f"The requested URL {path} was not found on this server.")
        if match is None:
            raise ApiError(404, f"Method not found: {request.method} {path}", status="NOT_FOUND")
        operation, params = match
        email = self._authenticate(request)
        if params.get("project") != self.project:
            raise ApiError(
                403,
                f"Permission denied on resource project {params.get('project')} for {email}.",
                status="PERMISSION_DENIED",
            )
        region = params.get("location") or params.get("region") or params.get("zone")
        decision = self._faults.apply("gcp", operation, region)
        if decision.status is not None:
            raise fault(decision.status, decision.retry_after)
        body = {}
        if request.method in ("POST", "PUT", "PATCH") and request.content_length:
            try:
                body = json.loads(request.get_data())
            except ValueError:
                raise ApiError(400, "Invalid JSON payload received.") from None
            if not isinstance(body, dict):
                raise ApiError(400, "Invalid JSON payload received: expected an object.")
        query = dict(parse_qsl(request.query_string.decode()))
        if self.record:
            self.recorded_requests.append((f"{service}:{operation}", body))
        if service == "gke":
            ints = "enum-encoding=int" in query.get("$alt", "")
            answer = self.gke.handle(operation, params, body, ints)
        else:
            answer = self.compute.handle(operation, params, query, body)
        if self.record:
            self.recorded_responses.append((f"{service}:{operation}", 200, answer))
        return Response(json.dumps(answer), status=200, content_type="application/json")

    def _authenticate(self, request: Request) -> str:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(
                401,
                "Request is missing required authentication credential. Expected OAuth 2 access token, login "
                "cookie or other valid authentication credential.",
            )
        email = self.tokens.identify(token.strip())
        if email is None:
            raise ApiError(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
                "other valid authentication credential.",
            )
        return email

    def _token(self, request: Request) -> Response:
        decision = self._faults.apply("gcp", "Token", None)
        if decision.status is not None:
            raise fault(decision.status, decision.retry_after)
        try:
            answer = self.tokens.grant(dict(request.form))
        except OAuthError as exc:
            return Response(json.dumps(exc.body()), status=exc.status, content_type="application/json")
        return Response(
            json.dumps(answer), status=200, content_type="application/json", headers={"Cache-Control": "no-store"}
        )
