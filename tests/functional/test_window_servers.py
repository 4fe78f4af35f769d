# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The record belongs to a server and carries its own history: hosts sharing a server, records
ended outside their window, copies that disagree, a held lock, state files not to be trusted,
empty URLs, long waits, a 1.0.0 state file, and the path through a delegate host that is not
reached over the local connection. Each test reads the servers' modes back from the emulators."""

from __future__ import annotations

import fcntl
import json
import os
import signal

import pytest

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._record import server_key
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._state_file import StateFile
from ansible_collections.opsmodes.maintenance.tests.functional.test_window import (
    ARCGIS_LOGIN,
    BEFORE,
    kill,
    modes,
    posts,
    site_modes_asked,
    until,
)

CONNECTION_PLUGINS = os.path.join(os.path.dirname(__file__), "connection_plugins")


# -- hosts that share a server -----------------------------------------------------------------------
def test_hosts_sharing_servers_switch_them_once_and_the_last_exit_puts_them_back(operator, ucs_server, arcgis_server):
    ucs = ucs_server(switch_seconds=0.5)
    site = arcgis_server(read_only_seconds=1, editable_seconds=1)
    # One server, spelled two ways: the record is keyed by the normalized URL.
    operator.hosts({"app1": {"window_ucs_url": ucs.url, "window_arcgis_url": site.url},
                    "app2": {"window_ucs_url": ucs.url.upper().replace("HTTP://", "http://") + "/",
                             "window_arcgis_url": site.url + "/"}},
                   window_arcgis_wait_timeout=60, window_ucs_wait_timeout=60, **ARCGIS_LOGIN)
    entered = operator.run("enter")
    assert entered.returncode == 0, entered.output
    assert modes(ucs, site) == ("maintenance", "READ_ONLY")
    assert len(posts(ucs)) == 1 and site_modes_asked(site) == ["READ_ONLY"]
    entries = operator.servers()
    assert sorted(entries) == sorted([server_key("ucs", ucs.url), server_key("arcgis", site.url)])
    assert all(e["holders"] == ["app1", "app2"] and e["state"] == "open" for e in entries.values())
    assert all(e["mode_before"] in ("production", "editable") for e in entries.values())
    assert "is shared with" in entered.output and "joined it" in entered.output

    first = operator.run("exit", {"window_hosts": "app1"})
    assert first.returncode == 0, first.output
    assert "still held open by app2" in first.output
    assert modes(ucs, site) == ("maintenance", "READ_ONLY"), "exit of one host ended the other's window"
    assert all(e["holders"] == ["app2"] and e["state"] == "open" for e in operator.servers().values())
    again = operator.run("exit", {"window_hosts": "app1"})
    assert again.returncode == 0 and "has already left the window" in again.output
    assert modes(ucs, site) == ("maintenance", "READ_ONLY")

    last = operator.run("exit", {"window_hosts": "app2"})
    assert last.returncode == 0, last.output
    assert modes(ucs, site) == ("production", "EDITABLE")
    assert [json.loads(p["body"])["mode"] for p in posts(ucs)] == ["maintenance", "production"]
    assert site_modes_asked(site) == ["READ_ONLY", "EDITABLE"]
    assert all(e["state"] == "closed" for e in operator.servers().values())


@pytest.mark.parametrize("killed", ["enter", "exit"])
def test_hosts_sharing_servers_after_kill_9_then_exit_twice(operator, servers, killed):
    """app1 and app3 share a UCS server and an ArcGIS site; app2's own server was in maintenance
    before the window. kill -9 of enter or of exit while the shared servers switch, then exit and
    exit again: every server is back in its mode before the window, app2's left in maintenance."""
    ucs, site, ucs2, hosts = servers(ucs_seconds=3, arcgis_seconds=3)
    hosts["app3"] = dict(hosts["app1"])
    operator.hosts(hosts, **ARCGIS_LOGIN)
    if killed == "exit":
        assert operator.run("enter").returncode == 0
    started = operator.start(killed)
    # Killed once both shared servers have taken this run's write.
    until(lambda: ucs.state()["switching_to"] and site.state()["running_jobs"]
          and len(posts(ucs)) == (1 if killed == "enter" else 2), "the shared servers to start switching")
    kill(started)
    for attempt in ("exit", "exit again"):
        exited = operator.run("exit")
        assert exited.returncode == 0, (attempt, exited.output[-2000:])
        assert modes(ucs, site, ucs2) == BEFORE, attempt
        assert all(entry["state"] == "closed" for entry in operator.servers().values()), attempt
    assert not posts(ucs2)
    assert [json.loads(p["body"])["mode"] for p in posts(ucs)] == ["maintenance", "production"]
    assert site_modes_asked(site) == ["READ_ONLY", "EDITABLE"]


