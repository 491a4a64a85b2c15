# -*- coding: utf-8 -*-
"""AWS error codes and botocore's client-side errors -> kinds (``aws/errors.py``)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, SSLError

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.classify import classify_error, translate_error


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


def test_translate_gives_typed_error_with_context():
    err = translate_error(
        "aws", aws_error("Throttling", message="Rate exceeded"), resource="VPC vpc-1", call="DescribeVpcs"
    )
    assert isinstance(err, E.ThrottledError)
    assert err.retryable
    assert err.describe().startswith("aws: VPC vpc-1: DescribeVpcs failed (400, Throttling): Rate exceeded.")


def test_long_messages_are_trimmed():
    info = classify_error("aws", aws_error("InternalError", 500, message="x" * 5000))
    assert len(info.message) == 1000
    assert info.message.endswith("...")
