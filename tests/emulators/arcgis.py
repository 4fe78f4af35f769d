# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Emulator of the ArcGIS Server Administrator API's site mode, tokens and jobs, and of what a client
reads first to log in: the REST API's Server Info (`{site}/rest/info`), the token service
(`{site}/tokens/generateToken`) and the admin root's list of resources (shared/api-contracts.md,
ArcGIS part, and its third reading: what Esri's own client expects of a server)."""

from __future__ import annotations

import itertools
import secrets
import time

from .common import Emulator, Response

SITE_MODES = ("READ_ONLY", "EDITABLE")
JOB_RESULTS = ("success", "failed", "error", "error_changed", "cancelled")
PORTAL_PATH = "/portal/sharing/rest/generateToken"
PORTAL_ROOT = "/portal"
# What the emulator reports as its version: rest/info and the admin root (Esri's "Server Info" and
# "Site" pages; the site mode exists from 10.4 on).
CURRENT_VERSION = 11.3
FULL_VERSION = "11.3.0"
# The admin root's resources, as the "Site" page's 11.x example lists them.
ADMIN_RESOURCES = ("machines", "clusters", "system", "services", "security", "data", "uploads", "logs", "mode",
                   "usagereports", "webhooks")
_SERVICE_FAILED = "Failed to update the site mode. Service 'SampleWorldCities.MapServer' failed to restart."
_STORE_FAILED = "Failed to update the site mode. The configuration store is not accessible."
_CREDENTIALS_IN_QUERY = ("Credentials must not be passed in the query string. "
                         "Use POST with the credentials in the request body.")

_ADMIN_OFF = """<html><head><title>ArcGIS Web Adaptor</title></head>
<body><h2>Administrative access is disabled</h2><p>Administrative access to ArcGIS Server through this Web Adaptor is
not enabled.</p></body></html>"""

_HTML = """<html><head><title>ArcGIS Server Administrator Directory</title></head>
<body><h2>%s</h2><p>This is the HTML view of the resource. Add f=json for JSON.</p></body></html>"""

_REST_HTML = """<html><head><title>ArcGIS REST Services Directory</title></head>
<body><h2>%s</h2><p>This is the HTML view of the resource. Add f=json for JSON.</p></body></html>"""


def _bool(value, default):
    if value is None or value == "":
        return default
    return str(value).lower() == "true"


