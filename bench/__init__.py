# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make bench`: the collection measured against what users would write without it.

- run.py: the entry point `make bench` calls; its options, and RESULTS.md from the sections' reports;
- harness.py: fleets of emulated servers from the service registry, playbook runs and their
  recaps, memory by proportional set size;
- one module per section, each with measure(options, workdir), targets(results) and
  report(results): modules.py, window.py, overshoot.py, scale.py (with record_lock.py, the
  record's time under its lock in the state file and in PostgreSQL), startup.py;
- playbooks/: the hand-written playbooks the modules are measured against.
"""
