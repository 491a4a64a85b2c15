"""The API server proxy (region outages) and the token webhook, on loopback."""

from __future__ import annotations

import socket
import socketserver
import threading

import pytest
import requests
from mc_sandbox.core.faults import FaultManager
from mc_sandbox.core.procs import free_port
from mc_sandbox.core.runtime import UserInfo
from mc_sandbox.k8s import load_balancers as lb
from mc_sandbox.k8s.proxy import TcpProxy
from mc_sandbox.k8s.webhook import TokenWebhook


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(1024):
            self.request.sendall(data.upper())


@pytest.fixture
def echo_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def talk(port, payload=b"hello"):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        return sock.recv(1024)


def test_proxy_forwards_goes_down_and_comes_back_on_the_same_port(echo_server):
    proxy = TcpProxy(free_port(), echo_server)
    proxy.up()
    try:
        assert talk(proxy.port) == b"HELLO"
        # an open connection is cut when the region goes down
        open_conn = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        open_conn.sendall(b"x")
        assert open_conn.recv(10) == b"X"
        proxy.down()
        assert not proxy.is_up
        with pytest.raises(ConnectionRefusedError):
            talk(proxy.port)
        assert open_conn.recv(10) == b""  # closed by the outage
        open_conn.close()
        proxy.up()
        assert talk(proxy.port, b"back") == b"BACK"
        assert proxy.connections == 3
    finally:
        proxy.down()


def test_webhook_dispatches_by_prefix_and_answers_token_reviews():
    webhook = TokenWebhook()
    calls = []

    def aws(cluster, token):
        calls.append((cluster, token))
        return (
            UserInfo("arn:aws:iam::123456789012:user/ci", groups=["system:masters"]) if token.endswith("good") else None
        )

    def broken(cluster, token):
        raise RuntimeError("bug")

    webhook.register("k8s-aws-v1.", aws)
    webhook.register("broken.", broken)
    webhook.start()
    try:
        url = webhook.url("aws/us-east-1/c1") + "?timeout=30s"  # as kube-apiserver calls it

        def review(token):
            body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
            response = requests.post(url, json=body, timeout=5)
            assert response.status_code == 200
            return response.json()["status"]

        ok = review("k8s-aws-v1.good")
        assert ok == {
            "authenticated": True,
            "user": {
                "username": "arn:aws:iam::123456789012:user/ci",
                "uid": "",
                "groups": ["system:masters"],
                "extra": {},
            },
        }
        assert review("k8s-aws-v1.bad") == {"authenticated": False}
        assert review("unknown-prefix") == {"authenticated": False}
        assert review("broken.x") == {"authenticated": False}
        assert calls == [("aws/us-east-1/c1", "k8s-aws-v1.good"), ("aws/us-east-1/c1", "k8s-aws-v1.bad")]
        assert (webhook.reviews, webhook.accepted) == (4, 1)
    finally:
        webhook.stop()


def test_load_balancer_addresses_skip_taken_ones():
    class Plane:
        cloud, region, name, key = "aws", "us-east-1", "c1", "aws/us-east-1/c1"

    controller = lb.LoadBalancerController(FaultManager())
    cluster = lb.ClusterLoadBalancers(Plane(), controller.faults, controller.addresses)
    first_ip, first = cluster._bind([18080], {"service": "a"})
    # another sandbox already serves the next address's port: it must be skipped, not shared
    taken_ip = next(controller.addresses())
    blocker = lb.Responder(taken_ip, 18080, {"service": "other"})
    blocker.start()
    try:
        second_ip, second = cluster._bind([18080], {"service": "b"})
        assert second_ip not in (first_ip, taken_ip)
        assert requests.get(f"http://{second_ip}:18080/health", timeout=5).json()["service"] == "b"
        assert requests.get(f"http://{first_ip}:18080/health", timeout=5).json()["service"] == "a"
    finally:
        for responder in [*first, *second, blocker]:
            responder.stop()
