# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Cloudflare API errors mean: the SDK's status errors and Cloudflare's own error codes ->
kinds of error. Read by ``common/classify.py``; the SDK is never imported here."""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.classify import (
    ErrorInfo,
    class_names,
    classify_generic,
    headers_of,
    kind_for_status,
    parse_retry_after,
    status_of,
    trim,
)

# Cloudflare error codes (the ``errors[].code`` of the envelope) whose meaning the status hides.
_CODES = {
    1000: E.AUTH,  # invalid API token
    9109: E.AUTH,  # invalid access token
    10000: E.AUTH,  # authentication error
    10001: E.AUTH,
    971: E.THROTTLED,
    10429: E.THROTTLED,
    1003: E.CONFLICT,  # already exists
    1005: E.CONFLICT,  # still referenced
    81057: E.CONFLICT,  # a DNS record of that name already exists
    7003: E.NOT_FOUND,
}


def _errors(exc):
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        return [e for e in body.get("errors") or [] if isinstance(e, dict)]
    return []


def classify(exc):
    names = class_names(exc)
    if "APIStatusError" not in names:
        return classify_generic(exc)
    status = status_of(exc)
    errors = _errors(exc)
    code = errors[0].get("code") if errors else None
    kind = _CODES.get(code) if isinstance(code, int) else None
    message = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or str(exc)
    return ErrorInfo(
        kind or kind_for_status(status),
        status=status,
        code=str(code) if code is not None else None,
        message=trim(message),
        retry_after=parse_retry_after(headers_of(exc)),
    )
