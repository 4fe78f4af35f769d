# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""Waiting for a switch, for both API clients: reads at a steady pace until the mode is reached
or the deadline passes, passing over the faults a switching server answers with."""

from __future__ import annotations

import time

from ansible_collections.opsmodes.maintenance.plugins.module_utils._transport import ApiError, transient

# Status polling: often enough that a task returns within half a second of the server
# finishing, rarely enough that a switching server sees at most two requests a second.
POLL_INTERVAL = 0.5


def wait_until(probe, deadline):
    """Call `probe()` every POLL_INTERVAL seconds, counted from the start of each call, until it
    returns something other than None or a call made at the deadline has not. Returns that
    value, or None when time ran out."""
    while True:
        started = time.monotonic()
        outcome = probe()
        if outcome is not None:
            return outcome
        now = time.monotonic()
        if now >= deadline:
            return None
        # The last call falls on the deadline itself, so the whole budget is used.
        time.sleep(max(0.0, min(started + POLL_INTERVAL, deadline) - now))


class Poll:
    """Waiting for a switch: `read()` until `done(answer)` is true, passing over transient errors.
    `last` and `error` keep the last answer and the last error since it, for the message when
    time runs out; `done` may raise to end the wait with a failure."""

    def __init__(self, read, done):
        self.read = read
        self.done = done
        self.last = None
        self.error = None

    def run(self, deadline):
        """The answer that was done, or None when the deadline passed first."""
        return wait_until(self._probe, deadline)

    def _probe(self):
        try:
            answer = self.read()
        except ApiError as exc:
            if not transient(exc):
                raise
            self.error = exc
            return None
        self.last, self.error = answer, None
        return answer if self.done(answer) else None
