# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""The ArcGIS Server Administrator API's site mode, spoken in one place: tokens, `{url}/mode`,
`{url}/mode/update` and `{url}/system/jobs/<id>`."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from ansible.module_utils.basic import env_fallback

from ansible_collections.opsmodes.maintenance.plugins.module_utils._arcgis_documents import (
    JOB_FAILED_STATES,
    SITE_MODES,
    allow_editing_of,
    api_error,
    differs,
    job_messages,
    mode_of,
    number,
)
from ansible_collections.opsmodes.maintenance.plugins.module_utils._base import PENDING, ApiSpec, ModeService
from ansible_collections.opsmodes.maintenance.plugins.module_utils._poll import Poll
from ansible_collections.opsmodes.maintenance.plugins.module_utils._transport import (
    ApiError,
    validate_url,
)

INVALID_TOKEN = 498
# A token is asked for this long; one that expires mid-run is renewed once on a 498.
TOKEN_MINUTES = 60
# Renew a little before the server's own expiry rather than have a request refused.
TOKEN_MARGIN_SECONDS = 30


class JobEndedBadly(ApiError):
    """A site mode job that ended FAILED or CANCELLED, or COMPLETED with an error."""


class ArcgisClient(ModeService):
    """Every request is a POST with `f=json` and the token in the form body, never in a URL:
    the Administrator API's rule for POSTs, and no token ends up in a proxy or access log."""

    document_key = "site_mode"

    def __init__(self, http, url, token=None, username=None, password=None, token_url=None, referer=None,
                 allow_editing_via_services=None):
        self.http = http
        self.allow_editing_via_services = allow_editing_via_services
        self.url = validate_url(url)
        self.token_url = validate_url(token_url, "token_url") if token_url else self.url + "/generateToken"
        self.username = username
        self.password = password
        # Referer-bound tokens, as every tool Esri ships asks for: an IP-bound token is not
        # supported on a site federated with a portal. The default referer is the site's origin.
        self.referer = referer or origin(self.url)
        self.headers = {"Referer": self.referer}
        self._token = token
        self._token_expires = None
        self._token_generated = False

    # -- tokens ------------------------------------------------------------------------------
    def token(self):
        if self._token is None or (self._token_generated and self._token_expires is not None
                                   and time.time() >= self._token_expires - TOKEN_MARGIN_SECONDS):
            self._generate_token()
        return self._token

    def _generate_token(self):
        what = "Generating a token at %s for user '%s'" % (self.token_url, self.username)
        form = {"username": self.username, "password": self.password, "expiration": TOKEN_MINUTES, "f": "json",
                "client": "referer", "referer": self.referer}
        response = self.http.request("POST", self.token_url, data=form, headers=self.headers)
        document = self._document(response, what)
        error = api_error(document)
        if error is not None:
            code, message = error
            # Codes below 500 (400 "Unable to generate token", 498, 499) are a refused login.
            refused = not isinstance(code, int) or code < 500
            raise ApiError("%s: %s%s" % (what, "authentication failed: " if refused else "", self.http.scrub(message)),
                           url=self.token_url, reason="api", code=code)
        token = document.get("token")
        if not isinstance(token, str) or not token:
            raise ApiError("%s: the answer carries no token" % what, url=self.token_url, reason="api")
        self.http.add_secret(token)
        self._token = token
        self._token_generated = True
        try:
            expires = float(document.get("expires")) / 1000.0
        except (TypeError, ValueError):
            expires = None
        # An expiry already within the margin says more about the two clocks than about the
        # token: trust the server's 498 instead of asking for a new token before every call.
        self._token_expires = expires if expires is not None and expires - TOKEN_MARGIN_SECONDS > time.time() else None

    # -- requests ----------------------------------------------------------------------------
    def call(self, path, what, form=None, retry=True):
        """POST to `{url}{path}` and return the answer's JSON object. Errors inside an HTTP 200
        answer are raised like HTTP errors. An expired or invalid generated token is renewed
        once; a token the user gave is not, since nothing could renew it."""
        renewed = False
        while True:
            body = dict(form or {}, f="json", token=self.token())
            response = self.http.request("POST", self.url + path, data=body, headers=self.headers, retry=retry)
            document = self._document(response, what)
            error = api_error(document)
            if error is None:
                return document
            code, message = error
            if code == INVALID_TOKEN and self._token_generated and not renewed:
                renewed = True
                self._token = None
                continue
            if code == INVALID_TOKEN and not self._token_generated:
                message += " (the token given was refused; give a valid token, or username and password)"
            raise ApiError("%s: %s" % (what, self.http.scrub(message)), url=self.url + path, reason="api", code=code)

    def _document(self, response, what):
        """The JSON object of an answer. An error with its real HTTP status (498, 499, 403, 500, as
        some versions, proxies and Web Adaptors send it) carries the same JSON body as one inside
        an HTTP 200, and is returned for the caller to read the same way."""
        if response.status_code >= 400:
            try:
                document = response.json()
            except ValueError:
                document = None
            if isinstance(document, dict) and api_error(document) is not None:
                return document
        try:
            return self.http.json(response, what)
        except ApiError as exc:
            if exc.reason == "not_json" and "html" in str(exc).lower():
                raise ApiError("%s. An HTML page answered instead of the Administrator API: administration through "
                               "the ArcGIS Web Adaptor is off by default; give the server's own admin URL, such as "
                               "https://%s:6443/arcgis/admin"
                               % (str(exc).rstrip(". "), urlsplit(self.url).hostname), url=exc.url, status=exc.status,
                               reason="not_json", excerpt=exc.excerpt) from exc
            raise

    def site_mode(self, retry=True):
        """The mode document (`siteMode`, `copyConfigLocal`, `lastModified`, ...)."""
        document = self.call("/mode", "Reading the ArcGIS site mode", retry=retry)
        mode_of(document)
        return document

    # -- ModeService ---------------------------------------------------------------------------
    def read(self, deadline):
        return self.site_mode()

    def mode_of(self, document):
        return mode_of(document)

    def differs(self, document, wanted):
        return differs(document, wanted, self.allow_editing_via_services)

    def diff(self, document, wanted):
        """Before and after: the mode, and the editing flag where it is asked for and reported."""
        before, after = {"mode": mode_of(document)}, {"mode": wanted}
        reported = allow_editing_of(document)
        if self.allow_editing_via_services is not None and reported is not None:
            before["allow_editing_via_services"] = reported
            after["allow_editing_via_services"] = self.allow_editing_via_services
        return {"before": before, "after": after}

    def write(self, wanted, deadline):
        accepted, jobid = self.update(wanted, self.allow_editing_via_services)
        return jobid if accepted else PENDING

    def settle(self, handle, deadline):
        """The site mode does not show an update under way, so an interrupted run's update is let
        end before the mode is read: its job is followed to its end, whatever that was. `handle`
        is {"job": the job id}, or, when the run sent an update and never got the answer (or got
        none with a job id), {"sent": epoch seconds, "until": epoch seconds}: then the site is
        watched until it records a change made after `sent` (lastModified), or until `until`, when
        that update would have ended anyway."""
        # How that update ended does not matter here (the mode read next decides), but that it
        # ended does: a job still running may yet switch the site after this run's read. An error
        # reaching the job (a refused login, a 403) is this run's own and ends it here, before
        # the read would meet it again.
        if not handle.get("job"):
            since = float(handle["sent"]) * 1000
            until = min(deadline, time.monotonic() + float(handle["until"]) - time.time())
            Poll(lambda: self.site_mode(retry=False),
                 lambda document: number(document.get("lastModified")) >= since).run(until)
            return
        try:
            self.wait_for_job(handle["job"], deadline)
        except JobEndedBadly:
            pass
        except ApiError as exc:
            if exc.reason == "timeout":
                raise ApiError("The ArcGIS site mode job %s of an earlier switch is still running, so the site may "
                               "yet change mode: nothing was read or written; run again once it has ended"
                               % handle["job"], reason="timeout")
            raise

    def wait(self, wanted, handle, deadline):
        if handle is not PENDING and handle:
            self.wait_for_job(handle, deadline)
        return self.wait_for_mode(wanted, self.allow_editing_via_services, deadline)

    def update(self, mode, allow_editing_via_services=None):
        """Ask for `mode` asynchronously. Returns (accepted, jobid): the job id is None when the
        server answers without one (both occur); accepted is False when no answer came in time,
        and the write is not sent again: the site mode decides. ApiError when the server refuses."""
        form = {"siteMode": SITE_MODES[mode], "runAsync": "true"}
        if allow_editing_via_services is not None:
            form["allowEditingViaServices"] = "true" if allow_editing_via_services else "false"
        try:
            document = self.call("/mode/update", "Updating the ArcGIS site mode to %s" % SITE_MODES[mode], form,
                                 retry=False)
        except ApiError as exc:
            if exc.reason in ("timeout", "connection"):
                return False, None
            if exc.code == 403 or exc.status == 403:
                raise ApiError("%s. Updating the site mode needs the default administrator role; reading it needs any "
                               "administrative privilege, which this user has" % str(exc).rstrip(". "),
                               url=exc.url, status=exc.status, reason=exc.reason, code=exc.code) from exc
            raise
        return True, document.get("jobid")

    def wait_for_job(self, jobid, deadline):
        """Follow the job until it ends. A FAILED job, or a COMPLETED one whose operation
        response is an error, raises JobEndedBadly with the job's messages."""
        what = "Following the ArcGIS site mode job %s" % jobid

        def ended(document):
            status = str(document.get("status", "")).upper()
            if status in JOB_FAILED_STATES:
                raise JobEndedBadly("%s: the job ended %s: %s"
                                    % (what, status, job_messages(document) or "no message"), reason="api")
            if status == "COMPLETED":
                error = api_error(document.get("operationResponse") or {})
                if error is not None:
                    raise JobEndedBadly("%s: the job completed with an error: %s"
                                        % (what, job_messages(document) or error[1]), reason="api", code=error[0])
                return True
            return False

        def read():
            try:
                return self.call("/system/jobs/" + jobid, what, retry=False)
            except ApiError as exc:
                # A job record can be purged, or kept on another machine of the site: the site
                # mode then decides.
                not_found = exc.code == 404 or "does not exist" in str(exc) or "not found" in str(exc).lower()
                if exc.status == 404 or exc.reason == "api" and not_found:
                    return {"status": "COMPLETED", "jobid": jobid, "missing": True}
                raise

        # The poll is the retry: no backoff of the transport's on top of it.
        poll = Poll(read, ended)
        if poll.run(deadline) is None:
            state = "it was still running" if poll.error is None else "the last answer was an error: %s" % poll.error
            raise ApiError("Timed out following the ArcGIS site mode job %s: %s" % (jobid, state), reason="timeout")

    def wait_for_mode(self, mode, allow_editing_via_services, deadline):
        """Poll the site mode until it reports `mode` (and the editing flag, where the server
        reports it). Returns the mode document; ApiError when time runs out."""
        poll = Poll(lambda: self.site_mode(retry=False),
                    lambda document: not differs(document, mode, allow_editing_via_services))
        document = poll.run(deadline)
        if document is None:
            raise ApiError("Timed out waiting for the ArcGIS site at %s to reach mode %s: %s" % (
                self.url, mode, "it still reports %s" % (mode_of(poll.last) if poll.last is not None else None)
                if poll.error is None else "the last answer was an error: %s" % poll.error), reason="timeout")
        return document


