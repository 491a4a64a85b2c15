# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Ansible loads callbacks from a callback_plugins/ directory next to the playbook without any
# configuration: this makes the summary table of site.yml print under every user's settings.
# The plugin itself is multicloud.fabric.summary (plugins/callback/summary.py).

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.callback.summary import CallbackModule

__all__ = ["CallbackModule"]
