# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""The maintenance window's logic, on the controller: the durable record of the modes before a
window, and what each phase does with it. The action plugin `window_phase` runs this; the role
`opsmodes.maintenance.window` calls that action.

A record is, per host and per service, one entry:

    {"state": "open" | "closed", "mode_before": "production" | None, "maintenance_mode": "maintenance",
     "opened": "<UTC time>", "by": "<user or AWX job>", "closed": "<UTC time>" | None, "note": "..."}

`enter` writes an open entry for every service of a host before it writes to any server (write
ahead), and keeps an entry that is already open (the mode before the *first* enter is the one to
put back). `exit` acts only on open entries, puts back `mode_before` unless the service was in
maintenance before the window, and closes the entry; it never switches a service it has no entry
for.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import tempfile
from contextlib import contextmanager
from datetime import datetime, timezone

RECORD_VERSION = 1
DEFAULT_STATE_FILE = os.path.join("~", ".ansible", "opsmodes.maintenance", "window-records.json")
SERVICES = ("ucs", "arcgis")
OPEN, CLOSED = "open", "closed"


class WindowError(Exception):
    """A reason to stop before any switch, or to fail a host, in words for the operator."""


class RecordReplaced(WindowError):
    """The state file's entry of a service is no longer the one this run last read or wrote."""


def utc_now():
    # Milliseconds, so that of two entries written within one second the later one sorts last.
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# -- the record store ------------------------------------------------------------------------------

def resolve_state_file(path, cwd=None):
    """The absolute path of the state file: the default location when none is given, a relative
    path taken from the current directory (never from a role's or a collection's folder)."""
    if not path:
        return os.path.expanduser(DEFAULT_STATE_FILE)
    path = os.path.expanduser(path)
    return os.path.normpath(os.path.join(cwd or os.getcwd(), path))


class RecordStore:
    """The JSON state file on the controller. Every change is a read-merge-write of one host's
    entries under an exclusive lock, written to a temporary file and renamed over the old one, so
    that serial batches, limits and concurrent plays keep each other's records and a crash leaves
    either the old file or the new one."""

    def __init__(self, path, create_directory=False):
        self.path = path
        self.lock_path = path + ".lock"
        self.create_directory = create_directory
        # Per host, its entries as this store last read or wrote them: what `update` expects
        # to find in the file.
        self.seen = {}

    def check(self, create=True):
        """Fail with a clear message unless the file can be read and written: before any switch.
        With `create` false (check mode), the default directory is not made: nothing is written."""
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            if not self.create_directory:
                raise WindowError("The directory of the state file %s does not exist: create it, or give another window_state_file."
                                  % self.path)
            if not create:
                return
            os.makedirs(directory, mode=0o700, exist_ok=True)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise WindowError("The state file's directory %s is not writable by this user: nothing was switched." % directory)
        if os.path.exists(self.path) and not os.access(self.path, os.R_OK | os.W_OK):
            raise WindowError("The state file %s cannot be read and written by this user: nothing was switched." % self.path)
        self.records()

    def records(self):
        # Reading needs no lock (the file is replaced whole), and must create nothing: check
        # mode and status read only.
        return self._read()

    def host(self, host):
        record = self.records().get(host, {})
        self.seen[host] = dict(record)
        return record

    def update(self, host, entries):
        """Merge `entries` (service -> entry) into `host`'s record, leaving every other host and
        service as it is in the file. Returns the host's record as written.

        Compare and swap: each service's entry in the file must still be the one this store last
        read or wrote (none, for a host it has not read), or RecordReplaced is raised and nothing
        is written. Another run has then acted on that service meanwhile, for example an exit
        that closed the record while a worker that kill -9 of ansible-playbook left running
        still holds it open."""
        with self._locked():
            records = self._read()
            merged = dict(records.get(host, {}))
            seen = self.seen.get(host, {})
            writes = {}
            for service, entry in entries.items():
                current = merged.get(service)
                if current == seen.get(service):
                    writes[service] = entry
                elif closed_alike(current, entry):
                    # Another run (a worker that kill -9 left running) closed the same opening
                    # meanwhile: nothing left to disagree on, and its closing stays.
                    continue
                else:
                    raise RecordReplaced("The record of %s on %s in %s was %s since this run read it" % (
                        service, host, self.path, "removed" if current is None else
                        "closed at %s (%s)" % (current.get("closed"), current.get("note")) if current.get("state") == CLOSED
                        else "opened at %s by %s" % (current.get("opened"), current.get("by"))))
            merged.update(writes)
            records[host] = merged
            self._write(records)
            self.seen[host] = dict(merged)
            return merged

    @contextmanager
    def _locked(self):
        descriptor = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)

    def _read(self):
        try:
            with open(self.path, encoding="utf-8") as stream:
                text = stream.read()
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return {}
            raise WindowError("The state file %s cannot be read: %s" % (self.path, exc.strerror))
        if not text.strip():
            return {}
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise WindowError("The state file %s is not valid JSON (%s): nothing was switched. Repair it from a backup, "
                              "or move it away after checking the servers' modes." % (self.path, exc))
        records = document.get("records") if isinstance(document, dict) else None
        if not isinstance(records, dict) or not all(isinstance(r, dict) for r in records.values()):
            raise WindowError("The state file %s is not a window record (no 'records' object): nothing was switched." % self.path)
        return records

    def _write(self, records):
        directory = os.path.dirname(self.path)
        descriptor, temporary = tempfile.mkstemp(prefix=".window-records.", dir=directory)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                json.dump({"version": RECORD_VERSION, "records": records}, stream, indent=2, sort_keys=True)
                stream.write("\n")
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        directory_descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(directory_descriptor)
        finally:
            os.close(directory_descriptor)


