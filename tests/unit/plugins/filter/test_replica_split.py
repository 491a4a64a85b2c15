"""replica_split: proportional, bounded, deterministic, and the counts always add up."""

from __future__ import annotations

import itertools
import random

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.multicloud.fabric.plugins.filter.replica_split import FilterModule, replica_split


def test_the_seeds_split():
    assert replica_split(8, {"aws": 3, "gcp": 3, "azure": 2}) == {"aws": 3, "gcp": 3, "azure": 2}


def test_largest_remainder_with_ties_to_the_larger_weight_then_the_first_listed():
    # 10 * 3/8 = 3.75, 10 * 3/8 = 3.75, 10 * 2/8 = 2.5: the two .75 win the two spare replicas.
    assert replica_split(10, {"aws": 3, "gcp": 3, "azure": 2}) == {"aws": 4, "gcp": 4, "azure": 2}
    # Equal weights, equal remainders: the first listed gets the spare one.
    assert replica_split(4, {"b": 1, "a": 1, "c": 1}) == {"b": 2, "a": 1, "c": 1}
    # Equal remainders (0.5 each), different weights: the heavier one wins.
    assert replica_split(3, {"x": 1, "y": 1, "z": 0}, min=0) == {"x": 2, "y": 1, "z": 0}
    assert replica_split(5, {"light": 1, "heavy": 3}) == {"light": 1, "heavy": 4}


def test_order_of_the_result_is_the_order_of_the_weights():
    assert list(replica_split(6, {"gcp": 1, "azure": 1, "aws": 1})) == ["gcp", "azure", "aws"]


def test_a_cluster_held_at_its_max_gives_the_rest_to_the_others_by_weight():
    split = replica_split(12, {"aws": 5, "gcp": 4, "azure": {"weight": 3, "max": 1}})
    assert split["azure"] == 1
    # The 11 left go 5:4 between aws and gcp: 6.11 and 4.89.
    assert split == {"aws": 6, "gcp": 5, "azure": 1}


def test_min_lifts_a_light_cluster_and_the_others_share_the_rest():
    split = replica_split(10, {"aws": 8, "gcp": 1, "azure": 1}, min=2)
    assert split == {"aws": 6, "gcp": 2, "azure": 2}


def test_zero_weight_gets_its_min_only():
    assert replica_split(6, {"aws": 1, "gcp": 0, "azure": {"weight": 0, "min": 1}}) == {"aws": 5, "gcp": 0, "azure": 1}


def test_zero_total_and_fractional_weights():
    assert replica_split(0, {"aws": 1, "gcp": 2}) == {"aws": 0, "gcp": 0}
    assert replica_split(3, {"aws": 0.5, "gcp": "1.0"}) == {"aws": 1, "gcp": 2}


def test_properties_over_many_random_inputs():
    rng = random.Random(11)
    for _case in range(400):
        names = [f"c{i}" for i in range(rng.randint(1, 5))]
        weights = {}
        for name in names:
            low = rng.choice([None, 0, 1, 2])
            high = rng.choice([None, 3, 5, 8])
            if low is not None and high is not None and low > high:
                low = None
            weights[name] = {"weight": rng.choice([0, 1, 2, 3, 7]), "min": low, "max": high}
        total = rng.randint(0, 30)
        try:
            split = replica_split(total, weights)
        except AnsibleFilterError:
            continue
        assert sum(split.values()) == total
        for name, count in split.items():
            entry = weights[name]
            assert count >= (entry["min"] or 0)
            assert entry["max"] is None or count <= entry["max"]
            if entry["weight"] == 0:
                assert count == (entry["min"] or 0)
        assert split == replica_split(total, weights)  # deterministic


def test_proportional_when_no_bound_binds():
    # Without bounds, each count is within one of the exact proportional share.
    for total, (a, b, c) in itertools.product(range(0, 25), [(3, 3, 2), (1, 2, 3), (5, 0, 1)]):
        split = replica_split(total, {"a": a, "b": b, "c": c})
        for name, weight in zip("abc", (a, b, c), strict=True):
            assert abs(split[name] - total * weight / (a + b + c)) < 1


@pytest.mark.parametrize(
    ("total", "weights", "kwargs", "words"),
    [
        (-1, {"a": 1}, {}, "the total (the filter's input) must be a whole number >= 0"),
        (2.5, {"a": 1}, {}, "the total (the filter's input) must be a whole number"),
        (3, {}, {}, "weights must be a dictionary"),
        (3, ["a"], {}, "weights must be a dictionary"),
        (3, {"a": -1}, {}, "weights.a must be a number >= 0"),
        (3, {"a": "heavy"}, {}, "weights.a must be a number >= 0"),
        (3, {"a": True}, {}, "weights.a must be a number"),
        (3, {"a": {"min": 1}}, {}, "weights.a.weight is required"),
        (3, {"a": {"weight": 1, "minimum": 1}}, {}, "weights.a has unknown keys minimum"),
        (3, {"a": {"weight": 1, "min": 1.5}}, {}, "weights.a.min must be a whole number"),
        (3, {"a": {"weight": 1, "min": 3, "max": 2}}, {}, "weights.a: min 3 is above max 2"),
        (3, {"a": 1}, {"min": 2, "max": 1}, "min 2 is above max 1"),
        (3, {"a": 1, "b": 1}, {"min": 2}, "min add up to 4, more than the total of 3"),
        (9, {"a": 1, "b": {"weight": 1, "max": 2}}, {"max": 4}, "at most 6 replicas"),
        (9, {"a": {"weight": 0, "min": 2}, "b": {"weight": 1, "max": 2}}, {}, "at most 4 replicas"),
        (3, {"a": 0, "b": 0}, {}, "every weight is 0"),
    ],
)
def test_bad_input_names_the_field(total, weights, kwargs, words):
    with pytest.raises(AnsibleFilterError) as info:
        replica_split(total, weights, **kwargs)
    assert words in str(info.value)


def test_registered_under_its_name():
    assert FilterModule().filters()["replica_split"] is replica_split
