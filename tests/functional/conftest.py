# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Functional tests: the modules run by ansible-playbook against the emulators over loopback.

Run from the collection laid out by the Makefile (ANSIBLE_COLLECTIONS_PATH and PYTHONPATH point
at build/collections), with the ansible-core of the Python running pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

import pytest

from ansible_collections.opsmodes.maintenance.tests.emulators.arcgis import ArcgisEmulator
from ansible_collections.opsmodes.maintenance.tests.emulators.ucs import UcsEmulator
from ansible_collections.opsmodes.maintenance.tests.support.postgresql import (  # pylint: disable=unused-import
    postgresql, postgresql_cluster)

BIN = os.path.dirname(sys.executable)


@pytest.fixture(autouse=True)
def home(tmp_path_factory, monkeypatch):
    """A home of its own for each test: the role keeps its records under ~/.ansible by default,
    and tests running side by side must not share them (nor touch the user's)."""
    path = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(path))
    return path


@dataclass
class Run:
    result: dict
    output: str
    returncode: int

    @property
    def failed(self):
        return bool(self.result.get("failed"))

    @property
    def msg(self):
        return self.result.get("msg", "")


def _playbook(tasks_yaml, result_file):
    return """---
- name: Functional test
  hosts: localhost
  gather_facts: false
  tasks:
%s
    - name: Save the result for the test
      ansible.builtin.copy:
        content: "{{ outcome | to_json }}"
        dest: %s
        mode: "0600"
      check_mode: false
      diff: false
""" % (tasks_yaml, json.dumps(str(result_file)))


def run_playbook(tmp_path, tasks_yaml, check=False, diff=False, env=None, verbosity=0, extra_args=()):
    """Run tasks (YAML, indented for a task list, the last one registering `outcome`)."""
    result_file = tmp_path / "result.json"
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(_playbook(tasks_yaml, result_file))
    command = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=%s" % sys.executable, str(playbook)]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    if verbosity:
        command.append("-" + "v" * verbosity)
    command.extend(extra_args)
    environment = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false",
                       ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_RETRY_FILES_ENABLED="false")
    environment.update(env or {})
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600, check=False)
    output = completed.stdout + completed.stderr
    assert result_file.exists(), "the playbook did not get to save a result:\n" + output
    return Run(result=json.loads(result_file.read_text()), output=output, returncode=completed.returncode)


def module_task(module, args):
    """One task running `module` with `args` (a dict, written as JSON, which is YAML)."""
    return """    - name: Run the module
      opsmodes.maintenance.%s: %s
      register: outcome
      ignore_errors: true""" % (module, json.dumps(args))


@dataclass
class PlaybookRun:
    output: str
    returncode: int


@pytest.fixture
def run_collection_playbook(tmp_path):
    """Run one of the collection's playbooks (`window`, `enter`, `exit`) against an inventory given
    as host name -> host variables."""
    def run(name, hosts, extra_vars=None, verbosity=0, check=False):
        inventory = tmp_path / "inventory.json"
        inventory.write_text(json.dumps({"all": {
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}, "hosts": hosts}}))
        command = [os.path.join(BIN, "ansible-playbook"), "opsmodes.maintenance." + name, "-i", str(inventory),
                   "-e", json.dumps(extra_vars or {})]
        if verbosity:
            command.append("-" + "v" * verbosity)
        if check:
            command += ["--check", "--diff"]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False,
                                   env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="false"))
        return PlaybookRun(output=completed.stdout + completed.stderr, returncode=completed.returncode)
    return run


# The two paths a mode module's task takes on the controller: its code in the controller's process
# (the default), or the module run as any module is (opsmodes_maintenance_in_process=false). Every
# test of the modules runs on both.
PATHS = {"in_process": (), "module": ("-e", "opsmodes_maintenance_in_process=false")}


@pytest.fixture(params=sorted(PATHS))
def module_path(request):
    return request.param


@pytest.fixture
def run_tasks(tmp_path, module_path):
    def run(tasks_yaml, extra_args=(), **kwargs):
        return run_playbook(tmp_path, tasks_yaml, extra_args=PATHS[module_path] + tuple(extra_args), **kwargs)
    return run


@pytest.fixture
def run_module(run_tasks):
    def run(module, args, **kwargs):
        return run_tasks(module_task(module, args), **kwargs)
    return run


def _serve(cls):
    """A fixture body: a factory of started emulators of `cls`, all stopped afterwards."""
    started = []

    def make(**switches):
        emulator = cls(**switches).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def ucs_server():
    yield from _serve(UcsEmulator)


@pytest.fixture
def arcgis_server():
    yield from _serve(ArcgisEmulator)


# The role's tests (test_window*.py) share these: an operator running the collection's playbooks
# from a directory of its own, and a small inventory of emulated servers.
@pytest.fixture
def operator(tmp_path):
    from ansible_collections.opsmodes.maintenance.tests.functional.test_window import Operator
    return Operator(tmp_path)


@pytest.fixture
def servers(ucs_server, arcgis_server):
    """app1 with a UCS server and an ArcGIS site, app2 with a UCS server already in maintenance."""
    def make(ucs_seconds=0.3, arcgis_seconds=0.3, **switches):
        app1_ucs = ucs_server(switch_seconds=ucs_seconds, **switches.get("app1_ucs", {}))
        app1_site = arcgis_server(read_only_seconds=arcgis_seconds, editable_seconds=arcgis_seconds,
                                  **switches.get("app1_arcgis", {}))
        app2_ucs = ucs_server(switch_seconds=ucs_seconds, initial_mode="maintenance")
        hosts = {"app1": {"window_ucs_url": app1_ucs.url, "window_arcgis_url": app1_site.url},
                 "app2": {"window_ucs_url": app2_ucs.url}}
        return app1_ucs, app1_site, app2_ucs, hosts
    return make
