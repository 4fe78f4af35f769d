# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The journal's write-ahead notes (plugins/plugin_utils/_journal.py), on real stores: a state
file, and PostgreSQL that has stopped."""

from __future__ import annotations

import threading
import time

import pytest

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _record as record
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._decide import leaving_entry, plan_exit
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import RecordReplaced, WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._journal import Journal
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._plan import PUT_BACK, SWITCH, PlannedServer
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._postgresql import PostgresStore
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._state_file import StateFile
from ansible_collections.opsmodes.maintenance.tests.support.state_file import commits
from ansible_collections.opsmodes.maintenance.tests.unit.plugins.plugin_utils.test_decide import (
    SITE, UCS, opened, settings)


def switching(journal, target=UCS, requested=None):
    """Enter's plan item for `target`, its entry opened with the switch on the record, as enter writes it."""
    entry = dict(opened(target=target), requested=requested or record.utc_now())
    with journal.changing() as records:
        journal.put(records, target, entry)
    return PlannedServer(service=target.name, key=target.key, action=SWITCH, entry=entry, window=entry["window"],
                         noted_ahead=entry["requested"])


def claiming(journal, entry):
    """Exit's plan item for UCS, whose entry `entry` it claims as its request step does."""
    with journal.changing() as records:
        journal.put(records, UCS, entry)
    with journal.changing() as records:
        item = plan_exit((UCS,), {UCS.key: records.servers[UCS.key]}, journal.settings, record.utc_now())[0]
        item.entry = leaving_entry(item, journal.host)
        journal.put(records, UCS, item.entry)
    return item


def test_a_switch_noted_as_its_entry_opened_goes_out_without_another_write(tmp_path):
    """The open's note stands for the switch sent moments later: the entry is checked, not written."""
    journal = Journal(StateFile(str(tmp_path / "records.db")), settings(targets=(UCS,)))
    item = switching(journal)
    opened_entry, before = item.entry, commits(journal.location)
    noted = journal.on_write(UCS, item)
    noted("sending", None)
    assert noted.stages == ["sending"]
    assert commits(journal.location) == before
    assert journal.read().servers[UCS.key] == opened_entry == item.entry


def test_a_note_made_ahead_is_made_again_before_a_module_runs_on_a_delegate(tmp_path):
    """The module starts and reads the mode between the note and its write: the note is made as
    late as the role can make it."""
    journal = Journal(StateFile(str(tmp_path / "records.db")), settings(targets=(UCS,)))
    item = switching(journal)
    journal.on_write(UCS, item, keep_ahead=False)("sending", None)
    assert journal.read().servers[UCS.key]["sequence"] == item.entry["sequence"] == 2 and item.noted_ahead is None


def test_a_put_back_noted_as_exit_claimed_the_entry_goes_out_without_another_write(tmp_path):
    """Exit's claim notes its put-back as enter's open notes its switch; once sending, the note
    stands for a write sent, which a second try lets end first."""
    journal = Journal(StateFile(str(tmp_path / "records.db")), settings(targets=(UCS,)))
    item = claiming(journal, opened())
    claimed, before = item.entry, commits(journal.location)
    assert item.action == PUT_BACK and claimed["leaving"] == "app1" and claimed["requested"] == item.noted_ahead
    journal.on_write(UCS, item)("sending", None)
    assert commits(journal.location) == before
    assert journal.read().servers[UCS.key] == claimed == item.entry and item.noted_ahead is None
    assert record.settle_handle(item.entry, UCS.wait_timeout)["sent"] == record.epoch_of(claimed["requested"])


def test_a_put_back_noted_ahead_that_did_not_go_out_is_taken_back(tmp_path):
    """The server had the mode already, or could not be read: no write went out."""
    journal = Journal(StateFile(str(tmp_path / "records.db")), settings(targets=(UCS,)))
    item = claiming(journal, opened())
    journal.forget_unsent(UCS, item, [])
    stored = journal.read().servers[UCS.key]
    assert stored["requested"] is None and stored["leaving"] == "app1" and item.noted_ahead is None


def test_exit_keeps_a_write_an_earlier_run_left_on_the_entry(tmp_path):
    """A switch whose end nobody saw (an enter killed before its confirm) is not exit's to note
    over or take back: its put-back lets it end first."""
    journal = Journal(StateFile(str(tmp_path / "records.db")), settings(targets=(UCS,)))
    earlier = record.utc_of(time.time() - 60)
    item = claiming(journal, opened(requested=earlier, handle="job-1"))
    assert item.noted_ahead is None and item.entry["requested"] == earlier
    journal.forget_unsent(UCS, item, [])
    assert journal.read().servers[UCS.key]["handle"] == "job-1"
    journal.on_write(UCS, item)("sending", None)
    stored = journal.read().servers[UCS.key]
    assert stored["requested"] > earlier and stored["handle"] is None


