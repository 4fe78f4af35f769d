# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""The maintenance window's words: what each phase says of each service, its messages and the
summary table. The action plugin `window_phase` decides; this module only says.

A phase's plan has one item per service of the host: `service`, `action` (what the phase does with
the server: see the action plugin's SWITCH ... CLOSED_ALREADY), `entry` (the server's record
entry), `mode_now`, and the outcome of the converge, if any (`changed`, `failed`, `msg`, `mode`,
`previous_mode`).
"""

from __future__ import annotations

from ansible_collections.opsmodes.maintenance.plugins.module_utils._base import sentence
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._record import (
    CLOSED,
    closed_but_in_maintenance,
    describe,
)

# The actions, as the action plugin names them.
SWITCH, LEFT, JOINED, KEPT = "switch", "left", "joined", "kept"
ENTERING = (SWITCH, LEFT, JOINED, KEPT)
PUT_BACK, CLOSE, HANDED_ON, NOT_HELD, ORPHANED, NO_RECORD, CLOSED_ALREADY = (
    "put back", "close", "handed on", "not held", "orphaned", "no record", "closed already")


def _others(entry, host):
    return ", ".join(h for h in (entry or {}).get("holders") or [] if h != host) or "nobody"


def _would(check_mode, verb, done):
    return "would " + verb if check_mode else done


# -- enter ----------------------------------------------------------------------------------------
def enter_line(item, host, check_mode):
    service, entry, mode_now = item["service"], item["entry"], item["mode_now"]
    if item.get("failed"):
        return "%s: switching to %s failed, it is in mode %s: %s" % (
            service, entry["maintenance_mode"], item.get("mode") or "unknown", sentence(item.get("msg")))
    ended = ""
    if item.get("ended"):
        earlier = item["ended"]
        closing = _would(check_mode, "close", "closed")
        ended = "the open record of an earlier window (opened at %s by %s) had ended outside it, since the server " \
                "is in %s: %s it; " % (earlier["opened"], earlier["by"], mode_now, closing)
    if item["action"] == KEPT:
        puts_back = entry["mode_before"] if entry["mode_before"] != entry["maintenance_mode"] else \
            "nothing (%s before)" % entry["mode_before"]
        return "%s: %s since an earlier enter at %s; %s that record: exit puts back %s" % (
            service, mode_now, entry["opened"], _would(check_mode, "keep", "keep"), puts_back)
    if item["action"] == JOINED:
        return "%s: the server %s is shared with %s, whose window opened at %s; %s it: the last of its hosts to exit " \
               "puts back %s" % (service, entry["url"], _others(entry, host), entry["opened"],
                                 _would(check_mode, "join", "joined"), entry["mode_before"])
    if item["action"] == LEFT:
        return "%s: %s%s already before the window; %sleave it so, and exit leaves it so" % (
            service, ended, mode_now, "would " if check_mode else "")
    return "%s: %s%s -> %s; %s, and exit puts back %s" % (
        service, ended, mode_now, entry["maintenance_mode"], _would(check_mode, "switch", "switched"), mode_now)


def enter_unreadable(host, targets, live):
    unreadable = "; ".join("%s: %s" % (t.name, sentence(live[t.name]["msg"]))
                           for t in targets if live[t.name].get("failed"))
    modes = ", ".join("%s is in mode %s" % (t.name, live[t.name].get("previous_mode") or live[t.name].get("mode")
                                            or "unknown") for t in targets)
    return "Entering maintenance failed on %s before any switch: %s. Nothing was switched on this host; %s." % (
        host, unreadable, modes)


def other_maintenance_mode(target, entry, wanted, host):
    return ("%s of %s: the server %s has an open window that put it in %s (%s), and this enter asks for %s. Nothing "
            "was switched on this host: exit that window first, or enter with window_%s_maintenance_mode=%s." % (
                target.name, host, target.url, entry["maintenance_mode"], describe(entry), wanted, target.name,
                entry["maintenance_mode"]))


def enter_failed(host, plan, failed, back):
    """The message of an enter whose switch failed, once what it switched went back; `failed` is
    (service, message) of each switch that failed."""
    failures = "; ".join("%s: %s" % (service, sentence(msg)) for service, msg in failed)
    where = ", ".join("%s is in mode %s" % (item["service"], item.get("mode") or item.get("previous_mode") or "unknown")
                      for item in plan)
    message = "Entering maintenance failed on %s: %s. The work does not run on this host. Put back what this enter " \
              "switched: %s." % (host, failures, where)
    still_open = [item for item in back if item.get("failed")]
    if still_open:
        message += " Putting back failed for %s: the record stays open; run exit to try again." % ", ".join(
            "%s (%s)" % (item["service"], sentence(item.get("msg"))) for item in still_open)
    handed = [item for item in plan if item["action"] == HANDED_ON]
    if handed:
        message += " Left to the other hosts that hold them open: %s." % ", ".join(
            "%s (%s)" % (item["service"], _others(item["entry"], host)) for item in handed)
    return message


# -- exit -----------------------------------------------------------------------------------------
def _why(entry, taken_over=None):
    if entry is None:
        return "no record of the mode before the window; the normal mode, as window_no_record=normal asks"
    why = "the mode before the window, recorded at %s by %s" % (entry.get("opened"), entry.get("by"))
    if taken_over:
        why += "; closing the window that %s held, taken over with window_take_over" % ", ".join(taken_over)
    return why


def exit_line(item, host, check_mode):
    service, entry, action = item["service"], item.get("entry"), item["action"]
    if action == PUT_BACK:
        target = item["target_mode"]
        if item.get("failed"):
            return "%s: putting back %s failed, it is in mode %s: %s; the record stays open" % (
                service, target, item.get("mode") or "unknown", sentence(item.get("msg")))
        why = _why(entry, item.get("taken_over"))
        if check_mode and item.get("changed") is None:
            return "%s: would put back %s (%s)" % (service, target, why)
        if not item.get("changed"):
            closing = _would(check_mode, "close", "closed")
            return "%s: %s already; %s the record (%s)" % (service, target, closing, why)
        done = _would(check_mode, "put back", "put back")
        return "%s: %s -> %s; %s (%s)" % (service, item.get("previous_mode"), target, done, why)
    if action == CLOSE:
        if entry.get("mode_before") is None:
            return "%s: its mode could not be read at enter, so enter switched nothing; %s the record" % (
                service, _would(check_mode, "close", "closed"))
        return "%s: %s before the window; %s it so and %s the record" % (
            service, entry["mode_before"], _would(check_mode, "leave", "left"), "close" if check_mode else "closed")
    if action == HANDED_ON:
        return "%s: still held open by %s, so %s in %s for them: the last of them to exit puts back %s" % (
            service, _others(entry, host), _would(check_mode, "leave it", "left it"), entry["maintenance_mode"],
            entry["mode_before"] if entry["mode_before"] != entry["maintenance_mode"] else "nothing")
    if action == NOT_HELD:
        if host in (entry.get("left") or []):
            return "%s: %s has already left the window of %s, held open by %s; nothing to do" % (
                service, host, entry["url"], _others(entry, host))
        return "%s: %s holds no part in the window of %s: %s hold%s it open, and the last of them to exit puts it " \
               "back; nothing to do" % (service, host, entry["url"], _others(entry, host),
                                        "s" if len(entry.get("holders") or []) == 1 else "")
    if action == ORPHANED:
        return "%s: the window of %s is held open by %s, none of them in the inventory any more (renamed or " \
               "removed?), and %s never held it: nothing was switched, and it stays in %s" % (
                   service, entry["url"], _others(entry, host), host, entry["maintenance_mode"])
    if action == NO_RECORD:
        return "%s: %s now, and no record of its mode before the window; left as it is" % (
            service, "in mode %s" % item["mode_now"] if item.get("mode_now") else "its mode unknown")
    note = entry.get("note") or "put back"
    return "%s: already closed at %s (%s); nothing to do" % (service, entry.get("closed"), note)


def closing_note(item, host):
    if item["action"] == CLOSE:
        return "left as it was before the window"
    if item.get("taken_over"):
        return "put back by %s, which took over the window of %s" % (host, ", ".join(item["taken_over"]))
    if item.get("changed"):
        return "put back by %s" % host
    # Whether by hand or by an earlier exit whose record did not reach this run (AWX keeps no fact
    # of a failed task) cannot be told: the note says only what was found.
    return "found in %s at exit by %s, so nothing was put back" % (item["target_mode"], host)


def replaced(error, target, sent):
    if sent:
        return "%s: the switch of %s went out all the same; check the server with opsmodes.maintenance.status" % (
            sentence(error), target.url)
    return "%s: nothing was sent to %s by this run" % (sentence(error), target.url)


def exit_under_way(target, entry, host):
    return ("%s of %s: an exit by %s began putting the server %s back (%s) and has not closed its record: nothing was "
            "switched on this host. Run exit to finish it, then enter again." % (
                target.name, host, entry["leaving"], target.url, describe(entry)))


# -- status ---------------------------------------------------------------------------------------
def status_line(target, entry, outcome, host):
    """(line, agreement) for one service: its live mode beside its record."""
    live = outcome.get("previous_mode")
    maintenance = target.params["mode"]
    if outcome.get("failed"):
        agreement = "its mode cannot be read: %s" % outcome["msg"]
    elif entry is not None and entry.get("state") != CLOSED:
        agreement = "in maintenance, as the open record says" if live == entry["maintenance_mode"] else \
            "DISAGREES: the record is open but the service is not in %s" % entry["maintenance_mode"]
    elif live == maintenance:
        before = entry.get("mode_before") if entry else None
        agreement = "in maintenance, as it was before the last window" if before == live else \
            "DISAGREES: in maintenance without an open record"
    else:
        agreement = "no open record, not in maintenance"
    if entry is None:
        opened = "no record"
    elif entry.get("state") != CLOSED:
        holders = ", ".join(entry.get("holders") or [])
        opened = "open since %s by %s, held by %s" % (entry["opened"], entry["by"], holders)
    else:
        opened = "closed at %s" % entry.get("closed")
    return "%s: %s; record %s; %s" % (target.name, live or "unknown", opened, agreement), agreement


def status_alarms(host, overdue, unexplained, strangers, path):
    """Why status fails a host although every mode could be read: windows nobody closed, and
    servers in maintenance that no window holds there."""
    alarms = ["%s of %s has been open since %s by %s, past its deadline %s (window_max_open): run exit for it, or "
              "find out why it is still open" % (name, host, entry["opened"], entry["by"], entry["deadline"])
              for name, entry in sorted(overdue.items())]
    alarms += ["%s of %s is in maintenance, and no open record in %s says why, so no exit would put it back: find "
               "the record its enter wrote (another window_state_file or window_state_url, AWX's fact storage), "
               "or set its mode by hand once its work is done" % (name, host, path) for name in unexplained]
    alarms += ["the record of %s in %s is open since %s by %s, held by %s, none of them in the inventory: nobody "
               "will exit it; check the server, then run exit with those hosts in the inventory"
               % (entry["server"], path, entry.get("opened"), entry.get("by"), ", ".join(entry.get("holders") or []))
               for entry in strangers]
    return "Status of %s: %s." % (host, "; ".join(alarms)) if alarms else None


# -- both -----------------------------------------------------------------------------------------
def ending_line(item, host, check_mode):
    """A failed enter's put-back says what exit would say of it."""
    return enter_line(item, host, check_mode) if item["action"] in ENTERING else exit_line(item, host, check_mode)


