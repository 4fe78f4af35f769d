# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared HTTP layer against the emulators over real loopback HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from ansible_collections.opsmodes.maintenance.plugins.module_utils._poll import POLL_INTERVAL, wait_until
from ansible_collections.opsmodes.maintenance.plugins.module_utils._transport import (
    ApiError,
    HttpSession,
    check_ca_path,
    public_url,
    validate_url,
)
from ansible_collections.opsmodes.maintenance.tests.emulators import common
from ansible_collections.opsmodes.maintenance.tests.emulators.common import DEFAULT_CERT
from ansible_collections.opsmodes.maintenance.tests.emulators.ucs import UcsEmulator

# How long past its timeout a request may still run: the time to shut its socket down and unwind.
MARGIN = 0.5


@pytest.fixture
def ucs():
    with UcsEmulator(switch_seconds=0.2) as emulator:
        yield emulator


def status_url(emulator):
    return emulator.url + "/server/status"


def test_one_session_keeps_the_connection_alive(ucs):
    http = HttpSession()
    for _attempt in range(3):
        assert http.request("GET", status_url(ucs)).status_code == 200
    assert len({entry["client_port"] for entry in ucs.requests}) == 1


def test_503s_are_retried_with_backoff(ucs):
    ucs.add_fault("503:2")
    http = HttpSession(retries=3)
    started = time.monotonic()
    response = http.request("GET", status_url(ucs))
    assert response.status_code == 200
    assert [entry["status"] for entry in ucs.requests] == [503, 503, 200]
    # Backoff of 0.5 s, then 1 s.
    assert time.monotonic() - started >= 1.5


def test_retries_are_bounded_by_count(ucs):
    ucs.add_fault("502:5")
    response = HttpSession(retries=1).request("GET", status_url(ucs))
    assert response.status_code == 502
    assert len(ucs.requests) == 2


def test_retries_are_bounded_by_the_deadline(ucs):
    ucs.add_fault("504:10")
    started = time.monotonic()
    response = HttpSession(retries=10).request("GET", status_url(ucs), deadline=started + 1.0)
    assert response.status_code == 504
    assert time.monotonic() - started < 1.0
    # 0.5 s of backoff fits, the next pause of 1 s does not.
    assert len(ucs.requests) == 2


def test_no_retry_when_the_caller_says_so(ucs):
    ucs.add_fault("503:1")
    assert HttpSession().request("POST", ucs.url + "/server/mode", json={"mode": "maintenance"},
                                 retry=False).status_code == 503
    assert len(ucs.requests) == 1


def test_500_is_not_retried(ucs):
    ucs.add_fault("500:1")
    assert HttpSession().request("GET", status_url(ucs)).status_code == 500
    assert len(ucs.requests) == 1


def test_dropped_connection_is_retried(ucs):
    ucs.add_fault("drop:1")
    assert HttpSession().request("GET", status_url(ucs)).status_code == 200
    assert [entry["status"] for entry in ucs.requests] == [None, 200]


def test_dropped_connection_every_time_is_a_connection_error(ucs):
    ucs.add_fault("drop:9")
    with pytest.raises(ApiError) as caught:
        HttpSession(retries=1).request("GET", status_url(ucs))
    assert caught.value.reason == "connection" and caught.value.status is None
    assert public_url(status_url(ucs)) in str(caught.value)


def test_slow_answer_is_a_timeout(ucs):
    ucs.add_fault("slow=2:1")
    with pytest.raises(ApiError) as caught:
        HttpSession(timeout=0.5, retries=0).request("GET", status_url(ucs))
    assert caught.value.reason == "timeout"
    assert "no complete answer came within the timeout of 0.5 s" in str(caught.value)


def test_json_error_body_gives_the_servers_words():
    with UcsEmulator(error_body="json", faults=["500:1"]) as ucs:
        http = HttpSession()
        with pytest.raises(ApiError) as caught:
            http.json(http.request("GET", status_url(ucs)), "Reading")
    assert caught.value.status == 500
    assert str(caught.value) == "Reading: HTTP 500 from %s: Injected fault: HTTP 500" % status_url(ucs)


def test_text_that_is_not_json(ucs):
    ucs.add_fault("not_json:1")
    http = HttpSession()
    with pytest.raises(ApiError) as caught:
        http.json(http.request("GET", status_url(ucs)), "Reading")
    assert caught.value.reason == "not_json"
    assert "text/html" in str(caught.value) and "Proxy error page" in str(caught.value)


def test_secrets_echoed_by_a_server_are_scrubbed(ucs):
    # The emulator echoes an unknown mode in its error: a stand-in for any server that echoes
    # what it was sent.
    http = HttpSession(secrets={"hunter2-secret"})
    response = http.request("POST", ucs.url + "/server/mode", json={"mode": "hunter2-secret"})
    error = http.http_error(response, "Writing")
    assert "hunter2-secret" not in str(error) and "********" in str(error)


