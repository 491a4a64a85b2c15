# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Classification of API errors, and their translation into typed errors.

The classifiers look at exceptions by shape (attributes and class names), never by importing an
SDK, so they work whichever SDKs are installed and unit tests need none of them. Each cloud's
tables (which error codes are throttling, transient, not-found, and so on) live with that cloud,
in ``<cloud>/errors.py``, built from the shared helpers here; everything else falls back to the
HTTP status.
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


def class_names(exc):
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


def status_of(exc):
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


def headers_of(exc):
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        headers = getattr(exc, "headers", None)
    return headers


def trim(message):
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
        names |= class_names(current)
        todo += [current.__cause__, current.__context__]
        todo += [arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException)]
    return names


def connection_info(exc, names):
    if (names | _chain_names(exc)) & _TLS_ERRORS or "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return ErrorInfo(E.API, code="TLS", message=trim(exc))
    if names & _CONNECTION_ERRORS:
        return ErrorInfo(E.TRANSIENT, code=type(exc).__name__, message=trim(exc))
    return None


def classify_generic(exc):
    names = class_names(exc)
    info = connection_info(exc, names)
    if info is not None:
        return info
    status = status_of(exc)
    return ErrorInfo(
        kind_for_status(status),
        status=status,
        message=trim(exc),
        retry_after=parse_retry_after(headers_of(exc)),
    )


def by_code(code, table, suffixes=()):
    if code is None:
        return None
    if code in table:
        return table[code]
    for suffix, kind in suffixes:
        if code.endswith(suffix):
            return kind
    return None


# --------------------------------------------------------------------------- per cloud


def _cloud_classifier(cloud):
    """``classify(exc)`` of ``cloud``'s own error tables (``<cloud>/errors.py``), imported on first
    use; plain HTTP classification for any other cloud."""
    # pylint: disable=import-outside-toplevel
    if cloud == "aws":
        from ansible_collections.multicloud.fabric.plugins.module_utils.aws.errors import classify  # noqa: PLC0415
    elif cloud == "gcp":
        from ansible_collections.multicloud.fabric.plugins.module_utils.gcp.errors import classify  # noqa: PLC0415
    elif cloud == "azure":
        from ansible_collections.multicloud.fabric.plugins.module_utils.azure.errors import classify  # noqa: PLC0415
    elif cloud == "cloudflare":
        from ansible_collections.multicloud.fabric.plugins.module_utils.cloudflare.errors import classify  # noqa: PLC0415
    else:
        classify = classify_generic
    return classify


def classify_error(cloud, exc):
    """Classify ``exc`` raised by ``cloud``'s SDK (or plain HTTP for unknown clouds)."""
    if isinstance(exc, E.FabricError):
        return ErrorInfo(exc.kind, exc.status, exc.code, exc.message, exc.retry_after)
    return _cloud_classifier(cloud)(exc)


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
