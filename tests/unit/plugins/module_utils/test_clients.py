# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The UCS and ArcGIS clients against the emulators, and the parsing of the APIs' answers."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl

import pytest

from ansible_collections.opsmodes.maintenance.plugins.module_utils import _arcgis as arcgis, _base as base, _ucs as ucs
from ansible_collections.opsmodes.maintenance.plugins.module_utils import _arcgis_documents as documents
from ansible_collections.opsmodes.maintenance.plugins.module_utils._transport import ApiError, HttpSession
from ansible_collections.opsmodes.maintenance.tests.emulators.arcgis import ArcgisEmulator
from ansible_collections.opsmodes.maintenance.tests.emulators.ucs import UcsEmulator


@pytest.mark.parametrize("reported, expected", [("maintenance", "maintenance"), ("MAINTENANCE", "maintenance"),
                                                ("Production", "production")])
def test_ucs_mode_of_any_case(reported, expected):
    assert ucs.mode_of({"mode": reported}) == expected


@pytest.mark.parametrize("document", [{}, {"mode": None}, {"mode": "switching"}, {"mode": 1}])
def test_ucs_mode_of_refuses_to_guess(document):
    with pytest.raises(ApiError, match="no recognised mode"):
        ucs.mode_of(document)


@pytest.mark.parametrize("idle_before_write, connections", [(base.IDLE_BEFORE_WRITE, 1), (-1.0, 2)],
                         ids=["a quick note: the read's connection", "a long note: a connection of its own"])
def test_a_write_after_a_long_note_goes_out_on_a_connection_of_its_own(monkeypatch, idle_before_write, connections):
    """The role notes a write on the record between converge's read and the write; a note that
    waited long for the record's lock leaves the read's connection idle that long."""
    monkeypatch.setattr(base, "IDLE_BEFORE_WRITE", idle_before_write)
    notes = []
    with UcsEmulator(switch_seconds=0.2) as server:
        client = ucs.UcsClient(HttpSession(), server.url)
        params = dict(url=server.url, mode="maintenance", wait=True, wait_timeout=10.0, pending_switch=None)
        result = base.converge(ucs.API, params, service=client, on_write=lambda stage, handle: notes.append(stage))
    assert result["changed"] and result["status"]["mode"] == "maintenance" and notes == ["sending", "sent"]
    read, write = server.requests[:2]
    assert (read["method"], write["method"]) == ("GET", "POST")
    assert len({read["client_port"], write["client_port"]}) == connections


def test_ucs_request_mode_reports_a_held_answer_as_unconfirmed():
    with UcsEmulator(post_blocks=True, switch_seconds=1.5) as server:
        client = ucs.UcsClient(HttpSession(timeout=0.3), server.url)
        assert client.request_mode("maintenance") == ucs.UNANSWERED
        status = client.wait_for_mode("maintenance", time.monotonic() + 10)
    assert status["mode"] == "maintenance"
    assert len(server.requests_to("/server/mode")) == 1


def test_ucs_refused_write_raises_with_the_servers_words():
    with UcsEmulator(same_mode="error") as server:
        client = ucs.UcsClient(HttpSession(), server.url)
        with pytest.raises(ApiError, match="HTTP 400 .*already in production mode"):
            client.request_mode("production")


@pytest.mark.parametrize("document, expected", [
    ({"status": "error", "messages": ["Invalid token."], "code": 498}, (498, "Invalid token. (code 498)")),
    ({"status": "error", "messages": ["a", "b"], "code": "500"}, (500, "a; b (code 500)")),
    ({"status": "error"}, (None, "error without a message")),
    ({"error": {"code": 498, "message": "Invalid Token", "details": []}}, (498, "Invalid Token (code 498)")),
    ({"error": {"code": 400, "message": "Unable to generate token.", "details": ["Invalid username or password."]}},
     (400, "Unable to generate token.: Invalid username or password. (code 400)")),
    ({"status": "success"}, None),
    ({"siteMode": "EDITABLE"}, None),
])
def test_arcgis_errors_in_both_shapes(document, expected):
    assert documents.api_error(document) == expected


