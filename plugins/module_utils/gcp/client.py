# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Google Cloud connection: credentials, project, lazily built REST clients, one retry policy.

Every call to Google goes through :meth:`Connection.call` (or :meth:`Connection.rpc`, which also
turns the SDK's own retries off with ``retry=None`` and bounds each request with a timeout), so
google-api-core and google-auth exceptions become typed :class:`FabricError` s naming the cloud,
the resource and the call, and the one :class:`Retrier` decides what is retried.

Credentials, in this order: ``gcp_access_token`` (used as it is), ``gcp_service_account_contents``,
``gcp_service_account_file`` (a service-account key, or any credentials file google-auth reads),
then Application Default Credentials. The project is ``gcp_project``, else the one the
credentials name.

Endpoint and CA bundle: ``gcp_api_endpoint`` becomes the ``api_endpoint`` client option of the GKE
and Compute clients (REST transport; both APIs live under one host there). ``gcp_ca_bundle`` is
applied without touching ``os.environ``: every ``requests`` session the clients use (the API session
and the session that refreshes tokens) gets an HTTP adapter that verifies TLS with the bundle
(overriding ``REQUESTS_CA_BUNDLE``) and makes no connection-level retries of its own.

google-auth >= 2.62 looks up a service account's "regional access boundary" after each token
refresh, in a background thread, at a fixed Google host. google-auth has no supported switch to
turn it off (the old ``GOOGLE_AUTH_TRUST_BOUNDARY_ENABLED`` variable is documented as having no
effect; only credentials of a non-default universe domain and ``*.rep.googleapis.com`` endpoints
skip it), so the collection leaves it as it is: against real Google it is the intended behaviour;
offline, or with a CA bundle that does not trust Google's certificates, the lookup fails in its
thread without sending the token, does not delay or fail any call, and backs off for 15 minutes.
"""

from __future__ import annotations

import importlib
import json
import os
import threading

from ansible_collections.multicloud.fabric.plugins.module_utils.common.connection import BaseConnection
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    VALIDATION,
    FabricError,
    ValidationError,
)

try:
    import requests
    import requests.adapters
except ImportError as exc:  # pragma: no cover - requests comes with google-auth[requests]
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

try:
    import google.auth
    import google.auth.exceptions
    from google.auth.transport.requests import AuthorizedSession
    from google.auth.transport.requests import Request as AuthRequest
    from google.oauth2 import credentials as oauth2_credentials
    from google.oauth2 import service_account
except ImportError as exc:  # pragma: no cover - exercised through HAS_GOOGLE_AUTH
    HAS_GOOGLE_AUTH = False
    GOOGLE_AUTH_IMPORT_ERROR = exc
else:
    HAS_GOOGLE_AUTH = True
    GOOGLE_AUTH_IMPORT_ERROR = None

try:
    from google.cloud import container_v1
    from google.cloud.container_v1.services.cluster_manager.transports.rest import ClusterManagerRestTransport
except ImportError as exc:  # pragma: no cover - exercised through HAS_CONTAINER
    HAS_CONTAINER = False
    CONTAINER_IMPORT_ERROR = exc
else:
    HAS_CONTAINER = True
    CONTAINER_IMPORT_ERROR = None

try:
    from google.api_core import exceptions as api_exceptions
except ImportError as exc:  # pragma: no cover - google-api-core comes with every Google Cloud SDK package
    api_exceptions = None
    API_CORE_IMPORT_ERROR = exc
else:
    API_CORE_IMPORT_ERROR = None

# google-cloud-compute takes seconds to import and only networks need it: imported on first use
# (cluster tasks and the inventory plugin never load it).
_COMPUTE_SDK = {}


def _compute_sdk(module):
    """``google.cloud.compute_v1`` or one of its modules, imported once."""
    if module not in _COMPUTE_SDK:
        try:
            _COMPUTE_SDK[module] = importlib.import_module(module)
        except ImportError as exc:
            raise _missing(("google-cloud-compute",), exc) from None
    return _COMPUTE_SDK[module]


CLOUD = "gcp"
DEFAULT_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
# Seconds between two polls of a long operation on real Google Cloud; modules pass smaller values
# for the sandbox through ``poll_interval``.
DEFAULT_POLL_INTERVAL = 10.0
# Upper bound of one HTTP request (the SDK's own per-method timeouts are replaced by this).
DEFAULT_REQUEST_TIMEOUT = 60.0
# Upper bound of one operations.wait call (Compute answers it within about two minutes).
OPERATION_WAIT_TIMEOUT = 150.0
# Compute resources name each other by these URLs (selfLink), whatever endpoint served them.
COMPUTE_BASE = "https://www.googleapis.com/compute/v1/"
# Where Compute's REST API is served when gcp_api_endpoint is not set (the SDK's default endpoint).
COMPUTE_ENDPOINT = "compute.googleapis.com"

_CREDENTIAL_OPTIONS = (
    "gcp_access_token (environment GCP_ACCESS_TOKEN), gcp_service_account_contents (GCP_SERVICE_ACCOUNT_CONTENTS) "
    "or gcp_service_account_file (GCP_SERVICE_ACCOUNT_FILE, GOOGLE_APPLICATION_CREDENTIALS)"
)
_CREDENTIALS_ADVICE = (
    f"set {_CREDENTIAL_OPTIONS}, or run where Application Default Credentials exist "
    "(gcloud auth application-default login, workload identity, or a Compute Engine service account)"
)
_PROJECT_ADVICE = "set gcp_project (environment GCP_PROJECT, GOOGLE_CLOUD_PROJECT or CLOUDSDK_CORE_PROJECT)"


def _missing(packages, error):
    return FabricError(
        f"the Google Cloud SDK is not installed ({error})",
        cloud=CLOUD,
        kind=VALIDATION,
        advice=f"install the Python packages {', '.join(packages)} on the controller "
        f"(pip install {' '.join(packages)})",
    )


if HAS_REQUESTS:

    class _VerifyingAdapter(requests.adapters.HTTPAdapter):
        """Verifies TLS with ``ca_bundle`` whatever the session or the environment say, and leaves
        every retry to the collection's Retrier (``max_retries=0``)."""

        __attrs__ = (*requests.adapters.HTTPAdapter.__attrs__, "ca_bundle")

        def __init__(self, ca_bundle=None):
            self.ca_bundle = ca_bundle
            super().__init__(max_retries=0)

        def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):  # noqa: PLR0917
            if self.ca_bundle:
                verify = self.ca_bundle
            return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)


