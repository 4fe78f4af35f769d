#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: window_phase
short_description: One phase of a maintenance window for one host, with a durable record
version_added: 1.0.0
description:
  - The engine of the role C(opsmodes.maintenance.window); use it through the role, whose
    variables (C(window_*)) it reads. It runs on the controller as an action plugin.
  - V(enter) reads every service of the host first (if one cannot be read, nothing on the host is
    switched), writes the modes before the window to the state file, and only then switches each
    service into its maintenance mode. An entry still open from an earlier V(enter) is kept.
  - On the controller, V(enter) asks for each switch without waiting for it; V(confirm), given
    V(enter)'s result as O(enter), waits until they have taken effect, and if one failed puts back
    what that V(enter) switched. Every host of a batch of forks thus switches at the same time. On
    another delegate host V(enter) waits itself and V(confirm) has nothing left to do.
  - V(exit) puts back each service whose entry is open to its recorded mode, unless it was in
    maintenance before the window, and closes the entry. A closed entry means nothing to do. A
    service without an entry is never switched (unless C(window_no_record=normal)).
  - V(status) reads each service's mode and shows it beside its record, writing nothing.
  - The record is kept in C(window_state_file) (default
    C(~/.ansible/opsmodes.maintenance/window-records.json)) under a file lock, merged per host and
    per service; it is also returned as the fact C(window_record) and published with C(set_stats)
    as C(window_records) for later AWX workflow nodes.
  - When the calls run on the controller, the modules' own code runs in-process, a thread per
    service; on another delegate host the modules M(opsmodes.maintenance.ucs_server_mode) and
    M(opsmodes.maintenance.arcgis_site_mode) run there.
author:
  - opsmodes maintainers (@opsmodes)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads only, writes neither to the servers nor to the state file, and says what it would do.
  diff_mode:
    support: full
    details: One diff per service that changes (or would).
  platform:
    platforms: all
options:
  phase:
    description: The phase to run for this host.
    type: str
    required: true
    choices: [enter, confirm, exit, status]
  enter:
    description:
      - With O(phase=confirm), the registered result of this host's V(enter).
    type: dict
  work_tasks:
    description:
      - With O(phase=enter), a tasks file to check before anything is switched (it must exist and
        load as a list of tasks); its absolute path is returned as RV(work_tasks). A relative path is
        taken from the current directory.
    type: str
seealso:
  - module: opsmodes.maintenance.ucs_server_mode
  - module: opsmodes.maintenance.arcgis_site_mode
"""

EXAMPLES = r"""
- name: Enter maintenance on this host's services
  opsmodes.maintenance.window_phase:
    phase: enter
  vars:
    window_ucs_url: https://ucs1.example.com:8443/genesys/1/cs
    window_state_file: /var/lib/maint/window-records.json
  register: window_enter
"""

RETURN = r"""
report:
  description: One line per service saying what was and what will be (or would be) done.
  returned: always
  type: list
  elements: str
rows:
  description: Per service, C(host), C(service), C(mode_before), C(mode_now) and C(action), for the summary table.
  returned: always
  type: list
  elements: dict
record:
  description: The host's record after this phase, service -> entry (C(state), C(mode_before), C(opened), C(by), C(closed), C(note)).
  returned: success
  type: dict
state_file:
  description: The absolute path of the state file.
  returned: always
  type: str
work_tasks:
  description: The absolute path of O(work_tasks).
  returned: when O(work_tasks) is given
  type: str
"""
