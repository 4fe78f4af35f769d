# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The role opsmodes.maintenance.window on the paths an operator meets: kill -9 and Ctrl-C, exit
run twice, exit after a failed enter, serial batches, concurrent plays, limits, lost or broken
state files, bad work files. Each test reads the servers' modes back from the emulators and the
record from the state file."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from urllib.parse import parse_qsl

import pytest

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._postgresql import PostgresStore
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._record import server_key
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._state_file import StateFile
from ansible_collections.opsmodes.maintenance.tests.functional.conftest import BIN

PLAYBOOK_TIMEOUT = 300


class Operator:
    """Runs the collection's playbooks, or a playbook of the test's, as an operator would: from a
    working directory of its own, against an inventory of emulated servers."""

    def __init__(self, tmp_path, state_url=None):
        self.cwd = tmp_path
        self.state_file = tmp_path / "records.json"
        # The record in PostgreSQL instead of the state file: window_state_url.
        self.state_url = state_url
        self.inventory = tmp_path / "inventory.json"
        self.env = {}

    def command(self, playbook, extra_vars=None, args=()):
        if not os.path.isabs(playbook) and not playbook.startswith("opsmodes."):
            playbook = "opsmodes.maintenance." + playbook
        return [os.path.join(BIN, "ansible-playbook"), playbook, "-i", str(self.inventory),
                "-e", json.dumps(extra_vars or {})] + list(args)

    def environment(self):
        return dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="false", ANSIBLE_FORCE_COLOR="0",
                    **self.env)

    def run(self, playbook, extra_vars=None, args=()):
        completed = subprocess.run(self.command(playbook, extra_vars, args), capture_output=True, text=True,
                                   cwd=self.cwd, env=self.environment(), timeout=PLAYBOOK_TIMEOUT, check=False)
        completed.output = completed.stdout + completed.stderr
        return completed

    def start(self, playbook, extra_vars=None, args=()):
        return subprocess.Popen(self.command(playbook, extra_vars, args), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, cwd=self.cwd, env=self.environment(), start_new_session=True)

    def hosts(self, hosts, **common):
        self.inventory_hosts = hosts
        self.inventory.write_text(json.dumps({"all": {
            "vars": dict({"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                         **self.record_variable(), **common),
            "hosts": hosts}}))

    def record_variable(self):
        if self.state_url:
            return {"window_state_url": self.state_url}
        return {"window_state_file": str(self.state_file)}

    def servers(self, state_file=None):
        """The record's entries, by server."""
        if self.state_url and state_file is None:
            return PostgresStore.of(self.state_url).read().servers
        return StateFile(str(state_file or self.state_file)).read().servers

    def records(self, state_file=None):
        """The state file's entries as each inventory host sees them: host -> service -> the
        entry of the server its variables name."""
        servers = self.servers(state_file)
        view = {}
        for host, variables in self.inventory_hosts.items():
            for service in ("ucs", "arcgis"):
                url = variables.get("window_%s_url" % service)
                entry = servers.get(server_key(service, url)) if url else None
                if entry is not None:
                    view.setdefault(host, {})[service] = entry
        return view


def until(condition, what, seconds=30):
    """Poll `condition` until it is true, failing the test when `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.05)


def kill(process, signum=signal.SIGKILL):
    os.killpg(process.pid, signum)
    if signum == signal.SIGINT:
        # On newer ansible-core (2.21 here, not 2.16) a worker that the controller passes Ctrl-C
        # on to while it sends its result dies holding the results queue's lock, and
        # ansible-playbook hangs for good in its cleanup (about 1 in 80 random Ctrl-Cs here). An
        # operator presses Ctrl-C again, which ends it: the first one restored the default
        # handler. So does this test, whose subject is what exit finds afterwards.
        try:
            process.wait(timeout=15)
            return
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signum)
    process.wait(timeout=60)


def posts(server):
    """The writes a server got: UCS mode POSTs, ArcGIS mode updates (every ArcGIS call is a POST)."""
    return [r for r in server.requests
            if r["method"] == "POST" and r["path"].endswith(("/server/mode", "/mode/update"))]


def site_modes_asked(site):
    """The modes an ArcGIS site was asked for, in order."""
    return [dict(parse_qsl(p["body"]))["siteMode"] for p in posts(site)]


def modes(*servers):
    return tuple(server.state()["mode"] for server in servers)


ARCGIS_LOGIN = {"window_arcgis_username": "admin", "window_arcgis_password": "admin"}
BEFORE = ("production", "EDITABLE", "maintenance")


# -- the happy path, and the record ----------------------------------------------------------------
def test_enter_records_before_it_switches_and_exit_twice_is_safe(operator, servers):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    entered = operator.run("enter")
    assert entered.returncode == 0, entered.output
    assert modes(ucs, site, ucs2) == ("maintenance", "READ_ONLY", "maintenance")
    records = operator.records()
    assert {s: e["mode_before"] for s, e in records["app1"].items()} == {"ucs": "production", "arcgis": "editable"}
    assert records["app2"]["ucs"]["mode_before"] == "maintenance" and records["app2"]["ucs"]["state"] == "open"
    # Write ahead: the record's time is before the first write reached the server.
    assert "ucs: production -> maintenance; switched, and exit puts back production" in entered.output
    assert "ucs: maintenance already before the window; leave it so, and exit leaves it so" in entered.output

    exited = operator.run("exit")
    assert exited.returncode == 0, exited.output
    assert modes(ucs, site, ucs2) == BEFORE
    assert not posts(ucs2), "a server in maintenance before the window was written to"
    assert all(e["state"] == "closed" for r in operator.records().values() for e in r.values())
    assert "app1  ucs      production   production   put back" in exited.output

    writes = len(posts(ucs)) + len(posts(site))
    again = operator.run("exit")
    assert again.returncode == 0, again.output
    assert "already closed at" in again.output and "nothing to do" in again.output
    assert len(posts(ucs)) + len(posts(site)) == writes
    assert modes(ucs, site, ucs2) == BEFORE


def test_each_server_has_one_client_per_task(operator, servers):
    """A task reads a server's mode, then writes to it: one session kept alive for both, and for an
    ArcGIS site one token per task (enter's two tasks are two processes), not one per call."""
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    entered = operator.run("enter", {"window_hosts": "app1"})
    assert entered.returncode == 0, entered.output
    up_to_the_write = ucs.requests[:ucs.requests.index(posts(ucs)[0]) + 1]
    assert [r["method"] for r in up_to_the_write] == ["GET", "GET", "POST"]
    assert len({r["client_port"] for r in up_to_the_write}) == 1
    asked_until_the_update = site.requests[:site.requests.index(posts(site)[0]) + 1]
    assert [r["path"].rsplit("/", 1)[-1] for r in asked_until_the_update] == ["generateToken", "mode", "mode", "update"]
    assert len({dict(parse_qsl(r["body"]))["token"] for r in asked_until_the_update[1:]}) == 1
    assert len(site.requests_to("/generateToken")) == 2
    site.requests.clear()
    assert operator.run("exit", {"window_hosts": "app1"}).returncode == 0
    assert len(site.requests_to("/generateToken")) == 2
    # The put-back exit noted on the record as it claimed the site is its own, not an earlier
    # write to let end before the read.
    asked_until_the_put_back = site.requests[:site.requests.index(posts(site)[0]) + 1]
    assert [r["path"].rsplit("/", 1)[-1] for r in asked_until_the_put_back] == ["generateToken", "mode", "update"]
    assert modes(ucs, site, ucs2) == BEFORE


@pytest.mark.parametrize("in_process, writes", [(True, 2), (False, 3)], ids=["in process", "as a module"])
def test_a_note_made_ahead_is_made_again_before_the_module_runs(operator, servers, in_process, writes):
    """Run as a module, the module starts and reads the mode between the note and its write: the
    switch that enter noted as it opened the entry is noted again just before the module runs. In
    process, the write follows the read at once, and the note stands."""
    ucs, _site, _ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    entered = operator.run("enter", {"window_hosts": "app1", "opsmodes_maintenance_in_process": in_process})
    assert entered.returncode == 0, entered.output
    assert len(posts(ucs)) == 1
    # The entry's writes: opened with the switch noted, (noted again,) the switch noted done.
    assert operator.records()["app1"]["ucs"]["sequence"] == writes


def test_enter_twice_keeps_the_first_record(operator, servers):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    assert operator.run("enter").returncode == 0
    first = operator.records()["app1"]["ucs"]["opened"]
    second = operator.run("enter")
    assert second.returncode == 0, second.output
    assert operator.records()["app1"]["ucs"]["opened"] == first
    assert "keep that record: exit puts back production" in second.output
    assert operator.run("exit").returncode == 0
    assert modes(ucs, site, ucs2) == BEFORE


def test_status_shows_live_modes_records_and_disagreements_without_writing(operator, servers):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    assert operator.run("enter").returncode == 0
    ucs.requests.clear()
    # Someone puts app1's UCS back by hand while the record is open.
    ucs.mode = "production"
    status = operator.run("status")
    assert status.returncode == 0, status.output
    assert "ucs: production, DISAGREES: its record says it is in maintenance, and it is not" in status.output
    assert "ucs: maintenance, in maintenance, as its record says" in status.output
    assert "open since" in status.output and " by " in status.output
    assert [r["method"] for r in ucs.requests] == ["GET"]
    assert operator.run("exit").returncode == 0
    assert modes(ucs, site, ucs2) == BEFORE


def test_check_mode_writes_nothing_and_says_would(operator, servers):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    dry = operator.run("enter", args=["--check", "--diff"])
    assert dry.returncode == 0, dry.output
    assert "would switch" in dry.output and "-mode: production" in dry.output and "+mode: maintenance" in dry.output
    assert not posts(ucs) and not posts(site) and not posts(ucs2)
    assert not operator.state_file.exists()


# -- kill -9, Ctrl-C ---------------------------------------------------------------------------------
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGINT])
def test_enter_killed_during_the_switches_then_exit_puts_everything_back(operator, servers, signum):
    ucs, site, ucs2, hosts = servers(ucs_seconds=4, arcgis_seconds=4)
    operator.hosts(hosts, **ARCGIS_LOGIN)
    enter = operator.start("enter")
    # Killed once both servers have taken the write and the record has the ArcGIS job, which is
    # how exit knows that an update is under way: the site mode does not show it.
    until(lambda: ucs.state()["switching_to"] and operator.state_file.exists()
          and operator.records()["app1"]["arcgis"].get("handle"), "both switches to start")
    kill(enter, signum)
    # The record was written before any switch began.
    record = operator.records()["app1"]
    assert record["ucs"]["state"] == record["arcgis"]["state"] == "open"
    assert (record["ucs"]["mode_before"], record["arcgis"]["mode_before"]) == ("production", "editable")

    exited = operator.run("exit")
    assert exited.returncode == 0, exited.output
    assert modes(ucs, site, ucs2) == BEFORE, (json.dumps(record), exited.output[-1500:])
    assert not posts(ucs2)


def test_enter_worker_left_running_by_kill_9_does_not_switch_behind_a_later_exit(operator, ucs_server):
    """kill -9 of ansible-playbook alone leaves its worker running. Here it is held in the read
    before its write while the operator's exit closes the record: when the read comes back, the
    worker must neither reopen the record nor switch the server."""
    ucs = ucs_server(switch_seconds=0.3, faults=["slow=0:1:GET:/server/status$", "slow=15:1:GET:/server/status$"])
    operator.hosts({"app1": {"window_ucs_url": ucs.url}})
    enter = operator.start("enter")
    until(lambda: operator.state_file.exists()
          and operator.records().get("app1", {}).get("ucs", {}).get("state") == "open",
          "the record to be written ahead")
    os.kill(enter.pid, signal.SIGKILL)
    enter.wait(timeout=60)
    exited = operator.run("exit")
    assert exited.returncode == 0, exited.output
    assert operator.records()["app1"]["ucs"]["state"] == "closed"

    def group_gone():
        try:
            os.killpg(enter.pid, 0)
        except ProcessLookupError:
            return True
        return False
    until(group_gone, "the orphaned worker to end", seconds=60)
    assert not posts(ucs), posts(ucs)
    assert ucs.state()["mode"] == "production"
    assert operator.records()["app1"]["ucs"]["state"] == "closed"


def test_enter_timed_out_while_a_site_job_runs_keeps_the_record_open_until_exit(operator, servers):
    """enter waits less than the ArcGIS update takes: its put-back must not read the mode while
    the job still runs and close the record, or the site ends read-only with nothing to undo it."""
    ucs, site, ucs2, hosts = servers(arcgis_seconds=6)
    operator.hosts(hosts, window_arcgis_wait_timeout=1, **ARCGIS_LOGIN)
    entered = operator.run("enter", {"window_hosts": "app1"})
    assert entered.returncode != 0
    assert "Putting back failed for arcgis (The ArcGIS site mode job" in entered.output
    assert ("is still running, so the site may yet change mode" in entered.output
            and "the record stays open" in entered.output)
    record = operator.records()["app1"]
    assert record["arcgis"]["state"] == "open" and record["arcgis"]["mode_before"] == "editable"
    assert record["ucs"]["state"] == "closed" and ucs.state()["mode"] == "production"
    exited = operator.run("exit", {"window_hosts": "app1", "window_arcgis_wait_timeout": 30})
    assert exited.returncode == 0, exited.output
    assert modes(ucs, site) == ("production", "EDITABLE")
    assert operator.records()["app1"]["arcgis"]["state"] == "closed"
    assert len(posts(site)) == 2


def test_enter_killed_before_the_sites_answer_came_back(operator, servers):
    """The site took the update but the answer, with its job id, never reached the record: the
    site mode does not show an update under way, so exit watches the site until the update took
    effect (or could no longer), then puts it back, saying what it waits for."""
    # The update is processed at once and answered 5 s late: enter is killed in between. It takes
    # effect after 8 s, which exit waits for.
    ucs, site, ucs2, hosts = servers(ucs_seconds=0.2, arcgis_seconds=8,
                                     app1_arcgis={"faults": ["slow=5:1::/mode/update$"]})
    operator.hosts(hosts, window_arcgis_wait_timeout=30, **ARCGIS_LOGIN)
    enter = operator.start("enter", {"window_hosts": "app1"})
    until(lambda: site.state()["running_jobs"], "the site to take the update")
    kill(enter)
    entry = operator.records()["app1"]["arcgis"]
    assert entry["requested"] and entry["handle"] is None
    exited = operator.run("exit", {"window_hosts": "app1"})
    assert exited.returncode == 0, exited.output
    assert modes(ucs, site) == ("production", "EDITABLE")
    assert site_modes_asked(site) == ["READ_ONLY", "EDITABLE"]
    assert "still waiting for the switch sent at %s to end (it may yet take effect), then for %s to " \
           "take the request for its mode before the window" % (entry["requested"], site.url) in exited.output


def test_enter_killed_while_reading_leaves_nothing_to_put_back(operator, servers):
    # The read is held long enough that the kill lands within it on a loaded machine too.
    ucs, site, ucs2, hosts = servers(app1_ucs={"faults": ["slow=20:1:GET"]})
    operator.hosts(hosts, **ARCGIS_LOGIN)
    enter = operator.start("enter")
    until(lambda: ucs.requests, "enter to read the UCS server")
    kill(enter)
    assert not posts(ucs) and not posts(site)
    exited = operator.run("exit", {"window_hosts": "app1"})
    # No record, no switch: exit changes nothing and says how to proceed.
    assert exited.returncode != 0
    assert "no record of the mode before the window for ucs, arcgis" in exited.output
    assert "window_no_record=normal" in exited.output
    assert not posts(ucs) and not posts(site)
    assert modes(ucs, site, ucs2) == BEFORE


def test_exit_killed_during_its_switches_then_exit_again(operator, servers):
    ucs, site, ucs2, hosts = servers(ucs_seconds=3, arcgis_seconds=3)
    operator.hosts(hosts, **ARCGIS_LOGIN)
    assert operator.run("enter").returncode == 0
    first_job = operator.records()["app1"]["arcgis"]["handle"]
    exit_run = operator.start("exit")
    until(lambda: ucs.state()["switching_to"] == "production"
          and ((operator.records()["app1"]["arcgis"].get("requested") or "")
               > operator.records()["app1"]["arcgis"]["opened"])
          and operator.records()["app1"]["arcgis"].get("handle") != first_job,
          "exit's switches to start")
    kill(exit_run)
    assert operator.records()["app1"]["ucs"]["state"] == "open"
    again = operator.run("exit")
    assert again.returncode == 0, again.output
    assert modes(ucs, site, ucs2) == BEFORE
    assert all(e["state"] == "closed" for e in operator.records()["app1"].values())


# -- lost, broken and shared records ---------------------------------------------------------------
@pytest.mark.parametrize("state_file", ["typo", "empty"])
def test_exit_without_a_record_switches_nothing(operator, servers, state_file):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    assert operator.run("enter").returncode == 0
    if state_file == "typo":
        extra = {"window_state_file": str(operator.cwd / "recrods.json")}
    else:
        operator.state_file.write_text("")
        extra = {}
    exited = operator.run("exit", extra)
    assert exited.returncode != 0
    assert "Exiting maintenance on app1: no record of the mode before the window for ucs, arcgis" in exited.output
    assert "Exiting maintenance on app2: no record of the mode before the window for ucs" in exited.output
    # Above all, app2's UCS, in maintenance before the window, is not switched out of it.
    assert modes(ucs, site, ucs2) == ("maintenance", "READ_ONLY", "maintenance")
    assert not posts(ucs2)


def test_exit_without_a_record_sets_the_normal_modes_only_when_asked(operator, servers):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    assert operator.run("enter").returncode == 0
    operator.state_file.unlink()
    exited = operator.run("exit", {"window_hosts": "app1", "window_no_record": "normal"})
    assert exited.returncode == 0, exited.output
    assert "the normal mode, as window_no_record=normal asks" in exited.output
    assert modes(ucs, site) == ("production", "EDITABLE")


def test_corrupt_state_file_fails_before_any_switch(operator, servers):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    operator.state_file.write_text('{"records": {"app1": ')
    entered = operator.run("enter")
    assert entered.returncode != 0
    assert "The state file %s is not valid JSON" % operator.state_file in entered.output
    assert not ucs.requests and not site.requests and not ucs2.requests


def test_state_file_in_a_missing_directory_fails_before_any_switch(operator, servers):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    entered = operator.run("enter", {"window_state_file": str(operator.cwd / "missing" / "records.json")})
    assert entered.returncode != 0
    assert "does not exist: create it, or give another window_state_file" in entered.output
    assert not ucs.requests and not site.requests and not ucs2.requests


def test_relative_state_file_is_taken_from_the_current_directory(operator, servers):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    (operator.cwd / "maint").mkdir()
    assert operator.run("enter", {"window_state_file": "maint/records.json"}).returncode == 0
    assert operator.records(operator.cwd / "maint" / "records.json")["app1"]["ucs"]["state"] == "open"
    assert operator.run("exit", {"window_state_file": "maint/records.json"}).returncode == 0
    assert modes(ucs, site, ucs2) == BEFORE


def test_default_state_file_survives_between_runs(operator, servers, tmp_path):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    inventory = json.loads(operator.inventory.read_text())
    del inventory["all"]["vars"]["window_state_file"]
    operator.inventory.write_text(json.dumps(inventory))
    home = tmp_path / "home"
    home.mkdir()
    operator.env["HOME"] = str(home)
    assert operator.run("enter").returncode == 0
    default = home / ".ansible" / "opsmodes.maintenance" / "window-records.db"
    assert operator.records(default)["app1"]["ucs"]["state"] == "open"
    assert operator.run("exit").returncode == 0
    assert modes(ucs, site, ucs2) == BEFORE


def test_a_window_open_in_the_earlier_default_json_file_is_exited_after_the_upgrade(operator, servers, tmp_path):
    """Enter ran with the version that kept the record as JSON at the earlier default location;
    exit runs with this one: it finds the open entries there, puts every server back, and the
    records move into the database, the JSON file kept as .migrated."""
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    inventory = json.loads(operator.inventory.read_text())
    del inventory["all"]["vars"]["window_state_file"]
    operator.inventory.write_text(json.dumps(inventory))
    operator.env["HOME"] = str(tmp_path / "home")
    assert operator.run("enter").returncode == 0
    directory = tmp_path / "home" / ".ansible" / "opsmodes.maintenance"
    entered = operator.servers(directory / "window-records.db")
    (directory / "window-records.json").write_text(json.dumps({"version": 2, "servers": entered}))
    (directory / "window-records.db").unlink()
    status = operator.run("status")
    assert status.returncode == 0 and status.output.count("window open since") == 3, status.output
    assert not (directory / "window-records.db").exists(), "status writes nothing"
    exited = operator.run("exit")
    assert exited.returncode == 0, exited.output
    assert modes(ucs, site, ucs2) == BEFORE
    assert {entry["state"] for entry in operator.servers(directory / "window-records.db").values()} == {"closed"}
    assert not (directory / "window-records.json").exists()
    assert json.loads((directory / "window-records.json.migrated").read_text())["servers"] == entered


def test_limit_on_exit_leaves_the_other_hosts_records_open(operator, servers):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    assert operator.run("enter").returncode == 0
    assert operator.run("exit", args=["--limit", "app1"]).returncode == 0
    records = operator.records()
    assert records["app2"]["ucs"]["state"] == "open"
    assert all(e["state"] == "closed" for e in records["app1"].values())
    assert operator.run("exit", args=["--limit", "app2"]).returncode == 0
    assert modes(ucs, site, ucs2) == BEFORE


def test_serial_batches_keep_every_hosts_record(operator, ucs_server, tmp_path):
    servers = {"app%d" % n: ucs_server(switch_seconds=0.2) for n in range(1, 5)}
    operator.hosts({name: {"window_ucs_url": server.url} for name, server in servers.items()})
    playbook = tmp_path / "serial.yml"
    playbook.write_text("""---
- name: Enter in batches of two
  hosts: all
  serial: 2
  gather_facts: false
  tasks:
    - name: Enter
      ansible.builtin.include_role:
        name: opsmodes.maintenance.window
        tasks_from: enter
""")
    assert operator.run(str(playbook)).returncode == 0
    assert sorted(operator.records()) == sorted(servers)
    playbook.write_text(playbook.read_text().replace("Enter", "Exit").replace("tasks_from: enter", "tasks_from: exit"))
    exited = operator.run(str(playbook))
    assert exited.returncode == 0, exited.output
    assert {server.state()["mode"] for server in servers.values()} == {"production"}
    # Each batch's summary lists the hosts run so far; those of the later batch are counted, not
    # listed as having no result.
    first, last = (re.split(r"\n(?:TASK|PLAY) ", chunk)[0]
                   for chunk in exited.output.split("Exit | Summary of every host of the play")[1:])
    assert "no result" not in exited.output
    assert "app1" in first and "app2" in first and "app3" not in first and "(2 more hosts in later batches)" in first
    assert all(name in last for name in servers) and "later batches" not in last


def test_concurrent_plays_on_one_state_file_keep_each_others_records(operator, ucs_server):
    servers = {"app%d" % n: ucs_server(switch_seconds=0.5) for n in range(1, 7)}
    operator.hosts({name: {"window_ucs_url": server.url} for name, server in servers.items()})
    runs = [operator.start("enter", {"window_hosts": name}) for name in servers]
    for run in runs:
        assert run.wait(timeout=PLAYBOOK_TIMEOUT) == 0, run.stdout.read().decode()
    assert sorted(operator.records()) == sorted(servers)
    assert operator.run("exit").returncode == 0
    assert {server.state()["mode"] for server in servers.values()} == {"production"}


def test_record_travels_through_window_records_when_no_state_file_has_it(operator, servers):
    """An AWX workflow: enter in one job, exit in another job with a fresh state file; the record
    comes with the extra variable window_records that set_stats published."""
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    assert operator.run("enter").returncode == 0
    published = operator.records()
    operator.state_file.unlink()
    exited = operator.run("exit", {"window_records": published})
    assert exited.returncode == 0, exited.output
    assert modes(ucs, site, ucs2) == BEFORE
    assert not posts(ucs2)


# -- failures inside the window ---------------------------------------------------------------------
def test_exit_after_a_failed_enter_changes_nothing_and_succeeds(operator, servers):
    """A typo in one service's password: nothing on that host is switched, not even its other
    service, and the AWX 'enter failed -> exit' path has nothing to put back."""
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, window_arcgis_username="admin", window_arcgis_password="typo")
    entered = operator.run("enter", {"window_hosts": "app1"})
    assert entered.returncode != 0
    assert "Entering maintenance failed on app1 before any switch" in entered.output
    assert "authentication failed" in entered.output and "Nothing was switched on this host" in entered.output
    assert not posts(ucs) and not posts(site)
    exited = operator.run("exit", {"window_hosts": "app1"})
    assert exited.returncode == 0, exited.output
    assert "enter failed before any switch" in exited.output
    assert not posts(ucs) and not posts(site)
    assert modes(ucs, site) == ("production", "EDITABLE")


