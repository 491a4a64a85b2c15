"""Microsoft Entra ID as the sandbox serves it: one tenant, one service principal, signed tokens.

MSAL (under azure-identity) first reads the tenant's OpenID configuration
(`/<tenant>/v2.0/.well-known/openid-configuration`), then asks its `token_endpoint` for a
client-credentials token. Access tokens are RS256 JWTs signed with a key of the sandbox's own;
ARM accepts them for its audiences (the sandbox's base URL and the public cloud's
management audiences, so clients keep their default `https://management.azure.com/.default` scope).
"""

from __future__ import annotations

import base64
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

TOKEN_LIFETIME = 3600
PUBLIC_AUDIENCES = (
    "https://management.azure.com",
    "https://management.azure.com/",
    "https://management.core.windows.net",
    "https://management.core.windows.net/",
)


@dataclass(frozen=True)
class EntraCredentials:
    """The sandbox's tenant and service principal; the secret never shows in a repr."""

    tenant_id: str
    client_id: str
    object_id: str
    client_secret: str = field(repr=False)

    @classmethod
    def generate(cls) -> EntraCredentials:
        return cls(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()), secrets.token_urlsafe(30))


class TokenError(Exception):
    """An OAuth2 error answer of the token endpoint (AADSTS codes in the description)."""

    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def body(self) -> dict:
        return {
            "error": self.error,
            "error_description": self.description,
            "error_codes": [int(self.description[6:13])] if self.description.startswith("AADSTS") else [],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        }


class Entra:
    """Discovery documents, the token endpoint and token verification for one tenant."""

    def __init__(self, credentials: EntraCredentials | None = None, *, token_lifetime: float = TOKEN_LIFETIME):
        self.credentials = credentials or EntraCredentials.generate()
        self.token_lifetime = token_lifetime
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = secrets.token_hex(8)
        self.authority = ""  # https://127.0.0.1:<port>, set once the server listens
        self.arm_audience = ""

    # ---------------------------------------------------------------- documents
    def issuer(self) -> str:
        return f"{self.authority}/{self.credentials.tenant_id}/v2.0"

    def handles(self, path: str) -> bool:
        parts = path.strip("/").split("/")
        return bool(parts) and (
            parts[0] in (self.credentials.tenant_id, "common", "organizations") or path.startswith("/common/")
        )

    def get(self, path: str) -> tuple[int, dict]:
        """(status, JSON) of a discovery GET."""
        tenant = self.credentials.tenant_id
        parts = path.strip("/").split("/")
        if parts[:3] == ["common", "discovery", "instance"]:
            return 200, {
                "tenant_discovery_endpoint": f"{self.authority}/{tenant}/v2.0/.well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [{"preferred_network": self.authority[8:], "aliases": [self.authority[8:]]}],
            }
        if parts[0] != tenant:
            return 400, TokenError(400, "invalid_tenant", f"AADSTS90002: Tenant '{parts[0]}' not found.").body()
        if parts[1:] in (["v2.0", ".well-known", "openid-configuration"], [".well-known", "openid-configuration"]):
            base = f"{self.authority}/{tenant}"
            return 200, {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": self.issuer(),
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": f"{base}/oidc/userinfo",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "appid"],
                "tenant_region_scope": "NA",
                "cloud_instance_name": "microsoftonline.com",
            }
        if parts[1:] == ["discovery", "v2.0", "keys"]:
            return 200, {"keys": [self._jwk()]}
        return 404, {"error": "not_found", "error_description": f"no such document {path}"}

    def _jwk(self) -> dict:
        numbers = self._key.public_key().public_numbers()

        def b64(value: int) -> str:
            raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        return {"kty": "RSA", "use": "sig", "kid": self._kid, "n": b64(numbers.n), "e": b64(numbers.e)}

    # ---------------------------------------------------------------- tokens
    def token(self, path: str, body: bytes, authorization: str | None) -> dict:
        """Answer a POST to `/<tenant>/oauth2/v2.0/token` (raises TokenError)."""
        creds = self.credentials
        parts = path.strip("/").split("/")
        if parts[0] != creds.tenant_id:
            raise TokenError(400, "invalid_request", f"AADSTS90002: Tenant '{parts[0]}' not found.")
        if parts[1:] not in (["oauth2", "v2.0", "token"], ["oauth2", "token"]):
            raise TokenError(404, "invalid_request", f"AADSTS900561: The endpoint {path} is not supported.")
        form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
        if authorization and authorization.lower().startswith("basic "):
            user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
            form.setdefault("client_id", user)
            form.setdefault("client_secret", password)
        if form.get("grant_type") != "client_credentials":
            raise TokenError(
                400,
                "unsupported_grant_type",
                f"AADSTS70003: The app requested an unsupported grant type '{form.get('grant_type')}'.",
            )
        if form.get("client_id") != creds.client_id:
            raise TokenError(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{form.get('client_id')}' was not found in the "
                f"directory '{creds.tenant_id}'.",
            )
        if not hmac.compare_digest(form.get("client_secret", "").encode(), creds.client_secret.encode()):
            raise TokenError(
                401,
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is "
                "the client secret value, not the client secret ID.",
            )
        scopes = [s for s in form.get("scope", "").split() if s.endswith("/.default")]
        if len(scopes) != 1:
            raise TokenError(
                400,
                "invalid_scope",
                "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a "
                "scope value with /.default suffixed to the resource identifier (application ID URI).",
            )
        audience = scopes[0][: -len("/.default")]
        return {
            "token_type": "Bearer",
            "expires_in": int(self.token_lifetime),
            "ext_expires_in": int(self.token_lifetime),
            "access_token": self.issue(audience),
        }

    def issue(self, audience: str, lifetime: float | None = None) -> str:
        creds = self.credentials
        now = int(time.time())
        claims = {
            "aud": audience,
            "iss": f"{self.authority}/{creds.tenant_id}/",
            "iat": now,
            "nbf": now - 300,
            "exp": now + int(self.token_lifetime if lifetime is None else lifetime),
            "appid": creds.client_id,
            "appidacr": "1",
            "idp": f"{self.authority}/{creds.tenant_id}/",
            "idtyp": "app",
            "oid": creds.object_id,
            "sub": creds.object_id,
            "tid": creds.tenant_id,
            "ver": "1.0",
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self._kid})

    def verify(self, token: str) -> tuple[dict | None, str]:
        """(claims, "") for a token ARM accepts, else (None, why) with why an ARM error code."""
        try:
            claims = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["RS256"],
                audience=[self.arm_audience, self.arm_audience + "/", *PUBLIC_AUDIENCES],
                issuer=f"{self.authority}/{self.credentials.tenant_id}/",
                options={"require": ["exp", "aud", "iss", "tid"]},
                leeway=0,
            )
        except jwt.ExpiredSignatureError:
            return None, "ExpiredAuthenticationToken"
        except jwt.PyJWTError:
            return None, "InvalidAuthenticationToken"
        if claims.get("tid") != self.credentials.tenant_id:
            return None, "InvalidAuthenticationTokenTenant"
        return claims, ""
