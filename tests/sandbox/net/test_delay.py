"""Latency between regions: the model (regions.py), the forwarder (delay.py) and, as root, real
pings, BGP and TCP across a delayed IPsec tunnel.

The forwarder's queue is tested without root through a datagram socket pair standing in for its
TUN device (both hand over one whole packet per read); the data plane tests build two gateways
from the collection's planner, as the VPN data plane's own tests do, and measure the delay.
"""

from __future__ import annotations

import ipaddress
import os
import pathlib
import socket
import subprocess
import sys
import time

import pytest
from mc_sandbox.clouds.azure.arm import LOCATION_NAMES
from mc_sandbox.clouds.gcp.locations import REGIONS as GCP_REGIONS
from mc_sandbox.net import delay, netns, regions
from mc_sandbox.net import mesh as dataplane
from support import poll

from ansible_collections.multicloud.fabric.plugins.module_utils.vpn.spec import plan_mesh

MISSING = dataplane.missing()
if MISSING and os.geteuid() == 0 and os.environ.get("MC_SANDBOX_REQUIRE_NET"):
    raise RuntimeError("the VPN data plane cannot run: " + "; ".join(MISSING))
needs_net = pytest.mark.skipif(bool(MISSING), reason="VPN data plane unavailable: " + "; ".join(MISSING))

GATEWAYS = [
    {"cloud": "aws", "region": "us-east-1", "name": "fabric-aws", "cidrs": ["10.0.0.0/16"]},
    {"cloud": "gcp", "region": "us-central1", "name": "fabric-gcp", "cidrs": ["10.1.0.0/16"]},
    {"cloud": "azure", "region": "eastus", "name": "fabric-azure", "cidrs": ["10.2.0.0/16"]},
]
SEED = "sandbox-test-seed-0123456789"


# -- regions -----------------------------------------------------------------------------------


def aws_regions():
    import botocore.session  # noqa: PLC0415

    session = botocore.session.get_session()
    found = set()
    # Partitions whose regions have published locations (the isolated ones do not).
    for partition in ("aws", "aws-cn", "aws-us-gov", "aws-eusc"):
        for service in ("ec2", "eks"):
            found.update(session.get_available_regions(service, partition_name=partition))
    return found


def test_every_region_the_sandbox_serves_has_a_location():
    served = {"aws": aws_regions(), "gcp": set(GCP_REGIONS), "azure": set(LOCATION_NAMES)}
    for cloud, names in served.items():
        assert names, cloud
        assert names <= set(regions.LOCATIONS[cloud]), (cloud, sorted(names - set(regions.LOCATIONS[cloud])))
        for name in names:
            lat, lon = regions.location(cloud, name)
            assert -90 <= lat <= 90 and -180 <= lon <= 180


def test_delay_is_symmetric_and_grows_with_distance():
    places = [(c, r) for c, table in regions.LOCATIONS.items() for r in sorted(table)[::3]]
    for a in places:
        for b in places:
            assert regions.one_way_ms(*a, *b) == regions.one_way_ms(*b, *a)
            assert regions.one_way_ms(*a, *b) >= regions.HOP_MS
    # The fabric's default regions: Virginia, Iowa, Virginia.
    assert regions.one_way_ms("aws", "us-east-1", "azure", "eastus") < regions.one_way_ms(
        "aws", "us-east-1", "gcp", "us-central1"
    )


def test_same_metro_is_about_a_millisecond():
    assert regions.one_way_ms("aws", "us-east-1", "gcp", "us-east4") <= 1.5  # both Ashburn
    assert regions.one_way_ms("gcp", "europe-west2", "azure", "uksouth") <= 1.5  # London
    assert regions.one_way_ms("aws", "eu-central-1", "azure", "germanywestcentral") <= 1.5  # Frankfurt
    assert regions.one_way_ms("aws", "us-east-1", "aws", "us-east-1") == regions.HOP_MS


