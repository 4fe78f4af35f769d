# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The action plugin window_phase (the engine of the role opsmodes.maintenance.window), phase by
phase: enter, exit, confirm and status run for real, in this process, against the emulators over
loopback HTTP and with a real state file. The ActionModule is built as ansible-core's own unit tests
build action plugins: a real Task under a Block of a Play, a PlayContext, a DataLoader and a Templar;
only the connection is a stub, a local one, so that the modules' code runs in-process."""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import pytest

from ansible.parsing.dataloader import DataLoader
from ansible.playbook.block import Block
from ansible.playbook.play import Play
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.template import Templar

from ansible_collections.opsmodes.maintenance.plugins.action import window_phase
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _calls as calls, _record as record
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._state_file import StateFile
from ansible_collections.opsmodes.maintenance.tests.emulators.arcgis import ArcgisEmulator
from ansible_collections.opsmodes.maintenance.tests.emulators.ucs import UcsEmulator

ROLE_DEFAULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "roles", "window",
                             "defaults", "main.yml")
# Not "admin": a password that is also a word of the site's URL (/arcgis/admin) is masked in it.
ARCGIS_LOGIN = {"window_arcgis_username": "siteadmin", "window_arcgis_password": "Pa55-word"}
WRITES = ("/server/mode", "/mode/update")
INVENTORY = ("app1", "app2")


# -- the action, as ansible-core's unit tests build one ------------------------------------------------
class _Shell:
    tmpdir = None


class LocalConnection:
    """What the action asks of its connection: the transport (local: the modules' code runs here)
    and the shell's remote temporary directory, which it never needs."""

    transport = "local"

    def __init__(self):
        self._shell = _Shell()


def make_action(args, check_mode=False, module_defaults=None, action_groups=None):
    loader = DataLoader()
    play = Play.load({"name": "unit", "hosts": "localhost", "gather_facts": False}, loader=loader)
    if action_groups is not None:
        play._action_groups = action_groups
    task = Task(block=Block(play=play))
    task.action = "opsmodes.maintenance.window_phase"
    task.args = dict(args)
    task.check_mode = check_mode
    task.module_defaults = module_defaults or []
    return window_phase.ActionModule(task=task, connection=LocalConnection(), play_context=PlayContext(), loader=loader,
                                     templar=Templar(loader=DataLoader()), shared_loader_obj=None)


def role_defaults():
    return DataLoader().load_from_file(ROLE_DEFAULTS)


def run(phase, variables, check_mode=False, requested=None, work_tasks=None, **action):
    """One phase for one host; `requested` is the result of enter or exit, registered (through JSON,
    as a result reaches the next task)."""
    args = {"phase": phase}
    if requested is not None:
        args["requested"] = json.loads(json.dumps(requested))
    if work_tasks is not None:
        args["work_tasks"] = work_tasks
    return make_action(args, check_mode=check_mode, **action).run(task_vars=dict(variables))


def host(state_file, name="app1", ucs=None, arcgis=None, **more):
    """The task variables of one host of an inventory and a play of app1 and app2: the role's
    defaults, then the host's own."""
    variables = dict(role_defaults(), inventory_hostname=name, window_state_file=str(state_file),
                     groups={"all": list(INVENTORY), "ungrouped": list(INVENTORY)},
                     ansible_play_hosts_all=list(INVENTORY))
    if ucs is not None:
        variables["window_ucs_url"] = ucs.url
    if arcgis is not None:
        variables.update(ARCGIS_LOGIN, window_arcgis_url=arcgis.url)
    variables.update(more)
    return variables


def window(phase, variables, **kwargs):
    """A phase followed by its confirm, as the role runs them: (request, confirm)."""
    requested = run(phase, variables, **kwargs)
    assert not requested.get("failed"), requested
    return requested, run("confirm", variables, requested=requested, check_mode=kwargs.get("check_mode", False))


# -- the servers and the state file ----------------------------------------------------------------------
class WitnessUcs(UcsEmulator):
    """A UCS server that, when a write reaches it, notes what the state file says at that moment."""

    def __init__(self, state_file, **kwargs):
        super().__init__(**kwargs)
        self.state_file = state_file
        self.seen_at_writes = []

    def handle(self, request):
        if request.method == "POST" and request.path.endswith("/server/mode"):
            self.seen_at_writes.append(servers_in(self.state_file) if self.state_file.exists() else None)
        return super().handle(request)


