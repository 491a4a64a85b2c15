"""How far apart two cloud regions are, in one-way milliseconds over the internet.

Every region the sandbox serves (AWS regions of the partitions with published locations, the
Google Cloud regions of ``clouds/gcp/locations.py``, the Azure locations of ``clouds/azure/arm.py``)
has the approximate coordinates of the metro area its provider names for it. The one-way delay
between two regions is the great-circle distance between them over the speed of light in fibre
(about 200 km per millisecond, two thirds of c), stretched by a route factor (cables do not follow
great circles and traffic crosses exchanges: measured inter-region latencies are about 1.3 to 1.6
times the great-circle figure), plus a constant for the switching and peering at both ends. Two
regions in one metro (AWS us-east-1 and Google us-east4 are both in Ashburn) come out at about a
millisecond, US east to central at about 12 ms, and the North Atlantic at about 40 ms one way.
"""

from __future__ import annotations

import math

FIBRE_KM_PER_MS = 200.0
ROUTE_FACTOR = 1.4
HOP_MS = 1.0
EARTH_RADIUS_KM = 6371.0

# (latitude, longitude) in degrees of the metro area each provider names for the region.
LOCATIONS: dict[str, dict[str, tuple[float, float]]] = {
    "aws": {
        "us-east-1": (39.04, -77.49),  # Northern Virginia
        "us-east-2": (39.96, -83.00),  # Ohio
        "us-west-1": (37.35, -121.96),  # Northern California
        "us-west-2": (45.84, -119.70),  # Oregon
        "ca-central-1": (45.50, -73.57),  # Montreal
        "ca-west-1": (51.05, -114.07),  # Calgary
        "mx-central-1": (20.59, -100.39),  # Queretaro
        "sa-east-1": (-23.55, -46.63),  # Sao Paulo
        "eu-west-1": (53.35, -6.26),  # Ireland
        "eu-west-2": (51.51, -0.13),  # London
        "eu-west-3": (48.86, 2.35),  # Paris
        "eu-central-1": (50.11, 8.68),  # Frankfurt
        "eu-central-2": (47.37, 8.54),  # Zurich
        "eu-north-1": (59.33, 18.07),  # Stockholm
        "eu-south-1": (45.46, 9.19),  # Milan
        "eu-south-2": (41.65, -0.88),  # Aragon
        "il-central-1": (32.09, 34.78),  # Tel Aviv
        "me-south-1": (26.23, 50.59),  # Bahrain
        "me-central-1": (24.45, 54.38),  # United Arab Emirates
        "af-south-1": (-33.92, 18.42),  # Cape Town
        "ap-east-1": (22.32, 114.17),  # Hong Kong
        "ap-east-2": (25.03, 121.57),  # Taipei
        "ap-northeast-1": (35.68, 139.69),  # Tokyo
        "ap-northeast-2": (37.57, 126.98),  # Seoul
        "ap-northeast-3": (34.69, 135.50),  # Osaka
        "ap-south-1": (19.08, 72.88),  # Mumbai
        "ap-south-2": (17.39, 78.49),  # Hyderabad
        "ap-southeast-1": (1.35, 103.82),  # Singapore
        "ap-southeast-2": (-33.87, 151.21),  # Sydney
        "ap-southeast-3": (-6.21, 106.85),  # Jakarta
        "ap-southeast-4": (-37.81, 144.96),  # Melbourne
        "ap-southeast-5": (3.14, 101.69),  # Malaysia
        "ap-southeast-6": (-36.85, 174.76),  # New Zealand
        "ap-southeast-7": (13.76, 100.50),  # Thailand
        "cn-north-1": (39.90, 116.41),  # Beijing
        "cn-northwest-1": (38.47, 106.27),  # Ningxia
        "us-gov-east-1": (39.96, -83.00),  # Ohio
        "us-gov-west-1": (45.84, -119.70),  # Oregon
        "eusc-de-east-1": (52.40, 13.06),  # Brandenburg
    },
    "gcp": {
        "asia-east1": (24.05, 120.52),  # Changhua County, Taiwan
        "asia-northeast1": (35.68, 139.69),  # Tokyo
        "asia-southeast1": (1.34, 103.71),  # Jurong West, Singapore
        "australia-southeast1": (-33.87, 151.21),  # Sydney
        "europe-north1": (60.57, 27.19),  # Hamina, Finland
        "europe-west1": (50.45, 3.82),  # St. Ghislain, Belgium
        "europe-west2": (51.51, -0.13),  # London
        "europe-west3": (50.11, 8.68),  # Frankfurt
        "europe-west4": (53.44, 6.83),  # Eemshaven, Netherlands
        "northamerica-northeast1": (45.50, -73.57),  # Montreal
        "southamerica-east1": (-23.53, -46.79),  # Osasco, Sao Paulo
        "us-central1": (41.26, -95.86),  # Council Bluffs, Iowa
        "us-east1": (33.20, -80.01),  # Moncks Corner, South Carolina
        "us-east4": (39.04, -77.49),  # Ashburn, Virginia
        "us-west1": (45.59, -121.18),  # The Dalles, Oregon
        "us-west2": (34.05, -118.24),  # Los Angeles
    },
    "azure": {
        "australiaeast": (-33.86, 151.21),  # New South Wales
        "canadacentral": (43.65, -79.38),  # Toronto
        "centralus": (41.59, -93.62),  # Iowa
        "eastasia": (22.27, 114.19),  # Hong Kong
        "eastus": (37.37, -79.82),  # Virginia
        "eastus2": (36.67, -78.39),  # Virginia
        "francecentral": (48.86, 2.35),  # Paris
        "germanywestcentral": (50.11, 8.68),  # Frankfurt
        "japaneast": (35.68, 139.77),  # Tokyo, Saitama
        "northeurope": (53.35, -6.26),  # Ireland
        "southeastasia": (1.28, 103.83),  # Singapore
        "swedencentral": (60.67, 17.14),  # Gavle
        "uksouth": (51.51, -0.13),  # London
        "westeurope": (52.37, 4.90),  # Netherlands
        "westus2": (47.23, -119.85),  # Washington
        "westus3": (33.45, -112.07),  # Phoenix
    },
}


class UnknownRegion(ValueError):
    """A cloud or region this table has no location for."""


def location(cloud: str, region: str) -> tuple[float, float]:
    """``(latitude, longitude)`` of ``region`` of ``cloud`` (``aws``, ``gcp`` or ``azure``)."""
    if cloud not in LOCATIONS:
        raise UnknownRegion(f"unknown cloud {cloud!r}: use one of {', '.join(sorted(LOCATIONS))}")
    try:
        return LOCATIONS[cloud][region]
    except KeyError:
        raise UnknownRegion(
            f"no location known for {cloud} region {region!r}; known {cloud} regions: "
            + ", ".join(sorted(LOCATIONS[cloud]))
        ) from None


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two ``(latitude, longitude)`` points (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def one_way_ms(cloud_a: str, region_a: str, cloud_b: str, region_b: str) -> float:
    """The emulated one-way delay between two regions, in milliseconds (0.1 ms steps)."""
    km = distance_km(location(cloud_a, region_a), location(cloud_b, region_b))
    return round(HOP_MS + km * ROUTE_FACTOR / FIBRE_KM_PER_MS, 1)
