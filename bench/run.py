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
- scale: the role's enter and exit over 100 hosts at forks 5 and 300 hosts at forks 5 and 50, each
  phase right beside Ansible's own floor (as many `ansible.builtin.debug` tasks per host); and the
  state file's time under its lock per write, from StateFile itself;
- start-up: what one module run costs on the controller, and where that goes.

Results go to bench/RESULTS.md (and bench/results/*.json), with the machine they ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _record as record
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._postgresql import PostgresStore, psycopg
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._state_file import StateFile
from ansible_collections.opsmodes.maintenance.tests.emulators.arcgis import ArcgisEmulator
from ansible_collections.opsmodes.maintenance.tests.emulators.ucs import UcsEmulator
from ansible_collections.opsmodes.maintenance.tests.support.postgresql import PostgresCluster

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
        ("arcgis module, token", "arcgis_module.yml", "arcgis",
         {"wanted": "read_only", "arcgis_token": "{{ arcgis_token_value }}"}),
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
                    seconds, _peak, code, output = run_playbook(os.path.join(PLAYBOOKS, playbook), inventory, forks,
                                                                extra)
                    if code != 0:
                        raise RuntimeError("%s (%s) failed:\n%s" % (name, state, output[-3000:]))
                    entry = results.setdefault(state, {}).setdefault(name, {"seconds": [], "requests_per_server": []})
                    entry["seconds"].append(seconds)
                    entry["requests_per_server"].append(requests_per_server(servers) if servers else 0)
    finally:
        stop_all(ucs_servers + arcgis_servers)
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
        raise RuntimeError("%s: after %s, not in %s / %s: %s"
                           % (name, phase, ucs_wanted, arcgis_wanted, ", ".join(wrong)))


def stop_all(servers):
    """Stop emulators side by side: each stop waits up to half a second for its server's loop."""
    threads = [threading.Thread(target=server.stop) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def window_servers(hosts, switch_seconds, site_every, inventory):
    """Each host its own emulated UCS server, every `site_every`-th host, starting with the first so that even
    a smoke run with few hosts has a site, also an ArcGIS site; all in this process, a thread each. The
    inventory is written to `inventory`. Returns (UCS servers, ArcGIS servers)."""
    ucs_servers = [UcsEmulator(switch_seconds=switch_seconds).start() for _index in range(hosts)]
    arcgis_servers = [ArcgisEmulator(read_only_seconds=switch_seconds, editable_seconds=switch_seconds).start()
                      for _index in range(0, hosts, site_every)]
    host_vars = {}
    for index, ucs_server in enumerate(ucs_servers):
        host_vars["h%03d" % index] = {"window_ucs_url": ucs_server.url}
        if index % site_every == 0:
            host_vars["h%03d" % index].update(window_arcgis_url=arcgis_servers[index // site_every].url,
                                              window_arcgis_username="admin", window_arcgis_password="admin")
    write_inventory(inventory, host_vars)
    return ucs_servers, arcgis_servers


def bench_window(hosts, forks, rounds, switch_seconds, workdir):
    """The role's enter then exit, each its own ansible-playbook run as users run them, against
    the bare module tasks in as many runs, so that both pay Ansible's start-up equally."""
    inventory = os.path.join(workdir, "window.json")
    ucs_servers, arcgis_servers = window_servers(hosts, switch_seconds, 3, inventory)
    state_file = os.path.join(workdir, "window-state.db")
    variants = {
        "role": [("enter", "opsmodes.maintenance.enter"), ("exit", "opsmodes.maintenance.exit")],
        "floor": [("enter", os.path.join(PLAYBOOKS, "window_floor_enter.yml")),
                  ("exit", os.path.join(PLAYBOOKS, "window_floor_exit.yml"))],
        # Not a contender: what any two runs over these hosts cost, to show what is left to gain.
        "ping": [("enter", os.path.join(PLAYBOOKS, "ping.yml")), ("exit", os.path.join(PLAYBOOKS, "ping.yml"))],
    }
    entered = ("maintenance", "READ_ONLY")
    results = {name: {"enter_seconds": [], "exit_seconds": [], "seconds": [], "ucs_requests": [], "arcgis_requests": []}
               for name in variants}
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
                    seconds, _peak, code, output = run_playbook(playbook, inventory, forks,
                                                                {"window_state_file": state_file})
                    if code != 0:
                        raise RuntimeError("%s %s failed:\n%s" % (name, phase, output[-3000:]))
                    _check_modes(name, phase, ucs_servers, arcgis_servers,
                                 *(entered if phase == "enter" and name != "ping" else (UCS_START, ARCGIS_START)))
                    entry[phase + "_seconds"].append(seconds)
                entry["seconds"].append(entry["enter_seconds"][-1] + entry["exit_seconds"][-1])
                entry["ucs_requests"].append(requests_per_server(ucs_servers))
                entry["arcgis_requests"].append(requests_per_server(arcgis_servers))
    finally:
        stop_all(ucs_servers + arcgis_servers)
    for entry in results.values():
        for key in ("enter_seconds", "exit_seconds", "seconds", "ucs_requests", "arcgis_requests"):
            entry["median_" + key] = statistics.median(entry[key])
    return {"hosts": hosts, "arcgis_sites": len(arcgis_servers), "forks": forks, "rounds": rounds,
            "switch_seconds": switch_seconds, "variants": results}


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
# The writes one host's phase makes to the state file, each a transaction under its lock, read from
# plugins/action/window_phase.py for a host whose services all switch. The request task: one to open
# the host's entries (_open_records) or to leave them (_leave_records), then per service it writes to
# a "sending" note (_asking's on_write), and a "sent" note when the write returns a job (ArcGIS's does,
# UCS's returns none). The confirm task: after enter one per switched service (_confirm_switches
# clears `requested`), after exit one close per service (_close_records). Enter and exit make as many.
PER_HOST_TRANSACTIONS = 1
PER_SERVICE_TRANSACTIONS = {"ucs": {"sending": 1, "sent": 0, "confirm": 1},
                            "arcgis": {"sending": 1, "sent": 1, "confirm": 1}}
RECAP = re.compile(r"^(\S+)\s+:\s+ok=\d+\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
RECAP_TASKS = re.compile(r"^\S+\s+:\s+ok=(\d+)\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.M)
PHASE_MODES = {"enter": ("maintenance", "READ_ONLY"), "exit": (UCS_START, ARCGIS_START)}
# Ansible's own floor for a phase: ansible.builtin.debug tasks, (per host, run once). "floor": as many as
# the role's phase runs (the playbook's include_role, the role's argument validation, its include of
# the phase's tasks file, request, confirm, report; exit's summary once), checked against the recap of
# the role's run. "floor_own": the role's own tasks only (request, confirm, report; the summary), the
# floor earlier runs of this bench used, kept for reference.
DEBUG_FLOORS = {"floor": {"enter": (6, 0), "exit": (6, 1)}, "floor_own": {"enter": (3, 0), "exit": (3, 1)}}


def debug_floor(workdir, name, phase):
    """Write the debug floor `name` of `phase` as a playbook (JSON, which YAML reads); return its path."""
    per_host, once = DEBUG_FLOORS[name][phase]
    tasks = [{"name": "Debug floor | Task %d of each host" % number,
              "ansible.builtin.debug": {"msg": "{{ inventory_hostname }} %d" % number}}
             for number in range(1, per_host + 1)]
    tasks += [{"name": "Debug floor | Once for all hosts", "run_once": True,
               "ansible.builtin.debug": {"msg": "{{ ansible_play_hosts_all | length }} hosts"}}] * once
    path = os.path.join(workdir, "%s_%s.yml" % (name, phase))
    with open(path, "w", encoding="utf-8") as stream:
        json.dump([{"name": "Debug floor of %s" % phase, "hosts": "all", "gather_facts": False, "tasks": tasks}],
                  stream)
    return path


def transactions_per_phase(hosts, sites):
    per_service = {service: sum(counts.values()) for service, counts in PER_SERVICE_TRANSACTIONS.items()}
    return hosts * (PER_HOST_TRANSACTIONS + per_service["ucs"]) + sites * per_service["arcgis"]


def tasks_per_host(output):
    """From the recap: {tasks a host ran: how many hosts ran that many}, as sorted pairs."""
    counts = {}
    for numbers in RECAP_TASKS.findall(output):
        tasks = sum(int(n) for n in numbers)
        counts[tasks] = counts.get(tasks, 0) + 1
    return sorted(counts.items())


def _failures(output):
    """(hosts the recap counts failed or unreachable, the first few `fatal:` lines)."""
    hosts = sorted(host for host, unreachable, failed in RECAP.findall(output) if int(unreachable) or int(failed))
    return hosts, [line[:300] for line in output.splitlines() if line.startswith("fatal:")][:5]


def _written_sequences(state_file):
    """(entries, the sum of their sequences) in the state file: every write to an entry advances its
    sequence, so what a phase added to the sum, with each host's first transaction (which writes all
    its entries) counted once, counts the phase's transactions (a check of the count above)."""
    try:
        servers = StateFile(state_file).read().servers
    except record.WindowError:
        return 0, 0
    return len(servers), sum(entry["sequence"] for entry in servers.values())


def _reset_window(ucs_servers, arcgis_servers, switch_seconds):
    """Wait out a switch a failed phase left running, then put back in its mode before the window any
    server that is not: how many were. A round starts where the first window on these hosts would."""
    deadline = time.monotonic() + switch_seconds + 2
    while time.monotonic() < deadline and None in sum(_window_modes(ucs_servers, arcgis_servers), []):
        time.sleep(0.1)
    ucs_modes, arcgis_modes = _window_modes(ucs_servers, arcgis_servers)
    for server, mode in zip(ucs_servers, ucs_modes):
        if mode != UCS_START:
            with server.lock:
                server.mode, server.switching_to = UCS_START, None
    for server, mode in zip(arcgis_servers, arcgis_modes):
        with server.lock:
            server.jobs.clear()
            if mode != ARCGIS_START:
                server.mode, server.allow_editing = ARCGIS_START, True
    return sum(m != UCS_START for m in ucs_modes) + sum(m != ARCGIS_START for m in arcgis_modes)


def bench_scale(configs, switch_seconds, site_every, rounds, workdir):
    """configs: (hosts, forks) pairs. Per configuration and round, each phase of the role (its own
    ansible-playbook run with a state file, as users run it) right beside the debug floor of that
    phase over the same inventory and forks; which of the two goes first alternates."""
    inventory = os.path.join(workdir, "scale.json")
    out = []
    for hosts in sorted({hosts for hosts, _forks in configs}):
        servers = window_servers(hosts, switch_seconds, site_every, inventory)
        try:
            for forks in [forks for size, forks in configs if size == hosts]:
                row = {"hosts": hosts, "forks": forks, "arcgis_sites": len(servers[1]), "rounds": []}
                for round_number in range(rounds):
                    row["rounds"].append(_scale_round(servers, inventory, forks, round_number, switch_seconds, workdir))
                row["median"] = {key: {measure: statistics.median(r[key][measure] for r in row["rounds"])
                                       for measure in ("seconds", "peak_mib")}
                                 for key in row["rounds"][0] if key != "servers_reset"}
                out.append(row)
        finally:
            stop_all(servers[0] + servers[1])
    return out


def _scale_round(servers, inventory, forks, round_number, switch_seconds, workdir):
    ucs_servers, arcgis_servers = servers
    state_file = os.path.join(workdir, "scale-state.db")
    measures = {"servers_reset": _reset_window(ucs_servers, arcgis_servers, switch_seconds)}
    if os.path.exists(state_file):
        os.remove(state_file)
    written = (0, 0)
    for index, phase in enumerate(("enter", "exit")):
        runs = [(name, debug_floor(workdir, name, phase)) for name in DEBUG_FLOORS]
        runs.append(("role", "opsmodes.maintenance." + phase))
        if (index + round_number) % 2:
            runs.reverse()
        for name, playbook in runs:
            for server in ucs_servers + arcgis_servers:
                server.clear_log()
            seconds, peak, code, output = run_playbook(playbook, inventory, forks, {"window_state_file": state_file},
                                                       sample_memory=True)
            failed, fatal = _failures(output)
            measure = {"seconds": seconds, "peak_mib": peak, "rc": code, "failed_hosts": failed, "fatal": fatal,
                       "tasks_per_host": tasks_per_host(output)}
            if name == "role":
                entries, total = _written_sequences(state_file)
                # A host's first transaction writes each of its entries once (enter opens them at sequence
                # 1, exit marks them leaving): one transaction per host, not one per entry.
                measure["transactions"] = len(ucs_servers) + total - written[1] - entries
                written = entries, total
                ucs_modes, arcgis_modes = _window_modes(ucs_servers, arcgis_servers)
                ucs_wanted, arcgis_wanted = PHASE_MODES[phase]
                measure.update(ucs_requests=requests_per_server(ucs_servers),
                               arcgis_requests=requests_per_server(arcgis_servers),
                               max_requests=max(len(s.requests) for s in ucs_servers + arcgis_servers),
                               misplaced=sum(m != ucs_wanted for m in ucs_modes)
                               + sum(m != arcgis_wanted for m in arcgis_modes))
            measures["%s_%s" % (name, phase)] = measure
            _check_floor_tasks(measures, phase)
            print("scale: %d hosts, forks %d, %s %s: %.1f s, exit code %d, load %.1f" % (
                len(ucs_servers), forks, name, phase, seconds, code, os.getloadavg()[0]), file=sys.stderr, flush=True)
    return measures


def _check_floor_tasks(measures, phase):
    """The debug floor must run as many tasks per host as the role's phase did: else the bound is off."""
    role, floor = measures.get("role_" + phase), measures.get("floor_" + phase)
    if role and floor and not role["failed_hosts"] and role["tasks_per_host"] != floor["tasks_per_host"]:
        raise RuntimeError("the debug floor of %s runs %s tasks per host (tasks: hosts), the role %s: update "
                           "DEBUG_FLOORS" % (phase, floor["tasks_per_host"], role["tasks_per_host"]))


class _TimedPostgresStore(PostgresStore):
    """The PostgreSQL store, noting when a transaction has its locks: the time under them is from
    then to the commit; connecting and locking come before."""

    def _lock(self, connection, keys):
        super()._lock(connection, keys)
        self.locked_at = time.perf_counter()


def _record_stores(workdir, cluster):
    """(name, make a store of an empty place, size of what it holds) for each store the role has."""
    def state_file(label):
        return StateFile(os.path.join(workdir, "lock-%s.db" % label))

    def postgresql(label):
        return _TimedPostgresStore.of(cluster.create_database())

    def size(store):
        if isinstance(store, StateFile):
            return os.path.getsize(store.path)
        with psycopg.connect(store.url) as connection:
            return connection.execute("SELECT pg_total_relation_size('opsmodes_window_records')").fetchone()[0]
    return (("state file", state_file, size), ("PostgreSQL", postgresql, size))


def bench_record_lock(hosts, site_every, samples, workdir, cluster):
    """Time under the record's lock per write, from each store itself: a record holding the entries
    of `hosts` hosts' servers, each transaction taking the lock, reading the row of one server,
    advancing it as _note does and committing it. Once with fresh entries, as in the bench's windows,
    and once with every entry's history full (HISTORY_LENGTH earlier windows)."""
    out = {}
    for store_name, make, size in _record_stores(workdir, cluster):
        for name, history in (("fresh", 0), ("full history", record.HISTORY_LENGTH)):
            store = make("%s-%d" % (store_name.replace(" ", "-"), history))
            store.check()
            keys, now = [], record.utc_now()
            with store.transaction() as records:
                for index in range(hosts):
                    services = [("ucs", "production", "maintenance")]
                    if index % site_every == 0:
                        services.append(("arcgis", ARCGIS_START, "READ_ONLY"))
                    for service, before, maintenance in services:
                        url = "http://127.0.0.1:%d/%s" % (20000 + index, service)
                        entry = record.new_entry(service, url, before, maintenance, "h%03d" % index, "bench", now)
                        entry["history"] = [uuid.uuid4().hex for _window in range(history)]
                        records.servers[entry["server"]] = entry
                        keys.append(entry["server"])
            locked, whole = [], []
            for sample in range(samples):
                key = keys[sample % len(keys)]
                started = time.perf_counter()
                with store.transaction([key]) as records:
                    records.servers[key] = record.advanced(records.servers[key], requested=record.utc_now(),
                                                           handle=None)
                ended = time.perf_counter()
                whole.append(ended - started)
                # The state file takes its lock first of all: its whole transaction is under it.
                locked.append(ended - getattr(store, "locked_at", started))
            locked.sort()
            out["%s, %s" % (store_name, name)] = {
                "store": store_name, "servers": len(keys), "bytes": size(store),
                "median_seconds": statistics.median(locked), "mean_seconds": statistics.mean(locked),
                "p90_seconds": locked[int(0.9 * (len(locked) - 1))], "mean_transaction_seconds": statistics.mean(whole)}
    return out


# The issue's targets for the scale section: exit / enter at (hosts, forks) RATIO_AT; each phase at
# FLOOR_AT within one switch plus FLOOR_FACTOR times its debug floor; the state file's lock within
# LOCK_SHARE of a phase.
RATIO_AT, RATIO_TARGET = (100, 5), 1.25
FLOOR_AT, FLOOR_FACTOR = (300, 50), 2.0
LOCK_SHARE = 0.10


def scale_figures(row, switch_seconds):
    """A configuration's medians, and how far beyond one switch each phase is, in debug floors."""
    median = row["median"]
    figures = {"ratio": ratio(median["role_exit"]["seconds"], median["role_enter"]["seconds"])}
    for phase in ("enter", "exit"):
        role = figures[phase] = median["role_" + phase]["seconds"]
        for name in DEBUG_FLOORS:
            floor = figures["%s_%s" % (name, phase)] = median["%s_%s" % (name, phase)]["seconds"]
            figures["over_%s_%s" % (name, phase)] = ratio(role - switch_seconds, floor)
            figures["bound_%s_%s" % (name, phase)] = switch_seconds + FLOOR_FACTOR * floor
    return figures


def lock_shares(scale):
    """(row, phase, transactions, {entries: (seconds under the lock, share of the phase)}) at the lock's host count."""
    out = []
    for row in scale["configs"]:
        if row["hosts"] != scale["lock_hosts"]:
            continue
        transactions = transactions_per_phase(row["hosts"], row["arcgis_sites"])
        for phase in ("enter", "exit"):
            seconds = row["median"]["role_" + phase]["seconds"]
            shares = {name: (transactions * entry["mean_seconds"], ratio(transactions * entry["mean_seconds"], seconds))
                      for name, entry in scale["lock"].items()}
            out.append((row, phase, transactions, shares))
    return out


def scale_targets(scale):
    rows = []
    switch = scale["switch_seconds"]
    for row in scale["configs"]:
        figures = scale_figures(row, switch)
        where = "%d hosts, forks %d" % (row["hosts"], row["forks"])
        if (row["hosts"], row["forks"]) == RATIO_AT:
            rows.append(("scale: exit / enter <= %.2f at %s" % (RATIO_TARGET, where), "%.2f" % figures["ratio"],
                         figures["ratio"] <= RATIO_TARGET))
        if (row["hosts"], row["forks"]) == FLOOR_AT:
            for phase in ("enter", "exit"):
                rows.append(("scale: %s at %s <= switch + %g x debug floor" % (phase, where, FLOOR_FACTOR),
                             "%.1f s (bound %.1f s)" % (figures[phase], figures["bound_floor_" + phase]),
                             figures[phase] <= figures["bound_floor_" + phase]))
    for row, phase, _transactions, shares in lock_shares(scale):
        for name, (_locked, share) in shares.items():
            rows.append(("the record's lock <= %d%% of %s at %d hosts, forks %d, %s" % (
                LOCK_SHARE * 100, phase, row["hosts"], row["forks"], name), "%.1f%%" % (share * 100),
                share <= LOCK_SHARE))
    return rows


def scale_report(scale):
    switch = scale["switch_seconds"]
    every = {2: "second", 3: "third", 4: "fourth"}.get(scale["site_every"], "%dth" % scale["site_every"])
    lines = [
        "## Scale: the role's phases against Ansible's own floor", "",
        "Each host has its own emulated UCS server, every %s host (the first included) also an ArcGIS site, all "
        "on 127.0.0.1 in the bench's process, a thread each; every switch takes %.1f s. The role: "
        "`ansible-playbook opsmodes.maintenance.enter`, then `opsmodes.maintenance.exit`, with a state file "
        "(removed before each round). The debug floor: a playbook of as many `ansible.builtin.debug` tasks per "
        "host as the role's phase runs (6: the playbook's include_role, the role's argument validation, its "
        "include of the phase's tasks file, request, confirm, report; exit's summary once more, `run_once`; "
        "DEBUG_FLOORS in bench/run.py), the count checked against the recaps of both runs; over the same "
        "inventory and forks, each run right beside its role phase, the order of the runs alternating. "
        "Over floor: (phase - one switch) / debug floor. Peak memory: resident memory "
        "of the `ansible-playbook` process tree, sampled every 50 ms. Requests: from the emulators' logs, per "
        "server and phase, the mean over the UCS servers (the busiest server of either kind in brackets) and over "
        "the ArcGIS servers. %d round(s), median. Load average (1 min) before and after the section: %.2f, %.2f "
        "on %d cores, other tests possibly running beside it."
        % (every, switch, scale["rounds"], scale["load"][0], scale["load"][1], os.cpu_count()), "",
        "| hosts | forks | enter (s) | exit (s) | exit / enter | debug floor enter (s) | debug floor exit (s) "
        "| enter over floor | exit over floor | peak MiB enter / exit / floor "
        "| requests per UCS server enter / exit | per ArcGIS server enter / exit | failed hosts "
        "| servers not where they should be |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    roles = ("role_enter", "role_exit")
    for row in scale["configs"]:
        figures = scale_figures(row, switch)
        enter, exit_ = row["rounds"][-1]["role_enter"], row["rounds"][-1]["role_exit"]
        failed = {host for r in row["rounds"] for key in roles for host in r[key]["failed_hosts"]}
        misplaced = max(r[key]["misplaced"] for r in row["rounds"] for key in roles)
        peaks = [max(row["median"][key]["peak_mib"] for key in keys)
                 for keys in (("role_enter",), ("role_exit",), ("floor_enter", "floor_exit"))]
        lines.append(
            "| %d | %d | %.1f | %.1f | %.2f | %.1f | %.1f | %.2f | %.2f | %.0f / %.0f / %.0f "
            "| %.1f / %.1f (%d / %d) | %.1f / %.1f | %d | %d |" % (
                row["hosts"], row["forks"], figures["enter"], figures["exit"], figures["ratio"],
                figures["floor_enter"], figures["floor_exit"], figures["over_floor_enter"], figures["over_floor_exit"],
                peaks[0], peaks[1], peaks[2], enter["ucs_requests"], exit_["ucs_requests"], enter["max_requests"],
                exit_["max_requests"], enter["arcgis_requests"], exit_["arcgis_requests"], len(failed), misplaced))
    lines += ["", "| target | measured | met |", "| --- | --- | --- |"]
    lines += ["| %s | %s | %s |" % (target, measured, "yes" if met else "**no**")
              for target, measured, met in scale_targets(scale)]
    lines += ["", "For reference, the floor earlier runs of this bench used: only the role's own tasks (request, "
              "confirm, report, and exit's summary once), 3 `ansible.builtin.debug` tasks per host, run beside the "
              "others; the same bound against it:", "",
              "| hosts | forks | debug floor of the role's own tasks, enter / exit (s) "
              "| enter, bound (s) | exit, bound (s) |", "| ---: | ---: | ---: | ---: | ---: |"]
    for row in scale["configs"]:
        figures = scale_figures(row, switch)
        lines.append("| %d | %d | %.1f / %.1f | %.1f, %.1f | %.1f, %.1f |" % (
            row["hosts"], row["forks"], figures["floor_own_enter"], figures["floor_own_exit"], figures["enter"],
            figures["bound_floor_own_enter"], figures["exit"], figures["bound_floor_own_exit"]))
    fatal = [(row, key, line) for row in scale["configs"] for r in row["rounds"] for key, m in r.items()
             if isinstance(m, dict) for line in m.get("fatal", [])]
    if fatal:
        lines += ["", "First failures seen:", ""]
        lines += ["- %d hosts, forks %d, %s: `%s`" % (row["hosts"], row["forks"], key, line.replace("`", "'"))
                  for row, key, line in fatal[:8]]
    return lines + [""] + lock_report(scale)


def lock_report(scale):
    lines = [
        "### The record's lock", "",
        "Every write of the record is a transaction under a lock. The state file (StateFile.transaction): take "
        "the file's lock, read the rows of the host's servers from the SQLite database, change them, commit with "
        "SQLite's rollback journal and synchronous=FULL; every write of every server waits for it. PostgreSQL "
        "(PostgresStore.transaction, window_state_url): connect, take a transaction-level advisory lock per server "
        "of the host, read their rows, change them, commit (fsync and synchronous_commit on, as a production server "
        "has them); only writers of the same server wait for each other, and connecting comes before the lock. "
        "Measured by driving each store directly, in the bench's process after the runs above, %d transactions "
        "over a record holding the servers of %d hosts, each advancing one entry as the action's _note does; "
        "uncontended, so the time under the lock alone (for PostgreSQL, from the locks taken to the commit; the "
        "whole transaction, connection included, beside it). "
        "Transactions per phase, read from plugins/action/window_phase.py: per host 1 (open or leave its "
        "entries), per service written a `sending` note, plus a `sent` note for ArcGIS (its write returns a "
        "job, UCS's none), and per service 1 in confirm (clearing `requested` after enter, closing after "
        "exit): 3 per UCS-only host, 6 per host with a site. "
        "Counted in the run: from the state file after each phase, the entries' sequences (every write advances "
        "one), with the opening or leaving transaction, which writes all of a host's entries once, counted once "
        "per host. Share: transactions times the mean time under the lock, over the phase's measured time (a "
        "phase run with the state file): what the lock costs at most when every write waited for every other, "
        "as the state file's do."
        % (scale["lock_samples"], scale["lock_hosts"]), "",
        "| record | size (KiB) | median under the lock (ms) | mean (ms) | p90 (ms) | whole transaction, mean (ms) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, entry in scale["lock"].items():
        lines.append("| %s, %d servers | %.0f | %.2f | %.2f | %.2f | %.2f |" % (
            name, entry["servers"], entry["bytes"] / 1024, entry["median_seconds"] * 1000,
            entry["mean_seconds"] * 1000, entry["p90_seconds"] * 1000,
            entry.get("mean_transaction_seconds", entry["mean_seconds"]) * 1000))
    names = list(scale["lock"])
    lines += ["", "| hosts | forks | phase | transactions, from the code / counted in the run | phase (s) | "
              + " | ".join("under the lock (s), %s | share, %s" % (name, name) for name in names) + " |",
              "| ---: | ---: | --- | ---: | ---: |" + " ---: | ---: |" * len(names)]
    for row, phase, transactions, shares in lock_shares(scale):
        counted = [r["role_" + phase].get("transactions") for r in row["rounds"]]
        lines.append("| %d | %d | %s | %d / %s | %.1f | " % (
            row["hosts"], row["forks"], phase, transactions, ", ".join(str(c) for c in counted),
            row["median"]["role_" + phase]["seconds"])
            + " | ".join("%.1f | %.1f%%" % (shares[name][0], shares[name][1] * 100) for name in names) + " |")
    lines.append("")
    return lines


def scale_section(options, workdir):
    configs = [tuple(int(n) for n in pair.split(":")) for pair in options.scale.split(",")]
    load_before = os.getloadavg()[0]
    rows = bench_scale(configs, options.scale_switch_seconds, options.scale_site_every, options.scale_rounds, workdir)
    lock_hosts = max(hosts for hosts, _forks in configs)
    # A PostgreSQL server on loopback for the PostgreSQL store, as durable as a real one: every
    # commit flushed, as the state file's synchronous=FULL is.
    with PostgresCluster(settings={"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}) as cluster:
        os.environ.update(cluster.environment())
        lock = bench_record_lock(lock_hosts, options.scale_site_every, options.lock_samples, workdir, cluster)
    return {"switch_seconds": options.scale_switch_seconds, "site_every": options.scale_site_every,
            "rounds": options.scale_rounds, "configs": rows, "lock": lock, "lock_hosts": lock_hosts,
            "lock_samples": options.lock_samples, "load": [load_before, os.getloadavg()[0]]}


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
        "import_basic_and_requests": _median_seconds(
            [python, "-c", "import ansible.module_utils.basic, requests"], runs),
        "import_basic_and_urls": _median_seconds(
            [python, "-c", "import ansible.module_utils.basic, ansible.module_utils.urls"], runs),
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
    version = subprocess.run([os.path.join(BIN, "ansible"), "--version"], capture_output=True, text=True, check=True)
    ansible = version.stdout.splitlines()[0]
    return "%s; %d cores; %.0f GiB; %s; Python %s; %s" % (cpu, os.cpu_count(), memory, platform.platform(),
                                                          platform.python_version(), ansible)


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
            ("converged: arcgis module / arcgis uri <= 0.55",
             "%.2f" % ratio(seconds("arcgis module"), seconds("arcgis uri")),
             ratio(seconds("arcgis module"), seconds("arcgis uri")) <= 0.55),
        ]
        for name in ("ucs module", "arcgis module", "arcgis module, token"):
            rows.append(("converged: %s / ping <= 1.4" % name, "%.2f" % ratio(seconds(name), seconds("ping")),
                         ratio(seconds(name), seconds("ping")) <= 1.4))
        for name, expected in (("ucs module", 1), ("arcgis module", 2), ("arcgis module, token", 1)):
            rows.append(("converged: requests per server, %s = %d" % (name, expected), "%g" % requests(name),
                         requests(name) == expected))
    window = results.get("window")
    if window:
        role, floor = window["variants"]["role"]["median_seconds"], window["variants"]["floor"]["median_seconds"]
        rows.append(("role enter+exit / floor <= 1.2", "%.2f" % ratio(role, floor), ratio(role, floor) <= 1.2))
    for kind, entry in results.get("overshoot", {}).items():
        rows.append(("%s overshoot: median < 0.5 s" % kind, "%.3f s" % entry["median_overshoot_seconds"],
                     entry["median_overshoot_seconds"] < 0.5))
        rows.append(("%s: polls while switching <= 2 per second" % kind, "%.2f" % entry["mean_polls_per_second"],
                     entry["mean_polls_per_second"] <= 2.0))
    if isinstance(results.get("scale"), dict):
        rows += scale_targets(results["scale"])
    return rows


def report(results, options):
    lines = ["# Benchmarks", "", "Measured by `make bench` (bench/run.py) on: " + results["machine"] + ".", ""]
    if options.keep:
        lines += ["Parts other than %s were measured in an earlier run on the same machine (`--keep`)." % options.only,
                  ""]
    rows = targets(results)
    if rows:
        lines += ["## Targets", "", "| target | measured | met |", "| --- | ---: | --- |"]
        lines += ["| %s | %s | %s |" % (target, measured, "yes" if met else "**no**") for target, measured, met in rows]
        lines.append("")
    modules = results.get("modules")
    if modules:
        lines += ["## Modules against hand-written `uri` playbooks and `ping`", "",
                  "%d inventory hosts, each with its own emulated server, forks %d; runs alternate between the "
                  "variants, %d rounds converged and %d changing (switch 1 s); median wall time of the whole "
                  "`ansible-playbook` run."
                  % (options.hosts, options.forks, options.rounds, max(2, options.rounds // 2)), ""]
        for state in ("converged", "changing"):
            by = modules[state]
            ping = modules["converged"]["ping"]["median_seconds"]
            lines += ["### %s run" % state.capitalize(), "",
                      "| variant | wall time (s) | vs ping | requests per server |", "| --- | ---: | ---: | ---: |"]
            for name, entry in by.items():
                lines.append("| %s | %.2f | %.2f | %g |"
                             % (name, entry["median_seconds"], ratio(entry["median_seconds"], ping),
                                entry["median_requests_per_server"]))
            lines += ["", "| ratio | value |", "| --- | ---: |",
                      "| ucs module / ucs uri | %.2f |"
                      % ratio(by["ucs module"]["median_seconds"], by["ucs uri"]["median_seconds"]),
                      "| arcgis module / arcgis uri | %.2f |"
                      % ratio(by["arcgis module"]["median_seconds"], by["arcgis uri"]["median_seconds"]),
                      "| arcgis module with a token / arcgis uri | %.2f |"
                      % ratio(by["arcgis module, token"]["median_seconds"], by["arcgis uri"]["median_seconds"]),
                      ""]
    window = results.get("window")
    if window:
        lines += ["## The role's window against the floor by hand", "",
                  "%d inventory hosts, each with its own emulated UCS server, every third (%d) also an ArcGIS site; "
                  "every switch takes %.1f s; forks %d; %d rounds, alternating which variant goes first. The role: "
                  "`ansible-playbook opsmodes.maintenance.enter` then `opsmodes.maintenance.exit`, with a state file "
                  "(removed before each round). The floor: bench/playbooks/window_floor_enter.yml then "
                  "window_floor_exit.yml, one bare module task per service each, no record, connection local from the "
                  "inventory as for the role (which delegates to localhost). Both are two `ansible-playbook` runs; "
                  "every server is checked in maintenance after enter and back in its mode before the window after "
                  "exit. ping: `ansible.builtin.ping` run twice over the same hosts, what Ansible itself costs, for "
                  "reference. Median wall time; enter + exit is the median of each round's sum."
                  % (window["hosts"], window["arcgis_sites"], window["switch_seconds"], window["forks"],
                     window["rounds"]), "",
                  "| variant | enter (s) | exit (s) | enter + exit (s) | requests per UCS server "
                  "| requests per ArcGIS server |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for name in ("role", "floor", "ping"):
            entry = window["variants"].get(name)
            if entry is None:
                continue
            lines.append("| %s | %.2f | %.2f | %.2f | %g | %g |"
                         % (name, entry["median_enter_seconds"], entry["median_exit_seconds"], entry["median_seconds"],
                            entry["median_ucs_requests"], entry["median_arcgis_requests"]))
        role, floor = window["variants"]["role"], window["variants"]["floor"]
        lines += ["", "| ratio | value |", "| --- | ---: |",
                  "| role / floor, enter | %.2f |" % ratio(role["median_enter_seconds"], floor["median_enter_seconds"]),
                  "| role / floor, exit | %.2f |" % ratio(role["median_exit_seconds"], floor["median_exit_seconds"]),
                  "| role / floor, enter + exit | %.2f |" % ratio(role["median_seconds"], floor["median_seconds"]), ""]
    overshoot = results.get("overshoot")
    if overshoot:
        lines += ["## Overshoot", "",
                  "A switch of %.1f s, %d samples per module: the time from the end of the switch (known to the "
                  "emulator) to the arrival of the module's confirming request, after which the task returns; and the "
                  "requests the server got while it switched." % (options.switch_seconds, options.samples), "",
                  "| module | median overshoot (s) | max (s) | polls per second while switching (mean) |",
                  "| --- | ---: | ---: | ---: |"]
        for kind, entry in overshoot.items():
            values = (kind, entry["median_overshoot_seconds"], max(entry["overshoot_seconds"]),
                      entry["mean_polls_per_second"])
            lines.append("| %s | %.3f | %.3f | %.2f |" % values)
        lines.append("")
    scale = results.get("scale")
    if isinstance(scale, dict):
        lines += scale_report(scale)
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
    parser.add_argument("--scale", default="100:5,300:5,300:50", help="hosts:forks,... for the scale section")
    parser.add_argument("--scale-switch-seconds", type=float, default=4.0)
    parser.add_argument("--scale-site-every", type=int, default=4, help="every n-th host is also an ArcGIS site")
    parser.add_argument("--scale-rounds", type=int, default=1)
    parser.add_argument("--lock-samples", type=int, default=300)
    parser.add_argument("--startup-runs", type=int, default=20)
    parser.add_argument("--only", default="modules,window,overshoot,scale,startup")
    parser.add_argument("--keep",
                        help="a results JSON of an earlier run on this machine whose parts not run now are kept")
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
            results["window"] = bench_window(options.window_hosts, options.window_forks, options.rounds,
                                             options.window_switch_seconds, workdir)
        if "overshoot" in parts:
            results["overshoot"] = bench_overshoot(options.samples, options.switch_seconds, workdir)
        if "scale" in parts:
            results["scale"] = scale_section(options, workdir)
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
