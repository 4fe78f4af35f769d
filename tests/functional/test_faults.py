# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault campaign: every fault switch of both emulators against both modules and the role,
bad input, secrets at -vvv, and TLS. Each run ends in the requested mode or in a clear failure
that names the mode the server is in; the role never leaves switched what it meant to restore."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest

from ansible_collections.opsmodes.maintenance.tests.emulators.common import DEFAULT_CERT

# Short budgets so that faults that end in a failure fail fast.
UCS_ARGS = {"mode": "maintenance", "timeout": 1, "wait_timeout": 4}
ARCGIS_ARGS = {"mode": "read_only", "username": "admin", "password": "admin", "timeout": 1, "wait_timeout": 4}

OK = "ok"
PRODUCTION = ("The server is in mode production.", "production")
EDITABLE = ("The server is in mode editable.", "editable")
UNCHANGED_PRODUCTION = ("Nothing was changed; the server is in mode production.", "production")
UNCHANGED_EDITABLE = ("Nothing was changed; the server is in mode editable.", "editable")

# fault -> OK (the run ends in the requested mode), or (the end of the failure message, the mode
# it names and returns, which must be the server's).
UCS_FAULTS = {
    "503:3": OK,                                 # retried on the first read
    "502:2:GET": OK,
    "504:1:GET": OK,
    "drop:1:GET": OK,                            # connection dropped, retried
    "slow=3:1:GET": OK,                          # first read timed out, retried
    "500:1:GET": UNCHANGED_PRODUCTION,           # a server-side error: one more read names the mode
    "not_json:1:GET": UNCHANGED_PRODUCTION,
    "503:4::/server/status$": UNCHANGED_PRODUCTION,  # longer than the retries
    "500:2:GET": ("Nothing was changed; its mode could not be read.", None),
    "api_error:1:GET": UNCHANGED_PRODUCTION,
    "500:1:POST": PRODUCTION,
    "400:1:POST": PRODUCTION,
    "503:1:POST": PRODUCTION,                    # the status decides: no switch happened
    "drop:1:POST": PRODUCTION,                   # not processed; the status decides
    "drop_after:1:POST": OK,                     # processed, answer lost: the status decides
    "slow=3:1:POST": OK,                         # processed, answer too late: the status decides
    "not_json:1:POST": OK,                       # a proxy's page after the write was accepted
}

ARCGIS_FAULTS = {
    "503:3": OK,
    "drop:1::/generateToken$": OK,
    "500:1::/generateToken$": UNCHANGED_EDITABLE,
    "500:1::/mode$": UNCHANGED_EDITABLE,
    "not_json:1::/mode$": UNCHANGED_EDITABLE,
    "500:1::/mode/update$": EDITABLE,
    "drop:1::/mode/update$": EDITABLE,           # not processed; the site mode decides
    "drop_after:1::/mode/update$": OK,
    "slow=3:1::/mode/update$": OK,
    "500:2::/system/jobs/": OK,                  # the job is followed through server errors
    "not_json:2::/system/jobs/": OK,
    "drop:2::/system/jobs/": OK,
    "slow=3:1::/system/jobs/": OK,
    "502:4::/system/jobs/": OK,
    "api_error:1::/mode$": UNCHANGED_EDITABLE,   # HTTP 200 with code 500: one more read names the mode
    "api_error:1::/mode/update$": EDITABLE,
    "api_error:2::/system/jobs/": OK,            # a NullPointerException while services restart
    "api_error:1::/generateToken$": UNCHANGED_EDITABLE,
}


def assert_outcome(run, expected, server_mode, wanted):
    if expected == OK:
        assert not run.failed, run.msg
        assert server_mode == wanted and run.result["mode"] == wanted
        return
    ending, named = expected
    assert run.failed, run.output
    assert run.msg.endswith(ending), run.msg
    assert run.result["mode"] == named
    if named is not None:
        assert server_mode == named


@pytest.mark.parametrize("fault", sorted(UCS_FAULTS))
def test_ucs_module_under_fault(ucs_server, run_module, fault):
    ucs = ucs_server(switch_seconds=0.5, faults=[fault])
    run = run_module("ucs_server_mode", dict(UCS_ARGS, url=ucs.url))
    assert_outcome(run, UCS_FAULTS[fault], ucs.state()["mode"], "maintenance")
    # A write is never sent twice.
    assert len(ucs.requests_to("/server/mode", "POST")) <= 1


