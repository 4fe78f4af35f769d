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
import re
import socket
import time
import traceback
from contextlib import contextmanager
from datetime import timezone

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import store as messages
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._record import RECORD_VERSION, entry_of
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._store import LockNotices, Records, RecordStore

PSYCOPG_IMPORT_ERROR = None
try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg.conninfo import conninfo_to_dict, make_conninfo
except ImportError:
    psycopg = None
    PSYCOPG_IMPORT_ERROR = traceback.format_exc()

TABLE = "opsmodes_window_records"
# The table's comment says what it is and the version of its entries' shape.
TABLE_COMMENT = "opsmodes.maintenance window records, version %d" % RECORD_VERSION
# The first key of every advisory lock the store takes, so that its locks never meet another
# application's in the same database; the second is the server's, or one of these.
LOCK_SPACE = int.from_bytes(hashlib.sha256(b"opsmodes.maintenance").digest()[:4], "big", signed=True)
WHOLE_TABLE, CREATING = 0, 1
CONNECT_TIMEOUT = 10
# A database that restarts refuses connections for a moment: a connection is tried again after
# these pauses, then the store is called unreachable.
CONNECT_PAUSES = (0.25, 0.5, 1.0, 2.0)
# SQLSTATEs of a server that is starting up or shutting down, which passes.
PASSING_STATES = ("57P01", "57P02", "57P03")


