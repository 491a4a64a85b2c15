"""The sandbox's cloud load balancer controller.

A Service of type LoadBalancer in a sandbox cluster gets its own loopback address (127.x.y.z) in
`status.loadBalancer.ingress`, and on each of the Service's ports the sandbox serves a small HTTP
responder standing in for the workload: every path (`/health`, `/`, ...) answers JSON naming the
cloud, region, cluster and Service. Like a cloud load balancer's health check it follows the
Service's endpoints: 200 with `status: healthy` while the Service's EndpointSlices (written by the
real kube-controller-manager from the pods kwok runs) list a ready endpoint, 503 with
`status: unhealthy` otherwise (no pods, pods not Ready, scaled to zero). When the region is down
the responders stop listening (connection refused), like a load balancer in a region that is gone.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client.rest import ApiException

from mc_sandbox.core.faults import FaultManager
from mc_sandbox.core.httpjson import reply_json

log = logging.getLogger(__name__)
# Addresses come from 127.128.0.0/9, starting at a random point per sandbox so that several
# sandboxes on one machine (parallel test runs) rarely meet; an address is only used once all of
# a Service's ports are bound on it.
ADDRESS_SPACE = ipaddress.ip_network("127.128.0.0/9")
BIND_ATTEMPTS = 32
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


class BindError(RuntimeError):
    """No loopback address could serve a Service's ports (e.g. a port below 1024 without root)."""


class Responder:
    """The HTTP stand-in for a workload behind one Service port."""

    def __init__(self, ip: str, port: int, identity: dict, ready_endpoints: Callable[[], int] = lambda: 1):
        self.ip, self.port, self.identity = ip, port, identity
        self.ready_endpoints = ready_endpoints
        self.requests = 0
        self._server: ThreadingHTTPServer | None = None

    def _handler(self):
        responder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                responder.requests += 1
                ready = responder.ready_endpoints()
                body = {
                    **responder.identity,
                    "status": "healthy" if ready else "unhealthy",
                    "ready_endpoints": ready,
                    "path": self.path,
                }
                reply_json(self, 200 if ready else 503, body)

            def log_message(self, format, *args):
                log.debug("responder: " + format, *args)

        return Handler

    @property
    def listening(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        """Bind (OSError if the address is taken) and serve."""
        if self._server is not None:
            return
        server = ThreadingHTTPServer((self.ip, self.port), self._handler())
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name=f"lb-{self.ip}:{self.port}", daemon=True).start()
        self._server = server

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()


