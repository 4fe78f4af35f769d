# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""Every message of the maintenance window, in one place, by what it speaks of: the phases
(phases.py), the calls to the servers (calls.py), the summary (report.py), the role's variables
and the work's tasks file (settings.py), the record stores (store.py). The code decides and
raises; these only say."""
