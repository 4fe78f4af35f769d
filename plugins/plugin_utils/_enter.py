# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""Enter, for one host: read every service, record each server's mode before the window, ask for
each maintenance mode without waiting; then, in confirm, wait until every switch has taken
effect. A failed switch puts back what this enter switched."""

from __future__ import annotations

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _record as record
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._decide import (
    closed_before_any_switch,
    plan_back,
    plan_enter,
)
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import ModesStale, WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import phases as messages
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._phase import Phase, mode_of
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._plan import (
    HANDED_ON, JOINED, KEPT, PUT_BACK, SWITCH)

# Reads of the modes before enter gives up on a record that other runs keep changing meanwhile.
MODE_READS = 3


class Enter(Phase):
    name = "enter"

    def request(self, work_tasks=None):
        """Enter's request step; `work_tasks` is the work's tasks file, checked already."""
        made = not self.check_mode and not self.journal.store.exists()
        self.journal.check()
        if not self.settings.targets:
            return self.no_service(work_tasks=work_tasks)
        plan = self.record_each_mode_before_the_window()
        self.ask_for_each_maintenance_mode(plan)
        return self.requested(plan, work_tasks=work_tasks, made=self.journal.location if made else None)

    def confirm(self, plan, requested):
        self.journal.check(create=False)
        self.wait_for_each_switch(plan)
        self.note_each_switch_done(plan)
        failed = [item for item in plan if item.failed]
        if not failed:
            return self.ending(plan, requested)
        message = self.put_back_what_this_enter_switched(plan, failed)
        return dict(self.ending(plan, requested), failed=True, msg=message)

    # -- the request's steps ------------------------------------------------------------------------
    def entries_as_they_are(self):
        """The entries before the modes are read: only an entry nobody wrote to since can a mode
        read now show ended (_decide.opening)."""
        records = self.journal.read()
        return {target.key: self.journal.chosen(records, target) for target in self.settings.targets}

    def read_every_service(self):
        """Each service's mode; if one cannot be read, nothing on this host is switched, and a
        closed entry tells an exit after this enter that it switched nothing."""
        live = self.read_modes(self.settings.targets)
        if not any(outcome.get("failed") for outcome in live.values()):
            return {name: mode_of(outcome) for name, outcome in live.items()}
        now = record.utc_now()
        with self.journal.changing() as records:
            for target in self.settings.targets:
                entry = closed_before_any_switch(target, self.journal.chosen(records, target),
                                                 mode_of(live[target.name]), self.settings, now)
                if entry is not None:
                    self.journal.put(records, target, entry)
        raise WindowError(messages.enter_unreadable(self.host, self.settings.targets, live))

    def record_each_mode_before_the_window(self):
        """Read every service, then write ahead, in one step for all of the host's services: each
        server's entry is opened, joined or kept before any write reaches a server. Modes that an
        exit may have changed since they were read are read again, a few times at most."""
        for _attempt in range(MODE_READS):
            known = self.entries_as_they_are()
            live = self.read_every_service()
            try:
                return self.open_each_window(known, live)
            except ModesStale as stale:
                changing = stale.target
        raise WindowError(messages.record_kept_changing(self.host, changing, MODE_READS))

    def open_each_window(self, known, live):
        now = record.utc_now()
        with self.journal.changing() as records:
            entries = {target.key: self.journal.chosen(records, target) for target in self.settings.targets}
            plan = plan_enter(self.settings.targets, entries, known, live, self.settings, now)
            for item in plan:
                self.journal.put(records, self.target(item), item.entry)
        return plan

    def ask_for_each_maintenance_mode(self, plan):
        if self.check_mode:
            # What a real run would send: a write to each server it would switch.
            for item in plan:
                if item.action == SWITCH:
                    item.changed = True
            return
        calls = {item.service: self.asking(item, item.target_mode) for item in plan if item.action == SWITCH}
        self.run_all(calls, "switch")

    # -- confirm's steps ------------------------------------------------------------------------------
    def wait_for_each_switch(self, plan):
        """A switch this host asked for, or one a server this host joined (or kept) may still be
        making for another host or run; a dry run waits for none."""
        if self.check_mode:
            return
        calls = {}
        for item in plan:
            still_switching = item.action in (JOINED, KEPT) and item.mode_now != item.target_mode
            if not item.failed and (item.changed or still_switching):
                calls[item.service] = self.following(item, item.target_mode)
        self.run_all(calls, "switched")

    def note_each_switch_done(self, plan):
        done = [item for item in plan if item.action == SWITCH and not item.failed]
        if self.check_mode or not done:
            return
        try:
            refused = self.journal.note_each([(self.target(item), item, None, {"requested": None, "handle": None})
                                              for item in done])
        except WindowError as exc:
            refused = {item.service: exc for item in done}
        for item in done:
            if item.service in refused:
                item.failed, item.msg = True, messages.replaced(refused[item.service], self.target(item), True)

    def put_back_what_this_enter_switched(self, plan, failed):
        """The work must not run on this host, and what this enter switched goes back now: this
        host leaves the servers it opened or joined, and the last holder of one puts it back.
        Returns the host's message."""
        # What failed, as it failed: a failed service goes back too, which writes over its outcome.
        failures = [(item.service, item.msg) for item in failed]
        targets = {target.name: target for target in self.settings.targets}
        with self.journal.changing() as records:
            back = plan_back(plan, {item.key: records.servers.get(item.key) for item in plan}, targets, self.settings)
            for item in plan:
                if item.action == HANDED_ON:
                    self.journal.put(records, self.target(item), item.entry)
        for item in back:
            item.again("changed")
        self.run_all({item.service: self.asking(item, item.target_mode, wait=True) for item in back
                      if item.action == PUT_BACK}, "back", settling=back)
        self.close_records(back)
        return messages.enter_failed(self.host, plan, failures, back)
