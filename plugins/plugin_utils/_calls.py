# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""How the servers are called, chosen once per task, by the role's engine and by the modules'
actions alike: the modules' own code in this process when the task runs on the controller
(InProcess), or the modules run on the delegate host (OnDelegate). Both give the module's result,
and the same retry rule holds for both: a failure may be tried again when the module says it may
pass (`may_pass`), never after matching a message's text."""

from __future__ import annotations

import os
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager

from ansible.module_utils.common.arg_spec import ModuleArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError

from ansible_collections.opsmodes.maintenance.plugins.module_utils._base import (
    ModeFailure, converge, follow, mode_service)
from ansible_collections.opsmodes.maintenance.plugins.module_utils._transport import HAS_REQUESTS
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import calls as messages

LOCAL_TRANSPORTS = ("local", "ansible.builtin.local")
# Set to false, a host's tasks run the modules as any module runs, on the controller too.
IN_PROCESS_VARIABLE = "opsmodes_maintenance_in_process"
# A wait says what it waits for after this many seconds, and again every so often.
NOTICE_FIRST = 5.0
NOTICE_EVERY = 15.0
# How often a delegate host is asked whether a switch another task asked for has taken effect.
DELEGATE_POLL_SECONDS = 2.0


def calls_for(transport, run_module, secrets, notify, in_process=True, become=False):
    """The calls of a task whose connection, after delegation, is `transport`: in this process
    when that is the controller, requests imports here and `in_process` allows it, else the module
    on the delegate. A task with `become` runs the module, as another user than this process's.
    `run_module(module, options, check_mode)` runs a module there; `secrets` is the set of values
    to mask, which a call adds the secrets it learns to (a generated token)."""
    if in_process and not become and HAS_REQUESTS and transport in LOCAL_TRANSPORTS:
        return InProcess(secrets, notify)
    return OnDelegate(run_module, secrets, notify)


class ServerCalls:
    """A converge (read, compare, write, wait) or a follow (wait for a write sent earlier) of
    one server, each giving the module's result: failed with `msg` and `may_pass`, or not."""

    runs_here = False

    def __init__(self, secrets, notify):
        self.secrets = secrets
        self.notify = notify

    def converge(self, target, options, check_mode=False, want_diff=False, settle=None, on_write=None):
        raise NotImplementedError

    def follow(self, target, options, pending, previous):
        raise NotImplementedError

    def run_all(self, calls, host, what):
        """Run `calls` (name -> callable) one after the other; returns name -> result."""
        return {name: call() for name, call in calls.items()}


class InProcess(ServerCalls):
    """The modules' code, here, a thread per server: a host's services switch at the same time.
    Each server has one client for the whole task, as a module run has: the session that read the
    mode is kept alive for the write, and an ArcGIS token is generated once, not once per call."""

    runs_here = True

    def __init__(self, secrets, notify):
        super().__init__(secrets, notify)
        self.clients = {}

    def client(self, target, options):
        """`target`'s client, made at its first call from the options that reach the server, which
        are the same for all its calls (only the mode, `wait` and `pending_switch` differ). One
        server's calls run one after the other; a client that could not be made is not kept."""
        if target.key not in self.clients:
            self.clients[target.key] = mode_service(target.service.api, options, self.secrets)
        return self.clients[target.key]

    def module_task(self, service, options, environment, check_mode, diff, invocation, action):
        """A module's task as the module would run it and return it: its options validated (the
        environment fallbacks read with the task's `environment`, which proxies and CA bundles are
        taken from too), its no_log values and the secrets it learns masked in the result, its
        invocation given where ansible-core gives it. `action` is the module's name as the task
        gives it, which AnsibleModule's messages name."""
        spec = service.api.argument_spec()
        with task_environment(environment):
            validation = ModuleArgumentSpecValidator(spec, required_together=service.api.required_together).validate(
                options)
            secrets = set(validation._no_log_values)
            params = validation.validated_parameters
            if validation.error_messages:
                result = {"failed": True, "msg": _validation_message(validation.errors, action)}
            else:
                try:
                    result = converge(service.api, params, check_mode=check_mode, want_diff=diff, secrets=secrets)
                except ModeFailure as failure:
                    result = failed(failure)
        if invocation:
            result["invocation"] = {"module_args": params}
        return remove_values(result, secrets)

    def converge(self, target, options, check_mode=False, want_diff=False, settle=None, on_write=None):
        try:
            return converge(target.service.api, options, check_mode=check_mode, want_diff=want_diff,
                            secrets=self.secrets, settle=settle, on_write=on_write,
                            service=self.client(target, options))
        except ModeFailure as failure:
            return failed(failure)

    def follow(self, target, options, pending, previous):
        try:
            return follow(target.service.api, options, (pending or {}).get("job"), previous, secrets=self.secrets,
                          service=self.client(target, options))
        except ModeFailure as failure:
            return failed(failure)

    def run_all(self, calls, host, what):
        """Run `calls` at once; every NOTICE_EVERY seconds after the first NOTICE_FIRST, say what
        is still awaited (`what(name)` says what one call waits for)."""
        if not calls:
            return {}
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
                    self.notify(messages.still_waiting(host, [what(name) for name, f in futures.items()
                                                              if not f.done()], waited))
                    notice += NOTICE_EVERY
        return {name: future.result() for name, future in futures.items()}


class OnDelegate(ServerCalls):
    """The modules, run on the delegate host: the record cannot hear of a write from inside the
    module, so the write is noted before the module that may write runs, and its job from the
    module's result."""

    def __init__(self, run_module, secrets, notify):
        super().__init__(secrets, notify)
        self.run_module = run_module

    def converge(self, target, options, check_mode=False, want_diff=False, settle=None, on_write=None):
        options = dict(options, pending_switch=settle)
        if check_mode or on_write is None:
            return self.run_module(target, options, check_mode)
        on_write("sending", None)
        outcome = self.run_module(target, options, False)
        on_write("sent" if outcome.get("changed") else "unsent", (outcome.get("pending_switch") or {}).get("job"))
        return outcome

    def follow(self, target, options, pending, previous):
        """Reads on the delegate host, letting the pending switch end first, until the mode is
        reached: never a write, since the module that asked for it already wrote."""
        deadline = time.monotonic() + options["wait_timeout"]
        while True:
            outcome = self.run_module(target, dict(options, pending_switch=pending), True)
            if outcome.get("failed"):
                return outcome
            if not outcome.get("changed"):
                # The module that asked for it wrote; the reads since only saw it done.
                return dict(outcome, changed=True, previous_mode=previous)
            if time.monotonic() >= deadline:
                return dict(outcome, failed=True, may_pass=False, mode=outcome.get("previous_mode"),
                            msg=messages.follow_timed_out(target.url, options["mode"], outcome.get("previous_mode")))
            pending = None
            time.sleep(DELEGATE_POLL_SECONDS)


def failed(failure):
    """A converge's failure as the module's failed result."""
    return dict(failure.result, failed=True, msg=failure.msg, may_pass=failure.may_pass)


def _validation_message(errors, action):
    """AnsibleModule's message for options that do not validate."""
    if isinstance(errors[0], UnsupportedError):
        return messages.unsupported_options(action, errors.msg)
    return errors.msg


@contextmanager
def task_environment(environment):
    """The process's environment as a module's would be: the controller's, with the task's
    `environment:` on top."""
    saved = dict(os.environ)
    os.environ.update({name: str(value) for name, value in environment.items()})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
