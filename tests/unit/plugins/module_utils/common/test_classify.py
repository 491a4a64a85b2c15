# -*- coding: utf-8 -*-
"""The classifiers against the real exception classes of each cloud's SDK."""

from __future__ import annotations

import email.utils
import ssl

import cloudflare
import google.auth.exceptions as ga
import httpx
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError
from azure.core.pipeline.transport import HttpRequest, RequestsTransportResponse
from azure.identity import CredentialUnavailableError
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, SSLError
from google.api_core import exceptions

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.classify import (
    classify_error,
    kind_for_status,
    parse_retry_after,
    translate_error,
)


def aws_error(code, status=400, headers=None, message="boom"):
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers or {}},
        },
        "DescribeClusters",
    )


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("Throttling", 400, E.THROTTLED),
        ("ThrottlingException", 400, E.THROTTLED),
        ("RequestLimitExceeded", 503, E.THROTTLED),
        ("TooManyRequestsException", 429, E.THROTTLED),
        ("InternalError", 500, E.TRANSIENT),
        ("ServiceUnavailable", 503, E.TRANSIENT),
        ("SomethingNew", 502, E.TRANSIENT),
        ("InvalidVpcID.NotFound", 400, E.NOT_FOUND),
        ("ResourceNotFoundException", 404, E.NOT_FOUND),
        ("AccessDeniedException", 403, E.DENIED),
        ("UnauthorizedOperation", 403, E.DENIED),
        ("AuthFailure", 401, E.AUTH),
        ("ExpiredToken", 400, E.AUTH),
        ("ResourceInUseException", 409, E.CONFLICT),
        ("InvalidParameterValue", 400, E.INVALID),
        ("SomethingElse", 400, E.INVALID),
    ],
)
def test_aws_codes(code, status, kind):
    info = classify_error("aws", aws_error(code, status))
    assert (info.kind, info.code, info.status) == (kind, code, status)


def test_aws_client_side_errors():
    assert classify_error("aws", EndpointConnectionError(endpoint_url="http://127.0.0.1:1")).kind == E.TRANSIENT
    assert classify_error("aws", NoCredentialsError()).kind == E.AUTH
    tls = translate_error("aws", SSLError(endpoint_url="https://x", error="certificate verify failed"))
    assert not tls.retryable
    assert "ca_bundle" in tls.advice


def gcp_error(status, body, headers=None):
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    response._content = body.encode()
    response.request = requests.Request("GET", "http://127.0.0.1/v1/projects/p/locations/l/clusters").prepare()
    return exceptions.from_http_response(response)


@pytest.mark.parametrize(
    ("status", "rpc", "kind"),
    [
        (429, "RESOURCE_EXHAUSTED", E.THROTTLED),
        (503, "UNAVAILABLE", E.TRANSIENT),
        (409, "ABORTED", E.TRANSIENT),
        (409, "ALREADY_EXISTS", E.CONFLICT),
        (404, "NOT_FOUND", E.NOT_FOUND),
        (403, "PERMISSION_DENIED", E.DENIED),
        (401, "UNAUTHENTICATED", E.AUTH),
        (400, "INVALID_ARGUMENT", E.INVALID),
    ],
)
def test_gcp_rpc_status_decides(status, rpc, kind):
    exc = gcp_error(status, f'{{"error": {{"code": {status}, "message": "m", "status": "{rpc}"}}}}')
    info = classify_error("gcp", exc)
    assert (info.kind, info.code, info.status) == (kind, rpc, status)
    assert info.status.__class__ is int  # a plain int, not http.HTTPStatus


def test_gcp_rate_limit_reason_on_403_is_throttling():
    body = '{"error": {"code": 403, "message": "Rate Limit", "errors": [{"reason": "rateLimitExceeded"}]}}'
    assert classify_error("gcp", gcp_error(403, body)).kind == E.THROTTLED


def test_gcp_without_body_falls_back_to_class_and_retry_after():
    info = classify_error("gcp", gcp_error(429, "not json", {"Retry-After": "4"}))
    assert (info.kind, info.retry_after) == (E.THROTTLED, 4.0)