def test_a_failed_enter_on_a_shared_server_does_not_undo_the_other_hosts_switch(operator, ucs_server, arcgis_server):
    """app2's own UCS cannot be read: app2 switches nothing, and the site app1 switched stays so."""
    site = arcgis_server(read_only_seconds=0.5, editable_seconds=0.5)
    ucs1 = ucs_server(switch_seconds=0.2)
    ucs2 = ucs_server(switch_seconds=0.2, faults=["500:100:GET"])
    operator.hosts({"app1": {"window_ucs_url": ucs1.url, "window_arcgis_url": site.url},
                    "app2": {"window_ucs_url": ucs2.url, "window_arcgis_url": site.url}},
                   window_ucs_retries=0, **ARCGIS_LOGIN)
    entered = operator.run("enter")
    assert entered.returncode != 0
    assert "Entering maintenance failed on app2 before any switch" in entered.output
    assert modes(ucs1, site) == ("maintenance", "READ_ONLY") and site_modes_asked(site) == ["READ_ONLY"]
    assert operator.servers()[server_key("arcgis", site.url)]["holders"] == ["app1"]
    exited = operator.run("exit", {"window_hosts": "app1"})
    assert exited.returncode == 0, exited.output
    assert modes(ucs1, site) == ("production", "EDITABLE")


# -- a record ended outside its window ---------------------------------------------------------------
def test_an_open_record_ended_by_hand_is_closed_and_the_live_mode_recorded(operator, ucs_server):
    ucs = ucs_server(switch_seconds=0.2, initial_mode="maintenance")
    operator.hosts({"app1": {"window_ucs_url": ucs.url}})
    assert operator.run("enter").returncode == 0
    old = operator.records()["app1"]["ucs"]
    assert old["mode_before"] == "maintenance" and not posts(ucs)
    # No exit; someone puts it back to production by hand.
    ucs.mode = "production"
    entered = operator.run("enter")
    assert entered.returncode == 0, entered.output
    assert "had ended outside it" in entered.output
    entry = operator.records()["app1"]["ucs"]
    assert (entry["mode_before"] == "production" and entry["window"] != old["window"]
            and old["window"] in entry["history"])
    assert ucs.state()["mode"] == "maintenance"
    exited = operator.run("exit")
    assert exited.returncode == 0, exited.output
    assert ucs.state()["mode"] == "production"


def test_exit_of_a_record_ended_by_hand_closes_it_with_a_note(operator, ucs_server):
    ucs = ucs_server(switch_seconds=0.2)
    operator.hosts({"app1": {"window_ucs_url": ucs.url}})
    assert operator.run("enter").returncode == 0
    ucs.mode = "production"
    exited = operator.run("exit")
    assert exited.returncode == 0, exited.output
    entry = operator.records()["app1"]["ucs"]
    assert (entry["state"] == "closed"
            and entry["note"] == "found in production at exit by app1, so nothing was put back")
    assert len(posts(ucs)) == 1


def test_a_second_enter_with_another_maintenance_mode_fails_before_any_switch(operator, servers):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    assert operator.run("enter", {"window_hosts": "app1"}).returncode == 0
    writes = len(posts(ucs)) + len(posts(site))
    second = operator.run("enter", {"window_hosts": "app1", "window_arcgis_maintenance_mode": "editable"})
    assert second.returncode != 0
    assert ("has an open window that put it in read_only" in second.output
            and "this enter asks for editable" in second.output)
    assert len(posts(ucs)) + len(posts(site)) == writes
    assert modes(ucs, site) == ("maintenance", "READ_ONLY")
    assert operator.run("exit", {"window_hosts": "app1"}).returncode == 0
    assert modes(ucs, site) == ("production", "EDITABLE")


