# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Azure connection: one azure-identity credential, lazily built ARM clients, one retry policy.

Every call to Azure goes through :meth:`Connection.call`, so azure-core's exceptions become typed
:class:`FabricError` s naming the cloud, the resource and the operation (Azure REST operation ids
such as ``ManagedClusters_CreateOrUpdate``), and the one :class:`Retrier` decides what is retried:
azure-core's own retries are turned off (``retry_total=0``).

Only credentials, the ARM endpoint (``azure_base_url``), the authority host and the CA bundle come
from the provider options (``common/args.py`` ``AZURE_OPTIONS``). The endpoint and the authority
not given default to those of ``azure_cloud_environment`` (the names Automation Controller passes
in ``AZURE_CLOUD_ENVIRONMENT``), else of Azure's public cloud; the ARM token scope follows the
endpoint. An authority host that is not one of Microsoft's (Azure Stack Hub, the sandbox) gets
``disable_instance_discovery=True``: otherwise MSAL first asks Microsoft's public discovery endpoint
whether the authority is valid.

Long-running operations: the SDK's ``begin_*`` calls return a poller that polls in a thread of its
own (sleeping as the service's ``Retry-After`` asks); :meth:`Connection.finish` waits for it no
longer than the deadline allows.
"""

from __future__ import annotations

import os
import threading
from urllib.parse import urlsplit

from ansible_collections.multicloud.fabric.plugins.module_utils.common.classify import translate_error
from ansible_collections.multicloud.fabric.plugins.module_utils.common.connection import BaseConnection
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    VALIDATION,
    FabricError,
    ValidationError,
    WaitTimeoutError,
)

try:
    from azure.identity import (
        AzureCliCredential,
        ClientSecretCredential,
        DefaultAzureCredential,
        ManagedIdentityCredential,
        UsernamePasswordCredential,
    )
except ImportError as exc:  # pragma: no cover - exercised through HAS_AZURE_IDENTITY in the unit tests
    HAS_AZURE_IDENTITY = False
    AZURE_IDENTITY_IMPORT_ERROR = exc
else:
    HAS_AZURE_IDENTITY = True
    AZURE_IDENTITY_IMPORT_ERROR = None

try:
    from azure.mgmt.containerservice import ContainerServiceClient
except ImportError as exc:  # pragma: no cover
    ContainerServiceClient = None
    CONTAINERSERVICE_IMPORT_ERROR = exc
else:
    CONTAINERSERVICE_IMPORT_ERROR = None


def _network_client_class():
    """``(NetworkManagementClient, None)`` or ``(None, ImportError)``. azure-mgmt-network is large
    and only networks need it, so it is imported on first use (cluster tasks never load it)."""
    try:
        from azure.mgmt.network import NetworkManagementClient  # pylint: disable=import-outside-toplevel  # noqa: PLC0415
    except ImportError as exc:
        return None, exc
    return NetworkManagementClient, None


try:
    from azure.mgmt.resource.resources import ResourceManagementClient
except ImportError:  # pragma: no cover - older azure-mgmt-resource releases
    try:
        from azure.mgmt.resource import ResourceManagementClient
    except ImportError as exc:
        ResourceManagementClient = None
        RESOURCE_IMPORT_ERROR = exc
    else:
        RESOURCE_IMPORT_ERROR = None
else:
    RESOURCE_IMPORT_ERROR = None

try:
    from azure.core.exceptions import HttpResponseError
    from azure.core.rest import HttpRequest
except ImportError:  # pragma: no cover - azure-core comes with every Azure SDK package
    HttpRequest = HttpResponseError = None

CLOUD = "azure"
# Subscriptions_ListLocations, the ARM API version that lists the subscription's locations.
LOCATIONS_API_VERSION = "2022-12-01"
USER_AGENT = "multicloud.fabric"
# Seconds between two polls of a long operation on real Azure; the sandbox passes smaller values.
DEFAULT_POLL_INTERVAL = 10.0

DEFAULT_BASE_URL = "https://management.azure.com"
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
# azure_cloud_environment: the Resource Manager endpoint and the Entra ID authority of each cloud.
CLOUD_ENVIRONMENTS = {
    "AzureCloud": (DEFAULT_BASE_URL, DEFAULT_AUTHORITY_HOST),
    "AzureChinaCloud": ("https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
    "AzureUSGovernment": ("https://management.usgovcloudapi.net", "https://login.microsoftonline.us"),
}
# The public client application of the Azure CLI: the client of user/password sign-in when
# azure_client_id is not set (as azure.azcollection's azure_rm modules do).
AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
# Microsoft's own Entra ID hosts (public cloud and the sovereign clouds): MSAL knows these.
MICROSOFT_AUTHORITY_HOSTS = frozenset(
    (
        "login.microsoftonline.com",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.microsoftonline.de",
    )
)
AUTH_SOURCES = ("auto", "service_principal", "user_password", "cli", "managed_identity")
_SP_OPTIONS = (
    ("azure_tenant_id", "AZURE_TENANT_ID"),
    ("azure_client_id", "AZURE_CLIENT_ID"),
    ("azure_client_secret", "AZURE_CLIENT_SECRET"),
)
_USER_OPTIONS = (
    ("azure_username", "AZURE_USERNAME or AZURE_AD_USER"),
    ("azure_password", "AZURE_PASSWORD"),
)
_CREDENTIALS_ADVICE = (
    "set azure_tenant_id, azure_client_id and azure_client_secret (environment AZURE_TENANT_ID, AZURE_CLIENT_ID, "
    "AZURE_CLIENT_SECRET) for a service principal, azure_username and azure_password (environment AZURE_USERNAME, "
    "AZURE_PASSWORD) for a user, or azure_auth_source cli / managed_identity"
)
_PACKAGES = {
    "azure-identity": "azure.identity",
    "azure-mgmt-containerservice": "azure.mgmt.containerservice",
    "azure-mgmt-network": "azure.mgmt.network",
    "azure-mgmt-resource": "azure.mgmt.resource",
}


def missing_sdk(package, error):
    """The error raised when an Azure SDK package is not installed."""
    return FabricError(
        f"the Python package {package} ({_PACKAGES.get(package, package)}) is not installed ({error})",
        cloud=CLOUD,
        kind=VALIDATION,
        advice=f"install it on the controller or in the execution environment: pip install {package}",
    )


def _option(params, name, default=None):
    value = params.get(name)
    if isinstance(value, str):
        value = value.strip()
    return value if value not in (None, "") else default


def authority_hostname(authority):
    """The host name of an authority given as ``host`` or ``https://host[:port][/path]``."""
    text = str(authority or "").strip()
    if "://" not in text:
        text = "https://" + text
    return (urlsplit(text).hostname or "").lower()


def is_microsoft_authority(authority):
    """True for Microsoft's public and sovereign Entra ID hosts (MSAL's instance discovery knows them)."""
    return authority_hostname(authority) in MICROSOFT_AUTHORITY_HOSTS


def cloud_environment(params):
    """The canonical name of ``azure_cloud_environment`` (matched regardless of case), or None when
    it is not set. Raises :class:`ValidationError` for a name that is not in :data:`CLOUD_ENVIRONMENTS`."""
    value = _option(params, "azure_cloud_environment")
    if value is None:
        return None
    for name in CLOUD_ENVIRONMENTS:
        if str(value).lower() == name.lower():
            return name
    raise ValidationError(
        "azure_cloud_environment",
        f"expected one of {', '.join(CLOUD_ENVIRONMENTS)}, got {value!r} (environment AZURE_CLOUD_ENVIRONMENT)",
        advice="for another cloud (Azure Stack Hub, an emulator) leave azure_cloud_environment unset and set "
        "azure_base_url and azure_authority_host",
    )


def endpoints(params):
    """``(base_url, authority_host)``, without trailing slashes: ``azure_base_url`` and
    ``azure_authority_host`` when given, else those of ``azure_cloud_environment``, else Azure's
    public cloud."""
    base_url, authority = CLOUD_ENVIRONMENTS[cloud_environment(params) or "AzureCloud"]
    base_url = str(_option(params, "azure_base_url", base_url)).rstrip("/")
    authority = str(_option(params, "azure_authority_host", authority)).rstrip("/")
    return base_url, authority


def _require(what, options, given):
    """Raise :class:`ValidationError` naming the first of ``options`` (``(name, environment)``)
    that ``given`` (name -> value) lacks, and every missing one with its variables; never a value."""
    missing = [(name, env) for name, env in options if not given[name]]
    if missing:
        names = ", ".join(name for name, _env in missing)
        envs = ", ".join(env for _name, env in missing)
        raise ValidationError(missing[0][0], f"{what} needs {names} (environment {envs})", advice=_CREDENTIALS_ADVICE)


def credential_settings(params):
    """``(kind, kwargs)`` of the azure-identity credential the options ask for (no SDK involved).

    ``kind`` is ``service_principal`` (ClientSecretCredential), ``user_password``
    (UsernamePasswordCredential), ``cli`` (AzureCliCredential), ``managed_identity``
    (ManagedIdentityCredential) or ``default`` (DefaultAzureCredential without interactive browser
    sign-in). ``auto`` picks a service principal when its three options are set, else a user when
    username and password are set and no client secret is, else ``default``. Raises
    :class:`ValidationError` naming missing options (never their values).
    """
    source = _option(params, "azure_auth_source", "auto")
    if source not in AUTH_SOURCES:
        raise ValidationError("azure_auth_source", f"expected one of {', '.join(AUTH_SOURCES)}, got {source!r}")
    tenant = _option(params, "azure_tenant_id")
    client_id = _option(params, "azure_client_id")
    secret = _option(params, "azure_client_secret")
    username = _option(params, "azure_username")
    password = params.get("azure_password") or None  # a password is taken as given, spaces and all
    _base_url, authority = endpoints(params)
    ca_bundle = _option(params, "azure_ca_bundle")
    if ca_bundle and not os.path.isfile(ca_bundle):
        raise ValidationError(
            "azure_ca_bundle", f"the CA bundle {ca_bundle!r} is not a readable file (environment AZURE_CA_BUNDLE)"
        )
    transport = {"connection_verify": ca_bundle} if ca_bundle else {}
    entra = {"authority": authority}
    if not is_microsoft_authority(authority):
        entra["disable_instance_discovery"] = True

    if source == "auto":
        if tenant and client_id and secret:
            source = "service_principal"
        elif username and password and not secret:
            source = "user_password"
        else:
            source = "default"
    if source == "service_principal":
        _require(
            "a service principal",
            _SP_OPTIONS,
            {"azure_tenant_id": tenant, "azure_client_id": client_id, "azure_client_secret": secret},
        )
        kwargs = {"tenant_id": tenant, "client_id": client_id, "client_secret": secret}
        kwargs.update(entra)
        kwargs.update(transport)
        return "service_principal", kwargs
    if source == "user_password":
        _require("user/password sign-in", _USER_OPTIONS, {"azure_username": username, "azure_password": password})
        kwargs = {"client_id": client_id or AZURE_CLI_CLIENT_ID, "username": username, "password": password}
        if tenant:  # azure-identity's default is the "organizations" tenant
            kwargs["tenant_id"] = tenant
        kwargs.update(entra)
        kwargs.update(transport)
        return "user_password", kwargs
    if source == "cli":
        return "cli", ({"tenant_id": tenant} if tenant else {})
    if source == "managed_identity":
        kwargs = {"client_id": client_id} if client_id else {}
        kwargs.update(transport)
        return "managed_identity", kwargs
    kwargs = {"exclude_interactive_browser_credential": True}
    if client_id:
        kwargs["managed_identity_client_id"] = client_id
    kwargs.update(entra)
    kwargs.update(transport)
    return "default", kwargs


def client_settings(params, poll_interval=DEFAULT_POLL_INTERVAL):
    """Keyword arguments of every ARM management client (endpoint, scope, CA bundle, no retries)."""
    base_url, _authority = endpoints(params)
    kwargs = {
        "base_url": base_url,
        "credential_scopes": [base_url + "/.default"],
        "retry_total": 0,
        "polling_interval": poll_interval,
        "user_agent": USER_AGENT,
    }
    ca_bundle = _option(params, "azure_ca_bundle")
    if ca_bundle:
        kwargs["connection_verify"] = ca_bundle
    return kwargs


_CREDENTIAL_CLASSES = {
    "service_principal": "ClientSecretCredential",
    "user_password": "UsernamePasswordCredential",
    "cli": "AzureCliCredential",
    "managed_identity": "ManagedIdentityCredential",
    "default": "DefaultAzureCredential",
}


def _new_credential(kind, kwargs):
    classes = {
        "service_principal": ClientSecretCredential,
        "user_password": UsernamePasswordCredential,
        "cli": AzureCliCredential,
        "managed_identity": ManagedIdentityCredential,
        "default": DefaultAzureCredential,
    }
    return classes[kind](**kwargs)


class Connection(BaseConnection):
    """An azure-identity credential and the ARM clients of one subscription, for one task.

    ``params`` holds the ``azure_*`` provider options; ``region`` is the default location of new
    resources. Clients (:attr:`resources`, :attr:`network`, :attr:`containerservice`) are built on
    first use. ``poll_interval`` is the first interval of waiters and the LRO polling interval when
    the service sends no ``Retry-After``.
    """

    cloud = CLOUD

    def __init__(self, params, retrier, region=None, *, poll_interval=DEFAULT_POLL_INTERVAL):
        if not HAS_AZURE_IDENTITY:
            raise missing_sdk("azure-identity", AZURE_IDENTITY_IMPORT_ERROR)
        self.params = dict(params or {})
        self.retrier = retrier
        self.region = region
        self.poll_interval = float(poll_interval)
        self.subscription_id = _option(self.params, "azure_subscription_id")
        if not self.subscription_id:
            raise ValidationError(
                "azure_subscription_id",
                "no Azure subscription was given (option azure_subscription_id, environment AZURE_SUBSCRIPTION_ID)",
                advice="set azure_subscription_id or the environment variable AZURE_SUBSCRIPTION_ID",
            )
        self.credential_kind, self._credential_kwargs = credential_settings(self.params)
        self._credential = None
        self._clients = {}
        self._clients_lock = threading.RLock()
        # Per-connection caches the adapters share (e.g. cluster CA data by cluster id).
        self.cache = {}

    def __repr__(self):
        return f"Connection(cloud='azure', subscription={self.subscription_id!r}, auth={self.credential_kind!r})"

    # ------------------------------------------------------------------ credential and clients

    @property
    def credential(self):
        """The azure-identity credential (built on first use; it caches its tokens)."""
        if self._credential is None:
            try:
                self._credential = _new_credential(self.credential_kind, self._credential_kwargs)
            except ValueError as exc:  # e.g. a malformed tenant id; never echoes the secret
                raise ValidationError(
                    "azure_tenant_id" if self.credential_kind != "managed_identity" else "azure_client_id",
                    f"{_CREDENTIAL_CLASSES[self.credential_kind]} refused the options: {exc}",
                    advice=_CREDENTIALS_ADVICE,
                ) from None
        return self._credential

    def _client(self, name, cls, package, error):
        with self._clients_lock:  # one client per service even when threads share the connection
            if name not in self._clients:
                if cls is None:
                    raise missing_sdk(package, error)
                kwargs = client_settings(self.params, self.poll_interval)
                self._clients[name] = cls(self.credential, self.subscription_id, **kwargs)
        return self._clients[name]

    @property
    def resources(self):
        """azure-mgmt-resource's ResourceManagementClient."""
        return self._client("resources", ResourceManagementClient, "azure-mgmt-resource", RESOURCE_IMPORT_ERROR)

    @property
    def network(self):
        """azure-mgmt-network's NetworkManagementClient."""
        cls, error = _network_client_class()
        return self._client("network", cls, "azure-mgmt-network", error)

    @property
    def containerservice(self):
        """azure-mgmt-containerservice's ContainerServiceClient."""
        return self._client(
            "containerservice", ContainerServiceClient, "azure-mgmt-containerservice", CONTAINERSERVICE_IMPORT_ERROR
        )

    # ------------------------------------------------------------------ locations

    def locations(self):
        """``{location: []}`` of the subscription from ARM ``subscriptions/{id}/locations``.

        azure-mgmt-resource no longer ships the subscriptions client, so the call goes through the
        resource client's own pipeline (credential, endpoint, CA bundle) with azure-core's
        ``send_request``.
        """
        url = f"/subscriptions/{self.subscription_id}/locations?api-version={LOCATIONS_API_VERSION}"

        def fetch():
            response = self.resources.send_request(HttpRequest("GET", url))
            if response.status_code >= 400:
                raise HttpResponseError(response=response)
            return response.json()

        body = self.call(
            fetch, resource=f"locations of subscription {self.subscription_id}", call="Subscriptions_ListLocations"
        )
        return {item["name"]: [] for item in (body or {}).get("value") or () if item.get("name")}

    # ------------------------------------------------------------------ calls

    def begin(self, fn, *args, resource=None, call=None, **kwargs):
        """Start a long-running operation (``begin_*``) under the retry policy; returns its poller."""
        kwargs.setdefault("polling_interval", self.poll_interval)
        return self.call(fn, *args, resource=resource, call=call, **kwargs)

    def items(self, fn, *args, resource=None, call=None, **kwargs):
        """Every item of a paged ``list*`` call (the pages are fetched inside the retry)."""
        return self.call(lambda: list(fn(*args, **kwargs)), resource=resource, call=call)

    # ------------------------------------------------------------------ waiting

    def finish(self, poller, *, resource=None, call=None, deadline=None):
        """Wait for an LRO ``poller`` within ``deadline``; return its result.

        Raises :class:`WaitTimeoutError` when the deadline passes first, and the typed error of the
        operation when it failed (a retryable one when polling itself hit throttling or a 5xx).
        """
        deadline = deadline or self.deadline()
        try:
            poller.wait(timeout=deadline.remaining())
            if not poller.done():
                raise WaitTimeoutError(
                    f"timed out after {deadline.timeout:g}s waiting for the operation to finish "
                    f"(status {poller.status()})",
                    cloud=CLOUD,
                    resource=resource,
                    call=call,
                )
            return poller.result()
        except Exception as exc:  # pylint: disable=broad-except
            raise translate_error(CLOUD, exc, resource=resource, call=call) from exc


def to_wire(obj):
    """An SDK model (or a plain dict) as the JSON the REST API speaks (camelCase keys)."""
    if obj is None:
        return None
    if obj.__class__ is dict:
        return obj
    serialize = getattr(obj, "serialize", None)
    if callable(serialize) and not hasattr(obj, "_attr_to_rest_field"):  # msrest models (older SDKs)
        return serialize(keep_readonly=True)
    as_dict = getattr(obj, "as_dict", None)
    if callable(as_dict):  # MutableMapping models of the current SDKs: keys are the REST names
        return as_dict()
    return dict(obj)


def parse_id(resource_id):
    """``{"subscription", "resource_group", "provider", "type", "name", ...}`` of an ARM resource id.

    Child resources add ``parent`` (the parent's name) and ``child`` (their own name).
    """
    parts = [p for p in str(resource_id or "").split("/") if p]
    lower = [p.lower() for p in parts]
    found = {}
    if "subscriptions" in lower:
        found["subscription"] = parts[lower.index("subscriptions") + 1]
    if "resourcegroups" in lower:
        found["resource_group"] = parts[lower.index("resourcegroups") + 1]
    if "providers" in lower:
        rest = parts[lower.index("providers") + 1 :]
        if len(rest) >= 3:
            found["provider"] = rest[0]
            found["type"] = rest[1]
            found["name"] = rest[2]
        if len(rest) >= 5:
            found["parent"] = rest[2]
            found["child_type"] = rest[3]
            found["child"] = rest[4]
    return found


def resource_group_of(desired, what="Azure resources"):
    """The resource group ``desired`` (a portable shape) lives in; a ValidationError naming
    ``azure.resource_group`` when it has none (``what``: e.g. "AKS clusters", for the message)."""
    group = (desired.get("provider") or {}).get("resource_group")
    if not group:
        raise ValidationError("azure.resource_group", f"{what} live in a resource group; name it")
    return group


def resource_group_id(subscription, resource_group):
    return f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
