# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every record store promises (plugins/plugin_utils/_store.py), proved on each of them: the
state file (SQLite) and a real PostgreSQL server on loopback, with real processes."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import time

import pytest

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _postgresql
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _record as record, _store as store_module
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._postgresql import PostgresStore
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._postgresql_connection import public_url
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._record import CLOSED, OPEN
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._state_file import StateFile
from ansible_collections.opsmodes.maintenance.tests.support.postgresql import EMULATOR_CERT, PostgresCluster, identifier
from ansible_collections.opsmodes.maintenance.tests.unit.plugins.plugin_utils.test_window_record import (
    KEY, T0, T1, entry)

# Real processes; fork keeps the test module's imports (no pickling of the collection's path).
FORK = multiprocessing.get_context("fork")
OTHER = "arcgis https://gis.example.com"


class Backend:
    """One kind of store at one place: `store()` makes a store object of it, as each run (each
    process) makes its own; `write_by_hand` changes a row behind the store's back."""

    def __init__(self, kind, location):
        self.kind = kind
        self.location = location

    def store(self, **options):
        if self.kind == "state_file":
            return StateFile(self.location, **options)
        return PostgresStore.of(self.location, **options)

    def write_by_hand(self, key, value):
        if self.kind == "state_file":
            connection = sqlite3.connect(self.location)
            connection.execute("UPDATE servers SET entry = ? WHERE server = ?", (json.dumps(value), key))
            connection.commit()
            connection.close()
            return
        import psycopg

        with psycopg.connect(self.location, autocommit=True) as connection:
            connection.execute("UPDATE opsmodes_window_records SET entry = %s WHERE server = %s",
                               (json.dumps(value), key))

    def holder(self, pid):
        """How a wait names a run of process `pid` that holds the lock."""
        return "held by pid %d on " % pid


@pytest.fixture(params=["state_file", "postgresql"])
def backend(request, tmp_path, monkeypatch):
    if request.param == "state_file":
        return Backend("state_file", str(tmp_path / "records.db"))
    database = request.getfixturevalue("postgresql")
    for name, value in database.environment().items():
        monkeypatch.setenv(name, value)
    return Backend("postgresql", database.url)


def test_an_empty_store_holds_no_record_and_reading_makes_nothing(backend):
    store = backend.store()
    assert store.read().servers == {} and store.read([KEY]).servers == {}
    store.check(create=False)
    assert backend.store().read().servers == {}
    if backend.kind == "state_file":
        assert not os.path.exists(backend.location) and not os.path.exists(backend.location + ".lock")
    store.check()
    opened = entry()
    with store.transaction([KEY]) as records:
        assert records.servers == {}
        records.servers[KEY] = opened
    assert backend.store().read().servers == {KEY: opened}


def test_a_transaction_reads_and_writes_only_the_servers_it_names(backend):
    store = backend.store()
    with store.transaction() as records:
        records.servers[KEY] = entry()
        records.servers[OTHER] = entry(url="https://gis.example.com")
    assert sorted(store.read().servers) == sorted([KEY, OTHER])
    assert sorted(store.read([OTHER]).servers) == [OTHER] and store.read([]).servers == {}
    # Someone changes the other row meanwhile: a transaction of KEY neither reads nor writes it.
    backend.write_by_hand(OTHER, dict(entry(url="https://gis.example.com"), note="by hand"))
    with store.transaction([KEY]) as records:
        assert sorted(records.servers) == [KEY]
        records.servers[KEY] = record.advanced(records.servers[KEY], note="this run")
    assert {key: value["note"] for key, value in store.read().servers.items()} == {KEY: "this run", OTHER: "by hand"}


def test_a_transaction_that_raises_writes_nothing(backend):
    store = backend.store()
    with pytest.raises(RuntimeError):
        with store.transaction() as records:
            records.servers[KEY] = entry()
            raise RuntimeError("enter failed")
    assert store.read().servers == {}
    with store.transaction() as records:
        records.servers[KEY] = entry()
    with pytest.raises(WindowError):
        with store.transaction() as records:
            records.servers[KEY] = record.closed(records.servers[KEY], T1, "put back")
            records.servers[OTHER] = entry(url="https://gis.example.com")
            raise WindowError("stop")
    assert sorted(store.read().servers) == [KEY] and store.read().servers[KEY]["state"] == OPEN