def to_dict(message):
    """A plain dict (proto field names, enum names) of an SDK message; dicts pass through."""
    if message is None or isinstance(message, dict):
        return message
    cls = type(message)
    try:
        return cls.to_dict(message, use_integers_for_enums=False, always_print_fields_with_no_presence=False)
    except TypeError:  # proto-plus < 1.24
        return cls.to_dict(message, use_integers_for_enums=False, including_default_value_fields=False)


def self_link(path):
    """The Compute URL of ``path`` (``projects/p/global/networks/n``), as Compute spells selfLinks."""
    return COMPUTE_BASE + path.lstrip("/")


def resource_path(reference):
    """``projects/...`` path of a Compute URL or path; a bare name stays as it is."""
    reference = str(reference or "")
    marker = reference.find("projects/")
    return reference[marker:] if marker >= 0 else reference


def same_resource(a, b):
    """True when two references (URL, ``projects/...`` path or bare name) name the same resource.

    A bare name matches any path ending in that name; two paths must be equal.
    """
    if not a or not b:
        return False
    pa, pb = resource_path(a).rstrip("/"), resource_path(b).rstrip("/")
    if "/" in pa and "/" in pb:
        return pa == pb
    return pa.rsplit("/", 1)[-1] == pb.rsplit("/", 1)[-1]


