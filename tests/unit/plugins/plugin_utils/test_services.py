# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The table of the kinds of server (plugins/plugin_utils/_services.py) against what must agree
with it: meta/runtime.yml's action groups, the role's defaults and argument specs, the modules."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._services import SERVICES, variable

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
# Module options the role does not take as window_<service>_<option> variables: the mode is the
# window's to set, and whether to wait and a pending switch are the engine's.
NOT_ROLE_VARIABLES = {"mode", "wait", "pending_switch"}


def load(*path):
    with open(os.path.join(ROOT, *path), encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def role_options(entry_point):
    return load("roles", "window", "meta", "argument_specs.yml")["argument_specs"][entry_point]["options"]


def test_every_kind_has_its_action_group_and_no_other_group_exists():
    groups = load("meta", "runtime.yml")["action_groups"]
    assert groups == {service.name: [service.module] for service in SERVICES.values()}


@pytest.mark.parametrize("service", SERVICES.values(), ids=list(SERVICES))
def test_every_kind_has_its_module(service):
    assert os.path.isfile(os.path.join(ROOT, "plugins", "modules", service.module + ".py"))


@pytest.mark.parametrize("service", SERVICES.values(), ids=list(SERVICES))
def test_the_role_defaults_give_each_kind_its_modes(service):
    defaults = load("roles", "window", "defaults", "main.yml")
    assert defaults[variable(service, "maintenance_mode")] == service.maintenance_mode
    assert defaults[variable(service, "normal_mode")] == service.normal_mode


@pytest.mark.parametrize("service", SERVICES.values(), ids=list(SERVICES))
def test_the_argument_specs_take_every_option_of_each_kind(service):
    options = role_options("main")
    entry_point = "main"
    for option, spec in service.api.argument_spec().items():
        if option in NOT_ROLE_VARIABLES:
            continue
        name = variable(service, option)
        assert name in options, "%s is missing from the %s argument spec" % (name, entry_point)
        expected = {"str": "str", "bool": "bool", "float": "float", "int": "int", "path": "path"}[spec["type"]]
        assert options[name]["type"] == expected, name
    maintenance = options[variable(service, "maintenance_mode")]
    assert maintenance["default"] == service.maintenance_mode
    assert service.maintenance_mode in maintenance["choices"] and service.normal_mode in maintenance["choices"]
    assert service.name in options["window_services"]["choices"]


def test_the_argument_specs_name_no_kind_that_is_not_in_the_table():
    options = role_options("main")
    # window_state_url is the record's, not a service's.
    prefixes = {name.split("_")[1] for name in options
                if name.startswith("window_") and name.endswith("_url") and name != "window_state_url"}
    assert prefixes == set(SERVICES)
    assert sorted(options["window_services"]["choices"]) == sorted(SERVICES)


@pytest.mark.parametrize("entry_point", ["enter", "exit", "window", "status"])
def test_each_entry_point_lists_only_its_own_options(entry_point):
    """The servers, their connection and the record are main's to describe, once: an entry point
    that listed them again would make ansible-doc say the same five times."""
    main, own = role_options("main"), role_options(entry_point) or {}
    assert set(own) <= set(main)
    assert not any(name.endswith(("_url", "_password", "_state_file", "_services")) for name in own), sorted(own)
    for name, spec in own.items():
        assert spec == main[name], "%s is described differently in %s" % (name, entry_point)