# -- copies of the record: ordered by their history, not the clock -------------------------------------
def test_a_copy_with_a_later_clock_but_an_earlier_write_does_not_win(operator, servers):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    assert operator.run("enter", {"window_hosts": "app1"}).returncode == 0
    artifact = operator.records()
    assert operator.run("exit", {"window_hosts": "app1"}).returncode == 0
    closed = operator.servers()
    # An old AWX artifact of that window, its time edited (or an execution node's clock skewed).
    for entry in artifact["app1"].values():
        entry["opened"] = "2099-01-01T00:00:00.000Z"
    exited = operator.run("exit", {"window_hosts": "app1", "window_records": artifact})
    assert exited.returncode == 0, exited.output
    assert "already closed at" in exited.output
    assert operator.servers() == closed, "an older copy overwrote the state file"
    assert modes(ucs, site) == ("production", "EDITABLE") and len(posts(ucs)) == 2


def test_copies_that_nothing_orders_stop_exit_before_any_switch(operator, servers):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    assert operator.run("enter", {"window_hosts": "app1"}).returncode == 0
    # A record of another window, closed, with a later time: which is right cannot be told.
    stranger = {service: dict(entry, window="f" * 32, sequence=9, history=[], state="closed", holders=[],
                              opened="2099-01-01T00:00:00.000Z", closed="2099-01-01T01:00:00.000Z")
                for service, entry in operator.records()["app1"].items()}
    writes = len(posts(ucs)) + len(posts(site))
    exited = operator.run("exit", {"window_hosts": "app1", "window_records": {"app1": stranger}})
    assert exited.returncode != 0
    assert "disagree" in exited.output and "window_record_sources" in exited.output and "f" * 32 in exited.output
    assert len(posts(ucs)) + len(posts(site)) == writes
    assert modes(ucs, site) == ("maintenance", "READ_ONLY")
    chosen = operator.run("exit", {"window_hosts": "app1", "window_records": {"app1": stranger},
                                   "window_record_sources": ["state_file"]})
    assert chosen.returncode == 0, chosen.output
    assert modes(ucs, site) == ("production", "EDITABLE")


# -- the state file and its lock -------------------------------------------------------------------
def test_a_held_lock_is_waited_for_within_a_bound_and_named(operator, servers):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, window_lock_timeout=7, **ARCGIS_LOGIN)
    with open(str(operator.state_file) + ".lock", "w", encoding="utf-8") as lock:
        lock.write("pid 4242 on ops-host, user alice, since yesterday\n")
        lock.flush()
        fcntl.flock(lock, fcntl.LOCK_EX)
        entered = operator.run("enter")
    assert entered.returncode != 0
    assert "was not free within 7 s" in entered.output and "pid 4242 on ops-host, user alice" in entered.output
    assert "waiting 5 s so far (at most 7 s) for the lock" in entered.output
    assert not posts(ucs) and not posts(site) and not posts(ucs2)


@pytest.mark.parametrize("planted", ["symlink", "other_user", "dangling_lock"])
def test_a_state_file_not_to_be_trusted_is_refused_before_any_switch(operator, servers, tmp_path, planted):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    # A planted record: app1's UCS "was in maintenance before", so exit would leave it there.
    planted_record = {"version": 1, "records": {"app1": {"ucs": {
        "state": "open", "mode_before": "maintenance", "maintenance_mode": "maintenance",
        "opened": "2026-01-01T00:00:00.000Z", "by": "mallory", "closed": None, "note": ""}}}}
    elsewhere = tmp_path / "elsewhere.json"
    if planted == "symlink":
        elsewhere.write_text(json.dumps(planted_record))
        operator.state_file.symlink_to(elsewhere)
        refused = "is a symbolic link"
    elif planted == "other_user":
        if os.geteuid() != 0:
            pytest.skip("needs root to give the file to another user")
        operator.state_file.write_text(json.dumps(planted_record))
        os.chown(str(operator.state_file), 65534, 65534)
        refused = "belongs to user id 65534"
    else:
        os.symlink(str(elsewhere), str(operator.state_file) + ".lock")
        refused = "is a symbolic link"
    for phase in ("enter", "exit"):
        run = operator.run(phase, {"window_hosts": "app1"})
        assert run.returncode != 0 and refused in run.output, run.output
    assert not posts(ucs) and not posts(site)
    if planted == "dangling_lock":
        assert not elsewhere.exists(), "the lock's link target was created"


