# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""The role's variables, read once per host and phase into a frozen Settings, and the host's
targets: its services, each with the module options that reach its server, validated as the
module validates them. Bad input fails here, before any request to any server."""

from __future__ import annotations

import getpass
import math
from dataclasses import dataclass, field
from functools import cached_property

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _record as record
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._calls import IN_PROCESS_VARIABLE
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import settings as messages
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._services import SERVICES, module_name, variable

try:
    from ansible.executor.module_common import _apply_action_arg_defaults
except ImportError:  # ansible-core before 2.19
    from ansible.executor.module_common import get_action_args_with_defaults

    def _apply_action_arg_defaults(action, task, action_args, templar):
        return get_action_args_with_defaults(action, action_args, task.module_defaults, templar,
                                             action_groups=task._parent._play._action_groups)

PHASES = ("enter", "exit", "confirm", "status")
NO_RECORD_CHOICES = ("fail", "normal")
DEFAULT_LOCK_TIMEOUT = 60.0


@dataclass(frozen=True)
class Target:
    """One service of the host: its kind, its server and the module options that reach it."""

    service: object
    params: dict

    @property
    def name(self):
        return self.service.name

    @property
    def url(self):
        return self.params["url"]

    @cached_property
    def key(self):
        # Asked for at nearly every step of a phase: normalizing the URL each time cost about a
        # millisecond of a worker's CPU per host and task, profiled.
        return record.server_key(self.name, self.url)

    @property
    def maintenance_mode(self):
        return self.params["mode"]

    @property
    def normal_mode(self):
        return self.params["normal_mode"]

    @property
    def wait_timeout(self):
        return self.params["wait_timeout"]

    def options(self, mode, **changes):
        """The module's options to ask for `mode`."""
        options = {name: value for name, value in self.params.items() if name != "normal_mode"}
        return dict(options, mode=mode, **changes)


@dataclass(frozen=True)
class Settings:
    """What one host's phase is asked to do, as the role's variables say."""

    host: str
    phase: str
    check_mode: bool
    targets: tuple
    by: str
    set_stats: bool = True
    no_record: str = "fail"
    sources: tuple = record.SOURCES
    max_open: float | None = None
    comment: str | None = None
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    state_file: str | None = None
    state_url: str | None = None
    inventory: frozenset = frozenset()
    take_over: frozenset = frozenset()
    first_of_play: bool = True
    # Whether the servers may be called in this process where the task runs on the controller.
    in_process: bool = True
    # Check mode only: the hosts of the batch that have each server, in the batch's order.
    sharing: dict = field(default_factory=dict)
    # The copies of the record besides the store's: AWX's window_records, this play's fact.
    copies: dict = field(default_factory=dict)
    # A whole window's work that failed ({"task", "msg"}), which its exit fails the host for.
    failed_work: dict = field(default_factory=dict)
    # The servers of the services this host has but this phase does not handle (window_services).
    others: dict = field(default_factory=dict)
    secrets: frozenset = frozenset()

    @property
    def keys(self):
        return [target.key for target in self.targets]

    def target(self, name):
        return next(target for target in self.targets if target.name == name)

    def first_sharing(self, key):
        """The host of the batch that a real run's enter would have switch the server: the first."""
        return (self.sharing.get(key) or (self.host,))[0]

    def last_leaving(self, key, holders):
        """Whether this host's exit is the one that puts the server back in a dry run, where no
        exit writes for the next to read: the last of its holders, all of them in the batch."""
        hosts = self.sharing.get(key) or ()
        return self.check_mode and set(holders) <= set(hosts) and hosts[-1] == self.host


def read_settings(task_vars, templar, task):
    """The Settings of one host's phase, from the task's variables; WindowError for bad input."""
    variables = _Variables(task_vars, templar)
    phase = task.args.get("phase")
    if phase not in PHASES:
        raise WindowError(messages.unknown_phase(phase, PHASES))
    host = task_vars.get("inventory_hostname")
    no_record = variables.get("window_no_record", "fail")
    if no_record not in NO_RECORD_CHOICES:
        raise WindowError(messages.not_a_choice("window_no_record", no_record, NO_RECORD_CHOICES))
    sources = variables.list("window_record_sources") or list(record.SOURCES)
    unknown = [source for source in sources if source not in record.SOURCES]
    if unknown:
        raise WindowError(messages.not_choices("window_record_sources", unknown, record.SOURCES))
    inventory = frozenset((task_vars.get("groups") or {}).get("all") or [])
    take_over = frozenset(variables.list("window_take_over"))
    if take_over & inventory:
        raise WindowError(messages.take_over_in_inventory(sorted(take_over & inventory)))
    secrets = set()
    targets = tuple(_target(SERVICES[name], variables, templar, task, host, secrets)
                    for name in _service_names(variables, host))
    check_mode = bool(task.check_mode)
    return Settings(
        host=host, phase=phase, check_mode=check_mode, targets=targets, by=_by(variables),
        set_stats=variables.bool("window_set_stats", True), no_record=no_record, sources=tuple(sources),
        max_open=_max_open(variables.get("window_max_open")), comment=_comment(variables),
        lock_timeout=_lock_timeout(variables),
        state_file=variables.get("window_state_file"), state_url=variables.get("window_state_url"),
        inventory=inventory, take_over=take_over,
        first_of_play=host == (task_vars.get("ansible_play_hosts_all") or [host])[0],
        in_process=variables.bool(IN_PROCESS_VARIABLE, True),
        sharing=_sharing(task_vars, variables, targets) if check_mode else {},
        copies={"window_records": variables.get("window_records") or {},
                "fact": (task_vars.get("ansible_facts") or {}).get("window_record") or {}},
        failed_work=variables.get("window_failed_work") or {}, others=_others(variables, targets),
        secrets=frozenset(v for v in secrets if v))


