# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The state file (plugins/plugin_utils/_state_file.py): where it is, the SQLite database and the
JSON files of earlier versions, the files it trusts, and its lock, with real processes."""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import os
import sqlite3

import pytest

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _record as record, _state_file as state_file
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._record import CLOSED, OPEN, RECORD_VERSION
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._state_file import StateFile, resolve_state_file
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._store import Records, drop_legacy
from ansible_collections.opsmodes.maintenance.tests.unit.plugins.plugin_utils.test_record_store import run_together
from ansible_collections.opsmodes.maintenance.tests.unit.plugins.plugin_utils.test_window_record import (
    KEY, T1, URL, entry, legacy_entry)

# Real processes; fork keeps the test module's imports (no pickling of the collection's path).
FORK = multiprocessing.get_context("fork")


def leftovers(directory):
    return sorted(name for name in os.listdir(directory) if name.startswith(".window-records."))


def test_drop_legacy():
    records = Records({}, {"app1": {"ucs": legacy_entry(), "arcgis": legacy_entry()},
                           "app2": {"ucs": legacy_entry()}})
    drop_legacy(records, "app1", "ucs")
    assert sorted(records.legacy) == ["app1", "app2"] and list(records.legacy["app1"]) == ["arcgis"]
    drop_legacy(records, "app1", "arcgis")
    assert list(records.legacy) == ["app2"], "a host without entries is dropped"
    drop_legacy(records, "app3", "ucs")
    drop_legacy(records, "app2", "arcgis")
    assert list(records.legacy) == ["app2"]
    drop_legacy(records, "app2", "ucs")
    assert records.legacy == {}


# -- where the file is --------------------------------------------------------------------------------
def test_state_file_default_relative_and_absolute(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_state_file("") == str(tmp_path / ".ansible" / "opsmodes.maintenance" / "window-records.db")
    assert resolve_state_file(None) == resolve_state_file("")
    assert resolve_state_file("maint/records.json", cwd="/srv/ops") == "/srv/ops/maint/records.json"
    assert resolve_state_file("./maint/../records.json", cwd="/srv/ops") == "/srv/ops/records.json"
    assert resolve_state_file("/var/lib/maint/r.json", cwd="/srv/ops") == "/var/lib/maint/r.json"
    assert resolve_state_file("~/r.json") == str(tmp_path / "r.json")
    monkeypatch.chdir(tmp_path)
    assert resolve_state_file("r.json") == str(tmp_path / "r.json")


# -- the store: reading -------------------------------------------------------------------------------
def test_missing_and_empty_files_hold_no_record(tmp_path):
    path = tmp_path / "records.json"
    store = StateFile(str(path))
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
    records = StateFile(str(path)).read()
    assert records.servers == {} and records.legacy == old
    assert records.legacy["app1"]["ucs"]["state"] == OPEN and records.legacy["app2"]["ucs"]["requested"] == T1
    StateFile(str(path)).check()
    # Without a version, too.
    path.write_text(json.dumps({"records": old}))
    assert StateFile(str(path)).read().legacy == old


def rows(path):
    """The database's rows as stored: (user_version, servers' rows, legacy rows)."""
    connection = sqlite3.connect(str(path))
    try:
        return (connection.execute("PRAGMA user_version").fetchone()[0],
                {key: json.loads(text) for key, text in connection.execute("SELECT server, entry FROM servers")},
                {(host, service): json.loads(text)
                 for host, service, text in connection.execute("SELECT host, service, entry FROM legacy")})
    finally:
        connection.close()


def test_a_transaction_makes_a_database_of_a_1_0_0_file_and_carries_legacy_over(tmp_path):
    path = tmp_path / "records.json"
    old = {"app1": {"ucs": legacy_entry("production")}, "app2": {"ucs": legacy_entry("maintenance")}}
    text = json.dumps({"version": 1, "records": old})
    path.write_text(text)
    store = StateFile(str(path))
    carried = record.from_legacy(old["app1"]["ucs"], "ucs", URL, "app1")
    with store.transaction() as records:
        assert records.legacy == old
        records.servers[KEY] = carried
        drop_legacy(records, "app1", "ucs")
    assert path.read_bytes().startswith(b"SQLite format 3\x00")
    assert rows(path) == (RECORD_VERSION, {KEY: carried}, {("app2", "ucs"): old["app2"]["ucs"]})
    assert RECORD_VERSION == 2
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert (tmp_path / "records.json.migrated").read_text() == text, "the JSON file is kept beside"
    assert leftovers(tmp_path) == [] and not os.path.exists(store.journal_path)
    again = store.read()
    assert again.servers == {KEY: carried} and again.legacy == {"app2": old["app2"]}
    # Once no legacy entry is left, the database has none.
    with store.transaction() as records:
        records.servers[KEY] = record.joined_legacy(records.servers[KEY], records.legacy["app2"]["ucs"], "app2")
        drop_legacy(records, "app2", "ucs")
    _version, servers, legacy = rows(path)
    assert legacy == {} and servers[KEY]["holders"] == ["app1", "app2"] and servers[KEY]["sequence"] == 2


def test_a_version_2_json_file_keeps_its_open_entries_in_the_database(tmp_path):
    path = tmp_path / "records.json"
    other = "ucs https://ucs2.example.com"
    servers = {KEY: entry(), other: record.closed(entry(url="https://ucs2.example.com"), T1, "put back")}
    path.write_text(json.dumps({"version": 2, "servers": servers}))
    store = StateFile(str(path))
    # Read as JSON, check mode included: nothing is converted before a write.
    assert store.read().servers == servers
    store.check()
    assert path.read_text().startswith("{")
    with store.transaction(keys=[KEY]) as records:
        assert records.servers == {KEY: servers[KEY]}
        records.servers[KEY] = record.advanced(records.servers[KEY], requested=T1)
    assert rows(path)[1] == {KEY: dict(servers[KEY], sequence=2, requested=T1), other: servers[other]}
    assert store.read(keys=[other]).servers == {other: servers[other]}
    assert store.read(keys=()).servers == {}


def test_the_default_location_moves_the_earlier_json_file_into_the_database(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    directory = tmp_path / ".ansible" / "opsmodes.maintenance"
    directory.mkdir(parents=True)
    earlier = directory / "window-records.json"
    opened = entry()
    earlier.write_text(json.dumps({"version": 2, "servers": {KEY: opened}}))
    store = StateFile.of("")
    assert store.path == str(directory / "window-records.db")
    # Until a run writes, the earlier file is where the records are, for check mode and status too.
    assert store.read().servers == {KEY: opened}
    with store.transaction() as records:
        records.servers[KEY] = record.advanced(records.servers[KEY], holders=["app1", "app2"])
    assert rows(store.path)[1][KEY]["holders"] == ["app1", "app2"]
    assert not earlier.exists() and (directory / "window-records.json.migrated").exists()
    assert StateFile.of("").read().servers[KEY]["sequence"] == 2
    # A given window_state_file is used as given, whatever its name; no earlier file is looked for.
    given = StateFile.of(str(tmp_path / "mine.json"))
    assert given.path == str(tmp_path / "mine.json") and given.earlier_path is None and not given.create_directory


def earlier_store(tmp_path, servers=None):
    """A store at the default location's names in tmp_path, with an earlier JSON file of `servers`."""
    store = StateFile(str(tmp_path / "window-records.db"), earlier_path=str(tmp_path / "window-records.json"))
    if servers is not None:
        with open(store.earlier_path, "w", encoding="utf-8") as stream:
            json.dump({"version": 2, "servers": servers}, stream)
    return store


