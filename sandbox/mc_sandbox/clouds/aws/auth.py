"""EKS bearer tokens: how clients build them and how the sandbox checks them.

An EKS token is `k8s-aws-v1.` plus the unpadded base64url of a presigned STS `GetCallerIdentity`
URL whose signature also covers the header `x-k8s-aws-id: <cluster name>`. Real EKS proves the
token by replaying the URL to STS; the sandbox's STS (moto) checks no signatures, so the sandbox
verifies SigV4 itself against the secret of the access key the URL names. That check is what makes
a forged, tampered, replayed-elsewhere or stale token fail.

This module needs only boto3/botocore, so the collection and the integration tests can import
`eks_token` without moto.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlsplit

import botocore.client

TOKEN_PREFIX = "k8s-aws-v1."  # noqa: S105 - a token prefix, not a secret
CLUSTER_ID_HEADER = "x-k8s-aws-id"
# EKS accepts a token for 15 minutes after it was signed, whatever X-Amz-Expires says (the
# tools put 60 there).
TOKEN_MAX_AGE = timedelta(minutes=15)
# STS refuses requests signed too far in the future; allow the same clock skew.
CLOCK_SKEW = timedelta(minutes=5)
PRESIGN_EXPIRES = 60

_SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
_SIGV4_DATE = "%Y%m%dT%H%M%SZ"
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_CONTEXT_KEY = "mc_sandbox_eks_cluster"
_PARAM = "ClusterName"


def eks_token(session_or_client, cluster_name: str) -> str:
    """A bearer token for `cluster_name`, built the way `aws eks get-token` builds it.

    `session_or_client` is a boto3 Session (its STS client follows the session's region and
    endpoint settings, e.g. AWS_ENDPOINT_URL) or an STS client.
    """
    if isinstance(session_or_client, botocore.client.BaseClient):
        sts = session_or_client
        if sts.meta.service_model.service_name != "sts":
            raise TypeError(f"eks_token needs an STS client, got a {sts.meta.service_model.service_name} client")
    else:
        sts = session_or_client.client("sts")
    # The cluster name travels in the request context, not in a closure, so concurrent calls on
    # one client for different clusters cannot mix up their headers.
    sts.meta.events.register(
        "provide-client-params.sts.GetCallerIdentity", _stash_cluster_name, unique_id="mc-sandbox-eks-stash"
    )
    sts.meta.events.register("before-sign.sts.GetCallerIdentity", _add_cluster_header, unique_id="mc-sandbox-eks-hdr")
    url = sts.generate_presigned_url(
        "get_caller_identity", Params={_PARAM: cluster_name}, ExpiresIn=PRESIGN_EXPIRES, HttpMethod="GET"
    )
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def _stash_cluster_name(params, context, **_kwargs):
    if _PARAM in params:
        context[_CONTEXT_KEY] = params.pop(_PARAM)


def _add_cluster_header(request, **_kwargs):
    if _CONTEXT_KEY in request.context:
        request.headers[CLUSTER_ID_HEADER] = request.context[_CONTEXT_KEY]


@dataclass(frozen=True)
class VerifiedCaller:
    """Who signed a valid token: the access key (and session token) its signature proves."""

    access_key_id: str
    region: str
    session_token: str | None


def verify_eks_token(
    token: str,
    *,
    cluster_name: str,
    hosts: Collection[str],
    secret_for: Callable[[str, str | None], str | None],
    now: datetime | None = None,
    max_age: timedelta = TOKEN_MAX_AGE,
    aged: Callable[[datetime], timedelta] | None = None,
) -> VerifiedCaller | None:
    """The caller a token proves for `cluster_name`, or None when anything about it is wrong.

    `hosts` are the host[:port] values the sandbox's STS answers on; `secret_for(access_key_id,
    session_token)` returns the key's secret when the key (and, for temporary credentials, its
    session token) is known and active. `max_age` is how long after signing a token is accepted;
    `aged(signed_at)` is time the sandbox's clock skipped since then (see core.clock), which a
    token has aged by too.
    """
    if not token.startswith(TOKEN_PREFIX):
        return None
    encoded = token[len(TOKEN_PREFIX) :]
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc not in hosts or parts.path not in ("", "/"):
        return None
    if parts.fragment:
        return None
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = dict(pairs)
    if len(query) != len(pairs):  # a repeated parameter could smuggle a second value past the checks
        return None
    if any(key not in ("Action", "Version") and not key.startswith("X-Amz-") for key in query):
        return None
    if query.get("Action") != "GetCallerIdentity" or query.get("X-Amz-Algorithm") != _SIGV4_ALGORITHM:
        return None
    scope = query.get("X-Amz-Credential", "").split("/")
    if len(scope) != 5 or scope[3] != "sts" or scope[4] != "aws4_request":
        return None
    access_key_id, day, region = scope[0], scope[1], scope[2]
    amz_date = query.get("X-Amz-Date", "")
    try:
        signed_at = datetime.strptime(amz_date, _SIGV4_DATE).replace(tzinfo=UTC)
        int(query.get("X-Amz-Expires", ""))
    except ValueError:
        return None
    now = now or datetime.now(UTC)
    skipped = aged(signed_at) if aged is not None else timedelta(0)
    if day != amz_date[:8] or not now - max_age <= signed_at - skipped <= now + CLOCK_SKEW:
        return None
    # Only headers whose values the verifier knows can be signed: the host and the cluster id.
    if query.get("X-Amz-SignedHeaders") != f"host;{CLUSTER_ID_HEADER}":
        return None
    session_token = query.get("X-Amz-Security-Token")
    secret = secret_for(access_key_id, session_token)
    if secret is None:
        return None
    expected = sigv4_signature(
        secret,
        method="GET",
        path=parts.path or "/",
        query=[(k, v) for k, v in pairs if k != "X-Amz-Signature"],
        headers={"host": parts.netloc, CLUSTER_ID_HEADER: cluster_name},
        amz_date=amz_date,
        scope="/".join(scope[1:]),
    )
    if not hmac.compare_digest(expected, query.get("X-Amz-Signature", "")):
        return None
    return VerifiedCaller(access_key_id=access_key_id, region=region, session_token=session_token)


def sigv4_signature(
    secret: str,
    *,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    amz_date: str,
    scope: str,
    payload_hash: str = _EMPTY_SHA256,
) -> str:
    """The hex SigV4 signature of a request, following AWS's published algorithm.

    `scope` is `<yyyymmdd>/<region>/<service>/aws4_request`; `headers` are exactly the signed ones.
    A presigned GET carries no body, so its payload hash is that of the empty string.
    """

    def encode(text: str) -> str:
        return quote(text, safe="-_.~")

    canonical_query = "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(query))
    names = sorted(name.lower() for name in headers)
    lowered = {name.lower(): value for name, value in headers.items()}
    canonical_headers = "".join(f"{name}:{' '.join(lowered[name].split())}\n" for name in names)
    canonical_request = "\n".join(
        [method, quote(path, safe="/~"), canonical_query, canonical_headers, ";".join(names), payload_hash]
    )
    string_to_sign = "\n".join(
        [_SIGV4_ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
