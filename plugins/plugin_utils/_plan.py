# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""The plan of one host's phase: a PlannedServer per service, made by the decisions (_decide.py),
carried out by the phase, and handed from the request step to confirm in the registered result
(`to_result`, `from_result`: the one place where the plan becomes data and back)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

# What enter does with a server: switches it into maintenance, leaves it there (it was there
# before the window), joins the window another host holds open on it, or keeps its own.
SWITCH, LEFT, JOINED, KEPT = "switch", "left", "joined", "kept"
# What exit does with a server: puts back its mode before the window, closes a window that put
# nothing back, hands it on to the other hosts that hold it open, or nothing: this host no longer
# holds it, only hosts gone from the inventory hold it, there is no record, or it is closed.
PUT_BACK, CLOSE, HANDED_ON, NOT_HELD, ORPHANED, NO_RECORD, CLOSED_ALREADY = (
    "put back", "close", "handed on", "not held", "orphaned", "no record", "closed already")
ENTERING = (SWITCH, LEFT, JOINED, KEPT)
LEAVING = (PUT_BACK, CLOSE, HANDED_ON, NOT_HELD, ORPHANED, NO_RECORD, CLOSED_ALREADY)
# The actions that write to the server.
WRITING = (SWITCH, PUT_BACK)
# What a call to a server (converge, follow) tells that a plan keeps.
OUTCOME = ("changed", "failed", "msg", "mode", "previous_mode", "may_pass", "pending_switch")


@dataclass
class PlannedServer:
    """One server of the host's phase: what it was, what to do, the record entry it acts on, and
    what the calls to it made of it."""

    service: str
    key: str
    action: str
    # The server's record entry, as the phase last read or wrote it; the window it acts on, which
    # every write to the entry checks first.
    entry: dict | None = None
    window: str | None = None
    # The mode read before the phase acted, and the mode it asks for.
    mode_now: str | None = None
    target_mode: str | None = None
    # Enter: an earlier open entry it closed, its server found out of maintenance. Exit: the
    # holders, gone from the inventory, whose window it took over.
    ended: dict | None = None
    taken_over: list | None = None
    # Exit: the hosts it handed the window on to, none of them in this inventory.
    handed_outside: bool | None = None
    # The write this phase put on the entry when it planned it (the entry's `requested` then), until
    # it goes out or is taken back: its own, not an earlier run's write to let end first.
    noted_ahead: str | None = None
    # How often the write was asked for: a fault that may pass gets a second try.
    tries: int = 1
    # The outcome of the calls (see OUTCOME).
    changed: bool | None = None
    failed: bool | None = None
    msg: str | None = None
    mode: str | None = None
    previous_mode: str | None = None
    may_pass: bool | None = None
    pending_switch: dict | None = None

    def take(self, outcome):
        """Keep what a call's result tells: a value it gives replaces the one before; the mode
        only when it says one, or failed (then not knowing it is what it tells)."""
        for name in OUTCOME:
            value = outcome.get(name)
            if value is not None or name == "mode" and outcome.get("failed"):
                setattr(self, name, value)

    def again(self, *also):
        """Before a call is made once more: its failure, and what `also` names, no longer hold."""
        for name in ("failed", "msg") + also:
            setattr(self, name, None)


def to_result(plan):
    """The plan as the registered result carries it."""
    return [asdict(item) for item in plan]


def from_result(items):
    """The plan from a registered result; what is not a PlannedServer's field is refused."""
    known = {field.name for field in fields(PlannedServer)}
    plan = []
    for item in items or []:
        unknown = set(item) - known
        if unknown:
            raise ValueError("not a planned server's: %s" % ", ".join(sorted(unknown)))
        plan.append(PlannedServer(**item))
    return plan
