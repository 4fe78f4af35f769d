# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""The record journal of one host's phase: it reads the entries of the host's servers from the
store and from the copies the play and AWX carry, chooses the one that tells the latest, and
writes, whichever store is behind it. It owns the write-ahead rules: every write to a server is
noted before it goes out and the server's job once it answers, and every write to an entry checks
first that the entry is still the one this run acts on (compare and swap)."""

from __future__ import annotations

from contextlib import nullcontext

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _record as record
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import phases as messages
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import RecordReplaced, WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._plan import CLOSE, PUT_BACK, SWITCH
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._store import drop_legacy


class Journal:
    """The record of one host's servers (see the module's docstring). In check mode, what is
    written goes to a copy that is never kept."""

    def __init__(self, store, settings):
        self.store = store
        self.settings = settings
        self.host = settings.host
        # Nothing is written, as in check mode, where exit or confirm finds no record to write to:
        # they never make one (enter does, and says so).
        self.read_only = settings.check_mode

    @property
    def location(self):
        return self.store.location

    def check(self, create=True):
        """Fail unless the store can be used, before any switch; a dry run makes nothing. Without
        `create`, a store that is not there yet is only read (as empty), and never made."""
        self.store.check(create=create and not self.settings.check_mode,
                         would_create=create and self.settings.check_mode)
        if not create and not self.store.exists():
            self.read_only = True

    def read(self, keys=None):
        """The store's records of the host's servers (of `keys`), without a lock."""
        return self.store.read(self.settings.keys if keys is None else keys)

    def changing(self):
        """The store's records of the host's servers to change, under their lock; in check mode
        a copy to change that is never written."""
        if self.read_only:
            return nullcontext(self.read())
        return self.store.transaction(self.settings.keys)

    def put(self, records, target, entry):
        records.servers[target.key] = entry
        drop_legacy(records, self.host, target.name)

    def chosen(self, records, target):
        """The server's entry: of the copies in the sources (the store, AWX's window_records, this
        play's fact), the one that tells the latest."""
        return record.choose([(source, entry) for source in self.settings.sources
                              for entry in self._copies(source, records, target)])

    def _copies(self, source, records, target):
        if source == "state_file":
            return self._stored(records, target)
        if source == "window_records":
            views = list(self.settings.copies["window_records"].items())
        else:
            views = [(self.host, self.settings.copies["fact"])]
        copies = []
        for host, view in views:
            for name, value in view.items() if isinstance(view, dict) else ():
                entry = record.entry_of(value)
                if entry is not None and entry.get("dry_run") and not self.settings.check_mode:
                    continue
                if entry is not None and entry["server"] == target.key:
                    copies.append(entry)
                elif entry is None and host == self.host and name == target.name and isinstance(value, dict) \
                        and value.get("state") in (record.OPEN, record.CLOSED):
                    copies.append(record.from_legacy(value, target.name, target.url, self.host))
        return copies

    def _stored(self, records, target):
        legacy = (records.legacy.get(self.host) or {}).get(target.name)
        current = records.servers.get(target.key)
        if legacy is None:
            return [current]
        old = record.from_legacy(legacy, target.name, target.url, self.host)
        if record.is_open(current) and record.is_open(old) and current["window"] != old["window"]:
            return [record.joined_legacy(current, legacy, self.host)]
        return [current, old]

    def note(self, target, item, closing=None, **changes):
        """Write to the server's entry of this window, if it is still the one this run acts on:
        open, held by this host (its only holder, for a put-back and the closing after it), and,
        for enter's switch, not yet claimed by an exit, which reads the mode after its claim and
        must not meet a switch sent behind it. Another run may have acted on the server meanwhile
        (an exit, or a worker that kill -9 of ansible-playbook left running): then nothing is
        written and RecordReplaced says why; a closing of the same window that another run of it
        wrote stays. `closing` is (time, note) to close the entry with; with neither `closing`
        nor `changes`, the entry is only checked."""
        with self.changing() as records:
            entry = self._noted(records, target, item, closing, changes)
        if entry is not None:
            item.entry = entry
        return entry

    def note_each(self, notes):
        """The notes [(target, item, closing, changes)] of several servers in one transaction,
        one commit: each is checked and written as `note` does it. Returns {service: the
        RecordReplaced of a note not written}; the others are written all the same."""
        refused, written = {}, []
        with self.changing() as records:
            for target, item, closing, changes in notes:
                try:
                    written.append((item, self._noted(records, target, item, closing, changes)))
                except RecordReplaced as exc:
                    refused[item.service] = exc
        for item, entry in written:
            if entry is not None:
                item.entry = entry
        return refused

    def _noted(self, records, target, item, closing, changes):
        """`note`'s check and write in the transaction of `records`: the entry written (or
        checked), or None for a closing another run of this window wrote."""
        # With no record to write to, the entry this run acts on is the copy it chose.
        current = item.entry if self.read_only else records.servers.get(target.key)
        if closing and closed_in_window(current, item):
            return None
        holders = set(current.get("holders") or []) if current else set()
        sole = item.action in (PUT_BACK, CLOSE)
        if current is None or current["window"] != item.window or not record.is_open(current) \
                or self.host not in holders or sole and holders != {self.host} \
                or item.action == SWITCH and current.get("leaving"):
            raise RecordReplaced(messages.record_replaced(target.key, self.location, current), current)
        if not closing and not changes:
            return current
        entry = record.closed(current, *closing) if closing else record.advanced(current, **changes)
        self.put(records, target, entry)
        return entry

    def note_sending(self, target, item, keep_ahead=True):
        """The note before a write goes out. Enter put its switch on the record when it opened
        the entry, exit its put-back when it claimed it (`item.noted_ahead`): with `keep_ahead`,
        while the record holds that note, made less than record.NOTED_AHEAD before this check (the
        write follows it at once), the entry is only checked and nothing is written. A commit, with
        its flushes, is most of what a phase spends under the record's lock. From here on the note
        stands for a write going out."""
        with self.changing() as records:
            # Judged once the lock is held: waiting for it may have aged the note.
            current = records.servers.get(target.key) or {}
            kept = keep_ahead and item.noted_ahead is not None and not self.read_only \
                and current.get("requested") == item.noted_ahead and record.noted_since(current, record.NOTED_AHEAD)
            entry = self._noted(records, target, item, None,
                                {} if kept else {"requested": record.utc_now(), "handle": None})
        item.entry, item.noted_ahead = entry, None
        return entry

    def on_write(self, target, item, keep_ahead=True):
        """The write-ahead notes of one write to a server (what converge's on_write is told):
        `sending` notes the write on the entry before it goes out (a note made ahead is kept only
        with `keep_ahead`), `unsent` takes the note back when none went out, `sent` adds the
        server's job for it. In check mode, or with no entry (no record, window_no_record=normal),
        nothing is noted."""
        stages = []

        def noted(stage, handle):
            if item.entry is None or self.settings.check_mode:
                return
            if stage == "sending":
                # Counted once noted: a note that fails stops the write before it goes out.
                self.note_sending(target, item, keep_ahead)
            elif stage == "unsent":
                self.take_back_note(target, item)
            elif isinstance(handle, str) and handle:
                try:
                    self.note(target, item, handle=handle)
                except WindowError:
                    # The write went out all the same: it is followed, and the next note
                    # (confirm's) says what became of the record.
                    pass
            stages.append(stage)
        noted.stages = stages
        return noted

    def forget_unsent(self, target, item, stages):
        """A write noted ahead (enter's switch, exit's put-back) that did not go out (the server
        had the mode, or the read failed) did not happen. A write an earlier run left on the record
        stays there until it is seen to end."""
        if item.noted_ahead is not None and "sending" not in stages and record.in_flight(item.entry) \
                and not self.settings.check_mode:
            self.take_back_note(target, item)

    def take_back_note(self, target, item):
        """The write noted on the entry did not go out: the note is taken off it."""
        self.note(target, item, requested=None, handle=None)
        item.noted_ahead = None

    def other_open_entries(self):
        """Open entries this host holds for services this exit does not handle."""
        if not self.settings.others:
            return {}
        records = self.read(list(self.settings.others.values()))
        entries = {name: records.servers.get(key) for name, key in self.settings.others.items()}
        return {name: entry for name, entry in entries.items()
                if record.is_open(entry) and self.host in (entry.get("holders") or [])}

    def strangers(self):
        """Open entries that no host of the inventory holds, named once, by the play's first
        host: nobody would exit them."""
        if not self.settings.first_of_play:
            return []
        records = self.store.read()
        inventory = self.settings.inventory
        strangers = [entry for entry in records.servers.values()
                     if record.is_open(entry) and not set(entry.get("holders") or []) & inventory]
        for host, entries in records.legacy.items():
            if host not in inventory:
                strangers += [dict(entry, holders=[host], server=messages.legacy_server(name, host))
                              for name, entry in entries.items() if record.is_open(entry)]
        return sorted(strangers, key=lambda entry: entry["server"])


def closed_in_window(entry, item):
    """The entry closed in the window `item` acts on: by another run of the same exit."""
    return entry is not None and entry["window"] == item.window and entry["state"] == record.CLOSED
