# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""What the window's phases say: of each server, in each phase's report and the summary table,
and why they refuse or fail. The code decides; this module only says. `item` is a
PlannedServer (_plan.py)."""

from __future__ import annotations

from ansible_collections.opsmodes.maintenance.plugins.module_utils._base import sentence
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._plan import (
    CLOSE,
    ENTERING,
    HANDED_ON,
    JOINED,
    KEPT,
    LEFT,
    NO_RECORD,
    NOT_HELD,
    ORPHANED,
    PUT_BACK,
)


def describe(entry):
    """An entry in words, for messages that name it."""
    if entry.get("state") == "open":
        leaving = ", being put back by an exit of %s" % entry["leaving"] if entry.get("leaving") else ""
        return "open since %s by %s (window %s, write %s), mode before %s, held by %s%s" % (
            entry.get("opened"), entry.get("by"), entry.get("window"), entry.get("sequence"), entry.get("mode_before"),
            ", ".join(entry.get("holders") or []) or "nobody", leaving)
    return "closed at %s (%s; window %s, write %s)" % (entry.get("closed"), entry.get("note") or "put back",
                                                       entry.get("window"), entry.get("sequence"))


def comment(entry):
    """The window's comment, where enter was given one."""
    return " (%s)" % entry["comment"] if entry and entry.get("comment") else ""


def _others(entry, host):
    return ", ".join(h for h in (entry or {}).get("holders") or [] if h != host) or "nobody"


def would(check_mode, verb, done):
    return "would " + verb if check_mode else done


# -- enter ----------------------------------------------------------------------------------------
def enter_line(item, host, check_mode):
    service, entry, mode_now = item.service, item.entry, item.mode_now
    if item.failed:
        return "%s: switching to %s failed, it is in mode %s: %s" % (
            service, entry["maintenance_mode"], item.mode or "unknown", sentence(item.msg))
    ended = ""
    if item.ended:
        earlier = item.ended
        closing = would(check_mode, "close", "closed")
        ended = "the open record of an earlier window (opened at %s by %s) had ended outside it, since the server " \
                "is in %s: %s it; " % (earlier["opened"], earlier["by"], mode_now, closing)
    if item.action == KEPT:
        puts_back = entry["mode_before"] if entry["mode_before"] != entry["maintenance_mode"] else \
            "nothing (%s before)" % entry["mode_before"]
        return "%s: %s since an earlier enter at %s; %s that record: exit puts back %s" % (
            service, mode_now, entry["opened"], would(check_mode, "keep", "keep"), puts_back)
    if item.action == JOINED:
        return "%s: the server %s is shared with %s, whose window opened at %s; %s it: the last of its hosts to exit " \
               "puts back %s" % (service, entry["url"], _others(entry, host), entry["opened"],
                                 would(check_mode, "join", "joined"), entry["mode_before"])
    if item.action == LEFT:
        return "%s: %s%s already before the window; %sleave it so, and exit leaves it so" % (
            service, ended, mode_now, "would " if check_mode else "")
    return "%s: %s%s -> %s; %s, and exit puts back %s" % (
        service, ended, mode_now, entry["maintenance_mode"], would(check_mode, "switch", "switched"), mode_now)


def enter_unreadable(host, targets, live):
    # One cause, such as a library missing on the controller, is said once for every service it stopped.
    causes = {}
    for target in targets:
        if live[target.name].get("failed"):
            causes.setdefault(sentence(live[target.name]["msg"]), []).append(target.name)
    unreadable = "; ".join("%s: %s" % (" and ".join(names), cause) for cause, names in causes.items())
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
    where = ", ".join("%s is in mode %s" % (item.service, item.mode or item.previous_mode or "unknown")
                      for item in plan)
    message = "Entering maintenance failed on %s: %s. The work does not run on this host. Put back what this enter " \
              "switched: %s." % (host, failures, where)
    still_open = [item for item in back if item.failed]
    if still_open:
        message += " Putting back failed for %s: the record stays open; run exit to try again." % ", ".join(
            "%s (%s)" % (item.service, sentence(item.msg)) for item in still_open)
    handed = [item for item in plan if item.action == HANDED_ON]
    if handed:
        message += " Left to the other hosts that hold them open: %s." % ", ".join(
            "%s (%s)" % (item.service, _others(item.entry, host)) for item in handed)
    return message


# -- exit -----------------------------------------------------------------------------------------
def _why(entry, taken_over=None):
    if entry is None:
        return "no record of the mode before the window; the normal mode, as window_no_record=normal asks"
    if entry.get("dry_run"):
        # The dry run's own enter read it; nothing was recorded.
        return "the mode before the window as this dry run's enter read it, which a real enter records"
    why = "the mode before the window, recorded at %s by %s%s" % (
        entry.get("opened"), entry.get("by"), comment(entry))
    if taken_over:
        why += "; closing the window that %s held, taken over with window_take_over" % ", ".join(taken_over)
    return why