# -- entries ---------------------------------------------------------------------------------------

def open_entry(mode_before, maintenance_mode, by, now):
    return {"state": OPEN, "mode_before": mode_before, "maintenance_mode": maintenance_mode, "opened": now, "by": by,
            "closed": None, "note": ""}


def closed_entry(entry, now, note):
    return dict(entry, state=CLOSED, closed=now, note=note)


def newest(*entries):
    """Of several copies of one service's entry (the state file, AWX's `window_records`, this
    play's fact), the one that says most recently what happened: the latest opened, and of one
    opening, the closed one."""
    entries = [e for e in entries if isinstance(e, dict) and e.get("state") in (OPEN, CLOSED)]
    if not entries:
        return None
    return max(entries, key=lambda e: (str(e.get("opened") or ""), e.get("state") == CLOSED, str(e.get("closed") or "")))


def merged_record(services, *records):
    """Per service, the newest entry among `records` (each service -> entry, or empty)."""
    merged = {}
    for service in services:
        entry = newest(*((record or {}).get(service) for record in records))
        if entry is not None:
            merged[service] = entry
    return merged


def entering(services, modes_now, maintenance_modes, record, by, now):
    """What enter records before any switch: service -> entry. An open entry is kept, since the
    mode before the window is the one before the first enter; any other service gets a new open
    entry with the mode read now."""
    entries = {}
    for service in services:
        current = record.get(service)
        if current is not None and current.get("state") == OPEN:
            entries[service] = current
        else:
            entries[service] = open_entry(modes_now[service], maintenance_modes[service], by, now)
    return entries


def epoch_of(text):
    """Seconds since the epoch of a time written by utc_now."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def settle_handle(entry, wait_timeout):
    """What exit (or enter's put-back) must let end before it reads a service's mode: the job of
    a write the record says went out, or, when its answer never came back, the window in which
    that write may still take effect (see ModeService.settle)."""
    if not entry or not entry.get("requested"):
        return None
    if entry.get("handle"):
        return entry["handle"]
    sent = epoch_of(entry["requested"])
    return {"sent": sent, "until": sent + wait_timeout}


def closed_alike(current, entry):
    """Both entries close the same opening of a window."""
    return (current is not None and current.get("state") == CLOSED and entry.get("state") == CLOSED
            and current.get("opened") == entry.get("opened"))


def closed_but_in_maintenance(entry, live_mode):
    """A closed entry whose service is in its maintenance mode now, although it was not before
    that window: the record read is not the current window's (another state file, a later window)."""
    return (entry is not None and entry.get("state") == CLOSED and live_mode is not None
            and live_mode == entry.get("maintenance_mode") and entry.get("mode_before") not in (None, live_mode))


def target_on_exit(entry):
    """The mode exit puts back for an entry, or None when exit must not write: a closed entry, or a
    service that was in maintenance before the window (or whose mode before is unknown)."""
    if entry is None or entry.get("state") != OPEN:
        return None
    before = entry.get("mode_before")
    if before is None or before == entry.get("maintenance_mode"):
        return None
    return before


# -- words -----------------------------------------------------------------------------------------

def enter_line(service, entry, kept, mode_now, check_mode):
    """One line of enter's report for a service whose entry was written (or kept)."""
    would = "would " if check_mode else ""
    target = entry["maintenance_mode"]
    if kept:
        return "%s: %s since an earlier enter at %s; %skeep that record: exit puts back %s" % (
            service, mode_now, entry["opened"], would, entry["mode_before"] if target_on_exit(entry) else "nothing (%s before)" % entry["mode_before"])
    if mode_now == target:
        return "%s: %s already before the window; %sleave it so, and exit leaves it so" % (service, mode_now, would)
    return "%s: %s -> %s; %s%s, and exit puts back %s" % (
        service, mode_now, target, would, "switch" if check_mode else "switched", mode_now)


def exit_line(service, entry, check_mode, target=None, outcome=None):
    """One line of exit's report: what the record said and what was (or would be) done. `target`
    is the mode exit set, `outcome` that converge's result."""
    would = "would " if check_mode else ""
    if target is not None:
        why = ("the mode before the window, recorded at %s by %s" % (entry.get("opened"), entry.get("by")) if entry is not None
               else "no record of the mode before the window; the normal mode, as window_no_record=normal asks")
        if outcome.get("failed"):
            return "%s: putting back %s failed, it is in mode %s: %s; the record stays open" % (
                service, target, outcome.get("mode") or "unknown", outcome.get("msg"))
        if not outcome.get("changed"):
            return "%s: %s already; %sclose the record (%s)" % (service, target, would, why)
        return "%s: %s -> %s; %sput back (%s)" % (service, outcome.get("previous_mode"), target, would, why)
    if entry is None:
        return "%s: no record of the mode before the window; nothing done" % service
    if entry.get("state") == CLOSED:
        return "%s: already closed at %s (%s); nothing to do" % (service, entry.get("closed"), entry.get("note") or "put back")
    if entry.get("mode_before") is None:
        return "%s: its mode could not be read at enter, so enter switched nothing; %sclose the record" % (service, would)
    return "%s: %s before the window; %sleave it so and close the record" % (service, entry["mode_before"], would)


def summary(rows):
    """The end-of-play table: rows of host, service, mode before, mode now, action."""
    header = ("host", "service", "mode before", "mode now", "action")
    table = [header] + [tuple(str(row.get(k) if row.get(k) is not None else "-") for k in ("host", "service", "mode_before", "mode_now", "action"))
                        for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in table]
