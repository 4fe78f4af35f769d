# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""The Genesys UCS Context Services server mode API, spoken in one place:
`GET {url}/server/status` and `POST {url}/server/mode`."""

from __future__ import annotations

import time

from ansible.module_utils.basic import env_fallback

from ansible_collections.opsmodes.maintenance.plugins.module_utils._base import PENDING, ApiSpec, ModeService
from ansible_collections.opsmodes.maintenance.plugins.module_utils._poll import POLL_INTERVAL, Poll, wait_until
from ansible_collections.opsmodes.maintenance.plugins.module_utils._transport import (
    RETRY_STATUSES,
    ApiError,
    validate_url,
)

MODES = ("maintenance", "production")
# The status document's documented fields, besides `mode`: a JSON answer with none of them comes
# from something else than UCS Context Services (in 8.5, GMS shares the proxy and the prefix).
STATUS_FIELDS = frozenset(("version", "system_time", "max_memory", "allocated_memory", "used_memory", "free_memory",
                           "started", "last_request", "request_today", "client_errors_today", "server_errors_today"))
# request_mode's answers besides True (the documented answer: the server took the write).
UNANSWERED, BUSY = "unanswered", "busy"
# The longest pause between two writes refused with 503 while the status shows no switch running.
REFUSAL_BACKOFF_MAX = 10.0
WRONG_SERVER = ("the URL may reach something else than UCS Context Services (in 8.5 GMS shares its proxy and prefix): "
                "check the cview/base_url prefix in url")


class UcsClient(ModeService):
    document_key = "status"

    def __init__(self, http, url, username=None, password=None):
        self.http = http
        self.url = validate_url(url)
        self.username = username
        self.auth = (username, password) if username else None
        # What answered a write that was not the documented answer, for the message if the status
        # never shows the mode.
        self.undocumented_answer = None

    def _request(self, method, path, what, **kwargs):
        response = self.http.request(method, self.url + path, auth=self.auth, **kwargs)
        if response.status_code == 401:
            if self.username:
                raise ApiError("%s: authentication failed for user '%s' at %s (HTTP 401)"
                               % (what, self.username, self.url), url=self.url, status=401, reason="http")
            raise ApiError("%s: the server at %s requires authentication (HTTP 401); set username and password"
                           % (what, self.url), url=self.url, status=401, reason="http")
        return response

    def status(self, retry=True, deadline=None):
        """The server's status document. 503s (a switch under way) are retried like any
        transient failure when `retry` allows."""
        what = "Reading the UCS server status"
        response = self._request("GET", "/server/status", what, retry=retry, deadline=deadline)
        if response.status_code == 404:
            error = self.http.http_error(response, what)
            raise ApiError("%s; %s" % (error, WRONG_SERVER), url=error.url, status=404, reason="http")
        document = self.http.json(response, what)
        mode_of(document)
        return document

    def request_mode(self, mode):
        """Ask for `mode`. Returns True when the server took it (its documented answer), BUSY
        when it refused with 503 because a switch is running, UNANSWERED when its answer leaves
        open whether it took it: no answer within the timeout (the server may hold the answer
        until its drain ends), or an answer that is not the API's (a single sign-on or proxy page).
        The status decides those."""
        what = "Setting the UCS server mode to %s" % mode
        try:
            # Never retried: whether a repeated POST of the mode the server has meanwhile
            # reached is accepted is not documented.
            response = self._request("POST", "/server/mode", what, json={"mode": mode}, retry=False)
        except ApiError as exc:
            if exc.reason in ("timeout", "connection"):
                return UNANSWERED
            raise
        if response.status_code in RETRY_STATUSES:
            return BUSY
        if response.status_code == 403:
            raise ApiError("%s: HTTP 403 from %s: the user%s lacks the Administrator role needed to change the mode "
                           "(with role-based access on, reading the status works without it)"
                           % (what, self.url, " '%s'" % self.username if self.username else ""),
                           url=self.url, status=403, reason="http")
        if response.status_code == 404 and mode == "production":
            error = self.http.http_error(response, what)
            raise ApiError("%s. UCS answers 404 to a switch to production when no profile schema is defined, and "
                           "stays in maintenance: define the schema first. This is not a wrong URL" % error,
                           url=error.url, status=404, reason="http")
        if response.status_code >= 400:
            raise self.http.http_error(response, what)
        try:
            document = response.json()
        except ValueError:
            document = None
        if isinstance(document, dict) and "server changed" in document:
            return True
        content_type = response.headers.get("Content-Type", "no content type")
        self.undocumented_answer = "HTTP %s, %s: %s" % (response.status_code, content_type,
                                                        self.http.excerpt(response.text))
        return UNANSWERED

    # -- ModeService ---------------------------------------------------------------------------
    def read(self, deadline):
        """The status; with a deadline, waiting through a switch under way (every request answers
        503 for the whole drain), since a run may start during an interrupted run's or a
        colleague's switch."""
        if deadline is None:
            return self.status()
        last = []

        def probe():
            try:
                return self.status(deadline=deadline)
            except ApiError as exc:
                if exc.status not in RETRY_STATUSES:
                    raise
                last[:] = [exc]
                return None

        status = wait_until(probe, deadline)
        if status is None:
            raise ApiError("Timed out waiting for the UCS server at %s to answer its status: %s" % (self.url, last[0]),
                           url=self.url, status=last[0].status, reason="timeout")
        return status

    def mode_of(self, document):
        return mode_of(document)

    def write(self, wanted, deadline):
        """Ask for `wanted`. When the server refuses because a switch is running (a colleague's,
        or an interrupted run's), wait for that switch to end and ask again if it did not end in
        `wanted`: a new request after a refusal, not a resend of one whose fate is unknown."""
        # The role keeps one client per server for a whole task: an earlier write's answer is not this one's.
        self.undocumented_answer = None
        refusals = 0
        while True:
            answer = self.request_mode(wanted)
            if answer is True:
                return None
            if answer == UNANSWERED:
                return PENDING
            asked = time.monotonic()
            status = self.read(deadline)
            if mode_of(status) == wanted:
                return None
            now = time.monotonic()
            # The status answered at once, so no switch was running to wait out: a proxy or the
            # server itself refuses for now. Ask again, less and less often, not in a loop.
            pause = 0.0
            if now - asked < POLL_INTERVAL:
                refusals += 1
                pause = min(POLL_INTERVAL * 2 ** refusals, REFUSAL_BACKOFF_MAX)
            # A write asked for with no time left to wait for it would only leave the mode unknown.
            if now + pause >= deadline:
                raise ApiError("Setting the UCS server mode to %s: the server at %s refused it with HTTP 503 within "
                               "the wait_timeout, although it answered its status in mode %s"
                               % (wanted, self.url, mode_of(status)),
                               url=self.url, status=503, reason="http")
            time.sleep(pause)

    def wait(self, wanted, handle, deadline):
        return self.wait_for_mode(wanted, deadline)

    def wait_for_mode(self, mode, deadline):
        """Poll the status until it reports `mode`, passing over transient errors (503 is how the
        server says it is switching). Returns the status document; raises ApiError when time runs
        out."""
        poll = Poll(lambda: self.status(retry=False), lambda status: mode_of(status) == mode)
        status = poll.run(deadline)
        if status is None:
            if poll.error is not None:
                where = "the server was still switching (last answer: %s)" % poll.error
                if poll.last is not None:
                    where += "; the last mode it reported was %s" % mode_of(poll.last)
            else:
                where = "the server still reports mode %s" % (mode_of(poll.last) if poll.last is not None else None)
            if self.undocumented_answer:
                where += ". The write was answered by something that is not the UCS API (%s)" % self.undocumented_answer
            raise ApiError("Timed out waiting for the UCS server at %s to reach mode %s: %s" % (self.url, mode, where),
                           url=self.url, reason="timeout")
        return status


def mode_of(status):
    """The mode in a status document, in lower case; ApiError when it is missing or unknown,
    rather than a guess."""
    mode = status.get("mode")
    if not isinstance(mode, str) or mode.lower() not in MODES:
        hint = ("" if STATUS_FIELDS & set(status)
                else "; the answer has none of the status document's fields, so " + WRONG_SERVER)
        raise ApiError("The UCS server status has no recognised mode (expected production or maintenance): mode=%r%s"
                       % (mode, hint), reason="api")
    return mode.lower()


def _service(http, params):
    return UcsClient(http, params["url"], params["username"], params["password"])


API = ApiSpec(
    name="ucs",
    options=dict(
        url=dict(type="str", required=True, fallback=(env_fallback, ["UCS_URL"])),
        mode=dict(type="str", required=True, choices=list(MODES)),
        username=dict(type="str", fallback=(env_fallback, ["UCS_USERNAME"])),
        password=dict(type="str", no_log=True, fallback=(env_fallback, ["UCS_PASSWORD"])),
    ),
    env_prefix="UCS",
    wait_timeout=300,
    service=_service,
    required_together=[("username", "password")],
)
