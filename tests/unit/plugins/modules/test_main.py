# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Each module's `main`, run in this process with its arguments as Ansible passes them, against
the emulators over loopback HTTP: what it prints is the task's result."""

from __future__ import annotations

import contextlib
import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.opsmodes.maintenance.plugins.modules import arcgis_site_mode, ucs_server_mode
from ansible_collections.opsmodes.maintenance.tests.emulators.arcgis import ArcgisEmulator
from ansible_collections.opsmodes.maintenance.tests.emulators.ucs import UcsEmulator

try:  # ansible-core 2.19 and later
    from ansible.module_utils.testing import patch_module_args
except ImportError:
    @contextlib.contextmanager
    def patch_module_args(args):
        saved = basic._ANSIBLE_ARGS  # pylint: disable=protected-access
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))  # pylint: disable=protected-access
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved  # pylint: disable=protected-access


def run_main(module, args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exited:
            module.main()
    return exited.value.code, json.loads(capsys.readouterr().out)


def test_ucs_main_switches_and_returns_the_documented_result(capsys):
    with UcsEmulator(switch_seconds=0.2) as ucs:
        code, result = run_main(ucs_server_mode, {"url": ucs.url, "mode": "maintenance", "_ansible_diff": True}, capsys)
        assert ucs.state()["mode"] == "maintenance"
    assert code == 0
    assert (result["changed"], result["mode"], result["previous_mode"]) == (True, "maintenance", "production")
    assert result["status"]["mode"] == "maintenance" and result["elapsed"] > 0
    assert result["diff"] == {"before": {"mode": "production"}, "after": {"mode": "maintenance"}}


def test_ucs_main_fails_naming_the_mode(capsys):
    with UcsEmulator(write_forbidden=True) as ucs:
        code, result = run_main(ucs_server_mode, {"url": ucs.url, "mode": "maintenance"}, capsys)
    assert code == 1 and result["failed"] is True
    assert result["mode"] == "production" and result["msg"].endswith("The server is in mode production.")


def test_arcgis_main_in_check_mode_masks_the_generated_token(capsys):
    with ArcgisEmulator(password="Main-Pw-1") as site:
        code, result = run_main(arcgis_site_mode, {"url": site.url, "mode": "read_only", "username": "admin",
                                                   "password": "Main-Pw-1", "_ansible_check_mode": True}, capsys)
        tokens = set(site.tokens)
        assert site.state()["updates"] == 0
    assert code == 0 and result["changed"] is True and result["previous_mode"] == "editable"
    assert tokens and not any(token in json.dumps(result) for token in tokens | {"Main-Pw-1"})


def test_arcgis_main_refuses_bad_input_before_any_request(capsys):
    with ArcgisEmulator() as site:
        code, result = run_main(arcgis_site_mode, {"url": site.url, "mode": "read_only", "token": "given-token-1",
                                                   "username": "admin", "password": "admin"}, capsys)
        assert site.requests == []
    assert code == 1 and "not both" in result["msg"] and result["mode"] is None