class Connection(BaseConnection):
    """Credentials, project and REST clients of Google Cloud for one task.

    ``params`` holds the ``gcp_*`` provider options (``common/args.py`` ``GCP_OPTIONS``). Credentials
    and project are resolved on first use (:attr:`credentials`, :attr:`project`); clients are built
    on first use and cached.
    """

    cloud = CLOUD

    def __init__(
        self,
        params,
        retrier,
        region=None,
        *,
        poll_interval=DEFAULT_POLL_INTERVAL,
        request_timeout=DEFAULT_REQUEST_TIMEOUT,
    ):
        if not (HAS_GOOGLE_AUTH and HAS_REQUESTS):
            raise _missing(("google-auth", "requests"), GOOGLE_AUTH_IMPORT_ERROR or REQUESTS_IMPORT_ERROR)
        self.params = dict(params or {})
        self.retrier = retrier
        self.region = region
        self.poll_interval = float(poll_interval)
        self.request_timeout = float(request_timeout)
        ca_bundle = self.params.get("gcp_ca_bundle")
        if ca_bundle and not os.path.isfile(ca_bundle):
            raise ValidationError(
                "gcp_ca_bundle", f"the CA bundle {ca_bundle!r} is not a readable file (environment GCP_CA_BUNDLE)"
            )
        self.ca_bundle = ca_bundle or None
        self.api_endpoint = self.params.get("gcp_api_endpoint") or None
        self._credentials = None
        self._project = None
        self._static_token = False
        self._clients = {}
        self._clients_lock = threading.RLock()

    # ------------------------------------------------------------------ credentials and project

    @property
    def credentials(self):
        """google-auth credentials; raises :class:`ValidationError` when none can be found."""
        if self._credentials is None:
            self._resolve()
        return self._credentials

    @property
    def project(self):
        """The project ID: ``gcp_project``, else the credentials' project."""
        if self.params.get("gcp_project"):
            return self.params["gcp_project"]
        if self._credentials is None:
            self._resolve()
        if not self._project:
            raise ValidationError(
                "gcp_project", "no Google Cloud project was given and the credentials name none", advice=_PROJECT_ADVICE
            )
        return self._project

    def _scopes(self):
        return list(self.params.get("gcp_scopes") or DEFAULT_SCOPES)

    def _resolve(self):
        params = self.params
        project = params.get("gcp_project") or None
        found_project = None
        if params.get("gcp_access_token"):
            credentials = oauth2_credentials.Credentials(token=params["gcp_access_token"])
            self._static_token = True
        elif params.get("gcp_service_account_contents"):
            contents = params["gcp_service_account_contents"]
            try:
                info = contents if isinstance(contents, dict) else json.loads(contents)
            except ValueError as exc:
                raise ValidationError(
                    "gcp_service_account_contents",
                    f"is not a JSON service-account key ({exc.__class__.__name__} at position "
                    f"{getattr(exc, 'pos', '?')})",
                    advice="pass the key file's content, e.g. lookup('file', 'key.json')",
                ) from None
            credentials, found_project = self._from_info(info, "gcp_service_account_contents")
        elif params.get("gcp_service_account_file"):
            path = params["gcp_service_account_file"]
            try:
                with open(path, encoding="utf-8") as handle:
                    info = json.load(handle)
            except OSError as exc:
                raise ValidationError(
                    "gcp_service_account_file",
                    f"cannot read {path!r}: {exc.strerror or exc}",
                    advice="check the path (option or GCP_SERVICE_ACCOUNT_FILE / GOOGLE_APPLICATION_CREDENTIALS)",
                ) from None
            except ValueError:
                raise ValidationError("gcp_service_account_file", f"{path!r} is not a JSON credentials file") from None
            credentials, found_project = self._from_info(info, "gcp_service_account_file")
        else:
            try:
                credentials, found_project = google.auth.default(scopes=self._scopes())
            except google.auth.exceptions.DefaultCredentialsError:
                raise ValidationError(
                    "gcp_service_account_file",
                    f"no Google Cloud credentials were given ({_CREDENTIAL_OPTIONS}) and no Application Default "
                    "Credentials were found",
                    advice=_CREDENTIALS_ADVICE,
                ) from None
        self._credentials = credentials
        self._project = project or found_project or None

    def _from_info(self, info, option):
        if not isinstance(info, dict):
            raise ValidationError(option, "expected a JSON object (a service-account key)")
        kind = info.get("type")
        try:
            if kind == "service_account":
                credentials = service_account.Credentials.from_service_account_info(info, scopes=self._scopes())
                return credentials, info.get("project_id")
            credentials, project = google.auth.load_credentials_from_dict(info, scopes=self._scopes())
        except (ValueError, google.auth.exceptions.GoogleAuthError) as exc:
            # google-auth's messages name missing fields or the wrong type, never key material.
            raise ValidationError(
                option, f"is not usable Google credentials ({type(exc).__name__}: {exc})", advice=_CREDENTIALS_ADVICE
            ) from None
        return credentials, project or info.get("project_id") or info.get("quota_project_id")

    # ------------------------------------------------------------------ HTTP sessions and clients

    def _adapter(self):
        return _VerifyingAdapter(self.ca_bundle)

    def _harden(self, session):
        """Mount the verifying, non-retrying adapter on a requests session."""
        for prefix in ("https://", "http://"):
            session.mount(prefix, self._adapter())
        return session

    def session(self):
        """A new requests session that verifies with the CA bundle and never retries by itself."""
        return self._harden(requests.Session())

    def auth_request(self):
        """A google-auth transport request over :meth:`session` (for refreshing credentials)."""
        return AuthRequest(self.session())

    def _transport(self, transport_cls):
        """A transport factory for a client's ``transport=`` argument: the SDK's REST transport with
        both of its sessions (API calls and token refresh) hardened by :meth:`_harden`."""

        def build(**kwargs):
            transport = transport_cls(**kwargs)
            # The REST transports build their AuthorizedSession themselves and take no session
            # argument; mounting an adapter on it is the documented requests extension point.
            session = transport._session  # pylint: disable=protected-access
            self._harden(session)
            refresh = getattr(session, "_auth_request", None)
            if refresh is not None and getattr(refresh, "session", None) is not None:
                self._harden(refresh.session)
            return transport

        return build

    def _client(self, name, client_cls, transport_cls):
        with self._clients_lock:  # one client per service even when threads share the connection
            if name not in self._clients:
                options = {"api_endpoint": self.api_endpoint} if self.api_endpoint else None
                self._clients[name] = client_cls(
                    credentials=self.credentials, transport=self._transport(transport_cls), client_options=options
                )
        return self._clients[name]

    @property
    def container(self):
        """google-cloud-container ``ClusterManagerClient`` (GKE v1, REST)."""
        if not HAS_CONTAINER:
            raise _missing(("google-cloud-container",), CONTAINER_IMPORT_ERROR)
        return self._client("container", container_v1.ClusterManagerClient, ClusterManagerRestTransport)

    def _compute(self, service, client_name):
        sdk = _compute_sdk("google.cloud.compute_v1")
        transports = _compute_sdk(f"google.cloud.compute_v1.services.{service}.transports.rest")
        transport_cls = getattr(transports, client_name.replace("Client", "RestTransport"))
        return self._client(service, getattr(sdk, client_name), transport_cls)

    def compute(self, service):
        """The Compute Engine client of ``service`` (``vpn_gateways`` is ``VpnGatewaysClient``)."""
        return self._compute(service, "".join(part.title() for part in service.split("_")) + "Client")

    @property
    def networks(self):
        return self._compute("networks", "NetworksClient")

    @property
    def subnetworks(self):
        return self._compute("subnetworks", "SubnetworksClient")

    def locations(self, project=None):
        """``{region: [zones]}`` of the project from Compute ``regions.list`` (each region names its zones).

        A plain REST call through google-auth's session (the endpoint, CA bundle and credentials of
        every other client): google-cloud-compute takes about a second to import, and a GKE task
        needs nothing else of it. Each page is read under the retrier; errors are google-api-core's,
        as the SDK raises them.
        """
        if api_exceptions is None:
            raise _missing(("google-api-core",), API_CORE_IMPORT_ERROR)
        project = project or self.project
        url = self._compute_url(f"projects/{project}/regions")
        resource = f"regions of project {project}"
        found = {}
        token = None
        while True:
            body = self.call(
                self._get_json, url, {"pageToken": token} if token else None, resource=resource, call="regions.list"
            )
            for region in body.get("items") or ():
                found[region["name"]] = sorted(resource_path(z).rsplit("/", 1)[-1] for z in region.get("zones") or ())
            token = body.get("nextPageToken")
            if not token:
                return found

    def _compute_url(self, path):
        host = self.api_endpoint or COMPUTE_ENDPOINT
        if not host.startswith(("https://", "http://")):
            host = f"https://{host}"  # as the SDK's REST transports read an endpoint without a scheme
        return f"{host.rstrip('/')}/compute/v1/{path}"

    def _rest_session(self):
        """google-auth's session for plain REST calls, made once like the SDK clients (under their lock)."""
        with self._clients_lock:
            if "rest" not in self._clients:
                credentials = self.credentials
                if isinstance(credentials, service_account.Credentials):
                    # As the SDK's clients do: a self-signed JWT, no token request.
                    credentials = credentials.with_always_use_jwt_access(True)
                session = AuthorizedSession(credentials, auth_request=self.auth_request())
                self._clients["rest"] = self._harden(session)
        return self._clients["rest"]

    def _get_json(self, url, query=None):
        response = self._rest_session().get(url, params=query, timeout=self.request_timeout)
        if response.status_code >= 400:
            raise api_exceptions.from_http_response(response)
        return response.json()

    @property
    def global_operations(self):
        return self._compute("global_operations", "GlobalOperationsClient")

    @property
    def region_operations(self):
        return self._compute("region_operations", "RegionOperationsClient")

    # ------------------------------------------------------------------ calls

    def rpc(self, method, *, resource=None, call=None, **kwargs):
        """Call an SDK method with its own retries off and the request timeout, under :meth:`call`."""
        kwargs.setdefault("retry", None)
        kwargs.setdefault("timeout", self.request_timeout)
        return self.call(method, resource=resource, call=call, **kwargs)

    def rpc_list(self, method, *, resource=None, call=None, **kwargs):
        """Every item of a paginated list method (all pages fetched inside one retried call)."""
        kwargs.setdefault("retry", None)
        kwargs.setdefault("timeout", self.request_timeout)
        return self.call(lambda: list(method(**kwargs)), resource=resource, call=call)

    def access_token(self):
        """An OAuth2 access token of the connection's credentials, refreshed now (a given
        ``gcp_access_token`` is returned as it is)."""
        credentials = self.credentials
        if not self._static_token:
            self.call(credentials.refresh, self.auth_request(), resource="credentials", call="token refresh")
        return credentials.token

    # ------------------------------------------------------------------ waiting

    def wait_compute_operation(self, operation, *, project, region=None, resource=None, deadline=None):
        """Wait for a Compute operation (global, or regional when ``region``) to be DONE.

        Calls ``globalOperations.wait`` / ``regionOperations.wait`` (as gcloud does), which Compute
        answers as soon as the operation is done or after about two minutes, so a run goes on the
        moment an operation ends instead of at its next poll; each call is bounded by what is left
        of the deadline. The clients are built with the same options as every other client (the
        SDK's ExtendedOperation.result() is not used: it polls through clients built without our
        endpoint). Fails with the operation's error messages.
        """
        first = {"op": to_dict(operation)}
        name = first["op"].get("name")
        deadline = deadline or self.deadline()

        def fetch():
            known = first.pop("op", None)
            if known is not None and known.get("status") == "DONE":
                return known
            timeout = max(1.0, min(OPERATION_WAIT_TIMEOUT, deadline.remaining()))
            if region:
                op = self.rpc(
                    self.region_operations.wait,
                    project=project,
                    region=region,
                    operation=name,
                    resource=resource,
                    call="regionOperations.wait",
                    timeout=timeout,
                )
            else:
                op = self.rpc(
                    self.global_operations.wait,
                    project=project,
                    operation=name,
                    resource=resource,
                    call="globalOperations.wait",
                    timeout=timeout,
                )
            return to_dict(op)

        waiter = self.waiter(
            resource or f"operation {name}",
            state_of=compute_operation_state,
            success=("DONE",),
            failure=("FAILED",),
            failure_message=compute_operation_error,
        )
        return self.wait(waiter, fetch, deadline)


def compute_operation_state(op):
    """``DONE``, ``FAILED`` (done with errors), ``RUNNING`` or ``PENDING`` of a Compute operation dict."""
    status = op.get("status") or "PENDING"
    if status == "DONE" and ((op.get("error") or {}).get("errors") or (op.get("http_error_status_code") or 0) >= 400):
        return "FAILED"
    return status


def compute_operation_error(op):
    """The error messages of a failed Compute operation dict, joined."""
    errors = (op.get("error") or {}).get("errors") or []
    messages = [f"{e.get('code')}: {e.get('message')}" if e.get("code") else str(e.get("message")) for e in errors if e]
    if not messages and op.get("http_error_message"):
        messages.append(f"{op.get('http_error_status_code')} {op['http_error_message']}")
    return "; ".join(messages)
