"""Where a sandbox client is: the one table the sandbox's global load balancers steer by.

Every test client is on loopback, so the location a real provider would read from the client's
address comes from the request instead:

- Cloudflare's data plane reads the `X-MC-Sandbox-Location` header (`LOCATION_HEADER`), whose
  value is a city of `CITIES` ("New York", "tokyo"), an ISO 3166-1 alpha-2 country code ("US") or
  a Cloudflare load-balancing region code ("ENAM");
- the Route 53 DNS server reads the query's EDNS Client Subnet option: each city has a subnet
  (`CITIES[...]["subnet"]`, inside 198.18.0.0/15, the benchmarking range, so it never names a
  real network) and a client subnet inside it is a client in that city.

`locate(value)` and `locate_address(ip)` answer `{"city", "country", "region", "continent"}`
(region: Cloudflare's region code; continent: Route 53's continent code); unknown parts are None.
"""

from __future__ import annotations

import ipaddress

LOCATION_HEADER = "X-MC-Sandbox-Location"

# country -> (Cloudflare load-balancing region, continent). Cloudflare's regions: WNAM/ENAM
# (western/eastern North America), WEU/EEU (western/eastern Europe), NSAM/SSAM (northern/southern
# South America), OC (Oceania), ME (Middle East), NAF/SAF (northern/southern Africa), SAS (southern
# Asia), SEAS (south-east Asia), NEAS (north-east Asia).
COUNTRIES = {
    "US": ("ENAM", "NA"),
    "CA": ("ENAM", "NA"),
    "MX": ("WNAM", "NA"),
    "BR": ("SSAM", "SA"),
    "AR": ("SSAM", "SA"),
    "CO": ("NSAM", "SA"),
    "GB": ("WEU", "EU"),
    "IE": ("WEU", "EU"),
    "FR": ("WEU", "EU"),
    "DE": ("WEU", "EU"),
    "NL": ("WEU", "EU"),
    "ES": ("WEU", "EU"),
    "IT": ("WEU", "EU"),
    "PL": ("EEU", "EU"),
    "UA": ("EEU", "EU"),
    "RU": ("EEU", "EU"),
    "TR": ("EEU", "AS"),
    "AE": ("ME", "AS"),
    "SA": ("ME", "AS"),
    "IL": ("ME", "AS"),
    "EG": ("NAF", "AF"),
    "MA": ("NAF", "AF"),
    "NG": ("NAF", "AF"),
    "ZA": ("SAF", "AF"),
    "KE": ("SAF", "AF"),
    "IN": ("SAS", "AS"),
    "PK": ("SAS", "AS"),
    "SG": ("SEAS", "AS"),
    "ID": ("SEAS", "AS"),
    "TH": ("SEAS", "AS"),
    "JP": ("NEAS", "AS"),
    "KR": ("NEAS", "AS"),
    "CN": ("NEAS", "AS"),
    "TW": ("NEAS", "AS"),
    "HK": ("NEAS", "AS"),
    "AU": ("OC", "OC"),
    "NZ": ("OC", "OC"),
}

# city -> country, Cloudflare region where it differs from its country's, and its client subnet.
CITIES = {
    "new york": {"country": "US", "subnet": "198.18.1.0/24"},
    "san francisco": {"country": "US", "region": "WNAM", "subnet": "198.18.2.0/24"},
    "toronto": {"country": "CA", "subnet": "198.18.3.0/24"},
    "sao paulo": {"country": "BR", "subnet": "198.18.4.0/24"},
    "london": {"country": "GB", "subnet": "198.18.10.0/24"},
    "frankfurt": {"country": "DE", "subnet": "198.18.11.0/24"},
    "paris": {"country": "FR", "subnet": "198.18.12.0/24"},
    "warsaw": {"country": "PL", "subnet": "198.18.13.0/24"},
    "dubai": {"country": "AE", "subnet": "198.18.20.0/24"},
    "johannesburg": {"country": "ZA", "subnet": "198.18.21.0/24"},
    "mumbai": {"country": "IN", "subnet": "198.18.30.0/24"},
    "singapore": {"country": "SG", "subnet": "198.18.31.0/24"},
    "tokyo": {"country": "JP", "subnet": "198.18.32.0/24"},
    "seoul": {"country": "KR", "subnet": "198.18.33.0/24"},
    "sydney": {"country": "AU", "subnet": "198.18.40.0/24"},
}
CLOUDFLARE_REGIONS = frozenset(region for region, _ in COUNTRIES.values()) | {"WNAM"}
UNKNOWN = {"city": None, "country": None, "region": None, "continent": None}


def _city(name: str) -> dict:
    city = CITIES[name]
    region, continent = COUNTRIES[city["country"]]
    return {"city": name, "country": city["country"], "region": city.get("region", region), "continent": continent}


def locate(value: str | None) -> dict:
    """The location a header value names: a city, a country code or a Cloudflare region code."""
    text = " ".join(str(value or "").replace("_", " ").replace("-", " ").split())
    if not text:
        return dict(UNKNOWN)
    if text.lower() in CITIES:
        return _city(text.lower())
    code = text.upper()
    if code in COUNTRIES:
        region, continent = COUNTRIES[code]
        return {"city": None, "country": code, "region": region, "continent": continent}
    if code in CLOUDFLARE_REGIONS:
        return {**UNKNOWN, "region": code}
    return dict(UNKNOWN)


_SUBNETS = [(ipaddress.ip_network(city["subnet"]), name) for name, city in CITIES.items()]


def locate_address(address: str | None) -> dict:
    """The location of a client address (the EDNS Client Subnet's address)."""
    try:
        ip = ipaddress.ip_address(str(address))
    except ValueError:
        return dict(UNKNOWN)
    for network, name in _SUBNETS:
        if ip.version == network.version and ip in network:
            return _city(name)
    return dict(UNKNOWN)


def subnet_of(city: str) -> str:
    """The client subnet of a city of `CITIES` (for a DNS query's EDNS Client Subnet)."""
    return CITIES[city.lower()]["subnet"]
