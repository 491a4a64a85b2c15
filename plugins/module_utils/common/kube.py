# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes facts every cloud's adapter spells the same way: MAJOR.MINOR versions and the names
cloud APIs give taint effects."""

from __future__ import annotations

import re

_MINOR = re.compile(r"^v?(\d+)\.(\d+)")

# Kubernetes taint effect -> the enum EKS (NodegroupTaint) and GKE (NodeTaint) APIs use.
TAINT_EFFECT_TO_API = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
TAINT_EFFECT_FROM_API = {value: key for key, value in TAINT_EFFECT_TO_API.items()}


def minor_of(version):
    """``"1.31"`` of ``"1.31"``, ``"v1.31.4"``, ``"1.31.5-gke.1200"`` or ``"1.30.9-eks-ab12"``;
    None for None and for anything that does not start with MAJOR.MINOR."""
    found = _MINOR.match(str(version).strip()) if version is not None else None
    return f"{int(found.group(1))}.{int(found.group(2))}" if found else None