class ClusterLoadBalancers:
    """Watches one cluster's Services and keeps their responders and status in line."""

    def __init__(self, plane, faults: FaultManager, addresses):
        self.plane = plane
        self.faults = faults
        self.addresses = addresses
        self.services: dict[tuple[str, str], tuple[str, list[Responder]]] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        # (namespace, slice name) -> (service name, ready endpoints)
        self._slices: dict[tuple[str, str], tuple[str, int]] = {}
        self._core = None
        self._threads = [
            threading.Thread(target=self._run, name=f"lb-{plane.key}", daemon=True),
            threading.Thread(target=self._run_slices, name=f"lb-slices-{plane.key}", daemon=True),
        ]

    def start(self) -> None:
        self._core = k8s.CoreV1Api(self.plane.api())
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            for _ip, responders in self.services.values():
                for responder in responders:
                    responder.stop()
            self.services.clear()

    def apply_faults(self) -> None:
        down = self.faults.is_down(self.plane.cloud, self.plane.region)
        with self._lock:
            for _ip, responders in self.services.values():
                for responder in responders:
                    responder.stop() if down else self._start(responder)

    def _start(self, responder: Responder) -> None:
        try:
            responder.start()
        except OSError as exc:
            log.warning("cannot listen on %s:%s for a LoadBalancer Service: %s", responder.ip, responder.port, exc)

    def _run(self) -> None:
        self._watch(self._core.list_service_for_all_namespaces, lambda _items: None, self._on_service, "Services")

    def _run_slices(self) -> None:
        discovery = k8s.DiscoveryV1Api(self.plane.api())
        self._watch(
            discovery.list_endpoint_slice_for_all_namespaces, self._reset_slices, self._on_slice, "EndpointSlices"
        )

    def _watch(self, list_fn, on_listing, on_event, what: str) -> None:
        """List, then watch from the listing's version; list again after any error or timeout."""
        while not self._stop.is_set():
            try:
                listing = list_fn()
                on_listing(listing.items)
                for item in listing.items:
                    on_event("ADDED", item)
                stream = watch.Watch().stream(
                    list_fn, resource_version=listing.metadata.resource_version, timeout_seconds=30
                )
                for event in stream:
                    if self._stop.is_set():
                        return
                    on_event(event["type"], event["object"])
            except Exception as exc:  # API restarts and network errors: list and watch again
                if self._stop.is_set():
                    return
                log.debug("%s watch on %s: %s", what, self.plane.key, exc)
                time.sleep(1)

    def _on_service(self, kind: str, service) -> None:
        if kind == "DELETED":
            self._release((service.metadata.namespace, service.metadata.name))
        else:
            self._reconcile_logged(self._core, service)

    def _reset_slices(self, items) -> None:
        names = {(item.metadata.namespace, item.metadata.name) for item in items}
        with self._lock:
            for key in [key for key in self._slices if key not in names]:
                del self._slices[key]

    def _on_slice(self, kind: str, endpoint_slice) -> None:
        meta = endpoint_slice.metadata
        service = (meta.labels or {}).get(SERVICE_NAME_LABEL)
        with self._lock:
            if kind == "DELETED" or not service:
                self._slices.pop((meta.namespace, meta.name), None)
                return
            # A nil `ready` condition means ready (discovery.k8s.io/v1 API semantics).
            ready = sum(
                1
                for endpoint in endpoint_slice.endpoints or []
                if endpoint.conditions is None or endpoint.conditions.ready is not False
            )
            self._slices[(meta.namespace, meta.name)] = (service, ready)

    def ready_endpoints(self, namespace: str, service: str) -> int:
        """Ready endpoints of one Service over all its EndpointSlices."""
        with self._lock:
            return self._ready(namespace, service)

    def _ready(self, namespace: str, service: str) -> int:
        return sum(ready for (ns, _name), (svc, ready) in self._slices.items() if (ns, svc) == (namespace, service))

    def _reconcile_logged(self, core, service) -> None:
        try:
            self._reconcile(core, service)
        except BindError as exc:
            log.warning("%s %s/%s: %s", self.plane.key, service.metadata.namespace, service.metadata.name, exc)

    def _reconcile(self, core, service) -> None:
        key = (service.metadata.namespace, service.metadata.name)
        if service.spec.type != "LoadBalancer":
            self._release(key)
            return
        ports = sorted(p.port for p in service.spec.ports or [] if (p.protocol or "TCP") == "TCP")
        with self._lock:
            current = self.services.get(key)
            if current is None or sorted(r.port for r in current[1]) != ports:
                for responder in current[1] if current else []:
                    responder.stop()
                identity = {
                    "cloud": self.plane.cloud,
                    "region": self.plane.region,
                    "cluster": self.plane.name,
                    "namespace": key[0],
                    "service": key[1],
                }
                ip, responders = self._bind(ports, identity, lambda key=key: self.ready_endpoints(*key))
                if self.faults.is_down(self.plane.cloud, self.plane.region):
                    for responder in responders:
                        responder.stop()
                self.services[key] = (ip, responders)
            ip = self.services[key][0]
        ingress = [{"ip": ip, "ipMode": "VIP", "ports": [{"port": p, "protocol": "TCP"} for p in ports]}]
        current_ingress = (service.status.load_balancer.ingress or []) if service.status.load_balancer else []
        if [i.ip for i in current_ingress] != [ip]:
            try:
                core.patch_namespaced_service_status(key[1], key[0], {"status": {"loadBalancer": {"ingress": ingress}}})
            except ApiException as exc:
                if exc.status != 404:
                    raise

    def _bind(
        self, ports: list[int], identity: dict, ready_endpoints: Callable[[], int] = lambda: 1
    ) -> tuple[str, list[Responder]]:
        """The first free address on which every port binds, with its responders serving."""
        error = None
        for _attempt, ip in zip(range(BIND_ATTEMPTS), self.addresses(), strict=False):
            responders = []
            try:
                for port in ports:
                    responder = Responder(ip, port, identity, ready_endpoints)
                    responder.start()
                    responders.append(responder)
            except OSError as exc:
                error = exc
                for responder in responders:
                    responder.stop()
                continue
            return ip, responders
        raise BindError(f"cannot serve ports {ports} on any of {BIND_ATTEMPTS} loopback addresses: {error}")

    def _release(self, key) -> None:
        with self._lock:
            entry = self.services.pop(key, None)
        if entry:
            for responder in entry[1]:
                responder.stop()

    def status(self) -> dict:
        with self._lock:
            return {
                f"{ns}/{name}": {
                    "ip": ip,
                    "ports": [r.port for r in responders],
                    "listening": all(r.listening for r in responders),
                    "requests": sum(r.requests for r in responders),
                    "ready_endpoints": self._ready(ns, name),
                }
                for (ns, name), (ip, responders) in sorted(self.services.items())
            }


class LoadBalancerController:
    """One ClusterLoadBalancers per running cluster; hands out loopback addresses."""

    def __init__(self, faults: FaultManager):
        self.faults = faults
        self.clusters: dict[str, ClusterLoadBalancers] = {}
        self._next = random.randrange(ADDRESS_SPACE.num_addresses)  # noqa: S311 - spreading, not secrecy
        self._lock = threading.Lock()
        faults.on_change(self.apply_faults)

    def addresses(self):
        """Endless fresh loopback addresses (network and broadcast-looking ones skipped)."""
        while True:
            with self._lock:
                offset = self._next
                self._next = (self._next + 1) % ADDRESS_SPACE.num_addresses
            address = ADDRESS_SPACE[offset]
            if address.packed[-1] not in (0, 255):
                yield str(address)

    def on_cluster_change(self, event: str, plane) -> None:
        if event == "created":
            lbs = ClusterLoadBalancers(plane, self.faults, self.addresses)
            self.clusters[plane.key] = lbs
            lbs.start()
        elif event == "deleted":
            lbs = self.clusters.pop(plane.key, None)
            if lbs:
                lbs.stop()

    def apply_faults(self) -> None:
        for lbs in list(self.clusters.values()):
            lbs.apply_faults()

    def stop(self) -> None:
        for lbs in self.clusters.values():
            lbs.stop()
        self.clusters.clear()

    def status(self) -> dict:
        return {key: lbs.status() for key, lbs in sorted(self.clusters.items())}
