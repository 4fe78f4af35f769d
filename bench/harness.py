# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every section of the bench stands on: fleets of emulated servers, playbook runs, memory.

- Fleet: inventory hosts, each with emulated servers of the kinds the service registry
  (plugins/plugin_utils/_services.py) names, all on 127.0.0.1 in the bench's process, a thread
  each; the inventory gives each host the role's variables (window_<service>_url, ...), so the
  role, the bench's own playbooks and the modules all find the servers the same way.
- run_playbook: one `ansible-playbook` run, timed, its recap read back, and optionally its peak
  memory: the proportional set size (PSS) of ansible-playbook and every process below it. Forked
  workers share most of their pages with ansible-playbook; PSS counts a shared page once, split
  among its sharers, where the sum of resident sizes counts it once per process.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._record import server_key
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._services import SERVICES, variable
from ansible_collections.opsmodes.maintenance.tests.emulators.arcgis import ArcgisEmulator
from ansible_collections.opsmodes.maintenance.tests.emulators.ucs import UcsEmulator

BENCH = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.dirname(BENCH)
PLAYBOOKS = os.path.join(BENCH, "playbooks")
BIN = os.path.dirname(sys.executable)
# How often the memory of a run is sampled: often enough to catch the peak of a phase lasting
# seconds, seldom enough that reading /proc does not load the machine it measures.
SAMPLE_SECONDS = 0.15

# Each service's emulator with switches of `seconds`, and the credentials a host gives it.
EMULATORS = {"ucs": lambda seconds: UcsEmulator(switch_seconds=seconds),
             "arcgis": lambda seconds: ArcgisEmulator(read_only_seconds=seconds, editable_seconds=seconds)}
CREDENTIALS = {"arcgis": {"username": "admin", "password": "admin"}}


def ratio(a, b):
    return a / b if b else float("nan")


def medians(samples, keys):
    """{key: the median of that key over the sample dicts}, keys that some sample lacks left out."""
    return {key: statistics.median(sample[key] for sample in samples) for key in keys
            if all(sample.get(key) is not None for sample in samples)}


def spread(by_host):
    """{host: n} as sorted [n, how many hosts] pairs: what a report shows of a count per host."""
    return sorted([value, hosts] for value, hosts in Counter(by_host.values()).items())


def spread_text(pairs):
    """spread's pairs in words: "4 on 299 hosts, 5 on 1 host"."""
    return ", ".join("%d on %d host%s" % (value, hosts, "" if hosts == 1 else "s") for value, hosts in pairs)


# -- fleets of emulated servers --------------------------------------------------------------------
def sites_every(n):
    """Which hosts have a server of each service: every host one of the registry's first service (a
    UCS server), every n-th host, the first included (so that a small run has one of each), one of
    each other service (an ArcGIS site)."""
    first = next(iter(SERVICES))
    return {name: 1 if name == first else n for name in SERVICES}


def describe_fleet(site_every, switch_seconds):
    """The report's words for the servers of a Fleet of sites_every(site_every), after "N hosts, "."""
    nth = {1: "", 2: "second ", 3: "third ", 4: "fourth "}.get(site_every, "%d-th " % site_every)
    return ("each with its own emulated UCS server, every %shost (the first included) also an ArcGIS site, all on "
            "127.0.0.1 in the bench's process, a thread each; every switch takes %.1f s" % (nth, switch_seconds))


def services_of(index, every):
    """The services the host of this index has, from `every` (sites_every's {service: n})."""
    return [name for name, n in every.items() if index % n == 0]


def host_name(index):
    return "h%03d" % index


def settled_mode(server):
    """A server's mode as the registry spells it, or None while it switches."""
    state = server.state()
    return None if state.get("switching_to") or state.get("running_jobs") else state["mode"].lower()


def put_mode(server, mode):
    """Set a server's mode at once, no switch under way: where a round starts."""
    with server.lock:
        if isinstance(server, ArcgisEmulator):
            server.jobs.clear()
            server.mode, server.allow_editing = mode.upper(), True
        else:
            server.mode, server.switching_to = mode, None


