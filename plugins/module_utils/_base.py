# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""What every mode module shares: the option specs merged into its own, and `converge`, the one
read-compare-write-wait that both the modules' `main` and the role's action plugin run."""

from __future__ import annotations

import time

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.opsmodes.maintenance.plugins.module_utils._transport import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    ApiError,
    HttpSession,
    check_ca_path,
    transient,
)


class ApiSpec:
    """What a client module (ucs.py, arcgis.py) declares about its API for the code here.

    `options`: the module's own option specs; `env_prefix`: the prefix of its environment
    variables (`UCS`, `ARCGIS`); `wait_timeout`: the default of that option; `service`: a
    callable (HttpSession, params) -> ModeService, raising ApiError on bad input.
    """

    def __init__(self, name, options, env_prefix, wait_timeout, service, required_together=()):
        self.name = name
        self.options = options
        self.env_prefix = env_prefix
        self.wait_timeout = wait_timeout
        self.service = service
        self.required_together = list(required_together)

    def argument_spec(self):
        """The module's options merged with the shared ones documented by the
        `opsmodes.maintenance.connection` doc fragment."""
        spec = dict(
            validate_certs=dict(type="bool", default=True,
                                fallback=(env_fallback, [self.env_prefix + "_VALIDATE_CERTS"])),
            ca_path=dict(type="path", fallback=(env_fallback, [self.env_prefix + "_CA_PATH"])),
            timeout=dict(type="float", default=30),
            retries=dict(type="int", default=3),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="float", default=self.wait_timeout),
            pending_switch=dict(type="dict"),
        )
        spec.update(self.options)
        return spec


class ModeService:
    """One server's mode, as `converge` needs it; ucs.py and arcgis.py implement it, sending on
    their HttpSession `http`.

    `document_key` names the document read last in results (`status`, `site_mode`).
    """

    document_key = "document"

    def read(self, deadline):
        """The document that carries the mode, waiting through a switch under way until
        `deadline` (a time.monotonic() value). ApiError when it cannot be had."""
        raise NotImplementedError

    def mode_of(self, document):
        raise NotImplementedError

    def differs(self, document, wanted):
        return self.mode_of(document) != wanted

    def diff(self, document, wanted):
        return {"before": {"mode": self.mode_of(document)}, "after": {"mode": wanted}}

    def write(self, wanted, deadline):
        """Ask for `wanted`. Returns a handle for `wait` (the server's answer says what to wait
        on), or PENDING when the answer leaves open whether the write was taken: then the mode
        read decides, and `wait` must run whatever the `wait` option says."""
        raise NotImplementedError

    def wait(self, wanted, handle, deadline):
        """Wait until the server reports `wanted`; the document read last. ApiError otherwise."""
        raise NotImplementedError

    def settle(self, handle, deadline):
        """Let a switch that an earlier run sent end before the mode is read, where the server's
        mode does not show a switch under way. `handle` is what `pending_switch` returns."""


# `write`'s answer when the server may or may not have taken the write.
PENDING = object()
# A connection idle for longer may be closed by the server just as the write goes out on it, which
# would leave the write unanswered: after a note on the record that took this long (its lock's
# wait), the write opens a connection of its own.
IDLE_BEFORE_WRITE = 5.0


class ModeFailure(Exception):
    """A failed converge: `msg` says what happened and where the server stands, `result` holds
    the rest of the task's result (`mode` always). `may_pass` is true when the cause may pass by
    itself (no connection, a server error), false when trying again would meet it again (a
    refused login, a missing privilege, a wrong URL, a switch that did not take effect in time)."""

    def __init__(self, msg, may_pass=False, **result):
        super().__init__(msg)
        self.msg = msg
        self.may_pass = may_pass
        self.result = result


def validate_params(params):
    check_ca_path(params["ca_path"])
    for option in ("timeout", "wait_timeout"):
        if params[option] <= 0:
            raise ApiError("%s must be a positive number of seconds, got %s" % (option, params[option]))
    if params["retries"] < 0:
        raise ApiError("retries must be zero or more, got %s" % params["retries"])


def http_session(params, secrets):
    """The HTTP session of one module run, or of one server's client for a task. `secrets` is
    shared by reference: a secret learnt at run time (a generated token) is then masked in excerpts
    and in results alike."""
    return HttpSession(validate_certs=params["validate_certs"], ca_path=params["ca_path"], timeout=params["timeout"],
                       retries=params["retries"], secrets=secrets)


def mode_service(api, params, secrets=None):
    """The client of one server (a ModeService on its own HTTP session); ModeFailure for options
    that cannot reach it. A caller that runs several converges or follows on one server within one
    task may make it once and pass it to each: one session kept alive, and one ArcGIS token."""
    try:
        validate_params(params)
        return api.service(http_session(params, set() if secrets is None else secrets), params)
    except ApiError as exc:
        raise ModeFailure(str(exc), mode=None)


def converge(api, params, check_mode=False, want_diff=False, secrets=None, settle=None, on_write=None, service=None):
    """Bring one server to `params['mode']`: read, compare, write only when it differs, wait.
    Returns the task result; raises ModeFailure, whose message names the server's mode, or says
    that nothing was changed.

    `settle` (or the option `pending_switch`) is a switch an earlier run sent, to let end first.
    `on_write(stage, handle)` is told of a write just before it is sent ("sending", None) and as
    soon as the server has answered it ("sent", the handle `write` returned), before the wait: the
    role records both. With `params['wait']` false, a write the server took is not waited for: the
    result's `pending_switch` says what to let end (`follow`, or a later run's `settle`). `service`
    is the server's client from `mode_service`, made here when not given."""
    service = service if service is not None else mode_service(api, params, secrets)
    wanted = params["mode"]
    started = time.monotonic()
    deadline = started + params["wait_timeout"]
    settle = settle or params.get("pending_switch")
    try:
        if settle:
            service.settle(settle, deadline)
        document = service.read(deadline)
    except ApiError as exc:
        raise before_write_failure(service, exc)

    previous = service.mode_of(document)
    result = dict(changed=service.differs(document, wanted), mode=wanted, previous_mode=previous, elapsed=0.0)
    result[service.document_key] = document
    if want_diff:
        result["diff"] = service.diff(document, wanted)
    if not result["changed"] or check_mode:
        return result

    started = time.monotonic()
    deadline = started + params["wait_timeout"]
    sent = time.time()
    try:
        if on_write is not None:
            noting = time.monotonic()
            on_write("sending", None)
            if time.monotonic() - noting > IDLE_BEFORE_WRITE:
                service.http.drop_connections()
        handle = service.write(wanted, deadline)
        if on_write is not None:
            on_write("sent", handle)
    except ApiError as exc:
        result["elapsed"] = round(time.monotonic() - started, 3)
        return after_write_outcome(service, exc, wanted, previous, result)
    if params["wait"] or handle is PENDING:
        return _wait(service, wanted, handle, started, deadline, previous, result)
    result["pending_switch"] = pending_switch(handle, sent, params["wait_timeout"])
    return result


