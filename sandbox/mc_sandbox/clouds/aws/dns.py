"""The sandbox's Route 53 name servers: authoritative DNS for every public moto hosted zone.

One server on 127.0.0.1 answers over UDP and TCP on the same port, straight from moto's record
sets, with Route 53's routing policies:

- simple records answer as stored (A, AAAA, CNAME, TXT, NS, SOA, MX, SRV, CAA, PTR...), TTL from
  the record; a CNAME answers any type at its name and is followed inside the sandbox's zones;
  an alias answers what its target name (in one of the zones) answers;
- geolocation: the client's location is the EDNS Client Subnet (ECS, option 8) of the query,
  looked up in `mc_sandbox.core.geo`; the record of the client's country is chosen first, then
  its continent's, then the default (``CountryCode *``). A record whose health check is
  unhealthy is skipped for the next broader location, as Route 53 does; a query without ECS (or
  from an address the table does not know) gets the default record. The ECS option is echoed
  with a scope prefix length equal to the source prefix length;
- failover: PRIMARY while its health check is healthy, else SECONDARY (a record without a health
  check is always healthy);
- weighted: a random pick among the healthy records, in proportion to their weights (equal odds
  if every weight is 0); multivalue: up to 8 healthy records; latency: the healthy record of a
  region on the client's continent, else the first healthy one (the sandbox has no latency data);
- as in Route 53, when every candidate of a policy is unhealthy, the answer is given as if all
  were healthy;
- NXDOMAIN (with the zone's SOA) for a name of a zone that has no records, NOERROR without
  answers for a name without records of the asked type, REFUSED for names outside every zone.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import re
import socket
import socketserver
import struct
import threading
from collections import Counter

from dnslib import CLASS, EDNS0, QTYPE, RCODE, RR, DNSError, DNSHeader, DNSRecord, EDNSOption
from moto.route53.models import route53_backends

from mc_sandbox.core import geo
from mc_sandbox.core.serving import serve_in_thread, stop_server

log = logging.getLogger(__name__)

ECS_OPTION = 8
ANY_CLASS = 255
MAX_CHAIN = 8  # CNAME and alias hops followed inside the zones
MULTIVALUE_MAX = 8
UDP_LIMIT = 512
EDNS_UDP_SIZE = 4096
# Continent -> the AWS region prefixes that count as near it, for latency records.
_NEAR_REGIONS = {
    "NA": ("us-", "ca-", "mx-"),
    "SA": ("sa-",),
    "EU": ("eu-", "il-"),
    "AS": ("ap-", "me-"),
    "AF": ("af-",),
    "OC": ("ap-southeast-2", "ap-southeast-4"),
}
_ESCAPE = re.compile(r"\\(\d{3})")


def normalize(name: str) -> str:
    """A DNS name as the server compares them: lower case, one trailing dot, \\NNN unescaped."""
    name = _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), str(name)).lower().rstrip(".")
    return name + "."


def _flag(value) -> bool:
    return value.strip().lower() == "true" if isinstance(value, str) else bool(value)


def _value(record) -> str:
    return record.get("Value", "") if isinstance(record, dict) else str(record)


def client_subnet(request: DNSRecord) -> tuple[int, int, bytes, str] | None:
    """(family, source prefix length, address bytes, address) of the query's ECS option."""
    for rr in request.ar:
        if rr.rtype != QTYPE.OPT:
            continue
        for option in rr.rdata or []:
            if option.code != ECS_OPTION or len(option.data) < 4:
                continue
            family, source, _scope = struct.unpack("!HBB", option.data[:4])
            raw = option.data[4:]
            size = {1: 4, 2: 16}.get(family)
            if size is None or len(raw) > size:
                return None
            try:
                address = str(ipaddress.ip_address(raw.ljust(size, b"\0")))
            except ValueError:
                return None
            return family, source, raw, address
    return None


def ecs_option(family: int, source: int, raw: bytes) -> EDNSOption:
    return EDNSOption(ECS_OPTION, struct.pack("!HBB", family, source, source) + raw)