def test_a_write_that_fails_half_way_leaves_the_record_as_it_was(backend):
    store = backend.store()
    with store.transaction() as records:
        records.servers[KEY] = entry()
    with pytest.raises(TypeError):
        with store.transaction() as records:
            records.servers[OTHER] = entry(url="https://gis.example.com")
            records.servers[KEY] = dict(records.servers[KEY], note=object())   # fails in json.dumps
    assert sorted(store.read().servers) == [KEY] and store.read().servers[KEY]["state"] == OPEN


def _rewrite_forever(backend):
    store = backend.store()
    opened = entry()
    number = 0
    while True:
        number += 1
        with store.transaction([KEY]) as records:
            records.servers[KEY] = dict(opened, sequence=number, note="x" * (number % 5000))


def test_a_killed_writer_leaves_a_whole_record_and_a_free_lock(backend):
    writer = FORK.Process(target=_rewrite_forever, args=(backend,))
    writer.start()
    try:
        store = backend.store()
        deadline = time.monotonic() + 10
        while KEY not in store.read().servers:
            assert time.monotonic() < deadline, "the writer wrote nothing"
            time.sleep(0.01)
        # Readers take no lock: every read, while the entry is rewritten again and again, sees one
        # committed transaction or the next, never a part of one.
        sequences = []
        deadline = time.monotonic() + 3
        while len(set(sequences)) < 20 and time.monotonic() < deadline:
            sequences.append(store.read([KEY]).servers[KEY]["sequence"])
        assert sequences == sorted(sequences) and len(set(sequences)) >= 5, sequences
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.join(5)
    last = store.read().servers[KEY]
    assert last["sequence"] >= sequences[-1] and last["note"] == "x" * (last["sequence"] % 5000)
    # The dead writer's lock is free: the kernel let the file's go, PostgreSQL ends the dead connection's.
    with backend.store(lock_timeout=10).transaction([KEY]) as records:
        records.servers[KEY] = record.closed(records.servers[KEY], T1, "put back")
    assert store.read().servers[KEY]["state"] == CLOSED


# -- the lock ------------------------------------------------------------------------------------------
def _hold_lock(backend, keys, held, release):
    """A run in the middle of its transaction: it holds the lock until told to let go."""
    with backend.store().transaction(keys) as records:
        records.servers[OTHER] = entry(url="https://gis.example.com")
        held.set()
        release.wait(30)


@pytest.fixture
def held_lock(backend):
    """A process holding the lock of KEY and OTHER, and a store of the same place to try it with."""
    backend.store().check()
    held, release = FORK.Event(), FORK.Event()
    holder = FORK.Process(target=_hold_lock, args=(backend, [KEY, OTHER], held, release))
    holder.start()
    try:
        assert held.wait(10), "the holder did not take the lock"
        yield backend, holder, release
    finally:
        release.set()
        holder.join(10)
        if holder.is_alive():
            holder.kill()


def test_a_held_lock_is_an_error_after_the_lock_timeout_naming_its_holder(held_lock):
    backend, holder, _release = held_lock
    body = []
    started = time.monotonic()
    with pytest.raises(WindowError) as raised:
        with backend.store(lock_timeout=0.6).transaction([KEY]) as records:
            body.append(records)
    waited = time.monotonic() - started
    assert 0.6 <= waited < 2.5, waited
    message = str(raised.value)
    assert "was not free within 0.6 s (window_lock_timeout)" in message and backend.location in message
    assert backend.holder(holder.pid) in message
    assert body == []
    assert backend.store().read().servers == {}, "nothing was written while the lock was held"


def test_notify_is_told_while_waiting_for_the_lock(held_lock, monkeypatch):
    monkeypatch.setattr(store_module, "LOCK_NOTICE_SECONDS", (0.2, 0.3))
    backend, holder, _release = held_lock
    messages = []
    with pytest.raises(WindowError, match="not free within 1 s"):
        with backend.store(lock_timeout=1.0, notify=messages.append).transaction([KEY]):
            pass
    # At 0.2 s, 0.5 s, then every 0.3 s: 0.8 s, before the timeout at 1.0 s.
    assert 2 <= len(messages) <= 5, messages
    for message in messages:
        assert message.startswith("waiting ") and "(at most 1 s) for the lock of " in message, message
        assert backend.location in message and backend.holder(holder.pid) in message


def test_notify_is_not_told_when_the_lock_is_free(backend, monkeypatch):
    monkeypatch.setattr(store_module, "LOCK_NOTICE_SECONDS", (0.0, 0.0))
    messages = []
    with backend.store(lock_timeout=1.0, notify=messages.append).transaction([KEY]) as records:
        records.servers[KEY] = entry()
    assert messages == []


