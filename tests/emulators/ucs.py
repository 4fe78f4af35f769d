# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Emulator of Genesys UCS Context Services' server mode API (shared/api-contracts.md, UCS part)."""

from __future__ import annotations

import base64
import time
from datetime import datetime, timezone

from .common import Emulator, Response

MODES = ("production", "maintenance")
MODE_CASES = ("lower", "upper", "title")
ERROR_BODIES = ("text", "json")
SAME_MODE_ANSWERS = ("ok", "error")
# What answers a write: the API ("json"), a single sign-on or proxy page in front of a server that
# took the write ("html") or that never saw it ("html_only"), or a redirect to a login page.
WRITE_ANSWERS = ("json", "html", "html_only", "redirect")
# What the URL reaches: UCS, or GMS behind the same proxy and prefix (8.5), answering the status
# with 404 or with a JSON document of its own.
SERVERS = ("ucs", "gms_404", "gms_json")
SSO_PAGE = ("<html><head><title>Sign in</title></head>"
            "<body><form action='/sso/login'>Single sign-on</form></body></html>")
SSO_LOCATION = "https://sso.example.com/login?ticket=ST-0123456789&service=ucs"

# Which operations each mode allows: schema operations in maintenance only, profile and
# service operations in production only. Paths are below the base path.
_MODE_RESTRICTED = (
    ("/metadata", "maintenance", "Schema operations are allowed only in maintenance mode"),
    ("/profiles", "production", "Profile operations are not allowed in maintenance mode"),
    ("/services", "production", "Service operations are not allowed in maintenance mode"),
)