def test_google_auth_errors():
    assert classify_error("gcp", ga.RefreshError("invalid_grant")).kind == E.AUTH
    assert classify_error("gcp", ga.TransportError("connection refused")).kind == E.TRANSIENT


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


def cloudflare_error(cls_name, status, headers=None, errors=None):
    request = httpx.Request("GET", "http://127.0.0.1/client/v4/accounts/a/load_balancers/pools")
    response = httpx.Response(status, headers=headers or {}, request=request)
    body = {"success": False, "errors": errors or [], "messages": [], "result": None}
    return getattr(cloudflare, cls_name)("message", response=response, body=body)


@pytest.mark.parametrize(
    ("cls_name", "status", "kind"),
    [
        ("RateLimitError", 429, E.THROTTLED),
        ("InternalServerError", 502, E.TRANSIENT),
        ("AuthenticationError", 401, E.AUTH),
        ("PermissionDeniedError", 403, E.DENIED),
        ("NotFoundError", 404, E.NOT_FOUND),
        ("ConflictError", 409, E.CONFLICT),
        ("BadRequestError", 400, E.INVALID),
    ],
)
def test_cloudflare_classes(cls_name, status, kind):
    assert classify_error("cloudflare", cloudflare_error(cls_name, status)).kind == kind


def test_cloudflare_envelope_errors_and_retry_after():
    exc = cloudflare_error("RateLimitError", 429, {"retry-after": "3"}, [{"code": 971, "message": "Please wait"}])
    info = classify_error("cloudflare", exc)
    assert (info.code, info.message, info.retry_after) == ("971", "Please wait", 3.0)


def test_cloudflare_connection_error():
    exc = cloudflare.APIConnectionError(request=httpx.Request("GET", "http://127.0.0.1/"))
    assert classify_error("cloudflare", exc).kind == E.TRANSIENT


def test_plain_python_errors():
    assert classify_error("http", ConnectionRefusedError("refused")).kind == E.TRANSIENT
    assert classify_error("http", TimeoutError("timed out")).kind == E.TRANSIENT
    assert classify_error("aws", ValueError("bug")).kind == E.API
    assert not translate_error("aws", ValueError("bug")).retryable


@pytest.mark.parametrize(
    ("status", "kind"),
    [(429, E.THROTTLED), (503, E.TRANSIENT), (408, E.TRANSIENT), (404, E.NOT_FOUND), (418, E.API), (None, E.API)],
)
def test_kind_for_status(status, kind):
    assert kind_for_status(status) == kind


def test_retry_after_parsing():
    assert parse_retry_after({"Retry-After": "120"}) == 120.0
    assert parse_retry_after({"retry-after": "0.5"}) == 0.5
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({}) is None
    assert parse_retry_after(None) is None
    assert parse_retry_after({"Retry-After": "soon"}) is None
    now = 1_700_000_000
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"Retry-After": date}, now=now) == 30.0
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after({"Retry-After": past}, now=now) == 0.0


def test_translate_gives_typed_error_with_context():
    err = translate_error(
        "aws", aws_error("Throttling", message="Rate exceeded"), resource="VPC vpc-1", call="DescribeVpcs"
    )
    assert isinstance(err, E.ThrottledError)
    assert err.retryable
    assert err.describe().startswith("aws: VPC vpc-1: DescribeVpcs failed (400, Throttling): Rate exceeded.")


def test_translate_keeps_fabric_errors_and_fills_context():
    original = E.NotFoundError("gone")
    err = translate_error("azure", original, resource="VNet v", call="get")
    assert err is original
    assert (err.cloud, err.resource, err.call) == ("azure", "VNet v", "get")


def test_long_messages_are_trimmed():
    info = classify_error("aws", aws_error("InternalError", 500, message="x" * 5000))
    assert len(info.message) == 1000
    assert info.message.endswith("...")


def test_tls_failure_wrapped_by_google_auth_is_not_retried():
    inner = ssl.SSLCertVerificationError("certificate verify failed: self-signed certificate")
    wrapped = ga.TransportError(inner)
    wrapped.__cause__ = inner
    error = translate_error("gcp", wrapped, resource="token", call="refresh")
    assert not error.retryable
    assert error.code == "TLS" and "ca_bundle" in error.describe()