def _set_later(event, seconds):
    time.sleep(seconds)
    event.set()


def test_a_wait_for_the_lock_ends_when_the_holder_lets_go(held_lock):
    backend, holder, release = held_lock
    started = time.monotonic()
    releaser = FORK.Process(target=_set_later, args=(release, 0.3))
    releaser.start()
    try:
        with backend.store(lock_timeout=5).transaction([KEY, OTHER]) as records:
            # The holder's write is there, read under the lock; this one is added to it.
            assert list(records.servers) == [OTHER]
            records.servers[KEY] = entry()
        assert 0.25 <= time.monotonic() - started < 3
    finally:
        releaser.join(10)
    holder.join(10)
    assert holder.exitcode == 0
    assert sorted(backend.store().read().servers) == sorted([OTHER, KEY])


def test_a_wait_given_up_leaves_the_lock_free_once_its_holder_lets_go(held_lock):
    """The state file's lock is waited for in the kernel, by a thread that gets it after the wait
    was given up: it must let it go at once, or this process would keep the record locked; and a
    process forked while it waited must not keep the lock either. PostgreSQL's wait ends with its
    connection."""
    backend, holder, release = held_lock
    with pytest.raises(WindowError, match="not free within 0.2 s"):
        with backend.store(lock_timeout=0.2).transaction([KEY]):
            pass
    start = FORK.Event()
    other = FORK.Process(target=_write_many, args=(backend, 7, 1, start))
    other.start()
    release.set()
    holder.join(10)
    assert holder.exitcode == 0
    start.set()
    other.join(10)
    assert other.exitcode == 0, "the process forked while this one waited for the lock could not get it"
    with backend.store(lock_timeout=2).transaction([KEY]) as records:
        records.servers[KEY] = entry()
    assert sorted(backend.store().read().servers) == sorted([OTHER, "ucs https://ucs7.example.com", KEY])


def _write_many(backend, number, count, start):
    start.wait(10)
    store = backend.store(lock_timeout=30)
    key = record.server_key("ucs", "https://ucs%d.example.com" % number)
    for step in range(count):
        # Every third write takes the whole record, as a transaction of every server does.
        with store.transaction(None if step % 3 == 2 else [key]) as records:
            current = records.servers.get(key)
            if current is None:
                records.servers[key] = record.new_entry("ucs", "https://ucs%d.example.com" % number, "production",
                                                        "maintenance", "app%d" % number, "ops", T0)
            else:
                records.servers[key] = record.advanced(current, note="step %d" % step)


def _write_one_server(backend, count, start):
    """`count` writers of one server, each advancing what the one before wrote."""
    start.wait(10)
    store = backend.store(lock_timeout=30)
    for _step in range(count):
        with store.transaction([KEY]) as records:
            current = records.servers.get(KEY) or dict(entry(), sequence=0)
            records.servers[KEY] = record.advanced(current)


def run_together(calls):
    """Run each (function, arguments) in a process of its own, all let go at once; each must succeed."""
    start = FORK.Event()
    processes = [FORK.Process(target=function, args=arguments + (start,)) for function, arguments in calls]
    for process in processes:
        process.start()
    start.set()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0


def test_concurrent_writers_keep_each_others_entries(backend):
    writers, count = 6, 15
    run_together([(_write_many, (backend, number, count)) for number in range(writers)]
                 + [(_write_one_server, (backend, count))] * 4)
    servers = backend.store().read().servers
    assert sorted(servers) == sorted(["ucs https://ucs%d.example.com" % number for number in range(writers)] + [KEY])
    # No write was lost: each server's entry went through all its steps.
    assert {servers[key]["sequence"] for key in servers if key != KEY} == {count}
    assert {servers[key]["note"] for key in servers if key != KEY} == {"step %d" % (count - 1)}
    assert servers[KEY]["sequence"] == 4 * count


# -- PostgreSQL only -----------------------------------------------------------------------------------
@pytest.fixture
def postgresql_backend(postgresql, monkeypatch):
    for name, value in postgresql.environment().items():
        monkeypatch.setenv(name, value)
    return Backend("postgresql", postgresql.url)