class _Variables:
    """The task's variables, templated; a variable set to nothing counts as unset."""

    def __init__(self, task_vars, templar):
        self.task_vars = task_vars
        self.templar = templar

    def get(self, name, default=None):
        value = self.task_vars.get(name)
        value = self.templar.template(value) if value is not None else None
        return default if value is None or value == "" else value

    def bool(self, name, default):
        value = self.get(name)
        try:
            return default if value is None else boolean(value, strict=True)
        except TypeError:
            raise WindowError(messages.not_a_boolean(name, value))

    def list(self, name):
        """A list of names, given as a list or as one comma-separated string."""
        value = self.get(name) or []
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise WindowError(messages.not_names(name, value))
        return list(value)

    def given(self, name):
        return name in self.task_vars


def _service_names(variables, host):
    """The host's services: those window_services names where it is set (the URL variables of
    the others then count for nothing), else those whose URL variable is set; in the table's
    order, whatever the order given. A URL variable of one of them that is set but empty fails
    the host rather than meaning no such service."""
    if variables.task_vars.get("window_services") is not None:
        names = variables.list("window_services")
    else:
        names = [name for name, service in SERVICES.items() if variables.given(variable(service, "url"))]
    unknown = [name for name in names if name not in SERVICES]
    if unknown:
        raise WindowError(messages.not_choices("window_services", unknown, SERVICES))
    names = [name for name in SERVICES if name in names]
    for name in names:
        url = variable(SERVICES[name], "url")
        if variables.given(url) and variables.get(url) is None:
            raise WindowError(messages.empty_url(url, host))
    return names


def _target(service, variables, templar, task, host, secrets):
    """A service's module options: module_defaults of the module and its action group, overridden
    by the role's window_<service>_<option> variables that are set, never by unset ones; validated
    as the module validates them."""
    options = _apply_action_arg_defaults(module_name(service), task, {}, templar)
    for option in service.api.argument_spec():
        if option not in ("mode", "pending_switch"):
            value = variables.get(variable(service, option))
            if value is not None:
                options[option] = value
    options["mode"] = variables.get(variable(service, "maintenance_mode"), service.maintenance_mode)
    params = validated(service, options, host, secrets)
    params["normal_mode"] = variables.get(variable(service, "normal_mode"), service.normal_mode)
    return Target(service, params)


def validated(service, options, host, secrets):
    """The module's parameters of `options`, its no_log values added to `secrets`."""
    api = service.api
    validation = ArgumentSpecValidator(api.argument_spec(), required_together=api.required_together).validate(
        options)
    secrets.update(validation._no_log_values)
    if validation.error_messages:
        raise WindowError(messages.bad_options(service.name, validation.error_messages, host))
    return validation.validated_parameters


def _by(variables):
    job = variables.get("awx_job_id") or variables.get("tower_job_id")
    user = variables.get("awx_user_name") or getpass.getuser()
    return messages.by_job(user, job)


def _max_open(value):
    try:
        return record.duration(value) if value is not None else None
    except ValueError:
        raise WindowError(messages.bad_max_open(value, record.MAX_OPEN_DAYS))


def _comment(variables):
    comment = variables.get("window_comment")
    return " ".join(str(comment).split()) if comment is not None else None


def _lock_timeout(variables):
    given = variables.get("window_lock_timeout", DEFAULT_LOCK_TIMEOUT)
    try:
        seconds = float(given)
    except (TypeError, ValueError):
        seconds = math.nan
    if not 0 <= seconds < math.inf:
        raise WindowError(messages.bad_lock_timeout(given))
    return seconds


def _sharing(task_vars, variables, targets):
    """For a dry run: the hosts of the batch whose variables name each of this host's servers."""
    hostvars = task_vars.get("hostvars") or {}
    sharing = {}
    for other in task_vars.get("ansible_play_batch") or []:
        for target in targets:
            url = variables.templar.template((hostvars.get(other) or {}).get(variable(target.service, "url")))
            if url and record.server_key(target.name, url) == target.key:
                sharing.setdefault(target.key, []).append(other)
    return {key: tuple(hosts) for key, hosts in sharing.items()}


def _others(variables, targets):
    """The servers of the host's URL variables whose services this phase does not handle."""
    handled = {target.name for target in targets}
    urls = {name: variables.get(variable(service, "url")) for name, service in SERVICES.items() if name not in handled}
    return {name: record.server_key(name, url) for name, url in urls.items() if url}
