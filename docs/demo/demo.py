# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make demo`: a real maintenance window against emulated servers on loopback.

Starts emulated UCS servers and ArcGIS sites (one UCS already in maintenance), runs
`ansible-playbook opsmodes.maintenance.window --diff` around a small piece of work, and prints each
server's mode before, during and after, with the requests each server received.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from ansible_collections.opsmodes.maintenance.tests.emulators.arcgis import ArcgisEmulator
from ansible_collections.opsmodes.maintenance.tests.emulators.ucs import UcsEmulator

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    servers = {
        "app1 ucs": UcsEmulator(switch_seconds=1.0, base_path="/genesys/1/cs", username="ops", password="demo-ucs-pw"),
        "app1 arcgis": ArcgisEmulator(read_only_seconds=2.0, password="demo-gis-pw"),
        "app2 ucs": UcsEmulator(initial_mode="maintenance", username="ops", password="demo-ucs-pw"),
        "app3 arcgis": ArcgisEmulator(read_only_seconds=1.5, password="demo-gis-pw"),
    }
    for server in servers.values():
        server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="opsmodes-demo-") as demo_dir:
            before = {name: server.state()["mode"] for name, server in servers.items()}
            inventory = os.path.join(demo_dir, "inventory.json")
            with open(inventory, "w", encoding="utf-8") as stream:
                json.dump({"all": {
                    "vars": {
                        "ansible_connection": "local",
                        "ansible_python_interpreter": sys.executable,
                        "window_ucs_username": "ops",
                        "window_ucs_password": "demo-ucs-pw",
                        "window_arcgis_username": "admin",
                        "window_arcgis_password": "demo-gis-pw",
                        "demo_dir": demo_dir,
                        "demo_emulators": {name: server.origin for name, server in servers.items()},
                    },
                    "hosts": {
                        "app1": {"window_ucs_url": servers["app1 ucs"].url,
                                 "window_arcgis_url": servers["app1 arcgis"].url},
                        "app2": {"window_ucs_url": servers["app2 ucs"].url},
                        "app3": {"window_arcgis_url": servers["app3 arcgis"].url},
                    }}}, stream)
            command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "opsmodes.maintenance.window",
                       "-i", inventory, "--diff",
                       "-e", "window_work_tasks=" + os.path.join(HERE, "work.yml"),
                       "-e", "window_state_file=" + os.path.join(demo_dir, "window-state.db")]
            shown = " ".join(os.path.basename(c) if c.endswith("ansible-playbook") else c for c in command)
            print("$ " + shown, flush=True)
            completed = subprocess.run(command, check=False)
            with open(os.path.join(demo_dir, "during.json"), encoding="utf-8") as stream:
                during = json.load(stream)
        after = {name: server.state()["mode"] for name, server in servers.items()}
        print("\nEach server's mode (from the emulators' own state) and the requests it received:\n")
        print("%-12s %-12s %-12s %-12s %s" % ("server", "before", "during", "after", "requests (writes)"))
        for name, server in servers.items():
            writes = sum(1 for r in server.requests
                         if r["method"] == "POST" and r["path"].endswith(("/server/mode", "/mode/update")))
            print("%-12s %-12s %-12s %-12s %d (%d)"
                  % (name, before[name], during[name], after[name], len(server.requests), writes))
        print("\napp2's UCS was already in maintenance before the window: nothing was written to it, "
              "and it was left so.")
        return completed.returncode
    finally:
        for server in servers.values():
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
