# -*- coding: utf-8 -*-
"""The classifiers against the real exception classes of each cloud's SDK."""

from __future__ import annotations

import email.utils
import ssl

import google.auth.exceptions as ga
import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.classify import (
    classify_error,
    kind_for_status,
    parse_retry_after,
    translate_error,
)


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


def test_translate_keeps_fabric_errors_and_fills_context():
    original = E.NotFoundError("gone")
    err = translate_error("azure", original, resource="VNet v", call="get")
    assert err is original
    assert (err.cloud, err.resource, err.call) == ("azure", "VNet v", "get")


def test_tls_failure_wrapped_by_google_auth_is_not_retried():
    inner = ssl.SSLCertVerificationError("certificate verify failed: self-signed certificate")
    wrapped = ga.TransportError(inner)
    wrapped.__cause__ = inner
    error = translate_error("gcp", wrapped, resource="token", call="refresh")
    assert not error.retryable
    assert error.code == "TLS" and "ca_bundle" in error.describe()
