# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The journal's write-ahead notes (plugins/plugin_utils/_journal.py), on real stores: a state
file, and PostgreSQL that has stopped."""

from __future__ import annotations

import pytest

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _record as record
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import RecordReplaced, WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._journal import Journal
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._plan import SWITCH, PlannedServer
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._postgresql import PostgresStore
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._state_file import StateFile
from ansible_collections.opsmodes.maintenance.tests.unit.plugins.plugin_utils.test_decide import UCS, opened, settings


def switching(journal):
    """Enter's plan item for UCS, its entry opened with the switch on the record, as enter writes it."""
    entry = dict(opened(), requested=record.utc_now())
    with journal.changing() as records:
        journal.put(records, UCS, entry)
    return PlannedServer(service="ucs", key=UCS.key, action=SWITCH, entry=entry, window=entry["window"])


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
