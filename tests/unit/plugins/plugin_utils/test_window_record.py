# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The maintenance window's record (plugins/plugin_utils/_record.py): server keys, entries, the
order of their copies, 1.0.0 records, and the state file with its lock."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time

import pytest

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _record as record
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._record import (
    CLOSED, HISTORY_LENGTH, OPEN, RECORD_VERSION, Records, RecordStore, WindowError)

T0, T1, T2, T3 = ("2026-11-24T10:00:00.000Z", "2026-11-24T11:00:00.000Z", "2026-11-24T12:00:00.000Z",
                  "2026-11-24T13:00:00.000Z")
URL = "https://ucs1.example.com:8443/cs"
KEY = "ucs https://ucs1.example.com:8443/cs"

# Real processes; fork keeps the test module's imports (no pickling of the collection's path).
FORK = multiprocessing.get_context("fork")


def entry(mode_before="production", holder="app1", now=T0, replaces=None, maintenance="maintenance", url=URL):
    return record.new_entry("ucs", url, mode_before, maintenance, holder, "ops", now, replaces=replaces)


def legacy_entry(mode_before="production", state=OPEN, opened=T0, closed=None, requested=None, handle=None):
    """An entry as 1.0.0 wrote it, per host and service."""
    return {"state": state, "mode_before": mode_before, "maintenance_mode": "maintenance", "opened": opened,
            "by": "ops", "closed": closed, "note": "put back" if state == CLOSED else "", "requested": requested,
            "handle": handle}


def leftovers(directory):
    return sorted(name for name in os.listdir(directory) if name.startswith(".window-records."))


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
    assert record.settle_handle(record.advanced(entry(), requested=T1), 60) == {"sent": sent, "until": sent + 60}
    assert record.settle_handle(record.advanced(entry(), requested=T1, handle=None), 7.5) == \
        {"sent": sent, "until": sent + 7.5}
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
    assert "state_file says %s" % record.describe(copies[0][1]) in message
    assert "window_records says %s" % record.describe(copies[1][1]) in message
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
    assert record.describe(opened) == \
        "open since %s by ops (window %s, write 1), mode before production, held by app1, app2" % (T0, opened["window"])
    done = record.closed(opened, T1, "")
    assert record.describe(done) == "closed at %s (put back; window %s, write 2)" % (T1, opened["window"])


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


def test_drop_legacy():
    records = Records({}, {"app1": {"ucs": legacy_entry(), "arcgis": legacy_entry()},
                           "app2": {"ucs": legacy_entry()}})
    record.drop_legacy(records, "app1", "ucs")
    assert sorted(records.legacy) == ["app1", "app2"] and list(records.legacy["app1"]) == ["arcgis"]
    record.drop_legacy(records, "app1", "arcgis")
    assert list(records.legacy) == ["app2"], "a host without entries is dropped"
    record.drop_legacy(records, "app3", "ucs")
    record.drop_legacy(records, "app2", "arcgis")
    assert list(records.legacy) == ["app2"]
    record.drop_legacy(records, "app2", "ucs")
    assert records.legacy == {} and "legacy" not in records.document()