@pytest.fixture(autouse=True)
def home(tmp_path_factory, monkeypatch):
    """A home of the test's own: the default state file is under ~/.ansible."""
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture
def state_file(tmp_path):
    return tmp_path / "records.json"


@pytest.fixture(scope="module")
def stopping():
    """The emulators' stops, joined once the module's tests are done: a stop waits up to half a
    second for its server's loop to notice, and need not hold up the next test."""
    threads = []
    yield threads
    for thread in threads:
        thread.join()


@pytest.fixture
def started(stopping):
    emulators = []

    def start(emulator):
        emulators.append(emulator.start())
        return emulator
    yield start
    for emulator in emulators:
        stopping.append(threading.Thread(target=emulator.stop))
        stopping[-1].start()


@pytest.fixture(scope="module")
def idle():
    """A UCS server and an ArcGIS site for the tests in which no request may reach them."""
    with UcsEmulator() as ucs, ArcgisEmulator() as site:
        yield ucs, site


@pytest.fixture
def quiet(idle):
    for emulator in idle:
        emulator.clear_log()
    return idle


@pytest.fixture
def ucs(started):
    return started(UcsEmulator(switch_seconds=0.2))


@pytest.fixture
def site(started):
    return started(ArcgisEmulator(username="siteadmin", password="Pa55-word", read_only_seconds=0.2,
                                  editable_seconds=0.2))


def servers_in(state_file):
    return StateFile(str(state_file)).read().servers


def entry_of(state_file, service, server):
    return servers_in(state_file)[record.server_key(service, server.url)]


def writes(*emulators):
    return [r for emulator in emulators for r in emulator.requests
            if r["method"] == "POST" and r["path"].endswith(WRITES)]


def item(result, service):
    return next(i for i in result["plan"] if i["service"] == service)


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- enter ---------------------------------------------------------------------------------------------
def test_enter_writes_the_record_before_it_asks_and_does_not_wait(started, site, state_file):
    ucs = started(WitnessUcs(state_file, switch_seconds=1.0))
    variables = host(state_file, ucs=ucs, arcgis=site)

    entered = run("enter", variables)

    assert not entered.get("failed"), entered
    # The request step only asks: the change, the diff and the report are confirm's, once per switch.
    assert not entered["changed"] and "diff" not in entered and "report" not in entered
    assert entered["phase"] == "enter" and entered["state_file"] == str(state_file)
    assert {i["service"]: i["action"] for i in entered["plan"]} == {"ucs": "switch", "arcgis": "switch"}
    # Asked, not waited for: both servers are still switching when enter returns.
    assert ucs.state() == {"mode": "production", "switching_to": "maintenance", "switches": 1}
    assert site.state()["mode"] == "EDITABLE" and site.state()["running_jobs"]
    # Written ahead: when the write reached the server, the state file already held the open entry
    # with the mode before the window, and said that a write was going out.
    assert len(ucs.seen_at_writes) == 1 and ucs.seen_at_writes[0] is not None
    seen = ucs.seen_at_writes[0][record.server_key("ucs", ucs.url)]
    assert seen["state"] == "open" and seen["mode_before"] == "production" and seen["holders"] == ["app1"]
    assert seen["requested"] is not None
    post = writes(ucs)[0]
    assert record.epoch_of(seen["opened"]) <= record.epoch_of(seen["requested"]) <= post["time"]
    # The site's write: noted before it went out, and its job as soon as the server answered.
    arcgis_entry = entry_of(state_file, "arcgis", site)
    assert record.epoch_of(arcgis_entry["requested"]) <= writes(site)[0]["time"]
    assert arcgis_entry["handle"] == site.state()["running_jobs"][0]
    assert arcgis_entry["mode_before"] == "editable" and arcgis_entry["maintenance_mode"] == "read_only"

    confirmed = run("confirm", variables, requested=entered)

    assert not confirmed.get("failed"), confirmed
    assert ucs.state()["mode"] == "maintenance" and site.state()["mode"] == "READ_ONLY"
    assert confirmed["report"] == ["the record is kept in %s, which this enter made" % state_file,
                                   "ucs: production -> maintenance; switched, and exit puts back production",
                                   "arcgis: editable -> read_only; switched, and exit puts back editable"]
    assert confirmed["msg"] == "; ".join(confirmed["report"])
    assert [d["before_header"] for d in confirmed["diff"]] == ["ucs", "arcgis"]
    assert confirmed["changed"] and confirmed["state_file"] == str(state_file)
    assert {r["service"]: (r["mode_before"], r["mode_now"], r["action"]) for r in confirmed["rows"]} == {
        "ucs": ("production", "maintenance", "switched"), "arcgis": ("editable", "read_only", "switched")}
    # The switch has ended: the record no longer says a write is under way.
    ucs_entry = entry_of(state_file, "ucs", ucs)
    assert ucs_entry["state"] == "open" and ucs_entry["requested"] is None and ucs_entry["handle"] is None
    assert ucs_entry["sequence"] > seen["sequence"]
    # Published for the next phases and for AWX.
    assert confirmed["ansible_facts"]["window_record"]["ucs"] == ucs_entry
    published = confirmed["ansible_stats"]["data"]["window_records"]["app1"]
    assert published["arcgis"] == entry_of(state_file, "arcgis", site)
    assert writes(ucs, site) == writes(ucs)[:1] + writes(site)[:1]