def test_long_routes_are_plausible():
    # Published round trips: US east to west Europe 70-85 ms, US east to central 20-35 ms, US
    # east to Sydney about 200-230 ms, Tokyo to Singapore about 65-80 ms.
    assert 30 <= regions.one_way_ms("aws", "us-east-1", "aws", "eu-west-1") <= 45
    assert 30 <= regions.one_way_ms("gcp", "us-east4", "azure", "westeurope") <= 48
    assert 9 <= regions.one_way_ms("aws", "us-east-1", "gcp", "us-central1") <= 18
    assert 95 <= regions.one_way_ms("azure", "eastus", "aws", "ap-southeast-2") <= 120
    assert 30 <= regions.one_way_ms("gcp", "asia-northeast1", "azure", "southeastasia") <= 45
    # The users' target: every pair of the default fabric under 100 ms round trip.
    default = [("aws", "us-east-1"), ("gcp", "us-central1"), ("azure", "eastus")]
    assert all(2 * regions.one_way_ms(*a, *b) < 100 for a in default for b in default)


def test_unknown_region_or_cloud_is_a_clear_error():
    with pytest.raises(regions.UnknownRegion, match=r"no location known for gcp region 'us-east-1'.*us-east4"):
        regions.one_way_ms("aws", "us-east-1", "gcp", "us-east-1")
    with pytest.raises(regions.UnknownRegion, match=r"unknown cloud 'oci': use one of aws, azure, gcp"):
        regions.location("oci", "us-ashburn-1")
    with pytest.raises(ValueError, match="azure region 'East US'"):
        regions.location("azure", "East US")


# -- the forwarder's queue (no root needed) ----------------------------------------------------


def ipv4(src: str, dst: str, payload: bytes = b"x" * 20) -> bytes:
    header = bytes([0x45, 0, 0, 20 + len(payload)]) + bytes(8)
    return header + ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed + payload


@pytest.fixture
def queue():
    near, far = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    far.setblocking(False)
    near.setblocking(False)
    yield delay._Forwarder(far.fileno()), near
    near.close()
    far.close()


def test_forwarder_holds_each_pair_for_its_delay_and_passes_the_rest(queue):
    forwarder, peer = queue
    forwarder.configure([["198.18.0.1", "198.18.0.2", 30.0, 0.0]])
    delayed, other = ipv4("198.18.0.1", "198.18.0.2"), ipv4("198.18.0.2", "198.18.0.1")
    peer.send(delayed)
    peer.send(other)
    forwarder.receive(100.0)
    assert peer.recv(100) == other  # the reverse direction has no delay here
    assert forwarder.release(100.029) == pytest.approx(0.001)
    with pytest.raises(BlockingIOError):
        peer.recv(100)
    assert forwarder.release(100.030) is None
    assert peer.recv(100) == delayed
    assert forwarder.stats()["delayed"] == 1 and forwarder.stats()["passed"] == 1


def test_forwarder_keeps_order_drops_lost_packets_and_bounds_its_queue(queue, monkeypatch):
    forwarder, peer = queue
    forwarder.configure([["198.18.0.1", "198.18.0.2", 10.0, 0.0], ["198.18.0.3", "198.18.0.2", 5.0, 100.0]])
    packets = [ipv4("198.18.0.1", "198.18.0.2", bytes([i]) * 20) for i in range(5)]
    for packet in packets:
        peer.send(packet)
    peer.send(ipv4("198.18.0.3", "198.18.0.2"))
    forwarder.receive(0.0)
    assert forwarder.release(1.0) is None
    assert [peer.recv(100) for _ in packets] == packets
    assert forwarder.stats()["lost"] == 1
    monkeypatch.setattr(delay, "MAX_PACKETS", 3)
    for packet in packets:
        peer.send(packet)
    forwarder.receive(2.0)
    assert forwarder.stats()["overflow"] == 2 and forwarder.stats()["queued"] == 3
    with pytest.raises(ValueError, match=r"loss 101\.0 % is outside"):
        forwarder.configure([["198.18.0.1", "198.18.0.2", 1.0, 101.0]])


