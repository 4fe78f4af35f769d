# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The inventory shipped beside the emulators (tests/emulators/inventory.yml) runs the collection's
playbooks against the emulators started as its comments say, on their ports."""

from __future__ import annotations

import os
import re
import subprocess

from ansible_collections.opsmodes.maintenance.tests.emulators.arcgis import ArcgisEmulator
from ansible_collections.opsmodes.maintenance.tests.emulators.ucs import UcsEmulator
from ansible_collections.opsmodes.maintenance.tests.functional.conftest import BIN

INVENTORY = os.path.join(os.path.dirname(__file__), "..", "emulators", "inventory.yml")


def test_the_shipped_inventory_runs_a_window_against_the_emulators_its_comments_start(tmp_path):
    with open(INVENTORY, encoding="utf-8") as stream:
        commands = re.findall(r"python3 tests/emulators/serve.py (.*)", stream.read())
    # The emulators as the comments start them.
    assert commands == ["ucs --port 8080 --base-path /genesys/1/cs --switch-seconds 3",
                        "ucs --port 8081 --initial-mode maintenance",
                        "arcgis --port 6443 --tls --username admin --password admin"]
    with UcsEmulator(port=8080, base_path="/genesys/1/cs", switch_seconds=0.3) as ucs, \
            UcsEmulator(port=8081, initial_mode="maintenance") as ucs2, \
            ArcgisEmulator(port=6443, tls=True, username="admin", password="admin", read_only_seconds=0.3,
                           editable_seconds=0.3) as site:
        environment = dict(os.environ, ANSIBLE_NOCOLOR="1")
        for playbook, modes in (("enter", ("maintenance", "READ_ONLY")), ("exit", ("production", "EDITABLE"))):
            completed = subprocess.run([os.path.join(BIN, "ansible-playbook"), "opsmodes.maintenance." + playbook,
                                        "-i", INVENTORY, "--diff"], cwd=tmp_path, env=environment,
                                       capture_output=True, text=True, timeout=300, check=False)
            assert completed.returncode == 0, completed.stdout + completed.stderr
            assert (ucs.state()["mode"], site.state()["mode"], ucs2.state()["mode"]) == modes + ("maintenance",)
        assert (tmp_path / "window-records.db").exists() and not ucs2.requests_to("/server/mode")
