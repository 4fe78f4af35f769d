# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""The kinds of server a maintenance window switches, in one table.

A new kind is a client in module_utils (its ApiSpec), a module that runs it, and one entry here.
What the role and meta/runtime.yml must say about each kind (its action group, its window_*
variables and their defaults) follows from this table; tests/unit/plugins/plugin_utils checks
that they do.
"""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.opsmodes.maintenance.plugins.module_utils import _arcgis as arcgis, _ucs as ucs

Service = namedtuple("Service", "name api module maintenance_mode normal_mode")
"""`name`: the action group and the prefix of the role's variables (window_<name>_url ...);
`api`: the client's ApiSpec; `module`: the module's short name."""

SERVICES = {service.name: service for service in (
    Service("ucs", ucs.API, "ucs_server_mode", maintenance_mode="maintenance", normal_mode="production"),
    Service("arcgis", arcgis.API, "arcgis_site_mode", maintenance_mode="read_only", normal_mode="editable"),
)}


def module_name(service):
    return "opsmodes.maintenance." + service.module


def variable(service, option):
    """The role's variable for one of the module's options."""
    return "window_%s_%s" % (service.name, option)