def pending_switch(handle, sent, wait_timeout):
    """A switch the server took, as `settle` takes it: its job, or when it gave none, the time it
    was sent and the time by which it ends."""
    if isinstance(handle, str) and handle:
        return {"job": handle}
    return {"sent": sent, "until": sent + wait_timeout}


def follow(api, params, handle, previous, secrets=None, service=None):
    """Wait for a write that converge sent with `params['wait']` false (its `handle`) to take
    effect: the role requests every host's switch first, then waits for them all, so that a
    batch of forks does not wait out one host's switch before the next host's starts."""
    service = service if service is not None else mode_service(api, params, secrets)
    started = time.monotonic()
    return _wait(service, params["mode"], handle, started, started + params["wait_timeout"], previous,
                 dict(changed=True, mode=params["mode"], previous_mode=previous, elapsed=0.0))


def _wait(service, wanted, handle, started, deadline, previous, result):
    try:
        result[service.document_key] = service.wait(wanted, handle, deadline)
    except ApiError as exc:
        result["elapsed"] = round(time.monotonic() - started, 3)
        return after_write_outcome(service, exc, wanted, previous, result)
    result["elapsed"] = round(time.monotonic() - started, 3)
    return result


def before_write_failure(service, error):
    """Nothing was written. After a server-side error (5xx, an answer that is not JSON) one more
    read may still name the mode; after a refused login it is not tried, since repeated failed
    logins can lock an account, nor after a connection failure or a timeout."""
    passing = may_pass(error)
    if transient(error) and error.reason not in ("timeout", "connection"):
        try:
            mode = service.mode_of(service.read(None))
        except ApiError:
            return ModeFailure("%s. Nothing was changed; its mode could not be read." % sentence(error),
                               may_pass=passing, mode=None)
        return ModeFailure("%s. Nothing was changed; the server is in mode %s." % (sentence(error), mode),
                           may_pass=passing, mode=mode)
    return ModeFailure("%s. Nothing was changed." % sentence(error), may_pass=passing, mode=None)


def after_write_outcome(service, error, wanted, previous, result):
    """A write was attempted and something went wrong: read the mode once more. When it is the
    mode wanted, the switch happened after all (a wait that ran out just before the end): that is
    a success. Otherwise fail, saying which mode the server is in: that is what the operator needs
    to decide the next step."""
    try:
        document = service.read(None)
        mode = service.mode_of(document)
    except ApiError as exc:
        raise ModeFailure("%s. The mode could not be read afterwards, so it may have changed: %s"
                          % (sentence(error), exc),
                          may_pass=may_pass(error), changed=True, mode=None, previous_mode=previous,
                          elapsed=result["elapsed"])
    if not service.differs(document, wanted):
        result[service.document_key] = document
        return result
    raise ModeFailure("%s. The server is in mode %s." % (sentence(error), mode), may_pass=may_pass(error),
                      changed=mode != previous, mode=mode, previous_mode=previous, elapsed=result["elapsed"])


class MaintenanceModule(AnsibleModule):
    """An AnsibleModule for one API's ApiSpec, whose `run` is the module's whole `main`."""

    def __init__(self, api, **kwargs):
        self.api = api
        super().__init__(argument_spec=api.argument_spec(), supports_check_mode=True,
                         required_together=api.required_together, **kwargs)
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)

    def run(self):
        # The module's set of no_log values is shared with the HTTP session, so that a token
        # generated at run time is masked in the result too.
        try:
            result = converge(self.api, self.params, check_mode=self.check_mode, want_diff=self._diff,
                              secrets=self.no_log_values)
        except ModeFailure as failure:
            self.fail_json(msg=failure.msg, may_pass=failure.may_pass, **failure.result)
        self.exit_json(**result)


def may_pass(error):
    """Whether trying again at once may succeed: a fault that passes (no connection, a server
    error), but not a wait that ran out, which another wait_timeout would most likely repeat."""
    return transient(error) and error.reason != "timeout"


def sentence(error):
    """The error's text without a final full stop, to be followed by one of ours: servers end their
    messages with one or not."""
    return str(error).rstrip(". ")
