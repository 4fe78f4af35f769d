# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""opsmodes.maintenance.ucs_server_mode run by ansible-playbook against the UCS emulator."""

from __future__ import annotations

import base64
import json
import socket

import pytest

MODULE = "ucs_server_mode"


def writes(ucs):
    return ucs.requests_to("/server/mode", "POST")


def test_switches_to_maintenance_and_waits(ucs_server, run_module):
    ucs = ucs_server(switch_seconds=1.0)
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance"})
    assert not run.failed, run.output
    assert run.result["changed"] is True
    assert run.result["mode"] == "maintenance"
    assert run.result["previous_mode"] == "production"
    assert run.result["status"]["mode"] == "maintenance"
    assert run.result["elapsed"] >= 1.0
    assert ucs.state()["mode"] == "maintenance"
    [post] = writes(ucs)
    assert json.loads(post["body"]) == {"mode": "maintenance"}
    assert post["headers"]["content-type"] == "application/json"
    # One session: the read, the write and the polling share a kept-alive connection.
    assert len({entry["client_port"] for entry in ucs.requests}) == 1


def test_second_run_is_idempotent_with_one_request(ucs_server, run_module):
    ucs = ucs_server(initial_mode="maintenance")
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance"})
    assert run.result["changed"] is False
    assert run.result["mode"] == run.result["previous_mode"] == "maintenance"
    assert [(r["method"], r["path"]) for r in ucs.requests] == [("GET", "/server/status")]


@pytest.mark.parametrize("base_path", ["/cv", "/genesys/1/cs"])
def test_base_path_prefix_and_trailing_slash(ucs_server, run_module, base_path):
    ucs = ucs_server(base_path=base_path, switch_seconds=0.2)
    run = run_module(MODULE, {"url": ucs.url + "/", "mode": "maintenance"})
    assert run.result["changed"] is True, run.output
    assert ucs.state()["mode"] == "maintenance"
    assert all(r["path"].startswith(base_path + "/server/") and "//" not in r["path"] for r in ucs.requests)


def test_basic_auth_sent_when_given(ucs_server, run_module):
    ucs = ucs_server(username="ops", password="s3cret-Pa55", switch_seconds=0.2)
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance", "username": "ops", "password": "s3cret-Pa55"})
    assert run.result["changed"] is True, run.output
    expected = "Basic " + base64.b64encode(b"ops:s3cret-Pa55").decode()
    assert all(r["headers"].get("authorization") == expected for r in ucs.requests)
    assert "s3cret-Pa55" not in run.output + json.dumps(run.result)


def test_no_auth_header_when_auth_is_off(ucs_server, run_module):
    ucs = ucs_server(switch_seconds=0.2)
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance"})
    assert run.result["changed"] is True, run.output
    assert not any("authorization" in r["headers"] for r in ucs.requests)


def test_bad_credentials_fail_naming_the_user_not_the_password(ucs_server, run_module):
    ucs = ucs_server(username="ops", password="right-password")
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance", "username": "ops", "password": "wrong-Pa55word"},
                     verbosity=3)
    assert run.failed
    assert "authentication failed for user 'ops'" in run.msg
    assert run.msg.endswith("Nothing was changed.")
    # A refused login is not repeated to name the mode: repeated failed logins can lock accounts.
    assert len(ucs.requests) == 1
    assert "wrong-Pa55word" not in run.output + json.dumps(run.result)
    assert not writes(ucs)


def test_auth_required_but_not_given(ucs_server, run_module):
    ucs = ucs_server(username="ops", password="pw")
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance"})
    assert run.failed
    assert "requires authentication" in run.msg


def test_post_blocking_past_timeout_is_decided_by_status(ucs_server, run_module):
    ucs = ucs_server(post_blocks=True, switch_seconds=3.0)
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance", "timeout": 1})
    assert not run.failed, run.msg
    assert run.result["mode"] == "maintenance"
    assert ucs.state()["mode"] == "maintenance"
    assert len(writes(ucs)) == 1


def test_post_blocking_within_timeout(ucs_server, run_module):
    ucs = ucs_server(post_blocks=True, switch_seconds=0.5)
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance"})
    assert not run.failed, run.msg
    assert ucs.state()["mode"] == "maintenance"


def test_503_burst_on_the_first_read_is_retried(ucs_server, run_module):
    ucs = ucs_server(faults=["503:2:GET"], switch_seconds=0.2)
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance"})
    assert not run.failed, run.msg
    assert [r["status"] for r in ucs.requests[:3]] == [503, 503, 200]


