# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tags and labels with the same purge semantics in every cloud.

``tags`` given: every key is set to its value; with ``purge_tags`` (the default) keys not given are
removed. ``tags`` omitted (None): tags are not managed at all. Keys the cloud reserves (AWS ``aws:``)
are refused.
"""

from __future__ import annotations

import re

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError

GCP_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
GCP_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
# Tags (labels) one resource may carry: EC2 and EKS 50, ARM 50, GCP 64.
MAX_TAGS = {"aws": 50, "gcp": 64, "azure": 50}


def check_tags(cloud, tags, reserved=0):
    """Validated ``tags`` as strings, or None when not managed; errors name ``tags.<key>``.

    ``reserved`` is how many tags the collection itself puts on the resource (e.g. AWS ``Name``),
    so the user's tags plus these stay within the cloud's limit per resource.
    """
    if tags is None:
        return None
    if not isinstance(tags, dict):
        raise ValidationError("tags", "expected a dictionary of key: value")
    limit = MAX_TAGS.get(cloud)
    if limit is not None and len(tags) + reserved > limit:
        own = f" (the collection adds {reserved} of its own)" if reserved else ""
        raise ValidationError(
            "tags", f"{len(tags)} tags given; {cloud} allows {limit} per resource{own}, so at most {limit - reserved}"
        )
    clean = {}
    for raw_key, raw_value in tags.items():
        key = str(raw_key)
        value = "" if raw_value is None else str(raw_value)
        field = f"tags.{key}"
        if not key:
            raise ValidationError("tags", "tag keys must not be empty")
        if cloud == "aws":
            if key.lower().startswith("aws:"):
                raise ValidationError(field, "keys starting with 'aws:' are reserved by AWS")
            if len(key) > 128 or len(value) > 256:
                raise ValidationError(field, "AWS allows keys up to 128 and values up to 256 characters")
        elif cloud == "gcp":
            if not GCP_LABEL_KEY.match(key):
                raise ValidationError(
                    field, "GCP label keys are lowercase letters, digits, '_' and '-', starting with a letter (max 63)"
                )
            if not GCP_LABEL_VALUE.match(value):
                raise ValidationError(field, "GCP label values are lowercase letters, digits, '_' and '-' (max 63)")
        elif cloud == "azure":
            if any(c in key for c in "<>%&\\?/"):
                raise ValidationError(field, "Azure tag names cannot contain < > % & \\ ? /")
            if len(key) > 512 or len(value) > 256:
                raise ValidationError(field, "Azure allows names up to 512 and values up to 256 characters")
        clean[key] = value
    return clean


def tag_changes(current, desired, purge):
    """``(set, remove)`` turning the ``current`` tags into ``desired`` (``purge``: drop the others)."""
    current = current or {}
    to_set = {k: v for k, v in desired.items() if current.get(k) != v}
    remove = sorted(k for k in current if k not in desired) if purge else []
    return to_set, remove


def tags_action(current, desired, purge):
    """The ``update_tags`` action, or None when the tags already match."""
    if desired is None:
        return None
    to_set, remove = tag_changes(current, desired, purge)
    if not to_set and not remove:
        return None
    final = {k: v for k, v in (current or {}).items() if k not in remove}
    final.update(desired)
    return {"action": "update_tags", "set": to_set, "remove": remove, "tags": final}
