# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""The state file's files on disk (_state_file.py): trusted only as ssh trusts its keys, in a
directory the run may write, kept when the database replaces them, synced when renamed."""

from __future__ import annotations

import getpass
import os
import shutil
import stat

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import store as messages


def trusted(path, status=None):
    """Fail unless `path`, where there is one, is a regular file of the user running the play."""
    try:
        status = status or os.lstat(path)
    except FileNotFoundError:
        return
    what = "lock file" if path.endswith(".lock") else "state file"
    if stat.S_ISLNK(status.st_mode):
        raise WindowError(messages.symbolic_link(what, path))
    if not stat.S_ISREG(status.st_mode):
        raise WindowError(messages.not_regular(what, path))
    if status.st_uid != os.geteuid():
        raise WindowError(messages.another_users(what, path, status.st_uid, getpass.getuser()))


def writable(directory):
    if not os.access(directory, os.W_OK | os.X_OK):
        raise WindowError(messages.directory_not_writable(directory))


def existing_ancestor(directory):
    while not os.path.isdir(directory) and os.path.dirname(directory) != directory:
        directory = os.path.dirname(directory)
    return directory


def keep_as_migrated(source):
    """Keep the file the database was made of, never over an earlier one; as a hard link where the
    file system has them, the sign (a second link) that a JSON file left at the earlier default
    location is that file, not one an earlier version wrote since."""
    kept, number = source + ".migrated", 1
    while os.path.lexists(kept):
        number += 1
        kept = "%s.migrated.%d" % (source, number)
    try:
        os.link(source, kept)
    except OSError:
        shutil.copy2(source, kept)


def sync_directory(directory):
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
