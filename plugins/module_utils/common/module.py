# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The thin module wrapper every module uses.

``FabricModule`` only parses arguments when constructed; it holds no clients and runs nothing.
``run(module, handler)`` calls the module's handler and turns its result or its typed error into
``exit_json``/``fail_json``, masking every secret on the way out.

A module's ``main()`` is therefore::

    def main():
        module = FabricModule(argument_spec=..., supports_check_mode=True)
        run(module, ensure)   # ensure(module) -> dict(changed=..., diff=..., **result)
"""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.multicloud.fabric.plugins.module_utils.common.diff import mask
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import FabricError
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Deadline, Retrier, RetryPolicy


class FabricModule:
    """An AnsibleModule plus the few helpers every multicloud.fabric module needs."""

    def __init__(self, argument_spec, supports_check_mode=True, **kwargs):
        self.ansible = AnsibleModule(argument_spec=argument_spec, supports_check_mode=supports_check_mode, **kwargs)
        self._deadline = None

    @property
    def params(self):
        return self.ansible.params

    @property
    def check_mode(self):
        return self.ansible.check_mode

    @property
    def diff_mode(self):
        return self.ansible._diff  # pylint: disable=protected-access

    @property
    def secret_values(self):
        """Values of every ``no_log`` option given to this module."""
        return self.ansible.no_log_values

    def deadline(self):
        """One deadline for the whole task, from ``wait_timeout`` (shared by retries and waits)."""
        if self._deadline is None:
            self._deadline = Deadline(self.params.get("wait_timeout") or RetryPolicy().timeout)
        return self._deadline

    def retrier(self, cloud, policy=None):
        return Retrier(cloud, policy=policy, deadline=self.deadline(), on_retry=self._log_retry)

    def _log_retry(self, error, attempt, delay):
        self.ansible.log(
            mask(
                f"retrying after {error.kind} error (attempt {attempt}, waiting {delay:.1f}s): {error.describe()}",
                self.secret_values,
            )
        )

    def warn(self, message):
        self.ansible.warn(mask(message, self.secret_values))

    def exit(self, changed=False, diff=None, **result):
        values = self.secret_values
        result = mask(result, values)
        if diff is not None and self.diff_mode:
            result["diff"] = mask(diff, values)
        self.ansible.exit_json(changed=changed, **result)

    def fail(self, error, **result):
        values = self.secret_values
        if isinstance(error, FabricError):
            result["error"] = error.as_dict()
            message = error.describe()
        else:
            message = str(error)
        self.ansible.fail_json(msg=mask(message, values), **mask(result, values))


def run(module, handler):
    """Run ``handler(module)`` and exit with its result dict, or fail with its error."""
    try:
        result = handler(module)
    except FabricError as error:
        module.fail(error)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail(
            f"unexpected error in multicloud.fabric ({type(exc).__name__}): {exc}",
            exception=traceback.format_exc(),
        )
    else:
        result = dict(result or {})
        changed = bool(result.pop("changed", False))
        diff = result.pop("diff", None)
        module.exit(changed=changed, diff=diff, **result)
