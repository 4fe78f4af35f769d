# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""What every phase of the window shares: its settings, its record journal and its calls to the
servers, reading the servers' modes, and the result it gives (the report, the summary's rows,
the diff and the record it publishes)."""

from __future__ import annotations

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _record as record
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import RecordReplaced, WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._journal import closed_in_window
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import calls as calls_messages, report
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import phases as messages
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._plan import (
    CLOSE, PUT_BACK, to_result)
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._services import SERVICES, variable


class Phase:
    """One host's phase: `settings` (Settings), `journal` (Journal), `calls` (ServerCalls)."""

    name = None

    def __init__(self, settings, journal, calls):
        self.settings = settings
        self.journal = journal
        self.calls = calls
        self.host = settings.host
        self.check_mode = settings.check_mode

    def target(self, item):
        return self.settings.target(item.service)

    def read_modes(self, targets):
        """Each target's mode, read as a dry run of the module reads it: name -> its result."""
        calls = {target.name: (lambda target=target: self.calls.converge(
            target, target.options(target.maintenance_mode), check_mode=True)) for target in targets}
        return self.run_all(calls, "read")

    def run_all(self, calls, step, settling=()):
        """Run the calls of one step at once, saying while they wait what each waits for: first,
        for the items of `settling`, for a write on the record to end (an earlier run's, or a failed
        enter's own)."""
        earlier = {item.service: item.entry["requested"] for item in settling
                   if item.noted_ahead is None and record.in_flight(item.entry)}
        return self.calls.run_all(calls, self.host, lambda name: calls_messages.waiting_for(
            step, self.settings.target(name).url, earlier.get(name)))

    def asking(self, item, mode, wait=False):
        """A call that asks for `mode` (the write noted on the record before it goes out, and the
        server's job once it answers), and keeps its outcome in `item`. A write an earlier run
        left on the record is let end first; the write this phase noted ahead (`item.noted_ahead`)
        is this run's own, not yet sent."""
        target = self.target(item)
        settle = None if item.noted_ahead is not None else record.settle_handle(item.entry, target.wait_timeout)

        def call():
            # On a delegate host the module starts and reads the mode between the note and its
            # write: a note made ahead is not kept, it is made again just before the module runs.
            on_write = self.journal.on_write(target, item, keep_ahead=self.calls.runs_here)
            try:
                outcome = self.calls.converge(target, target.options(mode, wait=wait), settle=settle,
                                              on_write=on_write)
                self.journal.forget_unsent(target, item, on_write.stages)
            except RecordReplaced as exc:
                if item.action in (PUT_BACK, CLOSE) and closed_in_window(exc.current, item):
                    # Another run of this exit (a worker that kill -9 left running) put the server
                    # back and closed the record meanwhile: that closing stays.
                    item.entry = exc.current
                    outcome = {"changed": False, "mode": mode, "previous_mode": mode}
                else:
                    outcome = {"failed": True, "msg": messages.replaced(exc, target, "sending" in on_write.stages)}
            except WindowError as exc:
                outcome = {"failed": True, "msg": messages.replaced(exc, target, "sending" in on_write.stages)}
            item.take(outcome)
            return outcome
        return call

    def following(self, item, mode):
        """A call that waits for the switch `item` asked for (or another host's, for a server it
        joined) to take effect; what this host changed stays what it asked for."""
        target = self.target(item)

        def call():
            outcome = self.calls.follow(target, target.options(mode), item.pending_switch, item.previous_mode)
            if not outcome.get("failed"):
                outcome = dict(outcome, changed=item.changed)
            item.take(outcome)
            return outcome
        return call

    def try_again_what_may_pass(self, plan, wait):
        """A fault that may pass gets one more try, a refusal does not: a refused login tried again
        only brings an account lockout nearer."""
        if self.check_mode:
            return
        for item in plan:
            if item.failed and item.may_pass and item.tries < 2:
                item.again()
                item.tries = 2
                self.asking(item, item.target_mode, wait=wait)()

    def close_records(self, plan):
        """Close the entries this phase put back or left as they were, in one transaction; a dry
        run only says so."""
        now = record.utc_now()
        closings = [(item, (now, messages.closing_note(item, self.host))) for item in plan
                    if item.action in (PUT_BACK, CLOSE) and not item.failed and item.entry is not None]
        if self.check_mode:
            for item, closing in closings:
                item.entry = record.closed(item.entry, *closing)
            return
        if closings:
            refused = self.journal.note_each([(self.target(item), item, closing, {}) for item, closing in closings])
            for item, _closing in closings:
                if item.service in refused:
                    item.failed, item.msg = True, str(refused[item.service])

    # -- results ---------------------------------------------------------------------------------
    def requested(self, plan, **extra):
        """The result of enter or exit, which confirm takes as `requested`: what the phase asked
        for, and the record, published now, before confirm waits, so that a job cancelled or timed
        out during the wait leaves it in AWX's fact storage. What became of each server, the diff
        and the change are confirm's to tell, once for each switch."""
        outcome = {"changed": False, "phase": self.name, "plan": to_result(plan), "state_file": self.journal.location}
        outcome.update((key, value) for key, value in extra.items() if value is not None)
        outcome.update(self.published(plan))
        return outcome

    def ending(self, plan, requested):
        """How each service ended, for the report, the summary and the next phase."""
        outcome = {key: requested[key] for key in ("work_tasks", "state_file") if key in requested}
        outcome["report"] = [messages.ending_line(item, self.host, self.check_mode) for item in plan]
        if requested.get("made"):
            outcome["report"].insert(0, messages.record_made(requested["made"]))
        outcome["rows"] = [self.row(item.service, item.entry, report.mode_now(item),
                                    report.action(item, self.check_mode)) for item in plan]
        outcome["changed"] = any(item.changed for item in plan)
        outcome["diff"] = [diff for diff in (messages.diff(item) for item in plan if item.changed) if diff]
        outcome.update(self.published(plan))
        return outcome

    def published(self, plan):
        """The record as the play and AWX carry it: the fact window_record, and set_stats."""
        entries = {item.service: item.entry for item in plan if item.entry}
        if self.check_mode:
            # What a dry run would record reaches the dry run's exit as a fact marked so, which a
            # real run passes over, and never a later AWX node: it is no record.
            entries = {name: dict(entry, dry_run=True) for name, entry in entries.items()}
            return {"record": entries, "ansible_facts": {"window_record": entries}}
        published = {"record": entries, "ansible_facts": {"window_record": entries}}
        if self.settings.set_stats and entries:
            published["ansible_stats"] = {"data": {"window_records": {self.host: entries}}, "per_host": False,
                                          "aggregate": True}
        return published

    def no_service(self, **extra):
        outcome = {"changed": False, "phase": self.name, "plan": [], "rows": [], "state_file": self.journal.location,
                   "report": [messages.no_service(variable(service, "url") for service in SERVICES.values())]}
        outcome.update((key, value) for key, value in extra.items() if value is not None)
        return outcome

    def row(self, service, entry, mode_now, action):
        return {"host": self.host, "service": service, "mode_before": (entry or {}).get("mode_before"),
                "mode_now": mode_now, "action": action, "comment": (entry or {}).get("comment")}


def mode_of(outcome):
    """The mode a read found."""
    return outcome.get("previous_mode") or outcome.get("mode")