# -- the data plane (root) ---------------------------------------------------------------------


@pytest.fixture
def plane(tmp_path):
    prefix = "mcfd" + netns.identity(tmp_path)
    plane = dataplane.DataPlane(tmp_path / "net", prefix)
    yield plane
    plane.down()
    assert not netns.Namespaces(prefix).owned(), "namespaces left behind"


def build(plane, mesh, before_tunnels=None):
    for cloud, gateway in mesh["gateways"].items():
        plane.gateway(cloud, gateway["asn"], gateway["cidrs"])
    if before_tunnels:
        before_tunnels()
    addresses = {}
    names = []
    for pair in mesh["pairs"]:
        for tunnel in pair["tunnels"]:
            a, b = tunnel["a"], tunnel["b"]
            prefix = tunnel["inside_cidr"].split("/")[1]
            ends = {}
            for end in (a, b):
                # AWS hands out one address per tunnel, GCP one per interface, Azure one per instance.
                if end["cloud"] == "aws":
                    key = ("aws", pair["name"], end["connection"], end["tunnel"])
                else:
                    key = (end["cloud"], end["interface"])
                ends[end["cloud"]] = addresses.setdefault(key, f"198.18.0.{10 + len(addresses)}")
            for local, remote in ((a, b), (b, a)):
                name = f"{tunnel['name']}-{local['cloud']}"
                plane.tunnel(
                    name,
                    local["cloud"],
                    local_public=ends[local["cloud"]],
                    remote_public=ends[remote["cloud"]],
                    psk=tunnel["psk"],
                    inside=f"{local['bgp_ip']}/{prefix}",
                    remote_inside=remote["bgp_ip"],
                    peer_asn=remote["asn"],
                )
                names.append(name)
    return names


def established(plane, names):
    return all(plane.status(n)["bgp"]["state"] == "Established" for n in names)


