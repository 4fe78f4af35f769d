# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Window: the role's enter then exit against the floor a user could write by hand, one bare
module task per service and no record, over the same hosts and forks; `ansible.builtin.ping`
run as often beside them shows what Ansible itself costs.

Each variant is two `ansible-playbook` runs, enter then exit, as users run the role, so that all
pay Ansible's start-up alike; the order of the variants alternates round by round. Every server is
checked in its maintenance mode after enter and back in its normal mode after exit.
"""

from __future__ import annotations

import os

from ansible_collections.opsmodes.maintenance.bench import harness
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._services import SERVICES, module_name, variable

SITE_EVERY = 3
PHASES = {"enter": "maintenance_mode", "exit": "normal_mode"}
ROLE_OVER_FLOOR = 1.2


def hand_floor(workdir, phase):
    """The floor by hand of a phase, from the service registry: per service one module task setting
    its maintenance mode (enter) or its normal mode (exit; set blindly, where the role puts back
    the mode it recorded), on the hosts that have one. Returns the playbook's path."""
    tasks = []
    for name, service in SERVICES.items():
        mode = getattr(service, PHASES[phase])
        options = {option: "{{ %s }}" % variable(service, option)
                   for option in ["url", *harness.CREDENTIALS.get(name, {})]}
        tasks.append({"name": "%s into %s" % (name, mode), module_name(service): dict(options, mode=mode),
                      "when": "%s is defined" % variable(service, "url")})
    return harness.write_playbook(os.path.join(workdir, "hand_floor_%s.yml" % phase), "Hand floor of " + phase, tasks)


def measure(options, workdir):
    inventory = os.path.join(workdir, "window.json")
    state_file = os.path.join(workdir, "window-state.db")
    ping = os.path.join(harness.PLAYBOOKS, "ping.yml")
    variants = {"role": {phase: "opsmodes.maintenance." + phase for phase in PHASES},
                "floor": {phase: hand_floor(workdir, phase) for phase in PHASES},
                # Not a contender: what any two runs over these hosts cost, to show what is left to gain.
                "ping": dict.fromkeys(PHASES, ping)}
    samples = {name: [] for name in variants}
    with harness.Fleet(options.window_hosts, options.window_switch_seconds, harness.sites_every(SITE_EVERY)) as fleet:
        fleet.write_inventory(inventory)
        for round_number in range(options.rounds):
            for name in sorted(variants, reverse=round_number % 2 == 1):
                samples[name].append(_window(fleet, name, variants[name], inventory, options.window_forks, state_file))
        servers = {name: len(group) for name, group in fleet.servers.items()}
    keys = list(samples["role"][0])
    return {"hosts": options.window_hosts, "servers": servers, "forks": options.window_forks, "rounds": options.rounds,
            "switch_seconds": options.window_switch_seconds,
            "variants": {name: {"rounds": runs, "median": harness.medians(runs, keys)}
                         for name, runs in samples.items()}}


def _window(fleet, name, playbooks, inventory, forks, state_file):
    """One variant's enter and exit: {phase_seconds, seconds, requests_<service>}."""
    _check_modes(fleet, name, "the previous round", "normal_mode")
    fleet.clear_logs()
    # Each round starts with no record, as the first window on these hosts would.
    if os.path.exists(state_file):
        os.remove(state_file)
    sample = {}
    for phase, playbook in playbooks.items():
        run = harness.run_playbook(playbook, inventory, forks, {"window_state_file": state_file})
        run.check("%s %s" % (name, phase))
        _check_modes(fleet, name, phase, "normal_mode" if name == "ping" else PHASES[phase])
        sample[phase + "_seconds"] = run.seconds
    sample["seconds"] = sum(sample[phase + "_seconds"] for phase in PHASES)
    sample.update(("requests_" + service, requests) for service, requests in fleet.requests_per_server().items())
    return sample


def _check_modes(fleet, name, after, which):
    """A RuntimeError unless every server is settled in its `which` mode: a switch left running would
    make the next run start from somewhere else."""
    wrong = fleet.misplaced(which)
    if wrong:
        raise RuntimeError("%s: after %s, not in its %s: %s" % (name, after, which.replace("_", " "), ", ".join(wrong)))


def targets(results):
    value = harness.ratio(results["variants"]["role"]["median"]["seconds"],
                          results["variants"]["floor"]["median"]["seconds"])
    return [("role enter+exit / floor <= %g" % ROLE_OVER_FLOOR, "%.2f" % value, value <= ROLE_OVER_FLOOR)]


def report(results):
    services = list(results["servers"])
    lines = ["## The role's window against the floor by hand", "",
             "%d inventory hosts, %s (%s servers); forks %d; %d rounds, alternating which variant goes first. "
             "The role: `ansible-playbook opsmodes.maintenance.enter` then `opsmodes.maintenance.exit`, with a state "
             "file (removed before each round). The floor: one bare module task per service, written from the "
             "service registry (window.hand_floor), into the maintenance mode on enter and the normal mode on exit, "
             "no record; connection local from the inventory as for the role (which delegates to localhost). Both are "
             "two `ansible-playbook` runs; every server is checked in its maintenance mode after enter and back in "
             "its normal mode after exit. ping: `ansible.builtin.ping` run twice over the same hosts, what Ansible "
             "itself costs, for reference. Median wall time; enter + exit is the median of each round's sum."
             % (results["hosts"], harness.describe_fleet(SITE_EVERY, results["switch_seconds"]),
                ", ".join("%d %s" % (n, name) for name, n in results["servers"].items()), results["forks"],
                results["rounds"]), "",
             "| variant | enter (s) | exit (s) | enter + exit (s) | "
             + " | ".join("requests per %s server" % name for name in services) + " |",
             "| --- | ---: | ---: | ---: |" + " ---: |" * len(services)]
    for name, variant in results["variants"].items():
        median = variant["median"]
        requests = " | ".join("%g" % median["requests_" + service] for service in services)
        lines.append("| %s | %.2f | %.2f | %.2f | %s |" % (name, median["enter_seconds"], median["exit_seconds"],
                                                           median["seconds"], requests))
    role, floor = results["variants"]["role"]["median"], results["variants"]["floor"]["median"]
    lines += ["", "| ratio | value |", "| --- | ---: |"]
    lines += ["| role / floor, %s | %.2f |" % (what, harness.ratio(role[key], floor[key]))
              for what, key in (("enter", "enter_seconds"), ("exit", "exit_seconds"), ("enter + exit", "seconds"))]
    return lines + [""]
