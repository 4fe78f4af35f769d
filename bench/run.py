# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make bench`: the collection measured against what users would write without it.

Runs from the collection copy with PYTHONPATH at the ansible_collections tree it sits in, as the
Makefile's bench target does: `python bench/run.py [--only scale --scale 100:5] [--keep FILE]`.
Every section runs in this one process, side by side and alternating, against the emulators on
loopback (bench/__init__.py lists the sections); the results go to bench/RESULTS.md and
bench/results/latest.json, with the machine they ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile

from ansible_collections.opsmodes.maintenance.bench import harness, modules, overshoot, scale, startup, window

SECTIONS = {"modules": modules, "window": window, "overshoot": overshoot, "scale": scale, "startup": startup}


def parse_options():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=12, help="modules: inventory hosts")
    parser.add_argument("--forks", type=int, default=12, help="modules: forks")
    parser.add_argument("--rounds", type=int, default=5, help="modules and window: rounds")
    parser.add_argument("--window-hosts", type=int, default=24)
    parser.add_argument("--window-forks", type=int, default=24)
    parser.add_argument("--window-switch-seconds", type=float, default=2.0)
    parser.add_argument("--samples", type=int, default=10, help="overshoot: samples per module")
    parser.add_argument("--switch-seconds", type=float, default=3.0, help="overshoot: how long a switch takes")
    parser.add_argument("--scale", default="100:5,300:5,300:50", help="hosts:forks,... for the scale section")
    parser.add_argument("--scale-switch-seconds", type=float, default=4.0)
    parser.add_argument("--scale-site-every", type=int, default=4, help="every n-th host is also an ArcGIS site")
    parser.add_argument("--scale-rounds", type=int, default=3, help="scale: rounds, of which the median counts")
    parser.add_argument("--lock-samples", type=int, default=300, help="the record's lock: writes per store")
    parser.add_argument("--startup-runs", type=int, default=20)
    parser.add_argument("--only", default=",".join(SECTIONS), help="the sections to run, comma-separated")
    parser.add_argument("--keep",
                        help="a results JSON of an earlier run on this machine whose sections not run now are kept")
    options = parser.parse_args()
    options.only = options.only.split(",")
    unknown = set(options.only) - set(SECTIONS)
    if unknown:
        parser.error("no section %s; the sections: %s" % (", ".join(sorted(unknown)), ", ".join(SECTIONS)))
    return options


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as stream:
            cpu = next(line.split(":", 1)[1].strip() for line in stream if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    with open("/proc/meminfo", encoding="utf-8") as stream:
        memory = int(stream.readline().split()[1]) / 2 ** 20
    version = subprocess.run([os.path.join(harness.BIN, "ansible"), "--version"], capture_output=True, text=True,
                             check=True)
    return "%s; %d cores; %.0f GiB; %s; Python %s; %s" % (cpu, os.cpu_count(), memory, platform.platform(),
                                                          platform.python_version(), version.stdout.splitlines()[0])


def report(results, options):
    lines = ["# Benchmarks", "", "Measured by `make bench` (bench/run.py) on: " + results["machine"] + ".", ""]
    if options.keep:
        lines += ["Sections other than %s were measured in an earlier run on the same machine (`--keep`)."
                  % ", ".join(options.only), ""]
    done = [(name, section) for name, section in SECTIONS.items() if name in results]
    rows = [row for name, section in done for row in section.targets(results[name])]
    if rows:
        lines += ["## Targets", "", "| target | measured | met |", "| --- | ---: | --- |"]
        lines += ["| %s | %s | %s |" % (target, measured, "yes" if met else "**no**") for target, measured, met in rows]
        lines.append("")
    for name, section in done:
        lines += section.report(results[name])
    return "\n".join(lines)


def main():
    options = parse_options()
    results = {}
    if options.keep:
        with open(options.keep, encoding="utf-8") as stream:
            results.update((name, kept) for name, kept in json.load(stream).items()
                           if name in SECTIONS and name not in options.only)
    with tempfile.TemporaryDirectory(prefix="opsmodes-bench-") as workdir:
        for name, section in SECTIONS.items():
            if name in options.only:
                results[name] = section.measure(options, workdir)
    results["machine"] = machine()
    os.makedirs(os.path.join(harness.BENCH, "results"), exist_ok=True)
    with open(os.path.join(harness.BENCH, "results", "latest.json"), "w", encoding="utf-8") as stream:
        json.dump(results, stream, indent=1)
    text = report(results, options)
    with open(os.path.join(harness.BENCH, "RESULTS.md"), "w", encoding="utf-8") as stream:
        stream.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
