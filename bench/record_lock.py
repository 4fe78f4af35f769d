# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The record's lock: how long each write of the record holds its store's lock, in the state file
and in PostgreSQL, and what share of a phase that makes.

Measured by driving each store directly in the bench's process, uncontended, after the scale
section's runs: a record holding the entries of as many hosts as the largest configuration, each
transaction locking one server's entry, reading it, advancing it as the action's _note does and
committing it. The share of a phase is the transactions the scale section counted in that phase
times the mean time under the lock, over the phase's time: what the lock costs at most when every
write waits for every other, as the state file's do.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from unittest import mock

from ansible_collections.opsmodes.maintenance.bench import harness
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _record as record
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._postgresql import TABLE, PostgresStore, psycopg
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._services import SERVICES
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._state_file import StateFile
from ansible_collections.opsmodes.maintenance.tests.support.postgresql import PostgresCluster

LOCK_SHARE = 0.10
# As durable as a production server: every commit flushed, as the state file's synchronous=FULL is.
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
HISTORIES = {"fresh": 0, "full history": record.HISTORY_LENGTH}


class _TimedPostgresStore(PostgresStore):
    """The PostgreSQL store, noting when a transaction has its locks: the time under them is from
    then to the commit; connecting and locking come before."""

    def _lock(self, *arguments):
        super()._lock(*arguments)
        self.locked_at = time.perf_counter()


def measure(hosts, every, samples, workdir):
    """{"samples": samples, "stores": {"<store>, <fresh|full history>": times under the lock}}: once
    with fresh entries, as in the bench's windows, and once with every entry's history full
    (HISTORY_LENGTH earlier windows)."""
    out = {}
    with PostgresCluster(settings=DURABLE) as cluster, mock.patch.dict(os.environ, cluster.environment()):
        # The password comes from the environment (PGPASSWORD), as the role's users give it.
        # (an empty store for entries of `history` earlier windows, the bytes a store holds)
        stores = {"state file": (lambda history: StateFile(os.path.join(workdir, "lock-%d.db" % history)),
                                 lambda store: os.path.getsize(store.path)),
                  "PostgreSQL": (lambda _history: _TimedPostgresStore.of(cluster.create_database()), _table_bytes)}
        for store_name, (make, size) in stores.items():
            for name, history in HISTORIES.items():
                store = make(history)
                store.check()
                keys = _fill(store, hosts, every, history)
                locked, whole = _time(store, keys, samples)
                out["%s, %s" % (store_name, name)] = {
                    "servers": len(keys), "bytes": size(store),
                    "median_seconds": statistics.median(locked), "mean_seconds": statistics.mean(locked),
                    "p90_seconds": locked[int(0.9 * (len(locked) - 1))],
                    "mean_transaction_seconds": statistics.mean(whole)}
    return {"samples": samples, "stores": out}


def _table_bytes(store):
    with psycopg.connect(store.url) as connection:
        return connection.execute("SELECT pg_total_relation_size(%s)", (TABLE,)).fetchone()[0]


def _fill(store, hosts, every, history):
    """Open entries for the servers of `hosts` hosts, each with `history` earlier windows, in one
    transaction; returns their keys."""
    keys, now = [], record.utc_now()
    with store.transaction() as records:
        for index in range(hosts):
            for name in harness.services_of(index, every):
                service = SERVICES[name]
                entry = record.new_entry(name, "http://127.0.0.1:%d/%s" % (20000 + index, name), service.normal_mode,
                                         service.maintenance_mode, harness.host_name(index), "bench", now)
                entry["history"] = [uuid.uuid4().hex for _window in range(history)]
                records.servers[entry["server"]] = entry
                keys.append(entry["server"])
    return keys


def _time(store, keys, samples):
    """(sorted seconds under the lock, seconds of the whole transaction) of `samples` writes."""
    locked, whole = [], []
    for sample in range(samples):
        key = keys[sample % len(keys)]
        started = time.perf_counter()
        with store.transaction([key]) as records:
            records.servers[key] = record.advanced(records.servers[key], requested=record.utc_now(), handle=None)
        ended = time.perf_counter()
        whole.append(ended - started)
        # The state file takes its lock first of all: its whole transaction is under it.
        locked.append(ended - getattr(store, "locked_at", started))
    return sorted(locked), whole