def test_exit_with_a_wrong_password_logs_in_once_and_keeps_the_record(operator, servers):
    """The record holds enter's ArcGIS job, which exit follows first: a refused login there ends
    the try at once, instead of being passed over and met again at the read. Failed logins can
    lock an account, so they are counted."""
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    assert operator.run("enter", {"window_hosts": "app1"}).returncode == 0
    logins_before = len([r for r in site.requests if r["path"].endswith("/generateToken")])
    requests_before = len(site.requests)
    operator.hosts(hosts, window_arcgis_username="admin", window_arcgis_password="typo")
    exited = operator.run("exit", {"window_hosts": "app1"})
    assert exited.returncode != 0
    assert "authentication failed" in exited.output and "putting back failed for arcgis" in exited.output
    # A refused login is not a fault that passes: exit does not try again. One login per exit
    # run, and nothing else reached the site.
    after = site.requests[requests_before:]
    assert len([r for r in site.requests if r["path"].endswith("/generateToken")]) - logins_before == 1
    assert [r["path"].rsplit("/", 1)[-1] for r in after] == ["generateToken"]
    assert operator.records()["app1"]["arcgis"]["state"] == "open"
    assert modes(ucs, site) == ("production", "READ_ONLY")
    operator.hosts(hosts, **ARCGIS_LOGIN)
    assert operator.run("exit", {"window_hosts": "app1"}).returncode == 0
    assert modes(ucs, site) == ("production", "EDITABLE")


