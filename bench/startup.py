# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Start-up: what one module run costs on the controller, and where that goes: Python itself, the
imports a module makes (ansible's basic, and requests or ansible's own urls beside it), and a
converged run of ucs_server_mode against a server already in maintenance, outside Ansible."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

from ansible_collections.opsmodes.maintenance.bench import harness
from ansible_collections.opsmodes.maintenance.tests.emulators.ucs import UcsEmulator

IMPORTS = {"python_start": "pass",
           "import_basic": "import ansible.module_utils.basic",
           "import_basic_and_requests": "import ansible.module_utils.basic, requests",
           "import_basic_and_urls": "import ansible.module_utils.basic, ansible.module_utils.urls"}


def _median_seconds(command, runs, env=None):
    times = []
    for _run in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(options, workdir):
    runs = options.startup_runs
    seconds = {name: _median_seconds([sys.executable, "-c", code], runs) for name, code in IMPORTS.items()}
    with UcsEmulator(initial_mode="maintenance") as server:
        arguments = os.path.join(workdir, "args.json")
        with open(arguments, "w", encoding="utf-8") as stream:
            json.dump({"ANSIBLE_MODULE_ARGS": {"url": server.url, "mode": "maintenance"}}, stream)
        module = os.path.join(harness.COLLECTION, "plugins", "modules", "ucs_server_mode.py")
        # The module imports its module_utils from the ansible_collections tree the collection is in.
        env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.dirname(harness.COLLECTION))))
        seconds["converged_module_run"] = _median_seconds([sys.executable, module, arguments], runs, env=env)
    return {"runs": runs, "seconds": seconds}


def targets(_results):
    return []


def report(results):
    lines = ["## Module start-up", "", "Median of %d runs on this machine." % results["runs"], "",
             "| what | seconds |", "| --- | ---: |"]
    lines += ["| %s | %.3f |" % (name.replace("_", " "), seconds) for name, seconds in results["seconds"].items()]
    return lines + [""]
