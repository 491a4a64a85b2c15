"""Cloudflare API v4 errors: the envelope every failure is answered in."""

from __future__ import annotations

import json
import math

from werkzeug.wrappers import Response


def envelope(result, *, result_info: dict | None = None, success: bool = True, errors=None) -> dict:
    body = {"success": success, "errors": errors or [], "messages": [], "result": result}
    if result_info is not None:
        body["result_info"] = result_info
    return body


class ApiError(Exception):
    """An error answered as Cloudflare does: HTTP status, and `errors: [{code, message}]`."""

    def __init__(self, status: int, code: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict:
        return envelope(None, success=False, errors=[{"code": self.code, "message": self.message}])

    def response(self) -> Response:
        return Response(
            json.dumps(self.body()), status=self.status, content_type="application/json", headers=self.headers
        )


def invalid(field: str, message: str, code: int = 1002) -> ApiError:
    """400 naming the field, as Cloudflare's validation errors do."""
    return ApiError(400, code, f"{field}: {message}")


def not_found(what: str, code: int = 1001) -> ApiError:
    return ApiError(404, code, f"{what} not found")


def conflict(message: str, code: int = 1003) -> ApiError:
    return ApiError(409, code, message)


def fault(status: int, retry_after: float | None) -> ApiError:
    """An injected fault in Cloudflare's words (rate limit 10000-range codes, internal errors)."""
    if status == 429:
        headers = {"Retry-After": str(max(1, math.ceil(retry_after or 0)))}
        return ApiError(429, 10429, "Rate limited. Please wait and consider throttling your request speed", headers)
    if status == 503:
        return ApiError(503, 10503, "Service temporarily unavailable, please try again")
    return ApiError(status, 10500, "Internal server error")