def test_failed_switch_puts_back_what_enter_switched(operator, servers):
    ucs, site, ucs2, hosts = servers(app1_arcgis={"job_result": "failed"})
    operator.hosts(hosts, **ARCGIS_LOGIN)
    entered = operator.run("enter", {"window_hosts": "app1"})
    assert entered.returncode != 0
    assert ("Entering maintenance failed on app1" in entered.output
            and "The work does not run on this host" in entered.output)
    assert modes(ucs, site) == ("production", "EDITABLE")
    assert all(e["state"] == "closed" for e in operator.records()["app1"].values())
    assert operator.run("exit", {"window_hosts": "app1"}).returncode == 0


def test_put_back_that_fails_while_confirm_waits_keeps_the_record_for_the_next_exit(operator, servers):
    """The site takes exit's update, then its job ends FAILED while confirm waits for it: exit
    fails naming the service, the record stays open, and exit once the site behaves puts it back."""
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    assert operator.run("enter").returncode == 0
    site.job_result = "failed"
    exited = operator.run("exit")
    assert exited.returncode != 0
    assert "putting back failed for arcgis; the record stays open: run exit again" in exited.output
    assert site_modes_asked(site) == ["READ_ONLY", "EDITABLE"]
    records = operator.records()
    assert (records["app1"]["arcgis"]["state"], records["app1"]["ucs"]["state"]) == ("open", "closed")
    assert modes(ucs, site, ucs2) == ("production", "READ_ONLY", "maintenance")
    site.job_result = "success"
    again = operator.run("exit")
    assert again.returncode == 0, again.output
    assert modes(ucs, site, ucs2) == BEFORE
    assert all(e["state"] == "closed" for e in operator.records()["app1"].values())


