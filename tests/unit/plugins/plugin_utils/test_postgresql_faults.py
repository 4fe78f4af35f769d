# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The PostgreSQL record store when the database or the path to it misbehaves: a table lock held
by someone else, a node lost in the middle of a transaction, a connection that falls silent, a
server that accepts and never answers, a refused login, a restart. Every wait is bounded and
says what it waits for; nothing is tried again that would only meet the same refusal."""

from __future__ import annotations

import os
import secrets
import signal
import threading
import time

import pytest

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _postgresql
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._postgresql import PostgresStore
from ansible_collections.opsmodes.maintenance.tests.support.postgresql import identifier, literal
from ansible_collections.opsmodes.maintenance.tests.support.tcp import SilentProxy
from ansible_collections.opsmodes.maintenance.tests.unit.plugins.plugin_utils.test_record_store import (
    FORK, KEY, entry)


@pytest.fixture
def database(postgresql, monkeypatch):
    for name, value in postgresql.environment().items():
        monkeypatch.setenv(name, value)
    PostgresStore.of(postgresql.url).check()
    return postgresql


def server_log(postgresql):
    with open(postgresql.cluster.log, encoding="utf-8", errors="replace") as stream:
        return stream.read()


def test_a_table_lock_held_by_someone_else_is_waited_for_within_the_lock_timeout(database):
    """A VACUUM FULL or an ALTER TABLE holds the table against every statement: the wait is the
    lock's, bounded by window_lock_timeout and naming who holds it."""
    holder = database.connect(application_name="")
    holder.execute("LOCK TABLE opsmodes_window_records IN ACCESS EXCLUSIVE MODE")
    try:
        store = PostgresStore.of(database.url, lock_timeout=0.5)
        for attempt in (store.read, lambda: store.transaction([KEY]).__enter__()):
            started = time.monotonic()
            with pytest.raises(WindowError) as raised:
                attempt()
            assert time.monotonic() - started < 5
            message = str(raised.value)
            assert "The lock of the table opsmodes_window_records in %s itself" % database.url in message
            assert "PostgreSQL backend %d of opsmodes" % holder.info.backend_pid in message
    finally:
        holder.rollback()
        holder.close()
    with store.transaction([KEY]) as records:
        records.servers[KEY] = entry()
    assert KEY in store.read().servers


def _lost_in_the_middle(url, held):
    """A node lost while it holds a transaction open: stopped, its connection open and idle."""
    _postgresql.IDLE_IN_TRANSACTION = 1
    with PostgresStore.of(url).transaction([KEY]) as records:
        records.servers[KEY] = entry()
        held.set()
        os.kill(os.getpid(), signal.SIGSTOP)


def test_a_node_lost_in_the_middle_of_a_transaction_lets_its_lock_go(database):
    held = FORK.Event()
    lost = FORK.Process(target=_lost_in_the_middle, args=(database.url, held))
    lost.start()
    try:
        assert held.wait(10), "the lost node took no lock"
        started = time.monotonic()
        with PostgresStore.of(database.url, lock_timeout=20).transaction([KEY]) as records:
            assert KEY not in records.servers, "the lost node's write was not committed"
            records.servers[KEY] = dict(entry(), note="after the lost node")
        # Let go by the server once the transaction sat idle for IDLE_IN_TRANSACTION (1 s here),
        # not when the lock timeout ran out, nor hours later when TCP would tell.
        assert time.monotonic() - started < 10
    finally:
        lost.kill()
        lost.join(10)
    assert "terminating connection due to idle-in-transaction timeout" in server_log(database)


def test_a_connection_that_falls_silent_is_cut_and_said_so(database):
    with SilentProxy(database.cluster.port) as proxy:
        url = database.url.replace(":%d/" % database.cluster.port, ":%d/" % proxy.port)
        store = PostgresStore.of(url, lock_timeout=0.5, silence_limit=1.0)
        started = time.monotonic()
        with pytest.raises(WindowError) as raised:
            with store.transaction([KEY]) as records:
                records.servers[KEY] = entry()
                proxy.freeze()
        assert time.monotonic() - started < 10
        assert "had not answered within 1.5 s (window_lock_timeout and 1 s more), so its connection was cut" \
            in str(raised.value)
        assert "it may or may not have taken the last write" in str(raised.value)
    assert KEY not in PostgresStore.of(database.url).read().servers


def test_a_server_that_accepts_and_never_answers_is_tried_once(database):
    with SilentProxy(database.cluster.port, tarpit=True) as tarpit:
        url = database.url.replace(":%d/" % database.cluster.port, ":%d/" % tarpit.port) + "?connect_timeout=1"
        started = time.monotonic()
        with pytest.raises(WindowError, match="could not be reached: .*timeout expired"):
            PostgresStore.of(url).read()
        assert time.monotonic() - started < 5
        assert tarpit.accepted == 1, "an answer that did not come within connect_timeout is not waited for again"


def test_a_refused_login_is_tried_once(database, monkeypatch):
    """A login tried again only brings an account lockout nearer (LDAP, PAM, a cloud's IAM)."""
    before = server_log(database).count("password authentication failed")
    monkeypatch.setenv("PGPASSWORD", "Not-The-Password7")
    with pytest.raises(WindowError, match="password authentication failed") as raised:
        PostgresStore.of(database.url).read()
    assert "Not-The-Password7" not in str(raised.value)
    assert server_log(database).count("password authentication failed") == before + 1


def test_a_database_that_restarts_is_waited_for_and_said_so(database):
    store_url = database.url
    with PostgresStore.of(store_url).transaction([KEY]) as records:
        records.servers[KEY] = entry()
    database.cluster.stop_server()
    told = []
    starting = []

    def notify(message):
        told.append(message)
        # The server comes back only once the store has been turned away a few times.
        if not starting:
            starting.append(threading.Thread(target=database.cluster.start_server))
            starting[0].start()
    try:
        assert KEY in PostgresStore.of(store_url, lock_timeout=90, notify=notify).read().servers
    finally:
        for thread in starting:
            thread.join(120)
    assert len(told) == 1 and "turns connections away (connection failed" in told[0]
    assert "trying again for up to 90 s (window_lock_timeout)" in told[0]


def test_a_dry_run_tells_that_the_table_could_not_be_made(postgresql, monkeypatch):
    """A dry run makes no table; a real run by a user without CREATE on the schema would fail."""
    for name, value in postgresql.environment().items():
        monkeypatch.setenv(name, value)
    reader = "reader_%s" % secrets.token_hex(4)
    cluster = postgresql.cluster
    cluster.sql("CREATE ROLE %s LOGIN PASSWORD %s" % (identifier(reader), literal(cluster.password)))
    try:
        cluster.sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC", database=postgresql.name)
        url = postgresql.url.replace("//%s@" % cluster.user, "//%s@" % reader)
        with pytest.raises(WindowError, match="may not make it in the schema public: a real run would fail"):
            PostgresStore.of(url).check(create=False, would_create=True)
        PostgresStore.of(url).check(create=False)
        PostgresStore.of(postgresql.url).check(create=False, would_create=True)
        assert not PostgresStore.of(postgresql.url).exists(), "a dry run made the table"
    finally:
        cluster.sql("DROP OWNED BY %s" % identifier(reader), database=postgresql.name)
        cluster.sql("DROP ROLE %s" % identifier(reader))
