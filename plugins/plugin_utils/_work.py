# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""The work's tasks file of a whole window, checked before anything is switched: a file that
cannot run would abort the play at its include, and exit would never run."""

from __future__ import annotations

import os

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.playbook.task import Task

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._errors import WindowError
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import settings as messages

# meta actions that would end the work's host, batch, play or the role: exit would not run.
WORK_MUST_NOT = {"end_host": "host", "end_batch": "batch", "end_play": "play", "end_role": "role"}


def checked_work(path, loader, task):
    """The work's tasks file, resolved from the current directory and loaded once, task by task as
    Ansible loads them (with the role's collections, as inside the role); None when not given."""
    if path is None:
        return None
    path = os.path.normpath(os.path.join(os.getcwd(), os.path.expanduser(str(path))))
    if not os.path.isfile(path):
        raise WindowError(messages.work_missing(path, os.getcwd()))
    try:
        tasks = loader.load_from_file(path)
    except AnsibleError as exc:
        raise WindowError(messages.work_unloadable(path, exc))
    if not isinstance(tasks, list) or not tasks:
        raise WindowError(messages.work_not_tasks(path))
    try:
        _check_tasks(tasks, loader, task)
    except AnsibleError as exc:
        raise WindowError(messages.work_cannot_run(path, exc))
    return path


def _check_tasks(tasks, loader, task):
    for data in tasks:
        if not isinstance(data, dict):
            raise AnsibleError(messages.work_task_not_a_mapping(data))
        if "block" in data:
            for part in ("block", "rescue", "always"):
                _check_tasks(data.get(part) or [], loader, task)
            continue
        # Short module names resolve as they will inside the role: with its collections (a copy:
        # loading adds to the list it is given) and without the play's default one.
        if "collections" not in data:
            data = dict(data, collections=list(task.collections or []))
        loaded = Task.load(data, role=task._role, loader=loader)
        ends = loaded.args.get("_raw_params") if loaded.action in C._ACTION_META else None
        if ends in WORK_MUST_NOT:
            raise AnsibleError(messages.work_task_ends(loaded.get_name(), ends, WORK_MUST_NOT[ends]))
