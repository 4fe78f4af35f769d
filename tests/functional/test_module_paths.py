# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One module, two paths, the same behaviour: each case runs the same task in the controller's
process and as a module (opsmodes_maintenance_in_process=false), against servers alike, and what
the task registered, what the servers were asked and what the output shows must be the same."""

from __future__ import annotations

import json
import os
import re

import pytest

from ansible_collections.opsmodes.maintenance.tests.emulators.arcgis import ArcgisEmulator
from ansible_collections.opsmodes.maintenance.tests.emulators.ucs import UcsEmulator
from ansible_collections.opsmodes.maintenance.tests.functional.conftest import PATHS, run_playbook

CA = os.path.join(os.path.dirname(__file__), "..", "emulators", "certs", "emulator.crt")
SECRET = "Pa55-word-9"
# What differs from one run to the next whatever the path: times and the servers' clocks.
VOLATILE = {"elapsed", "system_time", "last_request", "started", "lastModified", "sent", "until", "request_today"}


def normalized(value, origin, directory):
    """`value` without what differs between two runs whatever the path: times, the server's
    origin and job ids, the run's own directory (which error messages name the playbook in)."""
    if isinstance(value, dict):
        return {key: "<volatile>" if key in VOLATILE else normalized(item, origin, directory)
                for key, item in value.items()}
    if isinstance(value, list):
        return [normalized(item, origin, directory) for item in value]
    if isinstance(value, str):
        value = value.replace(origin, "<server>").replace(directory, "<directory>")
        # The emulator's job ids are random (tests/emulators/arcgis.py).
        value = re.sub(r"\bj\d+[0-9a-f]{8}\b", "<job>", value)
        value = re.sub(r'"(%s)": [0-9.]+' % "|".join(VOLATILE), r'"\1": "<volatile>"', value)
        return re.sub(r"\d+ ms|\d+\.\d+ ?s\b", "<duration>", value)
    return value


def task(module, args, **keywords):
    body = {"name": "Run the module", "register": "outcome", "ignore_errors": True, module: args}
    body.update(keywords)
    return "    - " + json.dumps(body)


UCS = "opsmodes.maintenance.ucs_server_mode"
ARCGIS = "opsmodes.maintenance.arcgis_site_mode"
# (case, server kind, its switches, the task with the URL as {url}, playbook options)
CASES = [
    ("switches, with a diff", "ucs", {}, lambda url: task(UCS, {"url": url, "mode": "maintenance"}), {"diff": True}),
    ("already so", "ucs", {"initial_mode": "maintenance"}, lambda url: task(UCS, {"url": url, "mode": "maintenance"}),
     {"diff": True}),
    ("check mode", "ucs", {}, lambda url: task(UCS, {"url": url, "mode": "maintenance"}),
     {"check": True, "diff": True}),
    ("a refused login, its password masked", "ucs", {"username": "ops", "password": "other"},
     lambda url: task(UCS, {"url": url, "mode": "maintenance", "username": "ops", "password": SECRET}), {}),
    ("a required option missing", "ucs", {}, lambda url: task(UCS, {"mode": "maintenance"}), {}),
    ("an option it does not take", "ucs", {}, lambda url: task(UCS, {"url": url, "mode": "maintenance", "bogus": 1}),
     {}),
    ("options required together", "ucs", {},
     lambda url: task(UCS, {"url": url, "mode": "maintenance", "username": "ops"}), {}),
    ("a choice it does not have", "ucs", {}, lambda url: task(UCS, {"url": url, "mode": "paused"}), {}),
    ("the environment fallbacks from the task's environment", "ucs", {"username": "ops", "password": SECRET},
     lambda url: task(UCS, {"mode": "maintenance"},
                      environment={"UCS_URL": url, "UCS_USERNAME": "ops", "UCS_PASSWORD": SECRET}), {"diff": True}),
    ("module_defaults of the action group", "ucs", {},
     lambda url: task(UCS, {"mode": "maintenance"}, module_defaults={"group/opsmodes.maintenance.ucs": {"url": url}}),
     {}),
    ("a site over TLS, its CA from the task's environment, a token generated and masked", "arcgis",
     {"tls": True, "username": "siteadmin", "password": SECRET},
     lambda url: task(ARCGIS, {"url": url, "mode": "read_only", "username": "siteadmin", "password": SECRET},
                      environment={"ARCGIS_CA_PATH": CA}), {"diff": True}),
    ("a site over TLS without its CA", "arcgis", {"tls": True},
     lambda url: task(ARCGIS, {"url": url, "mode": "read_only", "username": "admin", "password": "admin"}), {}),
    ("a site whose update job fails", "arcgis", {"job_result": "failed"},
     lambda url: task(ARCGIS, {"url": url, "mode": "read_only", "username": "admin", "password": "admin"}), {}),
]


