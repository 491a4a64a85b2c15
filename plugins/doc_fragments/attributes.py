# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Modules that change resources.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Predicts every create, update and delete without sending a write.
    support: full
  diff_mode:
    description: Returns C(before) and C(after) of the managed object, with every secret masked.
    support: full
  action_group:
    description: >-
      Use C(group/multicloud.fabric.mc) in C(module_defaults) to set credentials and endpoints
      once for this module and every other module of the collection.
    support: full
    membership:
      - multicloud.fabric.mc
"""

    # Modules that only read (the _info modules).
    INFO_MODULE = r"""
attributes:
  check_mode:
    description: The module only reads, so it runs the same in check mode.
    support: full
  diff_mode:
    description: The module changes nothing, so there is no diff.
    support: N/A
  action_group:
    description: >-
      Use C(group/multicloud.fabric.mc) in C(module_defaults) to set credentials and endpoints
      once for this module and every other module of the collection.
    support: full
    membership:
      - multicloud.fabric.mc
"""
