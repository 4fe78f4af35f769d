#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: window_phase
short_description: The engine of the role opsmodes.maintenance.window; not for playbooks
version_added: 1.0.0
description:
  - The engine of the role C(opsmodes.maintenance.window), not a module to call from a playbook; use the
    role, or the collection's playbooks, whose variables (C(window_*)) it reads. It runs on the controller
    as an action plugin.
  - The record belongs to a server, not to an inventory host; it is keyed by the service and the
    server's normalized URL, so hosts that share a server share one entry. Each entry names the
    window that opened it, a sequence that every write advances and the earlier windows of the
    server; copies of it (the state file or the PostgreSQL store, C(window_records), the fact
    C(window_record)) are ordered by those, never by a clock.
  - V(enter) reads every service of the host first (if one cannot be read, nothing on the host is
    switched), then, in one write to the record, opens each server's entry with its mode
    before the window, joins the entry another host holds open for a shared server, or keeps its
    own; only then does it ask for each switch, without waiting. An open entry whose server is
    not in its maintenance mode (ended by hand or by another tool) is closed with a note, and a
    new one records the live mode. An open entry that asks for another maintenance mode fails the
    host before any switch.
  - V(exit) hands a server on to the other hosts that hold it open, or, for the last of them, asks
    for the mode before the window without waiting, unless the server was in maintenance before.
    A closed entry means nothing to do. A service without an entry is never switched (unless
    C(window_no_record=normal)).
  - V(confirm), given V(enter)'s or V(exit)'s registered result as O(requested), waits until what
    it asked for has taken effect, closes the entries that exit put back, and reports. If a switch
    into maintenance failed, what that V(enter) switched goes back; a failed put-back leaves the
    entry open for the next exit.
  - V(status) reads each service's mode and shows it beside its record, writing nothing.
  - Every write to a server is noted in the record before it goes out, and the server's job once
    it answers, whether the calls run here or on a delegate host.
  - When the calls run on the controller, the modules' own code runs in-process, a thread per
    service; on another delegate host the modules M(opsmodes.maintenance.ucs_server_mode) and
    M(opsmodes.maintenance.arcgis_site_mode) run there, asked to switch without waiting and then
    to confirm.
author:
  - opsmodes maintainers (@opsmodes)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads only, writes neither to the servers nor to the record, and says what it would do.
  diff_mode:
    support: full
    details: One diff per service that changes (or would), on the confirm step.
  platform:
    platforms: all
options:
  phase:
    description: The phase to run for this host.
    type: str
    required: true
    choices: [enter, exit, confirm, status]
  requested:
    description:
      - With O(phase=confirm), the registered result of this host's V(enter) or V(exit).
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
    window_state_file: /var/lib/maint/window-records.db
  register: window_enter_request

- name: Wait for the switches it asked for
  opsmodes.maintenance.window_phase:
    phase: confirm
    requested: "{{ window_enter_request }}"
  register: window_enter
"""

RETURN = r"""
report:
  description:
    - One line per service saying what was and what will be (or would be) done, also shown as the
      phase runs.
  returned: with O(phase=confirm) and O(phase=status)
  type: list
  elements: str
rows:
  description:
    - Per service, C(host), C(service), C(mode_before), C(mode_now), C(action) and C(comment), for the
      summary table.
  returned: with O(phase=confirm) and O(phase=status)
  type: list
  elements: dict
record:
  description:
    - The entries of the host's servers after this phase, service -> entry (C(server), C(url), C(window),
      C(sequence), C(state), C(mode_before), C(maintenance_mode), C(holders), C(opened), C(by), C(closed), C(note),
      C(comment)).
  returned: success
  type: dict
state_file:
  description: Where the record is, the state file's absolute path or the PostgreSQL store's URL without a password.
  returned: always
  type: str
work_tasks:
  description: The absolute path of O(work_tasks).
  returned: when O(work_tasks) is given
  type: str
"""
