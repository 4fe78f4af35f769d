# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The UCS emulator follows shared/api-contracts.md: each documented behaviour and each switch,
over real HTTP."""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from ansible_collections.opsmodes.maintenance.tests.emulators.common import DEFAULT_CERT, Fault
from ansible_collections.opsmodes.maintenance.plugins.module_utils._ucs import STATUS_FIELDS
from ansible_collections.opsmodes.maintenance.tests.emulators.ucs import SSO_LOCATION, UcsEmulator


def status(emulator, **kwargs):
    kwargs.setdefault("timeout", 5)
    return requests.get(emulator.url + "/server/status", **kwargs)


def set_mode(emulator, mode, **kwargs):
    return requests.post(emulator.url + "/server/mode", json={"mode": mode}, timeout=kwargs.pop("timeout", 5), **kwargs)


def wait_for_mode(emulator, mode, seconds=5):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if emulator.state()["mode"] == mode:
            return True
        time.sleep(0.05)
    return False


def test_status_document():
    with UcsEmulator() as ucs:
        answer = status(ucs)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    document = answer.json()
    assert document["mode"] == "production"
    # Exactly the documented fields.
    assert set(document) == {"mode"} | STATUS_FIELDS


def test_set_mode_is_case_insensitive_and_answers_as_documented():
    with UcsEmulator(switch_seconds=0.3) as ucs:
        answer = set_mode(ucs, "MAINTENANCE")
        assert answer.status_code == 200
        assert answer.headers["Location"] == "/server/status"
        assert answer.json() == {"server changed": "maintenance"}
        assert wait_for_mode(ucs, "maintenance")


def test_every_request_gets_503_while_switching():
    with UcsEmulator(switch_seconds=1.0) as ucs:
        set_mode(ucs, "maintenance")
        assert status(ucs).status_code == 503
        assert set_mode(ucs, "production").status_code == 503
        assert requests.get(ucs.url + "/profiles/1", timeout=5).status_code == 503
        assert wait_for_mode(ucs, "maintenance")
        assert status(ucs).json()["mode"] == "maintenance"


def test_post_blocks_until_the_switch_ends():
    with UcsEmulator(switch_seconds=1.0, post_blocks=True) as ucs:
        started = time.monotonic()
        assert set_mode(ucs, "maintenance").status_code == 200
        assert time.monotonic() - started >= 1.0
        assert status(ucs).json()["mode"] == "maintenance"


def test_post_blocking_outlasts_a_short_client_timeout():
    with UcsEmulator(switch_seconds=1.5, post_blocks=True) as ucs:
        with pytest.raises(requests.exceptions.ReadTimeout):
            set_mode(ucs, "maintenance", timeout=0.3)
        assert wait_for_mode(ucs, "maintenance")


@pytest.mark.parametrize("path, allowed_in", [("/metadata/profiles/extensions", "maintenance"),
                                              ("/profiles/42", "production"),
                                              ("/services/7", "production")])
def test_mode_restricted_operations(path, allowed_in):
    other = "production" if allowed_in == "maintenance" else "maintenance"
    with UcsEmulator(initial_mode=other) as ucs:
        refused = requests.get(ucs.url + path, timeout=5)
        assert refused.status_code == 503 and "mode" in refused.text
    with UcsEmulator(initial_mode=allowed_in) as ucs:
        assert requests.get(ucs.url + path, timeout=5).status_code == 200


def test_base_path_prefix():
    with UcsEmulator(base_path="genesys/1/cs/") as ucs:
        assert ucs.url.endswith(":%d/genesys/1/cs" % ucs.port)
        assert status(ucs).status_code == 200
        assert requests.get(ucs.origin + "/server/status", timeout=5).status_code == 404


def test_basic_auth_when_on():
    with UcsEmulator(username="ops", password="pw") as ucs:
        missing = status(ucs)
        assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Basic")
        assert status(ucs, auth=("ops", "wrong")).status_code == 401
        assert status(ucs, auth=("ops", "pw")).status_code == 200


def test_auth_off_ignores_credentials():
    with UcsEmulator() as ucs:
        assert status(ucs, auth=("any", "thing")).status_code == 200


@pytest.mark.parametrize("case, reported", [("lower", "maintenance"), ("upper", "MAINTENANCE"),
                                            ("title", "Maintenance")])
def test_initial_mode_and_letter_case(case, reported):
    with UcsEmulator(initial_mode="maintenance", mode_case=case) as ucs:
        assert status(ucs).json()["mode"] == reported


def test_error_bodies_text_and_json():
    with UcsEmulator(error_body="text") as ucs:
        answer = set_mode(ucs, "sleeping")
        assert answer.status_code == 400 and answer.headers["Content-Type"].startswith("text/plain")
        assert "Unknown mode" in answer.text
    with UcsEmulator(error_body="json") as ucs:
        answer = set_mode(ucs, "sleeping")
        assert answer.status_code == 400 and answer.json()["message"].startswith("Unknown mode")


@pytest.mark.parametrize("same_mode, code", [("ok", 200), ("error", 400)])
def test_post_of_the_current_mode(same_mode, code):
    with UcsEmulator(same_mode=same_mode) as ucs:
        assert set_mode(ucs, "production").status_code == code
        assert ucs.state()["switches"] == 0


def test_bad_body():
    with UcsEmulator() as ucs:
        answer = requests.post(ucs.url + "/server/mode", data="mode=maintenance", timeout=5)
        assert answer.status_code == 400


def test_faults_status_codes_in_order_and_filtered():
    with UcsEmulator(faults=["503:2:GET:/server/status", "500:1:POST"]) as ucs:
        assert [status(ucs).status_code for _attempt in range(3)] == [503, 503, 200]
        assert set_mode(ucs, "maintenance").status_code == 500
        assert ucs.state()["switches"] == 0


def test_fault_drop_and_drop_after():
    with UcsEmulator(switch_seconds=0.1, faults=["drop:1:GET", "drop_after:1:POST"]) as ucs:
        with pytest.raises(requests.exceptions.ConnectionError):
            status(ucs)
        with pytest.raises(requests.exceptions.ConnectionError):
            set_mode(ucs, "maintenance")
        # The write was processed before the connection was dropped.
        assert wait_for_mode(ucs, "maintenance")
        assert [entry["status"] for entry in ucs.requests] == [None, None]


def test_fault_slow_and_not_json():
    with UcsEmulator(faults=["slow=1:1", "not_json:1"]) as ucs:
        with pytest.raises(requests.exceptions.ReadTimeout):
            status(ucs, timeout=0.3)
        answer = status(ucs)
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "text/html"
        with pytest.raises(ValueError):
            answer.json()
        assert status(ucs).json()["mode"] == "production"


def test_fault_trickle_sends_the_whole_answer_one_byte_at_a_time():
    assert Fault.parse("trickle").seconds == 1.0 and Fault.parse("slow").seconds == 5.0
    with UcsEmulator(faults=["trickle=0.05:1:GET:/server/status", "trickle=0.002:1:GET:/server/status"]) as ucs:
        with socket.create_connection((ucs.host, ucs.port), timeout=5) as client:
            client.sendall(b"GET /server/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            started, chunks = time.monotonic(), []
            while len(b"".join(chunks)) < len(b"HTTP/1.1 200"):
                chunks.append(client.recv(len(b"HTTP/1.1 200") - len(b"".join(chunks))))
                assert chunks[-1], "the emulator hung up"
            took = time.monotonic() - started
        assert b"".join(chunks) == b"HTTP/1.1 200" and len(chunks) > 1
        assert took >= 11 * 0.05
        # The body trickles too, and what arrives in the end is the whole answer.
        started = time.monotonic()
        answer = status(ucs)
        took = time.monotonic() - started
        assert answer.status_code == 200 and answer.json()["mode"] == "production"
        assert took >= len(answer.content) * 0.002
        # The next answer comes at once.
        assert status(ucs, timeout=0.5).json()["mode"] == "production"


def test_fault_hold_answers_what_the_request_found_once_released():
    """A read that comes back late, after what happened meanwhile: answered as of its arrival."""
    assert Fault.parse("hold").seconds == 600.0
    with UcsEmulator(switch_seconds=0, faults=["hold:1:GET:/server/status"]) as ucs:
        with ThreadPoolExecutor(max_workers=1) as pool:
            held = pool.submit(status, ucs)
            deadline = time.monotonic() + 10
            while not ucs.holding:
                assert time.monotonic() < deadline, "the request did not arrive"
                time.sleep(0.01)
            assert requests.post(ucs.url + "/server/mode", json={"mode": "maintenance"}, timeout=5).ok
            assert status(ucs).json()["mode"] == "maintenance"
            assert not held.done()
            assert requests.post(ucs.origin + "/_emulator/release", timeout=5).json() == {"released": 1}
            assert held.result(timeout=10).json()["mode"] == "production"
        assert ucs.holding == 0


def test_tls_mode():
    with UcsEmulator(tls=True) as ucs:
        assert ucs.url.startswith("https://")
        with pytest.raises(requests.exceptions.SSLError):
            status(ucs)
        assert status(ucs, verify=DEFAULT_CERT).status_code == 200


def test_request_log_and_control_endpoints(tmp_path):
    log_file = tmp_path / "requests.jsonl"
    with UcsEmulator(log_file=str(log_file)) as ucs:
        set_mode(ucs, "maintenance", auth=("u", "p"))
        logged = requests.get(ucs.origin + "/_emulator/log", timeout=5).json()
        state = requests.get(ucs.origin + "/_emulator/state", timeout=5).json()
        requests.post(ucs.origin + "/_emulator/faults", data="503:1", timeout=5)
        assert status(ucs).status_code == 503
    [entry] = logged
    assert entry["method"] == "POST" and entry["path"] == "/server/mode" and entry["status"] == 200
    assert json.loads(entry["body"]) == {"mode": "maintenance"}
    assert entry["headers"]["authorization"].startswith("Basic ")
    assert state["mode"] in ("maintenance", "production") and state["switches"] == 1
    # Control requests are not logged; the file holds the same entries as the log.
    assert [json.loads(line)["path"] for line in log_file.read_text().splitlines()] == [
        "/server/mode", "/server/status"]


def test_the_control_endpoints_answer_under_the_base_path_too():
    """The URL a user gives the modules is the base URL: the emulator's own endpoints are there too."""
    with UcsEmulator(base_path="/genesys/1/cs", switch_seconds=0) as ucs:
        set_mode(ucs, "maintenance")
        for base in (ucs.origin, ucs.url):
            assert requests.get(base + "/_emulator/state", timeout=5).json()["mode"] == "maintenance"
            assert [entry["path"] for entry in requests.get(base + "/_emulator/log", timeout=5).json()] == [
                "/genesys/1/cs/server/mode"]
        assert requests.post(ucs.url + "/_emulator/faults", data="503:1", timeout=5).status_code == 200
        assert status(ucs).status_code == 503


