"""The Google Cloud regions and zones the sandbox serves (a subset of Google's public list).

Compute `regions.list` answers from this table, and every call naming a region or zone outside it
is refused the way Google refuses it, so clients are tested against a cloud that is not lenient.
"""

from __future__ import annotations

REGIONS: dict[str, tuple[str, ...]] = {
    "asia-east1": ("a", "b", "c"),
    "asia-northeast1": ("a", "b", "c"),
    "asia-southeast1": ("a", "b", "c"),
    "australia-southeast1": ("a", "b", "c"),
    "europe-north1": ("a", "b", "c"),
    "europe-west1": ("b", "c", "d"),
    "europe-west2": ("a", "b", "c"),
    "europe-west3": ("a", "b", "c"),
    "europe-west4": ("a", "b", "c"),
    "northamerica-northeast1": ("a", "b", "c"),
    "southamerica-east1": ("a", "b", "c"),
    "us-central1": ("a", "b", "c", "f"),
    "us-east1": ("b", "c", "d"),
    "us-east4": ("a", "b", "c"),
    "us-west1": ("a", "b", "c"),
    "us-west2": ("a", "b", "c"),
}


def zones_of(region: str) -> list[str]:
    return [f"{region}-{suffix}" for suffix in REGIONS.get(region, ())]


def is_region(name: str) -> bool:
    return name in REGIONS


def is_zone(name: str) -> bool:
    region, _, _suffix = name.rpartition("-")
    return name in zones_of(region)
