# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The window's record and what each phase makes of it (plugins/plugin_utils/_window.py)."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import tempfile
import time

import pytest

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _window as window
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._window import OPEN, RecordStore, WindowError

T0, T1, T2 = "2026-11-24T10:00:00.000Z", "2026-11-24T11:00:00.000Z", "2026-11-24T12:00:00.000Z"


def entry(mode_before="production", state=OPEN, opened=T0, maintenance="maintenance", closed=None):
    return dict(window.open_entry(mode_before, maintenance, "ops", opened), state=state, closed=closed)


# -- where the file is ------------------------------------------------------------------------------
def test_state_file_default_relative_and_absolute(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert window.resolve_state_file("") == str(tmp_path / ".ansible" / "opsmodes.maintenance" / "window-records.json")
    assert window.resolve_state_file("maint/records.json", cwd="/srv/ops") == "/srv/ops/maint/records.json"
    assert window.resolve_state_file("/var/lib/maint/r.json", cwd="/srv/ops") == "/var/lib/maint/r.json"
    assert window.resolve_state_file("~/r.json") == str(tmp_path / "r.json")


# -- the store --------------------------------------------------------------------------------------
def test_missing_and_empty_files_hold_no_record(tmp_path):
    store = RecordStore(str(tmp_path / "records.json"))
    assert store.records() == {}
    (tmp_path / "records.json").write_text("  \n")
    assert store.records() == {}


@pytest.mark.parametrize("text, message", [
    ('{"records": {"app1": ', "is not valid JSON"),
    ('["app1"]', "is not a window record"),
    ('{"records": {"app1": "open"}}', "is not a window record"),
])
def test_a_corrupt_file_is_an_error_naming_it(tmp_path, text, message):
    path = tmp_path / "records.json"
    path.write_text(text)
    with pytest.raises(WindowError, match=message) as raised:
        RecordStore(str(path)).check()
    assert str(path) in str(raised.value)


def test_a_missing_directory_is_an_error_unless_it_is_the_default(tmp_path):
    with pytest.raises(WindowError, match="does not exist"):
        RecordStore(str(tmp_path / "missing" / "records.json")).check()
    RecordStore(str(tmp_path / "made" / "records.json"), create_directory=True).check()
    assert (tmp_path / "made").is_dir()
    assert oct((tmp_path / "made").stat().st_mode & 0o777) == "0o700"


def _check_as_nobody(path):
    """RecordStore(path).check() in a child process running as nobody: root (CI) may write
    anywhere, so the refusal an operator's account meets is only seen without root's rights."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            os.setgid(65534)
            os.setuid(65534)
            RecordStore(path).check()
            message = "no error"
        # Whatever it is, the parent reports it.
        except Exception as error:  # pylint: disable=broad-except
            message = "%s: %s" % (type(error).__name__, error)
        os.write(write, message.encode("utf-8"))
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as stream:
        message = stream.read().decode("utf-8")
    os.waitpid(pid, 0)
    return message


def test_a_directory_that_is_not_writable_is_an_error(tmp_path):
    (tmp_path / "ro").mkdir(mode=0o500)
    path = str(tmp_path / "ro" / "records.json")
    if os.geteuid() != 0:
        with pytest.raises(WindowError, match="not writable"):
            RecordStore(path).check()
        return
    # nobody must reach the directory to be refused by it: a world-readable one of its own.
    top = tempfile.mkdtemp(prefix="opsmodes-ro-")
    try:
        os.chmod(top, 0o755)
        os.mkdir(os.path.join(top, "ro"), 0o555)
        message = _check_as_nobody(os.path.join(top, "ro", "records.json"))
        assert message.startswith("WindowError: ") and "not writable" in message, message
    finally:
        shutil.rmtree(top)


def test_update_merges_per_host_and_per_service(tmp_path):
    store = RecordStore(str(tmp_path / "records.json"))
    store.update("app1", {"ucs": entry(), "arcgis": entry("editable", maintenance="read_only")})
    store.update("app2", {"ucs": entry("maintenance")})
    closed = window.closed_entry(entry(), T1, "put back")
    assert store.update("app1", {"ucs": closed}) == {"ucs": closed, "arcgis": entry("editable", maintenance="read_only")}
    document = json.loads((tmp_path / "records.json").read_text())
    assert document["version"] == window.RECORD_VERSION
    assert sorted(document["records"]) == ["app1", "app2"]
    assert document["records"]["app1"]["arcgis"]["state"] == OPEN
    assert oct((tmp_path / "records.json").stat().st_mode & 0o777) == "0o600"
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".window-records.")]


def _write_many(path, host, count):
    store = RecordStore(path)
    for number in range(count):
        # One window after the other: each opened, then closed.
        opened = entry(opened="2026-11-24T10:00:%02d.000Z" % number)
        store.update(host, {"ucs": opened})
        store.update(host, {"ucs": window.closed_entry(opened, "2026-11-24T10:00:%02d.500Z" % number, "put back")})


def test_check_mode_makes_no_default_directory(tmp_path):
    store = RecordStore(str(tmp_path / "made" / "records.json"), create_directory=True)
    store.check(create=False)
    assert not (tmp_path / "made").exists()
    with pytest.raises(WindowError, match="does not exist"):
        RecordStore(str(tmp_path / "missing" / "records.json")).check(create=False)


def test_an_entry_is_not_written_once_another_run_changed_it(tmp_path):
    path = str(tmp_path / "records.json")
    ours, theirs = RecordStore(path), RecordStore(path)
    opened = entry()
    ours.host("app1")
    ours.update("app1", {"ucs": opened, "arcgis": entry("editable", maintenance="read_only")})
    requested = dict(opened, requested=T1)
    assert ours.update("app1", {"ucs": requested})["ucs"] == requested, "a run amends what it wrote itself"
    # Another run (an exit) reads the file and closes the record...
    closed = window.closed_entry(theirs.host("app1")["ucs"], T2, "put back")
    theirs.update("app1", {"ucs": closed})
    # ...so this run's next note about that entry is refused, and the file keeps the closed one.
    with pytest.raises(window.RecordReplaced, match="was closed at %s \\(put back\\) since this run read it" % T2):
        ours.update("app1", {"ucs": dict(requested, handle="job")})
    assert ours.host("app1")["ucs"] == closed
    # Two runs closing the same opening (an exit, and a worker an earlier killed exit left
    # running) agree: the later closing is no conflict, and the first one stays.
    late = RecordStore(path)
    late.host("app1")
    theirs.update("app1", {"ucs": dict(closed, closed="2026-11-24T12:00:01.000Z")})
    assert late.update("app1", {"ucs": dict(closed, closed="2026-11-24T12:00:02.000Z")})["ucs"]["closed"] == "2026-11-24T12:00:01.000Z"
    ours.host("app1")
    # A service the other run did not touch is still written; read again, so is this one.
    assert ours.update("app1", {"arcgis": entry("editable", maintenance="read_only", opened=T1)})["ucs"]["state"] == "closed"
    newer = entry(opened=T2)
    assert ours.update("app1", {"ucs": newer})["ucs"] == newer
    with pytest.raises(window.RecordReplaced, match="was opened at %s by ops since this run read it" % T2):
        theirs.update("app1", {"ucs": entry(opened=T1)})
    # A host a store has not read must not hold the service yet.
    with pytest.raises(window.RecordReplaced):
        RecordStore(path).update("app1", {"ucs": entry()})
    assert RecordStore(path).update("app2", {"ucs": opened})["ucs"] == opened


@pytest.mark.parametrize("record_entry, live, stale", [
    (window.closed_entry(entry("production"), T1, "put back"), "maintenance", True),
    (window.closed_entry(entry("production"), T1, "put back"), "production", False),
    (window.closed_entry(entry("maintenance"), T1, "left"), "maintenance", False),
    (window.closed_entry(entry(None), T1, "enter failed before any switch"), "maintenance", False),
    (entry("production"), "maintenance", False),
    (None, "maintenance", False),
    (window.closed_entry(entry("production"), T1, "put back"), None, False),
])
def test_a_closed_record_that_disagrees_with_the_live_mode(record_entry, live, stale):
    assert window.closed_but_in_maintenance(record_entry, live) is stale


def test_concurrent_writers_keep_each_others_records(tmp_path):
    path = str(tmp_path / "records.json")
    processes = [multiprocessing.Process(target=_write_many, args=(path, "app%d" % n, 20)) for n in range(6)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    records = RecordStore(path).records()
    assert sorted(records) == ["app%d" % n for n in range(6)]
    assert {r["ucs"]["opened"] for r in records.values()} == {"2026-11-24T10:00:19.000Z"}


# -- entries ----------------------------------------------------------------------------------------
def test_enter_keeps_an_open_entry_and_replaces_a_closed_one():
    record = {"ucs": entry("production"), "arcgis": window.closed_entry(entry("editable", maintenance="read_only"), T1, "put back")}
    entries = window.entering(["ucs", "arcgis"], {"ucs": "maintenance", "arcgis": "editable"},
                              {"ucs": "maintenance", "arcgis": "read_only"}, record, "ops", T2)
    assert entries["ucs"] is record["ucs"]
    assert entries["arcgis"]["state"] == OPEN and entries["arcgis"]["opened"] == T2 and entries["arcgis"]["mode_before"] == "editable"


@pytest.mark.parametrize("record_entry, target", [
    (None, None),
    (entry("production"), "production"),
    (entry("maintenance"), None),                                # in maintenance before the window: never switched out
    (entry(None), None),                                         # unreadable at enter: enter switched nothing
    (window.closed_entry(entry("production"), T1, "put back"), None),
    (entry("editable", maintenance="read_only"), "editable"),
])
def test_what_exit_puts_back(record_entry, target):
    assert window.target_on_exit(record_entry) == target


def test_the_newest_copy_of_an_entry_counts():
    older, newer = entry(opened=T0), entry(opened=T1)
    closed = window.closed_entry(newer, T2, "put back")
    assert window.newest(older, newer) is newer
    assert window.newest(newer, closed, older) is closed
    assert window.newest(None, {}, {"state": "weird"}) is None
    assert window.merged_record(["ucs", "arcgis"], {"ucs": older}, None, {"ucs": closed, "arcgis": newer}) == {"ucs": closed, "arcgis": newer}


# -- words ------------------------------------------------------------------------------------------
def test_enter_lines_say_what_exit_will_do():
    assert window.enter_line("ucs", entry("production"), False, "production", False) == \
        "ucs: production -> maintenance; switched, and exit puts back production"
    assert window.enter_line("ucs", entry("production"), False, "production", True) == \
        "ucs: production -> maintenance; would switch, and exit puts back production"
    assert window.enter_line("ucs", entry("maintenance"), False, "maintenance", False) == \
        "ucs: maintenance already before the window; leave it so, and exit leaves it so"
    kept = window.enter_line("ucs", entry("production"), True, "maintenance", False)
    assert "since an earlier enter at %s" % T0 in kept and "exit puts back production" in kept


def test_exit_lines():
    opened = entry("production")
    assert window.exit_line("ucs", opened, False, "production", {"changed": True, "previous_mode": "maintenance"}).startswith(
        "ucs: maintenance -> production; put back (the mode before the window, recorded at %s by ops)" % T0)
    assert "would put back" in window.exit_line("ucs", opened, True, "production", {"changed": True, "previous_mode": "maintenance"})
    failed = window.exit_line("ucs", opened, False, "production", {"failed": True, "mode": "maintenance", "msg": "HTTP 500"})
    assert failed == "ucs: putting back production failed, it is in mode maintenance: HTTP 500; the record stays open"
    assert window.exit_line("ucs", None, False) == "ucs: no record of the mode before the window; nothing done"
    assert "already closed at %s (put back); nothing to do" % T1 in window.exit_line("ucs", window.closed_entry(opened, T1, "put back"), False)
    assert window.exit_line("ucs", entry("maintenance"), False) == "ucs: maintenance before the window; leave it so and close the record"
    normal = window.exit_line("ucs", None, False, "production", {"changed": True, "previous_mode": "maintenance"})
    assert "window_no_record=normal" in normal


def test_summary_is_an_aligned_table():
    lines = window.summary([{"host": "app1", "service": "ucs", "mode_before": "production", "mode_now": "production", "action": "put back"},
                            {"host": "app22", "action": "no service"}])
    assert lines == [
        "host   service  mode before  mode now    action",
        "app1   ucs      production   production  put back",
        "app22  -        -            -           no service",
    ]


def test_what_exit_lets_end_before_it_reads():
    assert window.settle_handle(None, 60) is None
    assert window.settle_handle(entry(), 60) is None
    assert window.settle_handle(dict(entry(), requested=T1, handle="job-7"), 60) == "job-7"
    sent = window.epoch_of(T1)
    assert window.settle_handle(dict(entry(), requested=T1, handle=None), 60) == {"sent": sent, "until": sent + 60}
    assert window.epoch_of(window.utc_now()) <= time.time() + 0.001