def test_switch_slower_than_the_wait_is_reported_recorded_and_put_back(operator, servers):
    ucs, site, ucs2, hosts = servers(ucs_seconds=5)
    operator.hosts(hosts, window_ucs_wait_timeout=1, window_ucs_retries=0, **ARCGIS_LOGIN)
    entered = operator.run("enter", {"window_hosts": "app1"})
    assert entered.returncode != 0
    assert "Timed out waiting for the UCS server" in entered.output
    assert operator.records()["app1"]["ucs"]["mode_before"] == "production"
    # Whether enter's own put-back got through or left the record open, exit ends it.
    exited = operator.run("exit", {"window_hosts": "app1", "window_ucs_wait_timeout": 30, "window_ucs_retries": 3})
    assert exited.returncode == 0, exited.output
    assert modes(ucs, site) == ("production", "EDITABLE")
    assert [json.loads(p["body"])["mode"] for p in posts(ucs)] == ["maintenance", "production"]


WORK_FILES = {
    "broken.yml": "- name: Broken\n  ansible.builtin.debug: {msg: [unclosed\n",
    "not_tasks.yml": "key: value\n",
    # Valid YAML that Ansible refuses when the include loads it, which would abort the play.
    "typo_module.yml": "- name: Restart\n  ansible.builtin.comand: /bin/true\n",
    "typo_keyword.yml": "- name: Restart\n  ansible.builtin.command: /bin/true\n  becom: true\n",
    "typo_in_rescue.yml": "- name: Patch\n  block:\n    - ansible.builtin.debug: {msg: patch}\n"
                          "  rescue:\n    - ansible.builtin.debuq: {msg: x}\n",
    # A meta that ends the host or the play: exit would not run after it.
    "end_host.yml": "- name: Nothing to patch here\n  ansible.builtin.meta: end_host\n"
                    "  when: inventory_hostname == 'app2'\n",
    "end_play.yml": "- name: Patch\n  block:\n    - name: Stop everything\n      meta: end_play\n",
}


