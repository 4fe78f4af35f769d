# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Genesys UCS Context Services server mode API, spoken in one place:
`GET {url}/server/status` and `POST {url}/server/mode`."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

from ansible_collections.opsmodes.maintenance.plugins.module_utils.base import PENDING, ApiSpec, ModeService
from ansible_collections.opsmodes.maintenance.plugins.module_utils.transport import (
    RETRY_STATUSES,
    ApiError,
    Poll,
    validate_url,
)

MODES = ("maintenance", "production")


class UcsClient(ModeService):
    document_key = "status"

    def __init__(self, http, url, username=None, password=None):
        self.http = http
        self.url = validate_url(url)
        self.username = username
        self.auth = (username, password) if username else None

    def _request(self, method, path, what, **kwargs):
        response = self.http.request(method, self.url + path, auth=self.auth, **kwargs)
        if response.status_code == 401:
            if self.username:
                raise ApiError("%s: authentication failed for user '%s' at %s (HTTP 401)" % (what, self.username, self.url),
                               url=self.url, status=401, reason="http")
            raise ApiError("%s: the server at %s requires authentication (HTTP 401); set username and password" % (what, self.url),
                           url=self.url, status=401, reason="http")
        return response

    def status(self, retry=True, deadline=None):
        """The server's status document. 503s (a switch under way) are retried like any
        transient failure when `retry` allows."""
        what = "Reading the UCS server status"
        response = self._request("GET", "/server/status", what, retry=retry, deadline=deadline)
        document = self.http.json(response, what)
        mode_of(document)
        return document

    # -- ModeService ---------------------------------------------------------------------------
    def read(self, deadline):
        return self.status()

    def mode_of(self, document):
        return mode_of(document)

    def write(self, wanted, deadline):
        return None if self.request_mode(wanted) else PENDING

    def wait(self, wanted, handle, deadline):
        return self.wait_for_mode(wanted, deadline)

    def request_mode(self, mode):
        """Ask for `mode`. Returns True when the server accepted it, False when its answer
        leaves that open: a 503 (a switch is already running) or no answer within the timeout
        (the server may hold the answer until its drain ends). The status decides those."""
        what = "Setting the UCS server mode to %s" % mode
        try:
            # Never retried: whether a repeated POST of the mode the server has meanwhile
            # reached is accepted is not documented.
            response = self._request("POST", "/server/mode", what, json={"mode": mode}, retry=False)
        except ApiError as exc:
            if exc.reason in ("timeout", "connection"):
                return False
            raise
        if response.status_code in RETRY_STATUSES:
            return False
        if response.status_code >= 400:
            raise self.http.http_error(response, what)
        return True

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
            raise ApiError("Timed out waiting for the UCS server at %s to reach mode %s: %s" % (self.url, mode, where),
                           url=self.url, reason="timeout")
        return status


def mode_of(status):
    """The mode in a status document, in lower case; ApiError when it is missing or unknown,
    rather than a guess."""
    mode = status.get("mode")
    if not isinstance(mode, str) or mode.lower() not in MODES:
        raise ApiError("The UCS server status has no recognised mode (expected production or maintenance): mode=%r" % (mode,),
                       reason="api")
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
