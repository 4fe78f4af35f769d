# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""The state file's lock: an exclusive flock of <state file>.lock, which names its holder, waited
for within a bound and saying what it waits for."""

from __future__ import annotations

import fcntl
import getpass
import os
import socket
import threading
import time
from contextlib import contextmanager, suppress

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import store as messages
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._record import utc_now
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._store import LockNotices


@contextmanager
def locked(state_file, timeout, notify, trusted):
    """The lock of `state_file`: its file <state_file>.lock, which names the holder, taken within
    `timeout` seconds; `notify` is told what a wait waits for, `trusted(path, status=None)` refuses
    a lock file that is not to be trusted."""
    lock_path = state_file + ".lock"
    trusted(lock_path)
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        trusted(lock_path, os.fstat(descriptor))
        _acquire(descriptor, state_file, timeout, notify)
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, messages.lock_holder(os.getpid(), socket.gethostname(), getpass.getuser(),
                                                   utc_now()).encode("utf-8"), 0)
        yield
    finally:
        os.close(descriptor)


def _acquire(descriptor, state_file, timeout, notify):
    """Wait for the lock in the kernel, which hands it over the moment it is freed: polling left
    it idle between polls, a third of every phase at fifty forks. The wait runs in a thread of its
    own so that it can be bounded and say what it waits for; given up, that thread lets the lock go
    as soon as it gets it."""
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    waiter = LockWaiter(descriptor)
    what = messages.state_file_lock(state_file)
    notices = LockNotices(timeout, notify, "the lock of " + what)
    while not _waited(waiter, notices.next_stop(), state_file):
        if notices.timed_out():
            raise WindowError(messages.lock_not_free(what, timeout, _holder(state_file)))
        notices.tell(lambda: _holder(state_file))


def _waited(waiter, until, state_file):
    try:
        return waiter.wait(until)
    except OSError as exc:
        raise WindowError(messages.lock_not_taken(state_file, exc.strerror))


class LockWaiter:
    """A blocking flock of a lock file's descriptor, in a thread, that can be waited for with a
    deadline. It locks a duplicate of the descriptor: the lock belongs to the open file both share,
    so the caller holds it once the thread has it. A caller that gives up closes its descriptor;
    if the thread gets the lock later, closing its own, the file's last, frees it at once."""

    # The duplicates of waits under way. A child that a fork makes meanwhile closes them: it has no
    # thread to let the lock go, and holding the open file it would keep the lock that this
    # process's thread takes later.
    _waiting = set()
    _guard = threading.Lock()

    def __init__(self, descriptor):
        with LockWaiter._guard:
            self._descriptor = os.dup(descriptor)
            LockWaiter._waiting.add(self._descriptor)
        self._done = threading.Event()
        self._error = None
        threading.Thread(target=self._lock, name="state file lock", daemon=True).start()

    def _lock(self):
        try:
            fcntl.flock(self._descriptor, fcntl.LOCK_EX)
        except OSError as exc:
            self._error = exc
        finally:
            with LockWaiter._guard:
                LockWaiter._waiting.discard(self._descriptor)
                os.close(self._descriptor)
            self._done.set()

    def wait(self, until):
        """True once the lock is held; False if it is not by the monotonic time `until`."""
        if not self._done.wait(max(0.0, until - time.monotonic())):
            return False
        if self._error is not None:
            raise self._error
        return True

    @classmethod
    def _in_child(cls):
        for descriptor in cls._waiting:
            with suppress(OSError):
                os.close(descriptor)
        cls._waiting.clear()
        cls._guard.release()


os.register_at_fork(before=LockWaiter._guard.acquire, after_in_parent=LockWaiter._guard.release,
                    after_in_child=LockWaiter._in_child)


def _holder(state_file):
    try:
        with open(state_file + ".lock", encoding="utf-8") as stream:
            return stream.read().strip() or messages.unknown_holder()
    except OSError:
        return messages.unknown_holder()