def test_an_empty_url_fails_the_host(operator, servers):
    ucs, site, ucs2, hosts = servers()
    hosts["app1"]["window_ucs_url"] = "{{ ucs_url_that_is_not_set | default('') }}"
    operator.hosts(hosts, **ARCGIS_LOGIN)
    entered = operator.run("enter")
    assert entered.returncode != 0
    assert "window_ucs_url is set for app1 but empty" in entered.output
    assert not site.requests and not ucs.requests
    assert ucs2.state()["mode"] == "maintenance"


def test_a_long_wait_says_what_it_waits_for_and_is_not_waited_twice(operator, ucs_server):
    ucs = ucs_server(switch_seconds=0.2)
    operator.hosts({"app1": {"window_ucs_url": ucs.url}}, window_ucs_retries=0)
    assert operator.run("enter").returncode == 0
    ucs.requests.clear()
    ucs.add_fault("503:100000")
    exited = operator.run("exit", {"window_ucs_wait_timeout": 8})
    assert exited.returncode != 0
    assert "app1: still waiting for %s to take the request for its mode before the window" % ucs.url in exited.output
    assert "putting back failed for ucs; the record stays open: run exit again" in exited.output
    # One wait of wait_timeout, not a second one after it ran out.
    span = ucs.requests[-1]["time"] - ucs.requests[0]["time"]
    assert span < 8 * 1.5, span
    assert operator.records()["app1"]["ucs"]["state"] == "open"


# -- a 1.0.0 state file -----------------------------------------------------------------------------
def test_a_state_file_written_by_1_0_0_is_carried_over_with_its_open_entries(operator, ucs_server, arcgis_server):
    ucs = ucs_server(switch_seconds=0.2, initial_mode="maintenance")
    site = arcgis_server(initial_mode="READ_ONLY", read_only_seconds=0.3, editable_seconds=0.3)
    ucs2 = ucs_server(switch_seconds=0.2, initial_mode="maintenance")
    operator.hosts({"app1": {"window_ucs_url": ucs.url, "window_arcgis_url": site.url},
                    "app2": {"window_ucs_url": ucs2.url}}, **ARCGIS_LOGIN)

    def entry(mode_before, maintenance_mode):
        return {"state": "open", "mode_before": mode_before, "maintenance_mode": maintenance_mode, "by": "ops",
                "opened": "2026-11-28T22:00:00.000Z", "closed": None, "note": "", "requested": None, "handle": None}
    operator.state_file.write_text(json.dumps({"version": 1, "records": {
        "app1": {"ucs": entry("production", "maintenance"), "arcgis": entry("editable", "read_only")},
        "app2": {"ucs": entry("maintenance", "maintenance")}}}))
    status = operator.run("status")
    assert status.returncode == 0, status.output
    assert status.output.count("window open since 2026-11-28T22:00:00.000Z by ops") == 3
    assert "DISAGREES" not in status.output
    exited = operator.run("exit")
    assert exited.returncode == 0, exited.output
    assert modes(ucs, site, ucs2) == BEFORE
    assert not posts(ucs2)
    records = StateFile(str(operator.state_file)).read()
    assert records.legacy == {}
    assert all(e["state"] == "closed" for e in records.servers.values()) and len(records.servers) == 3
    assert operator.state_file.read_bytes().startswith(b"SQLite format 3")
    assert json.loads(operator.state_file.with_name(operator.state_file.name + ".migrated").read_text())["version"] == 1


