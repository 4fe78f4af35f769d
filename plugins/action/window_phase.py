# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine of the role opsmodes.maintenance.window: one phase of a maintenance window for one
host, with the record of each server's mode before the window kept durable on the controller
(plugins/plugin_utils/_record.py says what is recorded and why).

Enter and exit only ask for their switches; `confirm`, run once every host of the batch has
asked, waits for them. So a batch of forks switches at once, into maintenance and out of it.
"""

from __future__ import annotations

import getpass
import math
import os
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import nullcontext

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.playbook.task import Task
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.opsmodes.maintenance.plugins.module_utils._base import ModeFailure, converge, follow
from ansible_collections.opsmodes.maintenance.plugins.module_utils._transport import HAS_REQUESTS
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _record as record, _window as words
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._record import RecordReplaced, WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._store import drop_legacy, open_store
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._services import SERVICES, module_name, variable
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._window import (
    CLOSE,
    CLOSED_ALREADY,
    HANDED_ON,
    JOINED,
    KEPT,
    LEFT,
    NO_RECORD,
    NOT_HELD,
    ORPHANED,
    PUT_BACK,
    SWITCH,
)

try:
    from ansible.executor.module_common import _apply_action_arg_defaults
except ImportError:  # ansible-core before 2.19
    from ansible.executor.module_common import get_action_args_with_defaults

    def _apply_action_arg_defaults(action, task, action_args, templar):
        return get_action_args_with_defaults(action, action_args, task.module_defaults, templar,
                                             action_groups=task._parent._play._action_groups)

display = Display()

PHASES = ("enter", "exit", "confirm", "status")
NO_RECORD_CHOICES = ("fail", "normal")
# meta actions that would end the work's host, batch, play or the role: exit would not run.
WORK_MUST_NOT = {"end_host": "host", "end_batch": "batch", "end_play": "play", "end_role": "role"}
# A wait says what it waits for after this many seconds, and again every so often.
NOTICE_FIRST = 5.0
NOTICE_EVERY = 15.0
# How often a delegate host is asked whether a switch another host asked for has taken effect.
DELEGATE_POLL_SECONDS = 2.0
DEFAULT_LOCK_TIMEOUT = 60.0


class Target:
    """One service of this host: its kind, its server and the module options to reach it."""

    def __init__(self, service, params):
        self.service = service
        self.name = service.name
        self.params = params
        self.url = params["url"]
        self.key = record.server_key(service.name, params["url"])

    def with_mode(self, mode, **changes):
        return dict(self.params, mode=mode, **changes)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("phase", "work_tasks", "requested"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        self.task_vars = task_vars or {}
        self._secrets = set()
        self.host = self.task_vars.get("inventory_hostname")
        self.check_mode = bool(self._task.check_mode)
        try:
            phase = self._task.args.get("phase")
            if phase not in PHASES:
                raise WindowError("phase must be one of %s, got %r" % (", ".join(PHASES), phase))
            self._read_settings()
            result.update(getattr(self, "_" + phase)())
        except WindowError as exc:
            result.update(failed=True, msg=str(exc))
        if result.get("report") and not result.get("msg"):
            result["msg"] = "; ".join(result["report"])
        return self._masked(result)

    def _masked(self, result):
        """The result without a secret in it. Record entries are kept as they are: they hold no
        secret (URLs are normalized without user information or query), and a password that is
        also a word of a URL (admin, in /arcgis/admin) would change the key a server is found by."""
        if not self._secrets:
            return result
        masked = remove_values(result, self._secrets)
        for key in ("record", "ansible_facts", "ansible_stats"):
            if key in result:
                masked[key] = result[key]
        for item, original in zip(masked.get("plan") or [], result.get("plan") or []):
            item.update((key, original[key]) for key in ("key", "window", "entry", "ended") if key in original)
        return masked

    # -- the phases ------------------------------------------------------------------------------------
    def _enter(self):
        """Read every service, record its mode before the window, then ask for its maintenance
        mode without waiting: `confirm` waits."""
        work = self._checked_work(self._task.args.get("work_tasks"))
        self._check_store()
        if not self.targets:
            return self._no_service(work_tasks=work)
        # The entries as they are before the modes are read: only an entry that nobody wrote to
        # since can a mode read now show ended.
        records = self.store.read(self._keys())
        known = {t.key: self._chosen(records, t) for t in self.targets}
        live = self._read_modes_before_enter()
        plan = self._open_records(live, known)
        if not self.check_mode:
            self._ask_for_switches(plan)
        return self._outcome("enter", plan, work_tasks=work)

    def _exit(self):
        """Hand each server on to the hosts that still hold it open, or, for the last of them, ask
        for the mode before the window without waiting: `confirm` waits, then closes the record."""
        self._check_store()
        if not self.targets:
            return self._no_service()
        plan = self._leave_records()
        if not self.check_mode:
            self._ask_for_put_backs(plan)
        self._read_untouched_modes(plan)
        return self._outcome("exit", plan)

    def _confirm(self):
        """Wait for what this host's enter or exit asked for (the `requested` argument is its
        result), then say how each service ended. A failed switch into maintenance puts back what
        that enter switched; a failed put-back leaves the record open for the next exit."""
        requested = self._task.args.get("requested") or {}
        phase, plan = requested.get("phase"), requested.get("plan") or []
        if phase not in ("enter", "exit"):
            raise WindowError("confirm needs the registered result of enter or exit as requested")
        self._check_store(create=False)
        if phase == "exit":
            self._confirm_put_backs(plan)
            return self._ending(phase, plan, requested)
        self._confirm_switches(plan)
        failed = [item for item in plan if item.get("failed")]
        if not failed:
            return self._ending(phase, plan, requested)
        # What this enter switched goes back; the record, open where that failed, is published.
        message = self._put_back_after_failed_enter(plan, failed)
        return dict(self._ending(phase, plan, requested), failed=True, msg=message)

    def _status(self):
        """Each service's live mode beside its record; writes nothing."""
        if not self.targets:
            return self._no_service()
        records = self.store.read(self._keys())
        live = self._read_modes(self.targets)
        now = record.utc_now()
        entries = {t.name: self._chosen(records, t) for t in self.targets}
        rows, report = [], []
        for target in self.targets:
            entry, outcome = entries[target.name], live[target.name]
            line, agreement = words.status_line(target, entry, outcome, self.host)
            report.append(line)
            rows.append(self._row(target, entry, outcome.get("previous_mode"), agreement))
        overdue = {name: entry for name, entry in entries.items() if record.overdue(entry, now)}
        unexplained = [t.name for t in self.targets if record.unexplained_maintenance(
            entries[t.name], live[t.name].get("previous_mode"), self._maintenance(t))]
        strangers = self._strangers()
        outcome = {"changed": False, "report": report, "rows": rows, "state_file": self.store.location,
                   "record": {name: entry for name, entry in entries.items() if entry},
                   "overdue": sorted(overdue), "unexplained": unexplained, "strangers": strangers,
                   "failed": any(r.get("failed") for r in live.values())}
        alarms = words.status_alarms(self.host, overdue, unexplained, strangers, self.store.location)
        if alarms:
            outcome.update(failed=True, msg=alarms)
        return outcome

    def _strangers(self):
        """Open entries of the state file that no host of the inventory holds, named once, by the
        play's first host: nobody would exit them."""
        if self.host != (self.task_vars.get("ansible_play_hosts_all") or [self.host])[0]:
            return []
        records = self.store.read()
        strangers = [entry for entry in records.servers.values()
                     if record.is_open(entry) and not set(entry.get("holders") or []) & self.inventory]
        for host, entries in records.legacy.items():
            if host not in self.inventory:
                strangers += [dict(e, holders=[host], server="%s of %s" % (name, host)) for name, e in entries.items()
                              if record.is_open(e)]
        return sorted(strangers, key=lambda entry: entry["server"])

    # -- enter's steps -------------------------------------------------------------------------------
    def _read_modes_before_enter(self):
        """If one service cannot be read, nothing on this host is switched."""
        live = self._read_modes(self.targets)
        unreadable = [t for t in self.targets if live[t.name].get("failed")]
        if not unreadable:
            return live
        self._note_failed_enter(live)
        raise WindowError(words.enter_unreadable(self.host, self.targets, live))

    def _note_failed_enter(self, live):
        """So that an exit after this failed enter finds a closed record rather than none."""
        now = record.utc_now()
        with self._records() as records:
            for target in self.targets:
                current = self._chosen(records, target)
                if not record.is_open(current):
                    opened = record.new_entry(target.name, target.url, _mode(live[target.name]),
                                              self._maintenance(target), self.host, self._by(), now, replaces=current)
                    self._put(records, target, record.closed(opened, now, "enter failed before any switch"))

    def _open_records(self, live, known):
        """Write ahead, in one step for all of the host's services: each server's entry is opened,
        joined or kept before any write reaches a server."""
        now = record.utc_now()
        plan = []
        with self._records() as records:
            decisions = [self._opening(target, self._chosen(records, target), _mode(live[target.name]),
                                       known[target.key], now) for target in self.targets]
            for target, (entry, action, ended) in zip(self.targets, decisions):
                self._put(records, target, entry)
                plan.append({"service": target.name, "key": target.key, "window": entry["window"], "action": action,
                             "mode_now": _mode(live[target.name]), "entry": entry, "ended": ended})
        return plan

    def _opening(self, target, current, mode_now, known, now):
        """(entry, action, ended): the server's entry after this enter, what this host does to it,
        and the earlier open entry found ended outside its window, if any. `known` is the entry as
        it was before `mode_now` was read: one written since (opened, or its switch noted or
        confirmed, by another host or run sharing the server) tells more than that read, which may
        have come before the switch."""
        wanted = self._maintenance(target)
        ended = None
        if record.is_open(current):
            if current["maintenance_mode"] != wanted:
                raise WindowError(words.other_maintenance_mode(target, current, wanted, self.host))
            if current.get("leaving"):
                raise WindowError(words.exit_under_way(target, current, self.host))
            holders = current.get("holders") or []
            switching = record.still_switching(current, now, target.params["wait_timeout"])
            if mode_now == wanted or switching or not record.same(current, known):
                if self.host in holders:
                    return current, KEPT, None
                return record.joined(current, self.host), JOINED, None
            note = "ended outside this window: %s found the server in %s at enter" % (self.host, mode_now)
            ended = current = record.closed(current, now, note)
        entry = record.new_entry(target.name, target.url, mode_now, wanted, self.host, self._by(), now,
                                 replaces=current, max_open=self.max_open)
        if mode_now == wanted:
            return entry, LEFT, ended
        # The switch is on the record from the start: a host sharing the server that reads it
        # before the switch shows joins this window instead of calling it ended.
        return dict(entry, requested=now), SWITCH, ended

    def _ask_for_switches(self, plan):
        calls = {}
        for item in plan:
            if item["action"] == SWITCH:
                target = self._target(item["service"])
                calls[item["service"]] = self._asking(target, item, self._maintenance(target))
        self._run_all(calls, lambda name: "asking for the maintenance mode of %s" % name)

    # -- exit's steps -------------------------------------------------------------------------------
    def _leave_records(self):
        """In one step for all of the host's services: hand a server on to the other hosts that
        hold it open, or, if this host is the last, plan to put back its mode before the window."""
        plan = []
        with self._records() as records:
            for target in self.targets:
                current = self._chosen(records, target)
                item = {"service": target.name, "key": target.key, "entry": current}
                item["action"], item["target_mode"] = self._leaving(target, current)
                if item["action"] == HANDED_ON:
                    item["entry"] = record.left(current, self.host)
                    self._put(records, target, item["entry"])
                elif item["action"] in (PUT_BACK, CLOSE) and current is not None \
                        and self.host not in current["holders"]:
                    # Taken over from holders that are gone from the inventory: this host is the
                    # window's holder from here on, and the record says whose it was.
                    item["taken_over"] = current["holders"]
                    item["entry"] = record.advanced(current, holders=[self.host], leaving=self.host,
                                                    taken_over=current["holders"])
                    self._put(records, target, item["entry"])
                elif item["action"] in (PUT_BACK, CLOSE) and current is not None:
                    # From here on no host joins this window: the server is on its way back. A copy
                    # from AWX's window_records or the fact that is later than the state file's (or
                    # the only one) is what the state file takes.
                    item["entry"] = record.advanced(current, leaving=self.host)
                    self._put(records, target, item["entry"])
                elif current is not None and not record.same(records.servers.get(target.key), current):
                    self._put(records, target, current)
                if current is not None:
                    item["window"] = current["window"]
                plan.append(item)
        return plan

    def _leaving(self, target, entry):
        """(action, the mode to put back or None)."""
        if entry is None:
            return (PUT_BACK, self._normal(target)) if self.no_record == "normal" else (NO_RECORD, None)
        if not record.is_open(entry):
            return CLOSED_ALREADY, None
        holders = set(entry.get("holders") or [])
        if self.host not in holders:
            # A window this host left, or one that hosts of the inventory still hold, is theirs to
            # put back. One held only by hosts gone from it (renamed, removed) has nobody to put
            # it back unless this exit takes it over: a job slice's inventory has only its own
            # hosts, so that cannot be guessed.
            if self.host in (entry.get("left") or []) or holders & self.inventory:
                return NOT_HELD, None
            if not holders <= self.take_over:
                return ORPHANED, None
        elif holders - {self.host}:
            return HANDED_ON, None
        mode = record.target_on_exit(entry)
        return (PUT_BACK, mode) if mode else (CLOSE, None)

    def _ask_for_put_backs(self, plan):
        calls = {}
        for item in plan:
            if item["action"] == PUT_BACK:
                calls[item["service"]] = self._asking(self._target(item["service"]), item, item["target_mode"])
        self._run_all(calls, lambda name: "asking for the mode before the window of %s" % name)
        for item in plan:
            # A fault that may pass gets one more try, a refusal does not: a refused login tried
            # again only brings an account lockout nearer.
            if item.get("failed") and item.get("may_pass"):
                item.update(failed=None, msg=None, tries=2)
                self._asking(self._target(item["service"]), item, item["target_mode"])()

    def _read_untouched_modes(self, plan):
        """The modes of the services exit does not write to, for the summary and to tell a closed
        record that is not this window's."""
        untouched = [self._target(item["service"]) for item in plan if item["action"] != PUT_BACK]
        for name, outcome in self._read_modes(untouched).items():
            item = next(i for i in plan if i["service"] == name)
            item["mode_now"] = outcome.get("previous_mode")

    # -- confirm's steps ----------------------------------------------------------------------------
    def _confirm_switches(self, plan):
        calls = {}
        for item in plan:
            target = self._target(item["service"])
            if item.get("failed"):
                continue
            # A server this host joined (or kept) may still be switching for another host or run.
            still_switching = item["action"] in (JOINED, KEPT) and item["mode_now"] != self._maintenance(target)
            if item.get("changed") or still_switching:
                calls[item["service"]] = self._following(target, item, self._maintenance(target))
        self._run_all(calls, lambda name: "%s to reach its maintenance mode" % name)
        for item in plan:
            if item["action"] != SWITCH or item.get("failed") or self.check_mode:
                continue
            try:
                self._note(self._target(item["service"]), item, requested=None, handle=None)
            except WindowError as exc:
                item.update(failed=True, msg=words.replaced(exc, self._target(item["service"]), True))

    def _confirm_put_backs(self, plan):
        calls = {item["service"]: self._following(self._target(item["service"]), item, item["target_mode"])
                 for item in plan if item["action"] == PUT_BACK and item.get("changed") and not item.get("failed")}
        self._run_all(calls, lambda name: "%s to reach its mode before the window" % name)
        for item in plan:
            if item.get("failed") and item.get("may_pass") and item.get("tries", 1) < 2:
                item.update(failed=None, msg=None, tries=2)
                self._asking(self._target(item["service"]), item, item["target_mode"], wait=True)()
        self._close_records(plan)

    def _close_records(self, plan):
        now = record.utc_now()
        for item in plan:
            if item["action"] not in (PUT_BACK, CLOSE) or item.get("failed") or item.get("entry") is None:
                continue
            note = words.closing_note(item, self.host)
            if self.check_mode:
                item["entry"] = record.closed(item["entry"], now, note)
                continue
            try:
                item["entry"] = self._note(self._target(item["service"]), item, closing=(now, note))
            except RecordReplaced as exc:
                item.update(failed=True, msg=str(exc))

    def _put_back_after_failed_enter(self, plan, failed):
        """The work must not run on this host, and what this enter switched goes back now: this
        host leaves the servers it opened or joined, and the last holder of one puts it back. An
        entry kept from an earlier enter is that window's, not this one's."""
        # What failed, as it failed: a failed service goes back too, which writes over its outcome.
        failures = [(item["service"], item.get("msg")) for item in failed]
        ours = [item for item in plan if item["action"] in (SWITCH, LEFT, JOINED)]
        with self._records() as records:
            for item in ours:
                target = self._target(item["service"])
                current = records.servers.get(target.key)
                if current is None or current["window"] != item["window"] or not record.is_open(current):
                    item["back"] = "left"
                    continue
                item["entry"] = current
                item["action"], item["target_mode"] = self._leaving(target, current)
                if item["action"] == HANDED_ON:
                    item["entry"] = record.left(current, self.host)
                    self._put(records, target, item["entry"])
        back = [item for item in ours if item["action"] in (PUT_BACK, CLOSE)]
        for item in back:
            item.update(failed=None, msg=None, changed=None)
            if item["action"] == PUT_BACK:
                target = self._target(item["service"])
                self._asking(target, item, item["target_mode"], wait=True)()
        self._close_records(back)
        return words.enter_failed(self.host, plan, failures, back)

    # -- talking to the servers -----------------------------------------------------------------------
    def _in_process(self):
        """The modules' own code runs here, a thread per service, when the calls would run on the
        controller anyway; elsewhere (another delegate host, no requests here) the modules run."""
        return HAS_REQUESTS and self._connection.transport in ("local", "ansible.builtin.local")

    def _read_modes(self, targets):
        calls = {t.name: (lambda t=t: self._converge(t, self._maintenance(t), check_mode=True)) for t in targets}
        return self._run_all(calls, lambda name: "reading the mode of %s" % name)

    def _asking(self, target, item, mode, wait=False):
        """A call that asks for `mode` (the write noted in the record before it goes out, and the
        server's job once it answers), and records its outcome in `item`. A write an earlier run
        left on the record is let end first; the switch enter put on the record when it opened the
        entry is this run's own, not yet sent."""
        entry = item.get("entry")
        settle = None if item["action"] == SWITCH else record.settle_handle(entry, target.params["wait_timeout"])

        stages = []

        def on_write(stage, handle):
            if entry is None:
                return
            stages.append(stage)
            if stage == "sending":
                self._note(target, item, requested=record.utc_now(), handle=None)
            elif stage == "unsent":
                self._note(target, item, requested=None, handle=None)
            elif isinstance(handle, str) and handle:
                try:
                    self._note(target, item, handle=handle)
                except WindowError as exc:
                    # The write went out all the same: it is followed, and confirm says what
                    # became of the record.
                    item["record_lost"] = str(exc)

        def call():
            try:
                outcome = self._converge(target, mode, wait=wait, settle=settle, on_write=on_write)
                if item["action"] == SWITCH and "sending" not in stages and record.in_flight(item.get("entry")):
                    # Nothing went out (the server had the mode, or the read failed): the switch
                    # enter put on the record when it opened it did not happen. A write an earlier
                    # run left on the record stays there until it is seen to end.
                    self._note(target, item, requested=None, handle=None)
            except RecordReplaced as exc:
                if item["action"] in (PUT_BACK, CLOSE) and _closed_in_window(exc.current, item):
                    # Another run of this exit (a worker that kill -9 left running) put the server
                    # back and closed the record meanwhile: that closing stays.
                    item["entry"] = exc.current
                    outcome = {"changed": False, "mode": mode, "previous_mode": mode}
                else:
                    outcome = {"failed": True, "msg": words.replaced(exc, target, "sending" in stages)}
            except WindowError as exc:
                outcome = {"failed": True, "msg": words.replaced(exc, target, "sending" in stages)}
            item.update(_kept(outcome))
            return outcome
        return call

    def _following(self, target, item, mode):
        """A call that waits for the switch `item` asked for (or another host's, for a server it
        joined) to take effect."""
        def call():
            handle = (item.get("pending_switch") or {}).get("job")
            if self._in_process():
                params = self._validated(target, target.with_mode(mode))
                try:
                    outcome = follow(target.service.api, params, handle, item.get("mode_now"), secrets=self._secrets)
                except ModeFailure as failure:
                    outcome = dict(failure.result, failed=True, msg=failure.msg, may_pass=failure.may_pass)
            else:
                outcome = self._follow_on_delegate(target, mode, item.get("pending_switch"))
                if not outcome.get("failed"):
                    # The module that asked for it wrote; the reads since only saw it done.
                    outcome = dict(outcome, changed=item.get("changed"), previous_mode=item.get("previous_mode"))
            item.update(_kept(outcome))
            return outcome
        return call

    def _converge(self, target, mode, check_mode=False, wait=True, settle=None, on_write=None):
        """The module's read-compare-write(-wait), here or on the delegate host; a result either way."""
        params = self._validated(target, target.with_mode(mode, wait=wait))
        check_mode = check_mode or self.check_mode
        if self._in_process():
            try:
                return converge(target.service.api, params, check_mode=check_mode, secrets=self._secrets, settle=settle,
                                on_write=on_write)
            except ModeFailure as failure:
                return dict(failure.result, failed=True, msg=failure.msg, may_pass=failure.may_pass)
        if check_mode or on_write is None:
            return self._run_module(target, dict(params, pending_switch=settle), check_mode)
        # On a delegate host the record cannot hear of the write from inside the module: it is
        # noted before the module that may write runs, and the job from the module's result.
        on_write("sending", None)
        outcome = self._run_module(target, dict(params, pending_switch=settle), False)
        on_write("sent" if outcome.get("changed") else "unsent", (outcome.get("pending_switch") or {}).get("job"))
        return outcome

    def _follow_on_delegate(self, target, mode, pending):
        """Reads on the delegate host, letting the pending switch end first, until the mode is
        reached: never a write, since the module that asked for it already wrote."""
        deadline = time.monotonic() + target.params["wait_timeout"]
        while True:
            outcome = self._run_module(target, target.with_mode(mode, pending_switch=pending), True)
            if outcome.get("failed") or not outcome.get("changed"):
                return outcome
            if time.monotonic() >= deadline:
                return dict(outcome, failed=True, may_pass=False, mode=outcome.get("previous_mode"),
                            msg="Timed out waiting for %s to reach mode %s: it is in mode %s"
                                % (target.url, mode, outcome.get("previous_mode")))
            pending = None
            time.sleep(DELEGATE_POLL_SECONDS)

    def _run_module(self, target, params, check_mode):
        saved = self._task.check_mode
        self._task.check_mode = check_mode
        try:
            outcome = self._execute_module(module_name=module_name(target.service), module_args=params,
                                           task_vars=self.task_vars)
        finally:
            self._task.check_mode = saved
        # A module's own failure may pass (a connection it could not make), or not: its message
        # does not say which, and a second try costs at most another login.
        return dict(outcome, may_pass=bool(outcome.get("failed")) and "authentication" not in str(outcome.get("msg")))

    def _run_all(self, calls, what):
        """Run `calls` (name -> callable), in parallel when the code runs here; every NOTICE_EVERY
        seconds after the first NOTICE_FIRST, say what is still awaited. Returns name -> result."""
        if not calls:
            return {}
        if not self._in_process():
            return {name: call() for name, call in calls.items()}
        started = time.monotonic()
        notice = NOTICE_FIRST
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            futures = {name: pool.submit(call) for name, call in calls.items()}
            while True:
                _done, pending = wait(futures.values(), timeout=max(0.0, started + notice - time.monotonic()),
                                      return_when=FIRST_EXCEPTION)
                if not pending or any(f.done() and f.exception() for f in futures.values()):
                    break
                waited = time.monotonic() - started
                if waited >= notice:
                    awaited = [what(self._target(name).url) for name, f in futures.items() if not f.done()]
                    display.display("%s: still %s (%d s so far)" % (self.host, "; ".join(awaited), waited))
                    notice += NOTICE_EVERY
        return {name: future.result() for name, future in futures.items()}

    # -- the record ----------------------------------------------------------------------------------
    def _records(self):
        """The state file's records to change, under its lock; in check mode a copy to change
        that is never written."""
        keys = self._keys()
        return nullcontext(self.store.read(keys)) if self.check_mode else self.store.transaction(keys)

    def _keys(self):
        """The servers of this host's services: the only rows a phase reads or writes."""
        return [target.key for target in self.targets]

    def _put(self, records, target, entry):
        records.servers[target.key] = entry
        drop_legacy(records, self.host, target.name)

    def _chosen(self, records, target):
        """The server's entry: of the copies in the sources (the state file, AWX's window_records,
        this play's fact), the one that tells the latest."""
        copies = [(source, entry) for source in self.sources for entry in self._copies(source, records, target)]
        return record.choose(copies)

    def _copies(self, source, records, target):
        if source == "state_file":
            legacy = (records.legacy.get(self.host) or {}).get(target.name)
            current = records.servers.get(target.key)
            if legacy is None:
                return [current]
            old = record.from_legacy(legacy, target.name, target.url, self.host)
            if record.is_open(current) and record.is_open(old) and current["window"] != old["window"]:
                return [record.joined_legacy(current, legacy, self.host)]
            return [current, old]
        if source == "window_records":
            views = list((self._var("window_records") or {}).items())
        else:
            views = [(self.host, (self.task_vars.get("ansible_facts") or {}).get("window_record") or {})]
        copies = []
        for host, view in views:
            for name, value in (view or {}).items() if isinstance(view, dict) else ():
                entry = record.entry_of(value)
                if entry is not None and entry.get("dry_run") and not self.check_mode:
                    continue
                if entry is not None and entry["server"] == target.key:
                    copies.append(entry)
                elif entry is None and host == self.host and name == target.name and isinstance(value, dict) \
                        and value.get("state") in (record.OPEN, record.CLOSED):
                    copies.append(record.from_legacy(value, target.name, target.url, self.host))
        return copies

    def _note(self, target, item, closing=None, **changes):
        """Write to the server's entry of this window, if it is still the one this run acts on:
        open, and held by this host. Another run may have acted on the server meanwhile (an exit,
        or a worker that kill -9 of ansible-playbook left running): then nothing is written and
        RecordReplaced says why. `closing` is (time, note) to close the entry with."""
        with self._records() as records:
            current = records.servers.get(target.key)
            ours = current is not None and current["window"] == item["window"]
            if closing and _closed_in_window(current, item):
                # The same window closed by another run of it: its closing stays.
                return current
            holders = set(current.get("holders") or []) if current else set()
            # A put-back, or closing after it, needs this host to be the window's last holder.
            sole = item["action"] in (PUT_BACK, CLOSE)
            if not ours or not record.is_open(current) or self.host not in holders or sole and holders != {self.host}:
                now_is = "was removed" if current is None else "is now " + record.describe(current)
                message = "The record of %s in %s %s since this run read it" % (target.key, self.store.location, now_is)
                raise RecordReplaced(message, current)
            entry = record.closed(current, *closing) if closing else record.advanced(current, **changes)
            self._put(records, target, entry)
        item["entry"] = entry
        return entry

    def _check_store(self, create=True):
        self.store.check(create=create and not self.check_mode)

    def _by(self):
        job = self._var("awx_job_id") or self._var("tower_job_id")
        user = self._var("awx_user_name") or getpass.getuser()
        return "%s (AWX job %s)" % (user, job) if job else user

    # -- results ------------------------------------------------------------------------------------
    def _outcome(self, phase, plan, **extra):
        """The result of enter or exit, which confirm takes as `requested`."""
        would_change = self.check_mode and any(i["action"] in (SWITCH, PUT_BACK) for i in plan)
        outcome = {"changed": would_change or any(i.get("changed") for i in plan), "phase": phase, "plan": plan,
                   "state_file": self.store.location}
        outcome.update((k, v) for k, v in extra.items() if v is not None)
        if self.check_mode:
            outcome.update(self._ending(phase, plan, outcome))
        else:
            # Published now, before confirm waits: a job cancelled or timed out during the wait
            # leaves it in AWX's fact storage, where the next exit finds it.
            outcome.update(self._published({item["service"]: item["entry"] for item in plan if item.get("entry")}))
        return outcome

    def _ending(self, phase, plan, requested):
        """How each service ended, for the report, the summary and the next phase."""
        outcome = {key: requested[key] for key in ("work_tasks", "state_file") if key in requested}
        lines = [words.ending_line(item, self.host, self.check_mode) for item in plan]
        outcome["report"] = lines
        outcome["rows"] = [self._row(self._target(item["service"]), item.get("entry"), words.mode_now(item),
                                     words.action(item, self.check_mode)) for item in plan]
        outcome["changed"] = requested.get("changed", False) or any(item.get("changed") for item in plan)
        outcome["diff"] = [words.diff(item) for item in plan if item.get("changed") or self.check_mode
                           and item["action"] in (SWITCH, PUT_BACK)]
        outcome["diff"] = [d for d in outcome["diff"] if d]
        published = {item["service"]: item["entry"] for item in plan if item.get("entry")}
        outcome.update(self._published(published))
        problems = words.problems(phase, plan, self.host, self.store.location, self.no_record,
                                  {t.name: self._normal(t) for t in self.targets})
        if problems:
            outcome.update(failed=True, msg=problems)
        if phase == "exit":
            warnings = words.unhandled(self._other_open_entries(), self.host, [t.name for t in self.targets])
            if warnings:
                outcome["warnings"] = warnings
        return outcome

    def _other_open_entries(self):
        """Open entries this host holds for services this exit does not handle (window_services
        names fewer than the host's URLs)."""
        handled = {target.name for target in self.targets}
        urls = {name: self._var(variable(service, "url")) for name, service in SERVICES.items() if name not in handled}
        others = {name: record.server_key(name, url) for name, url in urls.items() if url}
        records = self.store.read(others.values())
        entries = {name: records.servers.get(key) for name, key in others.items()}
        return {name: entry for name, entry in entries.items()
                if record.is_open(entry) and self.host in (entry.get("holders") or [])}

    def _published(self, entries):
        if self.check_mode:
            # What a dry run would record reaches the dry run's exit as a fact marked so, which a
            # real run passes over, and never a later AWX node: it is no record.
            entries = {name: dict(entry, dry_run=True) for name, entry in entries.items()}
            return {"record": entries, "ansible_facts": {"window_record": entries}}
        published = {"record": entries, "ansible_facts": {"window_record": entries}}
        if self.set_stats and entries:
            published["ansible_stats"] = {"data": {"window_records": {self.host: entries}}, "per_host": False,
                                          "aggregate": True}
        return published

    def _no_service(self, **extra):
        outcome = {"changed": False, "phase": self._task.args.get("phase"), "plan": [], "rows": [],
                   "report": ["no service on this host (no %s or window_services)" % " or ".join(
                       variable(s, "url") for s in SERVICES.values())], "state_file": self.store.location}
        outcome.update((k, v) for k, v in extra.items() if v is not None)
        return outcome

    def _row(self, target, entry, mode_now, action):
        return {"host": self.host, "service": target.name, "mode_before": (entry or {}).get("mode_before"),
                "mode_now": mode_now, "action": action}

    # -- settings: the role's variables ----------------------------------------------------------------
    def _var(self, name, default=None):
        value = self.task_vars.get(name)
        value = self._templar.template(value) if value is not None else None
        return default if value is None or value == "" else value

    def _bool(self, name, default):
        value = self._var(name)
        try:
            return default if value is None else boolean(value, strict=True)
        except TypeError:
            raise WindowError("%s must be a boolean (true or false), got %r" % (name, value))

    def _read_settings(self):
        self.set_stats = self._bool("window_set_stats", True)
        self.no_record = self._var("window_no_record", "fail")
        if self.no_record not in NO_RECORD_CHOICES:
            raise WindowError("window_no_record must be fail or normal, got %r" % self.no_record)
        self.inventory = set((self.task_vars.get("groups") or {}).get("all") or [])
        self.take_over = set(self._list("window_take_over"))
        present = sorted(self.take_over & self.inventory)
        if present:
            raise WindowError("window_take_over names %s, which %s in the inventory: a host of the inventory leaves "
                              "its windows by its own exit. Nothing was switched." % (
                                  ", ".join(present), "is" if len(present) == 1 else "are"))
        self.sources = self._list("window_record_sources") or list(record.SOURCES)
        unknown = [s for s in self.sources if s not in record.SOURCES]
        if unknown:
            raise WindowError("window_record_sources may name %s, not %s"
                              % (", ".join(record.SOURCES), ", ".join(unknown)))
        max_open = self._var("window_max_open")
        try:
            self.max_open = record.duration(max_open) if max_open is not None else None
        except ValueError:
            raise WindowError("window_max_open must be a duration of at most %d days, such as 8h, 30m, 2d or a number "
                              "of seconds, got %r. Nothing was switched." % (record.MAX_OPEN_DAYS, max_open))
        given = self._var("window_lock_timeout", DEFAULT_LOCK_TIMEOUT)
        try:
            lock_timeout = float(given)
        except (TypeError, ValueError):
            lock_timeout = math.nan
        if not 0 <= lock_timeout < math.inf:
            raise WindowError("window_lock_timeout must be a number of seconds, got %r" % (given,))
        self.store = open_store(self._var("window_state_file"), self._var("window_state_url"), lock_timeout,
                                notify=lambda message: display.display("%s: %s" % (self.host, message)))
        # Bad input fails here, before any request to any service.
        self.targets = [self._target_of(SERVICES[name]) for name in self._service_names()]

    def _list(self, name):
        value = self._var(name) or []
        return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else list(value)

    def _service_names(self):
        """The host's services: those window_services names where it is set (the URL variables of
        the others then count for nothing), else those whose URL variable is set. A URL variable
        of one of them that is set but empty fails the host rather than meaning no such service."""
        if self.task_vars.get("window_services") is not None:
            names = self._list("window_services")
        else:
            names = [name for name, service in SERVICES.items() if variable(service, "url") in self.task_vars]
        unknown = [s for s in names if s not in SERVICES]
        if unknown:
            raise WindowError("window_services may name %s, not %s" % (" and ".join(SERVICES), ", ".join(unknown)))
        # In the table's order, whatever the order given: reports and messages list them alike.
        names = [name for name in SERVICES if name in names]
        for name in names:
            url = variable(SERVICES[name], "url")
            if url in self.task_vars and self._var(url) is None:
                raise WindowError("%s is set for %s but empty (a variable that templated to nothing?): nothing was "
                                  "switched. Give the URL, or leave the variable undefined." % (url, self.host))
        return names

    def _target_of(self, service):
        """The module options for one service: module_defaults of the module and its action group,
        overridden by the role's window_<service>_<option> variables that are set; never by unset
        ones. Validated here, so that bad input fails before any request."""
        args = _apply_action_arg_defaults(module_name(service), self._task, {}, self._templar)
        for option in service.api.argument_spec():
            if option not in ("mode", "pending_switch"):
                value = self._var(variable(service, option))
                if value is not None:
                    args[option] = value
        target = Target(service, self._validated(service, dict(args, mode=self._maintenance_of(service))))
        return target

    def _validated(self, target_or_service, args):
        service = getattr(target_or_service, "service", target_or_service)
        api = service.api
        validation = ArgumentSpecValidator(api.argument_spec(), required_together=api.required_together).validate(args)
        self._secrets.update(v for v in validation._no_log_values if v)
        if validation.error_messages:
            errors = "; ".join(validation.error_messages)
            raise WindowError("%s: %s. Nothing was switched on %s." % (service.name, errors, self.host))
        return validation.validated_parameters

    def _maintenance_of(self, service):
        return self._var(variable(service, "maintenance_mode"), service.maintenance_mode)

    def _maintenance(self, target):
        return target.params["mode"]

    def _normal(self, target):
        return self._var(variable(target.service, "normal_mode"), target.service.normal_mode)

    def _target(self, name):
        return next(t for t in self.targets if t.name == name)

    # -- the work's tasks file -------------------------------------------------------------------------
    def _checked_work(self, path):
        """The work's tasks file, resolved from the current directory and loaded once before
        anything is switched, task by task as Ansible loads them: a file that cannot run would
        abort the play at its include, and exit would never run."""
        if path is None:
            return None
        path = os.path.normpath(os.path.join(os.getcwd(), os.path.expanduser(str(path))))
        if not os.path.isfile(path):
            raise WindowError("The work's tasks file %s does not exist (window_work_tasks is taken from the current "
                              "directory %s): nothing was switched." % (path, os.getcwd()))
        try:
            tasks = self._loader.load_from_file(path)
        except AnsibleError as exc:
            raise WindowError("The work's tasks file %s cannot be loaded: nothing was switched. %s" % (path, exc))
        if not isinstance(tasks, list) or not tasks:
            raise WindowError("The work's tasks file %s is not a list of tasks: nothing was switched." % path)
        try:
            self._check_tasks(tasks)
        except AnsibleError as exc:
            raise WindowError("The work's tasks file %s cannot run: nothing was switched. %s" % (path, exc))
        return path

    def _check_tasks(self, tasks):
        for data in tasks:
            if not isinstance(data, dict):
                raise AnsibleError("Each task must be a mapping, got %r" % (data,))
            if "block" in data:
                for part in ("block", "rescue", "always"):
                    self._check_tasks(data.get(part) or [])
                continue
            # Short module names resolve as they will inside the role: with its collections (a
            # copy: loading adds to the list it is given) and without the play's default one.
            if "collections" not in data:
                data = dict(data, collections=list(self._task.collections or []))
            task = Task.load(data, role=self._task._role, loader=self._loader)
            ends = task.args.get("_raw_params") if task.action in C._ACTION_META else None
            if ends in WORK_MUST_NOT:
                raise AnsibleError("The task %r ends the %s (meta: %s), so exit would not run after it: end the "
                                   "work with a failure or a condition instead" % (task.get_name(), WORK_MUST_NOT[ends],
                                                                                   ends))


def _mode(outcome):
    """The mode a read found."""
    return outcome.get("previous_mode") or outcome.get("mode")


def _closed_in_window(entry, item):
    return entry is not None and entry["window"] == item.get("window") and entry["state"] == record.CLOSED


def _kept(outcome):
    """What a plan item keeps of a converge's outcome."""
    kept = {key: outcome.get(key) for key in ("changed", "failed", "msg", "may_pass", "pending_switch")
            if outcome.get(key) is not None}
    if outcome.get("mode") is not None or outcome.get("failed"):
        kept["mode"] = outcome.get("mode")
    if outcome.get("previous_mode") is not None:
        kept["previous_mode"] = outcome["previous_mode"]
    return kept
