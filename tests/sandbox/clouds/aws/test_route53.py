"""The sandbox's Route 53 through boto3 and real DNS queries: health checks probing real origins,
geolocation/failover/weighted steering by EDNS Client Subnet, validation and paging."""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import struct
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from dnslib import EDNS0, QTYPE, RCODE, DNSRecord, EDNSOption
from mc_sandbox.clouds.aws.route53 import MIN_INTERVAL, probe_interval
from mc_sandbox.clouds.aws.server import AwsCloud
from mc_sandbox.core import geo
from mc_sandbox.core.runtime import CloudContext
from mc_sandbox.core.serving import serve_in_thread, stop_server
from support import wait_until

# RequestInterval 10 s -> 0.1 s, floored to MIN_INTERVAL (0.2 s) real.
TIME_FACTOR = 0.01
THRESHOLD = 2
ZONE = "example.com"
# Time for a verdict to flip: THRESHOLD probes MIN_INTERVAL apart, plus generous slack.
FLIP = THRESHOLD * MIN_INTERVAL + 3.0


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        origin = self.server.origin
        body = origin.body.encode()
        self.send_response(origin.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Origin:
    """A tiny HTTP origin on one loopback address; stop() and start() again on the same port."""

    def __init__(self, address: str, port: int = 0):
        self.address, self.port = address, port
        self.status, self.body = 200, "ok from " + address
        self._server = self._thread = None

    def start(self) -> Origin:
        self._server = ThreadingHTTPServer((self.address, self.port), _Handler)
        self._server.origin = self
        self.port = self._server.server_address[1]
        self._thread = serve_in_thread(self._server, f"test-origin-{self.address}")
        return self

    def stop(self) -> None:
        if self._server is not None:
            stop_server(self._server, self._thread)
            self._server = self._thread = None


@pytest.fixture
def origins():
    """New York, Tokyo, default and spare origins on 127.0.0.2-5, all on one port."""
    first = Origin("127.0.0.2").start()
    found = {"ny": first}
    for key, address in (("tokyo", "127.0.0.3"), ("default", "127.0.0.4"), ("spare", "127.0.0.5")):
        found[key] = Origin(address, first.port).start()
    yield found
    for origin in found.values():
        origin.stop()


@pytest.fixture
def cloud(faults, runtime, tmp_path):
    cloud = AwsCloud(CloudContext(faults, runtime, TIME_FACTOR, tmp_path, tls=None))
    section = cloud.start()
    cloud.section = section
    yield cloud
    cloud.stop()
    cloud.reset()
    assert not [t.name for t in threading.enumerate() if t.name.startswith("mc-sandbox")]


@pytest.fixture(scope="module")
def botocore_session():
    return botocore.session.get_session()


@pytest.fixture
def route53(cloud, botocore_session):
    creds = cloud.credentials
    session = boto3.Session(
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        region_name="us-east-1",
        botocore_session=botocore_session,
    )
    config = Config(retries={"mode": "standard", "total_max_attempts": 1})
    return session.client("route53", endpoint_url=cloud.endpoint, config=config)


@pytest.fixture
def zone_id(route53):
    return route53.create_hosted_zone(Name=ZONE, CallerReference=str(uuid.uuid4()))["HostedZone"]["Id"]


def health_check(route53, origin, **config):
    settings = {
        "IPAddress": origin.address,
        "Port": origin.port,
        "Type": "HTTP",
        "ResourcePath": "/health",
        "RequestInterval": 10,
        "FailureThreshold": THRESHOLD,
        **config,
    }
    return route53.create_health_check(CallerReference=str(uuid.uuid4()), HealthCheckConfig=settings)["HealthCheck"][
        "Id"
    ]


def record(name, value, *, ttl=60, kind="A", **extra):
    return {"Name": name, "Type": kind, "TTL": ttl, "ResourceRecords": [{"Value": value}], **extra}


def change(route53, zone_id, *records, action="CREATE"):
    return route53.change_resource_record_sets(
        HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": r} for r in records]}
    )


def query(cloud, name, kind="A", *, city=None, tcp=False, edns=False) -> DNSRecord:
    request = DNSRecord.question(name, kind)
    if city is not None:
        subnet = ipaddress.ip_network(geo.subnet_of(city))
        ecs = struct.pack("!HBB", 1, subnet.prefixlen, 0) + subnet.network_address.packed[: subnet.prefixlen // 8]
        request.add_ar(EDNS0(udp_len=4096, opts=[EDNSOption(8, ecs)]))
    elif edns:
        request.add_ar(EDNS0(udp_len=4096))
    raw = request.send(cloud.section["dns_server"], cloud.section["dns_port"], tcp=tcp, timeout=3)
    return DNSRecord.parse(raw)


def answers(reply: DNSRecord) -> list[str]:
    return sorted(str(rr.rdata) for rr in reply.rr)


def geo_records(route53, zone_id, checks, name=f"www.{ZONE}"):
    change(
        route53,
        zone_id,
        record(name, "192.0.2.10", SetIdentifier="na", GeoLocation={"ContinentCode": "NA"}, HealthCheckId=checks["ny"]),
        record(
            name, "192.0.2.20", SetIdentifier="jp", GeoLocation={"CountryCode": "JP"}, HealthCheckId=checks["tokyo"]
        ),
        record(name, "192.0.2.30", SetIdentifier="default", GeoLocation={"CountryCode": "*"}),
    )


def test_endpoints_and_status(cloud, route53, zone_id):
    assert cloud.section["dns_server"] == "127.0.0.1"
    assert isinstance(cloud.section["dns_port"], int) and cloud.section["dns_port"] > 0
    assert query(cloud, ZONE, "SOA").header.rcode == RCODE.NOERROR
    status = cloud.status()["route53"]
    assert status["dns"]["port"] == cloud.section["dns_port"]
    assert status["dns"]["queries"] == 1
    assert status["dns"]["by_rcode"] == {"NOERROR": 1}
    assert status["health_checks"] == {}


def test_geolocation_steers_by_client_subnet_and_health(cloud, route53, zone_id, origins):
    checks = {key: health_check(route53, origins[key]) for key in ("ny", "tokyo")}
    geo_records(route53, zone_id, checks)
    name = f"www.{ZONE}"

    assert answers(query(cloud, name, city="New York")) == ["192.0.2.10"]
    assert answers(query(cloud, name, city="Tokyo")) == ["192.0.2.20"]
    assert answers(query(cloud, name, city="London")) == ["192.0.2.30"]
    assert answers(query(cloud, name)) == ["192.0.2.30"]  # no ECS: unknown location
    assert answers(query(cloud, name, city="Toronto", tcp=True)) == ["192.0.2.10"]  # the continent's record

    reply = query(cloud, name, city="New York")
    assert reply.rr[0].ttl == 60
    assert reply.header.aa == 1
    [opt] = [rr for rr in reply.ar if rr.rtype == QTYPE.OPT]
    [ecs] = [option for option in opt.rdata if option.code == 8]
    assert ecs.data == struct.pack("!HBB", 1, 24, 24) + bytes([198, 18, 1])

    wait_until(lambda: cloud.status()["route53"]["health_checks"][checks["ny"]]["probes"] >= 1, 5, "a first probe")
    status = route53.get_health_check_status(HealthCheckId=checks["ny"])["HealthCheckObservations"]
    assert {o["Region"] for o in status} == {"us-east-1", "eu-west-1", "ap-northeast-1"}
    assert all(o["StatusReport"]["Status"] == "Success: HTTP Status Code 200, OK." for o in status)

    origins["ny"].stop()
    started = time.monotonic()
    wait_until(lambda: answers(query(cloud, name, city="New York")) == ["192.0.2.30"], FLIP, "the NA record skipped")
    assert time.monotonic() - started >= (THRESHOLD - 1) * MIN_INTERVAL
    assert answers(query(cloud, name, city="Tokyo")) == ["192.0.2.20"]
    status = route53.get_health_check_status(HealthCheckId=checks["ny"])["HealthCheckObservations"]
    assert all(o["StatusReport"]["Status"].startswith("Failure: Connection refused") for o in status)
    assert cloud.status()["route53"]["health_checks"][checks["ny"]]["healthy"] is False

    origins["ny"].start()
    wait_until(lambda: answers(query(cloud, name, city="New York")) == ["192.0.2.10"], FLIP, "the NA record back")
    status = route53.get_health_check_status(HealthCheckId=checks["ny"])["HealthCheckObservations"]
    assert all(o["StatusReport"]["Status"].startswith("Success: HTTP Status Code 200") for o in status)
    assert cloud.status()["route53"]["dns"]["ecs_queries"] >= 5


def test_failover_primary_then_secondary(cloud, route53, zone_id, origins):
    primary = health_check(route53, origins["ny"])
    name = f"app.{ZONE}"
    change(
        route53,
        zone_id,
        record(name, "192.0.2.1", SetIdentifier="primary", Failover="PRIMARY", HealthCheckId=primary),
        record(name, "192.0.2.2", SetIdentifier="secondary", Failover="SECONDARY"),
    )
    assert answers(query(cloud, name)) == ["192.0.2.1"]
    origins["ny"].status = 503
    wait_until(lambda: answers(query(cloud, name)) == ["192.0.2.2"], FLIP, "the SECONDARY answer")
    status = route53.get_health_check_status(HealthCheckId=primary)["HealthCheckObservations"]
    assert status[0]["StatusReport"]["Status"].startswith("Failure: HTTP Status Code 503")
    origins["ny"].status = 302
    wait_until(lambda: answers(query(cloud, name)) == ["192.0.2.1"], FLIP, "the PRIMARY answer back")


def test_health_check_kinds(cloud, route53, origins):
    origins["spare"].body = "x" * 6000 + "needle"
    late = health_check(route53, origins["spare"], Type="HTTP_STR_MATCH", SearchString="needle")
    early = health_check(route53, origins["tokyo"], Type="HTTP_STR_MATCH", SearchString="ok from")
    inverted = health_check(route53, origins["tokyo"], Inverted=True)
    disabled = health_check(route53, origins["default"], Port=1, Disabled=True)
    tcp = health_check(route53, origins["default"], Type="TCP")
    del_check = health_check(route53, origins["default"])

    def verdicts():
        found = cloud.status()["route53"]["health_checks"]
        return {key: found[key]["healthy"] for key in (late, early, inverted, disabled, tcp)}

    wait_until(
        lambda: verdicts() == {late: False, early: True, inverted: False, disabled: True, tcp: True},
        FLIP,
        "the verdicts",
    )
    json.dumps(cloud.status())  # `mc-sandbox status` prints it as JSON
    route53.delete_health_check(HealthCheckId=del_check)
    wait_until(lambda: del_check not in cloud.status()["route53"]["health_checks"], 2, "the deleted check gone")
    assert probe_interval(30, 1.0) == 30 and probe_interval(10, TIME_FACTOR) == MIN_INTERVAL


def _self_signed(tmp_path):
    from cryptography import x509  # noqa: PLC0415 - only the HTTPS test needs it
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "origin.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "origin.crt", tmp_path / "origin.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_https_checks_do_not_validate_certificates(cloud, route53, tmp_path):
    origin = Origin("127.0.0.6")
    origin.body = "secure hello"
    origin.start()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*_self_signed(tmp_path))
    origin._server.socket = context.wrap_socket(origin._server.socket, server_side=True)
    try:
        good = health_check(route53, origin, Type="HTTPS_STR_MATCH", SearchString="secure")
        plain = health_check(route53, origin, Type="HTTP")  # HTTP to a TLS port: no HTTP answer
        wait_until(
            lambda: (
                {k: v["healthy"] for k, v in cloud.status()["route53"]["health_checks"].items()}
                == {good: True, plain: False}
            ),
            FLIP,
            "the HTTPS verdicts",
        )
        status = route53.get_health_check_status(HealthCheckId=good)["HealthCheckObservations"]
        assert status[0]["StatusReport"]["Status"] == "Success: HTTP Status Code 200, OK."
    finally:
        origin.stop()


def test_weighted_picks_only_healthy(cloud, route53, zone_id, origins):
    bad = health_check(route53, origins["spare"])
    origins["spare"].stop()
    name = f"w.{ZONE}"
    change(
        route53,
        zone_id,
        record(name, "192.0.2.51", SetIdentifier="a", Weight=10),
        record(name, "192.0.2.52", SetIdentifier="b", Weight=10),
        record(name, "192.0.2.53", SetIdentifier="c", Weight=80, HealthCheckId=bad),
    )
    wait_until(lambda: not cloud.status()["route53"]["health_checks"][bad]["healthy"], FLIP, "the check unhealthy")
    seen = {answers(query(cloud, name))[0] for _ in range(40)}
    assert seen == {"192.0.2.51", "192.0.2.52"}


def test_dns_answers_and_errors(cloud, route53, zone_id):
    change(
        route53,
        zone_id,
        record(f"txt.{ZONE}", '"hello world" "second"', kind="TXT", ttl=120),
        record(f"alias.{ZONE}", f"txt.{ZONE}", kind="CNAME"),
        record(f"v6.{ZONE}", "2001:db8::1", kind="AAAA"),
        record(f"*.wild.{ZONE}", "192.0.2.99"),
    )
    txt = query(cloud, f"txt.{ZONE}", "TXT")
    assert txt.rr[0].rdata.data == [b"hello world", b"second"] and txt.rr[0].ttl == 120
    chained = query(cloud, f"alias.{ZONE}", "TXT", tcp=True)
    assert [QTYPE[rr.rtype] for rr in chained.rr] == ["CNAME", "TXT"]
    assert answers(query(cloud, f"v6.{ZONE}", "AAAA")) == ["2001:db8::1"]
    assert answers(query(cloud, f"x.wild.{ZONE}")) == ["192.0.2.99"]
    nodata = query(cloud, f"v6.{ZONE}", "A")
    assert nodata.header.rcode == RCODE.NOERROR and not nodata.rr and QTYPE[nodata.auth[0].rtype] == "SOA"
    missing = query(cloud, f"nothing.{ZONE}", edns=True)
    assert missing.header.rcode == RCODE.NXDOMAIN and QTYPE[missing.auth[0].rtype] == "SOA"
    assert query(cloud, "www.example.org").header.rcode == RCODE.REFUSED
    assert len(query(cloud, ZONE, "NS").rr) == 4
    counts = cloud.status()["route53"]["dns"]
    assert counts["queries"] == 8
    assert counts["by_rcode"] == {"NOERROR": 6, "NXDOMAIN": 1, "REFUSED": 1}


def test_private_zones_are_not_served(cloud, route53):
    route53.create_hosted_zone(
        Name="internal.test",
        CallerReference=str(uuid.uuid4()),
        HostedZoneConfig={"PrivateZone": True},
        VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-12345678"},
    )
    assert query(cloud, "internal.test", "SOA").header.rcode == RCODE.REFUSED


@pytest.mark.parametrize(
    ("rrset", "code", "words"),
    [
        ({"SetIdentifier": "x", "GeoLocation": {"ContinentCode": "XX"}}, "InvalidInput", "ContinentCode 'XX'"),
        ({"SetIdentifier": "x", "GeoLocation": {"CountryCode": "QQ"}}, "InvalidInput", "CountryCode 'QQ'"),
        (
            {"SetIdentifier": "x", "GeoLocation": {"CountryCode": "GB", "SubdivisionCode": "EN"}},
            "InvalidInput",
            "only supported with CountryCode US",
        ),
        (
            {"SetIdentifier": "x", "GeoLocation": {"ContinentCode": "EU", "CountryCode": "GB"}},
            "InvalidInput",
            "cannot combine",
        ),
        ({"SetIdentifier": "x", "Failover": "TERTIARY"}, "InvalidInput", "'[PRIMARY, SECONDARY]'"),
        ({"SetIdentifier": "x"}, "InvalidInput", "but found none"),
        ({"SetIdentifier": "x", "Weight": 1, "Failover": "PRIMARY"}, "InvalidInput", "but found more than one"),
        ({"Weight": 1}, "InvalidInput", "Missing field 'SetIdentifier'"),
        (
            {"SetIdentifier": "x", "Weight": 1, "HealthCheckId": "00000000-0000-0000-0000-000000000000"},
            "InvalidChangeBatch",
            "does not exist",
        ),
    ],
)
def test_change_validation(route53, zone_id, rrset, code, words):
    with pytest.raises(ClientError) as excinfo:
        change(route53, zone_id, record(f"bad.{ZONE}", "192.0.2.1", **rrset))
    error = excinfo.value.response["Error"]
    assert error["Code"] == code
    assert words in error["Message"]
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    listed = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    assert f"bad.{ZONE}." not in {r["Name"] for r in listed}


def test_valid_routed_records_are_accepted(route53, zone_id, origins):
    check = health_check(route53, origins["ny"])
    change(
        route53,
        zone_id,
        record(
            f"ok.{ZONE}", "192.0.2.1", SetIdentifier="ca", GeoLocation={"CountryCode": "US", "SubdivisionCode": "CA"}
        ),
        record(f"ok.{ZONE}", "192.0.2.2", SetIdentifier="eu", GeoLocation={"ContinentCode": "EU"}, HealthCheckId=check),
    )
    listed = route53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=f"ok.{ZONE}", StartRecordType="A")
    assert [r["SetIdentifier"] for r in listed["ResourceRecordSets"]] == ["ca", "eu"]
    assert listed["ResourceRecordSets"][1]["HealthCheckId"] == check


