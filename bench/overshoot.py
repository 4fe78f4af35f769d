# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Overshoot: how long after a switch ends the module notices, and how hard it polls meanwhile.

Per sample, one host with one fresh server whose switch lasts a known time: the emulator knows
when the switch ended, its log when the module's confirming request (the last; the task returns
right after it) came, and how many requests came while the server switched.
"""

from __future__ import annotations

import os
import statistics

from ansible_collections.opsmodes.maintenance.bench import harness
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._services import SERVICES

# The request that starts each service's switch, by the end of its path.
WRITES = {"ucs": "/server/mode", "arcgis": "/mode/update"}
MEDIAN_BELOW = 0.5
POLLS_PER_SECOND = 2.0


def measure(options, workdir):
    inventory = os.path.join(workdir, "overshoot.json")
    results = {"samples": options.samples, "switch_seconds": options.switch_seconds, "services": {}}
    for name, service in SERVICES.items():
        overshoots, rates = [], []
        for _sample in range(options.samples):
            with harness.Fleet(1, options.switch_seconds, {name: 1}) as fleet:
                fleet.write_inventory(inventory)
                harness.run_playbook(os.path.join(harness.PLAYBOOKS, "%s_module.yml" % name), inventory, 1,
                                     {"wanted": service.maintenance_mode}).check("%s module" % name)
                [server] = fleet.servers[name]
                [write] = server.requests_to(WRITES[name])
                switch_end = write["time"] + options.switch_seconds
                overshoots.append(server.requests[-1]["time"] - switch_end)
                during = [r for r in server.requests if write["time"] < r["time"] <= switch_end]
                rates.append(len(during) / options.switch_seconds)
        results["services"][name] = {"overshoot_seconds": overshoots,
                                     "median_overshoot_seconds": statistics.median(overshoots),
                                     "polls_per_second": rates, "mean_polls_per_second": statistics.mean(rates)}
    return results


def targets(results):
    rows = []
    for name, entry in results["services"].items():
        median, polls = entry["median_overshoot_seconds"], entry["mean_polls_per_second"]
        rows.append(("%s overshoot: median < %g s" % (name, MEDIAN_BELOW), "%.3f s" % median, median < MEDIAN_BELOW))
        rows.append(("%s: polls while switching <= %g per second" % (name, POLLS_PER_SECOND), "%.2f" % polls,
                     polls <= POLLS_PER_SECOND))
    return rows


def report(results):
    lines = ["## Overshoot", "",
             "A switch of %.1f s, %d samples per module: the time from the end of the switch (known to the emulator) "
             "to the arrival of the module's confirming request, after which the task returns; and the requests the "
             "server got while it switched." % (results["switch_seconds"], results["samples"]), "",
             "| module | median overshoot (s) | max (s) | polls per second while switching (mean) |",
             "| --- | ---: | ---: | ---: |"]
    lines += ["| %s | %.3f | %.3f | %.2f |" % (name, entry["median_overshoot_seconds"], max(entry["overshoot_seconds"]),
                                               entry["mean_polls_per_second"])
              for name, entry in results["services"].items()]
    return lines + [""]
