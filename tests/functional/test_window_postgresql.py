# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The window's record in PostgreSQL (window_state_url), as AWX runs jobs: each job in a home and
a working directory of its own, on whichever node is free, sharing nothing with the others but
the database. A real PostgreSQL server on loopback (tests/support/postgresql.py) and the
emulators; the modes are read back from the emulators, the record from the database."""

from __future__ import annotations

import json
import shutil
import signal

import pytest

from ansible_collections.opsmodes.maintenance.tests.functional.test_window import (
    ARCGIS_LOGIN, BEFORE, PLAYBOOK_TIMEOUT, Operator, kill, modes, posts, until)


@pytest.fixture
def job(tmp_path, postgresql, monkeypatch):
    """A maker of AWX jobs: `job(name)` is an operator with a fresh home and working directory,
    the record in the test's database. The password reaches each job in its environment, as the
    collection's credential type injects it (PGPASSWORD)."""
    for name, value in postgresql.environment().items():
        monkeypatch.setenv(name, value)

    def make(name):
        directory = tmp_path / name
        (directory / "home").mkdir(parents=True)
        operator = Operator(directory, state_url=postgresql.url)
        operator.env["HOME"] = str(directory / "home")
        return operator
    return make


def test_enter_killed_on_a_lost_node_is_put_back_by_an_exit_on_another(job, servers, postgresql):
    ucs, site, ucs2, hosts = servers(ucs_seconds=4, arcgis_seconds=4)
    enter = job("enter")
    enter.hosts(hosts, **ARCGIS_LOGIN)
    running = enter.start("enter", args=["-vvv"])
    # The node is lost once both servers have taken their writes and the record has the ArcGIS job.
    until(lambda: ucs.state()["switching_to"] and enter.records().get("app1", {}).get("arcgis", {}).get("handle"),
          "both switches to start")
    kill(running, signal.SIGKILL)
    output = running.stdout.read().decode()
    assert postgresql.password not in output, "the database's password showed at -vvv"
    # Nothing of the job survives it but what it wrote to the database.
    shutil.rmtree(str(enter.cwd))
    assert {entry["state"] for entry in job("reader").servers().values()} == {"open"}

    exit_job = job("exit-elsewhere")
    exit_job.hosts(hosts, **ARCGIS_LOGIN)
    exited = exit_job.run("exit")
    assert exited.returncode == 0, exited.output
    assert modes(ucs, site, ucs2) == BEFORE
    assert not posts(ucs2)
    assert {entry["state"] for entry in exit_job.servers().values()} == {"closed"}
    assert not (exit_job.cwd / "records.json").exists() and not list((exit_job.cwd / "home").rglob("*.db"))


def test_slices_of_a_sliced_job_share_a_server_switched_once_each_way(job, ucs_server, arcgis_server):
    """AWX gives each slice an inventory of its own hosts only, and runs the slices at once on
    different nodes: hosts of two slices that share servers join one window."""
    ucs = ucs_server(switch_seconds=1)
    site = arcgis_server(read_only_seconds=1, editable_seconds=1)
    shared = {"window_ucs_url": ucs.url, "window_arcgis_url": site.url}
    slices = {}
    for number, host in ((1, "app1"), (2, "app2")):
        slices[number] = job("slice-%d" % number)
        slices[number].hosts({host: dict(shared)}, **ARCGIS_LOGIN)
    entering = [slices[number].start("enter") for number in (1, 2)]
    for running in entering:
        assert running.wait(timeout=PLAYBOOK_TIMEOUT) == 0, running.stdout.read().decode()
    assert modes(ucs, site) == ("maintenance", "READ_ONLY")
    assert (len(posts(ucs)), len(posts(site))) == (1, 1), "each server is switched once, by one slice"
    assert {tuple(entry["holders"]) for entry in slices[1].servers().values()} == {("app1", "app2")}

    first = slices[1].run("exit")
    assert first.returncode == 0, first.output
    assert "still held open by app2" in first.output
    # A host gone from the inventory would hold it too: the hand-on says how that one ends.
    assert "(none of them is in this inventory: each exits in its own job, as a job slice does, or, if gone for " \
           "good, is taken over with window_take_over)" in first.output
    assert modes(ucs, site) == ("maintenance", "READ_ONLY"), "slice 2's host is still at work"
    # Slice 1 relaunched: its host has left the window already.
    again = slices[1].run("exit")
    assert again.returncode == 0, again.output
    assert "app1 has already left the window" in again.output
    assert (len(posts(ucs)), len(posts(site))) == (1, 1)

    last = slices[2].run("exit")
    assert last.returncode == 0, last.output
    assert modes(ucs, site) == ("production", "EDITABLE")
    assert (len(posts(ucs)), len(posts(site))) == (2, 2), "one write each way"


