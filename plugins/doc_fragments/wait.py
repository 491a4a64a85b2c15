# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # wait/wait_timeout. Matches WAIT_OPTIONS in plugins/module_utils/common/args.py.
    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Wait until the operation has finished and the resource is in its final state.
      - With V(false) the module returns as soon as the provider accepted the request.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait in all, for retries of throttled calls and for the resource to settle.
      - When the time runs out the module fails and names the last state it saw; waiting stops
        earlier, with the provider's message, if the resource reaches a failed state.
    type: int
    default: 1800
"""
