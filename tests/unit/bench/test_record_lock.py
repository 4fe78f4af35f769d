# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bench's measure of the record's lock (bench/record_lock.py) against both stores, small: the
bench hooks into the stores' own transactions, so a change of the stores must not break it unseen."""

from __future__ import annotations

from ansible_collections.opsmodes.maintenance.bench import harness, record_lock


def test_the_lock_is_measured_in_both_stores(tmp_path):
    # 4 hosts with a UCS server each, and an ArcGIS site on every second one.
    measured = record_lock.measure(4, harness.sites_every(2), 6, str(tmp_path))

    assert sorted(measured["stores"]) == ["PostgreSQL, fresh", "PostgreSQL, full history",
                                          "state file, fresh", "state file, full history"]
    for name, store in measured["stores"].items():
        assert store["servers"] == 6, name
        assert 0 < store["median_seconds"] <= store["p90_seconds"], name
    for history in record_lock.HISTORIES:
        postgresql = measured["stores"]["PostgreSQL, %s" % history]
        # Connecting comes before PostgreSQL's locks: timed from the lock, the time is shorter.
        assert postgresql["mean_seconds"] < postgresql["mean_transaction_seconds"]
