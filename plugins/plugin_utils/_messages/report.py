# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""What status says of each server, and the summary table every phase ends with: its rows'
words and its lines. `item` is a PlannedServer (_plan.py)."""

from __future__ import annotations

from ansible_collections.opsmodes.maintenance.plugins.module_utils._base import sentence
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages.phases import comment, would
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._plan import (
    CLOSE,
    CLOSED_ALREADY,
    HANDED_ON,
    JOINED,
    KEPT,
    LEFT,
    NO_RECORD,
    NOT_HELD,
    ORPHANED,
    PUT_BACK,
    SWITCH,
)


# -- status ---------------------------------------------------------------------------------------
def status_line(target, entry, outcome, host):
    """(line, agreement) of one server: its live mode beside its record, and a word or two for the
    summary's column."""
    live = outcome.get("previous_mode")
    maintenance = target.maintenance_mode
    is_open = entry is not None and entry.get("state") == "open"
    if outcome.get("failed"):
        line, agreement = "its mode cannot be read (%s)" % sentence(outcome["msg"]), "mode unknown"
    elif is_open and live == entry["maintenance_mode"]:
        line, agreement = "in maintenance, as its record says", "as recorded"
    elif is_open:
        line, agreement = "DISAGREES: its record says it is in %s, and it is not" % entry["maintenance_mode"], \
            "DISAGREES: not in maintenance"
    elif live == maintenance and entry is not None and entry.get("mode_before") == live:
        line, agreement = "in maintenance, as it was before its last window", "as before"
    elif live == maintenance:
        line, agreement = "DISAGREES: in maintenance, and no open window says why", "DISAGREES: no open window"
    else:
        line, agreement = "not in maintenance", "no window"
    return "%s: %s, %s; %s" % (target.name, live or "mode unknown", line, window_in_words(entry)), agreement


def window_in_words(entry):
    """A server's record in a phrase: its open window (since when, by whom, why), or the last one."""
    if entry is None:
        return "no window on record"
    if entry.get("state") != "open":
        return "its last window closed at %s" % entry.get("closed")
    return "window open since %s by %s, held by %s%s" % (
        entry.get("opened"), entry.get("by"), ", ".join(entry.get("holders") or []) or "nobody", comment(entry))


def status_alarms(host, overdue, unexplained, strangers, path):
    """Why status fails a host although every mode could be read: windows nobody closed, and
    servers in maintenance that no window holds there."""
    alarms = ["%s of %s has been open since %s by %s%s, past its deadline %s (window_max_open): run exit for it, "
              "or find out why it is still open" % (
                  name, host, entry["opened"], entry["by"], comment(entry), entry["deadline"])
              for name, entry in sorted(overdue.items())]
    alarms += ["%s of %s is in maintenance, and no open record in %s says why, so no exit would put it back: find "
               "the record its enter wrote (another window_state_file or window_state_url, AWX's fact storage), "
               "or set its mode by hand once its work is done" % (name, host, path) for name in unexplained]
    alarms += ["the record of %s in %s is open since %s by %s%s, held by %s, none of them in the inventory: nobody "
               "will exit it; check the server, then run exit with those hosts in the inventory"
               % (entry["server"], path, entry.get("opened"), entry.get("by"), comment(entry),
                  ", ".join(entry.get("holders") or []))
               for entry in strangers]
    return "Status of %s: %s." % (host, "; ".join(alarms)) if alarms else None


# -- the summary ----------------------------------------------------------------------------------
def mode_now(item):
    if item.mode is not None and (item.changed is not None or item.failed):
        return item.mode
    return item.mode_now


def action(item, check_mode):
    """The summary table's word for what was done."""
    if item.failed:
        return "failed"
    if item.action == PUT_BACK and item.changed is False:
        return "already so; " + would(check_mode, "close the record", "closed the record")
    # As each server's line says it.
    return {SWITCH: would(check_mode, "switch", "switched"), LEFT: would(check_mode, "leave it so", "left it so"),
            JOINED: would(check_mode, "join", "joined"), KEPT: would(check_mode, "keep", "kept"),
            PUT_BACK: would(check_mode, "put back", "put back"),
            CLOSE: would(check_mode, "leave it so and close the record", "left it so and closed the record"),
            HANDED_ON: would(check_mode, "leave it in maintenance for them", "left it in maintenance for them"),
            NOT_HELD: "nothing to do", ORPHANED: "nothing switched", NO_RECORD: "no record: left as it is",
            CLOSED_ALREADY: "nothing to do"}[item.action]


def summary(rows):
    """The end-of-play table: rows of host, service, mode before, mode now, action, and why the
    window is open where any row says why."""
    columns = [("host", "host"), ("service", "service"), ("mode_before", "mode before"), ("mode_now", "mode now"),
               ("action", "action")]
    if any(row.get("comment") for row in rows):
        columns.append(("comment", "why"))
    header = tuple(title for _key, title in columns)
    table = [header] + [tuple(str(row.get(key) if row.get(key) is not None else "-") for key, _title in columns)
                        for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in table]


def next_step(phase, failed, inventory):
    """What to run after a phase: after an enter, its exit; after a failure, status, then exit."""
    sources = "".join(" -i %s" % source for source in inventory)
    if failed:
        return "Next: see where each server stands with ansible-playbook opsmodes.maintenance.status%s, then run " \
               "opsmodes.maintenance.exit, with the same inventory and limit" % sources
    if phase == "enter":
        return "Next: once the work is done, ansible-playbook opsmodes.maintenance.exit%s, with the same limit" % (
            sources)
    if phase == "status":
        return "Nothing to do: every window shown is open as its record says, or closed"
    return "Nothing more to run: each server is back in its mode before the window, or left to the hosts that " \
           "still hold it"


def no_result():
    return "no result"


def failed_without_rows(msg):
    return "failed: %s" % str(msg)[:120]


def no_service_row():
    return "no service"


def later_batches(waiting):
    return "(%d more host%s in later batches)" % (waiting, "" if waiting == 1 else "s")
