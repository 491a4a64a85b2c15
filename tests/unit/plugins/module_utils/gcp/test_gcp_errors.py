# -*- coding: utf-8 -*-
"""Google RPC status names, exception classes and rate-limit reasons -> kinds (``gcp/errors.py``)."""

from __future__ import annotations

import google.auth.exceptions as ga
import pytest
import requests
from google.api_core import exceptions

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.classify import classify_error


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
