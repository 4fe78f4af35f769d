# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scale: the role's enter and exit over many hosts, each phase right beside Ansible's own floor.

The issue's target: each phase over 300 hosts at forks 50 within one switch plus FLOOR_FACTOR
times the debug floor, a playbook of FLOOR_PER_HOST `ansible.builtin.debug` tasks per host and
FLOOR_ONCE run once, over the same hosts and forks, in the same run. The role's phase may run no
more tasks than that (the playbook's include_role with tasks_from, the role's argument validation,
request, confirm; the summary once per play): each run's recap is checked against the floor's,
and the bench fails when the role runs more, so that the bound never flatters a regression.

What each phase wrote to the record is counted from the state file itself after the phase, never
from the code; and each run's peak memory is its process tree's proportional set size (harness).
The record's lock (record_lock) is measured after the runs, over as many hosts as the largest.
"""

from __future__ import annotations

import os
import sys

from ansible_collections.opsmodes.maintenance.bench import harness, record_lock
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._state_file import StateFile
from ansible_collections.opsmodes.maintenance.tests.support.state_file import commits as state_file_commits

PHASES = {"enter": "maintenance_mode", "exit": "normal_mode"}
FLOOR_PER_HOST, FLOOR_ONCE = 4, 1
# The targets: exit / enter at (hosts, forks) RATIO_AT; each phase at FLOOR_AT within one
# switch plus FLOOR_FACTOR debug floors.
RATIO_AT, RATIO_TARGET = (100, 5), 1.25
FLOOR_AT, FLOOR_FACTOR = (300, 50), 1.5
# What is a median over the rounds, of each run.
MEDIANS = ("seconds", "peak_pss_mib", "workers_at_peak", "transactions")


def debug_floor(workdir):
    """The debug floor's playbook, the same for enter and exit; returns its path."""
    tasks = [{"name": "Debug floor | Task %d of each host" % number,
              "ansible.builtin.debug": {"msg": "{{ inventory_hostname }} %d" % number}}
             for number in range(1, FLOOR_PER_HOST + 1)]
    tasks += [{"name": "Debug floor | Once for the play", "run_once": True,
               "ansible.builtin.debug": {"msg": "{{ ansible_play_hosts_all | length }} hosts"}}] * FLOOR_ONCE
    return harness.write_playbook(os.path.join(workdir, "debug_floor.yml"), "Debug floor", tasks)


def measure(options, workdir):
    """Per (hosts, forks) of --scale and per round, each phase of the role (its own ansible-playbook
    run with a state file, as users run it) and the debug floor, one right after the other, which
    goes first alternating; one fleet per host count."""
    configs = [tuple(int(n) for n in pair.split(":")) for pair in options.scale.split(",")]
    every = harness.sites_every(options.scale_site_every)
    inventory = os.path.join(workdir, "scale.json")
    floor = debug_floor(workdir)
    load_before = os.getloadavg()[0]
    rows = []
    for hosts in sorted({hosts for hosts, _forks in configs}):
        with harness.Fleet(hosts, options.scale_switch_seconds, every) as fleet:
            fleet.write_inventory(inventory)
            for forks in [forks for size, forks in configs if size == hosts]:
                rounds = [_round(fleet, inventory, forks, number, floor, workdir)
                          for number in range(options.scale_rounds)]
                rows.append({"hosts": hosts, "forks": forks,
                             "servers": {name: len(group) for name, group in fleet.servers.items()},
                             "rounds": rounds,
                             "median": {key: harness.medians([r[key] for r in rounds], MEDIANS) for key in rounds[0]}})
    results = {"switch_seconds": options.scale_switch_seconds, "site_every": options.scale_site_every,
               "rounds": options.scale_rounds, "floor_tasks": [FLOOR_PER_HOST, FLOOR_ONCE], "configs": rows,
               "load": [load_before, os.getloadavg()[0]]}
    results["lock"] = record_lock.measure(max(hosts for hosts, _forks in configs), every, options.lock_samples,
                                          workdir)
    return results


