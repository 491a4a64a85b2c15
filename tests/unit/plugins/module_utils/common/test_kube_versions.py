# -*- coding: utf-8 -*-
"""Kubernetes versions as each cloud spells them, read as MAJOR.MINOR."""

from __future__ import annotations

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError
from ansible_collections.multicloud.fabric.plugins.module_utils.common.kube import minor_version


def test_versions_are_read_as_minor():
    assert [minor_version(v) for v in ("1.31", "v1.31.4", "1.31.5-gke.1200", "1.30.9-eks-ab12", "1.29.7")] == [
        "1.31",
        "1.31",
        "1.31",
        "1.30",
        "1.29",
    ]


@pytest.mark.parametrize("value", [None, "latest", "", "1", "v.1.31"])
def test_what_is_no_version_fails_naming_the_field(value):
    with pytest.raises(ValidationError) as error:
        minor_version(value, field="node_pools[0].version")
    assert error.value.field == "node_pools[0].version"
    assert f"{value!r} is not a Kubernetes version like 1.31" in error.value.describe()