def test_a_read_that_looked_for_the_database_before_it_was_made_finds_it_after_all(tmp_path, monkeypatch):
    """A reader found no database, then a run moved the earlier file into it and removed that file
    before the reader opened it: the reader takes the database, not "no record"."""
    opened = entry()
    store = earlier_store(tmp_path, {KEY: opened})
    with store.transaction():
        pass
    first_looks = {store.path}

    def late_open(path, *args, **kwargs):
        if path in first_looks:
            first_looks.discard(path)
            raise FileNotFoundError(path)
        return open(path, *args, **kwargs)
    monkeypatch.setattr(state_file, "open", late_open, raising=False)
    assert store.read().servers == {KEY: opened}
    assert not first_looks, "the database was looked for first"


def test_an_empty_file_where_the_database_goes_hides_no_earlier_record(tmp_path):
    """`sqlite3 window-records.db` makes an empty file: the earlier file's records still count."""
    opened = entry()
    store = earlier_store(tmp_path, {KEY: opened})
    open(store.path, "w", encoding="utf-8").close()
    assert store.read().servers == {KEY: opened}
    with store.transaction() as records:
        assert records.servers == {KEY: opened}
    assert rows(store.path)[1] == {KEY: opened}


def test_reading_the_earlier_file_creates_nothing(tmp_path):
    store = earlier_store(tmp_path, {KEY: entry()})
    store.check(create=False)
    assert sorted(store.read().servers) == [KEY]
    assert sorted(os.listdir(tmp_path)) == ["window-records.json"]