def _round(fleet, inventory, forks, round_number, floor, workdir):
    """One round of a configuration: {"<role|floor>_<phase>": what its run measured}."""
    state_file = os.path.join(workdir, "scale-state.db")
    # Where the first window on these hosts would start, whatever a failed phase left (a switch under
    # way ends here too).
    fleet.put_all("normal_mode")
    measures = {}
    if os.path.exists(state_file):
        os.remove(state_file)
    sequences, commits = {}, 0
    for index, phase in enumerate(PHASES):
        playbooks = [("floor", floor), ("role", "opsmodes.maintenance." + phase)]
        if (index + round_number) % 2:
            playbooks.reverse()
        runs = {}
        for name, playbook in playbooks:
            fleet.clear_logs()
            run = runs[name] = harness.run_playbook(playbook, inventory, forks, {"window_state_file": state_file},
                                                    memory=True)
            measure = {"seconds": run.seconds, "peak_pss_mib": run.peak_pss_mib,
                       "workers_at_peak": run.workers_at_peak, "rc": run.code, "failed_hosts": run.failed_hosts(),
                       "fatal": run.fatal_lines(), "tasks_per_host": harness.spread(run.tasks_by_host())}
            if name == "floor":
                run.check("the debug floor beside " + phase)
            else:
                before, sequences = sequences, _sequences(state_file)
                by_host = _entry_writes(fleet.host_of_key(), before, sequences)
                earlier, commits = commits, state_file_commits(state_file)
                measure.update(transactions=commits - earlier, entry_writes_per_host=harness.spread(by_host),
                               requests=fleet.requests_per_server(), max_requests=fleet.max_requests(),
                               misplaced=len(fleet.misplaced(PHASES[phase])))
            measures["%s_%s" % (name, phase)] = measure
            print("scale: %d hosts, forks %d, %s %s: %.1f s, exit code %d, peak PSS %.0f MiB, load %.1f" % (
                len(fleet.hosts), forks, name, phase, run.seconds, run.code, run.peak_pss_mib, os.getloadavg()[0]),
                file=sys.stderr, flush=True)
        _check_tasks(phase, runs["role"], runs["floor"])
    return measures


def _check_tasks(phase, role, floor):
    """Fail the bench when the role's phase ran more tasks on a host than the debug floor did there
    (the recaps' counts: the floor's run_once task counts on its first host only)."""
    floor_tasks = floor.tasks_by_host()
    more = {host: tasks for host, tasks in role.tasks_by_host().items() if tasks > floor_tasks.get(host, 0)}
    if more:
        host = sorted(more)[0]
        raise RuntimeError(
            "The role's %s ran more tasks than the debug floor on %d of %d hosts (%s: %d tasks, the floor's %d): the "
            "target allows %d per host and %d once per play. The role's phase has more tasks than it may; the bound "
            "against the floor would not show it." % (phase, len(more), len(floor_tasks), host, more[host],
                                                      floor_tasks.get(host, 0), FLOOR_PER_HOST, FLOOR_ONCE))


def _sequences(state_file):
    """{server key: its entry's sequence} in the state file (none before its first write)."""
    return {key: entry["sequence"] for key, entry in StateFile(state_file).read().servers.items()}


def _entry_writes(host_of_key, before, after):
    """{host: the writes to its entries in the phase}, from their sequences before and after it:
    every write advances an entry's sequence by one (a new entry starts at 1)."""
    writes = {}
    for key, sequence in after.items():
        writes[host_of_key[key]] = writes.get(host_of_key[key], 0) + sequence - before.get(key, 0)
    return writes


# -- report ----------------------------------------------------------------------------------------
def figures(row, switch_seconds):
    """A configuration's medians, with how far beyond one switch each phase is in debug floors, the
    bound it is held to, and what each live worker of the role costs above the floor's peak."""
    median = row["median"]
    out = {"ratio": harness.ratio(median["role_exit"]["seconds"], median["role_enter"]["seconds"])}
    for phase in PHASES:
        role, floor = median["role_" + phase], median["floor_" + phase]
        out[phase] = {"seconds": role["seconds"], "floor_seconds": floor["seconds"],
                      "over_floor": harness.ratio(role["seconds"] - switch_seconds, floor["seconds"]),
                      "bound": switch_seconds + FLOOR_FACTOR * floor["seconds"],
                      "per_worker_mib": harness.ratio(role["peak_pss_mib"] - floor["peak_pss_mib"],
                                                      role["workers_at_peak"])}
    return out


def targets(results):
    rows = []
    for row in results["configs"]:
        numbers = figures(row, results["switch_seconds"])
        where = "%d hosts, forks %d" % (row["hosts"], row["forks"])
        if (row["hosts"], row["forks"]) == RATIO_AT:
            rows.append(("scale: exit / enter <= %.2f at %s" % (RATIO_TARGET, where), "%.2f" % numbers["ratio"],
                         numbers["ratio"] <= RATIO_TARGET))
        if (row["hosts"], row["forks"]) == FLOOR_AT:
            rows += [("scale: %s at %s <= switch + %g x debug floor" % (phase, where, FLOOR_FACTOR),
                      "%.1f s (bound %.1f s)" % (numbers[phase]["seconds"], numbers[phase]["bound"]),
                      numbers[phase]["seconds"] <= numbers[phase]["bound"]) for phase in PHASES]
    return rows + record_lock.targets(results)


