# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VPN mesh between the clouds: every pair of gateways, their tunnels, addresses, ASNs and keys.

Pure functions, no SDK. ``plan_mesh(gateways, psk_seed, ...)`` takes one gateway per cloud (its
cloud, region, name, VPC ranges and optionally its ASN) and returns the whole highly available mesh
in one portable shape every cloud's VPN adapter reads its half from:

- per pair of clouds four tunnels, the HA layout each cloud documents: AWS<->GCP is two AWS VPN
  connections (two tunnels each) onto the two interfaces of a GCP HA VPN gateway; AWS<->Azure two
  connections onto the two instances of an active-active Azure gateway; GCP<->Azure each of the two
  GCP interfaces to each of the two Azure instances;
- per tunnel its inside /30 and the BGP address of each side, inside 169.254.0.0/16 but never in
  the /30s AWS reserves, and inside Azure's APIPA range (169.254.21.0 - 169.254.22.255) whenever
  Azure is one side, unique across the mesh;
- per gateway a private ASN, unique, never one a cloud reserves;
- per tunnel a pre-shared key derived with HMAC-SHA-512 from the one secret seed the user supplies,
  so reruns and other machines get the same keys without any stored state; ``rotations`` bumps one
  pair's keys. Keys use the strictest alphabet of the three clouds (AWS: 8-64 of ``[A-Za-z0-9._]``,
  not starting with ``0``).

Every error is a ``ValidationError`` naming the field.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError

CLOUDS = ("aws", "gcp", "azure")
TUNNELS_PER_PAIR = 4
LINK_LOCAL = ipaddress.ip_network("169.254.0.0/16")
# AWS refuses these /30s as tunnel inside CIDRs (EC2 VpnTunnelOptionsSpecification.TunnelInsideCidr).
AWS_RESERVED_INSIDE = tuple(
    ipaddress.ip_network(c)
    for c in (
        "169.254.0.0/30",
        "169.254.1.0/30",
        "169.254.2.0/30",
        "169.254.3.0/30",
        "169.254.4.0/30",
        "169.254.5.0/30",
        "169.254.169.252/30",
    )
)
# Azure accepts custom (APIPA) BGP addresses for VPN gateways only in this range.
AZURE_APIPA = (ipaddress.ip_address("169.254.21.0"), ipaddress.ip_address("169.254.22.255"))
# Where the planner takes each pair's /30s from when none are given (the first four not given to
# another pair): Azure pairs inside APIPA, the AWS<->GCP pair well away from AWS's reserved ones.
DEFAULT_INSIDE_BLOCKS = {
    ("aws", "gcp"): ipaddress.ip_network("169.254.10.0/24"),
    ("aws", "azure"): ipaddress.ip_network("169.254.21.0/24"),
    ("gcp", "azure"): ipaddress.ip_network("169.254.22.0/24"),
}
PRIVATE_ASNS = ((64512, 65534), (4200000000, 4294967294))
# ASNs Azure keeps for itself; a gateway peering with Azure cannot use them either.
AZURE_RESERVED_ASNS = frozenset((65515, 65517, 65518, 65519, 65520))
DEFAULT_ASNS = {"aws": 64512, "gcp": 64514, "azure": 64516}
PSK_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._"
PSK_LENGTH = 40
PSK_LIMITS = (8, 64)
SEED_MIN_LENGTH = 16
NAME_MAX = 40  # leaves room for "-<pair>-<n>" inside GCP's 63-character names


def pair_name(a, b):
    return f"{a}-{b}"


def _ordered(a, b):
    return (a, b) if CLOUDS.index(a) < CLOUDS.index(b) else (b, a)


def _asn(value, field, cloud, peers):
    try:
        asn = int(value)
    except (TypeError, ValueError):
        raise ValidationError(field, f"expected a whole number, got {value!r}") from None
    if not any(low <= asn <= high for low, high in PRIVATE_ASNS):
        raise ValidationError(
            field, f"{asn} is not a private ASN (64512-65534 or 4200000000-4294967294)", advice="pick a private ASN"
        )
    if asn in AZURE_RESERVED_ASNS and (cloud == "azure" or "azure" in peers):
        raise ValidationError(
            field,
            f"{asn} is reserved by Azure (65515, 65517-65520)",
            advice="pick another private ASN; every gateway that peers with Azure must avoid them",
        )
    return asn


def check_name(name):
    """``name`` as a mesh name every cloud accepts inside its resource names."""
    if not isinstance(name, str) or not name or len(name) > NAME_MAX or not name[0].isalpha():
        raise ValidationError("name", f"expected 1-{NAME_MAX} characters starting with a letter, got {name!r}")
    if not name.replace("-", "").isalnum() or name != name.lower():
        raise ValidationError("name", f"use lowercase letters, digits and '-' (GCP's naming rule), got {name!r}")
    return name


