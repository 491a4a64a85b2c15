# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What AWS errors mean: error codes (and botocore's client-side exceptions) -> kinds of error.

Read by ``common/classify.py``'s ``classify_error("aws", exc)``; botocore is never imported here.
"""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.classify import (
    ErrorInfo,
    by_code,
    class_names,
    classify_generic,
    kind_for_status,
    parse_retry_after,
    trim,
)

_AWS_CODES = {}
for _code in (
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "EC2ThrottledException",
    "PriorRequestNotComplete",
):
    _AWS_CODES[_code] = E.THROTTLED
for _code in (
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServerException",
    "IDPCommunicationError",
):
    _AWS_CODES[_code] = E.TRANSIENT
for _code in (
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "AuthFailure",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "MissingAuthenticationToken",
):
    _AWS_CODES[_code] = E.AUTH
for _code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "OptInRequired"):
    _AWS_CODES[_code] = E.DENIED
for _code in ("ResourceInUseException", "DependencyViolation", "IncorrectState", "ConflictException"):
    _AWS_CODES[_code] = E.CONFLICT
for _code in ("NoSuchEntity", "ResourceNotFoundException", "NoSuchHostedZone", "NoSuchHealthCheck"):
    _AWS_CODES[_code] = E.NOT_FOUND
for _code in (
    "ValidationError",
    "ValidationException",
    "InvalidParameterException",
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "InvalidRequestException",
    "MissingParameter",
    "InvalidInput",
):
    _AWS_CODES[_code] = E.INVALID
_AWS_SUFFIXES = ((".NotFound", E.NOT_FOUND), ("NotFound", E.NOT_FOUND), ("NotFoundException", E.NOT_FOUND))
_AWS_CLIENT_ERRORS = {
    "NoCredentialsError": E.AUTH,
    "PartialCredentialsError": E.AUTH,
    "CredentialRetrievalError": E.AUTH,
    "ProfileNotFound": E.AUTH,
    "NoRegionError": E.INVALID,
    "ParamValidationError": E.INVALID,
}


def classify(exc):
    names = class_names(exc)
    for name, kind in _AWS_CLIENT_ERRORS.items():
        if name in names:
            return ErrorInfo(kind, code=name, message=trim(exc))
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response.get("Error") or {}
        meta = response.get("ResponseMetadata") or {}
        code = error.get("Code")
        status = meta.get("HTTPStatusCode")
        kind = by_code(code, _AWS_CODES, _AWS_SUFFIXES) or kind_for_status(status)
        return ErrorInfo(
            kind,
            status=status,
            code=code,
            message=trim(error.get("Message") or exc),
            retry_after=parse_retry_after(meta.get("HTTPHeaders")),
        )
    return classify_generic(exc)