def test_enter_of_a_server_already_in_maintenance_leaves_it_and_a_second_enter_keeps_the_record(started, state_file):
    ucs = started(UcsEmulator(switch_seconds=0.2, initial_mode="maintenance"))
    variables = host(state_file, ucs=ucs)
    entered, confirmed = window("enter", variables)
    assert item(entered, "ucs")["action"] == "left" and not entered["changed"] and not confirmed["changed"]
    assert confirmed["report"][1:] == ["ucs: maintenance already before the window; leave it so, and exit leaves it so"]
    opened = entry_of(state_file, "ucs", ucs)

    again, _confirmed = window("enter", variables)

    assert item(again, "ucs")["action"] == "kept"
    assert entry_of(state_file, "ucs", ucs)["window"] == opened["window"]
    _exited, closed = window("exit", variables)
    assert closed["report"] == ["ucs: maintenance before the window; left it so and closed the record"]
    assert not writes(ucs) and ucs.state()["mode"] == "maintenance"
    assert entry_of(state_file, "ucs", ucs)["state"] == "closed"


def test_an_open_record_ended_by_hand_is_closed_at_enter_and_a_new_window_opened(ucs, state_file):
    variables = host(state_file, ucs=ucs)
    window("enter", variables)
    earlier = entry_of(state_file, "ucs", ucs)
    # Put back by hand, with the record still open.
    ucs.begin_switch("production", seconds=0)

    entered, confirmed = window("enter", variables)

    assert item(entered, "ucs")["action"] == "switch" and item(entered, "ucs")["ended"]["state"] == "closed"
    assert confirmed["report"] == [
        "ucs: the open record of an earlier window (opened at %s by %s) had ended outside it, since the server is in "
        "production: closed it; production -> maintenance; switched, and exit puts back production"
        % (earlier["opened"], earlier["by"])]
    now = entry_of(state_file, "ucs", ucs)
    assert now["window"] != earlier["window"] and now["history"] == [earlier["window"]]
    assert now["state"] == "open" and now["mode_before"] == "production" and ucs.state()["mode"] == "maintenance"


def test_a_mode_read_before_another_hosts_switch_was_confirmed_joins_its_window(ucs, state_file):
    """app2 reads the mode of a server whose switch app1 has asked for; before app2 writes its
    record, the switch ends and app1's confirm notes it. The read is older than that note: app2
    joins app1's window, rather than calling it ended outside the window and opening its own."""
    window("enter", host(state_file, ucs=ucs))
    # app1's enter as it was while its switch went out: the server not yet switched, the write on the record.
    ucs.begin_switch("production", seconds=0)
    opened = entry_of(state_file, "ucs", ucs)
    with StateFile(str(state_file)).transaction() as records:
        records.servers[opened["server"]] = record.advanced(opened, requested=record.utc_now())
    ucs.clear_log()
    ucs.add_fault("slow=1.5:1:GET:/server/status$")
    outcome = {}
    entering = threading.Thread(target=lambda: outcome.update(run("enter", host(state_file, name="app2", ucs=ucs))))
    entering.start()
    deadline = time.monotonic() + 10
    while not ucs.requests_to("/server/status"):
        assert time.monotonic() < deadline, "app2 did not read the mode"
        time.sleep(0.01)
    # While app2's read is on its way back: app1's switch ends, and its confirm notes it.
    ucs.begin_switch("maintenance", seconds=0)
    with StateFile(str(state_file)).transaction() as records:
        records.servers[opened["server"]] = record.advanced(records.servers[opened["server"]], requested=None)
    entering.join(30)

    assert not outcome.get("failed"), outcome
    assert item(outcome, "ucs")["action"] == "joined" and not item(outcome, "ucs").get("ended")
    now = entry_of(state_file, "ucs", ucs)
    assert now["window"] == opened["window"] and now["state"] == "open" and now["holders"] == ["app1", "app2"]
    assert not writes(ucs)