@pytest.mark.parametrize("work, message", [
    ("missing.yml", "does not exist"),
    ("broken.yml", "cannot be loaded"),
    ("not_tasks.yml", "is not a list of tasks"),
    ("typo_module.yml", "ansible.builtin.comand"),
    ("typo_keyword.yml", "becom"),
    ("typo_in_rescue.yml", "ansible.builtin.debuq"),
    ("end_host.yml", "ends the host (meta: end_host), so exit would not run"),
    ("end_play.yml", "ends the play (meta: end_play), so exit would not run"),
])
def test_a_work_file_that_cannot_run_fails_before_enter(operator, servers, work, message):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    for name, text in WORK_FILES.items():
        (operator.cwd / name).write_text(text)
    run = operator.run("window", {"window_work_tasks": work})
    assert run.returncode != 0
    assert message in run.output and "nothing was switched" in run.output
    assert not posts(ucs) and not posts(site) and not posts(ucs2)


def test_window_with_relative_work_file_and_failing_work_closes_the_window(operator, servers):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    (operator.cwd / "work.yml").write_text("""---
- name: Patch that fails
  ansible.builtin.fail:
    msg: disk full
  when: inventory_hostname == 'app1'
""")
    run = operator.run("window", {"window_work_tasks": "work.yml"})
    assert run.returncode != 0
    assert "The work inside the maintenance window failed on app1 at task 'Patch that fails': disk full" in run.output
    assert modes(ucs, site, ucs2) == BEFORE
    assert all(e["state"] == "closed" for r in operator.records().values() for e in r.values())


