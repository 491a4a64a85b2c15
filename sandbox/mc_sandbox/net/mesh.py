"""The VPN data plane: gateways, VPCs and IPsec tunnels between them, as namespaces and daemons.

Layout (every namespace named ``<prefix>-<role>``, see ``netns.py``)::

    vpc-<gw>  --veth-- gw-<gw> (BIRD; tunnel interfaces t<n>) ... ep-<n> (charon, public address)
                                                                    |
                                                    inet (routes public addresses, 198.18.0.0/15)

A gateway is a namespace holding BIRD and the tunnel interfaces; its VPC is a namespace behind it
holding addresses of the VPC's ranges, so traffic between two VPCs really crosses a tunnel. A
tunnel endpoint is a namespace holding one public address and one charon; its TUN device is moved
into the gateway as the tunnel's interface, carrying the /30 inside address. The ``inet``
namespace routes public addresses to endpoints; several tunnels of one gateway interface share
its public address (a GCP HA VPN interface terminates two tunnels), so ``inet`` picks the
endpoint by the pair of addresses (policy routing: from the peer's address to ours).

Latency between two gateways (``delay``) is added in ``inet`` by a userspace forwarder (see
``delay.py``): packets arriving from an endpoint link towards a peer of the other gateway are
policy-routed into the forwarder's TUN device, held for the pair's one-way delay and routed on.
"""

from __future__ import annotations

import ipaddress
import json
import pathlib
import re
import shutil
import subprocess
import time

from mc_sandbox.net import bgp, delay, ipsec, netns

PUBLIC_RANGE = ipaddress.ip_network("198.18.0.0/15")
# inet's own address on every endpoint link, never handed out as a public address.
TRANSIT = "198.19.255.254"
TABLE_BASE = 1000
# Rules that cut a gateway off come before every routing rule.
CUT_PRIORITY = 100
# Rules that send an endpoint's packets through the delay forwarder come first (a delayed packet
# still meets the cut rules when it comes back); they share one priority and one table.
DELAY_PRIORITY = 90
DELAY_TABLE = "900"
DELAY_TUN = "dly0"


def missing() -> list[str]:
    """Everything that keeps this machine from running the data plane, or [] when it can."""
    return netns.missing_requirements(("ip", "ping")) + ipsec.missing() + bgp.missing()


