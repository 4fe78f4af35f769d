# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""opsmodes.maintenance.arcgis_site_mode run by ansible-playbook against the ArcGIS emulator."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest

MODULE = "arcgis_site_mode"
PASSWORD = "Adm1n-Pa55word"


def creds(site, **args):
    return dict({"url": site.url, "username": "siteadmin", "password": PASSWORD}, **args)


def site_with(arcgis_server, **switches):
    return arcgis_server(username="siteadmin", password=PASSWORD, **switches)


def form(entry):
    return dict(parse_qsl(entry["body"]))


def updates(site):
    return site.requests_to("/mode/update")


def assert_no_secret_leaves(site, run, *secrets):
    """No token or password in a URL of the server's log, nor in the play's output or result."""
    secrets = set(secrets) | set(site.tokens)
    for entry in site.requests:
        for secret in secrets:
            assert secret not in entry["path"] + "?" + entry["query"]
    for secret in secrets:
        assert secret not in run.output
        assert secret not in json.dumps(run.result)


def test_read_only_with_credentials_follows_the_job(arcgis_server, run_module):
    site = site_with(arcgis_server, read_only_seconds=1.0)
    run = run_module(MODULE, creds(site, mode="read_only"), verbosity=3)
    assert not run.failed, run.msg
    assert run.result["changed"] is True
    assert run.result["mode"] == "read_only" and run.result["previous_mode"] == "editable"
    assert run.result["site_mode"]["siteMode"] == "READ_ONLY"
    assert run.result["elapsed"] >= 1.0
    assert site.state()["mode"] == "READ_ONLY"
    [token_request] = site.requests_to("/generateToken")
    assert token_request["method"] == "POST" and token_request["query"] == ""
    assert form(token_request)["client"] == "referer" and form(token_request)["referer"] == site.origin
    [update] = updates(site)
    assert form(update)["siteMode"] == "READ_ONLY" and form(update)["runAsync"] == "true"
    assert "allowEditingViaServices" not in form(update)
    assert any("/system/jobs/" in r["path"] for r in site.requests)
    # One token for the whole run, every request after it carrying it in the form body.
    assert site.state()["tokens_issued"] == 1
    [token] = site.tokens
    for entry in site.requests[1:]:
        assert entry["method"] == "POST"
        assert form(entry)["f"] == "json" and form(entry)["token"] == token
    assert_no_secret_leaves(site, run, PASSWORD)


def test_converged_run_with_credentials_is_two_requests(arcgis_server, run_module):
    site = site_with(arcgis_server, initial_mode="READ_ONLY")
    run = run_module(MODULE, creds(site, mode="read_only"))
    assert run.result["changed"] is False, run.msg
    assert [r["path"].rsplit("/", 1)[-1] for r in site.requests] == ["generateToken", "mode"]


def test_given_token_converged_run_is_one_request(arcgis_server, run_module):
    site = site_with(arcgis_server, initial_mode="READ_ONLY")
    token = site.issue_token()
    run = run_module(MODULE, {"url": site.url, "mode": "read_only", "token": token}, verbosity=3)
    assert run.result["changed"] is False, run.msg
    [entry] = site.requests
    assert entry["path"].endswith("/mode") and form(entry)["token"] == token
    assert_no_secret_leaves(site, run, token)


def test_given_token_switch(arcgis_server, run_module):
    site = site_with(arcgis_server, read_only_seconds=0.3)
    token = site.issue_token()
    run = run_module(MODULE, {"url": site.url, "mode": "read_only", "token": token})
    assert run.result["changed"] is True, run.msg
    assert site.state()["tokens_issued"] == 1
    assert not site.requests_to("/generateToken")


def test_invalid_given_token(arcgis_server, run_module):
    site = site_with(arcgis_server)
    run = run_module(MODULE, {"url": site.url, "mode": "read_only", "token": "not-a-real-token-xyz"})
    assert run.failed
    assert "Invalid token" in run.msg and "498" in run.msg and "token given was refused" in run.msg
    assert "not-a-real-token-xyz" not in run.output + json.dumps(run.result)
    assert not updates(site)


def test_portal_token_url(arcgis_server, run_module):
    site = site_with(arcgis_server, portal=True, editable_seconds=0.2, initial_mode="READ_ONLY")
    run = run_module(MODULE, creds(site, mode="editable", token_url=site.portal_token_url))
    assert run.result["changed"] is True, run.msg
    assert site.state()["mode"] == "EDITABLE"
    assert len(site.requests_to("/portal/sharing/rest/generateToken")) == 1
    assert not site.requests_to("/arcgis/admin/generateToken")


