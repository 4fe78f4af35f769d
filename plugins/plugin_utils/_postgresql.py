# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""The record store on PostgreSQL: the window's record where every AWX node and every job reaches
it, so that an exit on another node, in another container, after a cancel or a lost node finds
what enter wrote.

One row per server, as in the state file. Writers of one server are serialized by a
transaction-level advisory lock on the server's key (a lock of the whole table for a transaction
of every server), taken before the rows are read: two servers' writers never wait for each other,
and a lock dies with its connection, so a run killed in the middle leaves it free. Connection,
authentication and TLS are libpq's: the URL, the PG* environment variables, ~/.pgpass and
~/.postgresql, as psql takes them. The password is never part of the URL.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
import time
from contextlib import contextmanager
from datetime import timezone

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import store as messages
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._postgresql_connection import (
    SILENCE_LIMIT,
    Watchdog,
    checked_url,
    connect,
    one_line,
    psycopg,
    public_url,
)
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._record import RECORD_VERSION, entry_of
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._store import LockNotices, Records, RecordStore

TABLE = "opsmodes_window_records"
# The table's comment says what it is and the version of its entries' shape.
TABLE_COMMENT = "opsmodes.maintenance window records, version %d" % RECORD_VERSION
# The first key of every advisory lock the store takes, so that its locks never meet another
# application's in the same database; the second is the server's, or one of these.
LOCK_SPACE = int.from_bytes(hashlib.sha256(b"opsmodes.maintenance").digest()[:4], "big", signed=True)
WHOLE_TABLE, CREATING = 0, 1
# The connections that hold a lock: an advisory lock of the store's (its two keys), or the table's.
HOLDERS = ("SELECT a.application_name, a.pid, a.usename, a.client_addr, a.xact_start FROM pg_locks l "
           "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.pid <> pg_backend_pid() "
           "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND %s")
ADVISORY_HOLDERS = ("l.granted AND l.locktype = 'advisory' AND l.classid = %s::bigint::oid "
                    "AND l.objid = %s::bigint::oid AND l.objsubid = 2")
# The table's locks that stop a run's (ROW EXCLUSIVE), held or waited for: a waiting VACUUM FULL
# or ALTER TABLE is ahead of the run in the queue.
TABLE_HOLDERS = ("l.locktype = 'relation' AND l.relation = to_regclass(%s) AND l.mode IN "
                 "('ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')")
# A node lost in the middle of a transaction leaves its connection open, maybe for hours where no
# packet says it is gone: the server ends a transaction left idle this long, and its locks with it.
IDLE_IN_TRANSACTION = 30


