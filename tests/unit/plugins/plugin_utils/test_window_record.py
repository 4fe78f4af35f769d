# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The maintenance window's record (plugins/plugin_utils/_record.py): server keys, entries, the
order of their copies and 1.0.0 records. The state file has tests of its own (test_state_file.py)."""

from __future__ import annotations

import time

import pytest

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _record as record
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages.phases import describe
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._record import CLOSED, HISTORY_LENGTH, OPEN

T0, T1, T2, T3 = ("2026-11-24T10:00:00.000Z", "2026-11-24T11:00:00.000Z", "2026-11-24T12:00:00.000Z",
                  "2026-11-24T13:00:00.000Z")
URL = "https://ucs1.example.com:8443/cs"
KEY = "ucs https://ucs1.example.com:8443/cs"


def entry(mode_before="production", holder="app1", now=T0, replaces=None, maintenance="maintenance", url=URL):
    return record.new_entry("ucs", url, mode_before, maintenance, holder, "ops", now, replaces=replaces)


def legacy_entry(mode_before="production", state=OPEN, opened=T0, closed=None, requested=None, handle=None):
    """An entry as 1.0.0 wrote it, per host and service."""
    return {"state": state, "mode_before": mode_before, "maintenance_mode": "maintenance", "opened": opened,
            "by": "ops", "closed": closed, "note": "put back" if state == CLOSED else "", "requested": requested,
            "handle": handle}


# -- servers ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("url, normalized", [
    ("HTTPS://UCS1.Example.COM/cs", "https://ucs1.example.com/cs"),
    ("https://ucs1.example.com:443/cs", "https://ucs1.example.com/cs"),
    ("http://ucs1.example.com:80/cs", "http://ucs1.example.com/cs"),
    ("https://ucs1.example.com:80/cs", "https://ucs1.example.com:80/cs"),
    ("http://ucs1.example.com:443/cs", "http://ucs1.example.com:443/cs"),
    ("https://ucs1.example.com:8443/cs", "https://ucs1.example.com:8443/cs"),
    ("https://ucs1.example.com/cs/", "https://ucs1.example.com/cs"),
    ("https://ucs1.example.com/", "https://ucs1.example.com"),
    ("https://ucs1.example.com", "https://ucs1.example.com"),
    ("  https://ucs1.example.com/cs  ", "https://ucs1.example.com/cs"),
    ("https://admin:secret@ucs1.example.com:8443/cs?tenant=1#top", "https://ucs1.example.com:8443/cs"),
    ("https://ucs1.example.com/ArcGIS/Admin", "https://ucs1.example.com/ArcGIS/Admin"),
    ("https://[2001:DB8::1]:8443/cs/", "https://[2001:db8::1]:8443/cs"),
    ("https://[2001:db8::1]:443/cs", "https://[2001:db8::1]/cs"),
    ("http://[::1]/", "http://[::1]"),
])
def test_normalize_url(url, normalized):
    assert record.normalize_url(url) == normalized


def test_server_key_is_the_service_and_the_normalized_url():
    assert record.server_key("ucs", "HTTPS://u@UCS1.example.com:443/cs/?x=1") == "ucs https://ucs1.example.com/cs"
    assert record.server_key("ucs", URL) == KEY
    # One server, spelled two ways, is one key; another service on it is another key; the path's case counts.
    assert record.server_key("ucs", "https://ucs1.example.com/cs") == \
        record.server_key("ucs", "https://UCS1.EXAMPLE.COM:443/cs/")
    assert record.server_key("arcgis", URL) != record.server_key("ucs", URL)
    assert record.server_key("ucs", "https://ucs1.example.com/CS") != \
        record.server_key("ucs", "https://ucs1.example.com/cs")


# -- entries ------------------------------------------------------------------------------------------
def test_new_entry_of_a_first_window():
    opened = record.new_entry("ucs", "HTTPS://UCS1.example.com:8443/cs/", "production", "maintenance", "app1", "ops",
                              T0, max_open=3600)
    assert opened["server"] == KEY and opened["url"] == URL and opened["service"] == "ucs"
    assert opened["sequence"] == 1 and opened["history"] == [] and opened["state"] == OPEN
    assert opened["holders"] == ["app1"] and opened["opened"] == T0 and opened["by"] == "ops"
    assert opened["mode_before"] == "production" and opened["maintenance_mode"] == "maintenance"
    assert opened["closed"] is None and opened["requested"] is None and opened["handle"] is None
    # The deadline is an hour after it opened, and only an open entry past it is overdue.
    assert opened["deadline"] == T1
    assert not record.overdue(opened, T0) and record.overdue(opened, T2)
    assert not record.overdue(record.closed(opened, T1, "put back"), T2)
    assert record.entry_of(opened) is opened
    # Every window has its own id.
    assert entry()["window"] != entry()["window"]


def test_advanced_moves_the_sequence_and_keeps_the_entry():
    opened = entry()
    requested = record.advanced(opened, requested=T1)
    assert requested["sequence"] == 2 and requested["requested"] == T1 and requested["window"] == opened["window"]
    assert opened["sequence"] == 1 and opened["requested"] is None, "the entry given is not changed"
    assert record.advanced(record.advanced(requested), handle="job-1")["sequence"] == 4


def test_closed_clears_holders_and_the_write_in_flight():
    opened = record.advanced(dict(entry(), holders=["app1", "app2"]), requested=T1, handle="job-1")
    done = record.closed(opened, T2, "put back")
    assert done["state"] == CLOSED and done["closed"] == T2 and done["note"] == "put back"
    assert done["holders"] == [] and done["requested"] is None and done["handle"] is None
    assert done["sequence"] == opened["sequence"] + 1 and done["window"] == opened["window"]
    assert done["mode_before"] == "production" and done["opened"] == T0


def test_a_new_window_lists_the_earlier_ones_in_its_history():
    first = record.closed(entry(), T1, "put back")
    second = entry(now=T2, replaces=first)
    third = entry(now=T3, replaces=second)
    assert second["history"] == [first["window"]] and second["sequence"] == 1
    assert third["history"] == [first["window"], second["window"]]
    assert first["history"] == [] and second["history"] == [first["window"]], "the replaced entries are not changed"


def test_history_is_capped_at_history_length():
    current = entry()
    windows = [current["window"]]
    for _step in range(HISTORY_LENGTH + 5):
        current = entry(replaces=record.closed(current, T1, "put back"))
        windows.append(current["window"])
    assert len(current["history"]) == HISTORY_LENGTH
    # The latest earlier windows are kept, the oldest dropped.
    assert current["history"] == windows[-HISTORY_LENGTH - 1:-1]


@pytest.mark.parametrize("value, target", [
    (None, None),
    ({"mode_before": "production", "maintenance_mode": "maintenance", "state": OPEN}, "production"),
    ({"mode_before": "editable", "maintenance_mode": "read_only", "state": OPEN}, "editable"),
    ({"mode_before": "maintenance", "maintenance_mode": "maintenance", "state": OPEN}, None),
    ({"mode_before": None, "maintenance_mode": "maintenance", "state": OPEN}, None),
    ({"mode_before": "production", "maintenance_mode": "maintenance", "state": CLOSED}, None),
])
def test_target_on_exit(value, target):
    assert record.target_on_exit(value) == target


def test_target_on_exit_of_real_entries():
    assert record.target_on_exit(entry("production")) == "production"
    assert record.target_on_exit(entry("maintenance")) is None
    assert record.target_on_exit(record.closed(entry("production"), T1, "put back")) is None


@pytest.mark.parametrize("mode_before, state, live, stale", [
    ("production", CLOSED, "maintenance", True),
    ("production", CLOSED, "production", False),
    ("maintenance", CLOSED, "maintenance", False),
    (None, CLOSED, "maintenance", False),
    ("production", CLOSED, None, False),
    ("production", OPEN, "maintenance", False),
])
def test_closed_but_in_maintenance(mode_before, state, live, stale):
    value = entry(mode_before)
    if state == CLOSED:
        value = record.closed(value, T1, "put back")
    assert record.closed_but_in_maintenance(value, live) is stale
    assert record.closed_but_in_maintenance(None, live) is False


def test_in_flight():
    assert record.in_flight(None) is False
    assert record.in_flight(entry()) is False
    assert record.in_flight(record.advanced(entry(), requested=T1)) is True
    assert record.in_flight(record.closed(record.advanced(entry(), requested=T1), T2, "put back")) is False


def test_settle_handle():
    assert record.settle_handle(None, 60) is None
    assert record.settle_handle(entry(), 60) is None
    assert record.settle_handle(record.advanced(entry(), requested=T1, handle="job-7"), 60) == {"job": "job-7"}
    sent = record.epoch_of(T1)
    assert sent == 1795518000.0
    # A switch may go out up to NOTED_AHEAD after its note: who waits for it waits as much longer.
    assert record.settle_handle(record.advanced(entry(), requested=T1), 60) == {"sent": sent, "until": sent + 62}
    assert record.settle_handle(record.advanced(entry(), requested=T1, handle=None), 7.5) == \
        {"sent": sent, "until": sent + 9.5}
    assert abs(record.epoch_of(record.utc_now()) - time.time()) < 5


def test_entry_of_takes_only_entries_of_this_version():
    assert record.entry_of(entry()) is not None
    assert record.entry_of(legacy_entry()) is None
    assert record.entry_of(dict(entry(), sequence="1")) is None
    assert record.entry_of(dict(entry(), state="weird")) is None
    assert record.entry_of("open") is None and record.entry_of(None) is None


def test_same():
    opened = entry()
    assert record.same(opened, dict(opened)) and record.same(None, None)
    assert not record.same(opened, record.advanced(opened)) and not record.same(opened, None)
    assert not record.same(opened, dict(entry(), sequence=1))


# -- copies of an entry -------------------------------------------------------------------------------
def test_supersedes():
    opened = entry()
    further = record.advanced(opened, requested=T1)
    later = entry(now=T2, replaces=record.closed(further, T1, "put back"))
    assert record.supersedes(further, opened) and not record.supersedes(opened, further)
    assert not record.supersedes(opened, dict(opened))
    assert record.supersedes(later, opened) and record.supersedes(later, further)
    assert not record.supersedes(opened, later) and not record.supersedes(further, later)
    unrelated = entry(now=T3)
    assert not record.supersedes(unrelated, opened) and not record.supersedes(opened, unrelated)


@pytest.mark.parametrize("first", ["state_file", "fact"])
def test_choose_takes_the_higher_sequence_of_one_window_whichever_comes_first(first):
    opened = entry()
    done = record.closed(record.advanced(opened, requested=T1), T2, "put back")
    copies = {"state_file": opened, "fact": done} if first == "state_file" else {"state_file": done, "fact": opened}
    assert record.choose(list(copies.items())) is done
    assert record.choose(list(reversed(list(copies.items())))) is done


def test_choose_takes_a_later_window_that_names_the_earlier_one():
    earlier = entry("production")
    later = entry("maintenance", now=T2, replaces=record.closed(earlier, T1, "put back"))
    # Their exit effects differ: only the history orders them.
    assert record.choose([("state_file", earlier), ("window_records", later)]) is later
    assert record.choose([("state_file", later), ("window_records", earlier)]) is later


def test_choose_skips_missing_copies():
    opened = entry()
    assert record.choose([]) is None
    assert record.choose([("state_file", None), ("fact", None)]) is None
    assert record.choose([("state_file", None), ("window_records", opened), ("fact", None)]) is opened


def test_choose_of_unrelated_closed_windows_keeps_the_state_files():
    ours = record.closed(entry(), T1, "put back")
    theirs = record.closed(entry(now=T2), T3, "put back")
    assert record.choose([("state_file", ours), ("window_records", theirs)]) is ours
    assert record.choose([("state_file", theirs), ("window_records", ours)]) is theirs


def test_choose_of_unrelated_open_windows_that_put_back_the_same_mode_keeps_the_state_files():
    ours, theirs = entry("production"), entry("production", holder="app2", now=T2)
    assert record.choose([("state_file", ours), ("fact", theirs)]) is ours


def test_choose_of_an_open_window_in_maintenance_before_and_an_unrelated_closed_one_keeps_the_state_files():
    # Exit writes nothing to the server for either: an open entry whose mode before was the
    # maintenance mode, and a closed one. Which one is kept is no reason to stop the window.
    in_maintenance = entry("maintenance")
    done = record.closed(entry("production", now=T2), T3, "put back")
    assert record.target_on_exit(in_maintenance) is None and record.target_on_exit(done) is None
    assert record.choose([("state_file", in_maintenance), ("fact", done)]) is in_maintenance
    assert record.choose([("state_file", done), ("fact", in_maintenance)]) is done


@pytest.mark.parametrize("state_file_first", [True, False])
def test_choose_of_unrelated_windows_that_exit_would_treat_differently_is_an_error(state_file_first):
    opened = entry("production")
    done = record.closed(entry("production", now=T2), T3, "put back")
    copies = [("state_file", opened), ("window_records", done)]
    if not state_file_first:
        copies = [("state_file", done), ("window_records", opened)]
    with pytest.raises(WindowError) as raised:
        record.choose(copies)
    message = str(raised.value)
    assert "The records of %s disagree" % KEY in message
    assert "state_file says %s" % describe(copies[0][1]) in message
    assert "window_records says %s" % describe(copies[1][1]) in message
    assert opened["window"] in message and done["window"] in message
    assert "window_record_sources" in message and "Nothing was switched" in message


def test_choose_of_unrelated_open_windows_that_put_back_different_modes_is_an_error():
    with pytest.raises(WindowError, match="window_record_sources"):
        record.choose([("state_file", entry("production")), ("fact", entry("maintenance", now=T1))])
    with pytest.raises(WindowError, match="window_record_sources"):
        record.choose([("state_file", entry("production")), ("fact", entry("editable", now=T1))])


def test_the_clock_does_not_decide_which_copy_is_later():
    opened = record.advanced(entry(now=T0), requested=T1)
    # The same window: a copy with an older sequence but a later time stamp loses, in either order.
    stale = dict(opened, sequence=1, opened=T3, requested=None)
    assert record.choose([("state_file", opened), ("fact", stale)]) is opened
    assert record.choose([("state_file", stale), ("fact", opened)]) is opened
    # Unrelated windows: the later `opened` (or `closed`) does not settle it.
    later_by_clock = record.closed(entry("production", now=T3), T3, "put back")
    with pytest.raises(WindowError):
        record.choose([("state_file", opened), ("fact", later_by_clock)])
    with pytest.raises(WindowError):
        record.choose([("state_file", later_by_clock), ("fact", opened)])


def test_describe():
    opened = dict(entry(), holders=["app1", "app2"])
    assert describe(opened) == \
        "open since %s by ops (window %s, write 1), mode before production, held by app1, app2" % (T0, opened["window"])
    done = record.closed(opened, T1, "")
    assert describe(done) == "closed at %s (put back; window %s, write 2)" % (T1, opened["window"])


# -- 1.0.0 records ------------------------------------------------------------------------------------
def test_from_legacy_of_one_opening_is_one_window_whoever_copied_it():
    old = legacy_entry(requested=T1, handle="job-3")
    state_file = record.from_legacy(old, "ucs", "https://UCS1.example.com:8443/cs/", "app1")
    fact = record.from_legacy(dict(old), "ucs", URL, "app2")
    assert state_file["window"] == fact["window"] and state_file["window"].startswith("1.0-")
    assert state_file["server"] == KEY and state_file["url"] == URL and state_file["service"] == "ucs"
    assert state_file["state"] == OPEN and state_file["sequence"] == 1 and state_file["history"] == []
    assert state_file["holders"] == ["app1"] and fact["holders"] == ["app2"]
    assert state_file["mode_before"] == "production" and state_file["maintenance_mode"] == "maintenance"
    assert state_file["opened"] == T0 and state_file["by"] == "ops"
    assert state_file["requested"] == T1 and state_file["handle"] == "job-3"
    assert record.entry_of(state_file) is state_file
    # Another opening of the server, or another server, is another window.
    assert record.from_legacy(legacy_entry(opened=T2), "ucs", URL, "app1")["window"] != state_file["window"]
    assert record.from_legacy(old, "ucs", "https://ucs2.example.com:8443/cs", "app1")["window"] != state_file["window"]
    assert record.from_legacy(old, "arcgis", URL, "app1")["window"] != state_file["window"]


def test_from_legacy_a_closed_copy_supersedes_the_open_one():
    opened = record.from_legacy(legacy_entry(), "ucs", URL, "app1")
    done = record.from_legacy(legacy_entry(state=CLOSED, closed=T1), "ucs", URL, "app1")
    assert done["state"] == CLOSED and done["holders"] == [] and done["closed"] == T1 and done["note"] == "put back"
    assert done["window"] == opened["window"] and done["sequence"] > opened["sequence"]
    assert record.supersedes(done, opened) and not record.supersedes(opened, done)
    assert record.choose([("state_file", opened), ("fact", done)]) is done
    assert record.choose([("state_file", done), ("fact", opened)]) is done


def test_joined_legacy_adds_the_holder_and_takes_the_mode_before_the_window():
    # app1 switched the server first; app2's 1.0.0 record read it in maintenance already, or
    # the other way round: the mode before the window is the one that is not maintenance.
    current = dict(entry("maintenance", holder="app2"), holders=["app2"])
    joined = record.joined_legacy(current, legacy_entry("production"), "app1")
    assert joined["holders"] == ["app1", "app2"] and joined["mode_before"] == "production"
    assert joined["window"] == current["window"] and joined["sequence"] == current["sequence"] + 1
    assert current["holders"] == ["app2"] and current["mode_before"] == "maintenance", "the entry given is not changed"
    # A mode before that is already not maintenance stays; a legacy one in maintenance changes nothing.
    kept = record.joined_legacy(entry("production"), legacy_entry("editable"), "app2")
    assert kept["mode_before"] == "production" and kept["holders"] == ["app1", "app2"]
    unchanged = record.joined_legacy(entry("maintenance"), legacy_entry("maintenance"), "app2")
    assert unchanged["mode_before"] == "maintenance"
    assert record.joined_legacy(entry(None), legacy_entry("production"), "app2")["mode_before"] == "production"
    assert record.joined_legacy(entry(None), legacy_entry(None), "app2")["mode_before"] is None
    # A holder already there is not listed twice.
    assert record.joined_legacy(entry(), legacy_entry(), "app1")["holders"] == ["app1"]


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("30m", 1800), ("8h", 28800), ("2d", 172800), ("3600", 3600),
                                           (600, 600), (" 1.5H ", 5400), ("366d", 366 * 86400),
                                           (366 * 86400, 366 * 86400)])
def test_durations(text, seconds):
    assert record.duration(text) == seconds


@pytest.mark.parametrize("text", ["eight hours", "", "0", "-5m", "8x", "h", "1e400", "inf", "nan", "-inf", "99999999d",
                                  "367d", 366 * 86400 + 1, "8785h"])
def test_durations_that_are_not(text):
    with pytest.raises(ValueError):
        record.duration(text)


def test_a_write_on_the_record_may_still_switch_only_within_wait_timeout():
    entry = dict(record.new_entry("ucs", URL, "production", "maintenance", "app1", "ops", T0), requested=T0)
    assert record.still_switching(entry, T1, 7200) and not record.still_switching(entry, T1, 1800)
    assert not record.still_switching(dict(entry, requested=None), T1, 7200)
    # T1 is an hour after T0: a switch noted at T0 went out by NOTED_AHEAD later, and may take effect
    # until wait_timeout after that.
    assert record.still_switching(entry, T1, 3600 - record.NOTED_AHEAD + 0.5)
    assert not record.still_switching(entry, T1, 3600 - record.NOTED_AHEAD)


def test_a_note_is_recent_by_the_clock():
    entry = dict(record.new_entry("ucs", URL, "production", "maintenance", "app1", "ops", T0), requested=None)
    assert not record.noted_since(entry, 2.0)
    assert record.noted_since(dict(entry, requested=record.utc_now()), 2.0)
    assert not record.noted_since(dict(entry, requested=record.utc_of(time.time() - 2.5)), 2.0)
    assert not record.noted_since(dict(entry, requested=T0), 2.0)