def test_federated_site_takes_its_primary_administrator_with_a_referer_token(arcgis_server, run_module):
    site = site_with(arcgis_server, portal=True, read_only_seconds=0.2)
    run = run_module(MODULE, creds(site, mode="read_only"))
    assert not run.failed, run.msg
    assert site.state()["mode"] == "READ_ONLY"
    token_request = site.requests_to("/generateToken")[0]
    assert form(token_request)["client"] == "referer"


def test_referer_defaults_to_the_sites_origin_on_every_call(arcgis_server, run_module):
    site = site_with(arcgis_server, read_only_seconds=0.2)
    run = run_module(MODULE, creds(site, mode="read_only"))
    assert not run.failed, run.msg
    assert form(site.requests_to("/generateToken")[0])["referer"] == site.origin
    assert all(r["headers"].get("referer") == site.origin for r in site.requests)


def test_referer_token(arcgis_server, run_module):
    site = site_with(arcgis_server, read_only_seconds=0.2)
    run = run_module(MODULE, creds(site, mode="read_only", referer="https://ops.example.com"))
    assert run.result["changed"] is True, run.msg
    token_request = site.requests_to("/generateToken")[0]
    assert form(token_request)["client"] == "referer" and form(token_request)["referer"] == "https://ops.example.com"
    assert all(r["headers"].get("referer") == "https://ops.example.com" for r in site.requests)


def test_token_expiring_midway_is_renewed_once(arcgis_server, run_module):
    # Each token serves three requests: the mode read, the update and one more; the fourth meets
    # "Token Expired.", and the module renews the token and sends that request again. Whether
    # the fourth is a job poll or the last mode read, the run needs exactly two tokens.
    site = site_with(arcgis_server, token_uses=3, read_only_seconds=0.3)
    run = run_module(MODULE, creds(site, mode="read_only"))
    assert not run.failed, run.msg
    assert site.state()["mode"] == "READ_ONLY"
    assert len(updates(site)) == 1
    first, second = site.tokens
    carried = [form(r).get("token") for r in site.requests if not r["path"].endswith("/generateToken")]
    assert carried[:4] == [first] * 4
    assert carried[4:] and set(carried[4:]) == {second}
    assert len(site.requests_to("/generateToken")) == 2


def test_expires_as_string(arcgis_server, run_module):
    site = site_with(arcgis_server, expires_as_string=True, read_only_seconds=0.2)
    run = run_module(MODULE, creds(site, mode="read_only"))
    assert run.result["changed"] is True, run.msg
    assert site.state()["tokens_issued"] == 1


def test_bad_credentials(arcgis_server, run_module):
    site = site_with(arcgis_server)
    run = run_module(MODULE, creds(site, mode="read_only", password="Wr0ng-Secret"), verbosity=3)
    assert run.failed
    assert "authentication failed" in run.msg and "Invalid username or password" in run.msg
    assert "siteadmin" in run.msg
    assert "Wr0ng-Secret" not in run.output + json.dumps(run.result)
    assert [r["path"].rsplit("/", 1)[-1] for r in site.requests] == ["generateToken"]


@pytest.mark.parametrize("args, message", [
    ({}, "Authentication needed"),
    ({"username": "siteadmin"}, "Authentication needed"),
    ({"token": "abc", "username": "siteadmin", "password": "x"}, "not both"),
])
def test_missing_or_conflicting_credentials_fail_before_any_request(arcgis_server, run_module, args, message):
    site = site_with(arcgis_server)
    run = run_module(MODULE, dict({"url": site.url, "mode": "read_only"}, **args))
    assert run.failed and message in run.msg
    assert site.requests == []


def test_run_async_without_jobid_polls_the_mode(arcgis_server, run_module):
    site = site_with(arcgis_server, async_jobid=False, read_only_seconds=1.0)
    run = run_module(MODULE, creds(site, mode="read_only"))
    assert not run.failed, run.msg
    assert site.state()["mode"] == "READ_ONLY"
    assert not any("/system/jobs/" in r["path"] for r in site.requests)
    assert len(site.requests_to("/mode")) >= 2


@pytest.mark.parametrize("job_result, words", [("failed", "the job ended FAILED"),
                                               ("error", "the job completed with an error"),
                                               ("cancelled", "the job ended CANCELLED")])
