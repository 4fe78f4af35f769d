# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""The action of a mode module (ucs_server_mode, arcgis_site_mode). On the controller, where
requests imports, the module's own code runs in this process, as the module would run it (its
options and module_defaults, the environment fallbacks read from the task's environment, check
and diff mode, no_log, its result and its messages): a converged task then costs what a task costs,
not a Python started and a module unpacked for one GET. It runs with the controller's Python and
its requests, not ansible_python_interpreter's. Anywhere else, with become, in an async task, or
with opsmodes_maintenance_in_process set to false, the module runs as any module does. The choice
is _calls.calls_for's, as the role's engine makes it."""

from __future__ import annotations

import json

from ansible import constants as C
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action.normal import ActionModule as NormalAction

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._calls import IN_PROCESS_VARIABLE, calls_for
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import settings as settings_messages
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._services import SERVICES

try:  # ansible-core 2.19 and later: a module's input and output are encoded, and decoded, by a serialization profile
    from ansible.module_utils.common.json import Direction, get_module_decoder, get_module_encoder
except ImportError:
    get_module_encoder = None
# The profile of every module without metadata saying otherwise, ours included.
PROFILE = "legacy"


class ModeAction(NormalAction):
    """A mode module's action; a subclass names its kind of server in `service`."""

    service = None

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        service = SERVICES[self.service]
        allowed = self._templar.template(task_vars.get(IN_PROCESS_VARIABLE, True))
        try:
            allowed = boolean(allowed, strict=True)
        except TypeError:
            return {"failed": True, "msg": settings_messages.not_a_boolean(IN_PROCESS_VARIABLE, allowed)}
        calls = calls_for(self._connection.transport, None, set(), None, in_process=allowed,
                          become=self._play_context.become)
        # Async tasks are the module's to run: a job of its own that async_status polls.
        if not calls.runs_here or self._task.async_val:
            return super().run(tmp, task_vars)
        result = super(NormalAction, self).run(tmp, task_vars)
        environment = {}
        self._compute_environment_string(environment)
        # The task's arguments hold module_defaults already: the task executor applies them.
        output = calls.module_task(service, _as_module_arguments(self._task.args), environment,
                                   check_mode=bool(self._task.check_mode),
                                   diff=bool(self._task.diff), invocation=_inject_invocation(task_vars),
                                   action=self._task.action)
        result.update(self._as_module_output(output))
        return result

    def _as_module_output(self, output):
        """`output` as ansible-core takes a module's output, through the same parsing and cleaning
        as _execute_module's: what the task registers is then what the module would have given it."""
        if get_module_encoder is None:
            return self._parse_returned_data({"rc": 0, "stdout": json.dumps(output), "stderr": ""})
        text = json.dumps(output, cls=get_module_encoder(PROFILE, Direction.MODULE_TO_CONTROLLER))
        parsed = self._parse_returned_data({"rc": 0, "stdout": text, "stderr": ""}, PROFILE)
        if isinstance(parsed, dict):
            return parsed
        # ansible-core 2.21 and later parse into a task result, which _execute_module cleans and
        # hands on as a dict.
        parsed.remove_internal_keys()
        return parsed.as_result_dict(for_round_trip=True)


def _as_module_arguments(args):
    """The task's arguments as a module receives them, through the same encoding: plain values,
    a vaulted one decrypted, none of the controller's tags."""
    if get_module_encoder is None:
        # Imported here: ansible-core deprecates the module where it no longer needs it.
        from ansible.parsing.ajson import AnsibleJSONEncoder

        return json.loads(json.dumps(args, cls=AnsibleJSONEncoder, vault_to_text=True))
    text = json.dumps(args, cls=get_module_encoder(PROFILE, Direction.CONTROLLER_TO_MODULE))
    return json.loads(text, cls=get_module_decoder(PROFILE, Direction.CONTROLLER_TO_MODULE))


def _inject_invocation(task_vars):
    """Whether a module's result carries its invocation, as ansible-core decides it: its setting
    INJECT_INVOCATION where it has one (2.19 and later), always before."""
    if "INJECT_INVOCATION" not in C.config.get_configuration_definitions():
        return True
    return bool(C.config.get_config_value("INJECT_INVOCATION", variables=task_vars))
