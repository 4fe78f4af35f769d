# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""Where the maintenance window's record (plugins/plugin_utils/_record.py) is kept: one interface,
two stores behind it. The state file (_state_file.py, an SQLite database on the controller) is
the default; a PostgreSQL database (_postgresql.py) is the store that every AWX node and every
job shares, chosen with window_state_url."""

from __future__ import annotations

import time

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import store as messages

# When a wait for a lock says what it waits for: after the first number of seconds, then every
# second number of seconds.
LOCK_NOTICE_SECONDS = (5, 15)


class Records:
    """A store's content: `servers` (key -> entry) and `legacy`, a 1.0.0 state file's records
    (host -> service -> entry) that no run has carried over yet."""

    def __init__(self, servers=None, legacy=None):
        self.servers = servers or {}
        self.legacy = legacy or {}


class RecordStore:
    """What the window asks of a store, whichever it is:

    - `location`: where the records are, for messages (never with a password in it);
    - `check(create, would_create)`: fail with a clear WindowError unless the store can be read
      and written, before any switch; with `create` false (check mode), make nothing, and with
      `would_create` (a dry run of enter) fail where a real run could not make the store;
    - `read(keys)`: the Records of the servers `keys` names (all for None), without the writers'
      locks (PostgreSQL waits only for someone who holds the whole table: a VACUUM FULL, an
      ALTER TABLE) and making nothing;
    - `exists()`: whether there is a record to read (a state file of this version or an earlier
      one, the database's table);
    - `transaction(keys)`: a context manager giving the Records of those servers, read after the
      writers of each of them are locked out (a wait bounded by `lock_timeout`, saying what it
      waits for and naming the holder when it gives up); what the caller changes is durable when
      the block ends without an exception, and nothing is written otherwise. A run that dies in
      the middle (kill -9, a lost node) leaves the record as it was and the lock free.
    """

    location = None

    def check(self, create=True, would_create=False):
        raise NotImplementedError

    def read(self, keys=None):
        raise NotImplementedError

    def exists(self):
        raise NotImplementedError

    def transaction(self, keys=None):
        raise NotImplementedError


class LockNotices:
    """When a bounded wait for a lock says what it waits for: `next_stop()` is the monotonic time
    to look up from the wait (a notice is due, or the wait is over); `due(waited)` tells the
    notice's text, if one is due."""

    def __init__(self, timeout, notify, what):
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.timeout = timeout
        self.notify = notify
        self.what = what
        self.notices = list(LOCK_NOTICE_SECONDS)

    def next_stop(self):
        return min([self.deadline] + [self.started + n for n in self.notices[:1]])

    def waited(self):
        return time.monotonic() - self.started

    def timed_out(self):
        return time.monotonic() >= self.deadline

    def tell(self, holder):
        """Say what the wait waits for if a notice is due; `holder` is called only then."""
        waited = self.waited()
        if self.notices and waited >= self.notices[0]:
            self.notify(messages.waiting_for_lock(waited, self.timeout, self.what, holder()))
            self.notices = self.notices[1:] or [self.notices[0] + LOCK_NOTICE_SECONDS[1]]


def drop_legacy(records, host, service):
    entries = records.legacy.get(host)
    if entries and service in entries:
        del entries[service]
        if not entries:
            del records.legacy[host]