def test_failing_job_names_the_messages_and_the_mode(arcgis_server, run_module, job_result, words):
    site = site_with(arcgis_server, job_result=job_result, read_only_seconds=0.3)
    run = run_module(MODULE, creds(site, mode="read_only"))
    assert run.failed
    assert words in run.msg and "no message" not in run.msg
    assert ("Failed to update the site mode" in run.msg) or ("cancelled" in run.msg)
    assert "The server is in mode editable" in run.msg
    assert run.result["mode"] == "editable" and run.result["changed"] is False


def test_job_completed_with_an_error_that_changed_the_mode_anyway_is_read_again(arcgis_server, run_module):
    site = site_with(arcgis_server, job_result="error_changed", read_only_seconds=0.3)
    run = run_module(MODULE, creds(site, mode="read_only"))
    assert not run.failed, run.msg
    assert run.result["changed"] is True and site.state()["mode"] == "READ_ONLY"


def test_a_job_that_cannot_be_found_falls_back_to_the_site_mode(arcgis_server, run_module):
    site = site_with(arcgis_server, job_missing=True, read_only_seconds=0.5)
    run = run_module(MODULE, creds(site, mode="read_only"))
    assert not run.failed, run.msg
    assert site.state()["mode"] == "READ_ONLY" and run.result["site_mode"]["siteMode"] == "READ_ONLY"
    assert len(updates(site)) == 1


def test_errors_with_their_real_http_status_are_the_same_errors(arcgis_server, run_module):
    # Tokens last three uses: the renewal after an HTTP 498 works as after one inside an HTTP 200.
    site = site_with(arcgis_server, error_status=True, token_uses=3, read_only_seconds=0.3)
    run = run_module(MODULE, creds(site, mode="read_only"))
    assert not run.failed, run.msg
    assert site.state()["mode"] == "READ_ONLY"
    assert len(site.requests_to("/generateToken")) == 2
    assert 498 in [r["status"] for r in site.requests]
    refused = run_module(MODULE, {"url": site.url, "mode": "editable", "token": "not-a-token"})
    assert refused.failed and "Invalid token" in refused.msg and "the token given was refused" in refused.msg


def test_an_html_page_through_a_web_adaptor_says_administration_is_off(arcgis_server, run_module):
    site = site_with(arcgis_server, root="/server/admin", web_adaptor_admin_off=True)
    run = run_module(MODULE, creds(site, mode="read_only"))
    assert run.failed
    assert "administration through the ArcGIS Web Adaptor is off by default" in run.msg
    assert "https://127.0.0.1:6443/arcgis/admin" in run.msg and "Nothing was changed" in run.msg
    assert not updates(site)


def test_a_redirect_is_never_followed_and_names_its_location(arcgis_server, run_module):
    site = site_with(arcgis_server, redirect_to="https://gis.example.com")
    run = run_module(MODULE, creds(site, mode="read_only"))
    assert run.failed
    assert "was redirected (HTTP 301) to https://gis.example.com/arcgis/admin/generateToken" in run.msg
    assert "redirects are never followed" in run.msg and PASSWORD not in run.output
    assert len(site.requests) == 1


def test_403_on_update_names_the_missing_privilege(arcgis_server, run_module):
    site = site_with(arcgis_server, update_forbidden=True)
    run = run_module(MODULE, creds(site, mode="read_only"))
    assert run.failed
    assert "Updating the site mode needs the default administrator role" in run.msg
    assert run.msg.endswith("The server is in mode editable.") and run.result["mode"] == "editable"


def test_token_url_and_referer_from_the_environment(arcgis_server, run_module):
    site = site_with(arcgis_server, portal=True, read_only_seconds=0.2)
    run = run_module(MODULE, creds(site, mode="read_only"),
                     env={"ARCGIS_TOKEN_URL": site.portal_token_url, "ARCGIS_REFERER": "https://ops.example.com"})
    assert not run.failed, run.msg
    assert len(site.requests_to("/portal/sharing/rest/generateToken")) == 1
    assert all(r["headers"].get("referer") == "https://ops.example.com" for r in site.requests)


def test_slow_read_only_switch(arcgis_server, run_module):
    site = site_with(arcgis_server, read_only_seconds=3.0)
    run = run_module(MODULE, creds(site, mode="read_only"))
    assert not run.failed, run.msg
    assert run.result["elapsed"] >= 3.0
    # Polled at no more than two requests a second while the services restart.
    jobs = [r for r in site.requests if "/system/jobs/" in r["path"]]
    assert len(jobs) <= 2 * 3.0 + 2