def exit_line(item, host, check_mode):
    service, entry, action = item.service, item.entry, item.action
    if action == PUT_BACK:
        target = item.target_mode
        if item.failed:
            return "%s: putting back %s failed, it is in mode %s: %s; the record stays open" % (
                service, target, item.mode or "unknown", sentence(item.msg))
        why = _why(entry, item.taken_over)
        if check_mode and item.changed is None:
            return "%s: would put back %s (%s)" % (service, target, why)
        if not item.changed:
            closing = would(check_mode, "close", "closed")
            return "%s: %s already; %s the record (%s)" % (service, target, closing, why)
        done = would(check_mode, "put back", "put back")
        return "%s: %s -> %s; %s (%s)" % (service, item.previous_mode, target, done, why)
    if action == CLOSE:
        if entry.get("mode_before") is None:
            return "%s: its mode could not be read at enter, so enter switched nothing; %s the record" % (
                service, would(check_mode, "close", "closed"))
        return "%s: %s before the window; %s it so and %s the record" % (
            service, entry["mode_before"], would(check_mode, "leave", "left"), "close" if check_mode else "closed")
    if action == HANDED_ON:
        line = "%s: still held open by %s%s, so %s in %s for them: the last of them to exit puts back %s" % (
            service, _others(entry, host), comment(entry), would(check_mode, "leave it", "left it"),
            entry["maintenance_mode"],
            entry["mode_before"] if entry["mode_before"] != entry["maintenance_mode"] else "nothing")
        if item.handed_outside:
            line += (" (none of them is in this inventory: each exits in its own job, as a job slice does, or, "
                     "if gone for good, is taken over with window_take_over)")
        return line
    if action == NOT_HELD:
        if host in (entry.get("left") or []):
            return "%s: %s has already left the window of %s%s, held open by %s; nothing to do" % (
                service, host, entry["url"], comment(entry), _others(entry, host))
        return "%s: %s holds no part in the window of %s%s: %s hold%s it open, and the last of them to exit puts " \
               "it back; nothing to do" % (service, host, entry["url"], comment(entry), _others(entry, host),
                                           "s" if len(entry.get("holders") or []) == 1 else "")
    if action == ORPHANED:
        return "%s: the window of %s%s is held open by %s, none of them in the inventory any more (renamed or " \
               "removed?), and %s never held it: nothing was switched, and it stays in %s" % (
                   service, entry["url"], comment(entry), _others(entry, host), host, entry["maintenance_mode"])
    if action == NO_RECORD:
        return "%s: %s, and no record of its mode before the window; left as it is" % (
            service, "in mode %s now" % item.mode_now if item.mode_now else "its mode could not be read")
    note = entry.get("note") or "put back"
    return "%s: already closed at %s (%s); nothing to do" % (service, entry.get("closed"), note)


def closing_note(item, host):
    if item.action == CLOSE:
        return "left as it was before the window"
    if item.taken_over:
        return "put back by %s, which took over the window of %s" % (host, ", ".join(item.taken_over))
    if item.changed:
        return "put back by %s" % host
    # Whether by hand or by an earlier exit whose record did not reach this run (AWX keeps no fact
    # of a failed task) cannot be told: the note says only what was found.
    return "found in %s at exit by %s, so nothing was put back" % (item.target_mode, host)


def replaced(error, target, sent):
    if sent:
        return "%s: the switch of %s went out all the same; check the server with opsmodes.maintenance.status" % (
            sentence(error), target.url)
    return "%s: nothing was sent to %s by this run" % (sentence(error), target.url)


def record_kept_changing(host, target, reads):
    return ("%s of %s: the record of %s changed while its mode was read, %d times: other runs are entering and "
            "exiting it. Nothing was switched on this host; run again." % (target.name, host, target.url, reads))


def exit_under_way(target, entry, host):
    return ("%s of %s: an exit by %s began putting the server %s back (%s) and has not closed its record: nothing was "
            "switched on this host. Run exit to finish it, then enter again." % (
                target.name, host, entry["leaving"], target.url, describe(entry)))


# -- both -----------------------------------------------------------------------------------------
def ending_line(item, host, check_mode):
    """A failed enter's put-back says what exit would say of it."""
    return enter_line(item, host, check_mode) if item.action in ENTERING else exit_line(item, host, check_mode)


