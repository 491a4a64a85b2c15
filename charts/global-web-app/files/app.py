"""The global-web-app server: standard library only, so any official Python image runs it.

GET /health (and /) answer JSON naming the cloud, region and cluster that served the request;
SIGTERM stops it at once (the Deployment's rolling updates and scale-downs).
"""

import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IDENTITY = {
    "cloud": os.environ.get("CLOUD_PROVIDER", ""),
    "region": os.environ.get("REGION", ""),
    "cluster": os.environ.get("CLUSTER_NAME", ""),
}


class Handler(BaseHTTPRequestHandler):
    server_version = "global-web-app"

    def do_GET(self):
        if self.path.split("?", 1)[0] not in ("/", "/health"):
            self._reply(404, {**IDENTITY, "status": "not found", "path": self.path})
            return
        self._reply(200, {**IDENTITY, "status": "healthy", "path": self.path})

    def _reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def main():
    port = int(os.environ.get("PORT", "8080"))
    # Every interface of the pod by default; HOST narrows it (tests bind to loopback).
    server = ThreadingHTTPServer((os.environ.get("HOST", ""), port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


if __name__ == "__main__":
    main()