@pytest.mark.parametrize("document, mode, flag, expected", [
    ({"siteMode": "READ_ONLY"}, "read_only", None, False),
    ({"siteMode": "read_only"}, "read_only", None, False),
    ({"siteMode": "EDITABLE"}, "read_only", None, True),
    ({"siteMode": "READ_ONLY"}, "read_only", False, False),
    ({"siteMode": "READ_ONLY", "allowEditingViaServices": True}, "read_only", False, True),
    ({"siteMode": "READ_ONLY", "allowEditingViaServices": "false"}, "read_only", False, False),
    ({"siteMode": "READ_ONLY", "allowEditingViaServices": True}, "read_only", None, False),
])
def test_arcgis_differs(document, mode, flag, expected):
    assert documents.differs(document, mode, flag) is expected


def test_arcgis_mode_of_refuses_to_guess():
    with pytest.raises(ApiError, match="no recognised siteMode"):
        documents.mode_of({"siteMode": "MAINTENANCE"})


def test_arcgis_one_token_for_many_calls():
    with ArcgisEmulator() as server:
        client = arcgis.ArcgisClient(HttpSession(), server.url, username="admin", password="admin")
        for _attempt in range(3):
            assert documents.mode_of(client.site_mode()) == "editable"
    assert len(server.requests_to("/generateToken")) == 1


def test_arcgis_token_expiry_in_the_past_does_not_renew_on_every_call():
    # A server whose clock runs far behind ours hands out tokens that look expired already.
    with ArcgisEmulator(token_lifetime=1) as server:
        client = arcgis.ArcgisClient(HttpSession(), server.url, username="admin", password="admin")
        documents.mode_of(client.site_mode())
        documents.mode_of(client.site_mode())
    assert len(server.requests_to("/generateToken")) == 1


def test_arcgis_token_near_expiry_is_renewed_before_use():
    with ArcgisEmulator(token_lifetime=arcgis.TOKEN_MARGIN_SECONDS + 1.5) as server:
        client = arcgis.ArcgisClient(HttpSession(), server.url, username="admin", password="admin")
        documents.mode_of(client.site_mode())
        time.sleep(1.6)  # the token's lifetime is what is under test: it must run out
        documents.mode_of(client.site_mode())
    # Renewed ahead of the server's expiry: no request was refused.
    assert len(server.requests_to("/generateToken")) == 2
    assert all(entry["status"] == 200 for entry in server.requests)


def test_arcgis_generated_token_is_registered_as_a_secret():
    secrets = set()
    with ArcgisEmulator() as server:
        arcgis.ArcgisClient(HttpSession(secrets=secrets), server.url, username="admin", password="admin").site_mode()
        assert secrets == set(server.tokens)


def test_arcgis_given_token_is_not_renewed():
    with ArcgisEmulator() as server:
        client = arcgis.ArcgisClient(HttpSession(), server.url, token="stale")
        with pytest.raises(ApiError, match="Invalid token.*token given was refused"):
            documents.mode_of(client.site_mode())
    assert not server.requests_to("/generateToken")
    assert len(server.requests) == 1


def test_arcgis_update_form():
    with ArcgisEmulator() as server:
        client = arcgis.ArcgisClient(HttpSession(), server.url, username="admin", password="admin")
        accepted, jobid = client.update("read_only", allow_editing_via_services=False)
        assert accepted and jobid
        client.wait_for_job(jobid, time.monotonic() + 10)
        [update] = server.requests_to("/mode/update")
    expected = {"siteMode": "READ_ONLY", "runAsync": "true", "allowEditingViaServices": "false", "f": "json",
                "token": next(iter(server.tokens))}
    assert dict(parse_qsl(update["body"])) == expected
    assert server.state()["mode"] == "READ_ONLY"


def test_arcgis_update_without_answer_is_unconfirmed_and_not_resent():
    with ArcgisEmulator(faults=["slow=2:1:POST:/mode/update"]) as server:
        client = arcgis.ArcgisClient(HttpSession(timeout=0.5), server.url, username="admin", password="admin")
        assert client.update("read_only") == (False, None)
        assert client.wait_for_mode("read_only", None, time.monotonic() + 10)["siteMode"] == "READ_ONLY"
    assert len(server.requests_to("/mode/update")) == 1
