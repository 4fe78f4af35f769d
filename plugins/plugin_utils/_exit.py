# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""Exit, for one host: hand each server on to the hosts still in its window, or, as the last of
them, ask for its mode before the window without waiting; then, in confirm, wait until every
put-back has taken effect and close the records."""

from __future__ import annotations

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _record as record
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._decide import leaving_entry, plan_exit
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import phases as messages
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._phase import Phase
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._plan import CLOSED_ALREADY, PUT_BACK


class Exit(Phase):
    name = "exit"

    def request(self):
        self.journal.check(create=False)
        if not self.settings.targets:
            return self.no_service()
        plan = self.leave_each_window()
        self.ask_for_each_mode_before_the_window(plan)
        unreadable = self.read_the_modes_left_alone(plan)
        return self.requested(plan, unreadable=unreadable or None)

    def confirm(self, plan, requested):
        self.journal.check(create=False)
        self.wait_for_each_put_back(plan)
        self.try_again_what_may_pass(plan, wait=True)
        self.close_records(plan)
        return self.exit_ending(plan, requested)

    # -- the request's steps ------------------------------------------------------------------------
    def leave_each_window(self):
        """In one step for all of the host's services: hand a server on to the other hosts that
        hold it open, or, as its last holder, mark it as on its way back (no host joins it from
        then on)."""
        with self.journal.changing() as records:
            # Once the lock is held: the put-back noted now goes out soon after (Journal.note_sending).
            now = record.utc_now()
            entries = {target.key: self.journal.chosen(records, target) for target in self.settings.targets}
            plan = plan_exit(self.settings.targets, entries, self.settings, now)
            for item in plan:
                written = leaving_entry(item, self.host)
                if written is not None:
                    item.entry = written
                if item.entry is not None and not record.same(records.servers.get(item.key), item.entry):
                    # Also a copy from AWX's window_records or the fact that is later than the
                    # store's, or the only one: the store takes it.
                    self.journal.put(records, self.target(item), item.entry)
        return plan

    def ask_for_each_mode_before_the_window(self, plan):
        if self.check_mode:
            return
        calls = {item.service: self.asking(item, item.target_mode) for item in plan if item.action == PUT_BACK}
        self.run_all(calls, "put back", settling=plan)
        self.try_again_what_may_pass(plan, wait=False)

    def read_the_modes_left_alone(self, plan):
        """The modes of the servers exit does not write to, for the summary and to tell a closed
        record that is not this window's; in a dry run, of every server, to tell what a real run
        would do to it."""
        unreadable = {}
        for item in plan:
            if item.action == PUT_BACK and self.check_mode and (item.entry or {}).get("dry_run"):
                # A whole window's dry run: its enter switched nothing, and would have put the server
                # in its maintenance mode.
                item.mode_now = item.entry["maintenance_mode"]
        read = [self.target(item) for item in plan if item.action != PUT_BACK or self.check_mode and not item.mode_now]
        for name, outcome in self.read_modes(read).items():
            item = next(item for item in plan if item.service == name)
            item.mode_now = outcome.get("previous_mode")
            if outcome.get("failed"):
                unreadable[name] = outcome["msg"]
        for item in plan:
            if self.check_mode and item.action == PUT_BACK and item.mode_now is not None:
                item.previous_mode, item.changed = item.mode_now, item.mode_now != item.target_mode
        return unreadable

    # -- confirm's steps ------------------------------------------------------------------------------
    def wait_for_each_put_back(self, plan):
        if self.check_mode:
            return
        calls = {item.service: self.following(item, item.target_mode) for item in plan
                 if item.action == PUT_BACK and item.changed and not item.failed}
        self.run_all(calls, "back")

    def exit_ending(self, plan, requested):
        """The ending of exit: failed while a server is left in maintenance that should not be, or
        the record could not tell which; warned of open records this exit does not handle."""
        outcome = self.ending(plan, requested)
        stale = [item for item in plan if item.action == CLOSED_ALREADY
                 and record.closed_but_in_maintenance(item.entry, item.mode_now)]
        problems = messages.exit_problems(plan, stale, self.host, self.journal.location, self.settings.no_record,
                                          {target.name: target.normal_mode for target in self.settings.targets},
                                          requested.get("unreadable") or {})
        if self.settings.failed_work:
            problems = messages.work_failed(self.host, self.settings.failed_work, outcome["report"], problems)
        if problems:
            outcome.update(failed=True, msg=problems)
        warnings = messages.unhandled(self.journal.other_open_entries(), self.host,
                                      [target.name for target in self.settings.targets])
        if warnings:
            outcome["warnings"] = warnings
        return outcome
