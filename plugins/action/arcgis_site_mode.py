# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The action of opsmodes.maintenance.arcgis_site_mode: in the controller's process where the task
runs on the controller, the module elsewhere (plugins/plugin_utils/_mode_action.py)."""

from __future__ import annotations

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._mode_action import ModeAction


class ActionModule(ModeAction):
    service = "arcgis"
