# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the tests and the bench read of a state file from outside the store's code."""

from __future__ import annotations

import os


def commits(path):
    """The state file's commits so far: SQLite's file change counter (bytes 24 to 27 of the
    header), which every transaction that writes advances by one, in a rollback journal's mode;
    none before the file is made."""
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as stream:
        return int.from_bytes(stream.read(28)[24:28], "big")
