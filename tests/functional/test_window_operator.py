# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What an operator sees of the window: dry runs that tell what a real run would do, one change and
one diff per switch, a summary after every phase whatever failed, why a window is open, and no
state file made by exit or status."""

from __future__ import annotations

import json
import os
import re

from ansible_collections.opsmodes.maintenance.tests.functional.test_window import (
    ARCGIS_LOGIN, BEFORE, modes, posts)

RECAP = re.compile(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", re.M)


def recap(output):
    """host -> (changed tasks, failed tasks)."""
    return {host: (int(changed), int(failed)) for host, changed, failed in RECAP.findall(output)}


def summary(output, title):
    """The lines of the summary table a phase printed last (the debug task's msg)."""
    task = output.rsplit("%s | Summary of every host of the play" % title, 1)[1]
    return json.loads(task[task.index("{"):task.index("\n}") + 2])["msg"]


def diffs(output):
    """The diffs shown, as (before, after) lines."""
    return re.findall(r"^-mode: (\S+)\n\+mode: (\S+)$", output, re.M)


def test_a_dry_run_tells_what_a_real_run_would_do_once_per_switch(operator, servers):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    dry = operator.run("enter", args=["--check", "--diff"])
    assert dry.returncode == 0, dry.output
    # app1 would switch both its servers: one change (its confirm), one diff per switch.
    assert recap(dry.output) == {"app1": (1, 0), "app2": (0, 0)}
    assert sorted(diffs(dry.output)) == [("editable", "read_only"), ("production", "maintenance")]
    assert summary(dry.output, "Enter")[1:3] == ["app1  ucs      production   production   would switch",
                                                 "app1  arcgis   editable     editable     would switch"]
    assert not posts(ucs) and not posts(site) and not operator.state_file.exists()

    assert operator.run("enter").returncode == 0
    dry_exit = operator.run("exit", args=["--check", "--diff"])
    assert dry_exit.returncode == 0, dry_exit.output
    # Exit's dry run reads the live modes: a put-back from maintenance, as a real exit does it.
    assert sorted(diffs(dry_exit.output)) == [("maintenance", "production"), ("read_only", "editable")]
    assert recap(dry_exit.output) == {"app1": (1, 0), "app2": (0, 0)}
    assert "app1  ucs      production   maintenance  would put back" in summary(dry_exit.output, "Exit")
    assert "the mode before the window, recorded at " in dry_exit.output
    assert len(posts(ucs)) == 1 and modes(ucs, site) == ("maintenance", "READ_ONLY")

    # A real exit: the same diffs, the same one change per host.
    exited = operator.run("exit", args=["--diff"])
    assert exited.returncode == 0, exited.output
    assert sorted(diffs(exited.output)) == sorted(diffs(dry_exit.output))
    assert recap(exited.output) == {"app1": (1, 0), "app2": (0, 0)}
    assert modes(ucs, site, ucs2) == BEFORE


def test_a_dry_run_of_a_whole_window_says_where_the_mode_before_comes_from(operator, servers, tmp_path):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    work = tmp_path / "work.yml"
    work.write_text("- name: Patch\n  ansible.builtin.debug:\n    msg: patching\n")
    dry = operator.run("window", {"window_work_tasks": str(work)}, args=["--check", "--diff"])
    assert dry.returncode == 0, dry.output
    assert "ucs: maintenance -> production; would put back (the mode before the window as this dry run's enter read " \
           "it, which a real enter records)" in dry.output
    assert "recorded at" not in dry.output
    # Two switches for app1, one of them the same server twice: in, then out again, as a real window does it.
    assert recap(dry.output) == {"app1": (2, 0), "app2": (0, 0)}
    assert sorted(diffs(dry.output)) == [("editable", "read_only"), ("maintenance", "production"),
                                         ("production", "maintenance"), ("read_only", "editable")]
    assert not posts(ucs) and not operator.state_file.exists()


def test_hosts_sharing_a_server_in_a_dry_run_switch_it_once_and_join(operator, ucs_server):
    ucs = ucs_server(switch_seconds=0.2)
    operator.hosts({"app1": {"window_ucs_url": ucs.url}, "app2": {"window_ucs_url": ucs.url}})
    dry = operator.run("enter", args=["--check", "--diff"])
    assert dry.returncode == 0, dry.output
    assert summary(dry.output, "Enter")[1:3] == ["app1  ucs      production   production  would switch",
                                                 "app2  ucs      production   production  would join"]
    assert recap(dry.output) == {"app1": (1, 0), "app2": (0, 0)} and len(diffs(dry.output)) == 1
    assert operator.run("enter").returncode == 0
    dry_exit = operator.run("exit", args=["--check"])
    rows = summary(dry_exit.output, "Exit")[1:3]
    assert rows[0].endswith("would leave it in maintenance for them") and rows[1].endswith("would put back"), rows
    assert len(posts(ucs)) == 1


def test_every_phase_ends_with_the_table_and_what_to_run_next(operator, servers):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, window_comment="CHG-1234 patch the application", **ARCGIS_LOGIN)
    entered = operator.run("enter")
    assert entered.returncode == 0, entered.output
    table = summary(entered.output, "Enter")
    assert table[0].split() == ["host", "service", "mode", "before", "mode", "now", "action", "why"]
    assert table[1].split()[-5:] == ["switched", "CHG-1234", "patch", "the", "application"], table
    assert table[-1] == "Next: once the work is done, ansible-playbook opsmodes.maintenance.exit -i %s, with the " \
                        "same limit" % operator.inventory
    # A successful run shows no task that reads like an alarm.
    assert "skipping:" not in entered.output and "failed=" not in entered.output.replace("failed=0", "")

    status = operator.run("status")
    assert "window open since " in status.output and " held by app1 (CHG-1234 patch the application)" in status.output
    assert operator.servers() and {e["comment"] for e in operator.servers().values()} == {
        "CHG-1234 patch the application"}
    exited = operator.run("exit")
    assert exited.returncode == 0, exited.output
    assert summary(exited.output, "Exit")[-1].startswith("Nothing more to run")
    assert modes(ucs, site, ucs2) == BEFORE