class Fleet:
    """`hosts` inventory hosts (h000, h001, ...), each with its own emulated server of every service
    `every` gives it (see sites_every), every switch taking `switch_seconds`. A context manager:
    the servers run inside the `with`."""

    def __init__(self, hosts, switch_seconds, every):
        self.hosts = {host_name(index): {name: EMULATORS[name](switch_seconds) for name in services_of(index, every)}
                      for index in range(hosts)}
        self.servers = {name: [servers[name] for servers in self.hosts.values() if name in servers] for name in every}

    def all_servers(self):
        return [server for servers in self.servers.values() for server in servers]

    def __enter__(self):
        for server in self.all_servers():
            server.start()
        return self

    def __exit__(self, *exc_info):
        # Side by side: each stop waits up to half a second for its server's loop.
        threads = [threading.Thread(target=server.stop) for server in self.all_servers()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def write_inventory(self, path, extra=None):
        """The inventory of the fleet at `path`, with `extra` {host: variables} added."""
        host_vars = {}
        for host, servers in self.hosts.items():
            host_vars[host] = dict((extra or {}).get(host, {}))
            for name, server in servers.items():
                host_vars[host][variable(SERVICES[name], "url")] = server.url
                host_vars[host].update((variable(SERVICES[name], option), value)
                                       for option, value in CREDENTIALS.get(name, {}).items())
        write_inventory(path, host_vars)

    def host_of_key(self):
        """{the record's key of a server: its host}."""
        return {server_key(name, server.url): host for host, servers in self.hosts.items()
                for name, server in servers.items()}

    def clear_logs(self):
        for server in self.all_servers():
            server.clear_log()

    def put_all(self, which):
        """Every server into its service's `which` ("maintenance_mode" or "normal_mode") at once."""
        for name, servers in self.servers.items():
            for server in servers:
                put_mode(server, getattr(SERVICES[name], which))

    def misplaced(self, which):
        """["service index: mode"] of the servers not settled in their service's `which` mode."""
        return ["%s %d: %s" % (name, index, mode) for name, servers in self.servers.items()
                for index, mode in enumerate(settled_mode(server) for server in servers)
                if mode != getattr(SERVICES[name], which)]

    def requests_per_server(self):
        """{service: the mean number of requests its servers got since the logs were cleared}."""
        return {name: statistics.mean(len(server.requests) for server in servers)
                for name, servers in self.servers.items() if servers}

    def max_requests(self):
        return max(len(server.requests) for server in self.all_servers())


def write_inventory(path, host_vars):
    """An inventory of `host_vars` {host: variables}, every host run on the controller by this Python."""
    common = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    with open(path, "w", encoding="utf-8") as stream:
        json.dump({"all": {"vars": common, "hosts": host_vars}}, stream)


def write_playbook(path, name, tasks):
    """A playbook of one play over every host without facts (JSON, which YAML reads); returns `path`."""
    with open(path, "w", encoding="utf-8") as stream:
        json.dump([{"name": name, "hosts": "all", "gather_facts": False, "tasks": tasks}], stream, indent=1)
    return path


# -- playbook runs ---------------------------------------------------------------------------------
RECAP = re.compile(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", re.M)
# What a task a host ran leaves in the recap: one of these (changed is within ok).
TASK_OUTCOMES = ("ok", "failed", "skipped", "unreachable")


@dataclass
class Run:
    """One ansible-playbook run: wall time, exit code, output; with memory sampled, the peak PSS of
    its process tree and the live workers (ansible-playbook's forked children) at that peak."""
    seconds: float
    code: int
    output: str
    peak_pss_mib: float | None = None
    workers_at_peak: int | None = None

    def recap(self):
        """{host: {counter: value}} from the PLAY RECAP."""
        return {host: {key: int(value) for key, value in (pair.split("=") for pair in counters.split())}
                for host, counters in RECAP.findall(self.output)}

    def tasks_by_host(self):
        """{host: the tasks it ran}, from the recap."""
        return {host: sum(counters.get(key, 0) for key in TASK_OUTCOMES) for host, counters in self.recap().items()}

    def failed_hosts(self):
        return sorted(host for host, counters in self.recap().items()
                      if counters.get("failed") or counters.get("unreachable"))

    def fatal_lines(self, most=5):
        return [line[:300] for line in self.output.splitlines() if line.startswith("fatal:")][:most]

    def check(self, what):
        """The run, or a RuntimeError with the end of its output if it failed or ran on no host (an
        inventory not written ends well, and measures nothing)."""
        if self.code != 0 or not self.recap():
            raise RuntimeError("%s failed (exit code %d):\n%s" % (what, self.code, self.output[-3000:]))
        return self


def run_playbook(playbook, inventory, forks, extra_vars=None, memory=False):
    """Run `playbook` (a path or a collection's playbook name) over `inventory` with `forks`: a Run."""
    command = [os.path.join(BIN, "ansible-playbook"), playbook, "-i", inventory, "-f", str(forks)]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    environment = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="false")
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment)
    sampler = MemorySampler(process.pid) if memory else None
    output = process.communicate()[0]
    seconds = time.perf_counter() - started
    if sampler is None:
        return Run(seconds, process.returncode, output)
    sampler.finish()
    return Run(seconds, process.returncode, output, sampler.peak_kib / 1024, sampler.workers_at_peak)


# -- memory ----------------------------------------------------------------------------------------
def _processes():
    """{pid: (parent pid, state letter)} of every process, from /proc."""
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry, encoding="ascii", errors="replace") as stream:
                    # After the command's closing parenthesis: state, parent pid, ...
                    state, ppid = stream.read().rsplit(")", 1)[1].split()[:2]
            except (OSError, ValueError):
                continue
            out[int(entry)] = (int(ppid), state)
    return out


def _pss_kib(pid):
    """The proportional set size of a process in KiB; 0 for one that has gone (or a zombie)."""
    try:
        with open("/proc/%d/smaps_rollup" % pid, encoding="ascii") as stream:
            return next((int(line.split()[1]) for line in stream if line.startswith("Pss:")), 0)
    except OSError:
        return 0


class MemorySampler:
    """Every SAMPLE_SECONDS until finish(): the sum of PSS over `root` and all its descendants,
    keeping the peak, and how many of root's children (ansible-playbook's forked workers) were alive
    at that peak."""

    def __init__(self, root):
        self.root = root
        self.peak_kib = 0
        self.workers_at_peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        while True:
            processes = _processes()
            children = {}
            for pid, (ppid, state) in processes.items():
                if state != "Z":
                    children.setdefault(ppid, []).append(pid)
            tree, frontier = [], [self.root]
            while frontier:
                pid = frontier.pop()
                tree.append(pid)
                frontier.extend(children.get(pid, ()))
            total = sum(_pss_kib(pid) for pid in tree)
            if total > self.peak_kib:
                self.peak_kib, self.workers_at_peak = total, len(children.get(self.root, ()))
            if self._done.wait(SAMPLE_SECONDS):
                return

    def finish(self):
        self._done.set()
        self._thread.join()