# -- where the file is --------------------------------------------------------------------------------
def test_state_file_default_relative_and_absolute(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert record.resolve_state_file("") == str(tmp_path / ".ansible" / "opsmodes.maintenance" / "window-records.json")
    assert record.resolve_state_file(None) == record.resolve_state_file("")
    assert record.resolve_state_file("maint/records.json", cwd="/srv/ops") == "/srv/ops/maint/records.json"
    assert record.resolve_state_file("./maint/../records.json", cwd="/srv/ops") == "/srv/ops/records.json"
    assert record.resolve_state_file("/var/lib/maint/r.json", cwd="/srv/ops") == "/var/lib/maint/r.json"
    assert record.resolve_state_file("~/r.json") == str(tmp_path / "r.json")
    monkeypatch.chdir(tmp_path)
    assert record.resolve_state_file("r.json") == str(tmp_path / "r.json")


# -- the store: reading -------------------------------------------------------------------------------
def test_missing_and_empty_files_hold_no_record(tmp_path):
    path = tmp_path / "records.json"
    store = RecordStore(str(path))
    for text in (None, "", "  \n"):
        if text is not None:
            path.write_text(text)
        records = store.read()
        assert isinstance(records, Records) and records.servers == {} and records.legacy == {}
        store.check()
    assert not (tmp_path / "records.json.lock").exists(), "reading and checking take no lock"


def test_a_1_0_0_file_is_read_as_legacy_with_its_open_entries(tmp_path):
    path = tmp_path / "records.json"
    old = {"app1": {"ucs": legacy_entry("production"), "arcgis": legacy_entry(state=CLOSED, closed=T1)},
           "app2": {"ucs": legacy_entry("maintenance", requested=T1)}}
    path.write_text(json.dumps({"version": 1, "records": old}))
    records = RecordStore(str(path)).read()
    assert records.servers == {} and records.legacy == old
    assert records.legacy["app1"]["ucs"]["state"] == OPEN and records.legacy["app2"]["ucs"]["requested"] == T1
    RecordStore(str(path)).check()
    # Without a version, too.
    path.write_text(json.dumps({"records": old}))
    assert RecordStore(str(path)).read().legacy == old


def test_a_transaction_writes_version_2_and_carries_legacy_over(tmp_path):
    path = tmp_path / "records.json"
    old = {"app1": {"ucs": legacy_entry("production")}, "app2": {"ucs": legacy_entry("maintenance")}}
    path.write_text(json.dumps({"version": 1, "records": old}))
    store = RecordStore(str(path))
    carried = record.from_legacy(old["app1"]["ucs"], "ucs", URL, "app1")
    with store.transaction() as records:
        records.servers[KEY] = carried
        record.drop_legacy(records, "app1", "ucs")
    document = json.loads(path.read_text())
    assert document == {"version": RECORD_VERSION, "servers": {KEY: carried}, "legacy": {"app2": old["app2"]}}
    assert RECORD_VERSION == 2
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert leftovers(tmp_path) == []
    again = store.read()
    assert again.servers == {KEY: carried} and again.legacy == {"app2": old["app2"]}
    # Once no legacy entry is left, the file has none.
    with store.transaction() as records:
        records.servers[KEY] = record.joined_legacy(records.servers[KEY], records.legacy["app2"]["ucs"], "app2")
        record.drop_legacy(records, "app2", "ucs")
    document = json.loads(path.read_text())
    assert sorted(document) == ["servers", "version"] and document["version"] == 2
    assert document["servers"][KEY]["holders"] == ["app1", "app2"] and document["servers"][KEY]["sequence"] == 2


def test_the_lock_file_names_its_holder(tmp_path):
    store = RecordStore(str(tmp_path / "records.json"))
    with store.transaction() as records:
        holder = (tmp_path / "records.json.lock").read_text()
        records.servers[KEY] = entry()
    assert holder.startswith("pid %d on " % os.getpid()) and ", user " in holder and ", since " in holder
    assert oct((tmp_path / "records.json.lock").stat().st_mode & 0o777) == "0o600"


def test_a_transaction_that_raises_writes_nothing(tmp_path):
    path = tmp_path / "records.json"
    store = RecordStore(str(path))
    with pytest.raises(RuntimeError):
        with store.transaction() as records:
            records.servers[KEY] = entry()
            raise RuntimeError("enter failed")
    assert not path.exists()
    with store.transaction() as records:
        records.servers[KEY] = entry()
    before = path.read_bytes()
    with pytest.raises(WindowError):
        with store.transaction() as records:
            records.servers[KEY] = record.closed(records.servers[KEY], T1, "put back")
            records.servers["arcgis https://gis"] = entry()
            raise WindowError("stop")
    assert path.read_bytes() == before and leftovers(tmp_path) == []


def test_a_write_that_fails_leaves_the_old_file(tmp_path):
    path = tmp_path / "records.json"
    store = RecordStore(str(path))
    with store.transaction() as records:
        records.servers[KEY] = entry()
    before = path.read_bytes()
    with pytest.raises(TypeError):
        with store.transaction() as records:
            records.servers[KEY] = dict(records.servers[KEY], note=object())   # fails half way through json.dump
    assert path.read_bytes() == before and leftovers(tmp_path) == []
    assert store.read().servers[KEY]["state"] == OPEN


def _rewrite_forever(path):
    store = RecordStore(path)
    opened = entry()
    number = 0
    while True:
        number += 1
        with store.transaction() as records:
            records.servers[KEY] = dict(opened, sequence=number, note="x" * (number % 5000))


def test_a_killed_writer_leaves_a_whole_file_and_a_free_lock(tmp_path):
    path = str(tmp_path / "records.json")
    writer = FORK.Process(target=_rewrite_forever, args=(path,))
    writer.start()
    try:
        store = RecordStore(path)
        deadline = time.monotonic() + 5
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.01)
        # Readers take no lock: every read, while the file is being replaced again and again, sees
        # the old file or the new one, never a part of one.
        sequences = []
        deadline = time.monotonic() + 1.5
        while len(set(sequences)) < 20 and time.monotonic() < deadline:
            sequences.append(store.read().servers[KEY]["sequence"])
        assert sequences == sorted(sequences) and len(set(sequences)) >= 5, sequences
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.join(5)
    last = store.read().servers[KEY]
    assert last["sequence"] >= sequences[-1] and last["note"] == "x" * (last["sequence"] % 5000)
    # The kernel freed the dead writer's lock.
    store = RecordStore(path, lock_timeout=1)
    with store.transaction() as records:
        records.servers[KEY] = record.closed(records.servers[KEY], T1, "put back")
    assert store.read().servers[KEY]["state"] == CLOSED


