# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Google Cloud errors mean: google.rpc status names, google-api-core / google-auth exception
classes and rate-limit reasons -> kinds of error.

Read by ``common/classify.py``'s ``classify_error("gcp", exc)``; no Google SDK is imported here.
"""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.classify import (
    ErrorInfo,
    class_names,
    connection_info,
    headers_of,
    kind_for_status,
    parse_retry_after,
    status_of,
    trim,
)

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


def classify(exc):
    names = class_names(exc)
    body = _gcp_error_body(exc)
    reasons = {getattr(exc, "reason", None)}
    reasons.update(e.get("reason") for e in body.get("errors") or () if isinstance(e, dict))
    status = status_of(exc)
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
        info = connection_info(exc, names)
        if info is not None:
            return info
        kind = kind_for_status(status)
    return ErrorInfo(
        kind,
        status=status,
        code=code,
        message=trim(getattr(exc, "message", None) or exc),
        retry_after=parse_retry_after(headers_of(exc) or resp),
    )