def test_enter_that_cannot_read_a_service_switches_nothing_on_the_host(ucs, state_file):
    variables = host(state_file, ucs=ucs, window_arcgis_url="http://127.0.0.1:%d/arcgis/admin" % closed_port(),
                     window_arcgis_retries=0, **ARCGIS_LOGIN)

    entered = run("enter", variables)

    assert entered["failed"]
    assert entered["msg"].startswith("Entering maintenance failed on app1 before any switch: arcgis: ")
    assert "Nothing was switched on this host; ucs is in mode production, arcgis is in mode unknown." in entered["msg"]
    assert not writes(ucs) and ucs.state()["mode"] == "production"
    # Closed entries, so that an exit after this enter finds a record rather than none.
    assert {e["service"]: (e["state"], e["note"]) for e in servers_in(state_file).values()} == {
        "ucs": ("closed", "enter failed before any switch"), "arcgis": ("closed", "enter failed before any switch")}


def test_an_open_entry_with_another_maintenance_mode_fails_before_any_switch(ucs, site, state_file):
    variables = host(state_file, ucs=ucs, arcgis=site)
    window("enter", variables)
    before = state_file.read_bytes()
    ucs.clear_log()
    site.clear_log()

    second = run("enter", dict(variables, window_arcgis_maintenance_mode="editable"))

    assert second["failed"]
    assert "arcgis of app1: the server %s has an open window that put it in read_only" % (
        record.normalize_url(site.url)) in second["msg"]
    assert "this enter asks for editable. Nothing was switched on this host" in second["msg"]
    # Read, never written to; the record untouched.
    assert not writes(ucs, site) and ucs.requests and site.requests
    assert state_file.read_bytes() == before
    assert (ucs.state()["mode"], site.state()["mode"]) == ("maintenance", "READ_ONLY")


def test_a_work_file_that_ends_the_play_fails_enter_before_any_request(ucs, state_file, tmp_path):
    work = tmp_path / "work.yml"
    work.write_text("- name: Stop here\n  ansible.builtin.meta: end_play\n")

    entered = run("enter", host(state_file, ucs=ucs), work_tasks=str(work))

    assert entered["failed"]
    assert "The work's tasks file %s cannot run: nothing was switched." % work in entered["msg"]
    assert "ends the play (meta: end_play)" in entered["msg"]
    assert not ucs.requests and not state_file.exists()


# -- exit ----------------------------------------------------------------------------------------------
def test_exit_puts_back_as_the_last_holder_confirm_closes_and_a_second_exit_says_closed_already(ucs, site, state_file):
    variables = host(state_file, ucs=ucs, arcgis=site)
    window("enter", variables)
    opened = entry_of(state_file, "ucs", ucs)

    exited = run("exit", variables)

    assert not exited.get("failed"), exited
    assert not exited["changed"] and exited["phase"] == "exit"
    assert {i["service"]: (i["action"], i["target_mode"]) for i in exited["plan"]} == {
        "ucs": ("put back", "production"), "arcgis": ("put back", "editable")}
    # Asked, not waited for; the record stays open until confirm has seen the mode back.
    assert ucs.state()["switching_to"] == "production"
    assert entry_of(state_file, "ucs", ucs)["state"] == "open"
    assert entry_of(state_file, "ucs", ucs)["requested"] is not None

    confirmed = run("confirm", variables, requested=exited)

    assert not confirmed.get("failed"), confirmed
    assert (ucs.state()["mode"], site.state()["mode"]) == ("production", "EDITABLE")
    closed = entry_of(state_file, "ucs", ucs)
    assert closed["state"] == "closed" and closed["holders"] == [] and closed["note"] == "put back by app1"
    assert closed["window"] == opened["window"] and closed["mode_before"] == "production"
    assert confirmed["report"][0] == "ucs: maintenance -> production; put back (the mode before the window, recorded " \
                                     "at %s by %s)" % (opened["opened"], opened["by"])
    assert [r["action"] for r in confirmed["rows"]] == ["put back", "put back"]
    assert confirmed["diff"] == [
        {"before_header": "ucs", "after_header": "ucs", "before": "mode: maintenance\n", "after": "mode: production\n"},
        {"before_header": "arcgis", "after_header": "arcgis", "before": "mode: read_only\n",
         "after": "mode: editable\n"}]
    assert not confirmed.get("warnings")
    count = len(writes(ucs, site))

    again, said = window("exit", variables)

    assert {i["action"] for i in again["plan"]} == {"closed already"} and not again["changed"]
    assert not said.get("failed") and not said["changed"]
    assert said["report"][0] == "ucs: already closed at %s (put back by app1); nothing to do" % closed["closed"]
    assert len(writes(ucs, site)) == count


