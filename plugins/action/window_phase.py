# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine of the role opsmodes.maintenance.window: one phase of a maintenance window (enter,
exit, status) for one host, with the record of the modes before the window kept durable on the
controller (plugins/plugin_utils/_window.py says what is recorded and why)."""

from __future__ import annotations

import getpass
import os
from concurrent.futures import ThreadPoolExecutor

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.playbook.task import Task
from ansible.plugins.action import ActionBase

from ansible_collections.opsmodes.maintenance.plugins.module_utils import _arcgis as arcgis, _ucs as ucs
from ansible_collections.opsmodes.maintenance.plugins.module_utils._base import ModeFailure, converge, follow, sentence
from ansible_collections.opsmodes.maintenance.plugins.module_utils._transport import HAS_REQUESTS
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _window as window
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._window import WindowError

try:
    from ansible.executor.module_common import _apply_action_arg_defaults
except ImportError:  # ansible-core before 2.19
    from ansible.executor.module_common import get_action_args_with_defaults

    def _apply_action_arg_defaults(action, task, action_args, templar):
        return get_action_args_with_defaults(action, action_args, task.module_defaults, templar, action_groups=task._parent._play._action_groups)

APIS = {"ucs": ucs.API, "arcgis": arcgis.API}
MODULES = {"ucs": "opsmodes.maintenance.ucs_server_mode", "arcgis": "opsmodes.maintenance.arcgis_site_mode"}
DEFAULT_MODES = {"ucs": ("maintenance", "production"), "arcgis": ("read_only", "editable")}
PHASES = ("enter", "confirm", "exit", "status")
NO_RECORD_CHOICES = ("fail", "normal")
# meta actions that would end the work's host, batch, play or the role: exit would not run.
WORK_MUST_NOT = {"end_host": "host", "end_batch": "batch", "end_play": "play", "end_role": "role"}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("phase", "work_tasks", "enter"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        self.task_vars = task_vars or {}
        self._secrets = set()
        self.host = self.task_vars.get("inventory_hostname")
        try:
            phase = self._task.args.get("phase")
            if phase not in PHASES:
                raise WindowError("phase must be one of %s, got %r" % (", ".join(PHASES), phase))
            self.settings = self._settings()
            result.update(getattr(self, "_" + phase)())
        except WindowError as exc:
            result.update(failed=True, msg=str(exc))
        if result.get("report"):
            result.setdefault("msg", "; ".join(result["report"]))
        return remove_values(result, self._secrets) if self._secrets else result

    # -- settings: the role's variables -------------------------------------------------------------
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

    def _settings(self):
        services = self._var("window_services") or [s for s in window.SERVICES if self._var("window_%s_url" % s)]
        if isinstance(services, str):
            services = [s.strip() for s in services.split(",") if s.strip()]
        unknown = [s for s in services if s not in window.SERVICES]
        if unknown:
            raise WindowError("window_services may name %s, not %s" % (" and ".join(window.SERVICES), ", ".join(unknown)))
        no_record = self._var("window_no_record", "fail")
        if no_record not in NO_RECORD_CHOICES:
            raise WindowError("window_no_record must be fail or normal, got %r" % no_record)
        state_file = self._var("window_state_file")
        settings = {
            "services": list(services),
            "no_record": no_record,
            "store": window.RecordStore(window.resolve_state_file(state_file), create_directory=not state_file),
            "maintenance": {}, "normal": {}, "args": {},
        }
        for service in services:
            maintenance, normal = DEFAULT_MODES[service]
            settings["maintenance"][service] = self._var("window_%s_maintenance_mode" % service, maintenance)
            settings["normal"][service] = self._var("window_%s_normal_mode" % service, normal)
            settings["args"][service] = self._module_args(service)
        self.settings = settings
        # Bad input fails here, before any request to any service.
        settings["wait_timeout"] = {s: self._validated(s, settings["maintenance"][s])["wait_timeout"] for s in services}
        return settings

    def _module_args(self, service):
        """The module's options: module_defaults of the module and its action group, overridden by
        the role's window_<service>_<option> variables that are set; never by unset ones."""
        args = _apply_action_arg_defaults(MODULES[service], self._task, {}, self._templar)
        for option in APIS[service].argument_spec():
            if option != "mode":
                value = self._var("window_%s_%s" % (service, option))
                if value is not None:
                    args[option] = value
        return args

    # -- talking to the servers --------------------------------------------------------------------
    def _in_process(self):
        """The modules' own code runs here, a thread per service, when the calls would run on the
        controller anyway; elsewhere (another delegate host, no requests here) the modules run."""
        return HAS_REQUESTS and self._connection.transport in ("local", "ansible.builtin.local")

    def _validated(self, service, mode):
        args = dict(self.settings["args"][service], mode=mode)
        api = APIS[service]
        validation = ArgumentSpecValidator(api.argument_spec(), required_together=api.required_together).validate(args)
        self._secrets.update(v for v in validation._no_log_values if v)
        if validation.error_messages:
            raise WindowError("%s: %s. Nothing was switched on %s." % (service, "; ".join(validation.error_messages), self.host))
        return validation.validated_parameters

    def _converge_all(self, targets, check_mode, settle=None, on_write=None, wait=True):
        """Bring each service in `targets` (service -> mode) to its mode, in parallel. Returns
        service -> the task result of the module (failed with msg, or not). With `wait` false, a
        switch the server took is not waited for (in-process only: a module always waits)."""
        params = {service: self._validated(service, mode) for service, mode in targets.items()}
        if not wait and self._in_process():
            for service in params:
                params[service]["wait"] = False
        if not params:
            return {}
        if not self._in_process():
            return {service: self._run_module(service, params[service], check_mode) for service in params}

        def one(service):
            try:
                return converge(APIS[service], params[service], check_mode=check_mode, secrets=self._secrets,
                                settle=(settle or {}).get(service),
                                on_write=(lambda stage, handle: on_write(service, stage, handle)) if on_write else None)
            except ModeFailure as failure:
                return dict(failure.result, failed=True, msg=failure.msg)

        with ThreadPoolExecutor(max_workers=len(params)) as pool:
            return dict(zip(params, pool.map(one, params)))

    def _run_module(self, service, params, check_mode):
        saved = self._task.check_mode
        self._task.check_mode = check_mode or saved
        try:
            return self._execute_module(module_name=MODULES[service], module_args=params, task_vars=self.task_vars)
        finally:
            self._task.check_mode = saved

    # -- the record --------------------------------------------------------------------------------
    def _record(self):
        """This host's record: per service the newest entry among the state file, AWX's
        window_records and this play's fact."""
        passed_on = (self._var("window_records") or {}).get(self.host) or {}
        fact = (self.task_vars.get("ansible_facts") or {}).get("window_record") or {}
        return window.merged_record(window.SERVICES, self.settings["store"].host(self.host), passed_on, fact)

    def _by(self):
        job = self._var("awx_job_id") or self._var("tower_job_id")
        user = self._var("awx_user_name") or getpass.getuser()
        return "%s (AWX job %s)" % (user, job) if job else user

    def _save(self, entries):
        if self._task.check_mode or not entries:
            return
        try:
            self.settings["store"].update(self.host, entries)
        except OSError as exc:
            raise WindowError("Writing the record to %s failed: %s" % (self.settings["store"].path, exc))

    def _published(self, record):
        published = {"record": record, "ansible_facts": {"window_record": record}}
        if self._bool("window_set_stats", True) and record:
            published["ansible_stats"] = {"data": {"window_records": {self.host: record}}, "per_host": False, "aggregate": True}
        return published

    # -- phases ------------------------------------------------------------------------------------
    def _enter(self):
        settings, check_mode = self.settings, self._task.check_mode
        services, maintenance = settings["services"], settings["maintenance"]
        outcome = {"changed": False, "report": [], "rows": [], "state_file": settings["store"].path}
        work = self._task.args.get("work_tasks")
        if work is not None:
            outcome["work_tasks"] = self._check_work(work)
        settings["store"].check(create=not check_mode)
        if not services:
            outcome["report"] = ["no service on this host (no window_ucs_url, window_arcgis_url or window_services)"]
            return outcome
        record = self._record()

        # Read every service first: if one cannot be read, nothing on this host is switched.
        read = self._converge_all(maintenance, check_mode=True)
        unreadable = {s: r for s, r in read.items() if r.get("failed")}
        if unreadable:
            now = window.utc_now()
            notes = {s: window.closed_entry(window.open_entry(read[s].get("previous_mode") or read[s].get("mode"), maintenance[s], self._by(), now), now,
                                            "enter failed before any switch") for s in services if record.get(s, {}).get("state") != window.OPEN}
            self._save(notes)
            raise WindowError("Entering maintenance failed on %s before any switch: %s. Nothing was switched on this host; %s." % (
                self.host, "; ".join("%s: %s" % (s, sentence(r["msg"])) for s, r in unreadable.items()),
                ", ".join("%s is in mode %s" % (s, r.get("previous_mode") or r.get("mode") or "unknown") for s, r in read.items())))
        modes_now = {s: read[s]["previous_mode"] for s in services}

        # Write ahead: the record is durable before any server is written to.
        entries = window.entering(services, modes_now, maintenance, record, self._by(), window.utc_now())
        self._save(entries)
        kept = {s for s in services if record.get(s, {}).get("state") == window.OPEN}
        outcome["report"] = [window.enter_line(s, entries[s], s in kept, modes_now[s], check_mode) for s in services]
        if check_mode:
            outcome.update(changed=any(read[s]["changed"] for s in services), diff=self._diffs(modes_now, maintenance))
            outcome.update(self._published(entries))
            return outcome

        # The switches are requested, not waited for: the confirm phase waits, once every host of
        # the batch has asked, so that forks do not wait out one host's switch before the next.
        switched = self._converge_all(maintenance, check_mode=False, wait=False,
                                      on_write=lambda s, stage, handle: self._pending(entries, s, stage, handle))
        outcome["changed"] = any(r.get("changed") for r in switched.values())
        outcome["diff"] = self._diffs(modes_now, {s: r.get("mode") for s, r in switched.items()})
        failed = {s: r for s, r in switched.items() if r.get("failed")}
        if failed:
            self._put_back_after_failed_enter(entries, kept, switched, failed)
        waiting = self._in_process()
        outcome.update(
            switching={s: entries[s].get("handle") for s in services if switched[s].get("changed") and waiting},
            opened=[s for s in services if s not in kept],
            modes_before_enter=modes_now,
            rows=[self._row(s, entries[s], switched[s].get("mode"), "switched" if switched[s].get("changed") else "left") for s in services])
        outcome.update(self._published(entries))
        return outcome

    def _confirm(self):
        """Wait for the switches that enter requested on this host (the `enter` argument is its
        result) to take effect. If one fails, what that enter switched goes back, as in enter."""
        enter = self._task.args.get("enter") or {}
        switching = enter.get("switching") or {}
        outcome = {key: enter[key] for key in ("report", "rows", "record", "state_file") if key in enter}
        if not switching or self._task.check_mode:
            return outcome
        record = self._record()
        before = enter["modes_before_enter"]
        params = {s: self._validated(s, self.settings["maintenance"][s]) for s in switching}

        def one(service):
            try:
                return follow(APIS[service], params[service], switching[service], before[service], secrets=self._secrets)
            except ModeFailure as failure:
                return dict(failure.result, failed=True, msg=failure.msg)

        with ThreadPoolExecutor(max_workers=len(switching)) as pool:
            confirmed = dict(zip(switching, pool.map(one, switching)))
        failed = {s: r for s, r in confirmed.items() if r.get("failed")}
        if failed:
            services = self.settings["services"]
            self._put_back_after_failed_enter({s: record[s] for s in services if s in record},
                                              set(services) - set(enter.get("opened") or []), confirmed, failed)
        outcome["rows"] = [dict(row, mode_now=confirmed[row["service"]].get("mode")) if row.get("service") in confirmed else row
                           for row in outcome.get("rows") or []]
        return outcome

    def _put_back_after_failed_enter(self, entries, kept, switched, failed):
        """A service failed to switch: the work must not run on this host, and what this enter
        switched goes back now. An entry kept from an earlier enter is that window's, not ours."""
        now = window.utc_now()
        ours = {s: window.target_on_exit(entries[s]) for s in entries if s not in kept}
        back = self._converge_all({s: t for s, t in ours.items() if t}, check_mode=False, settle=self._settle(entries, ours),
                                  on_write=lambda s, stage, handle: self._pending(entries, s, stage, handle))
        for service, target in ours.items():
            if target is None or not back[service].get("failed"):
                entries[service] = window.closed_entry(entries[service], now, "enter failed on this host; put back")
        self._save(entries)
        where = ", ".join("%s is in mode %s" % (s, (back.get(s) or switched[s]).get("mode") or "unknown") for s in entries)
        raise WindowError("Entering maintenance failed on %s: %s. The work does not run on this host. Put back what this enter switched: %s.%s" % (
            self.host, "; ".join("%s: %s" % (s, sentence(r["msg"])) for s, r in failed.items()), where,
            "" if not any(r.get("failed") for r in back.values()) else " Putting back failed for %s: the record stays open; run exit to try again." %
            ", ".join("%s (%s)" % (s, sentence(r["msg"])) for s, r in back.items() if r.get("failed"))))

    def _settle(self, record, services):
        return {s: window.settle_handle(record.get(s), self.settings["wait_timeout"][s]) for s in services}

    def _pending(self, entries, service, stage, handle):
        """Note in the record that a write is about to go out, then the server's job when it gives
        one, so that an exit after a crash lets that write end before it reads the mode."""
        if stage == "sending":
            entry = dict(entries[service], requested=window.utc_now(), handle=None)
        elif isinstance(handle, str):
            entry = dict(entries[service], handle=handle)
        else:
            return
        try:
            self._save({service: entry})
        except window.RecordReplaced as exc:
            # Another run acted on this service meanwhile (a worker that kill -9 left running is
            # one): no write goes out behind its back, and none is retried or put back here.
            raise window.RecordReplaced("%s: %s" % (exc, "this run did not switch %s" % service if stage == "sending" else
                                                    "this run's switch of %s had already gone out: check it with "
                                                    "opsmodes.maintenance.status" % service))
        entries[service] = entry

    def _exit(self):
        settings, check_mode = self.settings, self._task.check_mode
        services = settings["services"]
        outcome = {"changed": False, "report": [], "rows": [], "state_file": settings["store"].path}
        settings["store"].check(create=not check_mode)
        if not services:
            outcome["report"] = ["no service on this host (no window_ucs_url, window_arcgis_url or window_services)"]
            return outcome
        record = self._record()
        no_record = [s for s in services if s not in record]
        targets = {s: window.target_on_exit(record.get(s)) for s in services}
        if settings["no_record"] == "normal":
            targets.update({s: settings["normal"][s] for s in no_record})
        targets = {s: t for s, t in targets.items() if t}

        def on_write(service, stage, handle):
            if service in record:
                self._pending(record, service, stage, handle)

        done = self._converge_all(targets, check_mode=check_mode, settle=self._settle(record, targets), on_write=on_write)
        failed = [s for s, r in done.items() if r.get("failed")]
        # One more try: a transient fault must not leave a service switched.
        if failed and not check_mode:
            done.update(self._converge_all({s: targets[s] for s in failed}, check_mode=False, settle=self._settle(record, failed),
                                           on_write=on_write))
            failed = [s for s, r in done.items() if r.get("failed")]
        now = window.utc_now()
        closed = {s: window.closed_entry(record[s], now, "put back" if s in targets else "left as it was before the window")
                  for s in services if record.get(s, {}).get("state") == window.OPEN and s not in failed}
        self._save(closed)
        outcome["report"] = [window.exit_line(s, record.get(s), check_mode, targets.get(s), done.get(s)) for s in services]
        record.update(closed)
        # The services exit did not switch are read too, so that the summary gives every mode now.
        untouched = self._converge_all({s: settings["maintenance"][s] for s in services if s not in targets}, check_mode=True)
        outcome.update(self._published({s: record[s] for s in services if s in record}))
        outcome["changed"] = any(r.get("changed") for r in done.values())
        outcome["diff"] = self._diffs({s: r.get("previous_mode") for s, r in done.items()}, {s: r.get("mode") for s, r in done.items()})
        outcome["rows"] = [self._row(s, record.get(s), done[s].get("mode") if s in done else untouched[s].get("previous_mode"),
                                     self._exit_action(s in failed, done[s].get("changed"), check_mode) if s in done
                                     else "no record: left alone" if s in no_record else "nothing to do")
                           for s in services]
        problems = []
        stale = [s for s in services if s not in done and window.closed_but_in_maintenance(record.get(s), untouched[s].get("previous_mode"))]
        if stale:
            problems.append("%s %s in maintenance although the record in %s was closed (%s): that record is not this window's. "
                            "Nothing was changed on them. Check them with opsmodes.maintenance.status and run exit with the "
                            "window_state_file that enter used" % (
                                " and ".join(stale), "is" if len(stale) == 1 else "are", settings["store"].path,
                                "; ".join("%s at %s" % (s, record[s].get("closed")) for s in stale)))
        unhandled = [s for s, e in record.items() if s not in services and (e or {}).get("state") == window.OPEN]
        if unhandled:
            outcome["warnings"] = ["%s of %s has an open record (since %s) that this exit does not handle, since the host's "
                                   "services here are %s: it stays open and %s stays in maintenance" % (
                                       s, self.host, record[s].get("opened"), ", ".join(services), s) for s in unhandled]
        if failed:
            problems.append("putting back failed for %s; the record stays open: run exit again" % ", ".join(failed))
        if no_record and settings["no_record"] == "fail":
            problems.append("no record of the mode before the window for %s (looked in %s, window_records and the fact window_record), "
                            "so nothing was changed on them. Check them with opsmodes.maintenance.status, then run exit with the "
                            "window_state_file that enter used, or with -e window_no_record=normal to set the normal modes (%s)" % (
                                ", ".join(no_record), settings["store"].path, ", ".join("%s %s" % (s, settings["normal"][s]) for s in no_record)))
        if problems:
            outcome.update(failed=True, msg="Exiting maintenance on %s: %s. %s" % (self.host, "; ".join(problems), "; ".join(outcome["report"])))
        return outcome

    def _status(self):
        settings = self.settings
        services = settings["services"]
        record = self._record()
        read = self._converge_all(settings["maintenance"], check_mode=True)
        rows, report = [], []
        for service in services:
            entry, live = record.get(service), read[service].get("previous_mode")
            if read[service].get("failed"):
                agreement = "its mode cannot be read: %s" % read[service]["msg"]
            elif entry is not None and entry.get("state") == window.OPEN:
                agreement = "in maintenance, as the open record says" if live == entry["maintenance_mode"] else \
                    "DISAGREES: the record is open but the service is not in %s" % entry["maintenance_mode"]
            elif live == settings["maintenance"][service]:
                agreement = "DISAGREES: in maintenance without an open record" if entry is None or entry.get("mode_before") != live else \
                    "in maintenance, as it was before the last window"
            else:
                agreement = "no open record, not in maintenance"
            opened = "open since %s by %s" % (entry["opened"], entry["by"]) if entry and entry.get("state") == window.OPEN else \
                "closed at %s" % entry.get("closed") if entry else "no record"
            report.append("%s: %s; record %s; %s" % (service, live or "unknown", opened, agreement))
            rows.append(self._row(service, entry, live, agreement))
        return {"changed": False, "report": report, "rows": rows, "record": record, "state_file": settings["store"].path,
                "failed": any(r.get("failed") for r in read.values())}

    # -- helpers -----------------------------------------------------------------------------------
    def _check_work(self, path):
        """The work's tasks file, resolved from the current directory and loaded once before
        anything is switched, task by task as Ansible loads them: a file that cannot run would
        abort the play at its include, and exit would never run."""
        path = os.path.normpath(os.path.join(os.getcwd(), os.path.expanduser(str(path))))
        if not os.path.isfile(path):
            raise WindowError("The work's tasks file %s does not exist (window_work_tasks is taken from the current directory %s): "
                              "nothing was switched." % (path, os.getcwd()))
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
                raise AnsibleError("The task %r ends the %s (meta: %s), so exit would not run after it: end the work with "
                                   "a failure or a condition instead" % (task.get_name(), WORK_MUST_NOT[ends], ends))

    @staticmethod
    def _exit_action(failed, changed, check_mode):
        if failed:
            return "failed"
        if not changed:
            return "already so: closed" if not check_mode else "already so: would close"
        return "would put back" if check_mode else "put back"

    def _row(self, service, entry, mode_now, action):
        return {"host": self.host, "service": service, "mode_before": (entry or {}).get("mode_before"), "mode_now": mode_now, "action": action}

    @staticmethod
    def _diffs(before, after):
        return [{"before_header": service, "after_header": service, "before": "mode: %s\n" % before[service],
                 "after": "mode: %s\n" % after.get(service)} for service in before if before[service] != after.get(service)]
