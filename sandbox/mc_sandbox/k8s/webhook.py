"""The token webhook every sandbox API server consults for cloud-style bearer tokens.

kube-apiserver POSTs a TokenReview to /authenticate/<cloud>/<region>/<cluster>; the registered
authenticator for the token's prefix (EKS's `k8s-aws-v1.`, later GKE and AKS tokens) decides.
Client certificates and ServiceAccount tokens never reach it: the API server checks those itself.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from mc_sandbox.core.httpjson import read_json, reply_json
from mc_sandbox.core.procs import LOOPBACK
from mc_sandbox.core.runtime import TokenAuthenticator, UserInfo

log = logging.getLogger(__name__)
PATH_PREFIX = "/authenticate/"


class TokenWebhook:
    def __init__(self, port: int = 0):
        self._authenticators: dict[str, TokenAuthenticator] = {}
        self.reviews = 0
        self.accepted = 0
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                try:
                    review = read_json(self)
                except ValueError:
                    self.send_error(400, "TokenReview must be JSON")
                    return
                path = urlsplit(self.path).path  # the API server appends ?timeout=...
                if not path.startswith(PATH_PREFIX):
                    self.send_error(404)
                    return
                cluster = path[len(PATH_PREFIX) :]
                spec = review.get("spec") or {}
                user = webhook.authenticate(cluster, spec.get("token") or "")
                status = {"authenticated": user is not None}
                if user is not None:
                    # The API server drops a review whose audiences do not meet the ones it asked
                    # for; a cloud token is valid for the whole cluster, so all of them.
                    if spec.get("audiences"):
                        status["audiences"] = spec["audiences"]
                    status["user"] = {
                        "username": user.username,
                        "uid": user.uid,
                        "groups": user.groups,
                        "extra": user.extra,
                    }
                reply_json(
                    self,
                    200,
                    {
                        "apiVersion": review.get("apiVersion", "authentication.k8s.io/v1"),
                        "kind": "TokenReview",
                        "status": status,
                    },
                )

            def log_message(self, format, *args):
                log.debug("webhook: " + format, *args)

        self._server = ThreadingHTTPServer((LOOPBACK, port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="token-webhook", daemon=True)

    def url(self, cluster_key: str) -> str:
        return f"http://{LOOPBACK}:{self.port}{PATH_PREFIX}{cluster_key}"

    def register(self, prefix: str, authenticator: TokenAuthenticator) -> None:
        self._authenticators[prefix] = authenticator

    def authenticate(self, cluster: str, token: str) -> UserInfo | None:
        self.reviews += 1
        for prefix, authenticator in self._authenticators.items():
            if token.startswith(prefix):
                try:
                    user = authenticator(cluster, token)
                except Exception:  # an authenticator bug must read as 'not authenticated', never 200 OK
                    log.exception("token authenticator for %s failed", prefix)
                    return None
                if user is not None:
                    self.accepted += 1
                else:
                    log.info("token review for %s: %s token of %d characters rejected", cluster, prefix, len(token))
                return user
        log.info("token review for %s: no authenticator for this kind of token", cluster)
        return None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
