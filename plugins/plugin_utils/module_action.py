# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin every module of the collection runs through (controller side).

Two things keep credentials off the disk, whatever the user's ``ansible.cfg`` says:

- each module receives only the provider options of the clouds it works on (``cloud`` or
  ``clouds``): ``module_defaults: group/multicloud.fabric.mc`` sets every cloud's credentials
  once, but a GCP task never carries the AWS secret key or the Azure client secret;
- the module and its arguments are piped to the Python interpreter's standard input
  (pipelining) whenever the connection can do it, instead of being written as an
  ``AnsiballZ_*.py`` file into the remote temporary directory, where it would stay if the run
  were killed. The zip that AnsiballZ unpacks into the system temporary directory holds only
  code, never the arguments.

Pipelining is impossible for ``async`` tasks (the async wrapper runs the module from a file), with
``ANSIBLE_KEEP_REMOTE_FILES`` (the user asked for the files) and with connections or become
methods that cannot pipe; those runs warn that the module's arguments go to a file.
"""

from __future__ import annotations

from typing import ClassVar

from ansible import constants as C
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.multicloud.fabric.plugins.module_utils.common.args import PROVIDER_OPTIONS

FILE_WARNING = (
    "{module}: this run cannot pipe the module to the interpreter ({why}), so the module and its "
    "arguments, credentials included, are written to a file under the remote temporary directory; "
    "the file stays there if the run is killed"
)


def clouds_of(args, cloud_option):
    """The clouds a task works on, from its ``cloud`` (one) or ``clouds`` (a list) option."""
    value = args.get(cloud_option)
    if value is None:
        return set()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple, set)):
        return set()
    return {str(item).strip() for item in value}


def own_credentials(args, clouds):
    """``args`` without the provider options of every provider not in ``clouds``.

    Options of a provider the task does not use are never read by the module, so dropping them
    changes nothing but what travels to the module. An unknown cloud keeps no provider options:
    the module rejects it (its ``choices``) before using any.
    """
    foreign = {name for provider, options in PROVIDER_OPTIONS.items() if provider not in clouds for name in options}
    return {key: value for key, value in args.items() if key not in foreign}


def _become_pipelines(connection):
    become = getattr(connection, "become", None)
    if not become:
        return True
    # ansible-core 2.19 asks the become plugin; before, every method but su could pipe.
    return bool(getattr(become, "pipelining", become.name != "su"))


def pipelining_blocker(connection, wrap_async=False):
    """Why this task's module cannot be piped to the interpreter, or None when it can."""
    if C.DEFAULT_KEEP_REMOTE_FILES:
        return "ANSIBLE_KEEP_REMOTE_FILES is set"
    if wrap_async and not connection.always_pipeline_modules:
        return "async tasks run the module from a file"
    if not (connection.has_pipelining or connection.always_pipeline_modules):
        return f"the {connection.transport} connection does not support pipelining"
    if not _become_pipelines(connection):
        return f"become method {connection.become.name} does not support pipelining"
    return None


class FabricModuleAction(ActionBase):
    """Runs the module of the same name with its own cloud's credentials, pipelined."""

    _supports_check_mode = True
    _supports_async = True

    # The module option naming the cloud(s) the task works on.
    CLOUD_OPTION = "cloud"
    # Values of that option whose credentials are another provider's (e.g. route53 -> aws).
    PROVIDER_CLOUDS: ClassVar[dict] = {}

    def _is_pipelining_enabled(self, module_style, wrap_async=False):
        return module_style == "new" and pipelining_blocker(self._connection, wrap_async) is None

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        wrap_async = bool(self._task.async_val and not self._connection.has_native_async)
        why = pipelining_blocker(self._connection, wrap_async)
        if why:
            self._display.warning(FILE_WARNING.format(module=self._task.action, why=why))
        clouds = {self.PROVIDER_CLOUDS.get(cloud, cloud) for cloud in clouds_of(self._task.args, self.CLOUD_OPTION)}
        args = own_credentials(self._task.args, clouds)
        result = merge_hash(result, self._execute_module(module_args=args, task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
