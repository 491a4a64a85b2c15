"""Google auth as the sandbox's GCP speaks it: a service-account key, OAuth tokens, bearer checks.

The sandbox hands out a real service-account JSON key (an RSA key of its own) whose `token_uri`
is the sandbox. google-auth's normal flow signs a JWT assertion with that key and trades it for an
opaque access token at `token_uri` (grant type jwt-bearer, RFC 7523); the sandbox checks the
signature, audience and lifetime as Google does. Google's client libraries may also skip the
exchange and send a self-signed JWT (scope claim, https://google.aip.dev/auth/4111) as the bearer
token: the sandbox accepts that too, and nothing else.

Only `cryptography` is needed: RS256 is RSASSA-PKCS1-v1_5 with SHA-256.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mc_sandbox.core.runtime import UserInfo

# Real access tokens start with `ya29.`; the sandbox's carry a marker of their own so the token
# webhook can route them here and nobody mistakes them for real ones.
TOKEN_PREFIX = "ya29.mcsandbox."  # noqa: S105 - a token prefix, not a secret
TOKEN_LIFETIME = 3600
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Google refuses assertions valid for more than an hour, and allows a little clock skew.
MAX_ASSERTION_LIFETIME = 3600
CLOCK_SKEW = 300
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
# google-auth addresses its assertions to Google's token endpoint whatever the key's token_uri
# says, and Google accepts that audience; the sandbox accepts it and its own token_uri.
GOOGLE_TOKEN_ENDPOINT = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a secret


class OAuthError(Exception):
    """An error of the token endpoint, in OAuth's format (RFC 6749 section 5.2)."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


@dataclass
class ServiceAccount:
    """One service account and its key (the private half only goes into the key file)."""

    email: str
    project: str
    key_id: str
    client_id: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls, project: str, name: str = "mc-sandbox") -> ServiceAccount:
        return cls(
            email=f"{name}@{project}.iam.gserviceaccount.com",
            project=project,
            key_id=secrets.token_hex(20),
            client_id=str(secrets.randbelow(10**20)).rjust(21, "1"),
            private_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        )

    def key_file(self, token_uri: str) -> dict:
        """The JSON key as `gcloud iam service-accounts keys create` writes it."""
        pem = self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return {
            "type": "service_account",
            "project_id": self.project,
            "private_key_id": self.key_id,
            "private_key": pem,
            "client_email": self.email,
            "client_id": self.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{self.email}",
            "universe_domain": "googleapis.com",
        }


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def decode_jwt(token: str, public_key: rsa.RSAPublicKey) -> tuple[dict, dict] | None:
    """(header, claims) of an RS256 JWT whose signature `public_key` verifies, else None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(_b64decode(parts[0]))
        claims = json.loads(_b64decode(parts[1]))
        signature = _b64decode(parts[2])
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("alg") != "RS256":
        return None
    try:
        public_key.verify(signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return None
    return header, claims


def _lifetime_ok(claims: dict, now: float) -> bool:
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        return False
    return iat - CLOCK_SKEW <= now < exp and exp - iat <= MAX_ASSERTION_LIFETIME


@dataclass
class _Token:
    email: str
    scopes: tuple[str, ...]
    expires: float


class TokenIssuer:
    """The token endpoint and the bearer checks of every sandbox GCP API (and the GKE webhook)."""

    def __init__(self, accounts: list[ServiceAccount], token_uri: str, clock=time.time):
        self._accounts = {account.email: account for account in accounts}
        self.token_uri = token_uri
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}
        self.issued = 0

    def _account_for(self, header: dict, claims: dict) -> ServiceAccount | None:
        account = self._accounts.get(claims.get("iss"))
        if account is None or header.get("kid", account.key_id) != account.key_id:
            return None
        return account

    def grant(self, form: dict[str, str]) -> dict:
        """Answer a token request (form fields) with an access token, or raise OAuthError."""
        if form.get("grant_type") != JWT_BEARER:
            raise OAuthError("unsupported_grant_type", f"Unsupported grant_type {form.get('grant_type')!r}")
        assertion = form.get("assertion") or ""
        try:
            unverified = json.loads(_b64decode(assertion.split(".")[1]))
        except (IndexError, binascii.Error, ValueError, UnicodeDecodeError):
            raise OAuthError("invalid_grant", "Invalid JWT: the assertion is not a JWT") from None
        account = self._accounts.get(unverified.get("iss") if isinstance(unverified, dict) else None)
        if account is None:
            raise OAuthError("invalid_grant", "Invalid JWT Signature.")
        decoded = decode_jwt(assertion, account.private_key.public_key())
        if decoded is None or self._account_for(*decoded) is not account:
            raise OAuthError("invalid_grant", "Invalid JWT Signature.")
        _header, claims = decoded
        if claims.get("aud") not in (self.token_uri, GOOGLE_TOKEN_ENDPOINT):
            raise OAuthError("invalid_grant", f"Invalid JWT: audience must be {self.token_uri}")
        if not _lifetime_ok(claims, self._clock()):
            raise OAuthError(
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                "reasonable timeframe. Check your iat and exp values in the JWT claim.",
            )
        scopes = tuple(str(claims.get("scope") or "").split())
        if not scopes:
            raise OAuthError("invalid_scope", "Empty or missing scope not allowed.")
        token = TOKEN_PREFIX + secrets.token_urlsafe(48)
        with self._lock:
            now = self._clock()
            self._tokens = {k: v for k, v in self._tokens.items() if v.expires > now}
            self._tokens[token] = _Token(account.email, scopes, now + TOKEN_LIFETIME)
            self.issued += 1
        return {"access_token": token, "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"}

    def expire(self, token: str) -> None:
        """Make a token stale at once (tests of expiry)."""
        with self._lock:
            if token in self._tokens:
                self._tokens[token].expires = self._clock() - 1

    def identify(self, token: str) -> str | None:
        """The service account a bearer token proves (access token or self-signed JWT), else None."""
        if token.startswith(TOKEN_PREFIX):
            with self._lock:
                found = self._tokens.get(token)
            if found is None or found.expires <= self._clock() or CLOUD_PLATFORM not in found.scopes:
                return None
            return found.email
        try:
            unverified = json.loads(_b64decode(token.split(".")[1]))
        except (IndexError, binascii.Error, ValueError, UnicodeDecodeError):
            return None
        account = self._accounts.get(unverified.get("iss") if isinstance(unverified, dict) else None)
        if account is None:
            return None
        decoded = decode_jwt(token, account.private_key.public_key())
        if decoded is None or self._account_for(*decoded) is not account:
            return None
        _header, claims = decoded
        if claims.get("sub", account.email) != account.email or not _lifetime_ok(claims, self._clock()):
            return None
        # A self-signed JWT carries either the API's scopes or the API's URL as audience.
        if CLOUD_PLATFORM not in str(claims.get("scope") or "").split() and not claims.get("aud"):
            return None
        return account.email

    def authenticate(self, cluster: str, token: str) -> UserInfo | None:
        """The GKE token webhook: a valid access token is its service account, a cluster admin
        (as with gke-gcloud-auth-plugin and roles/container.admin)."""
        if not token.startswith(TOKEN_PREFIX) or not cluster.startswith("gcp/"):
            return None
        email = self.identify(token)
        if email is None:
            return None
        account = self._accounts[email]
        return UserInfo(
            username=email,
            uid=account.client_id,
            groups=["system:masters", "system:authenticated"],
        )