def diff(item):
    before = item.previous_mode or item.mode_now
    after = item.mode or item.target_mode
    if not after or before == after:
        return None
    return {"before_header": item.service, "after_header": item.service, "before": "mode: %s\n" % before,
            "after": "mode: %s\n" % after}


def exit_problems(plan, stale, host, path, no_record, normal_modes, unreadable):
    """Why exit fails the host, or None; `stale` are the items whose closed record is not this
    window's (the server is in maintenance although that window found it out of it); `unreadable`
    the servers whose mode could not be read, service -> why."""
    reasons = []
    if stale:
        reasons.append("%s %s in maintenance although the record in %s was closed (%s): that record is not this "
                       "window's. Nothing was changed on them. Check them with opsmodes.maintenance.status and run "
                       "exit with the window_state_file that enter used" % (
                           " and ".join(item.service for item in stale), "is" if len(stale) == 1 else "are", path,
                           "; ".join("%s at %s" % (item.service, item.entry.get("closed")) for item in stale)))
    failed = [item.service for item in plan if item.failed]
    if failed:
        reasons.append("putting back failed for %s; the record stays open: run exit again" % ", ".join(failed))
    orphaned = [item for item in plan if item.action == ORPHANED]
    for item in orphaned:
        holders = item.entry.get("holders") or []
        reasons.append("the window of %s %s is held open by %s, none of them in the inventory any more, and %s never "
                       "held it, so nothing was switched and it stays in %s. If %s %s renamed or removed and this "
                       "exit is to close the window, run the same exit with --limit %s -e window_take_over=%s"
                       % (item.service, item.entry["url"], ", ".join(holders), host,
                          item.entry["maintenance_mode"], " and ".join(holders),
                          "was" if len(holders) == 1 else "were", host, ",".join(holders)))
    missing = [item for item in plan if item.action == NO_RECORD]
    if missing and no_record == "fail":
        normal = ", ".join("%s %s" % (item.service, normal_modes[item.service]) for item in missing)
        where = "; ".join("%s is in %s now" % (item.service, item.mode_now) if item.mode_now else
                          "the mode of %s could not be read" % item.service for item in missing)
        reasons.append("no record of the mode before the window for %s (looked in %s, window_records and the fact "
                       "window_record), so nothing was changed on them: %s. Check them with "
                       "opsmodes.maintenance.status, then run exit with the record that enter used (its "
                       "window_state_file or window_state_url), or with -e window_no_record=normal to set the normal "
                       "modes (%s). Between AWX jobs the record travels by one of three ways: a workflow (set_stats "
                       "window_records), fact storage on both job templates (the fact window_record), or a record "
                       "every job reaches (window_state_url, or a window_state_file on a persistent volume)"
                       % (", ".join(item.service for item in missing), path, where, normal))
    causes = {}
    for service, msg in unreadable.items():
        causes.setdefault(sentence(msg), []).append(service)
    reasons += ["the mode of %s could not be read: %s" % (" and ".join(names), cause) for cause, names in causes.items()
                if any(item.action == NO_RECORD and item.service in names for item in plan)]
    if not reasons:
        return None
    return "Exiting maintenance on %s: %s. %s" % (host, "; ".join(reasons),
                                                  "; ".join(exit_line(item, host, False) for item in plan))


def record_made(location):
    return "the record is kept in %s, which this enter made" % location


def work_failed(host, failure, report, problems):
    """The message of a whole window whose work failed: the exit ran; what it did, and whether it
    failed too, follows."""
    message = "The work inside the maintenance window failed on %s at task '%s': %s. The window was closed: %s." % (
        host, failure.get("task"), sentence(failure.get("msg") or "(no message)"), "; ".join(report))
    return message + " " + problems if problems else message


def unhandled(entries, host, services):
    return ["%s of %s has an open record (since %s) that this exit does not handle, since the host's services here "
            "are %s: it stays open and %s stays in maintenance" % (name, host, entry.get("opened"), ", ".join(services),
                                                                   name)
            for name, entry in entries.items()]


def ended_outside(host, mode_now):
    """The note of an open entry whose window ended outside the role."""
    return "ended outside this window: %s found the server in %s at enter" % (host, mode_now)


def record_replaced(key, location, current):
    now_is = "was removed" if current is None else "is now " + describe(current)
    return "The record of %s in %s %s since this run read it" % (key, location, now_is)


def legacy_server(name, host):
    return "%s of %s" % (name, host)


def host_says(host, message):
    return "%s: %s" % (host, message)


def no_service(url_variables):
    return "no service on this host (no %s or window_services)" % " or ".join(url_variables)


def confirm_needs_a_request():
    return "confirm needs the registered result of enter or exit as requested"


def failed_before_any_switch():
    return "enter failed before any switch"