@pytest.mark.parametrize("case, kind, switches, make_task, options", CASES, ids=[case[0] for case in CASES])
def test_both_paths_register_and_ask_the_same(case, kind, switches, make_task, options, tmp_path):
    seen = {}
    for path, extra_args in PATHS.items():
        server = (UcsEmulator(switch_seconds=0.2, **switches) if kind == "ucs" else
                  ArcgisEmulator(read_only_seconds=0.2, **switches)).start()
        try:
            directory = tmp_path / path
            directory.mkdir()
            run = run_playbook(directory, make_task(server.url), extra_args=extra_args, **options)
            asked = [(r["method"], normalized(r["path"], server.origin, str(directory))) for r in server.requests]
            # A job's polls counted once: how many fit in its time is the clock's.
            asked = [request for index, request in enumerate(asked) if index == 0 or asked[index - 1] != request]
            seen[path] = (normalized(run.result, server.origin, str(directory)), asked, server.state()["mode"],
                          normalized(_shown(run.output), server.origin, str(directory)))
        finally:
            server.stop()
        assert SECRET not in run.output, "%s: the password showed on the %s path" % (case, path)
    assert seen["in_process"] == seen["module"], case


def _shown(output):
    """What the task showed: its diff and the line of its outcome, without the recap's timing."""
    task_output = output.split("TASK [Run the module]", 1)[1].split("TASK [Save the result", 1)[0]
    return [line for line in task_output.splitlines() if line.strip() and not line.startswith("***")]


@pytest.mark.parametrize("case, keywords, extra_args, sent", [
    ("on the controller: in the controller's process", {}, (), False),
    ("opsmodes_maintenance_in_process=false", {}, PATHS["module"], True),
    ("an async task: a job of its own", {"async": 60, "poll": 1}, (), True),
    ("become: another user than the controller's process", {"become": True, "become_method": "ansible.builtin.su"},
     (), True),
])
def test_the_module_is_sent_only_where_the_task_needs_it(case, keywords, extra_args, sent, tmp_path, ucs_server):
    ucs = ucs_server(switch_seconds=0.2)
    # The async job's results where async_status looks for them, whatever the tests' HOME.
    run = run_playbook(tmp_path, task(UCS, {"url": ucs.url, "mode": "maintenance"}, **keywords), verbosity=3,
                       extra_args=extra_args, env={"ANSIBLE_ASYNC_DIR": str(tmp_path / "async")})
    assert run.result["changed"] and not run.result.get("failed"), run.output
    assert ucs.state()["mode"] == "maintenance"
    assert ("AnsiballZ_ucs_server_mode.py" in run.output) == sent, case


def test_a_switch_that_is_not_a_boolean_fails_the_task_before_any_request(tmp_path, ucs_server):
    ucs = ucs_server()
    run = run_playbook(tmp_path, task(UCS, {"url": ucs.url, "mode": "maintenance"}),
                       extra_args=("-e", "opsmodes_maintenance_in_process=maybe"))
    assert run.result["failed"]
    assert run.result["msg"] == "opsmodes_maintenance_in_process must be a boolean (true or false), got 'maybe'"
    assert not ucs.requests
