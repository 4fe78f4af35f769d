# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""Connections to the record's PostgreSQL database (_postgresql.py): the URL checked, and shown,
without its secrets; a connection made with bounded retries that never try a refused login again;
a connection that falls silent cut."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from urllib.parse import unquote

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import store as messages

try:
    import psycopg
    import psycopg.errors
    from psycopg.conninfo import conninfo_to_dict, make_conninfo
except ImportError:
    psycopg = None

CONNECT_TIMEOUT = 10
# A database that restarts or fails over turns connections away for a while: a connection refused,
# dropped, or turned away while the server starts, stops or is full is tried again, the pauses
# growing to the last of these, within window_lock_timeout, the longest a run waits for the record.
# Any other failure is said at once: a refused login tried again only brings an account lockout
# nearer, and a server that gave no answer within connect_timeout would only be waited for again.
# libpq reports no SQLSTATE for a failed connection, so its words tell (the server's in English,
# its default).
CONNECT_PAUSES = (0.25, 0.5, 1.0, 2.0, 4.0)
PASSING_FAILURES = re.compile(
    r"connection refused|server closed the connection|the database system is (starting up|shutting down|in "
    r"recovery mode|not yet accepting connections)|too many clients|remaining connection slots", re.IGNORECASE)
# A connection that stops answering (a network path or a pooler that drops what it is sent
# without closing) is cut once it has been in use for this long past the longest lock wait: no
# read or transaction of the store's takes that long otherwise.
SILENCE_LIMIT = 30.0
# Parameters of a connection that carry a secret, never taken from the URL.
SECRET_PARAMETERS = ("password", "sslpassword")


def checked_url(url):
    """window_state_url, if it is a postgresql:// URL without a password that libpq reads;
    WindowError otherwise, before any connection."""
    if psycopg is None:
        raise WindowError(messages.psycopg_missing())
    url = str(url)
    # Nothing else is shown: a string that is no such URL may be a connection string with a password.
    if not re.match(r"postgres(ql)?://", url):
        raise WindowError(messages.not_postgresql())
    # Looked for before libpq reads the URL, whose errors may quote a password it could not read.
    if ":" in _user_information(url) or any(_secret(name) for name, _value in _query(url)):
        raise WindowError(messages.password_in_url())
    try:
        conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise WindowError(messages.unreadable_url(public_url(url), one_line(exc)))
    return url


def connect(url, location, name, patience, notify):
    """A connection to `url` in autocommit mode, named `name` for the runs that wait for its locks;
    a failure that passes is tried again within `patience` seconds, said once it takes a while."""
    settings = {"application_name": name}
    if "connect_timeout" not in conninfo_to_dict(url):
        settings["connect_timeout"] = CONNECT_TIMEOUT
    conninfo = make_conninfo(url, **settings)
    deadline = time.monotonic() + patience
    pauses = list(CONNECT_PAUSES)
    told = False
    while True:
        try:
            # Statements are not prepared: a pooler in transaction mode (PgBouncer) would lose them.
            return psycopg.connect(conninfo, autocommit=True, prepare_threshold=None)
        except psycopg.OperationalError as exc:
            failure = one_line(exc)
            pause = pauses.pop(0) if len(pauses) > 1 else pauses[0]
            if not PASSING_FAILURES.search(failure) or time.monotonic() + pause > deadline:
                raise WindowError(messages.unreachable(location, failure))
            if not told and pause >= CONNECT_PAUSES[-2]:
                told = True
                notify(messages.trying_again(location, failure, patience))
            time.sleep(pause)


class Watchdog:
    """Cuts a connection that has not ended after `seconds`: shut down under libpq, its socket
    ends the wait for an answer that is not coming. It holds a duplicate of the socket until
    cancelled, so that the number it shuts down is never one that another thread opened since."""

    def __init__(self, connection, seconds):
        self.seconds = seconds
        self.cut = False
        self._socket = socket.socket(fileno=os.dup(connection.fileno()))
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True
        self._timer.start()

    def _cut(self):
        self.cut = True
        try:
            self._socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def cancel(self):
        self._timer.cancel()
        # A cut under way ends before the duplicate goes.
        self._timer.join()
        self._socket.close()


def _user_information(url):
    """What a postgresql:// URL carries before its host, read as loosely as a person might have
    written it: up to the last @ before the query, a / in a password included."""
    address = url.split("://", 1)[1].split("?", 1)[0]
    return address.rpartition("@")[0]


def _query(url):
    """The (name, value) pairs of a URL's query, as written."""
    query = url.split("?", 1)[1] if "?" in url else ""
    return [pair.partition("=")[::2] for pair in query.split("&") if pair]


def _secret(name):
    # libpq decodes a parameter's name as it decodes its value: pass%77ord is a password.
    return unquote(name).lower() in SECRET_PARAMETERS


def public_url(url):
    """The URL as messages show it: no password, whether in its user information or its query."""
    scheme, rest = str(url).split("://", 1)
    address, query_mark, _query_text = rest.partition("?")
    user_information, at, host = address.rpartition("@")
    if at:
        address = user_information.split(":", 1)[0] + at + host
    query = "&".join("%s=%s" % (name, "********" if _secret(name) else value) for name, value in _query(str(url)))
    return scheme + "://" + address + query_mark + query


def one_line(exc):
    return re.sub(r"\s+", " ", str(exc)).strip().rstrip(".")