def shares(scale):
    """(row, phase, transactions counted, {lock measure: (seconds under the lock, share of the phase)})
    for the scale section's configurations over as many hosts as the lock was measured with."""
    out = []
    lock_hosts = max(row["hosts"] for row in scale["configs"])
    for row in scale["configs"]:
        if row["hosts"] != lock_hosts:
            continue
        for phase in ("enter", "exit"):
            median = row["median"]["role_" + phase]
            transactions = median["transactions"]
            out.append((row, phase, transactions, {
                name: (transactions * entry["mean_seconds"],
                       harness.ratio(transactions * entry["mean_seconds"], median["seconds"]))
                for name, entry in scale["lock"]["stores"].items()}))
    return out


def targets(scale):
    return [("the record's lock <= %d%% of %s at %d hosts, forks %d, %s" % (
        LOCK_SHARE * 100, phase, row["hosts"], row["forks"], name), "%.1f%%" % (share * 100), share <= LOCK_SHARE)
        for row, phase, _transactions, by_name in shares(scale) for name, (_locked, share) in by_name.items()]


def report(scale):
    stores = scale["lock"]["stores"]
    lines = [
        "### The record's lock", "",
        "Every write of the record is a transaction under a lock. The state file (StateFile.transaction): take "
        "the file's lock, read the rows of the host's servers from the SQLite database, change them, commit with "
        "SQLite's rollback journal and synchronous=FULL; every write of every server waits for it. PostgreSQL "
        "(PostgresStore.transaction, window_state_url): connect, take a transaction-level advisory lock per server "
        "of the host, read their rows, change them, commit (fsync and synchronous_commit on, as a production server "
        "has them); only writers of the same server wait for each other, and connecting comes before the lock. "
        "Measured by driving each store directly, in the bench's process after the runs above, %d transactions "
        "over a record holding %d servers, each advancing one entry as the action's _note does; uncontended, so "
        "the time under the lock alone (for PostgreSQL, from the locks taken to the commit; the whole "
        "transaction, connection included, beside it)." % (
            scale["lock"]["samples"], next(iter(stores.values()))["servers"]), "",
        "Transactions per phase: counted in the run, from the state file after each of the role's phases, never "
        "from the code: the commits, by SQLite's file change counter in the database's header, which every "
        "transaction that writes advances by one (a transaction that only checks an entry, as enter's note before "
        "a switch it noted moments earlier, commits nothing and is not counted). Per host: the writes to its "
        "entries, by their sequences, which every write advances by one (one commit may write several: enter "
        "opening a host's entries, exit leaving them, confirm noting them). Share: "
        "transactions times the mean time under the lock, over the phase's measured time (a phase run with the "
        "state file): what the lock costs at most when every write waited for every other, as the state file's "
        "do.", "",
        "| record | size (KiB) | median under the lock (ms) | mean (ms) | p90 (ms) | whole transaction, mean (ms) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, entry in stores.items():
        lines.append("| %s, %d servers | %.0f | %.2f | %.2f | %.2f | %.2f |" % (
            name, entry["servers"], entry["bytes"] / 1024, entry["median_seconds"] * 1000,
            entry["mean_seconds"] * 1000, entry["p90_seconds"] * 1000, entry["mean_transaction_seconds"] * 1000))
    names = list(stores)
    lines += ["", "| hosts | forks | phase | transactions counted, each round | entry writes per host, last round "
              "| phase (s) | "
              + " | ".join("under the lock (s), %s | share, %s" % (name, name) for name in names) + " |",
              "| ---: | ---: | --- | ---: | --- | ---: |" + " ---: | ---: |" * len(names)]
    for row, phase, _transactions, by_name in shares(scale):
        rounds = [r["role_" + phase] for r in row["rounds"]]
        lines.append("| %d | %d | %s | %s | %s | %.1f | " % (
            row["hosts"], row["forks"], phase, ", ".join("%d" % r["transactions"] for r in rounds),
            harness.spread_text(rounds[-1]["entry_writes_per_host"]),
            row["median"]["role_" + phase]["seconds"])
            + " | ".join("%.1f | %.1f%%" % (by_name[name][0], by_name[name][1] * 100) for name in names) + " |")
    return lines + [""]