def test_exit_of_fewer_services_warns_of_the_open_record_it_leaves(ucs, site, state_file):
    variables = host(state_file, ucs=ucs, arcgis=site)
    window("enter", variables)

    exited, confirmed = window("exit", dict(variables, window_services="ucs"))

    assert [i["service"] for i in exited["plan"]] == ["ucs"] and not confirmed.get("failed")
    assert len(confirmed["warnings"]) == 1
    assert confirmed["warnings"][0].startswith("arcgis of app1 has an open record (since ")
    assert confirmed["warnings"][0].endswith("the host's services here are ucs: it stays open and arcgis stays in "
                                             "maintenance")
    assert (ucs.state()["mode"], site.state()["mode"]) == ("production", "READ_ONLY")
    assert entry_of(state_file, "arcgis", site)["state"] == "open"


def test_a_shared_server_is_handed_on_and_put_back_by_its_last_holder(ucs, state_file):
    app1, app2 = host(state_file, "app1", ucs=ucs), host(state_file, "app2", ucs=ucs)
    entered1 = run("enter", app1)
    # app2 reads the server while app1's switch is under way: it joins the window app1 opened.
    entered2 = run("enter", app2)
    assert item(entered1, "ucs")["action"] == "switch" and item(entered2, "ucs")["action"] == "joined"
    confirmed2 = run("confirm", app2, requested=entered2)
    run("confirm", app1, requested=entered1)
    assert "ucs: the server %s is shared with app1, whose window opened at" % record.normalize_url(ucs.url) \
        in confirmed2["report"][0]
    shared = entry_of(state_file, "ucs", ucs)
    assert shared["holders"] == ["app1", "app2"] and len(writes(ucs)) == 1

    handed, said = window("exit", app1)

    assert item(handed, "ucs")["action"] == "handed on"
    assert said["report"] == ["ucs: still held open by app2, so left it in maintenance for them: the last of them to "
                              "exit puts back production"]
    assert [r["action"] for r in said["rows"]] == ["left it in maintenance for them"]
    assert ucs.state()["mode"] == "maintenance" and len(writes(ucs)) == 1
    assert entry_of(state_file, "ucs", ucs)["holders"] == ["app2"]
    assert entry_of(state_file, "ucs", ucs)["state"] == "open"
    # app1 has left; app2 still holds the server.
    _twice, nothing = window("exit", app1)
    assert nothing["report"] == ["ucs: app1 has already left the window of %s, held open by app2; nothing to do"
                                 % record.normalize_url(ucs.url)]
    assert len(writes(ucs)) == 1

    put_back, closed = window("exit", app2)

    assert item(put_back, "ucs")["action"] == "put back" and not closed.get("failed")
    assert ucs.state()["mode"] == "production" and len(writes(ucs)) == 2
    final = entry_of(state_file, "ucs", ucs)
    assert final["state"] == "closed" and final["note"] == "put back by app2" and final["window"] == shared["window"]
    # app1 has left that window already.
    _late, late = window("exit", app1)
    assert late["report"][0].startswith("ucs: already closed at")