def check_cidrs(value, field):
    """``value`` (one or a list of IPv4 CIDRs) as the ranges a gateway advertises."""
    return [str(n) for n in _networks(value, field)]


def check_asn(value, field, cloud, peers):
    """``value`` as an ASN the gateway of ``cloud`` can use when peering with ``peers``."""
    return _asn(value, field, cloud, set(peers))


def _networks(value, field):
    if isinstance(value, str):
        value = [value]
    if not value:
        raise ValidationError(field, "every gateway needs the VPC/VNet ranges it advertises")
    nets = []
    for index, item in enumerate(value):
        try:
            net = ipaddress.ip_network(str(item), strict=True)
        except ValueError as exc:
            raise ValidationError(f"{field}[{index}]", f"{item!r} is not a network in CIDR notation ({exc})") from None
        if net.version != 4:
            raise ValidationError(f"{field}[{index}]", f"{net} is IPv6; the mesh carries IPv4")
        nets.append(net)
    return nets


def _gateways(gateways):
    if not isinstance(gateways, list) or len(gateways) < 2:
        raise ValidationError("gateways", "a mesh needs gateways in at least two clouds")
    seen = {}
    for index, gateway in enumerate(gateways):
        field = f"gateways[{index}]"
        if not isinstance(gateway, dict):
            raise ValidationError(field, "expected a dictionary with cloud, region, name and cidrs")
        cloud = gateway.get("cloud")
        if cloud not in CLOUDS:
            raise ValidationError(f"{field}.cloud", f"expected one of {', '.join(CLOUDS)}, got {cloud!r}")
        if cloud in seen:
            raise ValidationError(
                f"{field}.cloud", f"{cloud} appears twice (gateways[{seen[cloud]}]); the mesh has one gateway per cloud"
            )
        seen[cloud] = index
        for key in ("region", "name"):
            if not gateway.get(key):
                raise ValidationError(f"{field}.{key}", f"every gateway needs a {key}")
    clouds = set(seen)
    out = {}
    for cloud, index in sorted(seen.items(), key=lambda item: CLOUDS.index(item[0])):
        gateway = gateways[index]
        field = f"gateways[{index}]"
        asn = gateway.get("asn")
        out[cloud] = {
            "cloud": cloud,
            "region": str(gateway["region"]),
            "name": str(gateway["name"]),
            "cidrs": _networks(gateway.get("cidrs"), f"{field}.cidrs"),
            "asn": _asn(DEFAULT_ASNS[cloud] if asn is None else asn, f"{field}.asn", cloud, clouds - {cloud}),
            "field": field,
        }
    _check_unique_asns(out)
    _check_ranges_disjoint(out)
    return out


def _check_unique_asns(gateways):
    owner = {}
    for cloud, gateway in gateways.items():
        if gateway["asn"] in owner:
            raise ValidationError(
                f"{gateway['field']}.asn",
                f"{gateway['asn']} is already the ASN of the {owner[gateway['asn']]} gateway; "
                "eBGP needs a different ASN on each side",
            )
        owner[gateway["asn"]] = cloud


def _check_ranges_disjoint(gateways):
    listed = [(cloud, index, net) for cloud, g in gateways.items() for index, net in enumerate(g["cidrs"])]
    for i, (cloud, _index, net) in enumerate(listed):
        for other_cloud, other_index, other in listed[i + 1 :]:
            if other_cloud != cloud and net.overlaps(other):
                field = f"{gateways[other_cloud]['field']}.cidrs[{other_index}]"
                raise ValidationError(
                    field,
                    f"{other} overlaps {net} of the {cloud} gateway; routed VPCs need disjoint ranges",
                )


def _inside_cidr(value, field, pair):
    try:
        net = ipaddress.ip_network(str(value), strict=True)
    except ValueError as exc:
        raise ValidationError(field, f"{value!r} is not a /30 in CIDR notation ({exc})") from None
    if net.version != 4 or net.prefixlen != 30 or not net.subnet_of(LINK_LOCAL):
        raise ValidationError(field, f"{net} is not a /30 inside 169.254.0.0/16")
    if "aws" in pair and net in AWS_RESERVED_INSIDE:
        raise ValidationError(
            field,
            f"{net} is reserved by AWS",
            advice="AWS refuses 169.254.0.0/30 to 169.254.5.0/30 and 169.254.169.252/30",
        )
    if "azure" in pair and not (AZURE_APIPA[0] <= net.network_address and net.broadcast_address <= AZURE_APIPA[1]):
        raise ValidationError(
            field,
            f"{net} is outside Azure's APIPA BGP range 169.254.21.0 - 169.254.22.255",
            advice="tunnels with an Azure side take their /30s from 169.254.21.0/24 or 169.254.22.0/24",
        )
    return net


