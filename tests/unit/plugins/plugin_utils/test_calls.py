# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the servers are called (plugins/plugin_utils/_calls.py): which path a task takes, and the
module's environment as a module would see it."""

from __future__ import annotations

import os

import pytest

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._calls import (
    InProcess, OnDelegate, calls_for, task_environment)


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