def test_writers_of_other_servers_do_not_wait_for_a_held_lock(postgresql_backend):
    # As enter's check does, before any transaction: a first transaction that makes the table
    # holds every other first writer until it ends (test_first_runs_at_once_make_the_table_once).
    postgresql_backend.store().check()
    held, release = FORK.Event(), FORK.Event()
    holder = FORK.Process(target=_hold_lock, args=(postgresql_backend, [OTHER], held, release))
    holder.start()
    try:
        assert held.wait(10)
        started = time.monotonic()
        with postgresql_backend.store(lock_timeout=5).transaction([KEY]) as records:
            records.servers[KEY] = entry()
        assert time.monotonic() - started < 1
        # A transaction of every server does wait for it.
        with pytest.raises(WindowError, match="The lock of the record in .* was not free within 0.3 s"):
            with postgresql_backend.store(lock_timeout=0.3).transaction():
                pass
    finally:
        release.set()
        holder.join(10)
    assert sorted(postgresql_backend.store().read().servers) == sorted([KEY, OTHER])


def _first_write(backend, number, start):
    start.wait(10)
    key = record.server_key("ucs", "https://first%d.example.com" % number)
    with backend.store(lock_timeout=30).transaction([key]) as records:
        records.servers[key] = record.new_entry("ucs", "https://first%d.example.com" % number, "production",
                                                "maintenance", "app%d" % number, "ops", T0)


def test_first_runs_at_once_make_the_table_once(postgresql_backend):
    run_together([(_first_write, (postgresql_backend, number)) for number in range(5)])
    assert len(postgresql_backend.store().read().servers) == 5


def test_a_table_made_after_a_snapshot_is_seen_whole_or_not_at_all(postgresql_backend, postgresql):
    """A statement finds a table by name in the catalogs as they are now, and reads rows as its
    snapshot has them: a table another first run made and commented just after the snapshot must
    not look like a table without the comment, someone else's."""
    import psycopg

    reader = postgresql.connect()
    reader.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    try:
        assert _postgresql._table_comment(reader) is None
        postgresql_backend.store().check()
        # A catalog this transaction has not read yet: its lock brings the other run's changes to the catalogs.
        reader.execute("SELECT count(*) FROM pg_am")
        assert _postgresql._table_comment(reader) is None
    finally:
        reader.close()
    with postgresql.connect() as fresh:
        assert _postgresql._table_comment(fresh) == _postgresql.TABLE_COMMENT


def test_a_database_whose_transactions_default_to_repeatable_read_loses_no_write(postgresql_backend, postgresql):
    postgresql.cluster.sql("ALTER DATABASE %s SET default_transaction_isolation = 'repeatable read'"
                           % identifier(postgresql.name))
    writers, count = 3, 10
    run_together([(_write_many, (postgresql_backend, number, count)) for number in range(writers)]
                 + [(_write_one_server, (postgresql_backend, count))] * 3)
    servers = postgresql_backend.store().read().servers
    assert {servers[key]["sequence"] for key in servers if key != KEY} == {count}
    assert servers[KEY]["sequence"] == 3 * count


@pytest.mark.parametrize("url, message", [
    ("postgresql://opsmodes:Secret-9@127.0.0.1/windows", "must not carry a password"),
    ("postgresql://opsmodes@127.0.0.1/windows?password=Secret-9", "must not carry a password"),
    ("postgresql://opsmodes@127.0.0.1/windows?sslmode=require&sslpassword=Secret-9", "must not carry a password"),
    # libpq decodes a parameter's name too.
    ("postgresql://opsmodes@127.0.0.1/windows?pass%77ord=Secret-9", "must not carry a password"),
    ("postgresql://opsmodes@127.0.0.1/windows?PASSWORD=Secret-9", "must not carry a password"),
    # libpq would read the host from what follows the /, and the rest as the database's name.
    ("postgresql://opsmodes:Sec/ret-9@127.0.0.1/windows", "must not carry a password"),
    # libpq's own error would quote the token it cannot decode.
    ("postgresql://opsmodes:Secret%ZZ-9@127.0.0.1/windows", "must not carry a password"),
    ("postgresql://opsmodes@127.0.0.1/win%ZZdows", "cannot be read: .*invalid percent-encoded token"),
    ("mysql://opsmodes:Secret-9@127.0.0.1/windows", "must be a URL of the form postgresql://"),
    ("opsmodes:Secret-9@127.0.0.1:5432/windows", "must be a URL of the form postgresql://"),
    ("host=127.0.0.1 user=opsmodes password=Secret-9 dbname=windows", "must be a URL of the form postgresql://"),
    ("/srv/records.db", "must be a URL of the form postgresql://"),
])
def test_a_url_that_cannot_be_used_is_refused_without_showing_a_password(url, message):
    with pytest.raises(WindowError, match=message) as raised:
        PostgresStore.of(url)
    assert "Secret" not in str(raised.value)