def _given_inside_cidrs(pairs, overrides):
    """The /30s the user gave, per pair, checked against each cloud's rules and each other."""
    given = {}
    used = []
    for pair in pairs:
        label = pair_name(*pair)
        field = f"inside_cidrs.{label}"
        value = (overrides or {}).get(label)
        if value is None:
            continue
        if not isinstance(value, list) or len(value) != TUNNELS_PER_PAIR:
            raise ValidationError(field, f"expected a list of {TUNNELS_PER_PAIR} /30s, one per tunnel")
        nets = []
        for index, item in enumerate(value):
            net = _inside_cidr(item, f"{field}[{index}]", pair)
            for other_label, other_index, other in used:
                if net.overlaps(other):
                    raise ValidationError(
                        f"{field}[{index}]",
                        f"{net} overlaps {other} of tunnel {other_index} of {other_label}; inside /30s are unique",
                    )
            used.append((label, index, net))
            nets.append(net)
        given[pair] = nets
    return given


def _inside_cidrs(pairs, overrides):
    """Every pair's four /30s: the given ones, else the first free ones of the pair's block."""
    given = _given_inside_cidrs(pairs, overrides)
    taken = [net for nets in given.values() for net in nets]
    out = {}
    for pair in pairs:
        if pair in given:
            out[pair] = given[pair]
            continue
        free = []
        for net in DEFAULT_INSIDE_BLOCKS[pair].subnets(new_prefix=30):
            if not any(net.overlaps(t) for t in taken):
                free.append(net)
                if len(free) == TUNNELS_PER_PAIR:
                    break
        out[pair] = free
        taken += free
    return out


def check_psk(value, field):
    """Raise unless ``value`` is a key every cloud accepts (AWS's rules are the strictest)."""
    text = str(value)
    low, high = PSK_LIMITS
    if not low <= len(text) <= high:
        raise ValidationError(field, f"a pre-shared key has {low}-{high} characters, this one has {len(text)}")
    bad = sorted({c for c in text if c not in PSK_ALPHABET})
    if bad:
        # Say how many characters are wrong, never which: the message must not leak the key.
        raise ValidationError(
            field, f"a pre-shared key uses only letters, digits, '.' and '_'; {len(bad)} other character(s) found"
        )
    if text.startswith("0"):
        raise ValidationError(field, "a pre-shared key cannot start with 0 (AWS refuses it)")
    return text


