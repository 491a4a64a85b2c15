# -*- coding: utf-8 -*-
"""AWS tags: the EC2 list form, and which tags are the user's for a network (no ``Name``, no
``aws:*``) and for an EKS cluster (no ``aws:*``)."""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.aws.network import OWN_TAGS
from ansible_collections.multicloud.fabric.plugins.module_utils.aws.tags import (
    tag_list,
    tag_updates,
    tags_to_dict,
    user_tags,
)

VPC_TAGS = [
    {"Key": "Name", "Value": "prod"},
    {"Key": "team", "Value": "a"},
    {"Key": "aws:cloudformation:x", "Value": "y"},
]


def test_tags_round_trip_and_user_tags_hide_name_and_aws_prefix():
    assert tags_to_dict(VPC_TAGS) == {"Name": "prod", "team": "a", "aws:cloudformation:x": "y"}
    assert user_tags(VPC_TAGS, OWN_TAGS) == {"team": "a"}
    assert user_tags({"Name": "x", "aws:y": "z", "k": "v"}, OWN_TAGS) == {"k": "v"}
    assert tag_list({"b": 2, "a": None}) == [{"Key": "a", "Value": ""}, {"Key": "b", "Value": "2"}]


def test_a_clusters_user_tags_keep_name_and_are_strings():
    """EKS cluster tags: only AWS's own are hidden (a Name tag is the user's), values as strings."""
    assert user_tags({"Name": "x", "aws:eks:cluster-name": "prod", "n": 3, "none": None}) == {
        "Name": "x",
        "n": "3",
        "none": "",
    }
    assert user_tags(None) == {}


def test_tag_changes_never_touch_name_or_aws_tags():
    action = {
        "action": "update_tags",
        "set": {"a": "1", "Name": "x", "aws:k": "v"},
        "remove": ["b", "Name", "aws:z", "a"],
    }
    assert tag_updates(action, OWN_TAGS) == ({"a": "1"}, ["b"])
    # A cluster reserves nothing but AWS's own tags.
    assert tag_updates(action) == ({"a": "1", "Name": "x"}, ["b"])
    assert tag_updates({"action": "update_tags", "set": None, "remove": None}) == ({}, [])
