# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-cloud classification of API errors, and their translation into typed errors.

The classifiers look at exceptions by shape (attributes and class names), never by importing an
SDK, so they work whichever SDKs are installed and unit tests need none of them. One table per
cloud says which error codes are throttling, transient, not-found, and so on; everything else
falls back to the HTTP status.
"""

from __future__ import annotations

import email.utils
import time

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E

MAX_MESSAGE = 1000


class ErrorInfo:
    """What a classifier learned from one exception."""

    __slots__ = ("code", "kind", "message", "retry_after", "status")

    def __init__(self, kind, status=None, code=None, message=None, retry_after=None):
        self.kind = kind
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def __repr__(self):
        return (
            f"ErrorInfo(kind={self.kind!r}, status={self.status!r}, code={self.code!r}, "
            f"retry_after={self.retry_after!r})"
        )


# --------------------------------------------------------------------------- shared helpers


def _class_names(exc):
    return {cls.__name__ for cls in type(exc).__mro__}


def _header(headers, name):
    """Case-insensitive header lookup on any mapping (dict, requests/httpx headers)."""
    if not headers:
        return None
    try:
        value = headers.get(name)
        if value is not None:
            return value
        items = headers.items()
    except AttributeError:
        return None
    wanted = name.lower()
    for key, value in items:
        if str(key).lower() == wanted:
            return value
    return None


def parse_retry_after(headers, now=None):
    """Seconds to wait as the server asked: ``retry-after-ms``, ``x-ms-retry-after-ms`` or
    ``Retry-After`` (delta-seconds or an HTTP date). None when absent or unreadable."""
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = _header(headers, name)
        if value is not None:
            try:
                return max(0.0, float(value) / 1000.0)
            except (TypeError, ValueError):
                pass
    value = _header(headers, "retry-after")
    if value is None:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def kind_for_status(status):
    """Kind of error an HTTP status means when nothing more specific is known."""
    if status is None:
        return E.API
    status = int(status)
    if status == 429:
        return E.THROTTLED
    if status in (408, 500, 502, 503, 504):
        return E.TRANSIENT
    if status == 401:
        return E.AUTH
    if status == 403:
        return E.DENIED
    if status in (404, 410):
        return E.NOT_FOUND
    if status in (409, 412):
        return E.CONFLICT
    if status in (400, 422):
        return E.INVALID
    return E.API


# Exceptions raised when no HTTP answer came back at all (connection refused or reset, timeouts).
_CONNECTION_ERRORS = frozenset(
    (
        "ConnectionError",
        "TimeoutError",
        "ConnectTimeout",
        "ReadTimeout",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ProtocolError",
        "ConnectError",
        "RemoteProtocolError",
        "ChunkedEncodingError",
        "IncompleteRead",
        "ServiceRequestError",
        "ServiceResponseError",
        "APIConnectionError",
        "APITimeoutError",
        "TransportError",
    )
)
# Certificate problems look like connection errors but retrying cannot fix them.
_TLS_ERRORS = frozenset(("SSLError", "SSLCertVerificationError", "CertificateError"))
_TLS_ADVICE = "the endpoint's certificate was not trusted; set the provider's ca_bundle option"


def _status_of(exc):
    for attr in ("status_code", "status", "code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
            return int(value)
    response = getattr(exc, "response", None)
    for attr in ("status_code", "status"):
        value = getattr(response, attr, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
    return None


def _headers_of(exc):
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        headers = getattr(exc, "headers", None)
    return headers


def _trim(message):
    message = " ".join(str(message).split())
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 3] + "..."
    return message


def _chain_names(exc, depth=6):
    """Class names of ``exc`` and of the exceptions it wraps (cause, context, exception args):
    SDKs wrap a certificate failure in their own transport error."""
    names, seen, todo = set(), set(), [exc]
    while todo and len(seen) < depth:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        names |= _class_names(current)
        todo += [current.__cause__, current.__context__]
        todo += [arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException)]
    return names


def _connection_info(exc, names):
    if (names | _chain_names(exc)) & _TLS_ERRORS or "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return ErrorInfo(E.API, code="TLS", message=_trim(exc))
    if names & _CONNECTION_ERRORS:
        return ErrorInfo(E.TRANSIENT, code=type(exc).__name__, message=_trim(exc))
    return None


def _classify_generic(exc):
    names = _class_names(exc)
    info = _connection_info(exc, names)
    if info is not None:
        return info
    status = _status_of(exc)
    return ErrorInfo(
        kind_for_status(status),
        status=status,
        message=_trim(exc),
        retry_after=parse_retry_after(_headers_of(exc)),
    )


def _by_code(code, table, suffixes=()):
    if code is None:
        return None
    if code in table:
        return table[code]
    for suffix, kind in suffixes:
        if code.endswith(suffix):
            return kind
    return None


# --------------------------------------------------------------------------- AWS

_AWS_CODES = {}
for _code in (
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "EC2ThrottledException",
    "PriorRequestNotComplete",
):
    _AWS_CODES[_code] = E.THROTTLED
for _code in (
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServerException",
    "IDPCommunicationError",
):
    _AWS_CODES[_code] = E.TRANSIENT
for _code in (
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "AuthFailure",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "MissingAuthenticationToken",
):
    _AWS_CODES[_code] = E.AUTH
for _code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "OptInRequired"):
    _AWS_CODES[_code] = E.DENIED
for _code in ("ResourceInUseException", "DependencyViolation", "IncorrectState", "ConflictException"):
    _AWS_CODES[_code] = E.CONFLICT
for _code in ("NoSuchEntity", "ResourceNotFoundException", "NoSuchHostedZone", "NoSuchHealthCheck"):
    _AWS_CODES[_code] = E.NOT_FOUND
for _code in (
    "ValidationError",
    "ValidationException",
    "InvalidParameterException",
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "InvalidRequestException",
    "MissingParameter",
    "InvalidInput",
):
    _AWS_CODES[_code] = E.INVALID
_AWS_SUFFIXES = ((".NotFound", E.NOT_FOUND), ("NotFound", E.NOT_FOUND), ("NotFoundException", E.NOT_FOUND))
_AWS_CLIENT_ERRORS = {
    "NoCredentialsError": E.AUTH,
    "PartialCredentialsError": E.AUTH,
    "CredentialRetrievalError": E.AUTH,
    "ProfileNotFound": E.AUTH,
    "NoRegionError": E.INVALID,
    "ParamValidationError": E.INVALID,
}


def _classify_aws(exc):
    names = _class_names(exc)
    for name, kind in _AWS_CLIENT_ERRORS.items():
        if name in names:
            return ErrorInfo(kind, code=name, message=_trim(exc))
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response.get("Error") or {}
        meta = response.get("ResponseMetadata") or {}
        code = error.get("Code")
        status = meta.get("HTTPStatusCode")
        kind = _by_code(code, _AWS_CODES, _AWS_SUFFIXES) or kind_for_status(status)
        return ErrorInfo(
            kind,
            status=status,
            code=code,
            message=_trim(error.get("Message") or exc),
            retry_after=parse_retry_after(meta.get("HTTPHeaders")),
        )
    return _classify_generic(exc)


# --------------------------------------------------------------------------- Google Cloud

# google.rpc.Code names, as REST error bodies carry them in error.status. HTTP 409 is both
# ABORTED (retry) and ALREADY_EXISTS (do not): only this name tells them apart.
_GCP_STATUS = {
    "RESOURCE_EXHAUSTED": E.THROTTLED,
    "UNAVAILABLE": E.TRANSIENT,
    "DEADLINE_EXCEEDED": E.TRANSIENT,
    "INTERNAL": E.TRANSIENT,
    "ABORTED": E.TRANSIENT,
    "UNAUTHENTICATED": E.AUTH,
    "PERMISSION_DENIED": E.DENIED,
    "NOT_FOUND": E.NOT_FOUND,
    "ALREADY_EXISTS": E.CONFLICT,
    "INVALID_ARGUMENT": E.INVALID,
    "FAILED_PRECONDITION": E.INVALID,
    "OUT_OF_RANGE": E.INVALID,
}
# google.api_core and google.auth exception classes, most specific first.
_GCP_NAMES = (
    ("RefreshError", E.AUTH),
    ("DefaultCredentialsError", E.AUTH),
    ("Aborted", E.TRANSIENT),
    ("AlreadyExists", E.CONFLICT),
    ("ResourceExhausted", E.THROTTLED),
    ("TooManyRequests", E.THROTTLED),
    ("DeadlineExceeded", E.TRANSIENT),
    ("Unauthenticated", E.AUTH),
    ("PermissionDenied", E.DENIED),
    ("InvalidArgument", E.INVALID),
    ("FailedPrecondition", E.INVALID),
    ("ServiceUnavailable", E.TRANSIENT),
    ("InternalServerError", E.TRANSIENT),
    ("BadGateway", E.TRANSIENT),
    ("GatewayTimeout", E.TRANSIENT),
    ("NotFound", E.NOT_FOUND),
    ("Conflict", E.CONFLICT),
    ("Unauthorized", E.AUTH),
    ("Forbidden", E.DENIED),
    ("BadRequest", E.INVALID),
)
# Google answers 403 for per-user rate limits; those are throttling, not a missing permission.
_GCP_RATE_REASONS = frozenset(("rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"))


def _gcp_error_body(exc):
    """``error`` object of a Google JSON error body, if the exception kept the response."""
    response = getattr(exc, "response", None)
    try:
        body = response.json()
    except Exception:  # pylint: disable=broad-except
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _classify_gcp(exc):
    names = _class_names(exc)
    body = _gcp_error_body(exc)
    reasons = {getattr(exc, "reason", None)}
    reasons.update(e.get("reason") for e in body.get("errors") or () if isinstance(e, dict))
    status = _status_of(exc)
    resp = getattr(exc, "resp", None)  # googleapiclient.errors.HttpError keeps it here
    if status is None and isinstance(getattr(resp, "status", None), int):
        status = int(resp.status)
    code = body.get("status")
    kind = _GCP_STATUS.get(code)
    if kind is None:
        for name, name_kind in _GCP_NAMES:
            if name in names:
                kind, code = name_kind, name
                break
    if reasons & _GCP_RATE_REASONS:
        kind = E.THROTTLED
        code = code or next(iter(reasons & _GCP_RATE_REASONS))
    if kind is None:
        info = _connection_info(exc, names)
        if info is not None:
            return info
        kind = kind_for_status(status)
    return ErrorInfo(
        kind,
        status=status,
        code=code,
        message=_trim(getattr(exc, "message", None) or exc),
        retry_after=parse_retry_after(_headers_of(exc) or resp),
    )


# --------------------------------------------------------------------------- Azure

_AZURE_CODES = {}
for _code in ("TooManyRequests", "SubscriptionRequestsThrottled", "TenantRequestsThrottled"):
    _AZURE_CODES[_code] = E.THROTTLED
for _code in (
    "RetryableError",
    "ServerBusy",
    "ServerTimeout",
    "InternalServerError",
    "ServiceUnavailable",
    "GatewayTimeout",
    "AnotherOperationInProgress",
    "OperationPreempted",
    "RetryableErrorDueToAnotherOperation",
):
    _AZURE_CODES[_code] = E.TRANSIENT
for _code in (
    "ResourceNotFound",
    "ResourceGroupNotFound",
    "ParentResourceNotFound",
    "NotFound",
    "SubscriptionNotFound",
):
    _AZURE_CODES[_code] = E.NOT_FOUND
for _code in (
    "InvalidAuthenticationToken",
    "ExpiredAuthenticationToken",
    "AuthenticationFailed",
    "InvalidAuthenticationTokenTenant",
    "InvalidAuthenticationTokenAudience",
):
    _AZURE_CODES[_code] = E.AUTH
for _code in ("AuthorizationFailed", "LinkedAuthorizationFailed"):
    _AZURE_CODES[_code] = E.DENIED
for _code in (
    "InvalidParameter",
    "InvalidRequestContent",
    "InvalidRequestFormat",
    "BadRequest",
    "PropertyChangeNotAllowed",
    "MissingApiVersionParameter",
    "InvalidApiVersionParameter",
    "NoRegisteredProviderFound",
    "LocationNotAvailableForResourceType",
):
    _AZURE_CODES[_code] = E.INVALID
for _code in ("Conflict", "InUseSubnetCannotBeDeleted", "ResourceGroupBeingDeleted"):
    _AZURE_CODES[_code] = E.CONFLICT


def _classify_azure(exc):
    names = _class_names(exc)
    if "CredentialUnavailableError" in names or "ClientAuthenticationError" in names:
        status = _status_of(exc)
        kind = E.DENIED if status == 403 else E.AUTH
        return ErrorInfo(kind, status=status, code=type(exc).__name__, message=_trim(exc))
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None) or getattr(exc, "message", None) or exc
    status = _status_of(exc)
    if status is None and code is None:
        return _classify_generic(exc)
    kind = _by_code(code, _AZURE_CODES) or kind_for_status(status)
    return ErrorInfo(
        kind,
        status=status,
        code=code,
        message=_trim(message),
        retry_after=parse_retry_after(_headers_of(exc)),
    )


# --------------------------------------------------------------------------- Cloudflare

_CLOUDFLARE_NAMES = (
    ("APITimeoutError", E.TRANSIENT),
    ("APIConnectionError", E.TRANSIENT),
    ("RateLimitError", E.THROTTLED),
    ("AuthenticationError", E.AUTH),
    ("PermissionDeniedError", E.DENIED),
    ("NotFoundError", E.NOT_FOUND),
    ("ConflictError", E.CONFLICT),
    ("UnprocessableEntityError", E.INVALID),
    ("BadRequestError", E.INVALID),
    ("InternalServerError", E.TRANSIENT),
)


def _cloudflare_errors(body):
    """Code and message from the v4 envelope ``{"success": false, "errors": [{code, message}]}``."""
    if not isinstance(body, dict):
        return None, None
    errors = body.get("errors") or []
    codes = [str(e.get("code")) for e in errors if isinstance(e, dict) and e.get("code") is not None]
    messages = [str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")]
    return (",".join(codes) or None), ("; ".join(messages) or None)


def _classify_cloudflare(exc):
    names = _class_names(exc)
    status = _status_of(exc)
    code, message = _cloudflare_errors(getattr(exc, "body", None))
    kind = None
    for name, name_kind in _CLOUDFLARE_NAMES:
        if name in names:
            kind = name_kind
            break
    if kind is None:
        if status is None:
            return _classify_generic(exc)
        kind = kind_for_status(status)
    return ErrorInfo(
        kind,
        status=status,
        code=code,
        message=_trim(message or getattr(exc, "message", None) or exc),
        retry_after=parse_retry_after(_headers_of(exc)),
    )


CLASSIFIERS = {
    "aws": _classify_aws,
    "gcp": _classify_gcp,
    "azure": _classify_azure,
    "cloudflare": _classify_cloudflare,
    "http": _classify_generic,
}


def classify_error(cloud, exc):
    """Classify ``exc`` raised by ``cloud``'s SDK (or plain HTTP for unknown clouds)."""
    if isinstance(exc, E.FabricError):
        return ErrorInfo(exc.kind, exc.status, exc.code, exc.message, exc.retry_after)
    return CLASSIFIERS.get(cloud, _classify_generic)(exc)


def translate_error(cloud, exc, resource=None, call=None, advice=None):
    """Typed :class:`FabricError` for ``exc``; fills in what an existing one lacks."""
    if isinstance(exc, E.FabricError):
        exc.cloud = exc.cloud or cloud
        exc.resource = exc.resource or resource
        exc.call = exc.call or call
        if advice is not None:
            exc.advice = advice
        return exc
    info = classify_error(cloud, exc)
    if advice is None and info.code == "TLS":
        advice = _TLS_ADVICE
    cls = E.ERROR_CLASSES.get(info.kind, E.FabricError)
    return cls(
        info.message or type(exc).__name__,
        cloud=cloud,
        resource=resource,
        call=call,
        advice=advice,
        status=info.status,
        code=info.code,
        retry_after=info.retry_after,
        kind=info.kind,
    )
