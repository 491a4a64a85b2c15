# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the mc_crdb_info module piped and without any cloud's credentials (see plugin_utils/module_action.py).

mc_crdb_info talks SQL to CockroachDB, not to a cloud API: it has no ``cloud`` option, so every
provider option that ``module_defaults: group/multicloud.fabric.mc`` sets is dropped before it runs.
"""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.plugin_utils.module_action import FabricModuleAction


class ActionModule(FabricModuleAction):
    CLOUD_OPTION = "cloud"
