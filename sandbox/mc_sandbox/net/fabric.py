"""The sandbox's VPN fabric: what the emulated clouds' VPN APIs were told, made real.

The three cloud emulators (AWS VPN connections, GCP HA VPN and Cloud Router, Azure VPN gateways
and connections) each translate their own resources into two portable lists and ``publish`` them
here whenever one of their VPN resources changes:

- **gateways** -- one per cloud VPN gateway: ``{"key", "cloud", "region", "asn", "cidrs"}``;
  ``cidrs`` are the ranges the gateway announces over BGP (its VPC's), ``key`` is unique in the
  sandbox (``<cloud>/<region>/<resource id>``);
- **endpoints** -- one per tunnel *end* that cloud terminates: ``{"key", "gateway",
  "local_public", "remote_public", "psk", "ike_version", "inside", "remote_inside",
  "peer_asn"}``; ``inside`` is the end's BGP address with the /30 prefix (``169.254.10.1/30``),
  ``remote_inside`` the peer's BGP address, ``peer_asn`` the ASN the end expects of its peer.

A tunnel exists when two clouds each published an end whose public addresses mirror each other's.
Public addresses come from :meth:`VpnFabric.allocate` (198.18.0.0/15, which only exists between the
sandbox's own namespaces).

With root and the daemons installed (``mesh.missing()`` empty) every gateway becomes a namespace
running BIRD and every end a namespace running charon (see ``mesh.py``): a tunnel is UP only when
both charons agreed and BGP Established only when both BIRDs did. Without them the fabric says why
(``missing``) and answers :meth:`status` from the published configuration alone (``mode: api``),
with the reasons the daemons would give.

The clouds read :meth:`status` per end for their own status fields (AWS VgwTelemetry, GCP
``detailedStatus``, Azure ``connectionStatus``) and BGP state and learned routes; a region marked
down by the fault framework cuts its gateways off the internet.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import pathlib
import threading

from mc_sandbox.net import mesh, netns, regions

log = logging.getLogger(__name__)

GATEWAY_KEYS = ("key", "cloud", "region", "asn", "cidrs")
ENDPOINT_KEYS = (
    "key",
    "gateway",
    "local_public",
    "remote_public",
    "psk",
    "ike_version",
    "inside",
    "remote_inside",
    "peer_asn",
)
# What an end reports before the data plane has built it, or while its peer does not exist.
PROVISIONING = "PROVISIONING"
NO_PEER = "NO_RESPONSE_FROM_PEER"


def _check(item: dict, keys: tuple[str, ...], what: str) -> dict:
    missing = [k for k in keys if item.get(k) in (None, "")]
    if missing:
        raise ValueError(f"{what} {item.get('key')!r}: missing {', '.join(missing)}")
    return {k: item[k] for k in keys}


class VpnFabric:
    """One sandbox's VPN data plane, shared by its three clouds."""

    def __init__(self, state_dir: pathlib.Path, faults=None, *, use_dataplane: bool | None = None):
        self.dir = pathlib.Path(state_dir) / "vpn"
        self.prefix = "mc" + netns.identity(pathlib.Path(state_dir))
        self.missing = mesh.missing()
        self.mode = "dataplane" if (not self.missing if use_dataplane is None else use_dataplane) else "api"
        self._faults = faults
        self._lock = threading.RLock()
        self._gateways: dict[str, dict[str, dict]] = {}  # cloud -> key -> gateway
        self._endpoints: dict[str, dict[str, dict]] = {}  # cloud -> key -> endpoint
        self._addresses: dict[str, str] = {}  # owner -> public address
        self._pool = (str(a) for a in mesh.PUBLIC_RANGE.hosts() if str(a) != mesh.TRANSIT)
        self._applied_gateways: dict[str, dict] = {}  # key -> gateway as built
        self._applied_endpoints: dict[str, dict] = {}  # key -> endpoint as built
        self._short: dict[str, str] = {}  # gateway key -> data plane key (namespace-sized)
        self._errors: dict[str, str] = {}  # key -> why the data plane could not build it
        self._cut: set[str] = set()
        self._delays: dict[tuple[str, str], float] = {}  # pair of gateway keys -> one-way ms applied
        self._plane: mesh.DataPlane | None = None
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        if faults is not None:
            faults.on_change(self._wake.set)

    # -- what the clouds call ------------------------------------------------------------------

    def allocate(self, owner: str) -> str:
        """A public address for ``owner`` (e.g. ``gcp/<gateway id>/0``), the same one until released."""
        with self._lock:
            if owner not in self._addresses:
                taken = set(self._addresses.values())
                address = next(a for a in self._pool if a not in taken)
                self._addresses[owner] = address
            return self._addresses[owner]

    def release(self, owner: str) -> None:
        with self._lock:
            self._addresses.pop(owner, None)

    def publish(self, cloud: str, gateways: list[dict], endpoints: list[dict]) -> None:
        """Replace everything ``cloud`` terminates with ``gateways`` and ``endpoints``; the data
        plane follows in the background (see :meth:`wait_idle`)."""
        checked_gateways = {g["key"]: _check(g, GATEWAY_KEYS, "gateway") for g in gateways}
        checked_endpoints = {e["key"]: _check(e, ENDPOINT_KEYS, "endpoint") for e in endpoints}
        for endpoint in checked_endpoints.values():
            if endpoint["gateway"] not in checked_gateways:
                raise ValueError(f"endpoint {endpoint['key']!r}: unknown gateway {endpoint['gateway']!r}")
            ipaddress.ip_interface(endpoint["inside"])
            ipaddress.ip_address(endpoint["remote_inside"])
        with self._lock:
            if self._gateways.get(cloud) == checked_gateways and self._endpoints.get(cloud) == checked_endpoints:
                return
            self._gateways[cloud] = checked_gateways
            self._endpoints[cloud] = checked_endpoints
            self._idle.clear()
        self._wake.set()

    def status(self, key: str) -> dict:
        """The state of end ``key``::

        {"ipsec": {"state": "UP"|"DOWN", "reason": str|None},
         "bgp": {"state": "Established"|..., "last_error": str|None, "routes": [cidr, ...]},
         "mode": "dataplane"|"api"}
        """
        with self._lock:
            endpoint = self._endpoint(key)
            if endpoint is None:
                raise KeyError(key)
            if self.mode == "dataplane":
                return self._dataplane_status(key, endpoint)
            return self._api_status(endpoint)

    def routes(self, gateway: str) -> list[str]:
        """Every prefix gateway ``gateway`` learned over its established sessions."""
        with self._lock:
            ends = [e for c in self._endpoints.values() for e in c.values() if e["gateway"] == gateway]
        learned = set()
        for end in ends:
            state = self.status(end["key"])
            if state["bgp"]["state"] == "Established":
                learned.update(state["bgp"]["routes"])
        return sorted(learned)

    def wait_idle(self, timeout: float = 120.0) -> bool:
        """Block until the data plane has built what was last published (True) or ``timeout``."""
        return self._idle.wait(timeout)

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "mode": self.mode,
                "missing": list(self.missing),
                "prefix": self.prefix,
                "by_cloud": {
                    cloud: {"gateways": len(self._gateways.get(cloud, {})), "endpoints": len(ends)}
                    for cloud, ends in sorted(self._endpoints.items())
                },
                "gateways": sum(len(g) for g in self._gateways.values()),
                "endpoints": sum(len(e) for e in self._endpoints.values()),
                "built": len(self._applied_endpoints),
                "errors": dict(self._errors),
                "cut": sorted(self._cut),
                "delays_ms": {f"{a} {b}": d for (a, b), d in sorted(self._delays.items())},
                "vpcs": self._vpcs(),
            }

    def _vpcs(self) -> dict:
        """``{"<cloud>/<region>": {"gateway", "namespace", "address"}}`` of every VPC the data plane
        built: the namespace standing for the VPC, and the address in it that answers probes."""
        if self._plane is None:
            return {}
        out = {}
        for key, gateway in sorted(self._applied_gateways.items()):
            short = self._short.get(key)
            if short is None or short not in self._plane.gateways:
                continue
            out[f"{gateway['cloud']}/{gateway['region']}"] = {
                "gateway": key,
                "namespace": self._plane.ns.name(f"vpc-{short}"),
                "address": self._plane.vpc_address(short),
            }
        return out

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if self.mode == "dataplane":
            self._plane = mesh.DataPlane(self.dir, self.prefix)
            # Whatever a crashed sandbox with this identity left behind goes first.
            self._plane.ns.remove_all()
        elif self.missing:
            log.warning("VPN tunnels report the API-level state only: %s", "; ".join(self.missing))
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="vpn-fabric", daemon=True)
        self._thread.start()

    def stop(self) -> list[str]:
        """Stop the reconciler, every daemon and every namespace; the namespaces removed."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
        removed = []
        with self._lock:
            if self._plane is not None:
                removed = self._plane.down()
            self._applied_gateways.clear()
            self._applied_endpoints.clear()
            self._short.clear()
            self._cut.clear()
            self._delays.clear()
        return removed

    def reset(self) -> None:
        """Forget every cloud's VPN resources and tear the data plane down to nothing."""
        with self._lock:
            self._gateways.clear()
            self._endpoints.clear()
            self._addresses.clear()
            self._errors.clear()
            self._pool = (str(a) for a in mesh.PUBLIC_RANGE.hosts() if str(a) != mesh.TRANSIT)
            self._idle.clear()
        self._wake.set()
        self.wait_idle(120)

    # -- status without the daemons -----------------------------------------------------------

    def _endpoint(self, key):
        for ends in self._endpoints.values():
            if key in ends:
                return ends[key]
        return None

    def _gateway(self, key):
        for gateways in self._gateways.values():
            if key in gateways:
                return gateways[key]
        return None

    def _peer(self, endpoint):
        for ends in self._endpoints.values():
            for other in ends.values():
                if (
                    other["key"] != endpoint["key"]
                    and other["local_public"] == endpoint["remote_public"]
                    and other["remote_public"] == endpoint["local_public"]
                ):
                    return other
        return None

    def _is_cut(self, gateway_key):
        gateway = self._gateway(gateway_key)
        if gateway is None or self._faults is None:
            return False
        return self._faults.is_down(gateway["cloud"], gateway["region"])

    def _api_status(self, endpoint) -> dict:
        """What the daemons would say, decided from the configuration of both ends."""
        down_bgp = {"state": "Idle", "last_error": None, "routes": []}
        peer = self._peer(endpoint)
        if peer is None or self._is_cut(endpoint["gateway"]) or self._is_cut(peer["gateway"]):
            return {"ipsec": {"state": "DOWN", "reason": NO_PEER}, "bgp": down_bgp, "mode": "api"}
        if peer["psk"] != endpoint["psk"]:
            return {"ipsec": {"state": "DOWN", "reason": "AUTHENTICATION_FAILED"}, "bgp": down_bgp, "mode": "api"}
        if int(peer["ike_version"]) != int(endpoint["ike_version"]):
            return {"ipsec": {"state": "DOWN", "reason": "NO_PROPOSAL_CHOSEN"}, "bgp": down_bgp, "mode": "api"}
        ipsec = {"state": "UP", "reason": None}
        mine, theirs = ipaddress.ip_interface(endpoint["inside"]), ipaddress.ip_interface(peer["inside"])
        if (
            mine.network != theirs.network
            or str(theirs.ip) != endpoint["remote_inside"]
            or str(mine.ip) != peer["remote_inside"]
        ):
            return {"ipsec": ipsec, "bgp": {**down_bgp, "state": "Active"}, "mode": "api"}
        local_gw, peer_gw = self._gateway(endpoint["gateway"]), self._gateway(peer["gateway"])
        if int(endpoint["peer_asn"]) != int(peer_gw["asn"]) or int(peer["peer_asn"]) != int(local_gw["asn"]):
            error = "Received: Bad peer AS"
            return {"ipsec": ipsec, "bgp": {"state": "Connect", "last_error": error, "routes": []}, "mode": "api"}
        bgp = {"state": "Established", "last_error": None, "routes": sorted(peer_gw["cidrs"])}
        return {"ipsec": ipsec, "bgp": bgp, "mode": "api"}

    # -- the data plane -----------------------------------------------------------------------

    def _dataplane_status(self, key, endpoint) -> dict:
        if key in self._errors:
            reason = f"{PROVISIONING}: {self._errors[key]}"
            return {"ipsec": {"state": "DOWN", "reason": reason}, "bgp": _idle(), "mode": "dataplane"}
        if self._applied_endpoints.get(key) != endpoint or self._plane is None:
            return {"ipsec": {"state": "DOWN", "reason": PROVISIONING}, "bgp": _idle(), "mode": "dataplane"}
        state = self._plane.status(key)
        ipsec = {"state": state["ipsec"]["state"], "reason": state["ipsec"]["reason"]}
        if ipsec["state"] != "UP" and self._peer(endpoint) is None and ipsec["reason"] in (None, "NEGOTIATING"):
            ipsec["reason"] = NO_PEER
        return {"ipsec": ipsec, "bgp": state["bgp"], "mode": "dataplane"}

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(timeout=5.0)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                self._reconcile()
            except Exception:
                log.exception("VPN fabric reconcile failed")
            if not self._wake.is_set():
                self._idle.set()

    def _short_key(self, key: str) -> str:
        if key not in self._short:
            used = set(self._short.values())
            self._short[key] = next(f"g{i}" for i in range(10000) if f"g{i}" not in used)
        return self._short[key]

    def _reconcile(self) -> None:
        with self._lock:
            gateways = {k: dict(g) for c in self._gateways.values() for k, g in c.items()}
            endpoints = {k: dict(e) for c in self._endpoints.values() for k, e in c.items()}
        if self._plane is None:
            return
        plane = self._plane
        # Ends that went away or changed gateway, then gateways that went away.
        for key, built in list(self._applied_endpoints.items()):
            if key not in endpoints or endpoints[key]["gateway"] != built["gateway"]:
                plane.remove_tunnel(key)
                with self._lock:
                    self._applied_endpoints.pop(key, None)
        for key in list(self._applied_gateways):
            if key not in gateways:
                plane.remove_gateway(self._short_key(key))
                with self._lock:
                    self._applied_gateways.pop(key, None)
                    self._short.pop(key, None)
        for key, gateway in gateways.items():
            if self._applied_gateways.get(key) != gateway:
                try:
                    plane.gateway(self._short_key(key), gateway["asn"], list(gateway["cidrs"]))
                    with self._lock:
                        self._applied_gateways[key] = gateway
                        self._delays = {p: d for p, d in self._delays.items() if key not in p}
                        self._errors.pop(key, None)
                except Exception as exc:  # a bad range must not stop the other gateways
                    log.exception("VPN gateway %s", key)
                    with self._lock:
                        self._errors[key] = str(exc)
        for key, endpoint in endpoints.items():
            if self._applied_endpoints.get(key) == endpoint or endpoint["gateway"] not in self._applied_gateways:
                continue
            try:
                plane.tunnel(
                    key,
                    self._short_key(endpoint["gateway"]),
                    local_public=endpoint["local_public"],
                    remote_public=endpoint["remote_public"],
                    psk=endpoint["psk"],
                    inside=endpoint["inside"],
                    remote_inside=endpoint["remote_inside"],
                    peer_asn=int(endpoint["peer_asn"]),
                    ike_version=int(endpoint["ike_version"]),
                )
                with self._lock:
                    self._applied_endpoints[key] = endpoint
                    self._errors.pop(key, None)
            except Exception as exc:
                log.exception("VPN tunnel end %s", key)
                with self._lock:
                    self._errors[key] = str(exc)
        self._apply_delays(gateways)
        self._apply_cuts(gateways)

    def _apply_delays(self, gateways) -> None:
        """Between every two gateways the one-way delay of their regions (``regions.py``)."""
        built = sorted(k for k in self._applied_gateways if k in gateways)
        self._delays = {p: d for p, d in self._delays.items() if p[0] in built and p[1] in built}
        for a, b in itertools.combinations(built, 2):
            ga, gb = gateways[a], gateways[b]
            try:
                one_way = regions.one_way_ms(ga["cloud"], ga["region"], gb["cloud"], gb["region"])
            except regions.UnknownRegion as exc:
                log.warning("no latency between %s and %s: %s", a, b, exc)
                continue
            if self._delays.get((a, b)) == one_way:
                continue
            self._plane.delay(self._short_key(a), self._short_key(b), one_way)
            self._delays[(a, b)] = one_way

    def _apply_cuts(self, gateways) -> None:
        for key, gateway in gateways.items():
            if key not in self._applied_gateways:
                continue
            down = self._faults is not None and self._faults.is_down(gateway["cloud"], gateway["region"])
            # A cut gateway is cut again each time: ends built since the cut are cut too.
            if down or key in self._cut:
                self._plane.cut(self._short_key(key), down)
                with self._lock:
                    (self._cut.add if down else self._cut.discard)(key)


def _idle() -> dict:
    return {"state": "Idle", "last_error": None, "routes": []}
