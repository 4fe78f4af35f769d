# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The window's decisions (plugins/plugin_utils/_decide.py) by themselves: no server, no thread,
no file. Every action word, and the cases the functional tests meet."""

from __future__ import annotations

import pytest

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _decide as decide, _record as record
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import ModesStale, WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._plan import (
    CLOSE, CLOSED_ALREADY, HANDED_ON, JOINED, KEPT, LEFT, NO_RECORD, NOT_HELD, ORPHANED, PUT_BACK, SWITCH,
    PlannedServer)
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._services import SERVICES
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._settings import Settings, Target

T0, T1, T2 = "2026-11-24T10:00:00.000Z", "2026-11-24T10:01:00.000Z", "2026-11-24T10:02:00.000Z"
UCS = Target(SERVICES["ucs"], {"url": "https://ucs1.example.com/cs", "mode": "maintenance", "normal_mode": "production",
                               "wait_timeout": 300.0})
SITE = Target(SERVICES["arcgis"], {"url": "https://gis.example.com/arcgis/admin", "mode": "read_only",
                                   "normal_mode": "editable", "wait_timeout": 300.0})


def settings(host="app1", **changes):
    values = dict(host=host, phase="enter", check_mode=False, targets=(UCS, SITE), by="ops",
                  inventory=frozenset(("app1", "app2", "app3")))
    values.update(changes)
    return Settings(**values)


def opened(mode_before="production", holders=("app1",), requested=None, target=UCS, **changes):
    entry = record.new_entry(target.name, target.url, mode_before, target.maintenance_mode, holders[0], "ops", T0)
    return dict(entry, holders=list(holders), requested=requested, **changes)


# -- enter ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case, current, mode_now, host, action", [
    ("no record: the server is switched", None, "production", "app1", SWITCH),
    ("in maintenance before the window: left so", None, "maintenance", "app1", LEFT),
    ("a closed record: a new window", "closed", "production", "app1", SWITCH),
    ("its own open window, in maintenance: kept", "open", "maintenance", "app1", KEPT),
    ("a window another host holds: joined", "open", "maintenance", "app2", JOINED),
    ("another host's switch still on its way: joined", "switching", "production", "app2", JOINED),
])
def test_enter(case, current, mode_now, host, action):
    entry = {None: None, "closed": record.closed(opened(), T1, "put back"), "open": opened(),
             "switching": opened(requested=T1)}[current]
    plan = decide.plan_enter((UCS,), {UCS.key: entry}, {UCS.key: entry}, {"ucs": mode_now}, settings(host), T2)
    item = plan[0]
    assert item.action == action, case
    assert (item.service, item.key, item.mode_now, item.target_mode) == ("ucs", UCS.key, mode_now, "maintenance")
    assert item.window == item.entry["window"] and record.is_open(item.entry) and host in item.entry["holders"]
    # The switch is on the record from the start, noted ahead of its write.
    assert item.noted_ahead == (T2 if action == SWITCH else None)
    if action == SWITCH:
        assert item.entry["requested"] == T2 and item.entry["mode_before"] == mode_now
        assert item.entry["history"] == ([entry["window"]] if entry else [])
    if action in (KEPT, JOINED):
        assert item.window == entry["window"] and item.entry["mode_before"] == entry["mode_before"]
    if action == JOINED:
        assert item.entry["holders"] == sorted({"app1", host}) and item.entry["sequence"] == entry["sequence"] + 1


def test_enter_closes_a_window_that_ended_outside_it_and_opens_a_new_one():
    """Stale: open, the switch done long ago (no write on the record), the server out of
    maintenance (put back by hand), and nobody wrote to the entry since it was read."""
    stale = opened()
    entry, action, ended = decide.opening(UCS, stale, stale, "production", settings("app2"), T2)
    assert action == SWITCH and ended["state"] == "closed" and ended["window"] == stale["window"]
    assert ended["note"] == "ended outside this window: app2 found the server in production at enter"
    assert entry["history"] == [stale["window"]] and entry["holders"] == ["app2"]


def test_enter_joins_a_window_written_to_since_its_mode_was_read():
    """The mode was read before another host's switch was confirmed: that write tells more than
    the read, which may have come before the switch."""
    read_before = opened(requested=T1)
    confirmed = record.advanced(read_before, requested=None)
    entry, action, ended = decide.opening(UCS, confirmed, read_before, "production", settings("app2"), T2)
    assert (action, ended) == (JOINED, None) and entry["window"] == confirmed["window"]


@pytest.mark.parametrize("case, known, current", [
    ("the window read before the mode was closed since", opened(holders=("app1",)),
     record.closed(opened(holders=("app1",)), T1, "put back")),
    ("a window opened and closed since", None, record.closed(opened(holders=("app1",)), T1, "put back")),
])
def test_enter_reads_again_a_mode_read_before_the_record_changed(case, known, current):
    """app2 reads the record (app1's window open), then the mode; meanwhile app1's exit puts the
    server back and closes the record: the mode read may be from before that put-back. Taken as
    the mode before the window, it would leave the work to run with the server out of
    maintenance."""
    with pytest.raises(ModesStale) as raised:
        decide.opening(UCS, current, known, "maintenance", settings("app2"), T2)
    assert raised.value.target is UCS, case


def test_enter_trusts_a_mode_read_after_the_record_as_it_is():
    closed = record.closed(opened(), T1, "put back")
    assert decide.opening(UCS, closed, closed, "maintenance", settings("app2"), T2)[1] == LEFT
    assert decide.opening(UCS, None, None, "maintenance", settings("app2"), T2)[1] == LEFT


@pytest.mark.parametrize("current, message", [
    (opened(maintenance_mode="production"), "has an open window that put it in production"),
    (opened(leaving="app3"), "an exit by app3 began putting the server"),
])
def test_enter_refuses(current, message):
    with pytest.raises(WindowError, match=message):
        decide.opening(UCS, current, current, "maintenance", settings("app2"), T2)


def test_a_dry_run_of_hosts_sharing_a_server_switches_it_once_and_joins_it_after():
    sharing = {UCS.key: ("app1", "app2")}
    first = decide.opening(UCS, None, None, "production", settings("app1", check_mode=True, sharing=sharing), T2)
    second = decide.opening(UCS, None, None, "production", settings("app2", check_mode=True, sharing=sharing), T2)
    assert first[1] == SWITCH and second[1] == JOINED
    assert second[0]["holders"] == ["app1", "app2"] and second[0]["mode_before"] == "production"
    # A real run decides by the record that the first host wrote, not by the batch.
    assert decide.opening(UCS, None, None, "production", settings("app2", sharing=sharing), T2)[1] == SWITCH


def test_enter_that_could_not_read_leaves_a_closed_record():
    entry = decide.closed_before_any_switch(UCS, None, None, settings(), T2)
    assert entry["state"] == "closed" and entry["note"] == "enter failed before any switch"
    assert decide.closed_before_any_switch(UCS, opened(), "production", settings(), T2) is None


# -- exit -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case, entry, host, changes, action, mode", [
    ("no record", None, "app1", {}, NO_RECORD, None),
    ("no record, window_no_record=normal", None, "app1", {"no_record": "normal"}, PUT_BACK, "production"),
    ("closed already", record.closed(opened(), T1, "put back"), "app1", {}, CLOSED_ALREADY, None),
    ("the last holder puts back", opened(), "app1", {}, PUT_BACK, "production"),
    ("in maintenance before: closed", opened("maintenance"), "app1", {}, CLOSE, None),
    ("mode before unknown: closed", opened(None), "app1", {}, CLOSE, None),
    ("others hold it: handed on", opened(holders=("app1", "app2")), "app1", {}, HANDED_ON, None),
    ("a job slice's holder elsewhere: handed on", opened(holders=("app1", "app9")), "app1", {}, HANDED_ON, None),
    ("left already", opened(holders=("app2",), left=["app1"]), "app1", {}, NOT_HELD, None),
    ("never held, held by a host of the inventory", opened(holders=("app2",)), "app3", {}, NOT_HELD, None),
    ("renamed holder: refused", opened(holders=("app1",)), "app1.example.com", {}, ORPHANED, None),
    ("renamed holder, taken over", opened(holders=("app1",)), "app1.example.com",
     {"take_over": frozenset(("app1",))}, PUT_BACK, "production"),
    ("two renamed holders, one taken over: refused", opened(holders=("app1", "app8")), "app1.example.com",
     {"take_over": frozenset(("app1",))}, ORPHANED, None),
])
def test_exit(case, entry, host, changes, action, mode):
    inventory = frozenset(("app1.example.com", "app2", "app3")) if host == "app1.example.com" else \
        frozenset(("app1", "app2", "app3"))
    item = decide.plan_exit((UCS,), {UCS.key: entry}, settings(host, inventory=inventory, **changes), T2)[0]
    assert (item.action, item.target_mode) == (action, mode), case
    # A put-back to an entry is noted on it when exit claims it.
    assert item.noted_ahead == (T2 if action == PUT_BACK and entry else None)
    assert item.entry is entry and item.window == (entry["window"] if entry else None)
    assert item.taken_over == (["app1"] if changes.get("take_over") and action == PUT_BACK else None)
    # Handed on to hosts of which none is in the inventory (app9): the report says so.
    assert item.handed_outside == (action == HANDED_ON and "app9" in entry["holders"])


@pytest.mark.parametrize("case, entry, changes", [
    ("a write still in flight on the entry: let end first", opened(requested=T1), {}),
    ("a dry run notes nothing", opened(), {"check_mode": True}),
])
def test_exit_notes_no_put_back_ahead(case, entry, changes):
    item = decide.plan_exit((UCS,), {UCS.key: entry}, settings(**changes), T2)[0]
    assert item.action == PUT_BACK and item.noted_ahead is None, case
    assert decide.leaving_entry(item, "app1")["requested"] == entry["requested"], case


def test_a_dry_run_exit_of_hosts_sharing_a_server_puts_it_back_once():
    shared = opened(holders=("app1", "app2"))
    sharing = {UCS.key: ("app1", "app2")}
    actions = [decide.leaving(UCS, shared, settings(host, check_mode=True, sharing=sharing))[0]
               for host in ("app1", "app2")]
    assert actions == [HANDED_ON, PUT_BACK]
    # A holder outside the batch keeps it in maintenance.
    assert decide.leaving(UCS, opened(holders=("app1", "app2", "app3")),
                          settings("app2", check_mode=True, sharing=sharing))[0] == HANDED_ON


@pytest.mark.parametrize("action, entry, taken, ahead, expected", [
    (HANDED_ON, opened(holders=("app1", "app2")), None, None, {"holders": ["app2"], "left": ["app1"]}),
    (PUT_BACK, opened(), None, None, {"holders": ["app1"], "leaving": "app1", "requested": None}),
    (PUT_BACK, opened(), None, T2, {"holders": ["app1"], "leaving": "app1", "requested": T2}),
    (CLOSE, opened("maintenance"), None, None, {"holders": ["app1"], "leaving": "app1", "requested": None}),
    (PUT_BACK, opened(holders=("old",)), ["old"], T2,
     {"holders": ["app1"], "leaving": "app1", "taken_over": ["old"], "requested": T2}),
    (NOT_HELD, opened(holders=("app2",)), None, None, None),
    (NO_RECORD, None, None, None, None),
])
def test_what_exits_request_writes(action, entry, taken, ahead, expected):
    item = PlannedServer(service="ucs", key=UCS.key, action=action, entry=entry, taken_over=taken, noted_ahead=ahead)
    written = decide.leaving_entry(item, "app1")
    if expected is None:
        assert written is None
        return
    assert {key: written.get(key) for key in expected} == expected and written["sequence"] == entry["sequence"] + 1


def test_a_failed_enter_puts_back_what_it_switched_and_leaves_shared_servers_to_their_holders():
    own = opened()
    shared = opened(holders=("app1", "app2"), target=SITE, mode_before="editable")
    plan = [PlannedServer(service="ucs", key=UCS.key, action=SWITCH, entry=own, window=own["window"], noted_ahead=T2),
            PlannedServer(service="arcgis", key=SITE.key, action=JOINED, entry=shared, window=shared["window"])]
    back = decide.plan_back(plan, {UCS.key: own, SITE.key: shared}, {"ucs": UCS, "arcgis": SITE}, settings())
    assert [(item.service, item.action, item.target_mode) for item in back] == [("ucs", PUT_BACK, "production")]
    # The put-back lets whatever the entry says is in flight end first, the switch too.
    assert back[0].noted_ahead is None
    assert plan[1].action == HANDED_ON and plan[1].entry["holders"] == ["app2"]


def test_a_failed_enter_leaves_a_window_that_is_no_longer_its_own():
    own = opened()
    replaced = opened(holders=("app3",))
    plan = [PlannedServer(service="ucs", key=UCS.key, action=KEPT, entry=own, window=own["window"])]
    assert decide.plan_back(plan, {UCS.key: own}, {"ucs": UCS}, settings()) == []
    plan = [PlannedServer(service="ucs", key=UCS.key, action=SWITCH, entry=own, window=own["window"])]
    assert decide.plan_back(plan, {UCS.key: replaced}, {"ucs": UCS}, settings()) == []
    assert plan[0].action == SWITCH


def test_a_failed_enter_leaves_a_window_an_exit_is_putting_back():
    """An exit claimed the window meanwhile (a run of exit while this enter's worker, which
    kill -9 left running, still went on): that exit puts it back."""
    claimed = opened(leaving="app1")
    plan = [PlannedServer(service="ucs", key=UCS.key, action=SWITCH, entry=claimed, window=claimed["window"])]
    assert decide.plan_back(plan, {UCS.key: claimed}, {"ucs": UCS}, settings()) == []
    assert plan[0].action == SWITCH