# -- options ----------------------------------------------------------------------------------------
def test_module_defaults_of_the_action_groups_reach_the_switches(operator, ucs_server, arcgis_server, tmp_path):
    ucs = ucs_server(switch_seconds=0.2, username="ops", password="Pw-ucs-1")
    site = arcgis_server(read_only_seconds=0.2, username="gis", password="Pw-gis-2")
    operator.hosts({"app1": {"window_services": ["ucs", "arcgis"]}})
    playbook = tmp_path / "defaults.yml"
    playbook.write_text("""---
- name: A window whose connections come from module_defaults
  hosts: all
  gather_facts: false
  module_defaults:
    group/opsmodes.maintenance.ucs: {url: "%s", username: ops, password: Pw-ucs-1}
    group/opsmodes.maintenance.arcgis: {url: "%s", username: gis, password: Pw-gis-2}
  tasks:
    - name: Enter
      ansible.builtin.include_role:
        name: opsmodes.maintenance.window
        tasks_from: enter
    - name: Exit
      ansible.builtin.include_role:
        name: opsmodes.maintenance.window
        tasks_from: exit
""" % (ucs.url, site.url))
    run = operator.run(str(playbook), {"window_set_stats": "false"})
    assert run.returncode == 0, run.output
    assert [json.loads(p["body"])["mode"] for p in posts(ucs)] == ["maintenance", "production"]
    assert len(posts(site)) == 2
    assert "Pw-ucs-1" not in run.output and "Pw-gis-2" not in run.output


