# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the servers are called (plugins/plugin_utils/_calls.py): which path a task takes, and the
module's environment as a module would see it."""

from __future__ import annotations

import os

import pytest

from ansible_collections.opsmodes.maintenance.plugins.module_utils._base import ModeFailure
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._calls import (
    InProcess, OnDelegate, calls_for, task_environment)
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._services import SERVICES
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._settings import Target, validated


@pytest.mark.parametrize("transport, changes, path", [
    ("local", {}, InProcess),
    ("ansible.builtin.local", {}, InProcess),
    ("ssh", {}, OnDelegate),
    ("local", {"in_process": False}, OnDelegate),
    ("local", {"become": True}, OnDelegate),
])
def test_the_calls_of_a_task(transport, changes, path):
    assert isinstance(calls_for(transport, None, set(), None, **changes), path)


def test_the_task_environment_is_the_modules_while_it_runs_and_only_then(monkeypatch):
    monkeypatch.setenv("UCS_URL", "https://controller.example.com")
    monkeypatch.delenv("UCS_USERNAME", raising=False)
    with pytest.raises(RuntimeError):
        with task_environment({"UCS_URL": "https://task.example.com", "UCS_USERNAME": "ops", "UCS_RETRIES": 2}):
            assert (os.environ["UCS_URL"], os.environ["UCS_USERNAME"], os.environ["UCS_RETRIES"]) == (
                "https://task.example.com", "ops", "2")
            raise RuntimeError("the module failed")
    assert os.environ["UCS_URL"] == "https://controller.example.com"
    assert "UCS_USERNAME" not in os.environ and "UCS_RETRIES" not in os.environ


def ucs_target(url, **options):
    params = validated(SERVICES["ucs"], dict(options, url=url, mode="maintenance"), "app1", set())
    return Target(SERVICES["ucs"], dict(params, normal_mode="production"))


def test_a_server_has_one_client_for_the_task_and_one_that_could_not_be_made_is_not_kept(tmp_path):
    calls = InProcess(set(), None)
    target = ucs_target("https://ucs1.example.com/cs")
    client = calls.client(target, target.options("maintenance"))
    assert calls.client(target, target.options("production", wait=False, pending_switch={"job": "j1"})) is client
    other = ucs_target("https://ucs2.example.com/cs")
    assert calls.client(other, other.options("maintenance")) is not client
    unreadable = ucs_target("https://ucs3.example.com/cs", ca_path=str(tmp_path / "missing.pem"))
    for _attempt in range(2):
        with pytest.raises(ModeFailure, match="missing.pem does not exist"):
            calls.client(unreadable, unreadable.options("maintenance"))
    assert set(calls.clients) == {target.key, other.key}