def server_lock(key):
    """The advisory lock's second key for a server's key. Two servers may share one: then their
    writers wait for each other, which costs time, never safety."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "big", signed=True)


class PostgresStore(RecordStore):
    """The window's record in a PostgreSQL database (see the module's docstring)."""

    def __init__(self, url, lock_timeout=60.0, notify=None, silence_limit=SILENCE_LIMIT):
        self.url = url
        self.location = public_url(url)
        self.lock_timeout = lock_timeout
        self.notify = notify or (lambda message: None)
        self.silence_limit = silence_limit
        # PostgreSQL keeps 63 bytes of a connection's name.
        self.holder_name = messages.run_name(os.getpid(), socket.gethostname(), getpass.getuser())[:63]

    @classmethod
    def of(cls, url, **options):
        """The store of window_state_url: a postgresql:// URL without a password."""
        return cls(checked_url(url), **options)

    # -- reading and writing ----------------------------------------------------------------------------
    def check(self, create=True, would_create=False):
        """With `create`, the table is made if it is not there; with `would_create` (a dry run of
        enter), a table that is not there must be one the connection's user may make."""
        with self._connected() as connection, self._failing("cannot be used"), self._begun(connection) as notices:
            if not self._table(connection, notices, create=create) and would_create:
                _may_create(connection, self.location)

    def exists(self):
        with self._connected() as connection, self._failing("cannot be read"):
            return _table_comment(connection) is not None

    def read(self, keys=None):
        with self._connected() as connection, self._failing("cannot be read"), self._begun(connection) as notices:
            if not self._table(connection, notices, create=False):
                return Records()
            self._lock_table(connection, notices, "ACCESS SHARE")
            return Records(self._load(connection, keys))

    @contextmanager
    def transaction(self, keys=None):
        with self._connected() as connection:
            try:
                with self._failing("cannot be used"):
                    notices = self._begin(connection)
                    self._table(connection, notices, create=True)
                    self._lock(connection, notices, keys)
                    self._lock_table(connection, notices, "ROW EXCLUSIVE")
                    stored = self._load(connection, keys)
                records = Records({key: dict(entry) for key, entry in stored.items()})
                yield records
                with self._failing("could not be written"):
                    self._save(connection, records, stored)
                    connection.execute("COMMIT")
            finally:
                _roll_back(connection)

    def _begin(self, connection):
        """Begin a transaction; returns the notices of its lock waits, which share one deadline.
        Its settings end with it: a pooler in transaction mode (PgBouncer) hands the connection on.
        Read committed whatever the database's default: what is read once a lock is taken must be
        what the lock's last holder wrote, not a snapshot from before the wait."""
        connection.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        connection.execute("SELECT set_config('idle_in_transaction_session_timeout', %s, true)",
                           (str(IDLE_IN_TRANSACTION * 1000),))
        return LockNotices(self.lock_timeout, self.notify, None)

    @contextmanager
    def _begun(self, connection):
        """A transaction that only reads."""
        notices = self._begin(connection)
        try:
            yield notices
            connection.execute("COMMIT")
        finally:
            _roll_back(connection)

    def _table(self, connection, notices, create):
        """Whether the records' table is there, making it with `create`; WindowError when a table
        of its name is something else."""
        comment = _table_comment(connection)
        if comment is None and create:
            # Two first runs at once: the second finds the table the first made once it may go on.
            self._take(connection, notices, CREATING, False, messages.table_making_lock(self.location))
            comment = _table_comment(connection)
        if comment is None and create:
            connection.execute("CREATE TABLE IF NOT EXISTS %s (server text PRIMARY KEY, entry text NOT NULL)" % TABLE)
            connection.execute("COMMENT ON TABLE %s IS '%s'" % (TABLE, TABLE_COMMENT))
            comment = _table_comment(connection)
        if comment is None:
            return False
        if comment != TABLE_COMMENT:
            raise WindowError(messages.foreign_table(TABLE, self.location, comment))
        return True

    def _load(self, connection, keys):
        if keys is None:
            rows = connection.execute("SELECT server, entry FROM %s" % TABLE).fetchall()
        else:
            rows = connection.execute("SELECT server, entry FROM %s WHERE server = ANY(%%s)" % TABLE,
                                      (list(keys),)).fetchall() if keys else []
        try:
            servers = {key: _entry(text) for key, text in rows}
        except ValueError:
            raise WindowError(messages.rows_not_records(TABLE, self.location))
        return servers

    @staticmethod
    def _save(connection, records, stored):
        changed = [(key, _text(entry)) for key, entry in records.servers.items()
                   if key not in stored or _text(entry) != _text(stored[key])]
        if changed:
            with connection.cursor() as cursor:
                cursor.executemany("INSERT INTO %s (server, entry) VALUES (%%s, %%s) ON CONFLICT (server) "
                                   "DO UPDATE SET entry = EXCLUDED.entry" % TABLE, changed)

    # -- the locks ---------------------------------------------------------------------------------
    def _lock(self, connection, notices, keys):
        """Lock out the other writers of the servers `keys` names, in one order so that two runs
        never wait for each other's second lock; a transaction of every server locks them all."""
        if keys is None:
            wanted = [(WHOLE_TABLE, False, messages.table_lock(self.location))]
        else:
            wanted = [(WHOLE_TABLE, True, messages.table_lock(self.location))]
            wanted += [(lock, False, messages.server_lock(key, self.location))
                       for lock, key in sorted({server_lock(key): key for key in keys}.items())]
        for lock, shared, what in wanted:
            self._take(connection, notices, lock, shared, what)

    def _take(self, connection, notices, lock, shared, what):
        suffix = "_shared" if shared else ""
        taken = connection.execute("SELECT pg_try_advisory_xact_lock%s(%%s, %%s)" % suffix, (LOCK_SPACE, lock))
        if not taken.fetchone()[0]:
            self._wait_for_lock(connection, notices, "SELECT pg_advisory_xact_lock%s(%%s, %%s)" % suffix,
                                (LOCK_SPACE, lock), what,
                                (ADVISORY_HOLDERS, (LOCK_SPACE & 0xFFFFFFFF, lock & 0xFFFFFFFF)),
                                messages.lost_node_lock(IDLE_IN_TRANSACTION))

    def _lock_table(self, connection, notices, mode):
        """The table's own lock, which a VACUUM FULL or an ALTER TABLE holds against every run."""
        self._wait_for_lock(connection, notices, "LOCK TABLE %s IN %s MODE" % (TABLE, mode), None,
                            messages.table_itself(TABLE, self.location), (TABLE_HOLDERS, (TABLE,)))

    def _wait_for_lock(self, connection, notices, statement, parameters, what, holders, lost_node=""):
        """Run `statement`, which waits for a lock, in the server, which hands the lock over the
        moment it is freed, in slices that end when a notice is due or the wait is over; a slice
        that ends rolls back only itself. `holders` is the condition on pg_locks that finds who
        holds the lock, and its parameters; `lost_node` says when a lost holder lets it go."""
        notices.what = "the lock of " + what
        while True:
            connection.execute("SAVEPOINT lock_wait")
            try:
                slice_ms = max(1, int((notices.next_stop() - time.monotonic()) * 1000))
                connection.execute("SELECT set_config('lock_timeout', %s, true)", (str(slice_ms),))
                connection.execute(statement, parameters)
            except psycopg.errors.LockNotAvailable:
                connection.execute("ROLLBACK TO SAVEPOINT lock_wait")
            else:
                # Rolled back to, the savepoint would let the lock go; released, it leaves its short
                # lock_timeout to the rest of the transaction.
                connection.execute("RELEASE SAVEPOINT lock_wait")
                connection.execute("SET LOCAL lock_timeout TO DEFAULT")
                return
            if notices.timed_out():
                raise WindowError(messages.lock_not_free(what, self.lock_timeout, _holder(connection, holders),
                                                         lost_node))
            notices.tell(lambda: _holder(connection, holders))

    # -- connections --------------------------------------------------------------------------------
    @contextmanager
    def _connected(self):
        """A connection of its own for each read and transaction: a run's threads write at once,
        and a forked worker must not share its parent's. One that stays silent past its lock waits
        and SILENCE_LIMIT is cut, and said to be."""
        connection = connect(self.url, self.location, self.holder_name, self.lock_timeout, self.notify)
        watchdog = Watchdog(connection, self.lock_timeout + self.silence_limit)
        try:
            yield connection
        except (WindowError, psycopg.Error):
            if watchdog.cut:
                raise WindowError(messages.store_silent(self.location, watchdog.seconds, self.silence_limit))
            raise
        finally:
            watchdog.cancel()
            connection.close()

    @contextmanager
    def _failing(self, what):
        """psycopg's errors as WindowError naming the store."""
        try:
            yield
        except WindowError:
            raise
        except psycopg.Error as exc:
            raise WindowError(messages.store_failed(self.location, what, one_line(exc)))


