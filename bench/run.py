# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`: the collection measured against what users would write without it.

Everything runs in one process, side by side and alternating, against the emulators on loopback:

- modules: converged and changing runs of each module over HOSTS inventory hosts (each with its
  own emulated server), against the hand-written `uri` playbooks doing the same job and against
  `ansible.builtin.ping`, with the same forks; wall time and requests per server;
- overshoot: with a switch of known length, how long after the server finished the module's
  confirming request came, and how often a switching server was polled;
- scale: the role's enter + exit over 10, 50 and 100 hosts, default forks and forks = hosts;
- start-up: what one module run costs on the controller, and where that goes.

Results go to bench/RESULTS.md (and bench/results/*.json), with the machine they ran on.
"""

from __future__ import annotations

import argparse
import json
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
        for forks, window_async in ((5, False), (5, True), (hosts, True)):
            servers = [UcsEmulator(switch_seconds=switch_seconds).start() for _index in range(hosts)]
            try:
                inventory = os.path.join(workdir, "scale.json")
                write_inventory(inventory, {"h%03d" % i: {"window_ucs_url": s.url} for i, s in enumerate(servers)})
                state_file = os.path.join(workdir, "scale-state.json")
                row = {"hosts": hosts, "forks": forks, "async": window_async}
                for action in ("enter", "exit"):
                    seconds, peak, code, output = run_playbook("opsmodes.maintenance." + action, inventory, forks,
                                                               {"window_state_file": state_file, "window_async": window_async},
                                                               sample_memory=True)
                    if code != 0:
                        raise RuntimeError(output[-3000:])
                    row[action + "_seconds"], row[action + "_peak_mib"] = seconds, peak
                row["requests"] = sum(len(s.requests) for s in servers)
                row["all_restored"] = all(s.state()["mode"] == "production" for s in servers)
                out.append(row)
            finally:
                for server in servers:
                    server.stop()
    return out


def growth(scale, switch_seconds):
    """How each measure grows with the hosts, from the smallest and largest runs at each forks."""
    lines = ["How it grows (from the smallest to the largest run at the same forks):", ""]
    for label, pick in (("5 forks, window_async false", lambda row: row["forks"] == 5 and not row["async"]),
                        ("5 forks, window_async true", lambda row: row["forks"] == 5 and row["async"]),
                        ("forks = hosts, window_async true", lambda row: row["forks"] == row["hosts"] and row["async"])):
        rows = sorted((row for row in scale if pick(row)), key=lambda row: row["hosts"])
        if len(rows) < 2:
            continue
        small, large = rows[0], rows[-1]
        added = large["hosts"] - small["hosts"]
        per_host = (large["enter_seconds"] - small["enter_seconds"]) / added
        memory = (max(large["enter_peak_mib"], large["exit_peak_mib"]) - max(small["enter_peak_mib"], small["exit_peak_mib"])) / added
        lines.append("- %s: enter costs %.2f s more per added host (one switch takes %.1f s); peak memory grows by %.1f MiB "
                     "per added host; requests by %.1f per added host, the same for every server."
                     % (label, per_host, switch_seconds, memory, (large["requests"] - small["requests"]) / added))
    lines.append("")
    return lines


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
                  "`opsmodes.maintenance.exit`, each a separate `ansible-playbook` run with a state file. Peak memory: "
                  "the resident memory of the whole process tree, sampled every 50 ms." % options.scale_switch_seconds, "",
                  "| hosts | forks | window_async | enter (s) | exit (s) | peak memory (MiB) | requests | all restored |",
                  "| ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |"]
        for row in scale:
            lines.append("| %d | %d | %s | %.1f | %.1f | %.0f | %d | %s |" % (
                row["hosts"], row["forks"], "true" if row["async"] else "false", row["enter_seconds"], row["exit_seconds"],
                max(row["enter_peak_mib"], row["exit_peak_mib"]), row["requests"], "yes" if row["all_restored"] else "NO"))
        lines.append("")
        lines += growth(scale, options.scale_switch_seconds)
        lines += ["Without `window_async`, 5 forks switch 5 hosts at a time: the switch time is paid once per batch, so it grows "
                  "with hosts / forks. With it (the default), a batch starts its switches and moves on, and the switch time is paid "
                  "about once. What still grows with the hosts is Ansible's own per-host work (templating, one Python process per "
                  "module run and per `async_status` poll), which this machine's %d cores do two at a time whatever the forks: "
                  "with switches this short that work dominates, and the `async_status` polls make it larger; the longer the real "
                  "switches (UCS drains for a minute by default, ArcGIS restarts every service), the more the overlap wins. Memory "
                  "grows with the forks, each a Python process, not with the hosts." % os.cpu_count(), ""]
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
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--switch-seconds", type=float, default=3.0)
    parser.add_argument("--scale", default="10,50,100")
    parser.add_argument("--scale-switch-seconds", type=float, default=5.0)
    parser.add_argument("--startup-runs", type=int, default=20)
    parser.add_argument("--only", default="modules,overshoot,scale,startup")
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