class DataPlane:
    def __init__(self, workdir: pathlib.Path, prefix: str):
        self.dir = pathlib.Path(workdir)
        self.ns = netns.Namespaces(prefix)
        self.gateways: dict[str, dict] = {}
        self.tunnels: dict[str, dict] = {}
        self.state_file = self.dir / "dataplane.json"
        # {(gateway_a, gateway_b) sorted: (one_way_ms, loss_pct)}, the rules installed in inet
        # {endpoint index: (local_public, remote_public)} and the forwarder once one is needed.
        self.delays: dict[tuple[str, str], tuple[float, float]] = {}
        self._delay_rules: dict[int, tuple[str, str]] = {}
        self._delay: delay.Delay | None = None

    # -- gateways -------------------------------------------------------------------------------

    def _inet(self) -> None:
        if not self.ns.exists("inet"):
            self.ns.add("inet", forwarding=True)

    def gateway(self, key: str, asn: int, cidrs: list[str]) -> None:
        """Create (or update) gateway ``key`` with its VPC behind it announcing ``cidrs``."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self._inet()
        gw, vpc = f"gw-{key}", f"vpc-{key}"
        self.ns.add(gw, forwarding=True)
        self.ns.add(vpc)
        self.ns.veth(gw, "vpc", vpc, "eth0")
        have = self.ns.ip(gw, "-o", "-4", "addr", "show", "dev", "vpc")
        for index, cidr in enumerate(cidrs):
            net = ipaddress.ip_network(cidr)
            hosts = net.hosts()
            router, host = next(hosts), next(hosts)
            if f" {router}/" not in have:
                self.ns.ip(gw, "addr", "add", f"{router}/{net.prefixlen}", "dev", "vpc")
                self.ns.ip(vpc, "addr", "add", f"{host}/{net.prefixlen}", "dev", "eth0")
            if index == 0:
                self.ns.ip(vpc, "route", "replace", "default", "via", str(router))
        entry = self.gateways.setdefault(key, {"sessions": {}})
        entry.update(asn=int(asn), cidrs=list(cidrs), bird=bgp.Bird(self.ns.exec_argv(gw, []), self.dir / gw))
        self._bgp(key)
        self._save()

    def vpc_address(self, key: str) -> str:
        """The address a probe from another VPC aims at inside VPC ``key``."""
        net = ipaddress.ip_network(self.gateways[key]["cidrs"][0])
        hosts = net.hosts()
        next(hosts)
        return str(next(hosts))

    def _bgp(self, key: str) -> None:
        gateway = self.gateways[key]
        sessions = sorted(gateway["sessions"].values(), key=lambda s: s["name"])
        router_id = str(ipaddress.ip_network(gateway["cidrs"][0]).network_address + 1)
        gateway["bird"].apply(bgp.render(router_id, gateway["asn"], sessions))

    # -- tunnels --------------------------------------------------------------------------------

    def _index(self, name: str) -> int:
        if name in self.tunnels:
            return self.tunnels[name]["index"]
        used = {t["index"] for t in self.tunnels.values()}
        return next(i for i in range(10000) if i not in used)

    def tunnel(
        self,
        name: str,
        gateway: str,
        *,
        local_public: str,
        remote_public: str,
        psk: str,
        inside: str,
        remote_inside: str,
        peer_asn: int,
        ike_version: int = 2,
    ) -> None:
        """Create or reconfigure the endpoint of tunnel ``name`` on ``gateway``: its public
        address, its charon (key, IKE version) and its BGP session (inside addresses, peer ASN)."""
        for address in (local_public, remote_public):
            if ipaddress.ip_address(address) not in PUBLIC_RANGE or address == TRANSIT:
                raise ValueError(f"tunnel {name}: {address} is not a sandbox public address (198.18.0.0/15)")
        index = self._index(name)
        ep, ifname = f"ep-{index}", f"t{index}"
        existing = self.tunnels.get(name)
        if existing is None or existing["local_public"] != local_public or existing["remote_public"] != remote_public:
            if existing is not None:
                self.remove_tunnel(name)
            self._endpoint(index, ep, local_public, remote_public)
            charon = ipsec.Charon(self.ns.exec_argv(ep, []), self.dir / ep, f"t{index}", local_public, remote_public)
            charon.start()
            self._move_tun(ep, f"gw-{gateway}", ifname)
        else:
            charon = existing["charon"]
        gw = f"gw-{gateway}"
        self.ns.ip(gw, "addr", "flush", "dev", ifname)
        self.ns.ip(gw, "addr", "add", inside, "dev", ifname)
        self.ns.ip(gw, "link", "set", ifname, "up")
        charon.configure(psk, ike_version)
        self.tunnels[name] = {
            "index": index,
            "gateway": gateway,
            "local_public": local_public,
            "remote_public": remote_public,
            "charon": charon,
        }
        local_ip = inside.split("/", maxsplit=1)[0]
        self.gateways[gateway]["sessions"][name] = {
            "name": f"t{index}",
            "ifname": ifname,
            "local": local_ip,
            "remote": remote_inside,
            "peer_asn": int(peer_asn),
        }
        self._bgp(gateway)
        self._sync_delays()
        charon.initiate()
        self._save()

    def _endpoint(self, index, ep, local_public, remote_public) -> None:
        self.ns.add(ep)
        self.ns.veth("inet", f"e{index}", ep, "wan")
        self.ns.ip(ep, "addr", "replace", f"{local_public}/32", "dev", "wan")
        self.ns.ip(ep, "route", "replace", "default", "via", TRANSIT, "dev", "wan", "onlink")
        self.ns.ip("inet", "addr", "replace", f"{TRANSIT}/32", "dev", f"e{index}")
        table = str(TABLE_BASE + index)
        self.ns.ip("inet", "route", "replace", f"{local_public}/32", "dev", f"e{index}", "table", table)
        self.ns.ip("inet", "rule", "del", "priority", table, check=False)
        self.ns.ip("inet", "rule", "add", "from", remote_public, "to", local_public, "lookup", table, "priority", table)
        # Traffic towards a public address from elsewhere (a probe) reaches one of its endpoints.
        self.ns.ip("inet", "route", "replace", f"{local_public}/32", "dev", f"e{index}")

    def _move_tun(self, ep, gw, ifname, timeout=10.0) -> None:
        deadline = time.monotonic() + timeout
        while "ipsec0" not in self.ns.links(ep):
            if time.monotonic() > deadline:
                raise TimeoutError(f"charon in {self.ns.name(ep)} made no ipsec0 in {timeout:.0f}s")
            time.sleep(0.05)
        self.ns.ip(ep, "link", "set", "ipsec0", "down")
        self.ns.ip(ep, "link", "set", "ipsec0", "name", ifname)
        self.ns.ip(ep, "link", "set", ifname, "netns", self.ns.name(gw))
        # kernel-libipsec routes every CHILD_SA's traffic selectors into its TUN device by name, in
        # its own namespace, and fails the CHILD_SA when it cannot: a placeholder link of that name
        # takes the route (table 220 also holds a throw route for the peer, so the endpoint's own
        # IKE/ESP packets still leave through wan).
        self.ns.ip(ep, "link", "add", "ipsec0", "type", "veth", "peer", "name", "ipsec0p")
        self.ns.ip(ep, "link", "set", "ipsec0", "up")

    def remove_tunnel(self, name: str) -> None:
        tunnel = self.tunnels.pop(name, None)
        if tunnel is None:
            return
        tunnel["charon"].stop()  # its TUN device goes with it
        index = tunnel["index"]
        self.ns.ip("inet", "rule", "del", "priority", str(TABLE_BASE + index), check=False)
        self._sync_delays()
        netns.run(["ip", "netns", "del", self.ns.name(f"ep-{index}")], check=False)
        gateway = self.gateways.get(tunnel["gateway"])
        if gateway is not None:
            gateway["sessions"].pop(name, None)
            self._bgp(tunnel["gateway"])
        shutil.rmtree(self.dir / f"ep-{index}", ignore_errors=True)
        self._save()

    def remove_gateway(self, key: str) -> None:
        """Remove gateway ``key``: its tunnel ends, its BIRD and its two namespaces."""
        for name in [n for n, t in self.tunnels.items() if t["gateway"] == key]:
            self.remove_tunnel(name)
        gateway = self.gateways.pop(key, None)
        if gateway is not None:
            gateway["bird"].stop()
        # A gateway made later under the same key starts without the old one's latency.
        for pair in [p for p in self.delays if key in p]:
            del self.delays[pair]
        self._sync_delays()
        for role in (f"vpc-{key}", f"gw-{key}"):
            netns.run(["ip", "netns", "del", self.ns.name(role)], check=False)
        shutil.rmtree(self.dir / f"gw-{key}", ignore_errors=True)
        self._save()

    # -- faults ---------------------------------------------------------------------------------

    def cut(self, gateway: str, down: bool = True) -> None:
        """Cut (or restore) every tunnel endpoint of ``gateway`` from the internet: ``inet``
        drops what it would forward to or from their public addresses (a rule, so restoring
        brings back exactly the routing that was there)."""
        for tunnel in self.tunnels.values():
            if tunnel["gateway"] != gateway:
                continue
            priority = str(CUT_PRIORITY + tunnel["index"])
            self.ns.ip("inet", "rule", "del", "priority", priority, check=False)
            if down:
                self.ns.ip("inet", "rule", "add", "to", tunnel["local_public"], "priority", priority, "blackhole")

    # -- latency --------------------------------------------------------------------------------

    def delay(self, gateway_a: str, gateway_b: str, one_way_ms: float, loss_pct: float = 0.0) -> None:
        """Delay every packet between the tunnel endpoints of ``gateway_a`` and ``gateway_b`` by
        ``one_way_ms`` in each direction and drop ``loss_pct`` % of them, for the endpoints there
        are now and those made later; ``0, 0`` takes the pair back to an undelayed internet."""
        for key in (gateway_a, gateway_b):
            if key not in self.gateways:
                raise KeyError(f"delay: no gateway {key!r} in this data plane (have {sorted(self.gateways)})")
        if gateway_a == gateway_b:
            raise ValueError(f"delay: {gateway_a!r} to itself; give two different gateways")
        one_way_ms, loss_pct = delay.check_pair(one_way_ms, loss_pct)
        pair = tuple(sorted((gateway_a, gateway_b)))
        if one_way_ms or loss_pct:
            self.delays[pair] = (one_way_ms, loss_pct)
        else:
            self.delays.pop(pair, None)
        self._sync_delays()
        self._save()

    def delay_stats(self) -> dict:
        """The forwarder's counters (``received``, ``delayed``, ``lost``, ``overflow``, ``queued``,
        ``pairs``), or {} while no delay was ever asked for."""
        return self._delay.stats() if self._delay is not None and self._delay.running() else {}

    def _delay_pairs(self) -> dict[tuple[str, str], tuple[float, float]]:
        """``{(local_public, remote_public): (one_way_ms, loss_pct)}`` of every endpoint whose peer
        is an endpoint of a gateway its own gateway has a delay with."""
        owner = {t["local_public"]: t["gateway"] for t in self.tunnels.values()}
        pairs = {}
        for tunnel in self.tunnels.values():
            peer = owner.get(tunnel["remote_public"])
            if peer is None:
                continue
            setting = self.delays.get(tuple(sorted((tunnel["gateway"], peer))))
            if setting is not None:
                pairs[(tunnel["local_public"], tunnel["remote_public"])] = setting
        return pairs

    def _delay_rule(self, action: str, index: int, src: str, dst: str) -> None:
        self.ns.ip(
            "inet", "rule", action, "iif", f"e{index}", "from", src, "to", dst,
            "lookup", DELAY_TABLE, "priority", str(DELAY_PRIORITY), check=action == "add",
        )  # fmt: skip

    def _sync_delays(self) -> None:
        """Make the forwarder's table and inet's rules what ``self.delays`` asks for."""
        pairs = self._delay_pairs()
        wanted = {
            t["index"]: (t["local_public"], t["remote_public"])
            for t in self.tunnels.values()
            if (t["local_public"], t["remote_public"]) in pairs
        }
        for index, (src, dst) in list(self._delay_rules.items()):
            if wanted.get(index) != (src, dst):
                self._delay_rule("del", index, src, dst)
                del self._delay_rules[index]
        if not self.delays and self._delay is None:
            return
        if self._delay is None or not self._delay.running():
            self._delay = delay.Delay(self.ns.exec_argv("inet", []), self.dir / "delay", DELAY_TUN)
            self._delay.start()
            self.ns.ip("inet", "link", "set", DELAY_TUN, "up")
            # Packets come back out of the TUN with sources inet routes elsewhere.
            for conf in ("all", DELAY_TUN):
                self.ns.sysctl("inet", f"net.ipv4.conf.{conf}.rp_filter", "0")
            self.ns.ip("inet", "route", "replace", "default", "dev", DELAY_TUN, "table", DELAY_TABLE)
        self._delay.set(pairs)
        for index, (src, dst) in wanted.items():
            if index not in self._delay_rules:
                self._delay_rule("add", index, src, dst)
                self._delay_rules[index] = (src, dst)

    # -- status ---------------------------------------------------------------------------------

    def status(self, name: str) -> dict:
        """``{"ipsec": {"state", "reason", ...}, "bgp": {"state", "last_error", "routes"}}``."""
        tunnel = self.tunnels[name]
        session = self.gateways[tunnel["gateway"]]["sessions"][name]
        return {
            "ipsec": tunnel["charon"].status(),
            "bgp": self.gateways[tunnel["gateway"]]["bird"].session(session["name"]),
        }

    def probe(self, src: str, dst: str, count: int = 5, interval: float = 0.2) -> dict:
        """Ping from VPC ``src`` to VPC ``dst``: ``{"sent", "received", "loss_pct", "rtt_ms"}``."""
        target = self.vpc_address(dst)
        argv = self.ns.exec_argv(
            f"vpc-{src}", ["ping", "-n", "-q", "-c", str(count), "-i", str(interval), "-W", "1", target]
        )
        timeout = count * (interval + 1) + 5
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False).stdout  # noqa: S603
        sent = re.search(r"(\d+) packets transmitted, (\d+) received", out)
        rtt = re.search(r"= [\d.]+/([\d.]+)/", out)
        transmitted, received = (int(sent.group(1)), int(sent.group(2))) if sent else (count, 0)
        return {
            "sent": transmitted,
            "received": received,
            "loss_pct": round(100.0 * (transmitted - received) / transmitted, 1) if transmitted else 100.0,
            "rtt_ms": float(rtt.group(1)) if rtt else None,
        }

    # -- lifecycle ------------------------------------------------------------------------------

    def _save(self) -> None:
        state = {
            "prefix": self.ns.prefix,
            "gateways": {k: {"asn": g["asn"], "cidrs": g["cidrs"]} for k, g in self.gateways.items()},
            "delays": {f"{a}/{b}": {"one_way_ms": ms, "loss_pct": loss} for (a, b), (ms, loss) in self.delays.items()},
            "tunnels": {
                k: {x: t[x] for x in ("index", "gateway", "local_public", "remote_public")}
                for k, t in self.tunnels.items()
            },
        }
        self.state_file.write_text(json.dumps(state, indent=2, sort_keys=True))

    def down(self) -> list[str]:
        """Stop every daemon and remove every namespace of this data plane; the names removed."""
        if self._delay is not None:
            self._delay.stop()
            self._delay = None
        self.delays.clear()
        self._delay_rules.clear()
        for tunnel in self.tunnels.values():
            tunnel["charon"].stop()
        for gateway in self.gateways.values():
            gateway["bird"].stop()
        self.tunnels.clear()
        self.gateways.clear()
        removed = self.ns.remove_all()
        shutil.rmtree(self.dir, ignore_errors=True)
        return removed