# -- a delegate host reached over a connection that is not local -------------------------------------------
@pytest.fixture
def through_jump_host(operator):
    """The switches run on `jump`, reached over a connection that is not local."""
    operator.env["ANSIBLE_CONNECTION_PLUGINS"] = CONNECTION_PLUGINS

    def hosts(hosts, **common):
        operator.hosts(dict(hosts, jump={"ansible_connection": "opsmodes_remote"}), window_delegate_to="jump", **common)
    return hosts


def test_through_a_delegate_host_the_record_is_written_ahead_and_services_switch_together(
        operator, servers, through_jump_host):
    ucs, site, ucs2, hosts = servers(ucs_seconds=3, arcgis_seconds=3)
    through_jump_host(hosts, **ARCGIS_LOGIN)
    entered = operator.run("enter", {"window_hosts": "app1:app2"})
    assert entered.returncode == 0, entered.output
    assert modes(ucs, site, ucs2) == ("maintenance", "READ_ONLY", "maintenance")
    # Both switches were under way at once: the site's update came before the UCS switch ended.
    ucs_asked = posts(ucs)[0]["time"]
    assert posts(site)[0]["time"] - ucs_asked < 3
    exited = operator.run("exit", {"window_hosts": "app1:app2"})
    assert exited.returncode == 0, exited.output
    assert modes(ucs, site, ucs2) == BEFORE and not posts(ucs2)


def test_through_a_delegate_host_enter_killed_after_the_update_went_out(operator, servers, through_jump_host):
    ucs, site, ucs2, hosts = servers(ucs_seconds=0.3, arcgis_seconds=5)
    through_jump_host(hosts, window_arcgis_wait_timeout=60, **ARCGIS_LOGIN)
    enter = operator.start("enter", {"window_hosts": "app1"})
    until(lambda: site.state()["running_jobs"], "the site to take the update")
    kill(enter)
    entry = operator.records()["app1"]["arcgis"]
    assert entry["state"] == "open" and entry["requested"], entry
    exited = operator.run("exit", {"window_hosts": "app1"})
    assert exited.returncode == 0, exited.output
    assert modes(ucs, site) == ("production", "EDITABLE")
    assert site_modes_asked(site) == ["READ_ONLY", "EDITABLE"]


def test_through_a_delegate_host_exit_killed_during_its_put_backs_then_exit_again(operator, servers, through_jump_host):
    ucs, site, ucs2, hosts = servers(ucs_seconds=0.3, arcgis_seconds=4)
    through_jump_host(hosts, **ARCGIS_LOGIN)
    assert operator.run("enter", {"window_hosts": "app1:app2"}).returncode == 0
    exit_run = operator.start("exit", {"window_hosts": "app1:app2"})
    until(lambda: site_modes_asked(site) == ["READ_ONLY", "EDITABLE"] and site.state()["running_jobs"],
          "the put-back to start")
    kill(exit_run, signal.SIGKILL)
    assert operator.records()["app1"]["arcgis"]["state"] == "open"
    again = operator.run("exit", {"window_hosts": "app1:app2"})
    assert again.returncode == 0, again.output
    assert modes(ucs, site, ucs2) == BEFORE and not posts(ucs2)
    assert all(e["state"] == "closed" for e in operator.servers().values())