@pytest.mark.parametrize("text, message", [
    ('{"version": 2, "servers": {', "is not valid JSON"),
    ("\x00\x01", "is not valid JSON"),
    ('["app1"]', "is not a window record"),
    ('"records"', "is not a window record"),
    ("{}", "is not a window record"),
    ('{"version": 2}', "is not a window record"),
    ('{"version": 2, "servers": []}', "is not a window record"),
    ('{"version": 2, "servers": {"ucs https://u": "open"}}', "is not a window record"),
    ('{"version": 2, "servers": {"ucs https://u": {"state": "open", "window": "w", "server": "s"}}}',
     "is not a window record"),
    ('{"version": 2, "servers": {"ucs https://u": {"state": "open", "window": "w", "server": "s", "sequence": "1"}}}',
     "is not a window record"),
    ('{"version": 2, "servers": {}, "legacy": {"app1": "open"}}', "is not a window record"),
    ('{"version": 2, "servers": {}, "legacy": {"app1": {"ucs": "open"}}}', "is not a window record"),
    ('{"version": 3, "servers": {}}', "is not a window record"),
    ('{"records": {"app1": "open"}}', "is not a window record"),
    ('{"records": {"app1": {"ucs": ["open"]}}}', "is not a window record"),
    ('{"records": []}', "is not a window record"),
])
def test_a_corrupt_file_is_an_error_naming_it(tmp_path, text, message):
    path = tmp_path / "records.json"
    path.write_text(text)
    store = RecordStore(str(path))
    for attempt in (store.read, store.check):
        with pytest.raises(WindowError, match=message) as raised:
            attempt()
        assert str(path) in str(raised.value) and "nothing was switched" in str(raised.value)
    with pytest.raises(WindowError, match=message):
        with store.transaction() as records:
            records.servers[KEY] = entry()
    assert path.read_text() == text and leftovers(tmp_path) == []


# -- the store: where it may write --------------------------------------------------------------------
def test_a_missing_directory_is_an_error_unless_it_may_be_made(tmp_path):
    with pytest.raises(WindowError, match="does not exist") as raised:
        RecordStore(str(tmp_path / "missing" / "records.json")).check()
    assert str(tmp_path / "missing" / "records.json") in str(raised.value)
    with pytest.raises(WindowError, match="does not exist"):
        RecordStore(str(tmp_path / "missing" / "records.json")).check(create=False)
    assert not (tmp_path / "missing").exists()
    # Check mode makes no directory; a run does, for the user only.
    RecordStore(str(tmp_path / "made" / "records.json"), create_directory=True).check(create=False)
    assert not (tmp_path / "made").exists()
    store = RecordStore(str(tmp_path / "made" / "records.json"), create_directory=True)
    store.check()
    assert oct((tmp_path / "made").stat().st_mode & 0o777) == "0o700"
    assert os.listdir(tmp_path / "made") == []
    with store.transaction() as records:
        records.servers[KEY] = entry()
    assert list(store.read().servers) == [KEY]


def _refused(store, what, reason):
    """Every way into the state file is refused, with a message naming it, before anything is written."""
    for attempt in (store.check, store.read):
        with pytest.raises(WindowError, match=reason) as raised:
            attempt()
        assert "The %s %s" % (what, store.path) in str(raised.value)
        assert "Nothing was switched" in str(raised.value)
    body = []
    with pytest.raises(WindowError, match=reason):
        with store.transaction() as records:
            body.append(records)
            records.servers[KEY] = entry()
    assert body == [], "the transaction's body never ran"