def report(results):
    switch = results["switch_seconds"]
    services = list(results["configs"][0]["servers"])
    lines = [
        "## Scale: the role's phases against Ansible's own floor", "",
        "Inventory hosts, %s. The role: `ansible-playbook opsmodes.maintenance.enter`, then "
        "`opsmodes.maintenance.exit`, with a state file (removed before each round). The debug floor: a playbook of "
        "%d `ansible.builtin.debug` tasks per host and %d `run_once` (what the role's phase may run: the playbook's "
        "include_role with tasks_from, the role's argument validation, request, confirm; the summary once per "
        "play), over the same inventory and forks, each run right beside its role phase, the order of the two "
        "alternating; the role's recap is checked against the floor's, and the bench fails if the role runs more "
        "tasks on a host. Over floor: (phase - one switch) / debug floor; the target: phase <= one switch + %g x "
        "debug floor. Requests: from the emulators' logs, per server and phase, the mean over each service's "
        "servers (the busiest server of any in brackets). %d round(s), median. Load average (1 min) before and "
        "after the section: %.2f, %.2f on %d cores, other work possibly running beside it."
        % (harness.describe_fleet(results["site_every"], switch), *results["floor_tasks"], FLOOR_FACTOR,
           results["rounds"], results["load"][0], results["load"][1], os.cpu_count()), "",
        "| hosts | forks | enter (s) | exit (s) | exit / enter | debug floor enter (s) | debug floor exit (s) "
        "| enter over floor | exit over floor | role's tasks per host, enter; exit | "
        + " | ".join("requests per %s server enter / exit" % name for name in services)
        + " | failed hosts | servers not where they should be |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |" + " ---: |" * len(services)
        + " ---: | ---: |"]
    for row in results["configs"]:
        numbers = figures(row, switch)
        last = row["rounds"][-1]
        roles = [r["role_" + phase] for r in row["rounds"] for phase in PHASES]
        lines.append(
            "| %d | %d | %.1f | %.1f | %.2f | %.1f | %.1f | %.2f | %.2f | %s; %s | " % (
                row["hosts"], row["forks"], numbers["enter"]["seconds"], numbers["exit"]["seconds"], numbers["ratio"],
                numbers["enter"]["floor_seconds"], numbers["exit"]["floor_seconds"], numbers["enter"]["over_floor"],
                numbers["exit"]["over_floor"], harness.spread_text(last["role_enter"]["tasks_per_host"]),
                harness.spread_text(last["role_exit"]["tasks_per_host"]))
            + " | ".join("%.1f / %.1f (%d / %d)" % (last["role_enter"]["requests"][name],
                                                    last["role_exit"]["requests"][name],
                                                    last["role_enter"]["max_requests"],
                                                    last["role_exit"]["max_requests"]) for name in services)
            + " | %d | %d |" % (len({host for role in roles for host in role["failed_hosts"]}),
                                max(role["misplaced"] for role in roles)))
    lines += ["", "| target | measured | met |", "| --- | --- | --- |"]
    lines += ["| %s | %s | %s |" % (target, measured, "yes" if met else "**no**")
              for target, measured, met in targets(results)]
    lines += memory_report(results) + _failures(results)
    return lines + [""] + record_lock.report(results)


def memory_report(results):
    lines = [
        "", "### Peak memory", "",
        "Memory is the proportional set size (PSS): the sum of `Pss:` in /proc/<pid>/smaps_rollup over "
        "ansible-playbook and every process below it, sampled every %.2f s, the peak kept. PSS splits each "
        "shared page among the processes sharing it, so ansible-playbook's forked workers, which share most of "
        "their pages with it, count what they add (the sum of resident sizes counted the shared pages once per "
        "worker). Live workers: ansible-playbook's forked children alive at the peak. Above the floor per live "
        "worker: (the role's peak - the debug floor's peak) / the role's live workers at its peak." % (
            harness.SAMPLE_SECONDS), "",
        "| hosts | forks | phase | role's peak PSS (MiB) | live workers at it | debug floor's peak PSS (MiB) "
        "| live workers at it | above the floor per live worker (MiB) |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in results["configs"]:
        numbers = figures(row, results["switch_seconds"])
        for phase in PHASES:
            role, floor = row["median"]["role_" + phase], row["median"]["floor_" + phase]
            lines.append("| %d | %d | %s | %.0f | %g | %.0f | %g | %.1f |" % (
                row["hosts"], row["forks"], phase, role["peak_pss_mib"], role["workers_at_peak"],
                floor["peak_pss_mib"], floor["workers_at_peak"], numbers[phase]["per_worker_mib"]))
    return lines


def _failures(results):
    fatal = [(row, key, line) for row in results["configs"] for r in row["rounds"] for key, m in r.items()
             for line in m["fatal"]]
    if not fatal:
        return []
    return ["", "First failures seen:", ""] + [
        "- %d hosts, forks %d, %s: `%s`" % (row["hosts"], row["forks"], key, line.replace("`", "'"))
        for row, key, line in fatal[:8]]
