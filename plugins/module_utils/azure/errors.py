# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Azure errors mean: ARM error codes and azure-core / azure-identity exceptions -> kinds of error.

Read by ``common/classify.py``'s ``classify_error("azure", exc)``; no Azure SDK is imported here.
"""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.classify import (
    ErrorInfo,
    by_code,
    class_names,
    classify_generic,
    headers_of,
    kind_for_status,
    parse_retry_after,
    status_of,
    trim,
)

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


def classify(exc):
    names = class_names(exc)
    if "CredentialUnavailableError" in names or "ClientAuthenticationError" in names:
        status = status_of(exc)
        kind = E.DENIED if status == 403 else E.AUTH
        return ErrorInfo(kind, status=status, code=type(exc).__name__, message=trim(exc))
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None) or getattr(exc, "message", None) or exc
    status = status_of(exc)
    if status is None and code is None:
        return classify_generic(exc)
    kind = by_code(code, _AZURE_CODES) or kind_for_status(status)
    return ErrorInfo(
        kind,
        status=status,
        code=code,
        message=trim(message),
        retry_after=parse_retry_after(headers_of(exc)),
    )
