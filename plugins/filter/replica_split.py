# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: replica_split
short_description: Divide a total number of replicas between clusters by weight, within bounds
version_added: 0.1.0
description:
  - Splits O(_input) replicas between the clusters named in O(weights), in proportion to their
    weights, with every cluster's count kept between its C(min) and C(max), and the counts adding up
    to the total exactly.
  - Proportional shares are found first (a cluster held at its C(min) or C(max) gives its remainder
    to the others in proportion to their weights), then rounded by the largest-remainder method;
    ties go to the larger weight, then to the cluster listed first. The same input always gives the
    same split.
  - Fails, naming the field, when the bounds cannot be met (the C(min)s add up to more than the
    total, or the clusters that can take replicas cannot hold it all), or a weight or bound is not a
    whole number >= 0.
author:
  - multicloud.fabric contributors (@multicloud-fabric)
positional: _input, weights
options:
  _input:
    description: The total number of replicas.
    type: int
    required: true
  weights:
    description:
      - Cluster name to weight (a number >= 0), or to a dictionary with C(weight) and optionally
        C(min) and C(max) for that cluster. A cluster of weight 0 gets its C(min).
    type: dict
    required: true
  min:
    description: The least replicas of every cluster that does not set its own C(min).
    type: int
    default: 0
  max:
    description: The most replicas of every cluster that does not set its own C(max); no limit when not given.
    type: int
"""

EXAMPLES = r"""
- name: The seeds' split of 8 replicas, aws 3, gcp 3, azure 2
  ansible.builtin.debug:
    msg: "{{ 8 | multicloud.fabric.replica_split({'aws': 3, 'gcp': 3, 'azure': 2}) }}"

- name: At least one replica everywhere, at most 4 on Azure
  ansible.builtin.set_fact:
    replicas: >-
      {{ total_replicas | multicloud.fabric.replica_split(
           {'aws': 5, 'gcp': 4, 'azure': {'weight': 3, 'max': 4}}, min=1) }}
"""

RETURN = r"""
_value:
  description: Cluster name to its replica count, in the order of O(weights); the counts add up to O(_input).
  type: dict
"""

from fractions import Fraction

from ansible.errors import AnsibleFilterError


def _number(value, field, whole=True):
    """``value`` as a number >= 0 (a whole number when ``whole``), else an error naming ``field``."""
    kind = "a whole number" if whole else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise AnsibleFilterError(f"replica_split: {field} must be {kind} >= 0, got {value!r}")
    try:
        number = Fraction(str(value))
    except ValueError:
        raise AnsibleFilterError(f"replica_split: {field} must be {kind} >= 0, got {value!r}") from None
    if number < 0 or (whole and number.denominator != 1):
        raise AnsibleFilterError(f"replica_split: {field} must be {kind} >= 0, got {value!r}")
    return int(number) if whole else number


def _whole(value, field, allow_none=False):
    return None if value is None and allow_none else _number(value, field)


def _weight(value, field):
    return _number(value, field, whole=False)


def _clusters(weights, default_min, default_max):
    if not isinstance(weights, dict) or not weights:
        got = "none" if not weights else type(weights).__name__
        raise AnsibleFilterError(f"replica_split: weights must be a dictionary of cluster name to weight, got {got}")
    out = []
    for name, entry in weights.items():
        field = f"weights.{name}"
        if isinstance(entry, dict):
            unknown = sorted(set(entry) - {"weight", "min", "max"})
            if unknown:
                raise AnsibleFilterError(f"replica_split: {field} has unknown keys {', '.join(map(str, unknown))}")
            if "weight" not in entry:
                raise AnsibleFilterError(f"replica_split: {field}.weight is required")
            weight = _weight(entry["weight"], f"{field}.weight")
            low = _whole(entry["min"], f"{field}.min") if entry.get("min") is not None else default_min
            high = _whole(entry["max"], f"{field}.max") if entry.get("max") is not None else default_max
        else:
            weight, low, high = _weight(entry, field), default_min, default_max
        if high is not None and low > high:
            raise AnsibleFilterError(f"replica_split: {field}: min {low} is above max {high}")
        out.append({"name": name, "weight": weight, "min": low, "max": high})
    return out


def _share(cluster, level):
    value = max(Fraction(cluster["min"]), level * cluster["weight"])
    return value if cluster["max"] is None else min(value, Fraction(cluster["max"]))


def _level(clusters, total):
    """The proportionality factor L with sum(clamp(L * weight, min, max)) == total (exact).

    The sum grows piecewise linearly with L; its corners are where a cluster leaves its min or
    reaches its max. Walk the corners to the segment holding ``total`` and solve it there."""
    corners = sorted(
        {Fraction(c["min"]) / c["weight"] for c in clusters if c["weight"]}
        | {Fraction(c["max"]) / c["weight"] for c in clusters if c["weight"] and c["max"] is not None}
    )
    low = Fraction(0)
    for corner in [*corners, None]:
        if corner is not None and sum(_share(c, corner) for c in clusters) < total:
            low = corner
            continue
        # total lies between the sums at ``low`` and ``corner``: linear in between.
        moving = [
            c
            for c in clusters
            if c["weight"]
            and Fraction(c["min"]) / c["weight"] <= low
            and (c["max"] is None or Fraction(c["max"]) / c["weight"] > low)
        ]
        slope = sum(c["weight"] for c in moving)
        base = sum(_share(c, low) for c in clusters)
        return low + (total - base) / slope if slope else low
    return low  # not reached: the last segment is unbounded or the total was checked to fit


def replica_split(total, weights, min=0, max=None):  # pylint: disable=redefined-builtin
    total = _whole(total, "the total (the filter's input)")
    default_min = _whole(min, "min")
    default_max = _whole(max, "max", allow_none=True)
    if default_max is not None and default_min > default_max:
        raise AnsibleFilterError(f"replica_split: min {default_min} is above max {default_max}")
    clusters = _clusters(weights, default_min, default_max)
    floor = sum(c["min"] for c in clusters)
    if floor > total:
        raise AnsibleFilterError(
            f"replica_split: the clusters' min add up to {floor}, more than the total of {total} replicas"
        )
    takers = [c for c in clusters if c["weight"]]
    if any(c["max"] is None for c in takers):
        ceiling = None
    else:
        ceiling = sum(c["max"] for c in takers) + sum(c["min"] for c in clusters if not c["weight"])
    if total > floor and not takers:
        raise AnsibleFilterError(
            f"replica_split: every weight is 0, so {total - floor} of the {total} replicas have no cluster to go to"
        )
    if ceiling is not None and total > ceiling:
        raise AnsibleFilterError(
            f"replica_split: the clusters can hold at most {ceiling} replicas (their max, and min where the "
            f"weight is 0), fewer than the total of {total}"
        )
    level = _level(clusters, total) if total > floor else Fraction(0)
    shares = [_share(c, level) for c in clusters]
    counts = [int(s) for s in shares]  # floor: shares are >= 0
    left = total - sum(counts)
    order = sorted(
        range(len(clusters)),
        key=lambda i: (-(shares[i] - counts[i]), -clusters[i]["weight"], i),
    )
    for i in order[:left]:
        counts[i] += 1
    return {c["name"]: n for c, n in zip(clusters, counts, strict=True)}


class FilterModule:
    def filters(self):
        return {"replica_split": replica_split}
