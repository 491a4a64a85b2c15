"""Three stand-in origins for the load balancer's pools: /health answers 200 with the pool's name
on one port of three loopback addresses, until killed or for at most --seconds (bounded)."""

import argparse
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def handler(name):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"cloud": name, "status": "healthy"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--addresses", nargs=3, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seconds", type=float, default=1200)
    args = parser.parse_args()
    for _attempt in range(20):
        probe = socket.socket()
        probe.bind((args.addresses[0], 0))
        port = probe.getsockname()[1]
        probe.close()
        try:
            servers = [
                ThreadingHTTPServer((address, port), handler(name))
                for address, name in zip(args.addresses, ("aws", "gcp", "azure"), strict=True)
            ]
            break
        except OSError:
            continue
    else:
        raise SystemExit("no port free on all three addresses")
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    with open(args.out, "w") as out:
        json.dump({"origin_port": port, "origin_addresses": args.addresses}, out)
    time.sleep(args.seconds)


if __name__ == "__main__":
    main()