def test_exit_without_a_record_fails_and_names_where_it_looked(started, state_file):
    ucs = started(UcsEmulator(switch_seconds=0.2, initial_mode="maintenance"))
    variables = host(state_file, ucs=ucs)

    exited, confirmed = window("exit", variables)

    assert item(exited, "ucs")["action"] == "no record"
    assert confirmed["failed"]
    message = confirmed["msg"]
    assert message.startswith("Exiting maintenance on app1: no record of the mode before the window for ucs (looked "
                              "in %s, window_records and the fact window_record), so nothing was changed on them: ucs "
                              "is in maintenance now." % state_file)
    assert "run exit with the record that enter used (its window_state_file or window_state_url), or with -e " \
           "window_no_record=normal to set the normal modes (ucs production)" in message
    assert message.endswith("ucs: in mode maintenance now, and no record of its mode before the window; left as it is")
    # The three ways a record travels between AWX jobs, each by the variable that carries it.
    assert "set_stats window_records" in message and "the fact window_record" in message
    assert "a window_state_file on a persistent volume" in message
    assert not writes(ucs) and ucs.state()["mode"] == "maintenance"


def test_exit_without_a_record_sets_the_normal_mode_when_asked(started, state_file):
    ucs = started(UcsEmulator(switch_seconds=0.2, initial_mode="maintenance"))

    exited, confirmed = window("exit", host(state_file, ucs=ucs, window_no_record="normal"))

    assert (item(exited, "ucs")["action"], item(exited, "ucs")["target_mode"]) == ("put back", "production")
    assert not confirmed.get("failed"), confirmed
    assert confirmed["report"] == ["ucs: maintenance -> production; put back (no record of the mode before the window; "
                                   "the normal mode, as window_no_record=normal asks)"]
    assert ucs.state()["mode"] == "production" and len(writes(ucs)) == 1


def test_exit_finds_the_record_in_the_fact_unless_the_sources_leave_it_out(ucs, state_file, tmp_path):
    entered, confirmed = window("enter", host(state_file, ucs=ucs))
    fact = {"ansible_facts": confirmed["ansible_facts"]}
    elsewhere = tmp_path / "other.json"

    without = run("exit", host(elsewhere, ucs=ucs, window_record_sources="state_file", **fact))
    assert item(without, "ucs")["action"] == "no record" and not writes(ucs)[1:]

    exited, closed = window("exit", host(elsewhere, ucs=ucs, **fact))
    assert item(exited, "ucs")["action"] == "put back" and not closed.get("failed")
    assert ucs.state()["mode"] == "production"
    # Exit makes no state file: the fact's copy is the record it acts on, and it publishes it closed.
    assert not elsewhere.exists() and not os.path.exists(str(elsewhere) + ".lock")
    published = closed["ansible_facts"]["window_record"]["ucs"]
    assert published["window"] == item(entered, "ucs")["window"] and published["state"] == "closed"
    assert published["sequence"] > item(entered, "ucs")["entry"]["sequence"]


# -- settings: fail before any request -------------------------------------------------------------------
@pytest.mark.parametrize("name, value, message", [
    ("window_record_sources", "state_file, awx",
     "window_record_sources may name state_file, window_records, fact, not awx"),
    ("window_record_sources", ["fact", "files", "x"],
     "window_record_sources may name state_file, window_records, fact, not files, x"),
    ("window_no_record", "guess", "window_no_record must be fail or normal, got 'guess'"),
    ("window_lock_timeout", "soon", "window_lock_timeout must be a number of seconds, got 'soon'"),
    ("window_lock_timeout", "nan", "window_lock_timeout must be a number of seconds, got 'nan'"),
    ("window_lock_timeout", "-1", "window_lock_timeout must be a number of seconds, got '-1'"),
    ("window_lock_timeout", float("inf"), "window_lock_timeout must be a number of seconds, got inf"),
    ("window_services", "ucs,vmware", "window_services may name ucs and arcgis, not vmware"),
    ("window_ucs_url", "", "window_ucs_url is set for app1 but empty (a variable that templated to nothing?): nothing "
                           "was switched. Give the URL, or leave the variable undefined."),
    ("window_ucs_timeout", "long", "ucs: argument 'timeout' is of type"),
    ("window_take_over", 5, "window_take_over must be a list of names or one comma-separated string of them, got 5"),
    ("window_services", ["ucs", {"name": "arcgis"}], "window_services must be a list of names or one "
                                                     "comma-separated string of them, got ['ucs', {'name': 'arcgis'}]"),
])
def test_bad_settings_fail_before_any_request(quiet, state_file, name, value, message):
    ucs, site = quiet
    variables = host(state_file, ucs=ucs, arcgis=site, **{name: value})

    result = run("enter", variables)

    assert result["failed"] and message in result["msg"], result["msg"]
    assert not ucs.requests and not site.requests and not state_file.exists()


