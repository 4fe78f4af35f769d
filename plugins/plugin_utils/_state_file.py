# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""The state file: where the maintenance window's record (plugins/plugin_utils/_record.py) is kept
on the controller, and how it is read and written safely by serial batches, limits, concurrent
plays and runs that kill -9 cut short."""

from __future__ import annotations

import json
import os
import pathlib
import sqlite3
import tempfile
from contextlib import contextmanager, nullcontext, suppress

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import store as messages
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._record import RECORD_VERSION, entry_of
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._file_lock import locked
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._files import (
    existing_ancestor,
    keep_as_migrated,
    sync_directory,
    trusted,
    writable,
)
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._store import Records, RecordStore

DEFAULT_STATE_FILE = os.path.join("~", ".ansible", "opsmodes.maintenance", "window-records.db")
# Where versions before the database kept the records by default: read, and moved into it.
EARLIER_DEFAULT_STATE_FILE = os.path.join("~", ".ansible", "opsmodes.maintenance", "window-records.json")
SQLITE_HEADER = b"SQLite format 3\x00"


def resolve_state_file(path, cwd=None):
    """The absolute path of the state file: the default location when none is given, a relative
    path taken from the current directory (never from a role's or a collection's folder)."""
    if not path:
        return os.path.expanduser(DEFAULT_STATE_FILE)
    path = os.path.expanduser(path)
    return os.path.normpath(os.path.join(cwd or os.getcwd(), path))


class StateFile(RecordStore):
    """The state file on the controller: an SQLite database, a row per server, so that a write
    costs the same however many servers and windows it remembers. Every change is a transaction
    under an exclusive lock of its own (the lock file names its holder, and a wait for it is
    bounded and says what it waits for); SQLite's rollback journal makes each one whole or absent
    after a crash or kill -9. The file, its journal and its lock are trusted only when they are
    regular files of the user running the play, as ssh trusts its keys.

    A JSON state file of an earlier version (the file given, or the earlier default location) is
    read as it is, and turned into the database by the first transaction, under the lock, in one
    rename; it is kept beside as <file>.migrated."""

    def __init__(self, path, create_directory=False, lock_timeout=60.0, notify=None, earlier_path=None):
        self.path = self.location = path
        self.lock_path = path + ".lock"
        self.journal_path = path + "-journal"
        # Until the database exists, where an earlier version kept its JSON records.
        self.earlier_path = earlier_path
        self.create_directory = create_directory
        self.lock_timeout = lock_timeout
        # Told, now and then, what a wait for the lock waits for.
        self.notify = notify or (lambda message: None)

    @classmethod
    def of(cls, state_file, **options):
        """The store of the role's window_state_file: the default location when it is empty."""
        earlier = None if state_file else os.path.expanduser(EARLIER_DEFAULT_STATE_FILE)
        return cls(resolve_state_file(state_file), create_directory=not state_file, earlier_path=earlier, **options)

    def check(self, create=True, would_create=False):
        """Fail with a clear message unless the file can be trusted, read and written: before any
        switch. With `create` false (check mode), the default directory is not made; with
        `would_create` (a dry run of enter), it must be one that could be."""
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            if not self.create_directory:
                raise WindowError(messages.directory_missing(self.path))
            if not create:
                if would_create:
                    writable(existing_ancestor(directory))
                return
            os.makedirs(directory, mode=0o700, exist_ok=True)
        writable(directory)
        for path in (self.path, self.lock_path, self.journal_path):
            trusted(path)
        if os.path.exists(self.path) and not os.access(self.path, os.R_OK | os.W_OK):
            raise WindowError(messages.not_read_write(self.path))
        self.read(keys=())

    def exists(self):
        return self._source()[0] is not None

    def read(self, keys=None):
        """The records of the servers `keys` names (all of them for None). Reading takes no lock
        and creates nothing: check mode and status read only."""
        path, text = self._source()
        if path is None:
            return Records()
        if text is not None:
            return self._parsed_json(path, text)
        # One read transaction: the servers and the legacy entries of one moment.
        with self._connected("BEGIN") as connection:
            return self._load(connection, keys)[0]

    def _source(self):
        """(path, text): where the records are now and, for a JSON file, its text (None for the
        database); (None, None) when nowhere yet. A file's header and text come from one read, so
        that a run moving it into the database meanwhile cannot mix two files; an empty file
        counts as none (sqlite3 makes one of any path it is given)."""
        # SQLite would take a journal it finds for one a crash left, and roll the database back by it.
        trusted(self.journal_path)
        # The database once more after the earlier file: it may have moved in since the first look.
        for path in (self.path, self.earlier_path, self.path) if self.earlier_path else (self.path,):
            trusted(path)
            try:
                with open(path, "rb") as stream:
                    head = stream.read(len(SQLITE_HEADER))
                    data = None if head == SQLITE_HEADER else head + stream.read()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise WindowError(messages.unreadable(path, exc.strerror))
            if data is None:
                self._check_earlier_left()
                return path, None
            if data.strip():
                return path, data.decode("utf-8", errors="replace")
        return None, None

    def _check_earlier_left(self):
        """A JSON file at the earlier default location beside the database is either the one this
        store moved in, still linked as <file>.migrated (a run cut short before it removed it), or
        one that a run of an earlier version wrote since: its records are in no database."""
        if not self.earlier_path:
            return
        try:
            links = os.lstat(self.earlier_path).st_nlink
        except FileNotFoundError:
            return
        if links == 1:
            raise WindowError(messages.written_after_move(self.earlier_path, self.path))

    def _parsed_json(self, path, text):
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise WindowError(messages.not_json(path, exc))
        if isinstance(document, dict) and document.get("version") == RECORD_VERSION:
            servers, legacy = document.get("servers"), document.get("legacy", {})
            if isinstance(servers, dict) and all(entry_of(e) for e in servers.values()) and _legacy_shape(legacy):
                return Records(servers, legacy)
        elif isinstance(document, dict) and document.get("version") in (None, 1) \
                and _legacy_shape(document.get("records")):
            # A 1.0.0 file: its entries are carried over host by host, as runs learn their URLs.
            return Records({}, document["records"])
        raise WindowError(messages.not_a_record(path))

    @contextmanager
    def _connected(self, begin, path=None):
        """A connection in a transaction that `begin` starts, rolled back unless it was committed.
        It opens an existing file only: SQLite would make an empty database of a missing one."""
        uri = pathlib.Path(os.path.abspath(path or self.path)).as_uri() + "?mode=rw"
        try:
            connection = sqlite3.connect(uri, uri=True, timeout=self.lock_timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._unusable(exc)
        try:
            try:
                connection.execute("PRAGMA synchronous = FULL")
                connection.execute(begin)
            except sqlite3.DatabaseError as exc:
                raise self._unusable(exc)
            yield connection
        finally:
            if connection.in_transaction:
                with suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            connection.close()

    def _unusable(self, exc):
        """A WindowError for SQLite's `exc`: a database that is not a window record is to be
        repaired or moved away; one that cannot be used now (locked, read-only, a full disk) is not."""
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return WindowError(messages.stayed_locked(self.path, self.lock_timeout))
        if isinstance(exc, sqlite3.OperationalError) and "no such table" not in str(exc):
            return WindowError(messages.cannot_be_used(self.path, exc))
        return WindowError(messages.not_a_record(self.path, exc))

    def _load(self, connection, keys):
        """(records, what was read as stored): the servers `keys` names, or all, and the legacy
        entries."""
        try:
            if connection.execute("PRAGMA user_version").fetchone()[0] != RECORD_VERSION:
                raise sqlite3.DatabaseError("user_version is not %d" % RECORD_VERSION)
            if keys is None:
                rows = connection.execute("SELECT server, entry FROM servers").fetchall()
            else:
                keys = list(keys)
                rows = connection.execute("SELECT server, entry FROM servers WHERE server IN (%s)"
                                          % ", ".join("?" * len(keys)), keys).fetchall() if keys else []
            legacy_rows = connection.execute("SELECT host, service, entry FROM legacy").fetchall()
            servers = {key: json.loads(text) for key, text in rows}
            legacy = {}
            for host, service, text in legacy_rows:
                legacy.setdefault(host, {})[service] = json.loads(text)
        except (sqlite3.DatabaseError, ValueError, TypeError) as exc:
            raise self._unusable(exc)
        if not all(entry_of(entry) for entry in servers.values()) or not _legacy_shape(legacy):
            raise WindowError(messages.not_a_record(self.path))
        return Records(servers, legacy), Stored(rows, legacy_rows)

    @contextmanager
    def transaction(self, keys=None):
        """The records of the servers `keys` names (all of them for None), read under the lock;
        what the caller changes in them is written when the block ends without an exception."""
        with locked(self.path, self.lock_timeout, self.notify, trusted):
            self._create()
            with self._connected("BEGIN IMMEDIATE") as connection:
                records, stored = self._load(connection, keys)
                yield records
                try:
                    self._save(connection, records, stored)
                    connection.execute("COMMIT")
                except (sqlite3.Error, OSError) as exc:
                    raise WindowError(messages.write_failed(self.path, exc))

    def _create(self):
        """Make the database where there is none yet, from the JSON file of an earlier version if
        there is one (under that version's lock too, which its runs take), whole at once: built
        aside and renamed into place."""
        if self._source() == (self.path, None):
            return
        with locked(self.earlier_path, self.lock_timeout, self.notify, trusted) if self.earlier_path \
                else nullcontext():
            path, text = self._source()
            if (path, text) == (self.path, None):
                return
            records = self._parsed_json(path, text) if path else Records()
            try:
                self._build(records, path)
            except (OSError, sqlite3.Error) as exc:
                raise WindowError(messages.not_made(self.path, exc))

    def _build(self, records, source):
        directory = os.path.dirname(self.path)
        descriptor, temporary = tempfile.mkstemp(prefix=".window-records.", dir=directory)
        os.close(descriptor)
        try:
            with self._connected("BEGIN", temporary) as connection:
                connection.execute("CREATE TABLE servers (server TEXT PRIMARY KEY, entry TEXT NOT NULL)")
                connection.execute("CREATE TABLE legacy (host TEXT, service TEXT, entry TEXT NOT NULL, "
                                   "PRIMARY KEY (host, service))")
                connection.execute("PRAGMA user_version = %d" % RECORD_VERSION)
                self._save(connection, records, Stored())
                connection.execute("COMMIT")
            if source:
                keep_as_migrated(source)
            os.replace(temporary, self.path)
            if source and source != self.path:
                os.unlink(source)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        sync_directory(directory)

    @staticmethod
    def _save(connection, records, stored):
        """Write what differs from what was read: the rows of changed servers, and the legacy
        entries if any was carried over."""
        for key, entry in records.servers.items():
            text = json.dumps(entry, sort_keys=True)
            if stored.servers.get(key) != text:
                connection.execute("INSERT OR REPLACE INTO servers (server, entry) VALUES (?, ?)", (key, text))
        legacy_rows = {(host, service, json.dumps(entry, sort_keys=True))
                       for host, entries in records.legacy.items() for service, entry in entries.items()}
        if legacy_rows != stored.legacy_rows:
            connection.execute("DELETE FROM legacy")
            connection.executemany("INSERT INTO legacy (host, service, entry) VALUES (?, ?, ?)", sorted(legacy_rows))


class Stored:
    """What a transaction read, as stored: the servers' rows (key -> text) and the legacy rows."""

    def __init__(self, rows=(), legacy_rows=()):
        self.servers = dict(rows)
        self.legacy_rows = set(legacy_rows)


def _legacy_shape(records):
    return isinstance(records, dict) and all(isinstance(r, dict) and all(isinstance(e, dict) for e in r.values())
                                             for r in records.values())
