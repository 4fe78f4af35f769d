# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Modules: each module against the hand-written `uri` playbook a user would write instead, and
against `ansible.builtin.ping`, what Ansible itself costs for one task sent to a host, with
`ansible.builtin.debug` beside them, the floor of a task that runs on the controller. The modules
run in the controller's process (their action plugins); "as a module" is the same task with
opsmodes_maintenance_in_process=false, the module sent and run as any module is.

Converged and changing runs over `hosts` inventory hosts, each with its own UCS server and ArcGIS
site, the same forks for all; the variants alternate round by round so that a drift of the
machine's load favours none. Wall time of the whole `ansible-playbook` run, and requests per server
from the emulators' logs (the modules' promise: one request per UCS server when converged, two per
ArcGIS site, one with a token).
"""

from __future__ import annotations

import os
import statistics

from ansible_collections.opsmodes.maintenance.bench import harness

SWITCH_SECONDS = 1.0
# (name, playbook in bench/playbooks, the service whose servers it drives, extra variables).
AS_A_MODULE = {"opsmodes_maintenance_in_process": False}
VARIANTS = (
    ("debug", "debug.yml", None, {}),
    ("ping", "ping.yml", None, {}),
    ("ucs module", "ucs_module.yml", "ucs", {"wanted": "maintenance"}),
    ("ucs module, as a module", "ucs_module.yml", "ucs", dict(AS_A_MODULE, wanted="maintenance")),
    ("ucs uri", "ucs_uri.yml", "ucs", {"wanted": "maintenance"}),
    ("arcgis module", "arcgis_module.yml", "arcgis", {"wanted": "read_only"}),
    ("arcgis module, token", "arcgis_module.yml", "arcgis",
     {"wanted": "read_only", "arcgis_token": "{{ arcgis_token_value }}"}),
    ("arcgis module, as a module", "arcgis_module.yml", "arcgis", dict(AS_A_MODULE, wanted="read_only")),
    ("arcgis uri", "arcgis_uri.yml", "arcgis", {"wanted": "read_only"}),
)
# The issue's targets for converged runs (issue 26): module / uri, module / ping, requests per server.
MODULE_OVER_URI = {"ucs": 0.5, "arcgis": 0.5}
MODULE_OVER_PING = 0.8
REQUESTS = {"ucs module": 1, "ucs module, as a module": 1, "arcgis module": 2, "arcgis module, token": 1,
            "arcgis module, as a module": 2}
# Both paths ask the servers the same when they change the mode too.
SAME_REQUESTS = (("ucs module", "ucs module, as a module"), ("arcgis module", "arcgis module, as a module"))


def measure(options, workdir):
    """Converged runs `options.rounds` times, changing ones half as often (at least twice); ping
    changes nothing, so it runs once among the changing ones."""
    inventory = os.path.join(workdir, "modules.json")
    rounds = {"converged": options.rounds, "changing": max(2, options.rounds // 2)}
    results = {"hosts": options.hosts, "forks": options.forks, "rounds": rounds, "switch_seconds": SWITCH_SECONDS}
    with harness.Fleet(options.hosts, SWITCH_SECONDS, harness.sites_every(1)) as fleet:
        fleet.write_inventory(inventory, {host: {"arcgis_token_value": servers["arcgis"].issue_token()}
                                          for host, servers in fleet.hosts.items()})
        for state, state_rounds in rounds.items():
            for round_number in range(state_rounds):
                for name, playbook, service, extra in VARIANTS:
                    if state == "changing" and service is None and round_number > 0:
                        continue
                    fleet.put_all("maintenance_mode" if state == "converged" else "normal_mode")
                    fleet.clear_logs()
                    run = harness.run_playbook(os.path.join(harness.PLAYBOOKS, playbook), inventory, options.forks,
                                               extra).check("%s (%s)" % (name, state))
                    entry = results.setdefault(state, {}).setdefault(name, {"seconds": [], "requests_per_server": []})
                    entry["seconds"].append(run.seconds)
                    entry["requests_per_server"].append(fleet.requests_per_server()[service] if service else 0)
    for state in rounds:
        for entry in results[state].values():
            entry["median_seconds"] = statistics.median(entry["seconds"])
            entry["median_requests_per_server"] = statistics.median(entry["requests_per_server"])
    return results


def targets(results):
    converged = results["converged"]

    def seconds(name):
        return converged[name]["median_seconds"]

    rows = []
    for service, bound in MODULE_OVER_URI.items():
        value = harness.ratio(seconds(service + " module"), seconds(service + " uri"))
        rows.append(("converged: %s module / %s uri <= %g" % (service, service, bound), "%.2f" % value, value <= bound))
    for name in ("ucs module", "arcgis module", "arcgis module, token"):
        value = harness.ratio(seconds(name), seconds("ping"))
        rows.append(("converged: %s / ping <= %g" % (name, MODULE_OVER_PING), "%.2f" % value,
                     value <= MODULE_OVER_PING))
    for name, expected in REQUESTS.items():
        requests = converged[name]["median_requests_per_server"]
        rows.append(("converged: requests per server, %s = %d" % (name, expected), "%g" % requests,
                     requests == expected))
    changing = results["changing"]
    for in_process, as_a_module in SAME_REQUESTS:
        requests = [changing[name]["median_requests_per_server"] for name in (in_process, as_a_module)]
        rows.append(("changing: requests per server, %s = %s" % (in_process, as_a_module),
                     "%g = %g" % tuple(requests), requests[0] == requests[1]))
    return rows


def report(results):
    lines = ["## Modules against hand-written `uri` playbooks and `ping`", "",
             "%d inventory hosts, each with its own emulated server, forks %d; runs alternate between the variants, "
             "%d rounds converged and %d changing (switch %g s); median wall time of the whole `ansible-playbook` run."
             % (results["hosts"], results["forks"], results["rounds"]["converged"], results["rounds"]["changing"],
                results["switch_seconds"]), ""]
    ping = results["converged"]["ping"]["median_seconds"]
    for state in ("converged", "changing"):
        by = results[state]
        lines += ["### %s run" % state.capitalize(), "",
                  "| variant | wall time (s) | vs ping | requests per server |", "| --- | ---: | ---: | ---: |"]
        lines += ["| %s | %.2f | %.2f | %g |" % (name, entry["median_seconds"],
                                                 harness.ratio(entry["median_seconds"], ping),
                                                 entry["median_requests_per_server"]) for name, entry in by.items()]
        lines += ["", "| ratio | value |", "| --- | ---: |"]
        for module, uri in (("ucs module", "ucs uri"), ("ucs module, as a module", "ucs uri"),
                            ("arcgis module", "arcgis uri"), ("arcgis module, token", "arcgis uri"),
                            ("arcgis module, as a module", "arcgis uri"), ("ucs module", "debug"),
                            ("arcgis module", "debug")):
            value = harness.ratio(by[module]["median_seconds"], by[uri]["median_seconds"])
            lines.append("| %s / %s | %.2f |" % (module, uri, value))
        lines.append("")
    return lines