class Route53Dns:
    """The authoritative server. `healthy(check_id)` is the health checkers' verdict."""

    def __init__(self, account_id: str, healthy, *, host: str = "127.0.0.1", port: int = 0, rng=None):
        self._account = account_id
        self._healthy = healthy
        self._host = host
        self._port = port
        self._rng = rng or random.Random()  # noqa: S311 - weighted routing, not cryptography
        self._lock = threading.Lock()
        self._counts: Counter = Counter()
        self._servers: list[tuple[socketserver.BaseServer, threading.Thread]] = []

    # ---------------------------------------------------------------- lifecycle
    @property
    def port(self) -> int | None:
        return self._servers[0][0].server_address[1] if self._servers else None

    def start(self) -> int:
        """Serve UDP and TCP on one port (an ephemeral one when `port` is 0); return the port."""
        if self._servers:
            return self.port
        for _ in range(20):
            udp = _UdpServer((self._host, self._port), _UdpHandler, self)
            port = udp.server_address[1]
            try:
                tcp = _TcpServer((self._host, port), _TcpHandler, self)
            except OSError:
                udp.server_close()
                if self._port:
                    raise
                continue
            break
        else:
            raise OSError("no port free for both UDP and TCP on 127.0.0.1")
        self._servers = [
            (udp, serve_in_thread(udp, "mc-sandbox-aws-dns-udp")),
            (tcp, serve_in_thread(tcp, "mc-sandbox-aws-dns-tcp")),
        ]
        return port

    def stop(self) -> None:
        for server, thread in self._servers:
            stop_server(server, thread)
        self._servers = []

    def status(self) -> dict:
        with self._lock:
            counts = dict(self._counts)
        return {
            "server": self._host,
            "port": self.port,
            "queries": counts.pop("queries", 0),
            "ecs_queries": counts.pop("ecs", 0),
            "by_rcode": {key.split(":", 1)[1]: value for key, value in sorted(counts.items())},
        }

    def _count(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._counts[key] += 1

    # ---------------------------------------------------------------- answering
    def answer_packet(self, data: bytes, limit: int | None = None) -> bytes | None:
        """The reply to one wire-format query (`limit`: the UDP size; None over TCP)."""
        try:
            request = DNSRecord.parse(data)
        except (DNSError, struct.error, IndexError, ValueError):
            self._count("queries", "rcode:FORMERR")
            if len(data) < 2:
                return None
            reply = DNSRecord(DNSHeader(id=struct.unpack("!H", data[:2])[0], qr=1, rcode=RCODE.FORMERR))
            return reply.pack()
        try:
            reply = self.answer(request)
        except Exception:
            log.exception("DNS query for %s failed", request.q.qname)
            self._count("queries", "rcode:SERVFAIL")
            reply = request.reply(ra=0)
            reply.header.rcode = RCODE.SERVFAIL
        packed = reply.pack()
        if limit is not None:
            size = max(UDP_LIMIT, max((rr.rclass for rr in request.ar if rr.rtype == QTYPE.OPT), default=0))
            if len(packed) > min(size, limit):
                reply.rr, reply.auth = [], []
                reply.header.tc = 1
                packed = reply.pack()
        return packed

    def answer(self, request: DNSRecord) -> DNSRecord:
        reply = request.reply(ra=0, aa=1)
        ecs = client_subnet(request)
        edns = any(rr.rtype == QTYPE.OPT for rr in request.ar)
        if edns:
            reply.add_ar(EDNS0(udp_len=EDNS_UDP_SIZE, opts=[ecs_option(*ecs[:3])] if ecs else []))
        location = geo.locate_address(ecs[3]) if ecs else dict(geo.UNKNOWN)
        keys = ["queries"] + (["ecs"] if ecs else [])
        if request.header.opcode != 0 or len(request.questions) != 1:
            reply.header.rcode = RCODE.NOTIMP if request.header.opcode != 0 else RCODE.FORMERR
            self._count(*keys, f"rcode:{RCODE[reply.header.rcode]}")
            return reply
        question = request.q
        qname, qtype = normalize(question.qname), question.qtype
        zones = self._zones()
        zone = _zone_of(qname, zones)
        if zone is None or question.qclass not in (CLASS.IN, ANY_CLASS):
            reply.header.aa = 0
            reply.header.rcode = RCODE.REFUSED
        else:
            answers, exists = self._resolve(qname, qtype, location, zones, 0)
            for rr in answers:
                reply.add_answer(rr)
            if not answers:
                if not exists:
                    reply.header.rcode = RCODE.NXDOMAIN
                soa = self._soa(zone)
                if soa is not None:
                    reply.add_auth(soa)
        self._count(*keys, f"rcode:{RCODE[reply.header.rcode]}")
        return reply

    # ---------------------------------------------------------------- zones and records
    def _zones(self) -> dict[str, object]:
        """zone name -> moto zone, public zones only."""
        zones = dict(route53_backends[self._account]["aws"].zones)
        return {normalize(zone.name): zone for zone in zones.values() if not zone.private_zone}

    def _soa(self, zone) -> RR | None:
        for rrset in list(zone.rrsets):
            if rrset.type == "SOA" and rrset.records:
                rrs = _records(normalize(zone.name), rrset, _value(rrset.records[0]))
                return rrs[0] if rrs else None
        return None

    def _resolve(self, qname: str, qtype: int, location: dict, zones: dict, depth: int) -> tuple[list[RR], bool]:
        """(answers, whether the name exists) for a name of one of the zones."""
        zone = _zone_of(qname, zones)
        if zone is None or depth > MAX_CHAIN:
            return [], depth > 0
        at_name = [r for r in list(zone.rrsets) if normalize(r.name) == qname]
        if not at_name:
            at_name = _wildcard(qname, zone)
        if not at_name:
            return [], False
        types = sorted({r.type for r in at_name}) if qtype == QTYPE.ANY else [QTYPE.get(qtype, str(qtype))]
        answers: list[RR] = []
        for kind in types:
            group = [r for r in at_name if r.type == kind]
            if group:
                for rrset in self.choose(group, location):
                    answers.extend(
                        self._rrset_answers(qname, rrset, qtype, location=location, zones=zones, depth=depth)
                    )
        if not answers and qtype not in (QTYPE.CNAME, QTYPE.ANY):
            cnames = [r for r in at_name if r.type == "CNAME"]
            for rrset in self.choose(cnames, location) if cnames else []:
                chain = self._rrset_answers(qname, rrset, QTYPE.CNAME, location=location, zones=zones, depth=depth)
                answers.extend(chain)
                for rr in chain:
                    if rr.rtype == QTYPE.CNAME:
                        more, _ = self._resolve(normalize(rr.rdata.label), qtype, location, zones, depth + 1)
                        answers.extend(more)
        return answers, True

    def _rrset_answers(self, qname: str, rrset, qtype: int, *, location: dict, zones: dict, depth: int) -> list[RR]:
        if rrset.alias_target:
            target = normalize(rrset.alias_target.get("DNSName", ""))
            kind = QTYPE.get(rrset.type) if qtype == QTYPE.ANY else qtype
            found, _ = self._resolve(target, kind, location, zones, depth + 1)
            return [
                RR(qname, rr.rtype, rr.rclass, rr.ttl, rr.rdata) if normalize(rr.rname) == target else rr
                for rr in found
            ]
        answers = []
        for record in rrset.records or []:
            answers.extend(_records(qname, rrset, _value(record)))
        return answers

    # ---------------------------------------------------------------- routing policies
    def _ok(self, rrset) -> bool:
        return self._healthy(rrset.health_check_id) if rrset.health_check_id else True

    def choose(self, group: list, location: dict) -> list:
        """The record sets of one name and type that answer a client at `location`."""
        simple = [r for r in group if not r.set_identifier]
        if simple:
            return simple[:1]
        geos = [r for r in group if r.geo_location]
        if geos:
            return self._geolocation(geos, location)
        failover = [r for r in group if r.failover]
        if failover:
            return self._failover(failover)
        weighted = [r for r in group if r.weight is not None]
        if weighted:
            return self._weighted(weighted)
        multi = [r for r in group if _flag(r.multi_value_answer)]
        if multi:
            healthy = [r for r in multi if self._ok(r)] or multi
            return sorted(healthy, key=lambda r: r.set_identifier)[:MULTIVALUE_MAX]
        latency = [r for r in group if r.region]
        if latency:
            return self._latency(latency, location)
        return group[:1]

    def _geolocation(self, group: list, location: dict) -> list:
        def match(rrset) -> int | None:
            where = rrset.geo_location or {}
            country, continent = where.get("CountryCode"), where.get("ContinentCode")
            if where.get("SubdivisionCode"):
                return None  # the location table knows no subdivisions
            if country == "*":
                return 2
            if country and country == location.get("country"):
                return 0
            if continent and continent == location.get("continent"):
                return 1
            return None

        candidates = sorted((rank, r.set_identifier, r) for r in group if (rank := match(r)) is not None)
        for _, _, rrset in candidates:
            if self._ok(rrset):
                return [rrset]
        return [candidates[0][2]] if candidates else []

    def _failover(self, group: list) -> list:
        primary = [r for r in group if r.failover == "PRIMARY"]
        secondary = [r for r in group if r.failover == "SECONDARY"]
        for rrset in primary[:1] + secondary[:1]:
            if self._ok(rrset):
                return [rrset]
        return (primary or secondary)[:1]

    def _weighted(self, group: list) -> list:
        healthy = [r for r in group if self._ok(r)] or group
        weights = [max(0, int(r.weight or 0)) for r in healthy]
        if not any(weights):
            weights = [1] * len(healthy)
        with self._lock:
            return [self._rng.choices(healthy, weights=weights, k=1)[0]]

    def _latency(self, group: list, location: dict) -> list:
        healthy = sorted((r for r in group if self._ok(r)), key=lambda r: r.region) or group
        near = _NEAR_REGIONS.get(location.get("continent") or "", ())
        return [next((r for r in healthy if r.region.startswith(near)), healthy[0])] if near else healthy[:1]


def _zone_of(qname: str, zones: dict):
    best = None
    for name, zone in zones.items():
        if (qname == name or qname.endswith("." + name)) and (best is None or len(name) > len(best[0])):
            best = (name, zone)
    return best[1] if best else None


def _wildcard(qname: str, zone) -> list:
    """The record sets of the closest wildcard name (``*.parent``) that covers `qname`."""
    zone_name = normalize(zone.name)
    labels = qname.split(".")
    for index in range(1, len(labels)):
        parent = ".".join(labels[index:])
        if not parent.endswith(zone_name) and parent != zone_name:
            break
        wildcard = "*." + parent
        found = [r for r in list(zone.rrsets) if normalize(r.name) == wildcard]
        if found:
            return found
        if parent == zone_name:
            break
    return []


def _records(qname: str, rrset, value: str) -> list[RR]:
    ttl = int(rrset.ttl) if str(rrset.ttl or "").isdigit() else 300
    try:
        return RR.fromZone(f"{qname} {ttl} IN {rrset.type} {value}")
    except Exception:
        log.debug("cannot encode %s %s %r", qname, rrset.type, value)
        return []


# --------------------------------------------------------------------------- transports


class _UdpServer(socketserver.ThreadingUDPServer):
    # Request threads are joined when the server closes, so stop() leaves none behind.
    daemon_threads = False
    block_on_close = True

    def __init__(self, address, handler, dns: Route53Dns):
        self.dns = dns
        super().__init__(address, handler)


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address, handler, dns: Route53Dns):
        self.dns = dns
        super().__init__(address, handler)


class _UdpHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        try:
            reply = self.server.dns.answer_packet(data, limit=EDNS_UDP_SIZE)
        except Exception:
            log.exception("DNS query failed")
            return
        if reply is not None:
            sock.sendto(reply, self.client_address)


class _TcpHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock = self.request
        sock.settimeout(2.0)  # an idle client must not hold stop() long
        try:
            while True:
                header = _read(sock, 2)
                if header is None:
                    return
                data = _read(sock, struct.unpack("!H", header)[0])
                if data is None:
                    return
                reply = self.server.dns.answer_packet(data)
                if reply is None:
                    return
                sock.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            return


def _read(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data