def test_503_on_the_write_waits_for_the_switch_then_asks_again(ucs_server, run_module):
    # A 503 to the write is how a server busy switching refuses it: the module waits until the
    # server answers again, reads the mode, and asks again since it is not the one wanted.
    ucs = ucs_server(faults=["503:1:POST"], switch_seconds=0.2)
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance", "wait_timeout": 10})
    assert not run.failed, run.msg
    assert run.result["changed"] is True and ucs.state()["mode"] == "maintenance"
    assert [r["status"] for r in writes(ucs)] == [503, 200]


def test_writes_refused_while_not_switching_are_asked_again_less_and_less_often(ucs_server, run_module):
    # 503 to every write while the status answers at once (a proxy, or the server refusing for
    # now): no switch is running to wait out, so the write is asked again with a growing pause,
    # never in a tight loop, until wait_timeout; then the module fails naming the mode.
    ucs = ucs_server(faults=["503:1000:POST:/server/mode$"], switch_seconds=0.2)
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance", "wait_timeout": 6})
    assert run.failed and "refused it with HTTP 503 within the wait_timeout" in run.msg, run.msg
    assert run.result["mode"] == "production"
    sent = [entry["time"] for entry in writes(ucs)]
    # Pauses of 1 and 2 s, then 4 s would reach the wait_timeout: three writes, where a loop
    # without pauses sends dozens.
    assert 3 <= len(sent) <= 5, sent
    assert all(later - earlier >= 0.9 for earlier, later in zip(sent, sent[1:])), sent


def test_upper_case_mode_is_compared_case_insensitively(ucs_server, run_module):
    ucs = ucs_server(initial_mode="maintenance", mode_case="upper")
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance"})
    assert run.result["changed"] is False
    assert run.result["mode"] == "maintenance"
    assert not writes(ucs)


def test_title_case_mode_and_a_switch(ucs_server, run_module):
    ucs = ucs_server(mode_case="title", switch_seconds=0.2)
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance"})
    assert run.result["changed"] is True, run.msg
    assert run.result["status"]["mode"] == "Maintenance"


@pytest.mark.parametrize("error_body, expected", [("text", "Injected fault: HTTP 500"),
                                                  ("json", "Injected fault: HTTP 500")])
def test_error_bodies_text_and_json_are_reported(ucs_server, run_module, error_body, expected):
    ucs = ucs_server(error_body=error_body, faults=["500:1:GET"])
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance"})
    assert run.failed
    assert "HTTP 500" in run.msg and expected in run.msg
    # One more read after a server-side error names the mode.
    assert run.msg.endswith("Nothing was changed; the server is in mode production.")
    assert run.result["mode"] == "production"
    # The JSON shape is unwrapped to the server's own words.
    assert '"status"' not in run.msg


def test_status_that_is_not_json(ucs_server, run_module):
    ucs = ucs_server(faults=["not_json:1:GET"])
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance"})
    assert run.failed
    assert "is not JSON" in run.msg and "text/html" in run.msg
    assert run.msg.endswith("Nothing was changed; the server is in mode production.")
    assert not writes(ucs)


def test_check_mode_reads_only_and_predicts(ucs_server, run_module):
    ucs = ucs_server()
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance"}, check=True, diff=True)
    assert run.result["changed"] is True
    assert run.result["diff"] == {"before": {"mode": "production"}, "after": {"mode": "maintenance"}}
    assert [r["method"] for r in ucs.requests] == ["GET"]
    assert ucs.state()["mode"] == "production"


def test_check_mode_when_nothing_to_do(ucs_server, run_module):
    ucs = ucs_server(initial_mode="maintenance")
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance"}, check=True, diff=True)
    assert run.result["changed"] is False
    assert run.result["diff"] == {"before": {"mode": "maintenance"}, "after": {"mode": "maintenance"}}


def test_diff_in_a_real_run(ucs_server, run_module):
    ucs = ucs_server(initial_mode="maintenance", switch_seconds=0.2)
    run = run_module(MODULE, {"url": ucs.url, "mode": "production"}, diff=True)
    assert run.result["diff"] == {"before": {"mode": "maintenance"}, "after": {"mode": "production"}}
    assert '-    "mode": "maintenance"' in run.output and '+    "mode": "production"' in run.output


