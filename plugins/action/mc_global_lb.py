# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the mc_global_lb module with only its provider's credentials, piped (see plugin_utils/module_action.py)."""

from __future__ import annotations

from typing import ClassVar

from ansible_collections.multicloud.fabric.plugins.plugin_utils.module_action import FabricModuleAction


class ActionModule(FabricModuleAction):
    CLOUD_OPTION = "provider"
    # Route 53 authenticates with the AWS options.
    PROVIDER_CLOUDS: ClassVar[dict] = {"route53": "aws"}
