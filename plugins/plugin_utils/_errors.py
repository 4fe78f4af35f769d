# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""The maintenance window's errors. Their texts are built in _messages/."""

from __future__ import annotations


class WindowError(Exception):
    """A reason to stop before any switch, or to fail a host, in words for the operator."""


class RecordReplaced(WindowError):
    """The record's entry of a server is no longer the one this run read or wrote; `current` is
    the entry found instead (None when there is none)."""

    def __init__(self, message, current=None):
        super().__init__(message)
        self.current = current


class ModesStale(Exception):
    """A server's record changed after its mode was read and before enter wrote ahead (an exit
    put the server back meanwhile): the mode read may tell of the window that closed. `target`
    is the server's."""

    def __init__(self, target):
        super().__init__(target.name)
        self.target = target