@pytest.mark.parametrize("which", ["state file", "lock file"])
def test_a_symbolic_link_is_refused(tmp_path, which):
    real = tmp_path / "real"
    real.write_text(json.dumps({"version": 2, "servers": {}}) if which == "state file" else "")
    path = tmp_path / "records.json"
    os.symlink(str(real), str(path) + (".lock" if which == "lock file" else ""))
    before = real.read_bytes()
    store = RecordStore(str(path))
    if which == "lock file":
        with pytest.raises(WindowError, match="is a symbolic link") as raised:
            store.check()
        assert store.lock_path in str(raised.value)
        with pytest.raises(WindowError, match="lock file %s is a symbolic link" % store.lock_path):
            with store.transaction() as records:
                records.servers[KEY] = entry()
        assert not path.exists()
    else:
        _refused(store, which, "is a symbolic link")
    assert real.read_bytes() == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("which", ["state file", "lock file"])
def test_a_dangling_symbolic_link_is_refused_and_its_target_not_made(tmp_path, which):
    target = tmp_path / "elsewhere" / "planted"
    (tmp_path / "elsewhere").mkdir()
    path = tmp_path / "records.json"
    link = str(path) + (".lock" if which == "lock file" else "")
    os.symlink(str(target), link)
    store = RecordStore(str(path))
    with pytest.raises(WindowError, match="%s %s is a symbolic link" % (which, link)):
        store.check()
    with pytest.raises(WindowError, match="is a symbolic link"):
        with store.transaction() as records:
            records.servers[KEY] = entry()
    assert not target.exists() and os.listdir(tmp_path / "elsewhere") == []
    assert os.path.islink(link)
    if which == "lock file":
        assert not path.exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("which", ["state file", "lock file"])
@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_a_path_that_is_not_a_regular_file_is_refused(tmp_path, which, kind):
    path = tmp_path / "records.json"
    odd = str(path) + (".lock" if which == "lock file" else "")
    if kind == "directory":
        os.mkdir(odd)
    else:
        os.mkfifo(odd)
    store = RecordStore(str(path))
    with pytest.raises(WindowError, match="%s %s is not a regular file" % (which, odd)):
        store.check()
    if which == "state file":
        with pytest.raises(WindowError, match="is not a regular file"):
            store.read()
    with pytest.raises(WindowError, match="is not a regular file"):
        with store.transaction() as records:
            records.servers[KEY] = entry()
    assert leftovers(tmp_path) == []
    if which == "lock file":
        assert not path.exists()
    else:
        assert os.path.isdir(odd) if kind == "directory" else os.path.exists(odd) and not os.path.isfile(odd)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user (os.chown to 65534)")
@pytest.mark.parametrize("which", ["state file", "lock file"])
def test_a_file_of_another_user_is_refused(tmp_path, which):
    path = tmp_path / "records.json"
    theirs = tmp_path / ("records.json.lock" if which == "lock file" else "records.json")
    text = json.dumps({"version": 2, "servers": {}}) if which == "state file" else "pid 1 on elsewhere\n"
    theirs.write_text(text)
    os.chmod(str(theirs), 0o666)
    os.chown(str(theirs), 65534, 65534)
    store = RecordStore(str(path))
    if which == "state file":
        _refused(store, which, "belongs to user id 65534, not to the user running the play")
    else:
        with pytest.raises(WindowError, match="lock file %s belongs to user id 65534" % theirs):
            store.check()
        with pytest.raises(WindowError, match="belongs to user id 65534"):
            with store.transaction() as records:
                records.servers[KEY] = entry()
        assert not path.exists()
    assert theirs.read_text() == text and theirs.stat().st_uid == 65534
    assert leftovers(tmp_path) == []


# -- the store: the lock ------------------------------------------------------------------------------
def _hold_lock(path, held, release):
    """A run in the middle of its transaction: it holds the lock until told to let go."""
    with RecordStore(path).transaction() as records:
        records.servers["arcgis https://gis.example.com"] = entry(url="https://gis.example.com")
        held.set()
        release.wait(20)


@pytest.fixture
def held_lock(tmp_path):
    path = str(tmp_path / "records.json")
    held, release = FORK.Event(), FORK.Event()
    holder = FORK.Process(target=_hold_lock, args=(path, held, release))
    holder.start()
    try:
        assert held.wait(10), "the holder did not take the lock"
        yield path, holder
    finally:
        release.set()
        holder.join(10)
        if holder.is_alive():
            holder.kill()


def test_a_held_lock_is_an_error_after_the_lock_timeout_naming_its_holder(held_lock):
    path, holder = held_lock
    store = RecordStore(path, lock_timeout=0.6)
    body = []
    started = time.monotonic()
    with pytest.raises(WindowError) as raised:
        with store.transaction() as records:
            body.append(records)
    waited = time.monotonic() - started
    assert 0.6 <= waited < 2.0, waited
    message = str(raised.value)
    assert "The lock of the state file %s was not free within 0.6 s" % path in message
    assert "held by pid %d on " % holder.pid in message and "window_lock_timeout" in message
    assert body == []
    assert not os.path.exists(path), "nothing was written while the lock was held"
    # Reading needs no lock.
    assert store.read().servers == {}