def test_a_json_file_an_earlier_version_wrote_after_the_move_stops_every_run(tmp_path):
    store = earlier_store(tmp_path, {KEY: entry()})
    with store.transaction():
        pass
    # Left by a run cut short after the database was in place: the same file as .migrated.
    os.link(store.earlier_path + ".migrated", store.earlier_path)
    assert sorted(store.read().servers) == [KEY]
    os.unlink(store.earlier_path)
    # Written by a 1.0.0 run since: its records are in no database.
    with open(store.earlier_path, "w", encoding="utf-8") as stream:
        json.dump({"version": 1, "records": {"app9": {"ucs": legacy_entry()}}}, stream)
    for attempt in (store.read, store.check):
        with pytest.raises(WindowError, match="a run of an earlier version of opsmodes.maintenance wrote after"):
            attempt()
    with pytest.raises(WindowError, match="Exit the windows it opened with that version, then remove the file"):
        with store.transaction():
            pass


def _hold_earlier_lock(path, held, release):
    """A run of 1.0.0, which locks <its JSON file>.lock, in the middle of its write."""
    with open(path + ".lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        held.set()
        release.wait(20)


def test_the_move_waits_for_the_lock_of_an_earlier_version(tmp_path):
    store = earlier_store(tmp_path, {KEY: entry()})
    held, release = FORK.Event(), FORK.Event()
    holder = FORK.Process(target=_hold_earlier_lock, args=(store.earlier_path, held, release))
    holder.start()
    try:
        assert held.wait(10)
        with pytest.raises(WindowError, match="lock of the state file %s was not free" % store.earlier_path):
            with StateFile(store.path, earlier_path=store.earlier_path, lock_timeout=0.3).transaction():
                pass
        assert not os.path.exists(store.path) and os.path.exists(store.earlier_path)
    finally:
        release.set()
        holder.join(10)
    with store.transaction():
        pass
    assert sorted(rows(store.path)[1]) == [KEY]


def _advance_one(path, earlier, key, start):
    start.wait(10)
    with StateFile(path, earlier_path=earlier, lock_timeout=20).transaction([key]) as records:
        records.servers[key] = record.advanced(records.servers[key], note="moved")


def test_runs_that_all_find_the_earlier_file_move_it_once_and_lose_nothing(tmp_path):
    servers = {}
    for number in range(5):
        opened = entry(url="https://ucs%d.example.com" % number)
        servers[opened["server"]] = opened
    store = earlier_store(tmp_path, servers)
    run_together([(_advance_one, (store.path, store.earlier_path, key)) for key in servers])
    stored = rows(store.path)[1]
    assert sorted(stored) == sorted(servers)
    assert {value["note"] for value in stored.values()} == {"moved"}
    assert {value["sequence"] for value in stored.values()} == {2}
    assert sorted(name for name in os.listdir(tmp_path) if "migrated" in name) == ["window-records.json.migrated"]


def test_the_lock_file_names_its_holder(tmp_path):
    store = StateFile(str(tmp_path / "records.json"))
    with store.transaction() as records:
        holder = (tmp_path / "records.json.lock").read_text()
        records.servers[KEY] = entry()
    assert holder.startswith("pid %d on " % os.getpid()) and ", user " in holder and ", since " in holder
    assert oct((tmp_path / "records.json.lock").stat().st_mode & 0o777) == "0o600"


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
    _unusable(StateFile(str(path)), message, (StateFile.read, StateFile.check))
    assert path.read_text() == text and leftovers(tmp_path) == []


def _unusable(store, message, attempts):
    """Each of `attempts`, and a transaction, fail naming the file; the transaction's body never runs."""
    for attempt in attempts:
        with pytest.raises(WindowError, match=message) as raised:
            attempt(store)
        assert store.path in str(raised.value) and "nothing was switched" in str(raised.value)
    body = []
    with pytest.raises(WindowError, match=message):
        with store.transaction() as records:
            body.append(records)
    assert body == []


def _database(path, statements):
    connection = sqlite3.connect(str(path))
    for statement in statements:
        connection.execute(statement)
    connection.commit()
    connection.close()


SCHEMA = ["CREATE TABLE servers (server TEXT PRIMARY KEY, entry TEXT NOT NULL)",
          "CREATE TABLE legacy (host TEXT, service TEXT, entry TEXT NOT NULL, PRIMARY KEY (host, service))",
          "PRAGMA user_version = 2"]


@pytest.mark.parametrize("statements, message", [
    (["CREATE TABLE other (x)"], r"is not a window record \(user_version is not 2\)"),
    (["CREATE TABLE other (x)", "PRAGMA user_version = 2"], "is not a window record .no such table"),
    (SCHEMA + ["INSERT INTO servers VALUES ('k', '{\"state\": ')"], "is not a window record"),
    (SCHEMA + ["INSERT INTO servers VALUES ('k', '{\"state\": \"open\"}')"], "is not a window record"),
    (SCHEMA + ["INSERT INTO legacy VALUES ('app1', 'ucs', '[1]')"], "is not a window record"),
])
def test_a_database_that_is_not_a_window_record_is_an_error_naming_it(tmp_path, statements, message):
    path = tmp_path / "records.db"
    _database(path, statements)
    before = path.read_bytes()
    # A row is read when a run needs it: a bad row of another server stops no other.
    attempts = (StateFile.read, StateFile.check) if "CREATE TABLE other" in statements[0] else (StateFile.read,)
    _unusable(StateFile(str(path)), message, attempts)
    assert path.read_bytes() == before and leftovers(tmp_path) == []


def test_a_damaged_database_is_an_error_naming_it(tmp_path):
    path = tmp_path / "records.db"
    with StateFile(str(path)).transaction() as records:
        records.servers[KEY] = entry()
    path.write_bytes(path.read_bytes()[:100] + b"\xff" * 4000)
    with pytest.raises(WindowError, match="is not a window record") as raised:
        StateFile(str(path)).read()
    assert str(path) in str(raised.value)


# -- the store: where it may write --------------------------------------------------------------------
def test_a_missing_directory_is_an_error_unless_it_may_be_made(tmp_path):
    with pytest.raises(WindowError, match="does not exist") as raised:
        StateFile(str(tmp_path / "missing" / "records.json")).check()
    assert str(tmp_path / "missing" / "records.json") in str(raised.value)
    with pytest.raises(WindowError, match="does not exist"):
        StateFile(str(tmp_path / "missing" / "records.json")).check(create=False)
    assert not (tmp_path / "missing").exists()
    # Check mode makes no directory; a run does, for the user only.
    StateFile(str(tmp_path / "made" / "records.json"), create_directory=True).check(create=False)
    assert not (tmp_path / "made").exists()
    store = StateFile(str(tmp_path / "made" / "records.json"), create_directory=True)
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


def test_a_symbolic_link_as_the_journal_is_refused_and_its_target_not_written(tmp_path):
    path = tmp_path / "records.db"
    store = StateFile(str(path))
    with store.transaction() as records:
        records.servers[KEY] = entry()
    planted = tmp_path / "planted"
    planted.write_text("theirs")
    os.symlink(str(planted), store.journal_path)
    for attempt in (store.check, store.read):
        with pytest.raises(WindowError, match="state file %s is a symbolic link" % store.journal_path):
            attempt()
    with pytest.raises(WindowError, match="is a symbolic link"):
        with store.transaction() as records:
            records.servers[KEY] = record.closed(records.servers[KEY], T1, "put back")
    assert planted.read_text() == "theirs"
    os.unlink(store.journal_path)
    assert store.read().servers[KEY]["state"] == OPEN


@pytest.mark.parametrize("which", ["state file", "lock file"])
def test_a_symbolic_link_is_refused(tmp_path, which):
    real = tmp_path / "real"
    real.write_text(json.dumps({"version": 2, "servers": {}}) if which == "state file" else "")
    path = tmp_path / "records.json"
    os.symlink(str(real), str(path) + (".lock" if which == "lock file" else ""))
    before = real.read_bytes()
    store = StateFile(str(path))
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
    store = StateFile(str(path))
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
    store = StateFile(str(path))
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
    store = StateFile(str(path))
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
