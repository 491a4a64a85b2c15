# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes facts every cloud's adapter spells the same way: MAJOR.MINOR versions and the names
cloud APIs give taint effects."""

from __future__ import annotations

import re

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError

# What a cloud reports: anything starting with MAJOR.MINOR.
_MINOR = re.compile(r"^v?(\d+)\.(\d+)")
# What a user may give: 1.31, v1.31.4, 1.31.5-gke.1200, 1.30.9-eks-ab12, 1.29.7+k3s1.
VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$")

# Kubernetes taint effect -> the enum EKS (NodegroupTaint) and GKE (NodeTaint) APIs use.
TAINT_EFFECT_TO_API = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
TAINT_EFFECT_FROM_API = {value: key for key, value in TAINT_EFFECT_TO_API.items()}


def minor_of(version):
    """``"1.31"`` of ``"1.31"``, ``"v1.31.4"``, ``"1.31.5-gke.1200"`` or ``"1.30.9-eks-ab12"``;
    None for None and for anything that does not start with MAJOR.MINOR."""
    found = _MINOR.match(str(version).strip()) if version is not None else None
    return f"{int(found.group(1))}.{int(found.group(2))}" if found else None


def minor_version(value, field="kubernetes_version"):
    """``"1.31"`` for ``"1.31"``, ``"v1.31.4"``, ``"1.31.5-gke.1200"``, ``"1.31.4-eks-abc"``; a value
    that is no Kubernetes version raises :class:`ValidationError` naming ``field``."""
    found = VERSION.match(str(value).strip()) if value is not None else None
    if not found:
        raise ValidationError(field, f"{value!r} is not a Kubernetes version like 1.31")
    return minor_of(value)