def test_an_unknown_phase_and_a_confirm_without_a_request_fail(quiet, state_file):
    ucs, _site = quiet
    assert run("begin", host(state_file, ucs=ucs))["msg"] == \
        "phase must be one of enter, exit, confirm, status, got 'begin'"
    assert run("confirm", host(state_file, ucs=ucs), requested={"phase": "status"})["msg"] == \
        "confirm needs the registered result of enter or exit as requested"
    assert not ucs.requests


def test_window_record_sources_are_taken_as_a_list_or_a_comma_separated_string(quiet, state_file):
    ucs, _site = quiet
    for sources in ("state_file, fact", ["state_file", "fact"]):
        result = run("status", host(state_file, ucs=ucs, window_record_sources=sources))
        assert not result.get("failed"), result
    assert len(ucs.requests) == 2


def test_a_bad_window_set_stats_fails_before_any_request(ucs, state_file):
    """window_set_stats is checked with every other role variable, before any request, not only
    when the result is published in confirm, after the switches."""
    variables = host(state_file, ucs=ucs, window_set_stats="maybe")

    entered = run("enter", variables)

    assert entered.get("failed") and "window_set_stats must be a boolean" in entered.get("msg", ""), entered
    assert not writes(ucs)


def test_module_defaults_reach_the_services_and_the_role_variables_override_them(ucs, state_file):
    dead = "http://127.0.0.1:%d" % closed_port()
    groups = {"opsmodes.maintenance.ucs_server_mode": ["opsmodes.maintenance.ucs"]}
    variables = host(state_file, window_services="ucs")

    by_module = run("status", variables, module_defaults=[{"opsmodes.maintenance.ucs_server_mode": {"url": ucs.url}}])
    by_group = run("status", variables, action_groups=groups,
                   module_defaults=[{"group/opsmodes.maintenance.ucs": {"url": ucs.url}}])
    overridden = run("status", dict(variables, window_ucs_url=ucs.url),
                     module_defaults=[{"opsmodes.maintenance.ucs_server_mode": {"url": dead, "retries": 0}}])

    for result in (by_module, by_group, overridden):
        assert not result.get("failed"), result
        assert result["report"] == ["ucs: production, not in maintenance; no window on record"]
    assert len(ucs.requests) == 3


# -- check mode ------------------------------------------------------------------------------------------
def test_check_mode_writes_nothing(ucs, site, state_file):
    variables = host(state_file, ucs=ucs, arcgis=site)

    dry, confirmed = window("enter", variables, check_mode=True)

    # One change and one diff per switch, as in a real run: confirm's, none on the request.
    assert not dry["changed"] and "diff" not in dry and confirmed["changed"]
    assert "ucs: production -> maintenance; would switch, and exit puts back production" in confirmed["report"]
    assert {r["action"] for r in confirmed["rows"]} == {"would switch"}
    assert {"before_header": "ucs", "after_header": "ucs", "before": "mode: production\n",
            "after": "mode: maintenance\n"} in confirmed["diff"] and len(confirmed["diff"]) == 2
    assert not writes(ucs, site) and not state_file.exists()
    assert not os.path.exists(str(state_file) + ".lock")

    window("enter", variables)
    before = state_file.read_bytes()
    dry_exit, said = window("exit", variables, check_mode=True)

    # The dry run read the live modes: a put-back from maintenance, as a real exit would do it.
    assert said["report"][0].startswith("ucs: maintenance -> production; would put back (the mode before the window, "
                                        "recorded at")
    assert {r["action"] for r in said["rows"]} == {"would put back"}
    assert {(r["mode_now"], r["mode_before"]) for r in said["rows"]} == {
        ("maintenance", "production"), ("read_only", "editable")}
    assert {"before_header": "ucs", "after_header": "ucs", "before": "mode: maintenance\n",
            "after": "mode: production\n"} in said["diff"]
    # What a dry run would record reaches the dry run's own exit as a fact marked so, and no later
    # AWX node: no set_stats.
    assert said["ansible_facts"]["window_record"]["ucs"]["state"] == "closed"
    assert said["ansible_facts"]["window_record"]["ucs"]["dry_run"] is True
    assert "ansible_stats" not in said
    assert not dry_exit["changed"] and said["changed"] and len(writes(ucs, site)) == 2
    assert state_file.read_bytes() == before
    assert (ucs.state()["mode"], site.state()["mode"]) == ("maintenance", "READ_ONLY")
    assert entry_of(state_file, "ucs", ucs)["state"] == "open"