def test_bad_boolean_and_bad_service_fail_before_any_request(operator, servers):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    run = operator.run("enter", {"window_ucs_validate_certs": "perhaps"})
    assert run.returncode != 0 and "validate_certs" in run.output
    assert not ucs.requests and not ucs2.requests and not site.requests


def test_work_with_short_module_names_and_includes_loads(operator, servers):
    """The check loads tasks as the include will: short names, blocks and includes pass."""
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    (operator.cwd / "more.yml").write_text("- name: More work\n  debug: {msg: more}\n")
    (operator.cwd / "work.yml").write_text("""---
- name: Patch
  block:
    - name: Say so
      debug:
        msg: patching {{ inventory_hostname }}
    - name: More
      ansible.builtin.include_tasks: more.yml
  always:
    - name: Done
      ansible.builtin.meta: noop
""")
    run = operator.run("window", {"window_work_tasks": "work.yml"})
    assert run.returncode == 0, run.output
    assert "patching app1" in run.output and "more" in run.output
    assert modes(ucs, site, ucs2) == BEFORE


def test_exit_against_a_stale_closed_record_fails_instead_of_saying_nothing_to_do(operator, servers, tmp_path):
    """Last week's window, closed, in the default file; this week's record in another file; exit
    pointed at the wrong one must not report success while the server stays in maintenance."""
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    last_week = str(tmp_path / "last-week.json")
    assert operator.run("enter", {"window_hosts": "app1", "window_state_file": last_week}).returncode == 0
    assert operator.run("exit", {"window_hosts": "app1", "window_state_file": last_week}).returncode == 0
    assert operator.run("enter", {"window_hosts": "app1"}).returncode == 0
    wrong = operator.run("exit", {"window_hosts": "app1", "window_state_file": last_week})
    assert wrong.returncode != 0, wrong.output
    assert "ucs and arcgis are in maintenance although the record in %s was closed" % last_week in wrong.output
    assert "not this window's" in wrong.output
    assert modes(ucs, site) == ("maintenance", "READ_ONLY")
    assert [json.loads(p["body"])["mode"] for p in posts(ucs)] == ["maintenance", "production", "maintenance"]
    right = operator.run("exit", {"window_hosts": "app1"})
    assert right.returncode == 0, right.output
    assert modes(ucs, site) == ("production", "EDITABLE")


def test_exit_warns_of_an_open_record_of_a_service_it_does_not_handle(operator, servers):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    assert operator.run("enter", {"window_hosts": "app1"}).returncode == 0
    exited = operator.run("exit", {"window_hosts": "app1", "window_services": "ucs"})
    assert exited.returncode == 0, exited.output
    assert "arcgis of app1 has an open record" in exited.output and "stays in maintenance" in exited.output
    assert modes(ucs, site) == ("production", "READ_ONLY")
    assert operator.records()["app1"]["arcgis"]["state"] == "open"


def test_check_mode_with_the_default_state_file_creates_nothing(operator, servers, tmp_path):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    operator.env["HOME"] = str(tmp_path / "home")
    entered = operator.run("enter", {"window_state_file": ""}, args=("--check", "--diff"))
    assert entered.returncode == 0, entered.output
    assert "would switch" in entered.output
    operator.run("exit", {"window_state_file": ""}, args=("--check", "--diff"))
    assert not (tmp_path / "home" / ".ansible" / "opsmodes.maintenance").exists()
    assert not posts(ucs) and not posts(site) and not posts(ucs2)
