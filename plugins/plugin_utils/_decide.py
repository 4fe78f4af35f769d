# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""The window's decisions, as pure functions of the record's entries, the live modes, the
host's targets and the settings: what enter and exit do with each server (open, join, keep,
leave as it is, hand on, put back, close, refuse). Nothing here reads a server, a file or a
clock: the phases pass what they read, and the time."""

from __future__ import annotations

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _record as record
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import phases as messages
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import ModesStale, WindowError
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
    PlannedServer,
)


def plan_enter(targets, entries, known, live, settings, now):
    """Enter's plan: for each target, the server's entry after this enter and what this host does
    to it. `entries` are the servers' entries as read under the lock, `known` as they were before
    the live modes (`live`, service -> mode) were read."""
    plan = []
    for target in targets:
        entry, action, ended = opening(target, entries.get(target.key), known.get(target.key), live[target.name],
                                       settings, now)
        plan.append(PlannedServer(service=target.name, key=target.key, action=action, entry=entry,
                                  window=entry["window"], mode_now=live[target.name],
                                  target_mode=target.maintenance_mode, ended=ended,
                                  noted_ahead=entry["requested"] if action == SWITCH else None))
    return plan


def opening(target, current, known, mode_now, settings, now):
    """(entry, action, ended) of one server at enter: its entry after this enter, what this host
    does to it, and the earlier open entry found ended outside its window, if any.

    An open entry is joined (or kept, by a host that holds it) while its server is in maintenance,
    a write on it may still be switching it, or someone wrote to it since `known` was read: such
    a write tells more than `mode_now`, which may have been read before the switch. Otherwise the
    window ended outside the role (by hand, by another tool): it is closed, and a new one opens.
    An entry closed since `known` was read was put back meanwhile, maybe after `mode_now` was
    read: ModesStale, for the mode to be read again."""
    wanted = target.maintenance_mode
    ended = None
    if not record.is_open(current) and not record.same(current, known):
        raise ModesStale(target)
    if record.is_open(current):
        if current["maintenance_mode"] != wanted:
            raise WindowError(messages.other_maintenance_mode(target, current, wanted, settings.host))
        if current.get("leaving"):
            raise WindowError(messages.exit_under_way(target, current, settings.host))
        switching = record.still_switching(current, now, target.wait_timeout)
        if mode_now == wanted or switching or not record.same(current, known):
            if settings.host in (current.get("holders") or []):
                return current, KEPT, None
            return record.joined(current, settings.host), JOINED, None
        ended = current = record.closed(current, now, messages.ended_outside(settings.host, mode_now))
    entry = record.new_entry(target.name, target.url, mode_now, wanted, settings.host, settings.by, now,
                             replaces=current, max_open=settings.max_open, comment=settings.comment)
    if mode_now == wanted:
        return entry, LEFT, ended
    first = settings.first_sharing(target.key)
    if settings.check_mode and first != settings.host:
        # A dry run writes no record for the others to join: as a real run would, the first host
        # of the batch that has the server would switch it, and this one would join its window.
        return record.joined(dict(entry, holders=[first]), settings.host), JOINED, ended
    # The switch is on the record from the start: a host sharing the server that reads it before
    # the switch shows joins this window instead of calling it ended.
    return dict(entry, requested=now), SWITCH, ended


def closed_before_any_switch(target, current, mode_now, settings, now):
    """After an enter that could not read every service: a closed entry, so that an exit after it
    finds a record rather than none; None where an open entry stays as it is."""
    if record.is_open(current):
        return None
    opened = record.new_entry(target.name, target.url, mode_now, target.maintenance_mode, settings.host, settings.by,
                              now, replaces=current)
    return record.closed(opened, now, messages.failed_before_any_switch())


def plan_exit(targets, entries, settings, now):
    """Exit's plan: for each target, what this host does to its server's entry. A put-back is
    noted on the entry when exit claims it, as enter notes its switch when it opens the entry,
    unless a write on the entry has not been seen to end: that one is let end first, and the
    put-back is noted as it goes out."""
    plan = []
    for target in targets:
        current = entries.get(target.key)
        action, target_mode = leaving(target, current, settings)
        outside = action == HANDED_ON and not set(current["holders"]) - {settings.host} & settings.inventory
        ahead = action == PUT_BACK and record.is_open(current) and not record.in_flight(current) \
            and not settings.check_mode
        plan.append(PlannedServer(service=target.name, key=target.key, action=action, entry=current,
                                  window=current["window"] if current else None, target_mode=target_mode,
                                  taken_over=taken_over(current, action, settings.host), handed_outside=outside,
                                  noted_ahead=now if ahead else None))
    return plan


def leaving(target, entry, settings):
    """(action, the mode to put back or None) of one server at exit.

    A window this host left, or one that hosts of the inventory still hold, is theirs to put back.
    One held only by hosts gone from the inventory (renamed, removed) has nobody to put it back
    unless this exit takes it over (window_take_over): a job slice's inventory holds only its own
    hosts, so whether they are gone cannot be guessed."""
    if entry is None:
        return (PUT_BACK, target.normal_mode) if settings.no_record == "normal" else (NO_RECORD, None)
    if not record.is_open(entry):
        return CLOSED_ALREADY, None
    holders = set(entry.get("holders") or [])
    if settings.host not in holders:
        if settings.host in (entry.get("left") or []) or holders & settings.inventory:
            return NOT_HELD, None
        if not holders <= settings.take_over:
            return ORPHANED, None
    elif holders - {settings.host} and not settings.last_leaving(target.key, holders):
        return HANDED_ON, None
    mode = record.target_on_exit(entry)
    return (PUT_BACK, mode) if mode else (CLOSE, None)


def taken_over(entry, action, host):
    """The holders whose window this host's exit takes over, if it does."""
    if action in (PUT_BACK, CLOSE) and entry is not None and host not in (entry.get("holders") or []):
        return list(entry["holders"])
    return None


def leaving_entry(item, host):
    """The server's entry as exit's request step writes it, or None for none to write: a host
    that hands the window on leaves it; one that puts it back marks it so (no host joins from
    then on), with the put-back the plan noted ahead, taking it over from the holders gone from
    the inventory if it does."""
    current = item.entry
    if current is None:
        return None
    if item.action == HANDED_ON:
        return record.left(current, host)
    if item.action not in (PUT_BACK, CLOSE):
        return None
    changes = {"leaving": host}
    if item.taken_over:
        changes.update(holders=[host], taken_over=item.taken_over)
    if item.noted_ahead:
        changes.update(requested=item.noted_ahead, handle=None)
    return record.advanced(current, **changes)


def plan_back(plan, entries, targets, settings):
    """After a failed enter, what this host does to each server it opened or joined: leaves it to
    the other hosts that hold it, or puts it back as exit would. An entry kept from an earlier
    enter is that window's, not this one's; one that is no longer this window's, or that an exit
    is putting back already, is left as it is. Changes those items' action and entry; returns the
    items that are put back or closed."""
    for item in plan:
        current = entries.get(item.key)
        if item.action not in (SWITCH, LEFT, JOINED) or current is None or current["window"] != item.window \
                or not record.is_open(current) or current.get("leaving"):
            continue
        # Whatever the entry says is in flight, this enter's own switch too, may have gone out:
        # the put-back lets it end first.
        item.entry, item.noted_ahead = current, None
        item.action, item.target_mode = leaving(targets[item.service], current, settings)
        if item.action == HANDED_ON:
            item.entry = record.left(current, settings.host)
    return [item for item in plan if item.action in (PUT_BACK, CLOSE)]