def test_the_database_restarted_between_request_and_confirm(job, servers, postgresql):
    ucs, site, ucs2, hosts = servers(ucs_seconds=3, arcgis_seconds=3)
    operator = job("enter")
    operator.hosts(hosts, **ARCGIS_LOGIN)
    running = operator.start("enter")
    until(lambda: posts(ucs) and posts(site), "both writes to go out")
    postgresql.cluster.restart()
    assert running.wait(timeout=PLAYBOOK_TIMEOUT) == 0, running.stdout.read().decode()
    record = operator.records()["app1"]
    # Confirm wrote to the restarted database: the writes are no longer in flight.
    assert {(entry["state"], entry["requested"]) for entry in record.values()} == {("open", None)}
    exit_job = job("exit")
    exit_job.hosts(hosts, **ARCGIS_LOGIN)
    exited = exit_job.run("exit")
    assert exited.returncode == 0, exited.output
    assert modes(ucs, site, ucs2) == BEFORE


def test_an_unreachable_database_at_enter_fails_before_any_request(job, servers, postgresql):
    ucs, site, ucs2, hosts = servers()
    operator = job("enter")
    operator.hosts(hosts, window_lock_timeout=5, **ARCGIS_LOGIN)
    postgresql.cluster.stop_server()
    entered = operator.run("enter")
    assert entered.returncode != 0
    assert "The record store %s could not be reached" % postgresql.url in entered.output, entered.output
    # Turned away, it was tried again within window_lock_timeout, and said so while it waited.
    assert "turns connections away" in entered.output and "trying again for up to 5 s" in entered.output
    assert not ucs.requests and not site.requests and not ucs2.requests
    assert postgresql.password not in entered.output


def test_an_unreachable_database_at_exit_keeps_the_record_for_the_next_exit(job, servers, postgresql):
    ucs, site, ucs2, hosts = servers()
    enter = job("enter")
    enter.hosts(hosts, **ARCGIS_LOGIN)
    assert enter.run("enter").returncode == 0
    writes = len(posts(ucs)) + len(posts(site))

    postgresql.cluster.stop_server()
    exit_job = job("exit")
    exit_job.hosts(hosts, window_lock_timeout=1, **ARCGIS_LOGIN)
    failed = exit_job.run("exit")
    assert failed.returncode != 0
    assert "The record store %s could not be reached" % postgresql.url in failed.output, failed.output
    assert len(posts(ucs)) + len(posts(site)) == writes and modes(ucs, site) == ("maintenance", "READ_ONLY")

    postgresql.cluster.start_server()
    assert {entry["state"] for entry in exit_job.servers().values()} == {"open"}
    again = job("exit-again")
    again.hosts(hosts, **ARCGIS_LOGIN)
    exited = again.run("exit")
    assert exited.returncode == 0, exited.output
    assert modes(ucs, site, ucs2) == BEFORE


def test_an_enter_whose_read_comes_back_after_an_exit_reads_the_mode_again(job, ucs_server):
    """app2's enter reads the record (app1's window open), then the server's mode; the answer
    comes back after app1's exit has put the server back and closed the record. Taken as the mode
    before the window, that late "maintenance" would be left so, and app2's work would run on a
    server in production."""
    ucs = ucs_server(switch_seconds=0.3)
    node1, node2 = job("node1"), job("node2")
    node1.hosts({"app1": {"window_ucs_url": ucs.url}})
    node2.hosts({"app2": {"window_ucs_url": ucs.url}})
    assert node1.run("enter").returncode == 0
    ucs.add_fault("hold:1:GET:/server/status$")
    entering = node2.start("enter")
    until(lambda: ucs.holding, "app2's read of the mode to arrive")
    exited = node1.run("exit")
    assert exited.returncode == 0, exited.output
    assert ucs.state()["mode"] == "production"
    ucs.release()
    assert entering.wait(timeout=PLAYBOOK_TIMEOUT) == 0, entering.stdout.read().decode()
    assert ucs.state()["mode"] == "maintenance"
    assert [json.loads(write["body"])["mode"] for write in posts(ucs)] == ["maintenance", "production", "maintenance"]
    (entry,) = node2.servers().values()
    assert (entry["state"], entry["mode_before"], entry["holders"]) == ("open", "production", ["app2"])
    assert node2.run("exit").returncode == 0
    assert ucs.state()["mode"] == "production"
