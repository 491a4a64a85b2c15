"""Cloudflare's errors as the SDK raises them become the collection's typed errors: what is retried,
what is a bad token, what names the API's own message."""

from __future__ import annotations

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.classify import translate_error


class APIStatusError(Exception):
    """The shape of cloudflare.APIStatusError: status_code, response (headers), body."""

    def __init__(self, status, errors, headers=None):
        super().__init__(f"Error code: {status}")
        self.status_code = status
        self.body = {"success": False, "errors": errors, "messages": [], "result": None}
        self.response = type("Response", (), {"status_code": status, "headers": headers or {}})()


class RateLimitError(APIStatusError):
    pass


class APIConnectionError(Exception):
    pass


@pytest.mark.parametrize(
    ("exc", "kind", "retryable"),
    [
        (RateLimitError(429, [{"code": 10429, "message": "Rate limited"}], {"Retry-After": "3"}), E.THROTTLED, True),
        (APIStatusError(503, [{"code": 10500, "message": "Internal"}]), E.TRANSIENT, True),
        (APIStatusError(401, [{"code": 1000, "message": "Invalid API Token"}]), E.AUTH, False),
        (APIStatusError(400, [{"code": 1003, "message": "a pool named x already exists"}]), E.CONFLICT, False),
        (APIStatusError(404, [{"code": 7003, "message": "Could not route to /pools/x"}]), E.NOT_FOUND, False),
        (APIStatusError(400, [{"code": 99999, "message": "origins: is required"}]), E.INVALID, False),
        (APIConnectionError("Connection error."), E.TRANSIENT, True),
    ],
)
def test_kinds(exc, kind, retryable):
    error = translate_error("cloudflare", exc, resource="pool aws", call="load_balancers.pools.create")
    assert (error.kind, error.retryable) == (kind, retryable)
    assert error.cloud == "cloudflare" and error.call == "load_balancers.pools.create"


def test_the_apis_own_message_and_retry_after_are_kept():
    exc = RateLimitError(429, [{"code": 10429, "message": "Rate limited"}], {"Retry-After": "3"})
    error = translate_error("cloudflare", exc)
    assert error.retry_after == 3.0
    assert "10429: Rate limited" in error.describe()