# -- status ---------------------------------------------------------------------------------------------
def test_status_reports_a_disagreement_and_writes_nothing(ucs, site, state_file):
    variables = host(state_file, ucs=ucs, arcgis=site)
    window("enter", variables)
    before = state_file.read_bytes()
    ucs.clear_log()
    # Someone puts the UCS back by hand while the record is open.
    ucs.begin_switch("production", seconds=0)

    status = run("status", variables)

    assert not status.get("failed") and not status["changed"]
    ucs_line, arcgis_line = status["report"]
    assert ucs_line.startswith("ucs: production, DISAGREES: its record says it is in maintenance, and it is not; "
                               "window open since ")
    assert ucs_line.endswith(", held by app1")
    assert arcgis_line.startswith("arcgis: read_only, in maintenance, as its record says; window open since ")
    assert status["msg"] == "; ".join(status["report"])
    assert [r["action"] for r in status["rows"]] == ["DISAGREES: not in maintenance", "as recorded"]
    assert status["record"]["ucs"] == entry_of(state_file, "ucs", ucs)
    assert [r["method"] for r in ucs.requests] == ["GET"]
    assert state_file.read_bytes() == before


def test_status_of_a_server_in_maintenance_without_a_record_disagrees(started, state_file):
    ucs = started(UcsEmulator(initial_mode="maintenance"))

    status = run("status", host(state_file, ucs=ucs))

    assert status["report"] == ["ucs: maintenance, DISAGREES: in maintenance, and no open window says why; no window "
                                "on record"]
    assert not state_file.exists()


def test_status_names_an_open_record_that_no_host_of_the_inventory_holds(ucs, site, state_file):
    window("enter", host(state_file, "retired", ucs=ucs))

    first = run("status", host(state_file, "app1", arcgis=site))
    second = run("status", host(state_file, "app2", arcgis=site))

    assert first["failed"] and [e["holders"] for e in first["strangers"]] == [["retired"]]
    assert "held by retired, none of them in the inventory: nobody will exit it" in first["msg"]
    # Named once, by the play's first host.
    assert not second.get("failed") and second["strangers"] == []


def test_status_of_a_host_without_services(state_file):
    status = run("status", host(state_file))
    assert status["report"] == ["no service on this host (no window_ucs_url or window_arcgis_url or window_services)"]
    assert not status["changed"] and not status.get("failed")


# -- waits say what they wait for ------------------------------------------------------------------------
class Recorder:
    """Stands in for the plugin's Display: what it was told to display."""

    def __init__(self):
        self.lines = []

    def display(self, msg, *args, **kwargs):
        self.lines.append(msg)


def test_a_long_wait_says_what_it_waits_for(started, state_file, monkeypatch):
    ucs = started(UcsEmulator(switch_seconds=1.5))
    shown = Recorder()
    monkeypatch.setattr(window_phase, "display", shown)
    monkeypatch.setattr(calls, "NOTICE_FIRST", 0.3)
    monkeypatch.setattr(calls, "NOTICE_EVERY", 0.5)
    variables = host(state_file, ucs=ucs)

    entered = run("enter", variables)
    assert shown.lines == []
    confirmed = run("confirm", variables, requested=entered)

    assert not confirmed.get("failed"), confirmed
    # The notices while it waits, then what was done, which confirm says itself.
    notices = [line for line in shown.lines if " still waiting " in line]
    said = shown.lines[len(notices):]
    assert notices, "no notice during a wait of 1.5 s"
    assert notices[0] == "app1: still waiting for %s to reach its maintenance mode (0 s so far)" % ucs.url
    assert all(line.startswith("app1: still waiting for %s to reach its maintenance mode (" % ucs.url)
               for line in notices)
    assert 2 <= len(notices) <= 4, notices
    assert said == ["app1: the record is kept in %s, which this enter made" % state_file,
                    "app1: ucs: production -> maintenance; switched, and exit puts back production"]