def test_notify_is_told_while_waiting_for_the_lock(held_lock, monkeypatch):
    monkeypatch.setattr(record, "LOCK_NOTICE_SECONDS", (0.2, 0.3))
    path, holder = held_lock
    messages = []
    store = RecordStore(path, lock_timeout=1.0, notify=messages.append)
    with pytest.raises(WindowError, match="not free within 1.0 s"):
        with store.transaction():
            pass
    # At 0.2 s, 0.3 s, then every 0.3 s: 0.6 s, 0.9 s, before the timeout at 1.0 s.
    assert 2 <= len(messages) <= 5, messages
    for message in messages:
        assert message.startswith("waiting ") and "(at most 1.0 s) for the lock of the state file %s" % path in message
        assert "held by pid %d on " % holder.pid in message


def test_notify_is_not_told_when_the_lock_is_free(tmp_path, monkeypatch):
    monkeypatch.setattr(record, "LOCK_NOTICE_SECONDS", (0.0, 0.0))
    messages = []
    store = RecordStore(str(tmp_path / "records.json"), lock_timeout=1.0, notify=messages.append)
    with store.transaction() as records:
        records.servers[KEY] = entry()
    assert messages == []


def test_a_wait_for_the_lock_ends_when_the_holder_lets_go(tmp_path):
    path = str(tmp_path / "records.json")
    held, release = FORK.Event(), FORK.Event()
    holder = FORK.Process(target=_hold_lock, args=(path, held, release))
    holder.start()
    try:
        assert held.wait(10)
        messages = []
        store = RecordStore(path, lock_timeout=5, notify=messages.append)
        started = time.monotonic()
        releaser = FORK.Process(target=_set_later, args=(release, 0.3))
        releaser.start()
        with store.transaction() as records:
            # The holder's write is there, read under the lock; this one is added to it.
            assert list(records.servers) == ["arcgis https://gis.example.com"]
            records.servers[KEY] = entry()
        assert 0.25 <= time.monotonic() - started < 3
    finally:
        release.set()
        holder.join(10)
        releaser.join(10)
    assert holder.exitcode == 0
    assert sorted(RecordStore(path).read().servers) == ["arcgis https://gis.example.com", KEY]


def _set_later(event, seconds):
    time.sleep(seconds)
    event.set()


def _write_many(path, number, count, start):
    start.wait(10)
    store = RecordStore(path, lock_timeout=20)
    key = record.server_key("ucs", "https://ucs%d.example.com" % number)
    for step in range(count):
        with store.transaction() as records:
            current = records.servers.get(key)
            if current is None:
                records.servers[key] = record.new_entry("ucs", "https://ucs%d.example.com" % number, "production",
                                                        "maintenance", "app%d" % number, "ops", T0)
            else:
                records.servers[key] = record.advanced(current, note="step %d" % step)


def test_concurrent_writers_keep_each_others_entries(tmp_path):
    path = str(tmp_path / "records.json")
    writers, count = 6, 15
    start = FORK.Event()
    processes = [FORK.Process(target=_write_many, args=(path, number, count, start)) for number in range(writers)]
    for process in processes:
        process.start()
    start.set()
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    servers = RecordStore(path).read().servers
    assert sorted(servers) == sorted("ucs https://ucs%d.example.com" % number for number in range(writers))
    # No write was lost: each server's entry went through all its steps.
    assert {entry["sequence"] for entry in servers.values()} == {count}
    assert {entry["note"] for entry in servers.values()} == {"step %d" % (count - 1)}
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("30m", 1800), ("8h", 28800), ("2d", 172800), ("3600", 3600),
                                           (600, 600), (" 1.5H ", 5400)])
def test_durations(text, seconds):
    assert record.duration(text) == seconds


@pytest.mark.parametrize("text", ["eight hours", "", "0", "-5m", "8x", "h"])
def test_durations_that_are_not(text):
    with pytest.raises(ValueError):
        record.duration(text)


def test_a_write_on_the_record_may_still_switch_only_within_wait_timeout():
    entry = dict(record.new_entry("ucs", URL, "production", "maintenance", "app1", "ops", T0), requested=T0)
    assert record.still_switching(entry, T1, 7200) and not record.still_switching(entry, T1, 1800)
    assert not record.still_switching(dict(entry, requested=None), T1, 7200)
