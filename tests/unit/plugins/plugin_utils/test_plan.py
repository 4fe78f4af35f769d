# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The plan (plugins/plugin_utils/_plan.py): what the request step hands to confirm, through the
registered result."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._plan import (
    ENTERING, LEAVING, PlannedServer, from_result, to_result)


def every_field_set():
    """A PlannedServer whose every field holds a value other than its default, of the kind it
    holds (what a result carries as JSON)."""
    values = {"service": "ucs", "key": "ucs https://u", "action": "switch", "entry": {"window": "w1", "sequence": 2},
              "window": "w1", "mode_now": "production", "target_mode": "maintenance", "ended": {"window": "w0"},
              "taken_over": ["app1"], "handed_outside": True, "noted_ahead": "2026-11-24T10:00:00.000Z",
              "tries": 2, "changed": True, "failed": False,
              "msg": "switched",
              "mode": "maintenance", "previous_mode": "production", "may_pass": True, "pending_switch": {"job": "j1"}}
    assert sorted(values) == sorted(field.name for field in fields(PlannedServer)), \
        "a field was added to PlannedServer: give it a value here"
    return PlannedServer(**values)


def test_the_plan_survives_the_registered_result():
    plan = [every_field_set(), PlannedServer(service="arcgis", key="arcgis https://g", action="put back")]
    carried = json.loads(json.dumps(to_result(plan)))
    assert from_result(carried) == plan
    # Every field is in the result, under its own name: the result is what confirm and the summary read.
    assert sorted(carried[0]) == sorted(field.name for field in fields(PlannedServer))


def test_a_result_that_is_not_a_plan_is_refused():
    with pytest.raises(ValueError, match="not a planned server's: plan_version"):
        from_result([dict(to_result([every_field_set()])[0], plan_version=1)])
    assert from_result(None) == [] and from_result([]) == []


def test_take_keeps_what_a_call_tells_and_again_forgets_a_failure():
    item = PlannedServer(service="ucs", key="k", action="switch", changed=True, previous_mode="production")
    item.take({"failed": True, "msg": "HTTP 503", "may_pass": True, "elapsed": 3.0})
    # A failure that names no mode: the mode is not known.
    assert (item.failed, item.msg, item.mode, item.changed, item.previous_mode) == (
        True, "HTTP 503", None, True, "production")
    item.take({"changed": True, "mode": "maintenance", "previous_mode": None})
    assert (item.mode, item.previous_mode) == ("maintenance", "production"), "a value not given keeps the one before"
    item.again()
    assert (item.failed, item.msg, item.changed) == (None, None, True)
    item.again("changed")
    assert item.changed is None


def test_every_action_is_of_enter_or_of_exit():
    assert not set(ENTERING) & set(LEAVING) and len(set(ENTERING + LEAVING)) == 11
