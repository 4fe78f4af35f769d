# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""converge, the read-compare-write-wait of both modules' main and of the role's action, against a
service that does what the test says: the corners no emulator reaches on cue."""

from __future__ import annotations

import pytest

from ansible_collections.opsmodes.maintenance.plugins.module_utils._base import (
    PENDING,
    ApiSpec,
    ModeFailure,
    ModeService,
    converge,
)
from ansible_collections.opsmodes.maintenance.plugins.module_utils._transport import ApiError


class Scripted(ModeService):
    """A server whose reads return `modes` in turn (an ApiError in the list is raised) and whose
    writes and waits do what `write` and `wait` say. Every call is kept in `calls`."""

    document_key = "status"

    def __init__(self, modes, write=None, wait=None):
        self.modes = list(modes)
        self.write_outcome = write
        self.wait_outcome = wait
        self.calls = []

    def read(self, deadline):
        self.calls.append("read")
        mode = self.modes.pop(0) if len(self.modes) > 1 else self.modes[0]
        if isinstance(mode, ApiError):
            raise mode
        return {"mode": mode}

    def mode_of(self, document):
        return document["mode"]

    def write(self, wanted, deadline):
        self.calls.append("write " + wanted)
        if isinstance(self.write_outcome, ApiError):
            raise self.write_outcome
        return self.write_outcome

    def wait(self, wanted, handle, deadline):
        self.calls.append("wait")
        if isinstance(self.wait_outcome, ApiError):
            raise self.wait_outcome
        return {"mode": wanted}

    def settle(self, handle, deadline):
        self.calls.append("settle %s" % handle)


def run(service, mode="maintenance", **kwargs):
    api = ApiSpec("scripted", {}, "SCRIPTED", 5, lambda http, params: service)
    params = dict(mode=mode, validate_certs=True, ca_path=None, timeout=1.0, retries=0, wait=kwargs.pop("wait", True),
                  wait_timeout=5.0)
    return converge(api, params, **kwargs)


def test_converged_server_is_read_once_and_never_written():
    service = Scripted(["maintenance"])
    result = run(service)
    assert result["changed"] is False and result["previous_mode"] == "maintenance"
    assert service.calls == ["read"]


def test_check_mode_reads_and_predicts_with_a_diff():
    service = Scripted(["production"])
    result = run(service, check_mode=True, want_diff=True)
    assert result["changed"] is True and result["mode"] == "maintenance"
    assert result["diff"] == {"before": {"mode": "production"}, "after": {"mode": "maintenance"}}
    assert service.calls == ["read"]


def test_write_then_wait_and_tell_the_caller_of_the_write():
    service = Scripted(["production"], write="job-1")
    told = []
    result = run(service, settle="job-0", on_write=lambda stage, handle: told.append((stage, handle)))
    assert result["changed"] is True and result["status"] == {"mode": "maintenance"}
    assert service.calls == ["settle job-0", "read", "write maintenance", "wait"]
    assert told == [("sending", None), ("sent", "job-1")]


def test_wait_false_returns_once_accepted_but_an_open_answer_is_waited_for():
    accepted = Scripted(["production"], write=None)
    run(accepted, wait=False)
    assert accepted.calls == ["read", "write maintenance"]
    unanswered = Scripted(["production"], write=PENDING)
    run(unanswered, wait=False)
    assert unanswered.calls == ["read", "write maintenance", "wait"]


def test_a_wait_that_ran_out_but_whose_last_read_shows_the_mode_is_a_success():
    service = Scripted(["production", "maintenance"], wait=ApiError("Timed out", reason="timeout"))
    result = run(service)
    assert result["changed"] is True and result["mode"] == "maintenance" and "failed" not in result


def test_a_failed_write_names_the_mode_read_afterwards():
    service = Scripted(["production"], write=ApiError("HTTP 500", status=500, reason="http"))
    with pytest.raises(ModeFailure) as raised:
        run(service)
    assert raised.value.msg == "HTTP 500. The server is in mode production."
    assert raised.value.result["mode"] == "production" and raised.value.result["changed"] is False


def test_a_failed_read_before_any_write_says_nothing_was_changed():
    service = Scripted([ApiError("no route", reason="connection")])
    with pytest.raises(ModeFailure, match=r"^no route\. Nothing was changed\.$") as raised:
        run(service)
    assert raised.value.result == {"mode": None}
    assert service.calls == ["read"]


def test_bad_input_fails_before_the_service_is_made():
    made = []
    api = ApiSpec("scripted", {}, "SCRIPTED", 5, lambda http, params: made.append(1))
    params = dict(mode="maintenance", validate_certs=True, ca_path=None, timeout=0, retries=0, wait=True,
                  wait_timeout=5.0)
    with pytest.raises(ModeFailure, match="timeout must be a positive number"):
        converge(api, params)
    assert made == []