@pytest.mark.parametrize("fault", sorted(ARCGIS_FAULTS))
def test_arcgis_module_under_fault(arcgis_server, run_module, fault):
    site = arcgis_server(read_only_seconds=0.5, faults=[fault])
    run = run_module("arcgis_site_mode", dict(ARCGIS_ARGS, url=site.url))
    assert_outcome(run, ARCGIS_FAULTS[fault], site.state()["mode"].lower(), "read_only")
    assert len(site.requests_to("/mode/update")) <= 1


# -- the role under faults -------------------------------------------------------------------------
def window_hosts(ucs, site):
    return {"app1": {"window_ucs_url": ucs.url, "window_arcgis_url": site.url, "window_arcgis_username": "admin",
                     "window_arcgis_password": "admin", "window_ucs_wait_timeout": 4, "window_arcgis_wait_timeout": 4}}


def inject_during_work(tmp_path, origin, fault):
    """A work tasks file that switches a fault on in an emulator while the window is open."""
    work = tmp_path / "work.yml"
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
    ("arcgis", "500:1::/generateToken$"),
    ("ucs", "503:3"),                           # retried: the window goes through
    ("arcgis", "500:2::/system/jobs/"),
])
def test_role_window_under_fault_restores_everything(ucs_server, arcgis_server, run_collection_playbook, tmp_path, where, fault):
    ucs = ucs_server(switch_seconds=0.3, faults=[fault] if where == "ucs" else [])
    site = arcgis_server(read_only_seconds=0.3, faults=[fault] if where == "arcgis" else [])
    work = tmp_path / "work.yml"
    work.write_text("---\n- name: The work\n  ansible.builtin.debug:\n    msg: working\n")
    run = run_collection_playbook("window", window_hosts(ucs, site), {"window_work_tasks": str(work)})
    assert ucs.state()["mode"] == "production", run.output
    assert site.state()["mode"] == "EDITABLE", run.output
    if run.returncode != 0:
        assert "Entering maintenance failed on app1" in run.output and "Services now: ucs: production" in run.output


@pytest.mark.parametrize("where", ["ucs", "arcgis"])
def test_role_exit_write_refused_once_is_tried_again(ucs_server, arcgis_server, run_collection_playbook, tmp_path, where):
    ucs = ucs_server(switch_seconds=0.3)
    site = arcgis_server(read_only_seconds=0.3)
    server, fault = (ucs, "500:1:POST") if where == "ucs" else (site, "500:1::/mode/update$")
    run = run_collection_playbook("window", window_hosts(ucs, site), {"window_work_tasks": inject_during_work(tmp_path, server.origin, fault)})
    assert run.returncode == 0, run.output
    assert (ucs.state()["mode"], site.state()["mode"]) == ("production", "EDITABLE")


def test_role_exit_that_cannot_restore_keeps_the_record_for_another_run(ucs_server, arcgis_server, run_collection_playbook, tmp_path):
    ucs = ucs_server(switch_seconds=0.3)
    site = arcgis_server(read_only_seconds=0.3)
    state_file = str(tmp_path / "state.json")
    hosts = window_hosts(ucs, site)
    run = run_collection_playbook("window", hosts, {"window_work_tasks": inject_during_work(tmp_path, ucs.origin, "500:5:POST"),
                                                    "window_state_file": state_file})
    assert run.returncode != 0
    assert "Exiting maintenance failed on app1; the record is kept" in run.output
    assert "ucs: maintenance (putting back production failed" in run.output and "arcgis: editable (put back)" in run.output
    assert json.loads(open(state_file, encoding="utf-8").read())["records"]["app1"]["ucs"] == {"previous_mode": "production", "changed": True}
    # The operator runs exit again once the server behaves: the record restores UCS.
    ucs.faults.clear()
    again = run_collection_playbook("exit", hosts, {"window_state_file": state_file})
    assert again.returncode == 0, again.output
    assert ucs.state()["mode"] == "production"
    assert json.loads(open(state_file, encoding="utf-8").read())["records"] == {}


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    ({"url": "{host_port}/arcgis/admin"}, "must be an http:// or https:// URL"),
    ({"url": "{url}", "token_url": "portal.example.com/sharing/rest/generateToken"}, "token_url must be an http:// or https:// URL"),
    ({"url": "{url}", "mode": "readonly"}, "value of mode must be one of: read_only, editable"),
    ({"url": "{url}", "allow_editing_via_services": "sometimes"}, "'allow_editing_via_services' is of type"),
    ({"url": "{url}", "wait_timeout": "-1"}, "wait_timeout must be a positive number"),
    ({"url": "{url}", "timeout": 0}, "timeout must be a positive number"),
    ({"url": "{url}", "validate_certs": "perhaps"}, "'validate_certs' is of type"),
    ({"url": "{url}", "username": None, "password": None}, "Authentication needed"),
    ({"url": "{url}", "password": None}, "Authentication needed"),
    ({"url": "{url}", "token": "t0ken-Secret"}, "not both"),
])
def test_arcgis_bad_input_fails_before_any_request(arcgis_server, run_module, args, message):
    site = arcgis_server()
    args = dict({"mode": "read_only", "username": "admin", "password": "Pw-Secret7"}, **args)
    args = {k: v.format(url=site.url, host_port="127.0.0.1:%d" % site.port) if isinstance(v, str) else v
            for k, v in args.items() if v is not None}
    run = run_module("arcgis_site_mode", args)
    assert run.failed and message in run.msg, run.msg
    assert "Pw-Secret7" not in run.output and "t0ken-Secret" not in run.output
    assert site.requests == []


