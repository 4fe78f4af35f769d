# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""What the window says of the role's variables and the work's tasks file it is given: bad input,
refused before any request to any server."""

from __future__ import annotations


# -- settings ---------------------------------------------------------------------------------------
def unknown_phase(phase, phases):
    return "phase must be one of %s, got %r" % (", ".join(phases), phase)


def not_a_choice(name, value, choices):
    return "%s must be %s, got %r" % (name, " or ".join(choices), value)


def not_choices(name, unknown, choices):
    return "%s may name %s, not %s" % (name, " and ".join(choices) if len(choices) == 2 else ", ".join(choices),
                                       ", ".join(unknown))


def not_a_boolean(name, value):
    return "%s must be a boolean (true or false), got %r" % (name, value)


def not_names(name, value):
    return "%s must be a list of names or one comma-separated string of them, got %r" % (name, value)


def take_over_in_inventory(names):
    return "window_take_over names %s, which %s in the inventory: a host of the inventory leaves its windows by its " \
           "own exit. Nothing was switched." % (", ".join(names), "is" if len(names) == 1 else "are")


def empty_url(variable, host):
    return "%s is set for %s but empty (a variable that templated to nothing?): nothing was switched. Give the URL, " \
           "or leave the variable undefined." % (variable, host)


def bad_options(service, errors, host):
    return "%s: %s. Nothing was switched on %s." % (service, "; ".join(errors), host)


def by_job(user, job):
    return "%s (AWX job %s)" % (user, job) if job else user


def bad_max_open(value, days):
    return "window_max_open must be a duration of at most %d days, such as 8h, 30m, 2d or a number of seconds, got " \
           "%r. Nothing was switched." % (days, value)


def bad_lock_timeout(value):
    return "window_lock_timeout must be a number of seconds, got %r" % (value,)


# -- the work's tasks file --------------------------------------------------------------------------
def work_missing(path, cwd):
    return "The work's tasks file %s does not exist (window_work_tasks is taken from the current directory %s): " \
           "nothing was switched." % (path, cwd)


def work_unloadable(path, error):
    return "The work's tasks file %s cannot be loaded: nothing was switched. %s" % (path, error)


def work_not_tasks(path):
    return "The work's tasks file %s is not a list of tasks: nothing was switched." % path


def work_cannot_run(path, error):
    return "The work's tasks file %s cannot run: nothing was switched. %s" % (path, error)


def work_task_not_a_mapping(data):
    return "Each task must be a mapping, got %r" % (data,)


def work_task_ends(name, ends, what):
    return "The task %r ends the %s (meta: %s), so exit would not run after it: end the work with a failure or a " \
           "condition instead" % (name, what, ends)
