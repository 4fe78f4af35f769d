# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ArcGIS emulator follows shared/api-contracts.md: each documented behaviour and each
switch, over real HTTP."""

from __future__ import annotations

import time

import pytest
import requests

from ansible_collections.opsmodes.maintenance.tests.emulators.arcgis import ArcgisEmulator
from ansible_collections.opsmodes.maintenance.tests.emulators.common import DEFAULT_CERT


def post(site, path, **form):
    return requests.post(site.url + path, data=dict({"f": "json"}, **form), timeout=10)


def token_for(site, url=None, **form):
    data = dict({"username": "admin", "password": "admin", "client": "requestip", "f": "json"}, **form)
    answer = requests.post(url or site.url + "/generateToken", data=data, timeout=5)
    return answer.json()


def poll_job(site, token, jobid, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = post(site, "/system/jobs/" + jobid, token=token).json()
        if job["status"] not in ("SUBMITTED", "EXECUTING", "CANCELLING"):
            return job
        time.sleep(0.05)
    raise AssertionError("job %s still running" % jobid)


def test_generate_token():
    with ArcgisEmulator() as site:
        answer = token_for(site, expiration=5)
        assert set(answer) == {"token", "expires"}
        assert isinstance(answer["expires"], int)
        assert 0 < answer["expires"] / 1000 - time.time() <= 5 * 60 + 1


def test_token_lifetime_is_capped_and_expires_can_be_a_string():
    with ArcgisEmulator(token_lifetime=10, expires_as_string=True) as site:
        answer = token_for(site, expiration=60)
        assert isinstance(answer["expires"], str)
        assert int(answer["expires"]) / 1000 - time.time() <= 11


def test_generate_token_refusals_in_the_token_error_shape():
    with ArcgisEmulator() as site:
        assert token_for(site, password="bad")["error"]["details"] == ["Invalid username or password."]
        assert token_for(site, client="referer")["error"]["code"] == 400
        in_query = requests.post(site.url + "/generateToken?username=admin&password=admin", data={"f": "json"},
                                 timeout=5).json()
        assert in_query["error"]["code"] == 400 and "query string" in in_query["error"]["details"][0]
        by_get = requests.get(site.url + "/generateToken", params={"f": "json"}, timeout=5).json()
        assert by_get["error"]["code"] == 405


def test_html_when_f_is_missing():
    with ArcgisEmulator() as site:
        token = token_for(site)["token"]
        answer = requests.post(site.url + "/mode", data={"token": token}, timeout=5)
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "text/html"
        assert "<html>" in answer.text


def test_token_errors_inside_http_200():
    with ArcgisEmulator(token_uses=1) as site:
        missing = post(site, "/mode")
        assert missing.status_code == 200 and missing.json()["code"] == 499
        assert "Token not found" in missing.json()["messages"][0]
        invalid = post(site, "/mode", token="nope").json()
        assert invalid == {"status": "error", "messages": ["Invalid token."], "code": 498}
        token = token_for(site)["token"]
        assert post(site, "/mode", token=token).json()["siteMode"] == "EDITABLE"
        assert post(site, "/mode", token=token).json()["messages"] == ["Token Expired."]


def test_token_in_header_and_in_query():
    with ArcgisEmulator() as site:
        token = token_for(site)["token"]
        by_header = requests.get(site.url + "/mode", params={"f": "json"},
                                 headers={"X-Esri-Authorization": "Bearer " + token}, timeout=5)
        assert by_header.json()["siteMode"] == "EDITABLE"
        # Accepted, as the real server does, and visible in the log: what the modules never do.
        in_query = requests.get(site.url + "/mode", params={"f": "json", "token": token}, timeout=5)
        assert in_query.json()["siteMode"] == "EDITABLE"
        assert "token=" in site.requests[-1]["query"]


def test_referer_bound_token():
    with ArcgisEmulator() as site:
        token = token_for(site, client="referer", referer="https://ops.example.com")["token"]
        assert post(site, "/mode", token=token).json()["code"] == 498
        answer = requests.post(site.url + "/mode", data={"f": "json", "token": token},
                               headers={"Referer": "https://ops.example.com"}, timeout=5)
        assert answer.json()["siteMode"] == "EDITABLE"


def test_mode_document_with_and_without_the_editing_flag():
    with ArcgisEmulator(initial_mode="READ_ONLY") as site:
        document = post(site, "/mode", token=site.issue_token()).json()
        assert set(document) == {"siteMode", "copyConfigLocal", "lastModified"} and document["siteMode"] == "READ_ONLY"
    with ArcgisEmulator(report_allow_editing=True) as site:
        assert post(site, "/mode", token=site.issue_token()).json()["allowEditingViaServices"] is True


def test_async_update_with_a_job():
    with ArcgisEmulator(read_only_seconds=0.5, report_allow_editing=True) as site:
        token = site.issue_token()
        answer = post(site, "/mode/update", token=token, siteMode="READ_ONLY", runAsync="true",
                      allowEditingViaServices="false").json()
        assert answer["status"] == "success" and answer["jobid"]
        # The mode changes only when the job ends.
        assert post(site, "/mode", token=token).json()["siteMode"] == "EDITABLE"
        job = poll_job(site, token, answer["jobid"])
        assert job["status"] == "COMPLETED" and job["operationResponse"] == {"status": "success"}
        document = post(site, "/mode", token=token).json()
        assert document["siteMode"] == "READ_ONLY" and document["allowEditingViaServices"] is False


def test_async_update_without_a_jobid():
    with ArcgisEmulator(async_jobid=False, editable_seconds=0.1, initial_mode="READ_ONLY") as site:
        token = site.issue_token()
        answer = post(site, "/mode/update", token=token, siteMode="EDITABLE", runAsync="true").json()
        assert answer == {"status": "success"}
        deadline = time.monotonic() + 5
        while site.state()["mode"] != "EDITABLE" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert site.state()["mode"] == "EDITABLE"


def test_sync_update_answers_when_the_switch_ends():
    with ArcgisEmulator(read_only_seconds=0.6) as site:
        started = time.monotonic()
        answer = post(site, "/mode/update", token=site.issue_token(), siteMode="READ_ONLY").json()
        assert answer == {"status": "success"}
        assert time.monotonic() - started >= 0.6
        assert site.state()["mode"] == "READ_ONLY"


@pytest.mark.parametrize("job_result", ["failed", "error"])
def test_failing_jobs_leave_the_mode(job_result):
    with ArcgisEmulator(job_result=job_result, read_only_seconds=0.1) as site:
        token = site.issue_token()
        jobid = post(site, "/mode/update", token=token, siteMode="READ_ONLY", runAsync="true").json()["jobid"]
        job = poll_job(site, token, jobid)
        if job_result == "failed":
            assert job["status"] == "FAILED" and job["stepInfo"][0]["messages"] and job["operationResponse"]["messages"]
        else:
            assert job["status"] == "COMPLETED" and job["operationResponse"]["status"] == "error"
        assert site.state()["mode"] == "EDITABLE"
        sync = post(site, "/mode/update", token=token, siteMode="READ_ONLY").json()
        assert sync["status"] == "error"


def test_update_refusals():
    with ArcgisEmulator(read_only_seconds=5) as site:
        token = site.issue_token()
        by_get = requests.get(site.url + "/mode/update", params={"f": "json", "token": token}, timeout=5).json()
        assert by_get["code"] == 405
        assert post(site, "/mode/update", token=token, siteMode="read_only").json()["code"] == 400
        post(site, "/mode/update", token=token, siteMode="READ_ONLY", runAsync="true")
        busy = post(site, "/mode/update", token=token, siteMode="EDITABLE", runAsync="true").json()
        assert busy["status"] == "error" and "in progress" in busy["messages"][0]
        assert post(site, "/system/jobs/unknown", token=token).json()["code"] == 404


def test_web_adaptor_root():
    with ArcgisEmulator(root="/server/admin/") as site:
        assert site.url.endswith("/server/admin")
        assert post(site, "/mode", token=site.issue_token()).json()["siteMode"] == "EDITABLE"
        assert requests.post(site.origin + "/arcgis/admin/mode", data={"f": "json"}, timeout=5).status_code == 404


def test_federated_site_takes_referer_tokens_from_the_portal_and_its_own_administrator():
    with ArcgisEmulator(portal=True) as site:
        answer = token_for(site, url=site.portal_token_url, client="referer", referer="https://ops.example.com")
        assert answer["ssl"] is True
        mode = requests.post(site.url + "/mode", data={"f": "json", "token": answer["token"]},
                             headers={"Referer": "https://ops.example.com"}, timeout=5).json()
        assert mode["siteMode"] == "EDITABLE"
        # The primary site administrator still works on the site's own generateToken.
        assert "token" in token_for(site, client="referer", referer="https://ops.example.com")
        for client in ("ip", "requestip"):
            refused = token_for(site, client=client)
            assert refused["error"]["code"] == 400 and "federated" in refused["error"]["details"][0]
    with ArcgisEmulator() as site:
        assert requests.post(site.portal_token_url, data={"f": "json"}, timeout=5).status_code == 404


def test_errors_with_their_real_http_status():
    with ArcgisEmulator(error_status=True) as site:
        answer = requests.post(site.url + "/mode", data={"f": "json", "token": "nonsense"}, timeout=5)
        invalid = {"status": "error", "messages": ["Invalid token."], "code": 498}
        assert answer.status_code == 498 and answer.json() == invalid


def test_documented_job_document_and_statuses():
    # SUBMITTED lasts a tenth of the switch: long enough for the next request on a loaded machine.
    with ArcgisEmulator(read_only_seconds=5.0) as site:
        token = site.issue_token()
        jobid = post(site, "/mode/update", token=token, siteMode="READ_ONLY", runAsync="true").json()["jobid"]
        first = post(site, "/system/jobs/" + jobid, token=token).json()
        assert first["status"] == "SUBMITTED"
        assert {"jobid", "status", "totalsteps", "currentstep", "stepInfo"} <= set(first)
        assert poll_job(site, token, jobid)["status"] == "COMPLETED"


@pytest.mark.parametrize("job_result, status, mode", [("failed", "FAILED", "EDITABLE"),
                                                      ("cancelled", "CANCELLED", "EDITABLE"),
                                                      ("error", "COMPLETED", "EDITABLE"),
                                                      ("error_changed", "COMPLETED", "READ_ONLY")])
def test_job_outcomes_and_where_their_reasons_are(job_result, status, mode):
    with ArcgisEmulator(read_only_seconds=0.3, job_result=job_result) as site:
        token = site.issue_token()
        jobid = post(site, "/mode/update", token=token, siteMode="READ_ONLY", runAsync="true").json()["jobid"]
        job = poll_job(site, token, jobid)
        assert job["status"] == status and site.state()["mode"] == mode
        # Not at the top level: in the steps and the operation's response.
        assert not job["messages"]
        assert job["stepInfo"][0]["messages"] or job["operationResponse"]["messages"]


def test_missing_job_record():
    with ArcgisEmulator(job_missing=True, read_only_seconds=0.2) as site:
        token = site.issue_token()
        jobid = post(site, "/mode/update", token=token, siteMode="READ_ONLY", runAsync="true").json()["jobid"]
        assert post(site, "/system/jobs/" + jobid, token=token).json()["code"] == 404


def test_web_adaptor_with_administration_off_and_a_redirect_and_a_forbidden_update():
    with ArcgisEmulator(web_adaptor_admin_off=True) as site:
        answer = post(site, "/mode", token=site.issue_token())
        assert answer.status_code == 200 and "Administrative access is disabled" in answer.text
    with ArcgisEmulator(redirect_to="https://gis.example.com") as site:
        answer = requests.post(site.url + "/mode", data={"f": "json"}, allow_redirects=False, timeout=5)
        assert answer.status_code == 301 and answer.headers["Location"] == "https://gis.example.com/arcgis/admin/mode"
    with ArcgisEmulator(update_forbidden=True) as site:
        token = site.issue_token()
        assert post(site, "/mode", token=token).json()["siteMode"] == "EDITABLE"
        assert post(site, "/mode/update", token=token, siteMode="READ_ONLY").json()["code"] == 403


# -- what a client reads before the mode: Server Info, the token service, the admin root ---------

def server_info(site, **params):
    return requests.get(site.site_url + "/rest/info", params=dict({"f": "json"}, **params), timeout=5)


def test_server_info_of_a_standalone_server_names_its_own_token_service():
    with ArcgisEmulator(token_lifetime=1800) as site:
        assert site.site_url == site.origin + "/arcgis"
        answer = server_info(site)
        # Open to anyone: no token needed, and none in the answer.
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
        info = answer.json()
        assert isinstance(info["currentVersion"], float) and info["fullVersion"].startswith(str(info["currentVersion"]))
        assert info["authInfo"] == {"isTokenBasedSecurity": True,
                                    "tokenServicesUrl": site.origin + "/arcgis/tokens/generateToken",
                                    "shortLivedTokenValidity": 30}
        assert "owningSystemUrl" not in info
        assert info["soapUrl"] == site.origin + "/arcgis/services" and info["secureSoapUrl"] is None
        assert server_info(site, f="pjson").json() == info
        # The token it names opens the admin API.
        token = token_for(site, url=info["authInfo"]["tokenServicesUrl"], client="referer", referer="http")["token"]
        mode = requests.get(site.url + "/mode", params={"f": "json"}, timeout=5,
                            headers={"X-Esri-Authorization": "Bearer " + token, "Referer": "http"})
        assert mode.json()["siteMode"] == "EDITABLE"


def test_server_info_of_a_federated_server_names_the_portal():
    with ArcgisEmulator(portal=True) as site:
        info = server_info(site).json()
        assert info["owningSystemUrl"] == site.origin + "/portal"
        assert info["authInfo"]["tokenServicesUrl"] == site.portal_token_url
        assert info["authInfo"]["isTokenBasedSecurity"] is True
        answer = token_for(site, url=info["authInfo"]["tokenServicesUrl"], client="referer", referer="http")
        assert answer["ssl"] is True
        mode = requests.post(site.url + "/mode", data={"f": "json", "token": answer["token"]},
                             headers={"Referer": "http"}, timeout=5)
        assert mode.json()["siteMode"] == "EDITABLE"


def test_server_info_in_html_when_f_is_missing_and_only_at_the_site():
    with ArcgisEmulator() as site:
        answer = requests.get(site.site_url + "/rest/info", timeout=5)
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "text/html" and "<html>" in answer.text
        # What Esri's client tries besides rest/info: a standalone server has none of them.
        for path in ("/info", "/sharing/rest/info", "/rest/services"):
            assert requests.get(site.site_url + path, params={"f": "json"}, timeout=5).status_code == 404


def test_server_info_over_tls_and_behind_a_web_adaptor_with_administration_off():
    with ArcgisEmulator(tls=True, root="/server/admin", web_adaptor_admin_off=True) as site:
        assert site.site_url == site.origin + "/server" and site.origin.startswith("https://")
        info = requests.get(site.site_url + "/rest/info", params={"f": "json"}, verify=DEFAULT_CERT, timeout=5).json()
        assert info["authInfo"]["tokenServicesUrl"] == site.origin + "/server/tokens/generateToken"
        assert info["secureSoapUrl"] == site.origin + "/server/services"
        elsewhere = requests.get(site.origin + "/arcgis/rest/info", params={"f": "json"}, verify=DEFAULT_CERT,
                                 timeout=5)
        assert elsewhere.status_code == 404
        # Not admin paths: the Web Adaptor passes them, while the admin API answers its HTML page.
        answer = requests.post(info["authInfo"]["tokenServicesUrl"], verify=DEFAULT_CERT, timeout=5,
                               data={"username": "admin", "password": "admin", "client": "requestip", "f": "json"})
        assert "token" in answer.json()
        admin = requests.get(site.url, params={"f": "json", "token": answer.json()["token"]}, verify=DEFAULT_CERT,
                             timeout=5)
        assert "Administrative access is disabled" in admin.text


def test_the_site_token_service():
    with ArcgisEmulator(expires_as_string=True) as site:
        url = site.site_url + "/tokens/generateToken"
        answer = token_for(site, url=url, expiration=5)
        assert set(answer) == {"token", "expires"} and isinstance(answer["expires"], str)
        assert post(site, "/mode", token=answer["token"]).json()["siteMode"] == "EDITABLE"
        assert token_for(site, url=url, password="bad")["error"]["details"] == ["Invalid username or password."]
        assert requests.get(url, params={"f": "json"}, timeout=5).json()["error"]["code"] == 405
        in_query = requests.post(url + "?username=admin&password=admin", data={"f": "json"}, timeout=5).json()
        assert in_query["error"]["code"] == 400 and "query string" in in_query["error"]["details"][0]
        html = requests.post(url, data={"username": "admin", "password": "admin"}, timeout=5)
        assert html.headers["Content-Type"] == "text/html" and "<html>" in html.text
    with ArcgisEmulator(portal=True) as site:
        # The primary site administrator, referer-bound only, as on the admin root's generateToken.
        url = site.site_url + "/tokens/generateToken"
        assert "token" in token_for(site, url=url, client="referer", referer="http")
        assert "federated" in token_for(site, url=url, client="requestip")["error"]["details"][0]


def test_admin_root_lists_its_resources():
    with ArcgisEmulator() as site:
        token = site.issue_token()
        root = requests.get(site.url, params={"f": "json"}, headers={"X-Esri-Authorization": "Bearer " + token},
                            timeout=5).json()
        assert "mode" in root["resources"] and {"machines", "services", "system", "security"} <= set(root["resources"])
        assert isinstance(root["currentVersion"], float)
        assert root["fullVersion"] == server_info(site).json()["fullVersion"]
        assert root["isServerLicensed"] == "true"
        assert requests.get(site.url + "/", params={"f": "pjson", "token": token}, timeout=5).json() == root
        assert requests.get(site.url, params={"f": "json"}, timeout=5).json()["code"] == 499
        html = requests.get(site.url, params={"token": token}, timeout=5)
        assert html.headers["Content-Type"] == "text/html" and "<html>" in html.text