def mode_now(item):
    if item.get("mode") is not None and (item.get("changed") is not None or item.get("failed")):
        return item["mode"]
    return item.get("mode_now")


def action(item, check_mode):
    """The summary table's word for what was done."""
    if item.get("failed"):
        return "failed"
    if item["action"] in ENTERING:
        done = {SWITCH: _would(check_mode, "switch", "switched"), LEFT: "left", JOINED: "joined", KEPT: "kept"}
        return done[item["action"]]
    if item["action"] == PUT_BACK:
        if check_mode and item.get("changed") is None or item.get("changed"):
            return _would(check_mode, "put back", "put back")
        return "already so: " + _would(check_mode, "close", "closed")
    return {CLOSE: _would(check_mode, "close", "closed"), HANDED_ON: "handed on", NOT_HELD: "nothing to do",
            ORPHANED: "held by others: left alone", NO_RECORD: "no record: left alone",
            CLOSED_ALREADY: "nothing to do"}[item["action"]]


def diff(item):
    before = item.get("previous_mode") or item.get("mode_now")
    asked = item["entry"]["maintenance_mode"] if item["action"] == SWITCH else item.get("target_mode")
    after = item.get("mode") or asked
    if not after or before == after:
        return None
    return {"before_header": item["service"], "after_header": item["service"], "before": "mode: %s\n" % before,
            "after": "mode: %s\n" % after}


