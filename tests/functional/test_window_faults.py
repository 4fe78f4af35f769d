# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The role under the emulators' faults, and its secrets at -vvv: whatever fails, every service
ends in its mode before the window, or the host fails naming where each service stands with the
record kept open for another exit."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest


def window_hosts(ucs, site):
    return {"app1": {"window_ucs_url": ucs.url, "window_arcgis_url": site.url, "window_arcgis_username": "admin",
                     "window_arcgis_password": "admin", "window_ucs_wait_timeout": 4, "window_arcgis_wait_timeout": 4}}


def work_file(tmp_path, origin=None, fault=None):
    """A work tasks file; with `fault`, it switches that fault on in an emulator while the window is open."""
    work = tmp_path / "work.yml"
    if fault is None:
        work.write_text("---\n- name: The work\n  ansible.builtin.debug:\n    msg: working\n")
    else:
        work.write_text("""---
- name: Switch a fault on while the window is open
  ansible.builtin.uri:
    url: %s/_emulator/faults
    method: POST
    body: %s
  delegate_to: localhost
""" % (origin, json.dumps(fault)))
    return str(work)


@pytest.mark.parametrize("where, fault", [
    ("ucs", "500:1:POST"),                      # enter's UCS write refused: nothing switched
    ("ucs", "drop:1:POST"),                     # enter's UCS write lost: the status decides
    ("arcgis", "500:1::/mode/update$"),         # enter fails halfway: UCS is put back
    ("arcgis", "drop:1::/mode/update$"),
    ("arcgis", "500:1::/generateToken$"),       # a read fails: nothing on the host is switched
    ("ucs", "503:3"),                           # retried: the window goes through
    ("arcgis", "500:2::/system/jobs/"),
])
def test_window_under_fault_restores_everything(ucs_server, arcgis_server, operator, tmp_path, where, fault):
    ucs = ucs_server(switch_seconds=0.3, faults=[fault] if where == "ucs" else [])
    site = arcgis_server(read_only_seconds=0.3, faults=[fault] if where == "arcgis" else [])
    operator.hosts(window_hosts(ucs, site))
    run = operator.run("window", {"window_work_tasks": work_file(tmp_path)})
    assert (ucs.state()["mode"], site.state()["mode"]) == ("production", "EDITABLE"), run.output
    if run.returncode != 0:
        assert "Entering maintenance failed on app1" in run.output, run.output
        assert "ucs is in mode production, arcgis is in mode editable" in run.output, run.output
    assert not [e for e in operator.records().get("app1", {}).values() if e["state"] == "open"]


@pytest.mark.parametrize("where", ["ucs", "arcgis"])
def test_exit_write_refused_once_is_tried_again(ucs_server, arcgis_server, operator, tmp_path, where):
    ucs = ucs_server(switch_seconds=0.3)
    site = arcgis_server(read_only_seconds=0.3)
    server, fault = (ucs, "500:1:POST") if where == "ucs" else (site, "500:1::/mode/update$")
    operator.hosts(window_hosts(ucs, site))
    run = operator.run("window", {"window_work_tasks": work_file(tmp_path, server.origin, fault)})
    assert run.returncode == 0, run.output
    assert (ucs.state()["mode"], site.state()["mode"]) == ("production", "EDITABLE")


def test_exit_that_cannot_restore_keeps_the_record_for_another_run(ucs_server, arcgis_server, operator, tmp_path):
    ucs = ucs_server(switch_seconds=0.3)
    site = arcgis_server(read_only_seconds=0.3)
    operator.hosts(window_hosts(ucs, site))
    run = operator.run("window", {"window_work_tasks": work_file(tmp_path, ucs.origin, "500:5:POST")})
    assert run.returncode != 0
    assert ("Exiting maintenance on app1: putting back failed for ucs; the record stays open: "
            "run exit again") in run.output
    assert "ucs: putting back production failed, it is in mode maintenance" in run.output
    assert "arcgis: read_only -> editable; put back" in run.output
    record = operator.records()["app1"]
    assert (record["ucs"]["state"], record["ucs"]["mode_before"], record["arcgis"]["state"]) == (
        "open", "production", "closed")
    # The operator runs exit again once the server behaves: the record restores UCS.
    ucs.faults.clear()
    again = operator.run("exit")
    assert again.returncode == 0, again.output
    assert ucs.state()["mode"] == "production"
    assert all(entry["state"] == "closed" for entry in operator.records()["app1"].values())


def test_role_at_vvv_leaks_no_secret(ucs_server, arcgis_server, operator, tmp_path):
    ucs = ucs_server(username="ops", password="Ucs-Secret-3141", switch_seconds=0.3)
    site = arcgis_server(username="gis", password="Gis-Secret-2718", read_only_seconds=0.3)
    given_token_site = arcgis_server(read_only_seconds=0.3)
    token = given_token_site.issue_token()
    operator.hosts({
        "app1": {"window_ucs_url": ucs.url, "window_ucs_username": "ops", "window_ucs_password": "Ucs-Secret-3141",
                 "window_arcgis_url": site.url, "window_arcgis_username": "gis",
                 "window_arcgis_password": "Gis-Secret-2718"},
        "app2": {"window_arcgis_url": given_token_site.url, "window_arcgis_token": token},
    })
    run = operator.run("window", {"window_work_tasks": work_file(tmp_path)}, args=["-vvv"])
    assert run.returncode == 0, run.output[-3000:]
    assert (ucs.state()["mode"], site.state()["mode"], given_token_site.state()["mode"]) == (
        "production", "EDITABLE", "EDITABLE")
    secrets = {"Ucs-Secret-3141", "Gis-Secret-2718", token} | set(site.tokens)
    for secret in secrets:
        assert secret not in run.output
        assert secret.encode() not in operator.state_file.read_bytes()
    for server in (ucs, site, given_token_site):
        for entry in server.requests:
            assert not any(secret in entry["path"] + entry["query"] for secret in secrets)
    # The ArcGIS tokens travelled in the bodies only.
    assert all(dict(parse_qsl(entry["body"])).get("token") == token for entry in given_token_site.requests)