def test_a_switch_noted_longer_ago_is_noted_again_before_it_goes_out(tmp_path):
    """A note older than NOTED_AHEAD would tell whoever waits for the switch a time it did not go
    out at: it is written anew."""
    journal = Journal(StateFile(str(tmp_path / "records.db")), settings(targets=(UCS,)))
    long_ago = record.utc_of(time.time() - record.NOTED_AHEAD - 1)
    item = switching(journal, requested=long_ago)
    journal.on_write(UCS, item)("sending", None)
    stored = journal.read().servers[UCS.key]
    assert stored["sequence"] == item.entry["sequence"] == 2
    assert stored["requested"] > long_ago and record.noted_since(stored, record.NOTED_AHEAD)


def test_a_note_that_aged_while_its_run_waited_for_the_lock_is_written_anew(tmp_path):
    """NOTED_AHEAD bounds the time from the note to the write, which follows the check at once: a
    note fresh when the run asked for the lock, and older than NOTED_AHEAD by the time it got it,
    is written anew."""
    journal = Journal(StateFile(str(tmp_path / "records.db")), settings(targets=(UCS,)))
    item = switching(journal, requested=record.utc_of(time.time() - record.NOTED_AHEAD + 0.5))
    noted = journal.on_write(UCS, item)
    outcome = {}
    with journal.changing():
        sender = threading.Thread(target=lambda: outcome.update(entry=noted("sending", None)))
        sender.start()
        deadline = time.monotonic() + 10
        while record.noted_since(item.entry, record.NOTED_AHEAD):
            assert time.monotonic() < deadline
            sender.join(0.05)
        assert sender.is_alive(), "the sending note waits for the lock held here"
    sender.join(10)
    stored = journal.read().servers[UCS.key]
    assert noted.stages == ["sending"]
    assert stored["sequence"] == 2 and record.noted_since(stored, record.NOTED_AHEAD)


def test_a_note_another_run_wrote_since_the_open_is_written_anew(tmp_path):
    """Only this run's own note stands for its switch: one another run restamped is not it."""
    journal = Journal(StateFile(str(tmp_path / "records.db")), settings(targets=(UCS,)))
    item = switching(journal)
    with journal.changing() as records:
        journal.put(records, UCS, record.advanced(records.servers[UCS.key], requested=record.utc_now(), handle="j1"))
    journal.on_write(UCS, item)("sending", None)
    assert journal.read().servers[UCS.key]["sequence"] == 3
    assert journal.read().servers[UCS.key]["handle"] is None


def test_notes_of_several_servers_are_one_commit_each_checked(tmp_path):
    """Confirm's notes: one commit for all, a server another run took over meanwhile refused
    alone, the others written."""
    journal = Journal(StateFile(str(tmp_path / "records.db")), settings(targets=(UCS, SITE)))
    ucs, site = switching(journal), switching(journal, SITE)
    with journal.changing() as records:
        journal.put(records, SITE, record.advanced(records.servers[SITE.key], leaving="app2"))
    before = commits(journal.location)
    refused = journal.note_each([(target, item, None, {"requested": None, "handle": None})
                                 for target, item in ((UCS, ucs), (SITE, site))])
    assert list(refused) == ["arcgis"] and isinstance(refused["arcgis"], RecordReplaced)
    assert commits(journal.location) == before + 1
    stored = journal.read().servers
    assert stored[UCS.key]["requested"] is None and ucs.entry == stored[UCS.key]
    assert stored[SITE.key]["requested"] is not None and stored[SITE.key]["leaving"] == "app2"


def test_enter_does_not_send_its_switch_once_an_exit_has_claimed_the_window(tmp_path):
    """An enter worker that kill -9 of ansible-playbook left running comes to its write after an
    exit claimed the window: that exit reads the mode after its claim, and a switch sent behind
    it would leave the server in maintenance with the record closed."""
    journal = Journal(StateFile(str(tmp_path / "records.db")), settings(targets=(UCS,)))
    item = switching(journal)
    with journal.changing() as records:
        journal.put(records, UCS, record.advanced(records.servers[UCS.key], leaving="app1"))
    noted = journal.on_write(UCS, item)
    with pytest.raises(RecordReplaced, match="since this run read it"):
        noted("sending", None)
    assert noted.stages == [], "a write refused before it went out is no write"
    assert journal.read().servers[UCS.key]["leaving"] == "app1"


def test_a_note_that_cannot_be_written_stops_the_write_and_counts_for_nothing(postgresql, monkeypatch):
    for name, value in postgresql.environment().items():
        monkeypatch.setenv(name, value)
    journal = Journal(PostgresStore.of(postgresql.url, lock_timeout=1.0), settings(targets=(UCS,)))
    journal.check()
    item = switching(journal)
    postgresql.cluster.stop_server()
    noted = journal.on_write(UCS, item)
    with pytest.raises(WindowError, match="could not be reached"):
        noted("sending", None)
    # So the run says that nothing went out, not that its switch went out all the same.
    assert noted.stages == []
