# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter that prints the end-of-play table of a window."""

from __future__ import annotations

from ansible_collections.opsmodes.maintenance.plugins.filter.window_summary import FilterModule

ROW = {"host": "app1", "service": "ucs", "mode_before": "production", "mode_now": "production", "action": "put back"}


def test_first_defined_result_per_host_and_hosts_without_one():
    window_summary = FilterModule().filters()["window_summary"]
    hostvars = {
        "app1": {"window_exit": {"rows": [ROW]}, "window_enter": {"rows": []}},
        "app2": {"window_enter": {"failed": True, "msg": "Entering maintenance failed on app2 before any switch"}},
        "app3": {},
        "app4": {"window_exit": {"rows": []}},
    }
    lines = window_summary(hostvars, ["app1", "app2", "app3", "app4"], "window_exit", "window_enter")
    assert lines[0].split() == ["host", "service", "mode", "before", "mode", "now", "action"]
    assert lines[1].split() == ["app1", "ucs", "production", "production", "put", "back"]
    assert lines[2].startswith("app2") and lines[2].endswith(
        "failed: Entering maintenance failed on app2 before any switch")
    assert lines[3].split()[-2:] == ["no", "result"]
    assert lines[4].split()[-2:] == ["no", "service"]


def test_hosts_of_later_serial_batches_are_counted_not_listed():
    window_summary = FilterModule().filters()["window_summary"]
    hostvars = {"app1": {"window_exit": {"rows": [ROW]}}, "app2": {}, "app3": {}, "app4": {}}
    # app2 failed before the role in this batch (no longer active); app3 and app4 wait for theirs.
    lines = window_summary(hostvars, ["app1", "app2", "app3", "app4"], "window_exit",
                           active=["app1", "app3", "app4"], batch=["app1"])
    assert [line.split()[0] for line in lines[1:-1]] == ["app1", "app2"]
    assert lines[2].split()[-2:] == ["no", "result"]
    assert lines[-1] == "(2 more hosts in later batches)"
    # The last batch: every host has run, nothing is left out.
    assert window_summary(hostvars, ["app1"], "window_exit", active=["app1"], batch=["app1"])[-1].startswith("app1")
