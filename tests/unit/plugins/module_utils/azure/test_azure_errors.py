# -*- coding: utf-8 -*-
"""ARM error codes and azure-core / azure-identity errors -> kinds (``azure/errors.py``)."""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError
from azure.core.pipeline.transport import HttpRequest, RequestsTransportResponse
from azure.identity import CredentialUnavailableError

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.classify import classify_error


def azure_error(status, code, headers=None, cls=None):
    raw = requests.Response()
    raw.status_code = status
    raw.reason = "reason"
    raw.headers.update({"Content-Type": "application/json", **(headers or {})})
    raw._content = f'{{"error": {{"code": "{code}", "message": "details of {code}"}}}}'.encode()
    response = RequestsTransportResponse(HttpRequest("PUT", "https://127.0.0.1/subscriptions/s"), raw)
    return (cls or HttpResponseError)(response=response)


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (429, "SubscriptionRequestsThrottled", E.THROTTLED),
        (409, "AnotherOperationInProgress", E.TRANSIENT),
        (409, "Conflict", E.CONFLICT),
        (404, "ResourceGroupNotFound", E.NOT_FOUND),
        (403, "AuthorizationFailed", E.DENIED),
        (401, "InvalidAuthenticationToken", E.AUTH),
        (400, "MissingApiVersionParameter", E.INVALID),
        (500, "SomethingInternal", E.TRANSIENT),
    ],
)
def test_azure_codes(status, code, kind):
    info = classify_error("azure", azure_error(status, code))
    assert (info.kind, info.code, info.status) == (kind, code, status)
    assert info.message == f"details of {code}"


def test_azure_retry_after_variants():
    assert classify_error("azure", azure_error(429, "TooManyRequests", {"Retry-After": "6"})).retry_after == 6.0
    ms = azure_error(429, "TooManyRequests", {"x-ms-retry-after-ms": "1500", "Retry-After": "6"})
    assert classify_error("azure", ms).retry_after == 1.5


def test_azure_credential_and_connection_errors():
    assert classify_error("azure", ClientAuthenticationError("AADSTS7000215: bad secret")).kind == E.AUTH
    assert classify_error("azure", CredentialUnavailableError("no credential")).kind == E.AUTH
    assert classify_error("azure", ServiceRequestError("connection refused")).kind == E.TRANSIENT