def test_unreachable_server(run_module):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port once the socket is closed.
    run = run_module(MODULE, {"url": "http://127.0.0.1:%d" % port, "mode": "maintenance", "retries": 1})
    assert run.failed
    assert "failed to connect" in run.msg and "Nothing was changed" in run.msg


def test_wait_timeout_exceeded_names_where_the_server_stands(ucs_server, run_module):
    ucs = ucs_server(switch_seconds=30)
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance", "wait_timeout": 2, "retries": 0})
    assert run.failed
    assert "Timed out waiting" in run.msg and "still switching" in run.msg
    assert "could not be read afterwards" in run.msg
    assert run.result["changed"] is True
    assert run.result["previous_mode"] == "production"
    assert 2 <= run.result["elapsed"] < 10


def test_wait_false_returns_once_accepted(ucs_server, run_module):
    ucs = ucs_server(switch_seconds=30)
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance", "wait": False})
    assert not run.failed, run.msg
    assert run.result["mode"] == "maintenance"
    assert ucs.state()["switching_to"] == "maintenance"
    assert [r["method"] for r in ucs.requests] == ["GET", "POST"]


def test_environment_variables(ucs_server, run_module):
    ucs = ucs_server(username="envuser", password="envpass", switch_seconds=0.2)
    run = run_module(MODULE, {"mode": "maintenance"},
                     env={"UCS_URL": ucs.url, "UCS_USERNAME": "envuser", "UCS_PASSWORD": "envpass"})
    assert run.result["changed"] is True, run.msg


def test_module_defaults_action_group(ucs_server, run_tasks):
    ucs = ucs_server(switch_seconds=0.2)
    run = run_tasks("""    - name: Connection set once for the block
      module_defaults:
        group/opsmodes.maintenance.ucs:
          url: %s
      block:
        - name: Run the module
          opsmodes.maintenance.ucs_server_mode:
            mode: maintenance
          register: outcome""" % ucs.url)
    assert run.result["changed"] is True, run.output
    assert ucs.state()["mode"] == "maintenance"


@pytest.mark.parametrize("args, message", [
    ({"url": "{host_port}", "mode": "maintenance"}, "must be an http:// or https:// URL"),
    ({"url": "http://user:pw-Secret9@{host_port}", "mode": "maintenance"}, "must not carry credentials"),
    ({"url": "{url}?debug=1", "mode": "maintenance"}, "must not have a query string"),
    ({"url": "{url}", "mode": "Maintenance"}, "value of mode must be one of"),
    ({"url": "{url}", "mode": "maintenance", "username": "only-user"}, "parameters are required together"),
    ({"url": "{url}", "mode": "maintenance", "wait_timeout": 0}, "wait_timeout must be a positive number"),
    ({"url": "{url}", "mode": "maintenance", "timeout": "soon"}, "'timeout' is of type"),
    ({"url": "{url}", "mode": "maintenance", "retries": -1}, "retries must be zero or more"),
    ({"url": "{url}", "mode": "maintenance", "wait": "perhaps"}, "'wait' is of type"),
    ({"url": "{url}", "mode": "maintenance", "colour": "blue"}, "Unsupported parameters"),
    ({"mode": "maintenance"}, "missing required arguments: url"),
])
def test_bad_input_fails_before_any_request(ucs_server, run_module, args, message):
    ucs = ucs_server()
    host_port = "127.0.0.1:%d" % ucs.port
    args = {k: v.format(url=ucs.url, host_port=host_port) if isinstance(v, str) else v for k, v in args.items()}
    run = run_module(MODULE, args)
    assert run.failed
    assert message in run.msg
    assert "pw-Secret9" not in run.msg
    assert ucs.requests == []


# -- the servers as they really behave (shared/api-contracts.md, second reading) ---------------------
def test_a_run_during_a_switch_toward_the_wanted_mode_waits_and_writes_nothing(ucs_server, run_module):
    # Long enough that ansible-playbook starts within it on a loaded machine.
    ucs = ucs_server(switching_to="maintenance", switch_seconds=6)
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance"})
    assert not run.failed, run.msg
    assert run.result["changed"] is False and run.result["previous_mode"] == "maintenance"
    assert not writes(ucs)
    assert ucs.requests[0]["status"] == 503