def problems(phase, plan, host, path, no_record, normal_modes):
    """Why exit fails the host, or None."""
    if phase != "exit":
        return None
    reasons = []
    stale = [item for item in plan if item["action"] == CLOSED_ALREADY
             and closed_but_in_maintenance(item["entry"], item.get("mode_now"))]
    if stale:
        reasons.append("%s %s in maintenance although the record in %s was closed (%s): that record is not this "
                       "window's. Nothing was changed on them. Check them with opsmodes.maintenance.status and run "
                       "exit with the window_state_file that enter used" % (
                           " and ".join(item["service"] for item in stale), "is" if len(stale) == 1 else "are", path,
                           "; ".join("%s at %s" % (item["service"], item["entry"].get("closed")) for item in stale)))
    failed = [item["service"] for item in plan if item.get("failed")]
    if failed:
        reasons.append("putting back failed for %s; the record stays open: run exit again" % ", ".join(failed))
    orphaned = [item for item in plan if item["action"] == ORPHANED]
    for item in orphaned:
        holders = item["entry"].get("holders") or []
        reasons.append("the window of %s %s is held open by %s, none of them in the inventory any more, and %s never "
                       "held it, so nothing was switched and it stays in %s. If %s %s renamed or removed and this "
                       "exit is to close the window, run the same exit with --limit %s -e window_take_over=%s"
                       % (item["service"], item["entry"]["url"], ", ".join(holders), host,
                          item["entry"]["maintenance_mode"], " and ".join(holders),
                          "was" if len(holders) == 1 else "were", host, ",".join(holders)))
    missing = [item for item in plan if item["action"] == NO_RECORD]
    if missing and no_record == "fail":
        normal = ", ".join("%s %s" % (item["service"], normal_modes[item["service"]]) for item in missing)
        where = "; ".join("%s is in %s now" % (item["service"], item.get("mode_now") or "a mode that could not be read")
                          for item in missing)
        reasons.append("no record of the mode before the window for %s (looked in %s, window_records and the fact "
                       "window_record), so nothing was changed on them: %s. Check them with "
                       "opsmodes.maintenance.status, then run exit with the record that enter used (its "
                       "window_state_file or window_state_url), or with -e window_no_record=normal to set the normal "
                       "modes (%s). Between AWX jobs the record travels by one of three ways: a workflow (set_stats "
                       "window_records), fact storage on both job templates (the fact window_record), or a record "
                       "every job reaches (window_state_url, or a window_state_file on a persistent volume)"
                       % (", ".join(item["service"] for item in missing), path, where, normal))
    if not reasons:
        return None
    return "Exiting maintenance on %s: %s. %s" % (host, "; ".join(reasons),
                                                  "; ".join(exit_line(item, host, False) for item in plan))


def unhandled(entries, host, services):
    return ["%s of %s has an open record (since %s) that this exit does not handle, since the host's services here "
            "are %s: it stays open and %s stays in maintenance" % (name, host, entry.get("opened"), ", ".join(services),
                                                                   name)
            for name, entry in entries.items()]


def summary(rows):
    """The end-of-play table: rows of host, service, mode before, mode now, action."""
    header = ("host", "service", "mode before", "mode now", "action")
    table = [header] + [tuple(str(row.get(k) if row.get(k) is not None else "-")
                              for k in ("host", "service", "mode_before", "mode_now", "action")) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in table]