@pytest.mark.parametrize("url, shown", [
    ("postgresql://opsmodes@db.example.com:5432/windows?sslmode=verify-full",
     "postgresql://opsmodes@db.example.com:5432/windows?sslmode=verify-full"),
    ("postgresql://opsmodes:Sec/ret@db.example.com/windows", "postgresql://opsmodes@db.example.com/windows"),
    ("postgresql://db.example.com/windows?password=Secret&sslpassword=Secret&application_name=x",
     "postgresql://db.example.com/windows?password=********&sslpassword=********&application_name=x"),
    ("postgresql://db.example.com/windows?pass%77ord=Secret",
     "postgresql://db.example.com/windows?pass%77ord=********"),
])
def test_a_url_is_shown_without_its_secrets(url, shown):
    assert public_url(url) == shown


def test_an_unreachable_database_is_an_error_naming_it(postgresql, monkeypatch):
    for name, value in postgresql.environment().items():
        monkeypatch.setenv(name, value)
    store = PostgresStore.of(postgresql.url.replace(str(postgresql.cluster.port), "1"), lock_timeout=0.5)
    for attempt in (store.check, store.read, lambda: store.transaction([KEY]).__enter__()):
        with pytest.raises(WindowError, match="could not be reached") as raised:
            attempt()
        assert "127.0.0.1" in str(raised.value) and postgresql.password not in str(raised.value)


def test_a_wrong_password_is_an_error_that_does_not_show_it(postgresql, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "Not-The-Password7")
    with pytest.raises(WindowError, match="could not be reached.*password authentication failed") as raised:
        PostgresStore.of(postgresql.url).check()
    assert "Not-The-Password7" not in str(raised.value)


def test_a_table_of_that_name_that_is_not_a_record_is_refused(postgresql_backend):
    import psycopg

    with psycopg.connect(postgresql_backend.location, autocommit=True) as connection:
        connection.execute("CREATE TABLE opsmodes_window_records (server text PRIMARY KEY, entry text NOT NULL)")
    for attempt in (lambda store: store.read(), lambda store: store.check(create=False),
                    lambda store: store.transaction([KEY]).__enter__()):
        with pytest.raises(WindowError, match="is not a window record of this version"):
            attempt(postgresql_backend.store())


def test_rows_that_are_not_entries_are_refused(postgresql_backend):
    with postgresql_backend.store().transaction() as records:
        records.servers[KEY] = entry()
    postgresql_backend.write_by_hand(KEY, {"state": "open"})
    with pytest.raises(WindowError, match="holds rows that are not window records"):
        postgresql_backend.store().read()


def test_the_database_restarted_between_two_transactions(postgresql_backend, postgresql):
    store = postgresql_backend.store()
    with store.transaction([KEY]) as records:
        records.servers[KEY] = entry()
    postgresql.cluster.restart()
    with store.transaction([KEY]) as records:
        records.servers[KEY] = record.closed(records.servers[KEY], T1, "put back")
    assert store.read().servers[KEY]["state"] == CLOSED


def test_tls_to_the_database_is_libpqs_and_verified_as_the_url_asks(tmp_path, monkeypatch):
    """sslmode and sslrootcert as libpq takes them, in the URL or the environment: verify-full
    against the server's CA connects over TLS; without that CA it refuses before any record is read."""
    monkeypatch.setenv("HOME", str(tmp_path))
    with PostgresCluster(tls=True) as cluster:
        monkeypatch.setenv("PGPASSWORD", cluster.password)
        verified = "%s?sslmode=verify-full&sslrootcert=%s" % (cluster.url, EMULATOR_CERT)
        store = PostgresStore.of(verified)
        store.check()
        with store.transaction([KEY]) as records:
            records.servers[KEY] = entry()
        import psycopg

        with psycopg.connect(verified) as connection:
            assert connection.pgconn.ssl_in_use
        monkeypatch.setenv("PGSSLMODE", "verify-full")
        monkeypatch.setenv("PGSSLROOTCERT", EMULATOR_CERT)
        assert KEY in PostgresStore.of(cluster.url).read().servers
        monkeypatch.delenv("PGSSLROOTCERT")
        with pytest.raises(WindowError, match="could not be reached.*root certificate file"):
            PostgresStore.of(cluster.url).read()