def test_secrets_added_later_are_scrubbed_in_a_shared_set():
    shared = set()
    http = HttpSession(secrets=shared)
    shared.add("tok-123")
    assert http.excerpt("the token tok-123 is bad") == "the token ******** is bad"


def test_tls_is_verified_by_default_with_a_clear_error():
    with UcsEmulator(tls=True) as ucs:
        with pytest.raises(ApiError) as caught:
            HttpSession().request("GET", status_url(ucs))
    assert caught.value.reason == "tls"
    assert "certificate verification failed" in str(caught.value)
    assert "ca_path" in str(caught.value) and "validate_certs" in str(caught.value)


def test_tls_with_ca_path_and_with_verification_off(monkeypatch):
    # A CA bundle in the environment (common on managed machines) must not turn verification
    # back on when the user turned it off, nor replace the user's ca_path.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca-bundle.pem")
    with UcsEmulator(tls=True) as ucs:
        assert ucs.url.startswith("https://")
        assert HttpSession(ca_path=DEFAULT_CERT).request("GET", status_url(ucs)).status_code == 200
        with pytest.warns(Warning, match="Unverified HTTPS request"):
            assert HttpSession(validate_certs=False).request("GET", status_url(ucs)).status_code == 200


@pytest.mark.parametrize("url, message", [
    ("ucs.example.com:8080", "must be an http:// or https:// URL"),
    ("ftp://ucs.example.com", "must be an http:// or https:// URL"),
    ("http://", "must be an http:// or https:// URL"),
    ("http://u:secret@ucs.example.com", "must not carry credentials"),
    ("http://ucs.example.com/?token=abc", "must not have a query string"),
    ("http://ucs.example.com:99999", "invalid port"),
    ("", "must be an http:// or https:// URL"),
])
def test_validate_url_refuses(url, message):
    with pytest.raises(ApiError) as caught:
        validate_url(url)
    assert message in str(caught.value)
    assert "secret" not in str(caught.value) and "token=abc" not in str(caught.value)


def test_validate_url_strips_trailing_slashes():
    assert validate_url("https://gis.example.com/server/admin/") == "https://gis.example.com/server/admin"


def test_public_url_drops_credentials_and_query():
    assert public_url("https://u:p@h.example.com:8443/a/b?token=x#f") == "https://h.example.com:8443/a/b"


def test_wait_until_polls_at_the_interval_and_uses_the_whole_budget():
    calls = []
    started = time.monotonic()
    assert wait_until(lambda: calls.append(time.monotonic()), started + 1.2) is None
    # Calls at 0, 0.5, 1.0 and one at the deadline.
    assert len(calls) == 4
    assert calls[-1] - started >= 1.2
    gaps = [b - a for a, b in zip(calls, calls[1:3])]
    assert all(POLL_INTERVAL - 0.05 <= gap <= POLL_INTERVAL + 0.2 for gap in gaps)


def test_wait_until_returns_the_first_answer():
    answers = iter([None, None, "done"])
    assert wait_until(lambda: next(answers), time.monotonic() + 10) == "done"


def test_a_redirect_is_never_followed_and_names_its_location_without_query():
    with UcsEmulator(write_answer="redirect") as ucs:
        with pytest.raises(ApiError) as caught:
            HttpSession().request("POST", ucs.url + "/server/mode", json={"mode": "maintenance"})
        assert [r["method"] for r in ucs.requests] == ["POST"]
    assert caught.value.reason == "redirect" and caught.value.status == 302
    assert "to https://sso.example.com/login, and redirects are never followed" in str(caught.value)
    assert "ticket" not in str(caught.value)


def test_every_request_asks_for_json(ucs):
    HttpSession().request("GET", status_url(ucs))
    assert ucs.requests[0]["headers"]["accept"] == "application/json"


def test_check_ca_path(tmp_path):
    check_ca_path(None)
    check_ca_path(DEFAULT_CERT)
    with pytest.raises(ApiError, match="does not exist"):
        check_ca_path(str(tmp_path / "missing.pem"))
    with pytest.raises(ApiError, match="cannot be read"):
        check_ca_path(str(tmp_path))


# -- the total deadline of a request: a server that trickles its answer ---------------------------------
def fails_at_the_timeout(http, method, url, **kwargs):
    """The ApiError of a request that must end at the session's timeout, however the server answers."""
    started = time.monotonic()
    with pytest.raises(ApiError) as caught:
        http.request(method, url, **kwargs)
    assert time.monotonic() - started < http.timeout + MARGIN
    assert caught.value.reason == "timeout" and caught.value.status is None
    assert str(caught.value) == "%s %s: no complete answer came within the timeout of %g s" % (
        method, public_url(url), http.timeout)
    return caught.value


@pytest.mark.parametrize("tls", [False, True])
def test_an_answer_trickled_from_its_first_byte_ends_at_the_timeout(tls):
    # A byte every 0.05 s: no read waits as long as the timeout, and the whole answer takes 25 s.
    with UcsEmulator(tls=tls, faults=["trickle=0.05:1:GET:/server/status"]) as ucs:
        http = HttpSession(timeout=0.5, retries=0, ca_path=DEFAULT_CERT if tls else None)
        error = fails_at_the_timeout(http, "GET", status_url(ucs) + "?f=json")
        assert error.url == status_url(ucs)
        assert http.request("GET", status_url(ucs)).status_code == 200


