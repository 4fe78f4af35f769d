# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: window_summary
short_description: The end-of-play table of a maintenance window
version_added: 1.0.0
description:
  - Lines of a table with one row per host and service, giving the mode before the window, the
    mode now and what was done, from the results that the role M(opsmodes.maintenance.window_phase)
    registered on each host.
  - A host with none of the results (it failed before) or whose result failed without rows gets
    one row saying so.
options:
  _input:
    description: C(hostvars).
    type: dict
    required: true
  hosts:
    description: The hosts to list, in order, usually C(ansible_play_hosts_all).
    type: list
    elements: str
    required: true
  results:
    description: The names of the registered results to look at on each host; the first one defined counts.
    type: list
    elements: str
    required: true
  active:
    description:
      - The hosts still active in the play, usually C(ansible_play_hosts). With O(batch), a host
        that has no result yet and is active outside the current batch belongs to a later
        C(serial) batch, and is left out of the table, which ends with a line counting such hosts.
    type: list
    elements: str
  batch:
    description: The hosts of the current batch, usually C(ansible_play_batch).
    type: list
    elements: str
  phase:
    description:
      - The phase that ran, V(enter), V(exit) or V(status). With it, the table ends with a line saying
        what to run next, V(exit) after an enter, V(status) then V(exit) after a failure.
    type: str
    choices: [enter, exit, status]
  inventory:
    description: The inventory sources to name in that line, usually C(ansible_inventory_sources).
    type: list
    elements: str
author:
  - opsmodes maintainers (@opsmodes)
"""

EXAMPLES = r"""
- name: Summary of every host of the play
  ansible.builtin.debug:
    msg: >-
      {{ hostvars | opsmodes.maintenance.window_summary(ansible_play_hosts_all, 'window_exit', 'window_enter',
                                                        active=ansible_play_hosts, batch=ansible_play_batch) }}
  run_once: true
"""

RETURN = r"""
_value:
  description: The table's lines, the header first.
  type: list
  elements: str
"""

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import report as messages


def window_summary(hostvars, hosts, *results, active=None, batch=None, phase=None, inventory=None):
    # A serial play runs this once per batch; hosts of the batches to come have not failed, they
    # have not run yet.
    later = set(active or ()) - set(batch or ()) if batch is not None else set()
    rows = []
    waiting = 0
    failed = False
    for host in hosts:
        variables = hostvars.get(host) or {}
        result = next((variables[name] for name in results if isinstance(variables.get(name), dict)), None)
        failed = failed or result is None and host not in later or bool((result or {}).get("failed"))
        if result is None and host in later:
            waiting += 1
        elif result is None:
            rows.append({"host": host, "action": messages.no_result()})
        elif result.get("rows"):
            rows.extend(result["rows"])
        elif result.get("failed"):
            rows.append({"host": host, "action": messages.failed_without_rows(result.get("msg", ""))})
        else:
            rows.append({"host": host, "action": messages.no_service_row()})
    lines = messages.summary(rows)
    if waiting:
        lines.append(messages.later_batches(waiting))
    if phase:
        lines.append(messages.next_step(phase, failed, inventory or []))
    return lines


class FilterModule:
    def filters(self):
        return {"window_summary": window_summary}
