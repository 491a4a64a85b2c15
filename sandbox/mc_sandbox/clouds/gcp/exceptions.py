"""Google API errors as the sandbox answers them: google.rpc.Status inside `{"error": ...}`."""

from __future__ import annotations

import json
import math

from werkzeug.wrappers import Response

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
FAULT_MESSAGES = {
    429: "Quota exceeded: too many requests, please retry later.",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
}
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


class ApiError(Exception):
    """An error answer: HTTP code, canonical status, message and optional field violations."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        status: str | None = None,
        violations: list[tuple[str, str]] | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS_NAMES.get(code, "UNKNOWN")
        self.violations = violations or []
        self.retry_after = retry_after

    def body(self) -> dict:
        error: dict = {"code": self.code, "message": self.message, "status": self.status}
        if self.violations:
            error["details"] = [
                {
                    "@type": BAD_REQUEST,
                    "fieldViolations": [{"field": f, "description": d} for f, d in self.violations],
                }
            ]
        return {"error": error}

    def response(self) -> Response:
        response = Response(json.dumps(self.body()), status=self.code, content_type="application/json")
        if self.retry_after is not None:
            response.headers["Retry-After"] = str(math.ceil(self.retry_after))
        if self.code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
        return response


def invalid(message: str, *violations: tuple[str, str]) -> ApiError:
    return ApiError(400, message, violations=list(violations))


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def already_exists(message: str) -> ApiError:
    return ApiError(409, message)


def failed_precondition(message: str) -> ApiError:
    return ApiError(400, message, status="FAILED_PRECONDITION")


def fault(status: int, retry_after: float | None) -> ApiError:
    return ApiError(
        status, f"{FAULT_MESSAGES[status]} (injected by the sandbox's fault rules)", retry_after=retry_after
    )