def _holder(connection, holders):
    """Who holds a lock, as its connection named itself: pid, host and user of the run."""
    condition, parameters = holders
    rows = connection.execute(HOLDERS % condition, parameters).fetchall()
    if not rows:
        return messages.holder_gone()
    named = []
    for name, pid, user, address, since in rows:
        started = since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if since else "an unknown time"
        who = name if name.startswith("pid ") else messages.backend_holder(pid, user, address)
        named.append(messages.holder(who, started))
    return "; ".join(named)


def _may_create(connection, location):
    """Fail unless the connection's user may make the records' table in the schema it goes to."""
    row = connection.execute("SELECT current_schema(), has_schema_privilege(current_schema(), 'CREATE')").fetchone()
    if not row[0] or not row[1]:
        raise WindowError(messages.cannot_create(TABLE, location, row[0]))


def _table_comment(connection):
    """The records' table's comment, "" for none; None when there is no such table. Both are read
    in the statement's snapshot: to_regclass alone looks in the catalogs as they are now, and would
    show a table that another run made just after the snapshot was taken, without its comment."""
    row = connection.execute(
        "SELECT description FROM pg_class LEFT JOIN pg_description ON objoid = pg_class.oid "
        "AND classoid = 'pg_class'::regclass AND objsubid = 0 WHERE pg_class.oid = to_regclass(%s)",
        (TABLE,)).fetchone()
    return None if row is None else (row[0] or "")


def _roll_back(connection):
    """End a transaction that did not commit; an error of the rollback itself (a lost connection)
    must not hide the one that ended the transaction."""
    if connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        try:
            connection.execute("ROLLBACK")
        except psycopg.Error:
            pass


def _entry(text):
    entry = json.loads(text)
    if entry_of(entry) is None:
        raise ValueError(text)
    return entry


def _text(entry):
    return json.dumps(entry, sort_keys=True)