def test_a_kept_alive_connection_is_under_the_deadline_too(ucs):
    http = HttpSession(timeout=0.5, retries=0)
    assert http.request("GET", status_url(ucs)).status_code == 200
    ucs.add_fault("trickle=0.05:1:POST")
    fails_at_the_timeout(http, "POST", ucs.url + "/server/mode", json={"mode": "maintenance"})
    assert [(entry["method"], entry["client_port"]) for entry in ucs.requests] == [
        ("GET", ucs.requests[0]["client_port"]), ("POST", ucs.requests[0]["client_port"])]
    assert http.request("GET", status_url(ucs)).status_code == 200


def test_a_trickling_answer_is_retried_like_a_timeout(ucs):
    ucs.add_fault("trickle=0.05:1:GET")
    assert HttpSession(timeout=0.5, retries=1).request("GET", status_url(ucs)).status_code == 200
    assert [entry["status"] for entry in ucs.requests] == [200, 200]


def test_a_request_through_a_proxy_is_under_the_deadline_too(ucs, monkeypatch):
    # The emulator answers a proxy's request (GET http://host/path) for the path: a proxy that trickles.
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, ucs.origin)
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    ucs.add_fault("trickle=0.05:1:GET")
    fails_at_the_timeout(HttpSession(timeout=0.5, retries=0), "GET", "http://ucs.example.com:8080/server/status")
    assert [entry["path"] for entry in ucs.requests] == ["/server/status"]


@contextlib.contextmanager
def body_trickler(head, body, seconds=0.05):
    """A loopback server whose one answer is `head` at once, then `body` one byte every `seconds`."""
    listener = socket.create_server(("127.0.0.1", 0))
    stopped = threading.Event()

    def serve():
        with contextlib.suppress(OSError):
            connection, _address = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(head)
                for index in range(len(body)):
                    if stopped.wait(seconds):
                        break
                    connection.sendall(body[index:index + 1])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d/server/status" % listener.getsockname()[1]
    finally:
        stopped.set()
        listener.close()
        thread.join(5)


BODY = json.dumps({"mode": "production", "version": "8.5.000.21", "padding": "x" * 400}).encode()


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY),
    # Read until the connection closes: cut short, it would look complete.
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
], ids=["content-length", "until-close"])
def test_a_body_trickled_after_the_headers_ends_at_the_timeout(head):
    with body_trickler(head, BODY) as url:
        fails_at_the_timeout(HttpSession(timeout=0.5, retries=0), "GET", url)


def test_sessions_in_threads_keep_their_own_deadlines():
    """The role runs several sessions at once in one process: one request's deadline shuts down
    its own sockets only."""
    outcomes = {}
    with UcsEmulator(faults=["trickle=0.05:2:GET"]) as trickling, UcsEmulator() as answering:
        def trickled(name):
            started = time.monotonic()
            try:
                HttpSession(timeout=0.5, retries=0).request("GET", status_url(trickling))
            except ApiError as exc:
                outcomes[name] = (exc.reason, time.monotonic() - started)

        def answered():
            http = HttpSession(timeout=0.5, retries=0)
            outcomes["answered"] = [http.request("GET", status_url(answering)).status_code for _attempt in range(40)]

        threads = [threading.Thread(target=trickled, args=(name,)) for name in ("first", "second")]
        threads.append(threading.Thread(target=answered))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert outcomes["answered"] == [200] * 40
    for name in ("first", "second"):
        reason, elapsed = outcomes[name]
        assert reason == "timeout" and elapsed < 0.5 + MARGIN


@pytest.fixture
def child_ucs():
    """The UCS emulator in a process of its own, so that this one's threads and descriptors are
    the client's alone."""
    serve = os.path.join(os.path.dirname(common.__file__), "serve.py")
    with subprocess.Popen([sys.executable, serve, "ucs", "--port", "0"], stdout=subprocess.PIPE, text=True) as child:
        try:
            yield json.loads(child.stdout.readline())["url"]
        finally:
            child.terminate()


def open_descriptors():
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc")
def test_no_thread_nor_socket_outlives_its_request(child_ucs):
    http = HttpSession(timeout=0.3, retries=0)
    url = child_ucs + "/server/status"
    # One connection kept alive, as after every request below.
    assert http.request("GET", url).status_code == 200
    descriptors, threads = open_descriptors(), threading.active_count()
    for _attempt in range(3):
        requests.post(child_ucs + "/_emulator/faults", data="trickle=0.05:1:GET", timeout=5).raise_for_status()
        fails_at_the_timeout(http, "GET", url)
        assert http.request("GET", url).status_code == 200
    assert threading.active_count() == threads
    assert open_descriptors() == descriptors
