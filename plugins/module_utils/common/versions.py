# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes versions as every cloud spells them, read as the portable ``MAJOR.MINOR``."""

from __future__ import annotations

import re

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError

# 1.31, v1.31.4, 1.31.5-gke.1200, 1.30.9-eks-ab12, 1.29.7+k3s1: major, minor, optional patch.
VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$")


def minor_version(value, field="kubernetes_version"):
    """``"1.31"`` for ``"1.31"``, ``"v1.31.4"``, ``"1.31.5-gke.1200"``, ``"1.31.4-eks-abc"``; a value
    that is no Kubernetes version raises :class:`ValidationError` naming ``field``."""
    found = VERSION.match(str(value).strip()) if value is not None else None
    if not found:
        raise ValidationError(field, f"{value!r} is not a Kubernetes version like 1.31")
    return f"{int(found.group(1))}.{int(found.group(2))}"