def server_lock(key):
    """The advisory lock's second key for a server's key. Two servers may share one: then their
    writers wait for each other, which costs time, never safety."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "big", signed=True)


class PostgresStore(RecordStore):
    """The window's record in a PostgreSQL database (see the module's docstring)."""

    def __init__(self, url, lock_timeout=60.0, notify=None):
        self.url = url
        self.location = public_url(url)
        self.lock_timeout = lock_timeout
        self.notify = notify or (lambda message: None)
        # PostgreSQL keeps 63 bytes of a connection's name.
        self.holder_name = messages.run_name(os.getpid(), socket.gethostname(), getpass.getuser())[:63]

    @classmethod
    def of(cls, url, **options):
        """The store of window_state_url: a postgresql:// URL without a password."""
        if psycopg is None:
            raise WindowError(messages.psycopg_missing())
        if not re.match(r"postgres(ql)?://", str(url)):
            raise WindowError(messages.not_postgresql(public_url(str(url))))
        try:
            parameters = conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise WindowError(messages.unreadable_url(public_url(url), _one_line(exc)))
        if parameters.get("password") is not None:
            raise WindowError(messages.password_in_url())
        return cls(url, **options)

    # -- reading and writing ----------------------------------------------------------------------------
    def check(self, create=True):
        with self._connected() as connection:
            if create:
                with self._failing("cannot be used"), connection.transaction():
                    self._table(connection, create=True)
            else:
                with self._failing("cannot be used"):
                    self._table(connection, create=False)

    def exists(self):
        with self._connected() as connection, self._failing("cannot be read"):
            return _table_comment(connection) is not None

    def read(self, keys=None):
        with self._connected() as connection, self._failing("cannot be read"):
            if not self._table(connection, create=False):
                return Records()
            return Records(self._load(connection, keys))

    @contextmanager
    def transaction(self, keys=None):
        with self._connected() as connection:
            try:
                with self._failing("cannot be used"):
                    connection.execute("BEGIN")
                    self._table(connection, create=True)
                    self._lock(connection, keys)
                    stored = self._load(connection, keys)
                records = Records({key: dict(entry) for key, entry in stored.items()})
                yield records
                with self._failing("could not be written"):
                    self._save(connection, records, stored)
                    connection.execute("COMMIT")
            finally:
                _roll_back(connection)

    def _table(self, connection, create):
        """Whether the records' table is there, making it with `create`; WindowError when a table
        of its name is something else."""
        comment = _table_comment(connection)
        if comment is None and create:
            # Two first runs at once: the second finds the table the first made once it may go on.
            self._take(connection, CREATING, False, messages.table_making_lock(self.location))
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
    def _lock(self, connection, keys):
        """Lock out the other writers of the servers `keys` names, in one order so that two runs
        never wait for each other's second lock; a transaction of every server locks them all."""
        if keys is None:
            wanted = [(WHOLE_TABLE, False, messages.table_lock(self.location))]
        else:
            wanted = [(WHOLE_TABLE, True, messages.table_lock(self.location))]
            wanted += [(lock, False, messages.server_lock(key, self.location))
                       for lock, key in sorted({server_lock(key): key for key in keys}.items())]
        for lock, shared, what in wanted:
            self._take(connection, lock, shared, what)

    def _take(self, connection, lock, shared, what):
        suffix = "_shared" if shared else ""
        taken = connection.execute("SELECT pg_try_advisory_xact_lock%s(%%s, %%s)" % suffix, (LOCK_SPACE, lock))
        if not taken.fetchone()[0]:
            self._wait_for_lock(connection, lock, suffix, what)

    def _wait_for_lock(self, connection, lock, suffix, what):
        """Wait in the server, which hands the lock over the moment it is freed, in slices that end
        when a notice is due or the wait is over; a slice that ends rolls back only itself."""
        notices = LockNotices(self.lock_timeout, self.notify, "the lock of " + what)
        while True:
            connection.execute("SAVEPOINT lock_wait")
            try:
                slice_ms = max(1, int((notices.next_stop() - time.monotonic()) * 1000))
                connection.execute("SELECT set_config('lock_timeout', %s, true)", (str(slice_ms),))
                connection.execute("SELECT pg_advisory_xact_lock%s(%%s, %%s)" % suffix, (LOCK_SPACE, lock))
            except pg_errors.LockNotAvailable:
                connection.execute("ROLLBACK TO SAVEPOINT lock_wait")
            else:
                # Rolled back to, the savepoint would let the lock go; released, it leaves its short
                # lock_timeout to the rest of the transaction.
                connection.execute("RELEASE SAVEPOINT lock_wait")
                connection.execute("SET LOCAL lock_timeout TO DEFAULT")
                return
            if notices.timed_out():
                raise WindowError(messages.lock_not_free(what, self.lock_timeout, self._holder(connection, lock)))
            notices.tell(lambda: self._holder(connection, lock))

    @staticmethod
    def _holder(connection, lock):
        """Who holds the lock, as its connection named itself: pid, host and user of the run."""
        rows = connection.execute(
            "SELECT a.application_name, a.pid, a.usename, a.client_addr, a.xact_start FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.classid = %s::bigint::oid AND l.objid = %s::bigint::oid AND l.objsubid = 2",
            (LOCK_SPACE & 0xFFFFFFFF, lock & 0xFFFFFFFF)).fetchall()
        if not rows:
            return messages.holder_gone()
        holders = []
        for name, pid, user, address, since in rows:
            started = since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if since else "an unknown time"
            who = name if name.startswith("pid ") else messages.backend_holder(pid, user, address)
            holders.append(messages.holder(who, started))
        return "; ".join(holders)

    # -- connections --------------------------------------------------------------------------------
    @contextmanager
    def _connected(self):
        """A connection of its own for each read and transaction: a run's threads write at once,
        and a forked worker must not share its parent's."""
        connection = self._connect()
        try:
            yield connection
        finally:
            connection.close()

    def _connect(self):
        given = conninfo_to_dict(self.url)
        settings = {"application_name": self.holder_name}
        if "connect_timeout" not in given:
            settings["connect_timeout"] = CONNECT_TIMEOUT
        conninfo = make_conninfo(self.url, **settings)
        for pause in CONNECT_PAUSES + (None,):
            try:
                # Statements are not prepared: a pooler in transaction mode (PgBouncer) would lose them.
                return psycopg.connect(conninfo, autocommit=True, prepare_threshold=None)
            except psycopg.OperationalError as exc:
                if pause is None or exc.sqlstate not in (None,) + PASSING_STATES:
                    raise WindowError(messages.unreachable(self.location, _one_line(exc)))
                time.sleep(pause)

    @contextmanager
    def _failing(self, what):
        """psycopg's errors as WindowError naming the store."""
        try:
            yield
        except WindowError:
            raise
        except psycopg.Error as exc:
            raise WindowError(messages.store_failed(self.location, what, _one_line(exc)))


def _table_comment(connection):
    row = connection.execute("SELECT to_regclass(%s) IS NOT NULL, obj_description(to_regclass(%s), 'pg_class')",
                             (TABLE, TABLE)).fetchone()
    return (row[1] or "") if row[0] else None


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


def public_url(url):
    """The URL as messages show it: no password, whether in its user information or its query."""
    text = re.sub(r"(://[^/@:]*):[^/@]*@", r"\1@", str(url))
    return re.sub(r"(?i)([?&]password=)[^&]*", r"\1********", text)


def _one_line(exc):
    return re.sub(r"\s+", " ", str(exc)).strip().rstrip(".")