def psk_fingerprint(name, psk):
    """What an adapter records or reads back of a key the cloud never returns (GCP) or that must
    not leave the module (Azure): 16 hex digits of an HMAC-SHA256 keyed by the resource's name, so
    a changed key is seen while the key itself is not."""
    return hmac.new(name.encode("utf-8"), psk.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def derive_psk(seed, pair, index, rotation=0):
    """The key of tunnel ``index`` of ``pair``: stable for a seed, changed by bumping ``rotation``."""
    digest = hmac.new(
        seed.encode("utf-8"), f"multicloud.fabric/vpn/{pair}/{index}/{rotation}".encode(), hashlib.sha512
    ).digest()
    # 64 symbols: one byte maps onto exactly one symbol without bias; the first is a letter.
    first = PSK_ALPHABET[digest[0] % 52]
    return first + "".join(PSK_ALPHABET[b % 64] for b in digest[1:PSK_LENGTH])


def _rotation(rotations, pair):
    value = (rotations or {}).get(pair, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"rotations.{pair}", f"expected a whole number >= 0, got {value!r}")
    return value


def _endpoints(a, b, index):
    """Which interface/connection of each side tunnel ``index`` of the pair (a, b) uses."""
    if a == "aws":
        connection, tunnel = divmod(index, 2)
        # Each AWS VPN connection goes to one interface/instance of the other side.
        return {"connection": connection, "tunnel": tunnel}, {"interface": connection}
    # gcp <-> azure: each GCP interface to each Azure instance.
    first, second = divmod(index, 2)
    return {"interface": first}, {"interface": second}


def _check_known_keys(mapping, field, pairs):
    for key in mapping or {}:
        if key not in pairs:
            raise ValidationError(
                f"{field}.{key}", f"no such pair in this mesh; expected one of {', '.join(pairs) or 'none'}"
            )


def plan_mesh(gateways, psk_seed, *, name="fabric", rotations=None, inside_cidrs=None, psks=None):
    """The whole mesh for ``gateways`` (one per cloud), in the portable shape::

    {"name", "gateways": {cloud: {"cloud", "region", "name", "asn", "cidrs", "peers": [pair, ...]}},
     "pairs": [{"name": "aws-gcp", "a": "aws", "b": "gcp",
                "tunnels": [{"name", "pair", "index", "inside_cidr", "psk", "ike_version",
                             "a": {"cloud", "asn", "bgp_ip", "interface" | "connection"+"tunnel"},
                             "b": {...}}]}],
     "tunnels_total", "bgp_total"}
    """
    check_name(name)
    if not isinstance(psk_seed, str) or len(psk_seed) < SEED_MIN_LENGTH:
        raise ValidationError(
            "psk_seed",
            f"expected a secret of at least {SEED_MIN_LENGTH} characters",
            advice="keep it in Ansible Vault or a secret store; every tunnel key is derived from it",
        )
    by_cloud = _gateways(gateways)
    present = [c for c in CLOUDS if c in by_cloud]
    pairs = [_ordered(a, b) for i, a in enumerate(present) for b in present[i + 1 :]]
    names = [pair_name(*p) for p in pairs]
    for field, mapping in (("rotations", rotations), ("inside_cidrs", inside_cidrs), ("psks", psks)):
        if mapping is not None and not isinstance(mapping, dict):
            raise ValidationError(field, "expected a dictionary keyed by pair (e.g. aws-gcp)")
        _check_known_keys(mapping, field, names)

    inside = _inside_cidrs(pairs, inside_cidrs)
    planned_pairs = []
    for pair in pairs:
        label = pair_name(*pair)
        cidrs = inside[pair]
        given_psks = (psks or {}).get(label)
        if given_psks is not None and (not isinstance(given_psks, list) or len(given_psks) != TUNNELS_PER_PAIR):
            raise ValidationError(f"psks.{label}", f"expected a list of {TUNNELS_PER_PAIR} keys, one per tunnel")
        rotation = _rotation(rotations, label)
        tunnels = []
        for index, net in enumerate(cidrs):
            hosts = list(net.hosts())
            a_end, b_end = _endpoints(pair[0], pair[1], index)
            psk = (
                check_psk(given_psks[index], f"psks.{label}[{index}]")
                if given_psks is not None
                else derive_psk(psk_seed, label, index, rotation)
            )
            tunnels.append(
                {
                    "name": f"{name}-{label}-{index}",
                    "pair": label,
                    "index": index,
                    "inside_cidr": str(net),
                    "psk": psk,
                    "ike_version": 2,
                    # The first host is the AWS side's (AWS assigns it so); GCP before Azure likewise.
                    "a": dict(a_end, cloud=pair[0], asn=by_cloud[pair[0]]["asn"], bgp_ip=str(hosts[0])),
                    "b": dict(b_end, cloud=pair[1], asn=by_cloud[pair[1]]["asn"], bgp_ip=str(hosts[1])),
                }
            )
        planned_pairs.append({"name": label, "a": pair[0], "b": pair[1], "tunnels": tunnels})

    out_gateways = {}
    for cloud, gateway in by_cloud.items():
        out_gateways[cloud] = {
            "cloud": cloud,
            "region": gateway["region"],
            "name": gateway["name"],
            "asn": gateway["asn"],
            "cidrs": [str(n) for n in gateway["cidrs"]],
            "peers": [pair_name(*p) for p in pairs if cloud in p],
        }
    total = TUNNELS_PER_PAIR * len(planned_pairs)
    return {
        "name": name,
        "gateways": out_gateways,
        "pairs": planned_pairs,
        "tunnels_total": total,
        "bgp_total": total,
    }


def tunnels_of(mesh, cloud):
    """The tunnels ``cloud`` terminates, each seen from that cloud: ``local`` and ``remote`` ends,
    the remote cloud's advertised ranges, what its adapter needs and nothing of the other pairs."""
    out = []
    for pair in mesh["pairs"]:
        if cloud not in (pair["a"], pair["b"]):
            continue
        local_key, remote_key = ("a", "b") if pair["a"] == cloud else ("b", "a")
        for tunnel in pair["tunnels"]:
            remote = tunnel[remote_key]
            out.append(
                {
                    "name": tunnel["name"],
                    "pair": tunnel["pair"],
                    "index": tunnel["index"],
                    "inside_cidr": tunnel["inside_cidr"],
                    "psk": tunnel["psk"],
                    "ike_version": tunnel["ike_version"],
                    "local": tunnel[local_key],
                    "remote": remote,
                    "remote_cidrs": mesh["gateways"][remote["cloud"]]["cidrs"],
                }
            )
    return out