def test_a_run_during_a_switch_toward_the_other_mode_waits_then_writes_its_own(ucs_server, run_module):
    ucs = ucs_server(initial_mode="maintenance", switching_to="production", switch_seconds=1.5)
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance"})
    assert not run.failed, run.msg
    assert run.result["changed"] is True and run.result["previous_mode"] == "production"
    assert ucs.state()["mode"] == "maintenance"
    assert len(writes(ucs)) == 1


def test_a_switch_that_outlasts_wait_timeout_before_any_write_says_nothing_was_changed(ucs_server, run_module):
    ucs = ucs_server(switching_to="maintenance", switch_seconds=30)
    run = run_module(MODULE, {"url": ucs.url, "mode": "production", "wait_timeout": 1.5, "retries": 0})
    assert run.failed
    assert "Timed out waiting for the UCS server at %s to answer its status" % ucs.url in run.msg
    assert "Nothing was changed" in run.msg
    assert not writes(ucs)


def test_a_wait_that_ends_past_wait_timeout_in_the_wanted_mode_is_a_success(ucs_server, run_module):
    # The wait runs out after 1 s; the read that follows, retried through the 503s, finds the switch done.
    ucs = ucs_server(switch_seconds=2.5)
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance", "wait_timeout": 1})
    assert not run.failed, run.msg
    assert run.result["changed"] is True and run.result["mode"] == "maintenance"
    assert run.result["status"]["mode"] == "maintenance"


def test_a_single_sign_on_page_after_the_write_lets_the_status_decide(ucs_server, run_module):
    ucs = ucs_server(write_answer="html", switch_seconds=0.3)
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance"})
    assert not run.failed, run.msg
    assert ucs.state()["mode"] == "maintenance" and len(writes(ucs)) == 1


def test_a_single_sign_on_page_instead_of_the_write_is_no_evidence_of_a_switch(ucs_server, run_module):
    ucs = ucs_server(write_answer="html_only")
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance", "wait_timeout": 1.5})
    assert run.failed
    assert "answered by something that is not the UCS API (HTTP 200, text/html" in run.msg
    assert run.msg.endswith("The server is in mode production.")
    assert run.result["mode"] == "production" and run.result["changed"] is False
    assert len(writes(ucs)) == 1


def test_a_redirect_is_never_followed(ucs_server, run_module):
    ucs = ucs_server(write_answer="redirect", username="ops", password="Redirect-Pw1")
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance", "username": "ops", "password": "Redirect-Pw1"})
    assert run.failed
    assert "was redirected (HTTP 302) to https://sso.example.com/login, and redirects are never followed" in run.msg
    assert "ticket" not in run.msg and "Redirect-Pw1" not in run.output
    assert run.result["mode"] == "production"
    assert len(writes(ucs)) == 1 and len(ucs.requests) == 3


def test_403_on_the_write_names_the_administrator_role(ucs_server, run_module):
    ucs = ucs_server(write_forbidden=True, username="reader", password="Reader-Pw1")
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance", "username": "reader", "password": "Reader-Pw1"})
    assert run.failed
    assert "HTTP 403" in run.msg and "the user 'reader' lacks the Administrator role" in run.msg
    assert run.result["mode"] == "production"


def test_404_on_a_write_to_production_means_no_profile_schema(ucs_server, run_module):
    ucs = ucs_server(initial_mode="maintenance", no_profile_schema=True)
    run = run_module(MODULE, {"url": ucs.url, "mode": "production"})
    assert run.failed
    assert "no profile schema is defined" in run.msg and "This is not a wrong URL" in run.msg
    assert run.msg.endswith("The server is in mode maintenance.")
    assert run.result["mode"] == "maintenance"


@pytest.mark.parametrize("server", ["gms_404", "gms_json"])
def test_a_url_that_reaches_gms_fails_before_any_write(ucs_server, run_module, server):
    ucs = ucs_server(server=server)
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance"})
    assert run.failed
    assert "something else than UCS Context Services (in 8.5 GMS shares its proxy and prefix)" in run.msg
    assert "Nothing was changed" in run.msg
    assert not writes(ucs)


def test_every_request_asks_for_json_and_an_empty_version_is_fine(ucs_server, run_module):
    ucs = ucs_server(version="", switch_seconds=0.2)
    run = run_module(MODULE, {"url": ucs.url, "mode": "maintenance"})
    assert not run.failed, run.msg
    assert run.result["status"]["version"] == ""
    assert all(r["headers"].get("accept") == "application/json" for r in ucs.requests)
