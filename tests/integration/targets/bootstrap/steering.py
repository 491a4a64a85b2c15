"""Steering and failover of site.yml's global load balancer, measured from the client's side.

Cloudflare (`--provider cloudflare`): HTTP requests through the sandbox's Cloudflare edge with a
client location (the `X-MC-Sandbox-Location` header); the response names the pool and the body
the cloud that answered. Route 53 (`--provider route53`): DNS queries to the sandbox's Route 53
server with an EDNS Client Subnet of the city; the answer is the address of the pool's origin.

New York, Tokyo and London reach aws, gcp and azure; after `region-down aws/us-east-1` New York
is served by gcp within the bound (monitor interval x retries + one interval, scaled by the
sandbox's time factor, the sandbox probing at most every 0.2 s, plus --slack) from the moment
AWS's own load balancer stops answering; after `clear`, by aws again. Prints the seconds measured.
"""

import argparse
import json
import subprocess
import sys
import time

import requests
import yaml

CITIES = {"New York": "aws", "Tokyo": "gcp", "London": "azure"}


def edge(endpoints, hostname, city):
    """(cloud that answered, Cloudflare pool that served) for a request from ``city``; the pool is
    the provider's name (``<hostname with dashes>-<cloud>``); (None, None) when nothing answers."""
    try:
        response = requests.get(
            endpoints["cloudflare"]["edge_url"] + "/health",
            headers={"Host": hostname, "X-MC-Sandbox-Location": city},
            timeout=2,
        )
    except requests.RequestException:
        return None, None
    cloud = response.json().get("cloud") if response.status_code == 200 else None
    return cloud, response.headers.get("X-MC-Sandbox-Pool")


def dns(endpoints, hostname, city, addresses):
    """(cloud whose origin address is answered, None) for a query from ``city``."""
    import ipaddress  # noqa: PLC0415

    from dnslib import EDNS0, DNSRecord, EDNSOption  # noqa: PLC0415 - only the Route 53 case needs it
    from mc_sandbox.core.geo import subnet_of  # noqa: PLC0415

    network = ipaddress.ip_network(subnet_of(city))
    option = EDNSOption(
        8, b"\x00\x01" + bytes([network.prefixlen, 0]) + network.network_address.packed[: (network.prefixlen + 7) // 8]
    )
    query = DNSRecord.question(hostname, "A")
    query.add_ar(EDNS0(udp_len=1232, opts=[option]))
    section = endpoints["aws"]
    try:
        reply = DNSRecord.parse(query.send(section["dns_server"], int(section["dns_port"]), timeout=2))
    except OSError:
        return None, None
    answers = [str(rr.rdata) for rr in reply.rr]
    pool = next((cloud for cloud, address in addresses.items() if address in answers), None)
    return pool, None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--provider", choices=["cloudflare", "route53"], required=True)
    parser.add_argument("--endpoints", required=True)
    parser.add_argument("--summary", required=True)
    parser.add_argument("--sandbox-cli", required=True)
    parser.add_argument("--hostname", required=True)
    parser.add_argument("--interval", type=float, required=True, help="the monitor's interval, cloud seconds")
    parser.add_argument("--retries", type=int, required=True)
    parser.add_argument("--slack", type=float, default=0.5, help="seconds for the client's polling and the scheduler")
    args = parser.parse_args()
    endpoints = yaml.safe_load(open(args.endpoints))
    addresses = {row["cloud"]: row["address"] for row in json.load(open(args.summary))["app"]}
    factor = float(endpoints["time_factor"])

    def ask(city):
        if args.provider == "cloudflare":
            return edge(endpoints, args.hostname, city)
        return dns(endpoints, args.hostname, city, addresses)

    def served(city):
        return ask(city)[0]

    # The sandbox's monitors probe at most every 0.2 s, whatever the time factor.
    interval = max(0.2, args.interval * factor)
    bound = interval * args.retries + interval + args.slack

    aws_origin = next(row for row in json.load(open(args.summary))["app"] if row["cloud"] == "aws")
    aws_url = f"http://{aws_origin['address']}:{aws_origin['port']}/health"

    def origin_answers():
        try:
            return requests.get(aws_url, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def when_origin(up, deadline=30.0):
        """The moment AWS's own load balancer starts (stops) answering: the clock of a failover
        starts when the origin really goes, not when the fault command returns."""
        started = time.monotonic()
        while time.monotonic() - started < deadline:
            if origin_answers() == up:
                return time.monotonic()
            time.sleep(0.02)
        raise SystemExit(f"aws's load balancer {'never came back' if up else 'never went down'}")

    def wait_for(city, want, what, started):
        while time.monotonic() - started < bound + 30:
            if served(city) == want:
                return time.monotonic() - started
            time.sleep(0.05)
        raise SystemExit(f"{what}: {city} still served by {served(city)} after {bound + 30:.1f} s")

    # Every city reaches its own cloud (waiting a moment for monitors that just saw a change).
    for city, cloud in CITIES.items():
        wait_for(city, cloud, "steering", time.monotonic())
        answered, pool = ask(city)
        assert answered == cloud, f"{city} is served by {answered}, not {cloud}"
        assert args.provider != "cloudflare" or pool == args.hostname.replace(".", "-") + "-" + cloud, pool

    command = subprocess.Popen([args.sandbox_cli, "fault", "region-down", "aws/us-east-1"], stdout=subprocess.DEVNULL)
    try:
        failover = wait_for("New York", "gcp", "failover", when_origin(up=False))
        others = {city: served(city) for city in ("Tokyo", "London")}
    finally:
        command.wait(timeout=60)
        command = subprocess.Popen([args.sandbox_cli, "fault", "clear"], stdout=subprocess.DEVNULL)
    failback = wait_for("New York", "aws", "failback", when_origin(up=True))
    command.wait(timeout=60)
    print(
        f"{args.provider}: New York to gcp {failover:.2f} s after aws/us-east-1's load balancer went down "
        f"(bound {bound:.2f} s: interval {args.interval:g} s x retries {args.retries} + one interval at time "
        f"factor {factor:g} = {interval * (args.retries + 1):.2f} s, + {args.slack:g} s), back to aws "
        f"{failback:.2f} s after it came back; Tokyo {others['Tokyo']}, London {others['London']} meanwhile"
    )
    assert failover <= bound, f"failover took {failover:.2f} s, more than {bound:.2f} s"
    assert others == {"Tokyo": "gcp", "London": "azure"}, others


if __name__ == "__main__":
    sys.exit(main())
