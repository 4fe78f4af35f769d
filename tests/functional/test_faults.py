# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fault campaign: every fault switch of both emulators against both modules, bad input and
TLS. Each run ends in the requested mode or in a clear failure that names the mode the server is
in. The role under faults is in test_window_faults.py."""

from __future__ import annotations

import certifi
import pytest

from ansible_collections.opsmodes.maintenance.tests.emulators.common import DEFAULT_CERT

# Short budgets so that faults that end in a failure fail fast.
UCS_ARGS = {"mode": "maintenance", "timeout": 1, "wait_timeout": 4}
ARCGIS_ARGS = {"mode": "read_only", "username": "admin", "password": "admin", "timeout": 1, "wait_timeout": 4}

OK = "ok"
PRODUCTION = ("The server is in mode production.", "production")
EDITABLE = ("The server is in mode editable.", "editable")
UNCHANGED_PRODUCTION = ("Nothing was changed; the server is in mode production.", "production")
UNCHANGED_EDITABLE = ("Nothing was changed; the server is in mode editable.", "editable")

# fault -> OK (the run ends in the requested mode), or (the end of the failure message, the mode
# it names and returns, which must be the server's).
UCS_FAULTS = {
    "503:3": OK,                                 # retried on the first read
    "502:2:GET": OK,
    "504:1:GET": OK,
    "drop:1:GET": OK,                            # connection dropped, retried
    "slow=3:1:GET": OK,                          # first read timed out, retried
    "trickle=0.1:1:GET": OK,                     # a byte every 0.1 s: cut off at the timeout, retried
    "500:1:GET": UNCHANGED_PRODUCTION,           # a server-side error: one more read names the mode
    "not_json:1:GET": UNCHANGED_PRODUCTION,
    "503:4::/server/status$": OK,                # longer than the retries: a switch under way, waited through
    "500:2:GET": ("Nothing was changed; its mode could not be read.", None),
    "api_error:1:GET": UNCHANGED_PRODUCTION,
    "500:1:POST": PRODUCTION,
    "400:1:POST": PRODUCTION,
    "503:1:POST": OK,                            # refused while busy: asked again once the server answers
    "drop:1:POST": PRODUCTION,                   # not processed; the status decides
    "drop_after:1:POST": OK,                     # processed, answer lost: the status decides
    "slow=3:1:POST": OK,                         # processed, answer too late: the status decides
    "trickle=0.1:1:POST": OK,                    # processed, answer never complete: the status decides
    "not_json:1:POST": OK,                       # a proxy's page after the write was accepted
}

ARCGIS_FAULTS = {
    "503:3": OK,
    "drop:1::/generateToken$": OK,
    "500:1::/generateToken$": UNCHANGED_EDITABLE,
    "500:1::/mode$": UNCHANGED_EDITABLE,
    "not_json:1::/mode$": UNCHANGED_EDITABLE,
    "500:1::/mode/update$": EDITABLE,
    "drop:1::/mode/update$": EDITABLE,           # not processed; the site mode decides
    "drop_after:1::/mode/update$": OK,
    "slow=3:1::/mode/update$": OK,
    "trickle=0.1:1::/mode/update$": OK,
    "500:2::/system/jobs/": OK,                  # the job is followed through server errors
    "not_json:2::/system/jobs/": OK,
    "drop:2::/system/jobs/": OK,
    "slow=3:1::/system/jobs/": OK,
    "502:4::/system/jobs/": OK,
    "api_error:1::/mode$": UNCHANGED_EDITABLE,   # HTTP 200 with code 500: one more read names the mode
    "api_error:1::/mode/update$": EDITABLE,
    "api_error:2::/system/jobs/": OK,            # a NullPointerException while services restart
    "api_error:1::/generateToken$": UNCHANGED_EDITABLE,
    "404:1::/system/jobs/": OK,                  # a job record that cannot be found: the site mode decides
    "403:1::/mode/update$": EDITABLE,
    "302:1::/mode/update$": EDITABLE,            # a redirect is never followed
}


def assert_outcome(run, expected, server_mode, wanted):
    if expected == OK:
        assert not run.failed, run.msg
        assert server_mode == wanted and run.result["mode"] == wanted
        return
    ending, named = expected
    assert run.failed, run.output
    assert run.msg.endswith(ending), run.msg
    assert run.result["mode"] == named
    if named is not None:
        assert server_mode == named


@pytest.mark.parametrize("fault", sorted(UCS_FAULTS))
def test_ucs_module_under_fault(ucs_server, run_module, fault):
    ucs = ucs_server(switch_seconds=0.5, faults=[fault])
    run = run_module("ucs_server_mode", dict(UCS_ARGS, url=ucs.url))
    assert_outcome(run, UCS_FAULTS[fault], ucs.state()["mode"], "maintenance")
    # A write is never sent twice; only one refused with 503 (a switch under way) is asked again.
    assert len([r for r in ucs.requests_to("/server/mode", "POST") if r["status"] != 503]) <= 1


@pytest.mark.parametrize("fault", sorted(ARCGIS_FAULTS))
def test_arcgis_module_under_fault(arcgis_server, run_module, fault):
    site = arcgis_server(read_only_seconds=0.5, faults=[fault])
    run = run_module("arcgis_site_mode", dict(ARCGIS_ARGS, url=site.url))
    assert_outcome(run, ARCGIS_FAULTS[fault], site.state()["mode"].lower(), "read_only")
    assert len(site.requests_to("/mode/update")) <= 1


def test_a_status_that_trickles_is_cut_off_at_the_timeout(ucs_server, run_module):
    """A server that sends its answer a byte at a time, each well within the timeout, would hold a
    request for as long as it likes: the request as a whole ends at the timeout."""
    ucs = ucs_server(faults=["trickle=0.1:2:GET:/server/status"])
    run = run_module("ucs_server_mode", dict(UCS_ARGS, url=ucs.url, retries=1))
    assert run.failed, run.output
    assert run.msg == ("GET %s/server/status: no complete answer came within the timeout of 1 s. Nothing was "
                       "changed." % ucs.url)
    first, retried = ucs.requests
    # The first request arrived, was cut off at the timeout, and after a backoff of 0.5 s the
    # retry arrived (0.5 s of margin for ending a request and sending the next).
    assert retried["time"] - first["time"] < UCS_ARGS["timeout"] + 0.5 + 0.5
    assert ucs.state()["mode"] == "production"


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    ({"url": "{host_port}/arcgis/admin"}, "must be an http:// or https:// URL"),
    ({"url": "{url}", "token_url": "portal.example.com/sharing/rest/generateToken"},
     "token_url must be an http:// or https:// URL"),
    ({"url": "{url}", "mode": "readonly"}, "value of mode must be one of: read_only, editable"),
    ({"url": "{url}", "allow_editing_via_services": "sometimes"}, "'allow_editing_via_services' is of type"),
    ({"url": "{url}", "wait_timeout": "-1"}, "wait_timeout must be a positive number"),
    ({"url": "{url}", "timeout": 0}, "timeout must be a positive number"),
    ({"url": "{url}", "validate_certs": "perhaps"}, "'validate_certs' is of type"),
    ({"url": "{url}", "username": None, "password": None}, "Authentication needed"),
    ({"url": "{url}", "password": None}, "Authentication needed"),
    ({"url": "{url}", "token": "t0ken-Secret"}, "not both"),
])
def test_arcgis_bad_input_fails_before_any_request(arcgis_server, run_module, args, message):
    site = arcgis_server()
    args = dict({"mode": "read_only", "username": "admin", "password": "Pw-Secret7"}, **args)
    args = {k: v.format(url=site.url, host_port="127.0.0.1:%d" % site.port) if isinstance(v, str) else v
            for k, v in args.items() if v is not None}
    run = run_module("arcgis_site_mode", args)
    assert run.failed and message in run.msg, run.msg
    assert "Pw-Secret7" not in run.output and "t0ken-Secret" not in run.output
    assert site.requests == []


# -- TLS ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("module, server_fixture, args, back", [
    ("ucs_server_mode", "ucs_server", {"mode": "maintenance"}, "production"),
    ("arcgis_site_mode", "arcgis_server", {"mode": "read_only", "username": "admin", "password": "admin"}, "editable"),
])
def test_tls_verified_by_default_then_ca_path_then_off(request, run_module, module, server_fixture, args, back):
    server = request.getfixturevalue(server_fixture)(tls=True)
    refused = run_module(module, dict(args, url=server.url))
    assert refused.failed
    assert "TLS certificate verification failed" in refused.msg and "self-signed certificate" in refused.msg
    assert "ca_path" in refused.msg and "Nothing was changed" in refused.msg
    assert server.requests == []
    # Waited for: a switch still under way would refuse the next run's.
    trusted = run_module(module, dict(args, url=server.url, ca_path=DEFAULT_CERT))
    assert trusted.result["changed"] and not trusted.failed, trusted.msg
    unverified = run_module(module, dict(args, mode=back, url=server.url, validate_certs=False, wait=False))
    assert unverified.result["changed"] and not unverified.failed, unverified.msg


@pytest.mark.parametrize("module, server_fixture, args", [
    ("ucs_server_mode", "ucs_server", {"mode": "maintenance"}),
    ("arcgis_site_mode", "arcgis_server", {"mode": "read_only", "username": "admin", "password": "admin"}),
])
def test_ca_path_that_cannot_be_used_fails_before_any_request(request, run_module, tmp_path, module, server_fixture,
                                                              args):
    server = request.getfixturevalue(server_fixture)(tls=True)
    missing = run_module(module, dict(args, url=server.url, ca_path=str(tmp_path / "no-such-ca.pem")))
    assert missing.failed and "ca_path %s does not exist" % (tmp_path / "no-such-ca.pem") in missing.msg
    assert "mode" in missing.result and missing.result["mode"] is None
    assert server.requests == []


@pytest.mark.parametrize("module, server_fixture, args", [
    ("ucs_server_mode", "ucs_server", {"mode": "maintenance"}),
    ("arcgis_site_mode", "arcgis_server", {"mode": "read_only", "username": "admin", "password": "admin"}),
])
def test_https_url_on_a_plain_http_port_says_so(request, run_module, module, server_fixture, args):
    server = request.getfixturevalue(server_fixture)()
    run = run_module(module, dict(args, url=server.url.replace("http://", "https://")))
    assert run.failed
    assert "answered in plain HTTP, not TLS: use an http:// URL" in run.msg, run.msg
    assert "validate_certs" not in run.msg


def test_ca_path_wins_over_validate_certs_false(ucs_server, run_module):
    """Both set: verification stays on, against ca_path (AWX may inject validate_certs false for a
    boolean a credential never stored)."""
    ucs = ucs_server(tls=True, switch_seconds=0.2)
    # Public CAs (requests' own bundle) did not sign the emulator's certificate.
    refused = run_module("ucs_server_mode", {"url": ucs.url, "mode": "maintenance", "ca_path": certifi.where(),
                                             "validate_certs": False})
    assert refused.failed and "TLS certificate verification failed" in refused.msg
    trusted = run_module("ucs_server_mode", {"url": ucs.url, "mode": "maintenance", "ca_path": DEFAULT_CERT,
                                             "validate_certs": False})
    assert not trusted.failed, trusted.msg
