# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine of the role opsmodes.maintenance.window: one phase of a maintenance window for one
host. It reads the role's variables once (_settings.py), opens the record's store and journal
(_store.py, _journal.py), chooses once how the servers are called (_calls.py), and runs the
phase (_enter.py, _exit.py, _status.py), whose decisions are pure functions (_decide.py).

Enter and exit only ask for their switches; `confirm`, run once every host of the batch has
asked, waits for them. So a batch of forks switches at once, into maintenance and out of it.
"""

from __future__ import annotations

from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._calls import calls_for
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._enter import Enter
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._exit import Exit
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._journal import Journal
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import phases as messages
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import store as store_messages
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._plan import from_result
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._postgresql import PostgresStore
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._services import module_name
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._settings import read_settings
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._state_file import StateFile
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._status import Status
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._work import checked_work

display = Display()
REQUESTS = {"enter": Enter, "exit": Exit}
# The phases that say what became of each server: the request steps only asked.
SAYS = ("confirm", "status")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("phase", "work_tasks", "requested"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        self._task_vars = task_vars or {}
        secrets = set()
        try:
            settings = read_settings(self._task_vars, self._templar, self._task)
            secrets.update(settings.secrets)
            result.update(self._phase(settings, secrets))
        except WindowError as exc:
            result.update(failed=True, msg=str(exc))
        if result.get("report") and not result.get("msg"):
            result["msg"] = "; ".join(result["report"])
        result = masked(result, secrets)
        if self._task.args.get("phase") in SAYS:
            # What was done to each server, as it is done: no task of the role's is needed to say it.
            for line in result.get("report") or []:
                display.display(messages.host_says(self._task_vars.get("inventory_hostname"), line))
        return result

    def _phase(self, settings, secrets):
        notify = display.display
        store = open_store(settings.state_file, settings.state_url, settings.lock_timeout,
                           lambda message: notify(messages.host_says(settings.host, message)))
        journal = Journal(store, settings)
        calls = calls_for(self._connection.transport, self._run_module, secrets, notify, in_process=settings.in_process,
                          become=self._play_context.become)
        if settings.phase == "status":
            return Status(settings, journal, calls).request()
        if settings.phase == "enter":
            work = checked_work(self._task.args.get("work_tasks"), self._loader, self._task)
            return Enter(settings, journal, calls).request(work_tasks=work)
        if settings.phase == "exit":
            return Exit(settings, journal, calls).request()
        requested = self._task.args.get("requested") or {}
        if requested.get("phase") not in REQUESTS:
            raise WindowError(messages.confirm_needs_a_request())
        phase = REQUESTS[requested["phase"]](settings, journal, calls)
        return phase.confirm(from_result(requested.get("plan")), requested)

    def _run_module(self, target, options, check_mode):
        """The module of `target` on the delegate host, in check mode or not."""
        saved = self._task.check_mode
        self._task.check_mode = check_mode
        try:
            return self._execute_module(module_name=module_name(target.service), module_args=options,
                                        task_vars=self._task_vars)
        finally:
            self._task.check_mode = saved


def open_store(state_file, state_url, lock_timeout, notify):
    """The store the role's window_state_file and window_state_url name: PostgreSQL for a URL,
    the state file otherwise."""
    # Both stores are imported at the top of this module, which the controller loads before it forks
    # a worker per host and task: imported in each worker, psycopg alone cost 0.3 s per task.
    if state_url and state_file:
        raise WindowError(store_messages.both_stores())
    if state_url:
        return PostgresStore.of(state_url, lock_timeout=lock_timeout, notify=notify)
    return StateFile.of(state_file, lock_timeout=lock_timeout, notify=notify)


def masked(result, secrets):
    """The result without a secret in it. Record entries are kept as they are: they hold no
    secret (URLs are normalized without user information or query), and a password that is also a
    word of a URL (admin, in /arcgis/admin) would change the key a server is found by."""
    secrets = {secret for secret in secrets if secret}
    if not secrets:
        return result
    kept = remove_values(result, secrets)
    for key in ("record", "ansible_facts", "ansible_stats"):
        if key in result:
            kept[key] = result[key]
    for item, original in zip(kept.get("plan") or [], result.get("plan") or []):
        item.update((key, original[key]) for key in ("key", "window", "entry", "ended") if key in original)
    return kept