@pytest.mark.parametrize(("setting", "value"), [("RequestInterval", 20), ("FailureThreshold", 11)])
def test_health_check_validation(route53, origins, setting, value):
    with pytest.raises(ClientError) as excinfo:
        health_check(route53, origins["ny"], **{setting: value})
    assert excinfo.value.response["Error"]["Code"] == "InvalidInput"
    assert setting in excinfo.value.response["Error"]["Message"]
    assert route53.list_health_checks()["HealthChecks"] == []


def test_health_check_status_of_unknown_check(route53):
    with pytest.raises(ClientError) as excinfo:
        route53.get_health_check_status(HealthCheckId="00000000-0000-0000-0000-000000000000")
    assert excinfo.value.response["Error"]["Code"] == "NoSuchHealthCheck"


def test_pagination_inside_one_name(route53, zone_id):
    name = f"geo.{ZONE}"
    countries = ["US", "JP", "GB", "DE", "FR", "BR", "*"]
    change(
        route53,
        zone_id,
        *(
            record(name, f"192.0.2.{i}", SetIdentifier=f"id-{c}", GeoLocation={"CountryCode": c})
            for i, c in enumerate(countries)
        ),
        record(f"a.{ZONE}", "192.0.2.100"),
        record(f"z.{ZONE}", "192.0.2.101"),
        record(name, '"txt"', kind="TXT"),
    )
    pages = list(route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id, MaxItems="2"))
    assert all(len(page["ResourceRecordSets"]) <= 2 for page in pages)
    listed = [(r["Name"], r["Type"], r.get("SetIdentifier")) for page in pages for r in page["ResourceRecordSets"]]
    assert len(listed) == len(set(listed)) == 7 + 3 + 2  # + NS and SOA
    geo_ids = [ident for n, kind, ident in listed if n == f"{name}." and kind == "A"]
    assert geo_ids == sorted(f"id-{c}" for c in countries)
    # Route 53's order: labels reversed (com.example < com.example.a < com.example.geo < ...), then type.
    assert [n for n, _, _ in listed][:3] == [f"{ZONE}.", f"{ZONE}.", f"a.{ZONE}."]
    assert listed[-1] == (f"z.{ZONE}.", "A", None)
    assert listed.index((f"{name}.", "TXT", None)) == listed.index((f"{name}.", "A", "id-US")) + 1

    first = route53.list_resource_record_sets(
        HostedZoneId=zone_id, StartRecordName=name, StartRecordType="A", StartRecordIdentifier="id-GB", MaxItems="2"
    )
    assert [r["SetIdentifier"] for r in first["ResourceRecordSets"]] == ["id-GB", "id-JP"]
    assert first["IsTruncated"] and first["NextRecordName"] == f"{name}." and first["NextRecordIdentifier"] == "id-US"
    with pytest.raises(ClientError) as excinfo:
        route53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordType="A")
    assert excinfo.value.response["Error"]["Code"] == "InvalidInput"


def test_stop_releases_the_dns_port(faults, runtime, tmp_path):
    cloud = AwsCloud(CloudContext(faults, runtime, TIME_FACTOR, tmp_path, tls=None))
    port = cloud.start()["dns_port"]
    cloud.stop()
    cloud.reset()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", port))
    assert not [t.name for t in threading.enumerate() if t.name.startswith("mc-sandbox")]
