# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make bench`: the collection measured against what users would write without it.

Everything runs in one process, side by side and alternating, against the emulators on loopback:

- modules: converged and changing runs of each module over HOSTS inventory hosts (each with its
  own emulated server), against the hand-written `uri` playbooks doing the same job and against
  `ansible.builtin.ping`, with the same forks; wall time and requests per server;
- window: the role's enter + exit over 24 hosts (UCS servers, every third host also an ArcGIS
  site), against the floor a user could write by hand with one bare module task per service,
  the same hosts and forks, alternating;
- overshoot: with a switch of known length, how long after the server finished the module's
  confirming request came, and how often a switching server was polled;
- scale: the role's enter + exit over 10, 50 and 100 hosts, 5 forks and forks = hosts;
- start-up: what one module run costs on the controller, and where that goes.

Results go to bench/RESULTS.md (and bench/results/*.json), with the machine they ran on.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from ansible_collections.opsmodes.maintenance.tests.emulators.arcgis import ArcgisEmulator
from ansible_collections.opsmodes.maintenance.tests.emulators.ucs import UcsEmulator

BENCH = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.dirname(BENCH)
PLAYBOOKS = os.path.join(BENCH, "playbooks")
BIN = os.path.dirname(sys.executable)
PAGE = os.sysconf("SC_PAGE_SIZE")


# -- running a playbook ---------------------------------------------------------------------------
def _tree_rss(root):
    """Resident memory of `root` and all its descendants, in bytes, from /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry, encoding="ascii", errors="replace") as stream:
                    fields = stream.read().rsplit(")", 1)[1].split()
                parents[int(entry)] = (int(fields[1]), int(fields[21]) * PAGE)
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _rss) in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return sum(parents[pid][1] for pid in tree if pid in parents)


def run_playbook(playbook, inventory, forks, extra_vars=None, sample_memory=False):
    """Run a playbook; return (seconds, peak tree RSS in MiB or None, return code, output)."""
    command = [os.path.join(BIN, "ansible-playbook"), playbook, "-i", inventory, "-f", str(forks)]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    environment = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="false")
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment)
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(process.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    if sample_memory:
        sampler.start()
    output, _unused = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    if sample_memory:
        sampler.join()
    return seconds, (peak[0] / 2 ** 20 if sample_memory else None), process.returncode, output


def write_inventory(path, hosts):
    """hosts: name -> host variables."""
    common = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    with open(path, "w", encoding="utf-8") as stream:
        json.dump({"all": {"vars": common, "hosts": hosts}}, stream)


def requests_per_server(servers):
    return statistics.mean(len(server.requests) for server in servers)


def ratio(a, b):
    return a / b if b else float("nan")


# -- modules against uri playbooks and ping ------------------------------------------------------
def bench_modules(hosts, forks, rounds, workdir):
    ucs_servers = [UcsEmulator(switch_seconds=1.0).start() for _index in range(hosts)]
    arcgis_servers = [ArcgisEmulator(read_only_seconds=1.0, editable_seconds=1.0).start() for _index in range(hosts)]
    tokens = [server.issue_token() for server in arcgis_servers]
    inventory = os.path.join(workdir, "modules.json")
    write_inventory(inventory, {"h%03d" % i: {"ucs_url": u.url, "arcgis_url": a.url, "arcgis_token_value": t}
                                for i, (u, a, t) in enumerate(zip(ucs_servers, arcgis_servers, tokens))})

    def prepare(kind, converged):
        """Put every server where the run starts, and clear the logs."""
        for server in ucs_servers:
            server.mode, server.switching_to = ("maintenance" if converged else "production"), None
            server.clear_log()
        for server in arcgis_servers:
            server.mode = "READ_ONLY" if converged else "EDITABLE"
            server.jobs.clear()
            server.clear_log()
        return ucs_servers if kind == "ucs" else arcgis_servers

    variants = [
        ("ping", "ping.yml", None, {}),
        ("ucs module", "ucs_module.yml", "ucs", {"wanted": "maintenance"}),
        ("ucs uri", "ucs_uri.yml", "ucs", {"wanted": "maintenance"}),
        ("arcgis module", "arcgis_module.yml", "arcgis", {"wanted": "read_only"}),
        ("arcgis module, token", "arcgis_module.yml", "arcgis", {"wanted": "read_only", "arcgis_token": "{{ arcgis_token_value }}"}),
        ("arcgis uri", "arcgis_uri.yml", "arcgis", {"wanted": "read_only"}),
    ]
    results = {}
    try:
        for state, state_rounds in (("converged", rounds), ("changing", max(2, rounds // 2))):
            for _round in range(state_rounds):
                for name, playbook, kind, extra in variants:
                    if state == "changing" and kind is None and _round > 0:
                        continue
                    servers = prepare(kind, state == "converged") if kind else []
                    seconds, _peak, code, output = run_playbook(os.path.join(PLAYBOOKS, playbook), inventory, forks, extra)
                    if code != 0:
                        raise RuntimeError("%s (%s) failed:\n%s" % (name, state, output[-3000:]))
                    entry = results.setdefault(state, {}).setdefault(name, {"seconds": [], "requests_per_server": []})
                    entry["seconds"].append(seconds)
                    entry["requests_per_server"].append(requests_per_server(servers) if servers else 0)
    finally:
        for server in ucs_servers + arcgis_servers:
            server.stop()
    for by_name in results.values():
        for entry in by_name.values():
            entry["median_seconds"] = statistics.median(entry["seconds"])
            entry["median_requests_per_server"] = statistics.median(entry["requests_per_server"])
    return results


# -- the role's window against the floor by hand ---------------------------------------------------
UCS_START, ARCGIS_START = "production", "EDITABLE"


def _window_modes(ucs_servers, arcgis_servers):
    """Every server's mode, None while it is still switching: a switch left running would make
    the next round start from somewhere else."""
    ucs_modes = [None if state["switching_to"] else state["mode"] for state in (s.state() for s in ucs_servers)]
    arcgis_modes = [None if state["running_jobs"] else state["mode"] for state in (s.state() for s in arcgis_servers)]
    return ucs_modes, arcgis_modes


def _check_modes(name, phase, ucs_servers, arcgis_servers, ucs_wanted, arcgis_wanted):
    ucs_modes, arcgis_modes = _window_modes(ucs_servers, arcgis_servers)
    wrong = ["ucs %d: %s" % (i, m) for i, m in enumerate(ucs_modes) if m != ucs_wanted]
    wrong += ["arcgis %d: %s" % (i, m) for i, m in enumerate(arcgis_modes) if m != arcgis_wanted]
    if wrong:
        raise RuntimeError("%s: after %s, not in %s / %s: %s" % (name, phase, ucs_wanted, arcgis_wanted, ", ".join(wrong)))


def bench_window(hosts, forks, rounds, switch_seconds, workdir):
    """The role's enter then exit, each its own ansible-playbook run as users run them, against
    the bare module tasks in as many runs, so that both pay Ansible's start-up equally."""
    ucs_servers = [UcsEmulator(switch_seconds=switch_seconds).start() for _index in range(hosts)]
    # Every third host, starting with the first, so that even a smoke run with few hosts has a site.
    arcgis_servers = [ArcgisEmulator(read_only_seconds=switch_seconds, editable_seconds=switch_seconds).start()
                      for _index in range(0, hosts, 3)]
    inventory = os.path.join(workdir, "window.json")
    host_vars = {}
    for index, ucs_server in enumerate(ucs_servers):
        host_vars["h%03d" % index] = {"window_ucs_url": ucs_server.url}
        if index % 3 == 0:
            host_vars["h%03d" % index].update(window_arcgis_url=arcgis_servers[index // 3].url, window_arcgis_username="admin",
                                              window_arcgis_password="admin")
    write_inventory(inventory, host_vars)
    state_file = os.path.join(workdir, "window-state.json")
    variants = {
        "role": [("enter", "opsmodes.maintenance.enter"), ("exit", "opsmodes.maintenance.exit")],
        "floor": [("enter", os.path.join(PLAYBOOKS, "window_floor_enter.yml")), ("exit", os.path.join(PLAYBOOKS, "window_floor_exit.yml"))],
        # Not a contender: what any two runs over these hosts cost, to show what is left to gain.
        "ping": [("enter", os.path.join(PLAYBOOKS, "ping.yml")), ("exit", os.path.join(PLAYBOOKS, "ping.yml"))],
    }
    entered = ("maintenance", "READ_ONLY")
    results = {name: {"enter_seconds": [], "exit_seconds": [], "seconds": [], "ucs_requests": [], "arcgis_requests": []} for name in variants}
    try:
        for round_number in range(rounds):
            # Alternate which goes first, so that a drift of the machine's load favours neither.
            for name in sorted(variants, reverse=round_number % 2 == 1):
                _check_modes(name, "the previous round", ucs_servers, arcgis_servers, UCS_START, ARCGIS_START)
                for server in ucs_servers + arcgis_servers:
                    server.clear_log()
                for server in arcgis_servers:
                    server.jobs.clear()
                # Each round starts with no record, as the first window on these hosts would.
                if os.path.exists(state_file):
                    os.remove(state_file)
                entry = results[name]
                for phase, playbook in variants[name]:
                    seconds, _peak, code, output = run_playbook(playbook, inventory, forks, {"window_state_file": state_file})
                    if code != 0:
                        raise RuntimeError("%s %s failed:\n%s" % (name, phase, output[-3000:]))
                    _check_modes(name, phase, ucs_servers, arcgis_servers,
                                 *(entered if phase == "enter" and name != "ping" else (UCS_START, ARCGIS_START)))
                    entry[phase + "_seconds"].append(seconds)
                entry["seconds"].append(entry["enter_seconds"][-1] + entry["exit_seconds"][-1])
                entry["ucs_requests"].append(requests_per_server(ucs_servers))
                entry["arcgis_requests"].append(requests_per_server(arcgis_servers))
    finally:
        for server in ucs_servers + arcgis_servers:
            server.stop()
    for entry in results.values():
        for key in ("enter_seconds", "exit_seconds", "seconds", "ucs_requests", "arcgis_requests"):
            entry["median_" + key] = statistics.median(entry[key])
    return {"hosts": hosts, "arcgis_sites": len(arcgis_servers), "forks": forks, "rounds": rounds, "switch_seconds": switch_seconds,
            "variants": results}


# -- overshoot -----------------------------------------------------------------------------------
def bench_overshoot(samples, switch_seconds, workdir):
    """Per sample: the switch's end, known to the emulator, against the arrival of the module's
    confirming request (the task returns right after it); and the polling rate during the switch."""
    out = {}
    inventory = os.path.join(workdir, "overshoot.json")
    for kind in ("ucs", "arcgis"):
        overshoots, rates = [], []
        for _sample in range(samples):
            if kind == "ucs":
                server = UcsEmulator(switch_seconds=switch_seconds).start()
                playbook, extra, write_path = "ucs_module.yml", {"wanted": "maintenance"}, "/server/mode"
            else:
                server = ArcgisEmulator(read_only_seconds=switch_seconds).start()
                playbook, extra, write_path = "arcgis_module.yml", {"wanted": "read_only"}, "/mode/update"
            try:
                write_inventory(inventory, {"h1": {"ucs_url": server.url, "arcgis_url": server.url}})
                _seconds, _peak, code, output = run_playbook(os.path.join(PLAYBOOKS, playbook), inventory, 1, extra)
                if code != 0:
                    raise RuntimeError(output[-3000:])
                [write] = server.requests_to(write_path)
                switch_end = write["time"] + switch_seconds
                overshoots.append(server.requests[-1]["time"] - switch_end)
                during = [r for r in server.requests if write["time"] < r["time"] <= switch_end]
                rates.append(len(during) / switch_seconds)
            finally:
                server.stop()
        out[kind] = {"overshoot_seconds": overshoots, "median_overshoot_seconds": statistics.median(overshoots),
                     "polls_per_second": rates, "mean_polls_per_second": statistics.mean(rates)}
    return out


# -- scale -----------------------------------------------------------------------------------------
def bench_scale(sizes, switch_seconds, workdir):
    out = []
    for hosts in sizes:
        for forks in sorted({5, hosts}):
            servers = [UcsEmulator(switch_seconds=switch_seconds).start() for _index in range(hosts)]
            try:
                inventory = os.path.join(workdir, "scale.json")
                write_inventory(inventory, {"h%03d" % i: {"window_ucs_url": s.url} for i, s in enumerate(servers)})
                state_file = os.path.join(workdir, "scale-state.json")
                if os.path.exists(state_file):
                    os.remove(state_file)
                row = {"hosts": hosts, "forks": forks}
                for action in ("enter", "exit"):
                    seconds, peak, code, output = run_playbook("opsmodes.maintenance." + action, inventory, forks,
                                                               {"window_state_file": state_file}, sample_memory=True)
                    if code != 0:
                        raise RuntimeError(output[-3000:])
                    row[action + "_seconds"], row[action + "_peak_mib"] = seconds, peak
                    if action == "enter":
                        row["all_entered"] = all(s.state()["mode"] == "maintenance" for s in servers)
                row["requests"] = sum(len(s.requests) for s in servers)
                row["all_restored"] = all(s.state()["mode"] == "production" for s in servers)
                out.append(row)
            finally:
                for server in servers:
                    server.stop()
    return out


def switch_bound(row, switch_seconds):
    """What the switches alone cost a phase whose fork holds its host until the switch is over (exit),
    so that the hosts go through in batches of `forks`."""
    return math.ceil(row["hosts"] / row["forks"]) * switch_seconds


def growth(scale, switch_seconds):
    """How each measure grows with the hosts, from the smallest and largest runs at each forks."""
    lines = ["How it grows (from the smallest to the largest run at the same forks):", ""]
    for label, pick in (("5 forks", lambda row: row["forks"] == 5),
                        ("forks = hosts", lambda row: row["forks"] == row["hosts"])):
        # Rows of an earlier run (--keep) may hold variants that no longer exist.
        rows = sorted((row for row in scale if pick(row) and "async" not in row), key=lambda row: row["hosts"])
        if len(rows) < 2:
            continue
        small, large = rows[0], rows[-1]
        added = large["hosts"] - small["hosts"]
        per_host = (large["enter_seconds"] - small["enter_seconds"]) / added
        overhead = (large["enter_seconds"] - switch_bound(large, switch_seconds) - small["enter_seconds"] + switch_bound(small, switch_seconds)) / added
        memory = (max(large["enter_peak_mib"], large["exit_peak_mib"]) - max(small["enter_peak_mib"], small["exit_peak_mib"])) / added
        lines.append("- %s: enter costs %.2f s more per added host (one switch takes %.1f s), %.2f s of it beyond the switches' batches; "
                     "peak memory grows by %.1f MiB per added host; requests by %.1f per added host, the same for every server."
                     % (label, per_host, switch_seconds, overhead, memory, (large["requests"] - small["requests"]) / added))
    lines.append("")
    return lines if len(lines) > 3 else []


# -- module start-up --------------------------------------------------------------------------------
def _median_seconds(command, runs, env=None):
    times = []
    for _run in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_startup(runs, workdir):
    python = sys.executable
    out = {
        "python_start": _median_seconds([python, "-c", "pass"], runs),
        "import_basic": _median_seconds([python, "-c", "import ansible.module_utils.basic"], runs),
        "import_basic_and_requests": _median_seconds([python, "-c", "import ansible.module_utils.basic, requests"], runs),
        "import_basic_and_urls": _median_seconds([python, "-c", "import ansible.module_utils.basic, ansible.module_utils.urls"], runs),
    }
    with UcsEmulator(initial_mode="maintenance") as server:
        args = os.path.join(workdir, "args.json")
        with open(args, "w", encoding="utf-8") as stream:
            json.dump({"ANSIBLE_MODULE_ARGS": {"url": server.url, "mode": "maintenance"}}, stream)
        module = os.path.join(COLLECTION, "plugins", "modules", "ucs_server_mode.py")
        env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.dirname(COLLECTION))))
        out["converged_module_run"] = _median_seconds([python, module, args], runs, env=env)
    return out


# -- report ----------------------------------------------------------------------------------------
def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as stream:
            cpu = next(line.split(":", 1)[1].strip() for line in stream if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    with open("/proc/meminfo", encoding="utf-8") as stream:
        memory = int(stream.readline().split()[1]) / 2 ** 20
    ansible = subprocess.run([os.path.join(BIN, "ansible"), "--version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    return "%s; %d cores; %.0f GiB; %s; Python %s; %s" % (cpu, os.cpu_count(), memory, platform.platform(), platform.python_version(), ansible)


def targets(results):
    """(target, measured, met) rows for the issue's targets that this run measured."""
    rows = []
    converged = results.get("modules", {}).get("converged")
    if converged:
        def seconds(name):
            return converged[name]["median_seconds"]

        def requests(name):
            return converged[name]["median_requests_per_server"]
        rows += [
            ("converged: ucs module / ucs uri <= 1.0", "%.2f" % ratio(seconds("ucs module"), seconds("ucs uri")),
             ratio(seconds("ucs module"), seconds("ucs uri")) <= 1.0),
            ("converged: arcgis module / arcgis uri <= 0.55", "%.2f" % ratio(seconds("arcgis module"), seconds("arcgis uri")),
             ratio(seconds("arcgis module"), seconds("arcgis uri")) <= 0.55),
        ]
        for name in ("ucs module", "arcgis module", "arcgis module, token"):
            rows.append(("converged: %s / ping <= 1.4" % name, "%.2f" % ratio(seconds(name), seconds("ping")),
                         ratio(seconds(name), seconds("ping")) <= 1.4))
        for name, expected in (("ucs module", 1), ("arcgis module", 2), ("arcgis module, token", 1)):
            rows.append(("converged: requests per server, %s = %d" % (name, expected), "%g" % requests(name), requests(name) == expected))
    window = results.get("window")
    if window:
        role, floor = window["variants"]["role"]["median_seconds"], window["variants"]["floor"]["median_seconds"]
        rows.append(("role enter+exit / floor <= 1.2", "%.2f" % ratio(role, floor), ratio(role, floor) <= 1.2))
    for kind, entry in results.get("overshoot", {}).items():
        rows.append(("%s overshoot: median < 0.5 s" % kind, "%.3f s" % entry["median_overshoot_seconds"], entry["median_overshoot_seconds"] < 0.5))
        rows.append(("%s: polls while switching <= 2 per second" % kind, "%.2f" % entry["mean_polls_per_second"], entry["mean_polls_per_second"] <= 2.0))
    return rows


def report(results, options):
    lines = ["# Benchmarks", "", "Measured by `make bench` (bench/run.py) on: " + results["machine"] + ".", ""]
    if options.keep:
        lines += ["Parts other than %s were measured in an earlier run on the same machine (`--keep`)." % options.only, ""]
    rows = targets(results)
    if rows:
        lines += ["## Targets", "", "| target | measured | met |", "| --- | ---: | --- |"]
        lines += ["| %s | %s | %s |" % (target, measured, "yes" if met else "**no**") for target, measured, met in rows]
        lines.append("")
    modules = results.get("modules")
    if modules:
        lines += ["## Modules against hand-written `uri` playbooks and `ping`", "",
                  "%d inventory hosts, each with its own emulated server, forks %d; runs alternate between the variants, "
                  "%d rounds converged and %d changing (switch 1 s); median wall time of the whole `ansible-playbook` run."
                  % (options.hosts, options.forks, options.rounds, max(2, options.rounds // 2)), ""]
        for state in ("converged", "changing"):
            by = modules[state]
            ping = modules["converged"]["ping"]["median_seconds"]
            lines += ["### %s run" % state.capitalize(), "", "| variant | wall time (s) | vs ping | requests per server |", "| --- | ---: | ---: | ---: |"]
            for name, entry in by.items():
                lines.append("| %s | %.2f | %.2f | %g |" % (name, entry["median_seconds"], ratio(entry["median_seconds"], ping),
                                                            entry["median_requests_per_server"]))
            lines += ["", "| ratio | value |", "| --- | ---: |",
                      "| ucs module / ucs uri | %.2f |" % ratio(by["ucs module"]["median_seconds"], by["ucs uri"]["median_seconds"]),
                      "| arcgis module / arcgis uri | %.2f |" % ratio(by["arcgis module"]["median_seconds"], by["arcgis uri"]["median_seconds"]),
                      "| arcgis module with a token / arcgis uri | %.2f |"
                      % ratio(by["arcgis module, token"]["median_seconds"], by["arcgis uri"]["median_seconds"]),
                      ""]
    window = results.get("window")
    if window:
        lines += ["## The role's window against the floor by hand", "",
                  "%d inventory hosts, each with its own emulated UCS server, every third (%d) also an ArcGIS site; every switch takes "
                  "%.1f s; forks %d; %d rounds, alternating which variant goes first. The role: `ansible-playbook "
                  "opsmodes.maintenance.enter` then `opsmodes.maintenance.exit`, with a state file (removed before each round). The floor: "
                  "bench/playbooks/window_floor_enter.yml then window_floor_exit.yml, one bare module task per service each, no record, "
                  "connection local from the inventory as for the role (which delegates to localhost). Both are two `ansible-playbook` "
                  "runs; every server is checked in maintenance after enter and back in its mode before the window after exit. "
                  "ping: `ansible.builtin.ping` run twice over the same hosts, what Ansible itself costs, for reference. Median "
                  "wall time; enter + exit is the median of each round's sum."
                  % (window["hosts"], window["arcgis_sites"], window["switch_seconds"], window["forks"], window["rounds"]), "",
                  "| variant | enter (s) | exit (s) | enter + exit (s) | requests per UCS server | requests per ArcGIS server |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for name in ("role", "floor", "ping"):
            entry = window["variants"].get(name)
            if entry is None:
                continue
            lines.append("| %s | %.2f | %.2f | %.2f | %g | %g |" % (name, entry["median_enter_seconds"], entry["median_exit_seconds"],
                                                                    entry["median_seconds"], entry["median_ucs_requests"],
                                                                    entry["median_arcgis_requests"]))
        role, floor = window["variants"]["role"], window["variants"]["floor"]
        lines += ["", "| ratio | value |", "| --- | ---: |",
                  "| role / floor, enter | %.2f |" % ratio(role["median_enter_seconds"], floor["median_enter_seconds"]),
                  "| role / floor, exit | %.2f |" % ratio(role["median_exit_seconds"], floor["median_exit_seconds"]),
                  "| role / floor, enter + exit | %.2f |" % ratio(role["median_seconds"], floor["median_seconds"]), ""]
    overshoot = results.get("overshoot")
    if overshoot:
        lines += ["## Overshoot", "", "A switch of %.1f s, %d samples per module: the time from the end of the switch (known to the emulator) "
                  "to the arrival of the module's confirming request, after which the task returns; and the requests the server got "
                  "while it switched." % (options.switch_seconds, options.samples), "",
                  "| module | median overshoot (s) | max (s) | polls per second while switching (mean) |", "| --- | ---: | ---: | ---: |"]
        for kind, entry in overshoot.items():
            values = (kind, entry["median_overshoot_seconds"], max(entry["overshoot_seconds"]), entry["mean_polls_per_second"])
            lines.append("| %s | %.3f | %.3f | %.2f |" % values)
        lines.append("")
    scale = results.get("scale")
    if scale:
        lines += ["## Scale: the role's enter + exit", "",
                  "Each host has its own emulated UCS server whose switch takes %.1f s; `opsmodes.maintenance.enter` then "
                  "`opsmodes.maintenance.exit`, each a separate `ansible-playbook` run with a state file. Switches alone: what the "
                  "switches cost one phase when the hosts go through in batches of forks (hosts / forks rounded up, times one switch). "
                  "Peak memory: the resident memory of the whole process tree, sampled every 50 ms." % options.scale_switch_seconds, "",
                  "| hosts | forks | enter (s) | exit (s) | switches alone (s) | peak memory (MiB) | requests | all restored |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        for row in scale:
            if "async" in row:
                continue
            lines.append("| %d | %d | %.1f | %.1f | %.0f | %.0f | %d | %s |" % (
                row["hosts"], row["forks"], row["enter_seconds"], row["exit_seconds"], switch_bound(row, options.scale_switch_seconds),
                max(row["enter_peak_mib"], row["exit_peak_mib"]), row["requests"],
                "yes" if row["all_restored"] and row.get("all_entered", True) else "NO"))
        lines.append("")
        lines += growth(scale, options.scale_switch_seconds)
        lines += ["The role switches a host's services in threads inside the task, without `async`. Enter asks for every "
                  "host's switch without waiting and a second task waits for them all, so its time is not bound by batches of "
                  "forks: with 5 forks it stays well under the switches alone. Exit still waits for each host's switch before its "
                  "fork takes the next host, so with 5 forks it pays the switch once per batch of 5 hosts and grows with hosts / "
                  "forks; with forks = hosts both pay it about once. What else grows with the hosts is "
                  "Ansible's own per-host work (templating, the task's worker process, the record's locked write per host), which "
                  "this machine's %d cores do two at a time whatever the forks. Memory grows with the forks, each a Python process, "
                  "not with the hosts." % os.cpu_count(), ""]
    startup = results.get("startup")
    if startup:
        lines += ["## Module start-up", "", "Median of %d runs on this machine." % options.startup_runs, "",
                  "| what | seconds |", "| --- | ---: |"]
        for name, seconds in startup.items():
            lines.append("| %s | %.3f |" % (name.replace("_", " "), seconds))
        lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=12)
    parser.add_argument("--forks", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--window-hosts", type=int, default=24)
    parser.add_argument("--window-forks", type=int, default=24)
    parser.add_argument("--window-switch-seconds", type=float, default=2.0)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--switch-seconds", type=float, default=3.0)
    parser.add_argument("--scale", default="10,50,100")
    parser.add_argument("--scale-switch-seconds", type=float, default=5.0)
    parser.add_argument("--startup-runs", type=int, default=20)
    parser.add_argument("--only", default="modules,window,overshoot,scale,startup")
    parser.add_argument("--keep", help="a results JSON of an earlier run on this machine whose parts not run now are kept")
    options = parser.parse_args()
    parts = options.only.split(",")
    results = {"machine": machine()}
    if options.keep:
        with open(options.keep, encoding="utf-8") as stream:
            results.update({k: v for k, v in json.load(stream).items() if k != "machine" and k not in parts})
    with tempfile.TemporaryDirectory(prefix="opsmodes-bench-") as workdir:
        if "modules" in parts:
            results["modules"] = bench_modules(options.hosts, options.forks, options.rounds, workdir)
        if "window" in parts:
            results["window"] = bench_window(options.window_hosts, options.window_forks, options.rounds, options.window_switch_seconds, workdir)
        if "overshoot" in parts:
            results["overshoot"] = bench_overshoot(options.samples, options.switch_seconds, workdir)
        if "scale" in parts:
            results["scale"] = bench_scale([int(n) for n in options.scale.split(",")], options.scale_switch_seconds, workdir)
        if "startup" in parts:
            results["startup"] = bench_startup(options.startup_runs, workdir)
    os.makedirs(os.path.join(BENCH, "results"), exist_ok=True)
    with open(os.path.join(BENCH, "results", "latest.json"), "w", encoding="utf-8") as stream:
        json.dump(results, stream, indent=1)
    text = report(results, options)
    with open(os.path.join(BENCH, "RESULTS.md"), "w", encoding="utf-8") as stream:
        stream.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
