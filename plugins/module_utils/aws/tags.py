# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS tags of VPCs, their pieces and EKS clusters: the EC2 list form, and the user's tags.

AWS's own tags (``aws:*``) are never the user's; a resource may reserve more keys (a network's
``Name`` tag is its name), which ``reserved`` names. The collection-wide purge semantics are
``common/tags.py``'s; this module only spells them for AWS.
"""

from __future__ import annotations

NAME_TAG = "Name"
AWS_PREFIX = "aws:"


def tags_to_dict(tags):
    """EC2 ``[{"Key": k, "Value": v}]`` -> ``{k: v}``."""
    return {tag["Key"]: tag.get("Value", "") for tag in tags or ()}


def tag_list(tags):
    """``{k: v}`` -> EC2 ``[{"Key": k, "Value": v}]`` (sorted by key, values as strings)."""
    return [{"Key": key, "Value": "" if value is None else str(value)} for key, value in sorted((tags or {}).items())]


def is_user_tag(key, reserved=()):
    """True for a tag the user manages: not AWS's own (``aws:*``) nor one of ``reserved``."""
    return not str(key).startswith(AWS_PREFIX) and key not in reserved


def user_tags(tags, reserved=()):
    """The user's tags of an EC2 tag list or a dict, as strings (see :func:`is_user_tag`)."""
    if not isinstance(tags, dict):
        tags = tags_to_dict(tags)
    return {str(key): "" if value is None else str(value) for key, value in tags.items() if is_user_tag(key, reserved)}


def tag_updates(action, reserved=()):
    """``(set, remove)`` of an ``update_tags`` action restricted to the user's tags: AWS's own and
    ``reserved`` keys are neither set nor removed, and a key being set is not removed."""
    to_set = user_tags(action.get("set") or {}, reserved)
    to_remove = sorted(k for k in action.get("remove") or () if is_user_tag(k, reserved) and k not in to_set)
    return to_set, to_remove