# -- a window nobody closed ----------------------------------------------------------------------------
def test_status_fails_on_windows_past_their_deadline_and_on_records_outside_the_inventory(operator, ucs_server):
    ucs = ucs_server(switch_seconds=0.2)
    operator.hosts({"app1": {"window_ucs_url": ucs.url}})
    # A typo, a number past what a clock can write, a deadline in the year 275817: each named, before any request.
    for typo in ("eight hours", "1e400", "99999999d"):
        bad = operator.run("enter", {"window_max_open": typo})
        assert bad.returncode != 0 and not ucs.requests, bad.output
        assert "window_max_open must be a duration of at most 366 days" in bad.output, bad.output
    assert operator.run("enter", {"window_max_open": "8h"}).returncode == 0
    entry = operator.records()["app1"]["ucs"]
    assert entry["deadline"] > entry["opened"]
    assert operator.run("status").returncode == 0
    # A window opened last Friday that nobody closed, and a record of a host since taken out of the
    # inventory: written in the past, not waited for.
    with StateFile(str(operator.state_file)).transaction() as records:
        records.servers[entry["server"]].update(opened="2026-11-27T22:00:00.000Z",
                                                deadline="2026-11-28T06:00:00.000Z")
        records.servers["ucs http://127.0.0.1:9"] = dict(entry, server="ucs http://127.0.0.1:9",
                                                         url="http://127.0.0.1:9", holders=["app9"],
                                                         by="bob (AWX job 77)")
    status = operator.run("status")
    assert status.returncode != 0
    assert ("ucs of app1 has been open since 2026-11-27T22:00:00.000Z by %s, past its deadline 2026-11-28T06:00:00.000Z"
            % entry["by"]) in status.output
    assert ("ucs http://127.0.0.1:9" in status.output
            and "by bob (AWX job 77), held by app9, none of them in the inventory" in status.output)
    assert [r["method"] for r in ucs.requests if r["method"] == "POST"] == ["POST"]


# -- a host renamed, a record lost -----------------------------------------------------------------------
def test_an_exit_after_an_inventory_sync_renamed_the_host_fails_until_told_to_take_over(operator, servers):
    """Short name at enter, FQDN at exit, same URLs: the window is held by a host that is no longer
    in the inventory, so no exit would put it back. Exit says so and fails; told to take it over,
    it puts the servers back."""
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    assert operator.run("enter").returncode == 0
    renamed = {"app1.example.com": hosts["app1"], "app2": hosts["app2"]}
    operator.hosts(renamed, **ARCGIS_LOGIN)
    writes = len(posts(ucs)) + len(posts(site))

    exited = operator.run("exit")
    assert exited.returncode != 0, exited.output
    assert "the window of ucs %s is held open by app1, none of them in the inventory any more, and app1.example.com " \
           "never held it" % ucs.url in exited.output
    assert "run the same exit with --limit app1.example.com -e window_take_over=app1" in exited.output
    assert len(posts(ucs)) + len(posts(site)) == writes and modes(ucs, site) == ("maintenance", "READ_ONLY")
    # Status fails too: the windows are held by a host that nobody in the inventory would exit for.
    assert operator.run("status").returncode != 0

    # window_take_over cannot name a host of the inventory: its own exit leaves its windows.
    refused = operator.run("exit", args=["--limit", "app1.example.com", "-e", "window_take_over=app2"])
    assert refused.returncode != 0 and "window_take_over names app2, which is in the inventory" in refused.output

    taken = operator.run("exit", args=["--limit", "app1.example.com", "-e", "window_take_over=app1"])
    assert taken.returncode == 0, taken.output
    assert "closing the window that app1 held, taken over with window_take_over" in taken.output
    assert modes(ucs, site, ucs2) == BEFORE
    records = operator.records()["app1.example.com"]
    assert {e["note"] for e in records.values()} == {"put back by app1.example.com, which took over the window of app1"}
    assert {tuple(e["taken_over"]) for e in records.values()} == {("app1",)}
    assert operator.run("exit").returncode == 0


def test_exit_without_a_record_says_where_each_server_stands_and_status_fails(operator, ucs_server, arcgis_server):
    """A server in maintenance that no record explains (its record was lost with the node that
    wrote it): exit says where it stands and what to run, and status fails on it."""
    ucs = ucs_server(initial_mode="maintenance")
    site = arcgis_server(initial_mode="READ_ONLY")
    operator.hosts({"app1": {"window_ucs_url": ucs.url, "window_arcgis_url": site.url}}, **ARCGIS_LOGIN)
    exited = operator.run("exit")
    assert exited.returncode != 0
    assert "so nothing was changed on them: ucs is in maintenance now; arcgis is in read_only now" in exited.output
    assert "Check them with opsmodes.maintenance.status" in exited.output
    assert "ucs: in mode maintenance now, and no record of its mode before the window; left as it is" in exited.output
    status = operator.run("status")
    assert status.returncode != 0
    assert "ucs of app1 is in maintenance, and no open record in %s says why" % operator.state_file in status.output
    assert not posts(ucs) and not posts(site)