def test_wait_timeout_exceeded(arcgis_server, run_module):
    site = site_with(arcgis_server, read_only_seconds=30)
    run = run_module(MODULE, creds(site, mode="read_only", wait_timeout=1.5))
    assert run.failed
    assert "Timed out following" in run.msg and "The server is in mode editable" in run.msg


def test_every_request_asks_for_json(arcgis_server, run_module):
    # The emulator answers HTML to a request without f=json, as the real server does; the
    # module never forgets it, in the form body.
    site = site_with(arcgis_server, read_only_seconds=0.2)
    run = run_module(MODULE, creds(site, mode="read_only"))
    assert run.result["changed"] is True, run.msg
    assert all(form(r).get("f") == "json" for r in site.requests)
    assert all(r["query"] == "" for r in site.requests)


def test_answer_that_is_not_json(arcgis_server, run_module):
    site = site_with(arcgis_server, faults=["not_json:1:POST:/mode$"])
    run = run_module(MODULE, creds(site, mode="read_only"))
    assert run.failed
    assert "is not JSON" in run.msg and "text/html" in run.msg
    assert run.msg.endswith("Nothing was changed; the server is in mode editable.")
    assert not updates(site)


def test_idempotent_second_run(arcgis_server, run_module):
    site = site_with(arcgis_server, read_only_seconds=0.2)
    first = run_module(MODULE, creds(site, mode="read_only"))
    assert first.result["changed"] is True, first.msg
    site.clear_log()
    second = run_module(MODULE, creds(site, mode="read_only"))
    assert second.result["changed"] is False
    assert not updates(site)


def test_check_mode_sends_no_update(arcgis_server, run_module):
    site = site_with(arcgis_server)
    run = run_module(MODULE, creds(site, mode="read_only"), check=True, diff=True)
    assert run.result["changed"] is True
    assert run.result["diff"] == {"before": {"mode": "editable"}, "after": {"mode": "read_only"}}
    assert not updates(site)
    assert site.state()["mode"] == "EDITABLE"


def test_allow_editing_compared_where_reported(arcgis_server, run_module):
    site = site_with(arcgis_server, report_allow_editing=True, initial_mode="READ_ONLY", read_only_seconds=0.2)
    run = run_module(MODULE, creds(site, mode="read_only", allow_editing_via_services=False), diff=True)
    assert run.result["changed"] is True, run.msg
    assert run.result["diff"] == {"before": {"mode": "read_only", "allow_editing_via_services": True},
                                  "after": {"mode": "read_only", "allow_editing_via_services": False}}
    assert form(updates(site)[0])["allowEditingViaServices"] == "false"
    assert site.state()["allow_editing_via_services"] is False
    again = run_module(MODULE, creds(site, mode="read_only", allow_editing_via_services=False))
    assert again.result["changed"] is False


def test_allow_editing_not_compared_where_not_reported(arcgis_server, run_module):
    site = site_with(arcgis_server, initial_mode="READ_ONLY")
    run = run_module(MODULE, creds(site, mode="read_only", allow_editing_via_services=False), diff=True)
    assert run.result["changed"] is False
    assert run.result["diff"] == {"before": {"mode": "read_only"}, "after": {"mode": "read_only"}}
    assert not updates(site)


def test_web_adaptor_root_and_environment_variables(arcgis_server, run_module):
    site = site_with(arcgis_server, root="/server/admin", read_only_seconds=0.2)
    run = run_module(MODULE, {"mode": "read_only"},
                     env={"ARCGIS_ADMIN_URL": site.url + "/", "ARCGIS_USERNAME": "siteadmin",
                          "ARCGIS_PASSWORD": PASSWORD})
    assert run.result["changed"] is True, run.msg
    assert all(r["path"].startswith("/server/admin/") for r in site.requests)


def test_wait_false_returns_once_accepted(arcgis_server, run_module):
    site = site_with(arcgis_server, read_only_seconds=30)
    run = run_module(MODULE, creds(site, mode="read_only", wait=False))
    assert not run.failed, run.msg
    assert run.result["mode"] == "read_only"
    assert site.state()["running_jobs"]
    assert not any("/system/jobs/" in r["path"] for r in site.requests)
