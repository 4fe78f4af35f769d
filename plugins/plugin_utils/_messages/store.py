# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""What the record and its stores say: the state file (SQLite), the PostgreSQL store, their
locks, and copies of the record that disagree."""

from __future__ import annotations

NOT_SWITCHED = "Nothing was switched."
NOTHING_MORE = "Nothing more was switched by this run."


def both_stores():
    return "window_state_url and window_state_file are both set: the record is kept in one place, so give one of " \
           "them. " + NOT_SWITCHED


def copies_disagree(server, first, first_entry, second, second_entry, sources):
    return "The records of %s disagree, and nothing in them says which is later: %s says %s; %s says %s. Nothing " \
           "was switched. Check the server with opsmodes.maintenance.status, then run again with " \
           "window_record_sources set to the source to trust (%s)" % (server, first, first_entry, second,
                                                                      second_entry, ", ".join(sources))


# -- the locks -----------------------------------------------------------------------------------
def waiting_for_lock(waited, timeout, what, holder):
    return "waiting %d s so far (at most %g s) for %s, held by %s" % (waited, timeout, what, holder)


def lock_not_free(what, timeout, holder, lost_node=""):
    return "The lock of %s was not free within %g s (window_lock_timeout); it is held by %s. %s If that run has " \
           "ended, its lock is free again%s; run again." % (what, timeout, holder, NOTHING_MORE, lost_node)


def lost_node_lock(idle_seconds):
    return " (a node lost in the middle of a write lets it go %d s after it went silent)" % idle_seconds


def table_itself(table, location):
    return "the table %s in %s itself (a VACUUM FULL or an ALTER TABLE holds it)" % (table, location)


def state_file_lock(path):
    return "the state file %s" % path


def server_lock(key, location):
    return "the record of %s in %s" % (key, location)


def table_lock(location):
    return "the record in %s" % location


def table_making_lock(location):
    return "the making of the record's table in %s" % location


def holder(name, since):
    return "%s, since %s" % (name, since)


def unknown_holder():
    return "an unknown process"


def holder_gone():
    return "a run that has let it go since"


def backend_holder(pid, user, address):
    return "PostgreSQL backend %s of %s from %s" % (pid, user, address)


# -- the state file -------------------------------------------------------------------------------
def run_name(pid, host, user):
    """How a run names itself to the other runs that wait for its lock."""
    return "pid %s on %s, user %s" % (pid, host, user)


def lock_holder(pid, host, user, since):
    """What the state file's lock file says of its holder."""
    return "%s, since %s\n" % (run_name(pid, host, user), since)


def directory_missing(path):
    return "The directory of the state file %s does not exist: create it, or give another window_state_file." % path


def directory_not_writable(directory):
    return "The state file's directory %s is not writable by this user: nothing was switched." % directory


def not_read_write(path):
    return "The state file %s cannot be read and written by this user: nothing was switched." % path


def symbolic_link(what, path):
    return "The %s %s is a symbolic link: refused, since a link can point a window at a record that is not its own. " \
           "Nothing was switched; replace it with the file itself." % (what, path)


def not_regular(what, path):
    return "The %s %s is not a regular file: refused. %s" % (what, path, NOT_SWITCHED)


def another_users(what, path, uid, user):
    return "The %s %s belongs to user id %s, not to the user running the play (%s): refused, since another user " \
           "could have written it. Nothing was switched; use a window_state_file of your own." % (what, path, uid,
                                                                                                  user)


def unreadable(path, reason):
    return "The state file %s cannot be read: %s" % (path, reason)


def written_after_move(earlier, path):
    return "%s holds records that a run of an earlier version of opsmodes.maintenance wrote after the records moved " \
           "into %s: nothing was switched. Exit the windows it opened with that version, then remove the file." % (
               earlier, path)


def not_json(path, error):
    return "The state file %s is not valid JSON (%s): nothing was switched. Repair it from a backup, or move it away " \
           "after checking the servers' modes." % (path, error)


def not_a_record(path, error=None):
    if error is None:
        return "The state file %s is not a window record: nothing was switched." % path
    return "The state file %s is not a window record (%s): nothing was switched. Repair it from a backup, or move it " \
           "away after checking the servers' modes." % (path, error)


def stayed_locked(path, timeout):
    return "The state file %s stayed locked by another process for %s s (window_lock_timeout): nothing more was " \
           "switched by this run; run again." % (path, timeout)


def cannot_be_used(path, error):
    return "The state file %s cannot be used (%s): nothing was switched." % (path, error)


def write_failed(path, error):
    return "Writing the record to %s failed: %s" % (path, error)


def not_made(path, error):
    return "The state file %s could not be made: %s. %s" % (path, error, NOT_SWITCHED)


def lock_not_taken(path, reason):
    return "The lock of the state file %s could not be taken: %s" % (path, reason)


# -- PostgreSQL ----------------------------------------------------------------------------------
def psycopg_missing():
    return "window_state_url keeps the record in PostgreSQL, which needs the Python package psycopg (version 3) on " \
           "the controller: install it (pip install 'psycopg[binary]', or add it to the execution environment). " \
           + NOT_SWITCHED


def not_postgresql():
    # What was given is not repeated: a connection string that is no URL may carry a password.
    return "window_state_url must be a URL of the form postgresql://user@host:port/database. %s" % NOT_SWITCHED


def unreadable_url(url, error):
    return "window_state_url %s cannot be read: %s. %s" % (url, error, NOT_SWITCHED)


def password_in_url():
    return "window_state_url must not carry a password (after the user name, or as password or sslpassword), which " \
           "would then show wherever the URL does: give it in the environment (PGPASSWORD, or a password file in " \
           "PGPASSFILE or ~/.pgpass, as the AWX credential type does). An @ or a : in the database's name is " \
           "written %40 or %3A. " + NOT_SWITCHED


def cannot_create(table, location, schema):
    return "The record store's table %s is not there yet in %s, and its user may not make it in %s: a real run " \
           "would fail. Grant CREATE on the schema, or make the table beforehand. %s" % (
               table, location, "the schema %s" % schema if schema else "any schema of its search_path",
               NOT_SWITCHED)


def foreign_table(table, location, comment):
    return "The table %s in %s is not a window record of this version (its comment says %r): nothing was switched. " \
           "Give window_state_url a database or schema of its own." % (table, location, comment)


def rows_not_records(table, location):
    return "The table %s in %s holds rows that are not window records: nothing was switched. Repair them from a " \
           "backup after checking the servers' modes." % (table, location)


def unreachable(location, error):
    return "The record store %s could not be reached: %s. %s" % (location, error, NOTHING_MORE)


def trying_again(location, error, patience):
    return "the record store %s turns connections away (%s): trying again for up to %g s (window_lock_timeout)" % (
        location, error, patience)


def store_silent(location, seconds, beyond):
    return "The record store %s had not answered within %g s (window_lock_timeout and %g s more), so its " \
           "connection was cut: it may or may not have taken the last write. %s" % (
               location, seconds, beyond, NOTHING_MORE)


def store_failed(location, what, error):
    return "The record store %s %s: %s. %s" % (location, what, error, NOTHING_MORE)