# -- secrets at -vvv -----------------------------------------------------------------------------------
def test_role_at_vvv_leaks_no_secret(ucs_server, arcgis_server, run_collection_playbook, tmp_path):
    ucs = ucs_server(username="ops", password="Ucs-Secret-3141", switch_seconds=0.3)
    site = arcgis_server(username="gis", password="Gis-Secret-2718", read_only_seconds=0.3)
    given_token_site = arcgis_server(read_only_seconds=0.3)
    token = given_token_site.issue_token()
    work = tmp_path / "work.yml"
    work.write_text("---\n- name: The work\n  ansible.builtin.debug:\n    msg: working\n")
    hosts = {
        "app1": {"window_ucs_url": ucs.url, "window_ucs_username": "ops", "window_ucs_password": "Ucs-Secret-3141",
                 "window_arcgis_url": site.url, "window_arcgis_username": "gis", "window_arcgis_password": "Gis-Secret-2718"},
        "app2": {"window_arcgis_url": given_token_site.url, "window_arcgis_token": token},
    }
    run = run_collection_playbook("window", hosts, {"window_work_tasks": str(work), "window_state_file": str(tmp_path / "state.json")},
                                  verbosity=3)
    assert run.returncode == 0, run.output[-3000:]
    assert (ucs.state()["mode"], site.state()["mode"], given_token_site.state()["mode"]) == ("production", "EDITABLE", "EDITABLE")
    secrets = {"Ucs-Secret-3141", "Gis-Secret-2718", token} | set(site.tokens)
    for secret in secrets:
        assert secret not in run.output
        assert secret not in (tmp_path / "state.json").read_text()
    for server in (ucs, site, given_token_site):
        for entry in server.requests:
            assert not any(secret in entry["path"] + entry["query"] for secret in secrets)
    # The ArcGIS tokens travelled in the bodies only.
    assert all(dict(parse_qsl(entry["body"])).get("token") == token for entry in given_token_site.requests)


# -- TLS ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("module, server_fixture, args", [
    ("ucs_server_mode", "ucs_server", {"mode": "maintenance"}),
    ("arcgis_site_mode", "arcgis_server", {"mode": "read_only", "username": "admin", "password": "admin"}),
])
def test_tls_verified_by_default_then_ca_path_then_off(request, run_module, module, server_fixture, args):
    server = request.getfixturevalue(server_fixture)(tls=True)
    refused = run_module(module, dict(args, url=server.url))
    assert refused.failed
    assert "TLS certificate verification failed" in refused.msg and "self-signed certificate" in refused.msg
    assert "ca_path" in refused.msg and "Nothing was changed" in refused.msg
    assert server.requests == []
    trusted = run_module(module, dict(args, url=server.url, ca_path=DEFAULT_CERT, wait=False))
    assert not trusted.failed, trusted.msg
    unverified = run_module(module, dict(args, url=server.url, validate_certs=False, wait=False))
    assert not unverified.failed, unverified.msg