def cpu_seconds(pid: int) -> float:
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@needs_net
def test_delayed_tunnels_show_the_round_trip_keep_bgp_and_carry_tcp(plane, tmp_path):
    mesh = plan_mesh(GATEWAYS[:2], SEED)
    # The delay is set before any tunnel exists: every endpoint made afterwards gets it.
    names = build(plane, mesh, before_tunnels=lambda: plane.delay("aws", "gcp", 30.0))
    assert poll(lambda: established(plane, names), timeout=90), {n: plane.status(n) for n in names}
    probe = plane.probe("aws", "gcp", count=10, interval=0.2)
    print(f"\naws -> gcp with 30 ms one way: {probe}")
    assert probe["loss_pct"] == 0.0, probe
    assert 60.0 <= probe["rtt_ms"] < 90.0, probe
    stats = plane.delay_stats()
    assert stats["delayed"] >= 20 and stats["overflow"] == 0, stats
    # Both directions of every tunnel go through the forwarder (4 tunnels, 8 pairs).
    assert len(stats["pairs"]) == len(names), stats["pairs"]

    # TCP across the tunnel: a small HTTP fetch from the AWS VPC to a server in the GCP VPC.
    body = os.urandom(16).hex()
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "index.txt").write_text(body)
    target = plane.vpc_address("gcp")
    server = subprocess.Popen(
        plane.ns.exec_argv("vpc-gcp", [sys.executable, "-m", "http.server", "8080", "--bind", target]),
        cwd=tmp_path / "www",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        fetch = (
            "import time, urllib.request; t = time.monotonic(); "
            f"b = urllib.request.urlopen('http://{target}:8080/index.txt', timeout=10).read().decode(); "
            "print(b, round((time.monotonic() - t) * 1000, 1))"
        )

        def fetched():
            proc = subprocess.run(
                plane.ns.exec_argv("vpc-aws", [sys.executable, "-c", fetch]),
                capture_output=True,
                text=True,
                timeout=20,
                check=False,
            )
            return proc.returncode == 0 and proc.stdout.split()

        result = poll(fetched, timeout=20)
        assert result and result[0] == body, result
        print(f"HTTP fetch across the tunnel: {result[1]} ms")
        # A connection and a request: at least two round trips.
        assert float(result[1]) >= 120.0, result
    finally:
        server.terminate()
        server.wait(10)
    assert established(plane, names)

    # Loss on demand cuts the pair; taking it away restores it.
    plane.delay("aws", "gcp", 30.0, loss_pct=100.0)
    assert plane.probe("aws", "gcp", count=3, interval=0.2)["loss_pct"] == 100.0
    assert plane.delay_stats()["lost"] > 0
    plane.delay("aws", "gcp", 30.0)
    assert poll(lambda: plane.probe("aws", "gcp", count=1)["loss_pct"] == 0.0, timeout=60)
    assert poll(lambda: established(plane, names), timeout=60)

    # A cut region stays cut while its pairs are delayed (delayed packets still meet the cut).
    plane.cut("gcp")
    assert plane.probe("aws", "gcp", count=3, interval=0.2)["loss_pct"] == 100.0
    plane.cut("gcp", down=False)
    assert poll(lambda: plane.probe("aws", "gcp", count=1)["loss_pct"] == 0.0, timeout=60)

    # No delay: the detour goes away and the round trip is the machine's again.
    plane.delay("aws", "gcp", 0.0)
    assert "lookup 900" not in plane.ns.ip("inet", "rule", "show")
    probe = plane.probe("aws", "gcp", count=5, interval=0.1)
    assert probe["loss_pct"] == 0.0 and probe["rtt_ms"] < 20.0, probe


@needs_net
def test_forwarder_sleeps_when_idle_and_goes_with_the_data_plane(plane):
    plane.gateway("aws", 64512, ["10.0.0.0/16"])
    plane.gateway("gcp", 64513, ["10.1.0.0/16"])
    with pytest.raises(KeyError, match="no gateway 'azure'"):
        plane.delay("aws", "azure", 10.0)
    with pytest.raises(ValueError, match=r"outside 0\.\.10000 ms"):
        plane.delay("aws", "gcp", -1.0)
    plane.delay("aws", "gcp", 10.0)
    pid = plane._delay.proc.pid
    assert dataplane.DELAY_TUN in plane.ns.links("inet")
    before = cpu_seconds(pid)
    time.sleep(2.0)
    assert cpu_seconds(pid) - before < 0.05, "the forwarder used CPU while nothing was queued"
    plane.down()
    assert not pathlib.Path(f"/proc/{pid}").exists()


@needs_net
def test_full_mesh_with_the_regions_delays_meets_the_latency_target(plane):
    mesh = plan_mesh(GATEWAYS, SEED)
    names = build(plane, mesh)
    region = {g["cloud"]: g["region"] for g in GATEWAYS}
    pairs = [("aws", "gcp"), ("aws", "azure"), ("gcp", "azure")]
    expected = {}
    for a, b in pairs:
        expected[(a, b)] = regions.one_way_ms(a, region[a], b, region[b])
        plane.delay(a, b, expected[(a, b)])
    assert poll(lambda: established(plane, names), timeout=90), {n: plane.status(n) for n in names}
    print()
    for a, b in pairs:
        for src, dst in ((a, b), (b, a)):
            probe = plane.probe(src, dst, count=5, interval=0.2)
            print(f"{src} ({region[src]}) -> {dst} ({region[dst]}): {expected[(a, b)]} ms one way, {probe}")
            assert probe["loss_pct"] == 0.0, (src, dst, probe)
            # Each pair shows its own delay, not another pair's.
            assert 2 * expected[(a, b)] <= probe["rtt_ms"] < 2 * expected[(a, b)] + 10, (src, dst, probe)
            assert probe["rtt_ms"] < 100.0
