# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""The maintenance window's record: per server, the mode it had before the window, kept durable
on the controller.

A record belongs to a server, not to an inventory host: its key is the service and the server's
normalized URL (`server_key`), so that hosts sharing a server share one entry, switched once,
recorded once and put back once, by the exit of the last host that holds it open:

    {"server": "ucs https://ucs1.example.com:8443/cs", "service": "ucs", "url": "...",
     "window": "<id of the window that opened it>", "sequence": 3, "history": ["<earlier windows>"],
     "state": "open" | "closed", "mode_before": "production", "maintenance_mode": "maintenance",
     "holders": ["app1", "app2"], "opened": "<UTC time>", "by": "<user or AWX job>",
     "closed": "<UTC time>" | None, "note": "...", "requested": "<UTC time>" | None, "handle": "<job>" | None,
     "left": ["<hosts that left the window while others held it>"], "deadline": "<UTC time>" | None,
     "comment": "<why the window is open: window_comment>" | None}

Every write advances `sequence`; a new window of the same server lists the earlier windows in
`history`. Copies of an entry (the state file, AWX's `window_records`, the fact `window_record`)
are ordered by those, never by a clock: of two copies that neither orders, the one exit would act
on cannot be told, and the window stops before any switch (`choose`). `requested` and `handle`
say that a write went out (or was about to) and the server's job for it, so that whoever reads
the mode next lets that write end first. Enter notes its switch when it opens the entry, exit its
put-back when it claims the entry (unless a write on it was not seen to end: that one ends first),
and each sends its write once it has read the mode, keeping that note when it is less than
NOTED_AHEAD old: so a write may go out up to NOTED_AHEAD after its `requested`, and whoever waits
for it waits as much longer.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import store as messages
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages.phases import describe

# The entries' shape: the version of a JSON state file of 2.x, and the state database's user_version.
RECORD_VERSION = 2
OPEN, CLOSED = "open", "closed"
# Earlier windows an entry remembers: enough to order any copy an operator or AWX still holds.
HISTORY_LENGTH = 20
SOURCES = ("state_file", "window_records", "fact")
# How long before its write a note on the record may have been made (see above), in seconds.
NOTED_AHEAD = 2.0


def utc_now():
    # For people and deadlines: nothing orders entries by it.
    return utc_of(time.time())


def utc_of(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The longest window_max_open: a year, leap day included. A longer one is a typo, and a deadline
# must stay a time that every platform can write.
MAX_OPEN_DAYS = 366


def duration(value):
    """Seconds of a duration given as a number of seconds or as `90s`, `30m`, `8h`, `2d`, of at
    most MAX_OPEN_DAYS; ValueError for anything else, zero or less and infinity included."""
    text = str(value).strip().lower()
    unit = DURATION_UNITS.get(text[-1:], None)
    seconds = float(text[:-1] if unit else text) * (unit or 1)
    if not 0 < seconds <= MAX_OPEN_DAYS * DURATION_UNITS["d"]:
        raise ValueError(value)
    return seconds


def overdue(entry, now):
    """An open entry past the deadline its enter set."""
    return is_open(entry) and bool(entry.get("deadline")) and epoch_of(entry["deadline"]) < epoch_of(now)


def epoch_of(text):
    """Seconds since the epoch of a time written by utc_now."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


# -- servers -----------------------------------------------------------------------------------------

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(url):
    """One spelling of a server's URL: scheme and host in lower case, no default port, no user
    information, query, fragment or trailing slash. The path keeps its case (servers may not)."""
    parts = urlsplit(str(url).strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = "[%s]" % host
    port = parts.port
    netloc = host if port is None or port == DEFAULT_PORTS.get(scheme) else "%s:%s" % (host, port)
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


def server_key(service, url):
    return "%s %s" % (service, normalize_url(url))


# -- entries ---------------------------------------------------------------------------------------

def new_entry(service, url, mode_before, maintenance_mode, holder, by, now, replaces=None, max_open=None,
              comment=None):
    """An open entry of a new window; `replaces` is the server's entry it follows, if any;
    `max_open` the seconds it may stay open before status calls it overdue; `comment` why it is
    open (window_comment)."""
    history = (list(replaces.get("history") or []) + [replaces["window"]])[-HISTORY_LENGTH:] if replaces else []
    deadline = utc_of(epoch_of(now) + max_open) if max_open else None
    return {"server": server_key(service, url), "service": service, "url": normalize_url(url),
            "window": uuid.uuid4().hex, "sequence": 1, "history": history, "state": OPEN, "mode_before": mode_before,
            "maintenance_mode": maintenance_mode, "holders": [holder], "opened": now, "by": by, "closed": None,
            "note": "", "requested": None, "handle": None, "deadline": deadline, "left": [], "comment": comment}


def advanced(entry, **changes):
    """The entry with `changes`, one step further in its history."""
    return dict(entry, sequence=entry["sequence"] + 1, **changes)


def joined(entry, holder):
    """The entry after `holder` joins a window that other hosts hold open."""
    return advanced(entry, holders=sorted(set(entry.get("holders") or []) | {holder}),
                    left=sorted(set(entry.get("left") or []) - {holder}))


def left(entry, holder):
    """The entry after `holder` leaves a window that other hosts still hold open: it is no holder
    any more, and the record remembers that it left, so that its exit run again has nothing to do."""
    return advanced(entry, holders=sorted(set(entry.get("holders") or []) - {holder}),
                    left=sorted(set(entry.get("left") or []) | {holder}))


def closed(entry, now, note):
    return advanced(entry, state=CLOSED, closed=now, note=note, holders=[], requested=None, handle=None)


def is_open(entry):
    return entry is not None and entry.get("state") == OPEN


def target_on_exit(entry):
    """The mode exit puts back for an entry, or None when exit must not write: a closed entry, or a
    server that was in maintenance before the window (or whose mode before is unknown)."""
    if not is_open(entry):
        return None
    before = entry.get("mode_before")
    if before is None or before == entry.get("maintenance_mode"):
        return None
    return before


def in_flight(entry):
    """A write to the server went out (or was about to) and was not seen to end."""
    return bool(entry and entry.get("requested"))


def noted_since(entry, seconds):
    """The write on `entry` was noted less than `seconds` ago."""
    # utc_now's times sort as they read; parsing one would cost each forked worker strptime's import.
    return in_flight(entry) and entry["requested"] > utc_of(time.time() - seconds)


def still_switching(entry, now, wait_timeout):
    """A write is on the record and may still take effect: it went out (or was about to) less
    than `wait_timeout` ago, its note up to NOTED_AHEAD before it. One older than that would
    have ended by now."""
    return in_flight(entry) and epoch_of(entry["requested"]) + NOTED_AHEAD + wait_timeout > epoch_of(now)


def settle_handle(entry, wait_timeout):
    """What must end before the server's mode is read: the job of a write the record says went
    out, or, when its answer never came back, the time in which that write may still take effect."""
    if not in_flight(entry):
        return None
    if entry.get("handle"):
        return {"job": entry["handle"]}
    sent = epoch_of(entry["requested"])
    return {"sent": sent, "until": sent + NOTED_AHEAD + wait_timeout}


def closed_but_in_maintenance(entry, live_mode):
    """A closed entry whose server is in its maintenance mode now, although it was not before
    that window: the record read is not the current window's (another state file, a later window)."""
    return (entry is not None and entry.get("state") == CLOSED and live_mode is not None
            and live_mode == entry.get("maintenance_mode") and entry.get("mode_before") not in (None, live_mode))


def unexplained_maintenance(entry, live_mode, maintenance_mode):
    """A server in its maintenance mode that no open record explains: no window holds it there,
    and the last one did not find it so. Nobody's exit would put it back."""
    if live_mode is None or live_mode != maintenance_mode or is_open(entry):
        return False
    return entry is None or entry.get("mode_before") != live_mode


# -- copies of an entry ---------------------------------------------------------------------------

def supersedes(later, earlier):
    """`later` tells what happened to the server after `earlier` did: a further write in the same
    window, or a window that followed it."""
    if later["window"] == earlier["window"]:
        return later["sequence"] > earlier["sequence"]
    return earlier["window"] in (later.get("history") or ())


def choose(copies):
    """Of copies of one server's entry, as (source, entry) with the state file's first, the one
    that tells the latest. Copies that neither orders are only a problem where exit would act
    differently on them: then WindowError names both and how to pick one."""
    chosen_source, chosen = None, None
    for source, entry in copies:
        if entry is None:
            continue
        if chosen is None or supersedes(entry, chosen):
            chosen_source, chosen = source, entry
        elif entry["window"] == chosen["window"] or supersedes(chosen, entry):
            continue
        elif _exit_effect(entry) != _exit_effect(chosen):
            raise WindowError(messages.copies_disagree(entry["server"], chosen_source, describe(chosen), source,
                                                       describe(entry), SOURCES))
    return chosen


def _exit_effect(entry):
    # What exit would write to the server: closing an entry that puts nothing back writes nothing.
    return target_on_exit(entry)


def from_legacy(entry, service, url, holder):
    """An entry of a 1.0.0 record (per host and service, without a URL) as this version keeps it.
    Its window is named after the server and the time it opened, so that copies of one opening
    (the state file's, AWX's, the fact's) stay one window; a closed copy is the later one."""
    key = server_key(service, url)
    window = "1.0-" + hashlib.sha256(("%s %s" % (key, entry.get("opened"))).encode("utf-8")).hexdigest()[:24]
    state = CLOSED if entry.get("state") == CLOSED else OPEN
    return {"server": key, "service": service, "url": normalize_url(url), "window": window,
            "sequence": 2 if state == CLOSED else 1, "history": [], "state": state,
            "mode_before": entry.get("mode_before"), "maintenance_mode": entry.get("maintenance_mode"),
            "holders": [holder] if state == OPEN else [], "opened": entry.get("opened"), "by": entry.get("by"),
            "closed": entry.get("closed"), "note": entry.get("note") or "", "requested": entry.get("requested"),
            "handle": entry.get("handle"), "deadline": None}


def joined_legacy(entry, legacy, holder):
    """A server's entry after a host whose 1.0.0 record also holds it open joins it. 1.0.0 kept one
    entry per host, so hosts sharing a server each recorded what they read: the one that read it
    out of maintenance read the mode before the window."""
    changes = {"holders": sorted(set(entry.get("holders") or []) | {holder})}
    if entry.get("mode_before") in (None, entry.get("maintenance_mode")) and legacy.get("mode_before") not in (
            None, entry.get("maintenance_mode")):
        changes["mode_before"] = legacy["mode_before"]
    return advanced(entry, **changes)


def entry_of(value):
    """An entry as this version writes it, or None for anything else (a 1.0.0 entry included)."""
    if not isinstance(value, dict) or value.get("state") not in (OPEN, CLOSED):
        return None
    if value.get("window") and value.get("server") and isinstance(value.get("sequence"), int):
        return value
    return None


def same(current, expected):
    if current is None or expected is None:
        return current is None and expected is None
    return current["window"] == expected["window"] and current["sequence"] == expected["sequence"]