def _now_text():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class UcsEmulator(Emulator):
    """The switches are the questions the vendor leaves open (see the contract):

    - `base_path`: the `cview/base_url` prefix ('', '/cv', '/genesys/1/cs', ...).
    - `username`/`password`: basic auth on when both are given.
    - `switch_seconds`: how long a switch lasts; every request gets 503 meanwhile.
    - `post_blocks`: the mode POST answers only once the switch has ended.
    - `initial_mode`, `mode_case`: the mode at start and the letter case it is reported in.
    - `error_body`: error descriptions as plain text or as JSON.
    - `same_mode`: answer to a POST of the mode the server already has (`ok` or `error`).
    - `switching_to`: a switch toward this mode is under way at start, for `switch_seconds` (an
      interrupted run's or a colleague's); `begin_switch()` (or POST /_emulator/switch with
      {"mode": ..., "seconds": ...}) starts one at run time.
    - `write_answer`: see WRITE_ANSWERS.
    - `write_forbidden`: role-based access on (use-role=true) and the user lacks the Administrator
      role: reading works, the write gets 403.
    - `no_profile_schema`: a write to production answers 404 and leaves the server in maintenance.
    - `server`: see SERVERS.
    - `version`: the status document's version (it may be "").
    """

    name = "ucs"

    def __init__(self, base_path="", username=None, password=None, switch_seconds=1.0, post_blocks=False,
                 initial_mode="production", mode_case="lower", error_body="text", same_mode="error", switching_to=None,
                 write_answer="json", write_forbidden=False, no_profile_schema=False, server="ucs",
                 version="8.5.000.21", **kwargs):
        super().__init__(**kwargs)
        if (initial_mode not in MODES or mode_case not in MODE_CASES or error_body not in ERROR_BODIES
                or same_mode not in SAME_MODE_ANSWERS or switching_to not in MODES + (None,)
                or write_answer not in WRITE_ANSWERS or server not in SERVERS):
            raise ValueError("bad UCS emulator switch")
        self.write_answer = write_answer
        self.write_forbidden = write_forbidden
        self.no_profile_schema = no_profile_schema
        self.server = server
        self.version = version
        self.base_path = "/" + base_path.strip("/") if base_path.strip("/") else ""
        self.username = username
        self.password = password
        self.switch_seconds = float(switch_seconds)
        self.post_blocks = post_blocks
        self.mode = initial_mode
        self.mode_case = mode_case
        self.error_body = error_body
        self.same_mode = same_mode
        self.started = _now_text()
        self.last_request = None
        self.switching_to = None
        self._switch_ends = 0.0
        self.switches = 0
        self.counters = {"request_today": 0, "client_errors_today": 0, "server_errors_today": 0}
        if switching_to:
            self.begin_switch(switching_to)

    @property
    def url(self):
        return self.origin + self.base_path

    def _settle(self):
        if self.switching_to and time.monotonic() >= self._switch_ends:
            self.mode, self.switching_to = self.switching_to, None

    def begin_switch(self, mode, seconds=None):
        """A switch that someone else started: every request answers 503 until it ends."""
        with self.lock:
            self.switches += 1
            self.switching_to = mode
            self._switch_ends = time.monotonic() + (self.switch_seconds if seconds is None else float(seconds))

    def control(self, what, request):
        if what == "switch" and request.method == "POST":
            body = request.json()
            self.begin_switch(body["mode"], body.get("seconds"))
            return Response.json(self.state())
        return None

    def state(self):
        with self.lock:
            self._settle()
            return {"mode": self.mode, "switching_to": self.switching_to, "switches": self.switches}

    def error(self, status, message):
        if self.error_body == "json":
            return Response.json({"status": status, "message": message}, status=status)
        return Response.text(message, status=status)

    def _authorized(self, request):
        if not (self.username and self.password):
            return True
        expected = base64.b64encode(("%s:%s" % (self.username, self.password)).encode("utf-8")).decode("ascii")
        return request.headers.get("authorization", "") == "Basic " + expected

    def handle(self, request):
        if not request.path.startswith(self.base_path + "/"):
            return self.error(404, "Not found: %s" % request.path)
        path = request.path[len(self.base_path):]
        if self.server == "gms_404":
            return Response.json({"exception": "NotFoundException", "message": "Resource %s not found" % path},
                                 status=404)
        if self.server == "gms_json":
            return Response.json({"exception": "com.genesyslab.gms.InvalidTenantException",
                                  "message": "Invalid tenant specified. Check the gms_user header."})
        if not self._authorized(request):
            response = self.error(401, "Authentication required")
            response.headers["WWW-Authenticate"] = 'Basic realm="Context Services"'
            return response
        self._settle()
        if self.switching_to:
            return self.error(503, "Server is switching to %s mode" % self.switching_to)
        self.last_request = _now_text()
        if path == "/server/status" and request.method == "GET":
            return Response.json(self._status())
        if path == "/server/mode" and request.method == "POST":
            return self._set_mode(request)
        if path in ("/server/status", "/server/mode"):
            return self.error(405, "Method %s not allowed on %s" % (request.method, path))
        for prefix, allowed_mode, message in _MODE_RESTRICTED:
            if path.startswith(prefix):
                if self.mode != allowed_mode:
                    return self.error(503, message)
                self.counters["request_today"] += 1
                return Response.json([])
        return self.error(404, "Not found: %s" % request.path)

    def _status(self):
        # The documented fields, memory in KB.
        status = {
            "version": self.version,
            "system_time": _now_text(),
            "mode": getattr(self.mode, self.mode_case)(),
            "max_memory": 2097152,
            "allocated_memory": 1048576,
            "used_memory": 636928,
            "free_memory": 411648,
            "started": self.started,
            "last_request": self.last_request,
        }
        status.update(self.counters)
        return status

    def _set_mode(self, request):
        try:
            wanted = str(request.json()["mode"]).lower()
        except (ValueError, KeyError, TypeError):
            return self.error(400, "Request body must be a JSON object with a 'mode' field")
        if wanted not in MODES:
            return self.error(400, "Unknown mode '%s': expected production or maintenance" % wanted)
        if self.write_answer == "redirect":
            return Response.text("", status=302, headers={"Location": SSO_LOCATION})
        if self.write_answer == "html_only":
            return Response.text(SSO_PAGE, content_type="text/html")
        if self.write_forbidden:
            return self.error(403, "Forbidden: the user does not have the Administrator role")
        if wanted == self.mode and self.same_mode == "error":
            return self.error(400, "Server is already in %s mode" % wanted)
        if wanted == "production" and self.no_profile_schema:
            # "If no profile schema is defined, UCS returns 404 (Not Found) and automatically
            # switches to maintenance mode."
            self.mode = "maintenance"
            return self.error(404, "No profile schema is defined")
        response = Response.json({"server changed": wanted}, headers={"Location": "/server/status"})
        if self.write_answer == "html":
            response = Response.text(SSO_PAGE, content_type="text/html")
        if wanted != self.mode:
            self.switches += 1
            self.switching_to = wanted
            self._switch_ends = time.monotonic() + self.switch_seconds
            self._settle()
            if self.post_blocks:
                response.delay = self.switch_seconds
        return response