def test_the_tables_are_printed_when_every_host_fails(operator, servers):
    ucs, site, ucs2, hosts = servers()
    operator.hosts(hosts, **ARCGIS_LOGIN)
    assert operator.run("enter").returncode == 0
    typo = operator.run("exit", {"window_state_file": str(operator.cwd / "recrods.json")})
    assert typo.returncode != 0
    assert recap(typo.output) == {"app1": (0, 1), "app2": (0, 1)}
    table = summary(typo.output, "Exit")
    assert table[1:4] == ["app1  ucs      -            maintenance  no record: left as it is",
                          "app1  arcgis   -            read_only    no record: left as it is",
                          "app2  ucs      -            maintenance  no record: left as it is"]
    assert table[-1].startswith("Next: see where each server stands with ansible-playbook opsmodes.maintenance.status")
    # Exit and status make no state file, nor its lock, where there is none.
    assert operator.run("status", {"window_state_file": str(operator.cwd / "recrods.json")}).returncode != 0
    assert not [name for name in os.listdir(str(operator.cwd)) if name.startswith("recrods")]
    assert len(posts(ucs)) == 1 and modes(ucs, site, ucs2) == ("maintenance", "READ_ONLY", "maintenance")


def test_a_library_missing_on_the_controller_is_said_once(operator, servers, tmp_path):
    ucs, site, ucs2, hosts = servers()
    shim = tmp_path / "shim" / "requests"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('No module named requests')\n")
    operator.hosts(hosts, **ARCGIS_LOGIN)
    operator.env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "shim"), os.environ.get("PYTHONPATH", "")])
    entered = operator.run("enter")
    assert entered.returncode != 0
    message = re.search(r'"msg": "(Entering maintenance failed on app1[^"]*)"', entered.output).group(1)
    assert message.count("Failed to import the required Python library (requests)") == 1, message
    assert message.startswith("Entering maintenance failed on app1 before any switch: ucs and arcgis: ")
    assert summary(entered.output, "Enter")[1].startswith("app1  -        -            -         failed: ")
    assert not ucs.requests and not site.requests
