# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""What the calls to the servers say (_calls.py, and the phases that make them): what a call waits
for while it waits, and the failures that are the calls' own rather than a module's."""

from __future__ import annotations


def still_waiting(host, awaited, waited):
    return "%s: still waiting %s (%d s so far)" % (host, "; ".join(awaited), waited)


def waiting_for(step, url, earlier=None):
    """What a call of `step` waits for, said while it waits; first, for the end of a write that
    was sent (or about to be) at `earlier`: an earlier run's, or a failed enter's own."""
    awaited = {"read": "for %s to tell its mode", "switch": "for %s to take the request for its maintenance mode",
               "put back": "for %s to take the request for its mode before the window",
               "switched": "for %s to reach its maintenance mode",
               "back": "for %s to reach its mode before the window"}[step] % url
    if earlier is None:
        return awaited
    return "for the switch sent at %s to end (it may yet take effect), then %s" % (earlier, awaited)


def follow_timed_out(url, mode, now):
    return "Timed out waiting for %s to reach mode %s: it is in mode %s" % (url, mode, now)


def unsupported_options(action, errors):
    """AnsibleModule's own message for options a module does not take."""
    return "Unsupported parameters for (%s) module: %s" % (action, errors)