def test_a_switch_under_way_at_start_and_one_begun_at_run_time():
    with UcsEmulator(switching_to="maintenance", switch_seconds=0.5) as ucs:
        assert status(ucs).status_code == 503
        assert wait_for_mode(ucs, "maintenance")
        answer = requests.post(ucs.origin + "/_emulator/switch", json={"mode": "production", "seconds": 0.5}, timeout=5)
        assert answer.json()["switching_to"] == "production"
        assert status(ucs).status_code == 503
        assert wait_for_mode(ucs, "production")


@pytest.mark.parametrize("write_answer, switched", [("html", True), ("html_only", False)])
def test_a_single_sign_on_page_answers_the_write(write_answer, switched):
    with UcsEmulator(write_answer=write_answer, switch_seconds=0.2) as ucs:
        answer = set_mode(ucs, "maintenance")
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
        assert wait_for_mode(ucs, "maintenance", seconds=1) is switched


def test_a_redirect_answers_the_write_and_nothing_switches():
    with UcsEmulator(write_answer="redirect") as ucs:
        answer = set_mode(ucs, "maintenance", allow_redirects=False)
        assert answer.status_code == 302 and answer.headers["Location"] == SSO_LOCATION
        assert ucs.state() == {"mode": "production", "switching_to": None, "switches": 0}


def test_without_the_administrator_role_reading_works_and_writing_is_forbidden():
    with UcsEmulator(write_forbidden=True) as ucs:
        assert status(ucs).status_code == 200
        assert set_mode(ucs, "maintenance").status_code == 403
        assert ucs.state()["mode"] == "production"


def test_no_profile_schema_answers_404_and_stays_in_maintenance():
    with UcsEmulator(initial_mode="maintenance", no_profile_schema=True) as ucs:
        answer = set_mode(ucs, "production")
        assert answer.status_code == 404 and "No profile schema" in answer.text
        assert ucs.state()["mode"] == "maintenance"


@pytest.mark.parametrize("server, code", [("gms_404", 404), ("gms_json", 200)])
def test_a_url_that_reaches_gms(server, code):
    with UcsEmulator(server=server) as ucs:
        answer = status(ucs)
    assert answer.status_code == code
    assert "mode" not in answer.json() and "exception" in answer.json()