def origin(url):
    parts = urlsplit(url)
    return "%s://%s" % (parts.scheme, parts.netloc)


def _service(http, params):
    """The client for the module's options. Authentication is checked here rather than by the
    argument spec so that empty environment variables (as AWX credential injectors set them)
    count as not given."""
    token, username, password = (params[k] or None for k in ("token", "username", "password"))
    if token and (username or password):
        raise ApiError("Give either token, or username and password; not both.")
    if not token and not (username and password):
        raise ApiError("Authentication needed: give token, or username and password.")
    return ArcgisClient(http, params["url"], token=token, username=username, password=password,
                        token_url=params["token_url"], referer=params["referer"],
                        allow_editing_via_services=params["allow_editing_via_services"])


API = ApiSpec(
    name="arcgis",
    options=dict(
        url=dict(type="str", required=True, fallback=(env_fallback, ["ARCGIS_ADMIN_URL"])),
        mode=dict(type="str", required=True, choices=list(SITE_MODES)),
        allow_editing_via_services=dict(type="bool"),
        token=dict(type="str", no_log=True, fallback=(env_fallback, ["ARCGIS_TOKEN"])),
        username=dict(type="str", fallback=(env_fallback, ["ARCGIS_USERNAME"])),
        password=dict(type="str", no_log=True, fallback=(env_fallback, ["ARCGIS_PASSWORD"])),
        token_url=dict(type="str", no_log=False, fallback=(env_fallback, ["ARCGIS_TOKEN_URL"])),
        referer=dict(type="str", fallback=(env_fallback, ["ARCGIS_REFERER"])),
    ),
    env_prefix="ARCGIS",
    wait_timeout=600,
    service=_service,
)
