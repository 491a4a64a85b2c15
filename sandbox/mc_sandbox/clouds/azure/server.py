"""The sandbox's Azure: Entra ID and Azure Resource Manager on one HTTPS port.

azure-core sends bearer tokens over TLS only, so the port speaks TLS with the sandbox's own CA
(clients pass `connection_verify=<ca_bundle>` or set REQUESTS_CA_BUNDLE). Paths under
`/<tenant>/...` and `/common/...` are the authority (azure-identity's `authority=`), everything
under `/subscriptions/...` is ARM (the SDKs' `base_url=`). Every ARM call goes through the fault
framework first, then authentication, then the resource provider.

Resource providers: Microsoft.Resources (resource groups), Microsoft.ContainerService
(aks: managed clusters with real control planes) and Microsoft.Network (network; vpn: gateways and
connections, tunnels through the sandbox's VPN fabric).
"""

from __future__ import annotations

import json
import logging
import math
import ssl
import threading
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from mc_sandbox.clouds.azure.aks import Aks
from mc_sandbox.clouds.azure.arm import ArmError, ArmState, Request, Response, list_locations
from mc_sandbox.clouds.azure.auth import Entra, EntraCredentials, TokenError
from mc_sandbox.clouds.azure.network import Network
from mc_sandbox.clouds.azure.vpn import TYPES as VPN_TYPES
from mc_sandbox.clouds.azure.vpn import Vpn
from mc_sandbox.core.faults import FaultManager
from mc_sandbox.core.runtime import CloudContext
from mc_sandbox.core.scheduler import Scheduler
from mc_sandbox.core.serving import serve_in_thread, stop_server

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
_FAULT_ERRORS = {
    429: ("TooManyRequests", "The request is being throttled."),
    500: ("InternalServerError", "The server encountered an internal error. Please retry the request."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Please retry the request."),
}
# Canonical namespaces (ARM matches them case-insensitively) and each one's provider name.
_NAMESPACES = {"microsoft.containerservice": "Microsoft.ContainerService", "microsoft.network": "Microsoft.Network"}
_VERBS = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete", "POST": "action"}


class AzureCloud:
    """Implements runtime.Cloud for Azure (see the module docstring)."""

    def __init__(
        self,
        context: CloudContext,
        *,
        port: int = 0,
        subscription_id: str | None = None,
        credentials: EntraCredentials | None = None,
        retry_after: float = 1,
    ):
        self.context = context
        self._faults: FaultManager = context.faults
        self._port = port
        self.subscription_id = subscription_id or str(uuid.uuid4())
        self.entra = Entra(credentials)
        self.arm = ArmState(self.subscription_id, retry_after=retry_after)
        self._scheduler = Scheduler(name="azure")
        self.aks = Aks(self.arm, context.runtime, self._schedule, context.time_factor, faults=context.faults)
        self.network = Network(self.arm, allocate=context.vpn.allocate if context.vpn else None)
        self.vpn = Vpn(self.arm, self.network, context.vpn, self._schedule, context.time_factor)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # The latest ARM write bodies (method, path, body), for contract tests.
        self.received: deque[dict] = deque(maxlen=1000)

    # ---------------------------------------------------------------- lifecycle
    @property
    def base_url(self) -> str | None:
        return f"https://{LOOPBACK}:{self._server.server_port}" if self._server else None

    def start(self) -> dict:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(str(self.context.tls.cert), str(self.context.tls.key))
        self._server = _TlsServer((LOOPBACK, self._port), self._handler(), tls)
        self._thread = serve_in_thread(self._server, "mc-sandbox-azure")
        self._scheduler.start()
        self.entra.authority = self.base_url
        self.entra.arm_audience = self.base_url
        creds = self.entra.credentials
        return {
            "base_url": self.base_url,
            "authority_host": self.base_url,
            "credential_scope": "https://management.azure.com/.default",
            "ca_bundle": str(self.context.tls.ca),
            "tenant_id": creds.tenant_id,
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "subscription_id": self.subscription_id,
        }

    def stop(self) -> None:
        if self._server is not None:
            stop_server(self._server, self._thread)
            self._server = self._thread = None
        self._scheduler.stop()

    def reset(self) -> None:
        """Forget every resource and operation and delete the control planes started here."""
        self.arm.reset()
        self._scheduler.clear()
        self.aks.reset()
        self.network.reset()
        self.vpn.reset()
        self.received.clear()

    def status(self) -> dict:
        with self.arm.lock:
            return {
                "base_url": self.base_url,
                "subscription_id": self.subscription_id,
                "resource_groups": sorted(g["name"] for g in self.arm.groups.values()),
                "clusters": self.aks.status(),
                "network": self.network.status(),
                "operations_in_progress": sum(op.status == "InProgress" for op in self.arm.operations.values()),
            }

    def _schedule(self, delay: float, job) -> None:
        self._scheduler.call_later(delay, job)

    # ---------------------------------------------------------------- requests
    def _handler(self):
        cloud = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _send(self, status: int, body, headers: dict | None = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                request_id = str(uuid.uuid4())
                self.send_header("x-ms-request-id", request_id)
                self.send_header(
                    "x-ms-correlation-request-id", self.headers.get("x-ms-correlation-request-id") or request_id
                )
                if self.headers.get("x-ms-client-request-id"):
                    self.send_header("x-ms-client-request-id", self.headers["x-ms-client-request-id"])
                if body is not None:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _dispatch(self) -> None:
                raw = self._body()
                try:
                    status, body, headers = cloud._serve(
                        self.command, self.path, self.headers.get("Authorization"), raw
                    )
                except Exception as exc:  # a bug: answer like ARM would, keep serving
                    log.exception("azure: %s %s failed", self.command, self.path)
                    status, body, headers = 500, {"error": {"code": "InternalServerError", "message": str(exc)}}, {}
                self._send(status, body, headers)

            do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = _dispatch

            def log_message(self, format, *args):
                log.debug("azure: " + format, *args)

        return Handler

    def _serve(self, method: str, target: str, authorization: str | None, raw: bytes) -> tuple[int, object, dict]:
        split = urlsplit(target)
        path = unquote(split.path)
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        if not path.lower().startswith(("/subscriptions", "/providers")):
            return self._serve_authority(method, path, authorization, raw)
        try:
            response = self._serve_arm(method, path, query, authorization, raw)
        except ArmError as exc:
            return exc.status, exc.body(), exc.headers
        return response.status, response.body, response.headers

    def _serve_authority(self, method: str, path: str, authorization: str | None, raw: bytes):
        if not self.entra.handles(path):
            return 404, {"error": "not_found", "error_description": f"AADSTS90002: no such endpoint {path}"}, {}
        try:
            if method == "POST":
                return 200, self.entra.token(path, raw, authorization), {"Cache-Control": "no-store"}
            if method == "GET":
                status, body = self.entra.get(path)
                return status, body, {}
        except TokenError as exc:
            return exc.status, exc.body(), {}
        return 405, {"error": "invalid_request", "error_description": f"{method} is not supported"}, {}

    def _serve_arm(self, method, path, query, authorization, raw) -> Response:
        parts = [p for p in path.split("/") if p]
        low = [p.lower() for p in parts]
        request = self._route(method, path, parts, low, query.get("api-version", ""))
        operation = self._operation_name(request, method)
        region = self._region(request)
        decision = self._faults.apply("azure", operation, region)
        if decision.status is not None:
            code, message = _FAULT_ERRORS[decision.status]
            headers = {}
            if decision.retry_after is not None:
                headers["Retry-After"] = str(math.ceil(decision.retry_after))
            raise ArmError(decision.status, code, f"{message} (injected by the sandbox's fault rules)", headers)
        self._authenticate(authorization)
        if not request.api_version:
            raise ArmError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if parts[1].lower() != self.subscription_id.lower():
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{parts[1]}' could not be found.")
        if method in ("PUT", "PATCH", "POST") and raw:
            try:
                request.body = json.loads(raw)
            except ValueError:
                raise ArmError(
                    400, "InvalidRequestContent", "The request content was invalid and could not be deserialized."
                ) from None
            self.received.append({"method": method, "path": path, "body": request.body})
        with self.arm.lock:
            return self._provider(request)

    def _route(self, method, path, parts, low, api_version) -> Request:
        unknown = ArmError(404, "InvalidResourceType", f"No resource type matches the path '{path}'.")
        if len(parts) < 2 or low[0] != "subscriptions":
            raise unknown
        group = None
        rest, lrest = parts[2:], low[2:]
        if not rest:
            namespace, segments = "subscription", []
        elif lrest == ["locations"]:  # Subscriptions_ListLocations
            namespace, segments = "subscription", ["locations"]
        elif lrest[0] == "resourcegroups":
            group = rest[1] if len(rest) > 1 else None
            after, lafter = rest[2:], lrest[2:]
            if not after:
                namespace, segments = "Microsoft.Resources", []
            elif lafter == ["resources"]:  # Resources_ListByResourceGroup
                namespace, segments = "Microsoft.Resources", ["resources"]
            elif lafter[0] == "providers" and len(after) >= 3:
                namespace, segments = after[1], after[2:]
            else:
                raise unknown
        elif lrest[0] == "providers" and len(rest) >= 3:
            namespace, segments = rest[1], rest[2:]
        elif lrest[0] == "operationresults" and len(rest) == 2:
            namespace, segments = "Microsoft.Resources", ["operationresults", rest[1]]
        else:
            raise unknown
        return Request(method, path, api_version, None, self.subscription_id, group, segments, self.base_url, namespace)

    def _operation_name(self, req: Request, method: str) -> str:
        """The fault framework's name for a call, like an Azure RBAC operation: <ns>/<type>/<verb>."""
        namespace = _NAMESPACES.get(req.namespace.lower(), req.namespace)
        if namespace == "Microsoft.Resources":
            kind = {"operationresults": "operationresults", "resources": "resources"}.get(
                (req.segments[:1] or [""])[0], "resourceGroups"
            )
            return f"Microsoft.Resources/{kind}/{_VERBS.get(method, 'read')}"
        if namespace == "subscription":
            return "Microsoft.Resources/subscriptions/" + ("locations/read" if req.segments else "read")
        types = req.segments[0::2]
        low = req.lower
        if low[:1] == ["locations"] and len(low) >= 3:
            return f"{namespace}/locations/{req.segments[2]}/read"
        if len(req.segments) % 2 == 1 and len(req.segments) > 2 and method == "POST":  # .../<name>/<action>
            return f"{namespace}/{'/'.join(types)}/action"
        return f"{namespace}/{'/'.join(types)}/{_VERBS.get(method, 'read')}"

    def _group_resources(self, req: Request) -> Response:
        """GET .../resourceGroups/{group}/resources: every resource the group holds."""
        key = (req.group or "").lower()
        if key not in self.arm.groups:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{req.group}' could not be found.")
        found = [
            {"id": r["id"], "name": r["name"], "type": r["type"], "location": r["location"]}
            for (group, _, _), r in sorted(self.network.resources.items())
            if group == key
        ]
        found += [
            {"id": c.resource["id"], "name": c.name, "type": c.resource["type"], "location": c.location}
            for (group, _), c in sorted(self.aks.clusters.items())
            if group == key
        ]
        return Response(200, {"value": found})

    def _region(self, req: Request) -> str | None:
        with self.arm.lock:
            if req.namespace.lower() == "microsoft.containerservice" and req.group and len(req.segments) >= 2:
                record = self.aks.clusters.get((req.group.lower(), req.segments[1].lower()))
                return record.location if record else None
        return None

    def _authenticate(self, authorization: str | None) -> dict:
        def fail(code: str, message: str) -> ArmError:
            challenge = (
                f'Bearer authorization_uri="{self.base_url}/{self.entra.credentials.tenant_id}", '
                f'error="invalid_token", error_description="{message}"'
            )
            return ArmError(401, code, message, {"WWW-Authenticate": challenge})

        if not authorization:
            raise fail("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise fail(
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is provided in an invalid format.",
            )
        claims, why = self.entra.verify(token.strip())
        if claims is None:
            messages = {
                "ExpiredAuthenticationToken": "The access token expiry UTC time is earlier than current UTC time.",
                "InvalidAuthenticationTokenTenant": "The access token is from the wrong issuer.",
                "InvalidAuthenticationToken": "The access token is invalid.",
            }
            raise fail(why, messages[why])
        return claims

    def _provider(self, req: Request) -> Response:
        namespace = req.namespace.lower()
        low = req.lower
        if namespace == "subscription" and low == ["locations"]:
            return Response(200, {"value": list_locations(self.subscription_id)})
        if namespace == "subscription":
            return Response(
                200,
                {
                    "id": f"/subscriptions/{self.subscription_id}",
                    "subscriptionId": self.subscription_id,
                    "tenantId": self.entra.credentials.tenant_id,
                    "displayName": "mc-sandbox",
                    "state": "Enabled",
                },
            )
        if namespace == "microsoft.resources":
            if low[:1] == ["operationresults"] and len(low) == 2:
                return self.arm.subscription_operation_result(req, req.segments[1])
            if low == ["resources"]:
                return self._group_resources(req)
            return self.arm.handle_groups(req, self._schedule_now)
        if low[:1] == ["locations"] and len(low) == 4 and low[2] in ("operations", "operationresults"):
            return self.vpn.result(req) or self.arm.operation_status(req)
        if not low:
            raise ArmError(404, "InvalidResourceType", f"No resource type matches the path '{req.path}'.")
        if namespace == "microsoft.containerservice":
            return self.aks.handle(req)
        if namespace == "microsoft.network" and low[0] in VPN_TYPES:
            return self.vpn.handle(req)
        if namespace == "microsoft.network":
            return self.network.handle(req)
        raise ArmError(
            404,
            "InvalidResourceType",
            f"The resource type '{req.segments[0]}' could not be found in the namespace '{req.namespace}' for api "
            f"version '{req.api_version}'.",
        )

    def _schedule_now(self, job) -> None:
        self._schedule(0, job)


class _TlsServer(ThreadingHTTPServer):
    """A threading HTTP server that does the TLS handshake on the request thread."""

    daemon_threads = True

    def __init__(self, address, handler, tls: ssl.SSLContext):
        self._tls = tls
        super().__init__(address, handler)

    def get_request(self):
        sock, address = super().get_request()
        return self._tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def finish_request(self, request, client_address):
        try:
            request.settimeout(30)
            request.do_handshake()
        except (OSError, ssl.SSLError) as exc:
            log.debug("azure: TLS handshake with %s failed: %s", client_address, exc)
            return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        log.debug("azure: connection from %s ended with an error", client_address, exc_info=True)
