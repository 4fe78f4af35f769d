# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The scale section's counts read from the state file itself (bench/scale.py and
tests/support/state_file.py), on a real one."""

from __future__ import annotations

from ansible_collections.opsmodes.maintenance.bench import scale
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _record as record
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._state_file import StateFile
from ansible_collections.opsmodes.maintenance.tests.support.state_file import commits

URL = "https://ucs%d.example.com/cs"


def test_commits_and_entry_writes_are_read_from_the_state_file(tmp_path):
    store = StateFile(str(tmp_path / "records.db"))
    assert commits(store.path) == 0
    store.check()
    keys = [record.server_key("ucs", URL % number) for number in (1, 2)]
    with store.transaction() as records:
        for number, key in enumerate(keys, 1):
            records.servers[key] = record.new_entry("ucs", URL % number, "production", "maintenance", "app%d" % number,
                                                    "ops", record.utc_now())
    made, before = commits(store.path), scale._sequences(store.path)
    with store.transaction() as records:
        records.servers[keys[0]] = record.advanced(records.servers[keys[0]], requested=record.utc_now())
        records.servers[keys[1]] = record.advanced(records.servers[keys[1]], requested=record.utc_now())
    with store.transaction(keys[:1]):
        pass  # a transaction that writes nothing commits nothing
    with store.transaction(keys[:1]) as records:
        records.servers[keys[0]] = record.advanced(records.servers[keys[0]], requested=None)

    assert commits(store.path) == made + 2
    host_of_key = dict(zip(keys, ("app1", "app2")))
    assert scale._entry_writes(host_of_key, before, scale._sequences(store.path)) == {"app1": 2, "app2": 1}
    assert scale._entry_writes(host_of_key, {}, before) == {"app1": 1, "app2": 1}
