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

from ansible.module_utils.basic import AnsibleModule, _load_params
from ansible.module_utils.common.validation import check_type_dict, check_type_list

from ansible_collections.multicloud.fabric.plugins.module_utils.common.args import (
    argument_spec,
    provider_argument_spec,
    resource_argument_spec,
    tags_argument_spec,
    wait_argument_spec,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.common.clouds import CLOUDS
from ansible_collections.multicloud.fabric.plugins.module_utils.common.diff import mask
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import FabricError, ValidationError
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Deadline, Retrier, RetryPolicy


def resource_module_spec(options, **rules):
    """``FabricModule``'s keyword arguments for a module that manages one resource in one cloud:
    ``cloud``, ``name``, ``region``, ``state``, the module's own ``options``, ``tags``, every cloud's
    provider options and ``wait``; ``rules`` are ``required_if``, ``mutually_exclusive``, ..."""
    spec = argument_spec(
        resource_argument_spec(CLOUDS),
        options,
        tags_argument_spec(),
        provider_argument_spec(*CLOUDS),
        wait_argument_spec(),
    )
    return dict(rules, argument_spec=spec)


def info_module_spec(options, **rules):
    """``FabricModule``'s keyword arguments for an ``_info`` module: its ``options`` and every
    cloud's provider options."""
    return dict(rules, argument_spec=argument_spec(options, provider_argument_spec(*CLOUDS)))


class FabricModule:
    """An AnsibleModule plus the few helpers every multicloud.fabric module needs."""

    def __init__(self, argument_spec, supports_check_mode=True, **kwargs):
        # Ansible's own error for an element of a list of dictionaries that is not one ("dictionary
        # requested, could not parse JSON or key=value") does not say which element: find it first in
        # the arguments as given, let Ansible parse every other option, and fail naming the element.
        misshapen = _misshapen_element(argument_spec, _load_params())
        spec = argument_spec
        if misshapen:
            option = argument_spec[misshapen[0]]
            spec = dict(argument_spec)
            spec[misshapen[0]] = {
                "type": "raw",
                "aliases": option.get("aliases") or [],
                "no_log": _has_no_log(option),
            }
        self.ansible = AnsibleModule(argument_spec=spec, supports_check_mode=supports_check_mode, **kwargs)
        self._deadline = None
        if misshapen:
            self.fail(ValidationError(misshapen[1], misshapen[2]))

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

    def add_secrets(self, values):
        """Treat ``values`` (e.g. keys derived from a ``no_log`` option) as secrets too: masked in
        the result, diffs, warnings and errors, as Ansible masks ``no_log`` options."""
        self.ansible.no_log_values.update(str(v) for v in values if v)

    def log(self, message):
        """A line in the target's log (syslog/journal), secrets masked."""
        self.ansible.log(mask(message, self.secret_values))

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

    @property
    def no_log(self):
        """Whether the task has ``no_log: true``: Ansible then never prints or logs its result."""
        return bool(self.ansible.no_log)

    def exit(self, changed=False, diff=None, revealed=(), **result):
        """Exit with ``result`` masked, except the keys in ``revealed``: credentials the user asked
        for, returned only to a ``no_log`` task (Ansible still masks the no_log option values)."""
        values = self.secret_values
        shown = {key: result.pop(key) for key in revealed if key in result and self.no_log}
        result = mask(result, values)
        result.update(shown)
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


def _given(option_spec, name, values):
    for key in (name, *(option_spec.get("aliases") or ())):
        if key in values:
            return values[key]
    return None


def _has_no_log(option_spec):
    return bool(option_spec.get("no_log")) or any(_has_no_log(o) for o in (option_spec.get("options") or {}).values())


def _misshapen_element(spec, values, path=""):
    """``(option, field, message)`` for the first element of a list-of-dictionaries option (at any
    depth) that Ansible could not read as a dictionary, or None. Values that Ansible converts
    (``key=value`` strings, JSON objects) are left to it, as is every other kind of error."""
    if not isinstance(values, dict):
        return None
    for name, option in spec.items():
        given = _given(option, name, values)
        if given is None or not option.get("options"):
            continue
        field = f"{path}{name}"
        if option.get("type") == "dict":
            found = isinstance(given, dict) and _misshapen_element(option["options"], given, f"{field}.")
        elif option.get("type") == "list" and option.get("elements") == "dict":
            found = _misshapen_list(option, given, field)
        else:
            found = None
        if found:
            return (name, *found[1:])
    return None


def _misshapen_list(option, given, field):
    try:
        items = check_type_list(given)
    except TypeError:
        return None  # Ansible's own error names the option
    suboptions = ", ".join(option["options"])
    for index, item in enumerate(items):
        element = f"{field}[{index}]"
        try:
            element_value = check_type_dict(item)
        except TypeError:
            got = "a string" if isinstance(item, str) else type(item).__name__
            message = f"expected a dictionary with {suboptions}; got {got}"
            if isinstance(given, str):
                message += f" ({field.rsplit('.', 1)[-1]} is a string; it takes a list of dictionaries)"
            return (None, element, message)
        found = _misshapen_element(option["options"], element_value, f"{element}.")
        if found:
            return found
    return None


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
        revealed = result.pop("_revealed", ())
        module.exit(changed=changed, diff=diff, revealed=revealed, **result)