class ArcgisEmulator(Emulator):
    """The switches are what the vendor leaves open (see the contract):

    - `root`: the admin root path (`/arcgis/admin`, or `/server/admin` behind a Web Adaptor).
    - `username`/`password`: the only valid credentials.
    - `initial_mode`: `READ_ONLY` or `EDITABLE`.
    - `token_lifetime`: the longest life, in seconds, of a token, whatever the client asks for.
    - `token_uses`: a token expires after this many uses (a token that expires mid-run).
    - `expires_as_string`: `expires` in the token answer as a string.
    - `async_jobid`: runAsync=true answers with a `jobid` (True) or a bare success (False).
    - `read_only_seconds`, `editable_seconds`: how long a switch takes (READ_ONLY restarts
      every service).
    - `job_result`: `success`, `failed` (job ends FAILED), `error` (COMPLETED, with an error inside
      `operationResponse`), `error_changed` (the same, but the mode did change) or `cancelled`
      (CANCELLING, then CANCELLED); the mode is left unchanged unless `success` or `error_changed`.
      A job is SUBMITTED for its first tenth, then EXECUTING.
    - `report_allow_editing`: the mode document carries `allowEditingViaServices`.
    - `portal`: federated with a portal, whose `/portal/sharing/rest/generateToken` issues tokens;
      the site's own `generateToken` still takes the primary site administrator. Either refuses
      IP-bound tokens (`client=ip|requestip`), which federated servers do not support. Server Info
      (`{site}/rest/info`) then names the portal as `owningSystemUrl` and its token service as
      `tokenServicesUrl`, as a federated server does; a standalone one names `{site}/tokens/generateToken`.
    - `error_status`: errors come with their real HTTP status (498, 499, 403, 500, ...) and the
      same JSON body, as some versions, proxies and Web Adaptors send them, instead of HTTP 200.
    - `job_missing`: the job record cannot be found (purged, or kept on another machine).
    - `web_adaptor_admin_off`: behind a Web Adaptor with administration off (the default): every
      admin path answers an HTML page.
    - `redirect_to`: every request is answered with a 301 to this origin (an http -> https redirect).
    - `update_forbidden`: the user may read the mode but not update it (no administrator role).
    """

    name = "arcgis"

    def __init__(self, root="/arcgis/admin", username="admin", password="admin", initial_mode="EDITABLE",
                 token_lifetime=3600, token_uses=None, expires_as_string=False, async_jobid=True,
                 read_only_seconds=1.0, editable_seconds=0.2, job_result="success", report_allow_editing=False,
                 portal=False, error_status=False, job_missing=False, web_adaptor_admin_off=False, redirect_to=None,
                 update_forbidden=False, **kwargs):
        super().__init__(**kwargs)
        if initial_mode not in SITE_MODES or job_result not in JOB_RESULTS:
            raise ValueError("bad ArcGIS emulator switch")
        self.root = "/" + root.strip("/")
        self.username = username
        self.password = password
        self.mode = initial_mode
        self.allow_editing = True
        self.token_lifetime = float(token_lifetime)
        self.token_uses = token_uses
        self.expires_as_string = expires_as_string
        self.async_jobid = async_jobid
        self.switch_seconds = {"READ_ONLY": float(read_only_seconds), "EDITABLE": float(editable_seconds)}
        self.job_result = job_result
        self.report_allow_editing = report_allow_editing
        self.portal = portal
        self.error_status = error_status
        self.job_missing = job_missing
        self.web_adaptor_admin_off = web_adaptor_admin_off
        self.redirect_to = redirect_to
        self.update_forbidden = update_forbidden
        self.last_modified = int(time.time() * 1000)
        self.tokens = {}
        self.jobs = {}
        self.updates = 0
        self._job_ids = itertools.count(1)

    @property
    def url(self):
        return self.origin + self.root

    @property
    def portal_token_url(self):
        return self.origin + PORTAL_PATH

    @property
    def site_path(self):
        """The site's context, `/arcgis` for `/arcgis/admin`: where `rest/info` and `tokens` live."""
        return self.root[:-len("/admin")] if self.root.endswith("/admin") else self.root.rsplit("/", 1)[0]

    @property
    def site_url(self):
        return self.origin + self.site_path

    @property
    def token_services_url(self):
        """The token service Server Info names: the portal's when federated, else the site's own."""
        return self.portal_token_url if self.portal else self.site_url + "/tokens/generateToken"

    # -- state -------------------------------------------------------------------------------
    def _settle(self):
        now = time.monotonic()
        for job in self.jobs.values():
            if job["status"] == "SUBMITTED" and now >= job["starts"]:
                job.update(status="CANCELLING" if self.job_result == "cancelled" else "EXECUTING", currentstep=1)
                job["stepInfo"][0]["status"] = "EXECUTING"
            if job["status"] in ("EXECUTING", "CANCELLING") and now >= job["ends"]:
                self._finish(job)

    def _finish(self, job):
        # Where the documented job tells why it failed: the steps' and the operation's messages.
        step = job["stepInfo"][0]
        if self.job_result == "failed":
            job.update(status="FAILED")
            step.update(status="FAILED", messages=[_SERVICE_FAILED])
            job["operationResponse"] = {"status": "error", "messages": [_SERVICE_FAILED], "detail": None}
            return
        if self.job_result == "cancelled":
            job.update(status="CANCELLED")
            step.update(status="CANCELLED", messages=["The job was cancelled."])
            return
        job["status"] = "COMPLETED"
        step["status"] = "COMPLETED"
        if self.job_result in ("error", "error_changed"):
            job["operationResponse"] = {"status": "error", "messages": [_STORE_FAILED], "code": 500, "detail": None}
            if self.job_result == "error":
                return
        else:
            job["operationResponse"] = {"status": "success"}
        self.mode = job["siteMode"]
        self.allow_editing = job["allowEditingViaServices"]
        self.last_modified = int(time.time() * 1000)

    def state(self):
        with self.lock:
            self._settle()
            running = [j["jobid"] for j in self.jobs.values()
                       if j["status"] in ("SUBMITTED", "EXECUTING", "CANCELLING")]
            return {"mode": self.mode, "allow_editing_via_services": self.allow_editing, "updates": self.updates,
                    "tokens_issued": len(self.tokens), "running_jobs": running}

    def issue_token(self, lifetime=None, referer=None):
        """A valid token, as an administrator would hand one to the module."""
        with self.lock:
            value = secrets.token_urlsafe(32)
            self.tokens[value] = {"expires": time.time() + (lifetime or self.token_lifetime), "referer": referer,
                                  "uses": self.token_uses}
            return value

    # -- answers -----------------------------------------------------------------------------
    def error(self, status, message):
        return Response.json({"status": "error", "messages": [message], "code": status},
                             status=status if self.error_status else 200)

    def injected_status(self, status):
        # A real HTTP status, as a web adaptor, proxy or the servlet container answers it.
        return Response.text("<html><body><h1>HTTP Status %d</h1></body></html>" % status, status=status,
                             content_type="text/html")

    @staticmethod
    def _token_error(code, message, details=()):
        return Response.json({"error": {"code": code, "message": message, "details": list(details)}})

    def handle(self, request):
        if self.redirect_to:
            return Response.text("", status=301, headers={"Location": self.redirect_to.rstrip("/") + request.path})
        params = request.params
        fmt = params.get("f", "html")
        if request.path == PORTAL_PATH:
            if not self.portal:
                return Response.text("Not found", status=404)
            return self._generate_token(request, params, fmt, portal=True)
        # Outside the admin root, open to anyone (Server Info) or taking credentials (the token
        # service): a Web Adaptor with administration off still passes them.
        if request.path.rstrip("/") == self.site_path + "/rest/info":
            if fmt not in ("json", "pjson"):
                return Response.text(_REST_HTML % "Server Info", content_type="text/html")
            return Response.json(self._server_info())
        if request.path.rstrip("/") == self.site_path + "/tokens/generateToken":
            return self._generate_token(request, params, fmt, portal=False)
        if not (request.path == self.root or request.path.startswith(self.root + "/")):
            return Response.text("Not found", status=404)
        path = request.path[len(self.root):].rstrip("/")
        if self.web_adaptor_admin_off:
            return Response.text(_ADMIN_OFF, content_type="text/html")
        if path == "/generateToken":
            # The primary site administrator's name and password work here on a federated site too.
            return self._generate_token(request, params, fmt, portal=False)
        if fmt not in ("json", "pjson"):
            return Response.text(_HTML % (path or "Home"), content_type="text/html")
        refusal = self._check_token(request, params)
        if refusal is not None:
            return refusal
        self._settle()
        if path == "/mode":
            return Response.json(self._mode_document())
        if path == "/mode/update":
            if request.method != "POST":
                return self.error(405, "Method not supported. Use POST.")
            return self._update(params)
        if path.startswith("/system/jobs/"):
            job = None if self.job_missing else self.jobs.get(path[len("/system/jobs/"):])
            if job is None:
                return self.error(404, "Job '%s' does not exist." % path[len("/system/jobs/"):])
            hidden = ("starts", "ends", "siteMode", "allowEditingViaServices")
            return Response.json({k: v for k, v in job.items() if k not in hidden})
        if path == "":
            # The "Site" page's JSON view (isServerLicensed a string, as in its example): the resources a
            # client may go on to, the version.
            return Response.json({"isServerLicensed": "true", "resources": list(ADMIN_RESOURCES),
                                  "currentVersion": CURRENT_VERSION, "fullVersion": FULL_VERSION,
                                  "acceptLanguage": request.headers.get("accept-language")})
        return self.error(404, "Resource '%s' does not exist." % path)

    def _generate_token(self, request, params, fmt, portal):
        if request.method != "POST":
            return self._token_error(405, "Method not supported.", ["generateToken requires a POST request."])
        if "username" in request.query_params or "password" in request.query_params:
            return self._token_error(400, "Unable to generate token.", [_CREDENTIALS_IN_QUERY])
        if fmt not in ("json", "pjson"):
            return Response.text(_HTML % "Generate Token", content_type="text/html")
        if params.get("username") != self.username or params.get("password") != self.password:
            return self._token_error(400, "Unable to generate token.", ["Invalid username or password."])
        client = params.get("client", "requestip")
        if client not in ("referer", "ip", "requestip"):
            return self._token_error(400, "Unable to generate token.", ["Invalid client type '%s'." % client])
        if self.portal and client != "referer":
            return self._token_error(400, "Unable to generate token.",
                                     ["Client type '%s' is not supported on a server federated with a portal. "
                                      "Use 'referer'." % client])
        if client == "referer" and not params.get("referer"):
            return self._token_error(400, "Unable to generate token.", ["'referer' must be specified."])
        minutes = float(params.get("expiration") or 60)
        lifetime = min(minutes * 60, self.token_lifetime)
        value = self.issue_token(lifetime, params.get("referer") if client == "referer" else None)
        expires = int((time.time() + lifetime) * 1000)
        answer = {"token": value, "expires": str(expires) if self.expires_as_string else expires}
        if portal:
            answer["ssl"] = True
        return Response.json(answer)

    def _server_info(self):
        # Esri's "Server Info" page: the token service and the life of a short-lived token (in
        # minutes) are sent only when the server is token-secured, which the emulator always is.
        services = self.site_url + "/services"
        info = {
            "currentVersion": CURRENT_VERSION,
            "fullVersion": FULL_VERSION,
            "soapUrl": services,
            "secureSoapUrl": services if self.tls else None,
            "authInfo": {
                "isTokenBasedSecurity": True,
                "tokenServicesUrl": self.token_services_url,
                "shortLivedTokenValidity": max(1, int(self.token_lifetime // 60)),
            },
        }
        if self.portal:
            info["owningSystemUrl"] = self.origin + PORTAL_ROOT
        return info

    def _check_token(self, request, params):
        value = params.get("token")
        bearer = request.headers.get("x-esri-authorization", "")
        if not value and bearer.lower().startswith("bearer "):
            value = bearer[len("bearer "):].strip()
        if not value:
            return self.error(499, "Unauthorized access. Token not found. "
                                   "You can generate a token using the 'generateToken' operation.")
        token = self.tokens.get(value)
        if token is None:
            return self.error(498, "Invalid token.")
        if token["referer"] is not None and request.headers.get("referer") != token["referer"]:
            return self.error(498, "Invalid token.")
        if time.time() >= token["expires"] or token["uses"] == 0:
            return self.error(498, "Token Expired.")
        if token["uses"] is not None:
            token["uses"] -= 1
        return None

    def _mode_document(self):
        document = {"siteMode": self.mode, "copyConfigLocal": True, "lastModified": self.last_modified}
        if self.report_allow_editing:
            document["allowEditingViaServices"] = self.allow_editing
        return document

    def _update(self, params):
        site_mode = params.get("siteMode", "")
        if site_mode not in SITE_MODES:
            return self.error(400, "Invalid value '%s' for parameter 'siteMode'. "
                                   "Expected READ_ONLY or EDITABLE." % site_mode)
        if self.update_forbidden:
            return self.error(403, "User does not have permissions to access 'mode/update'.")
        if any(job["status"] in ("SUBMITTED", "EXECUTING", "CANCELLING") for job in self.jobs.values()):
            return self.error(500, "Another site mode update is already in progress.")
        self.updates += 1
        now, seconds = time.monotonic(), self.switch_seconds[site_mode]
        job = {
            "jobid": "j%d%s" % (next(self._job_ids), secrets.token_hex(4)),
            "operation": "updateSiteMode",
            "status": "SUBMITTED",
            "totalsteps": 1,
            "currentstep": 0,
            "stepInfo": [{"status": "SUBMITTED", "messages": []}],
            "messages": [],
            "siteMode": site_mode,
            "allowEditingViaServices": _bool(params.get("allowEditingViaServices"), True),
            "starts": now + seconds / 10,
            "ends": now + seconds,
        }
        self.jobs[job["jobid"]] = job
        if _bool(params.get("runAsync"), False):
            self._settle()
            answer = {"status": "success", "jobid": job["jobid"]} if self.async_jobid else {"status": "success"}
            return Response.json(answer)
        # Synchronous: the answer comes once the switch has ended and carries its outcome; the
        # job settles on its own clock like an asynchronous one.
        if self.job_result == "failed":
            response = self.error(500, _SERVICE_FAILED)
        elif self.job_result == "error":
            response = self.error(500, _STORE_FAILED)
        else:
            response = Response.json({"status": "success"})
        response.delay = self.switch_seconds[site_mode]
        return response
