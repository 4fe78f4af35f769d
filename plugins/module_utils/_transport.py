# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""The HTTP layer both API clients stand on: one keep-alive session per module run (in the
role's engine, per server and task), TLS verification unless the user turns it off, a total
deadline for every request, retries with backoff inside the caller's deadline, and one error type
that never carries a secret."""

from __future__ import annotations

import os
import re
import time
import traceback
from urllib.parse import urlsplit, urlunsplit

from ansible_collections.opsmodes.maintenance.plugins.module_utils._deadline import Deadline, DeadlineAdapter

REQUESTS_IMPORT_ERROR = None
try:
    import requests
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REQUESTS = True

# Gateways and servers that are restarting or draining answer these; they are worth a retry.
RETRY_STATUSES = frozenset((502, 503, 504))
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 4.0
EXCERPT_LENGTH = 300
# What OpenSSL says when the other end answers TLS's hello in plain HTTP.
_PLAIN_HTTP = re.compile(r"wrong version number|record layer failure|unknown protocol|packet length too long"
                         r"|http request", re.IGNORECASE)
USER_AGENT = "opsmodes.maintenance (Ansible collection)"


def public_url(url):
    """The URL as it may appear in a message: no user information, no query string."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def validate_url(url, option="url"):
    """A clear error for a URL the module could not use, before any request is sent."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError("%s must be an http:// or https:// URL with a host name, got %r"
                       % (option, public_url(url or "")))
    if parts.username or parts.password:
        raise ApiError("%s must not carry credentials; use the username and password options" % option)
    if parts.query or parts.fragment:
        raise ApiError("%s must not have a query string or fragment: %s" % (option, public_url(url)))
    try:
        parts.port  # pylint: disable=pointless-statement
    except ValueError:
        raise ApiError("%s has an invalid port: %s" % (option, public_url(url)))
    return url.rstrip("/")


class ApiError(Exception):
    """A request that did not give what was asked. `status` is the HTTP status or None when no
    answer came; `reason` says which: `http`, `timeout`, `connection`, `tls`, `not_json`, `api`
    (an error inside a 200 answer) or `input`."""

    def __init__(self, message, url=None, status=None, reason="input", excerpt=None, code=None):
        super().__init__(message)
        self.message = message
        self.url = url
        self.status = status
        self.reason = reason
        self.excerpt = excerpt
        self.code = code

    def __str__(self):
        return self.message


def transient(error):
    """Whether an ApiError met while waiting for a switch may pass: the server is busy switching
    (5xx, also inside an ArcGIS answer), behind a proxy's error page, or briefly out of reach. Once
    a write was sent, giving up on one of these would leave the operator guessing."""
    return ((error.status or 0) >= 500
            or (error.reason == "api" and isinstance(error.code, int) and error.code >= 500)
            or error.reason in ("timeout", "connection", "not_json"))


class HttpSession:
    """One requests session for one module run, or in the role's engine for one server and task.

    `secrets` are strings (passwords, tokens) that are cut out of every excerpt of a server's
    answer before it can reach a message: a server that echoes a request must not leak it.
    """

    def __init__(self, validate_certs=True, ca_path=None, timeout=30, retries=3, secrets=None):
        self.timeout = timeout
        self.retries = retries
        # Kept by reference: the caller may share a set that others add to.
        self.secrets = set() if secrets is None else secrets
        # Given with every request rather than set on the session: requests lets an environment CA
        # bundle (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE) override a session's verify=False.
        self.verify = ca_path if ca_path else validate_certs
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"
        # Proxies and CA bundles from the environment apply; a user's ~/.netrc must not add
        # credentials of its own to a request the user did not ask to authenticate.
        self.session.trust_env = True
        self.session.auth = _NoNetrc()
        adapter = DeadlineAdapter()
        for prefix in ("http://", "https://"):
            self.session.mount(prefix, adapter)

    def drop_connections(self):
        """Close the kept-alive connections; the next request opens its own."""
        self.session.close()

    def add_secret(self, value):
        if value:
            self.secrets.add(value)

    def scrub(self, text):
        # A copy: the set is shared with the task's other servers, whose threads may add a token meanwhile.
        for secret in tuple(self.secrets):
            if not secret:
                continue
            text = text.replace(secret, "********")
        return text

    def excerpt(self, text):
        text = self.scrub(re.sub(r"\s+", " ", text or "").strip())
        return text if len(text) <= EXCERPT_LENGTH else text[:EXCERPT_LENGTH] + "..."

    def request(self, method, url, deadline=None, retry=True, **kwargs):
        """Send one request, retrying connection failures and 502/503/504 with backoff while
        `retry` allows, at most `self.retries` times and never past `deadline` (a
        time.monotonic() value). Returns the response whatever its status; raises ApiError when
        no answer came."""
        attempt = 0
        while True:
            try:
                response = self._send(method, url, **kwargs)
            except ApiError as error:
                if error.reason == "tls" or not self._wait_before_retry(retry, attempt, deadline):
                    raise
            else:
                if 300 <= response.status_code < 400:
                    raise redirected(method, url, response)
                if response.status_code not in RETRY_STATUSES or not self._wait_before_retry(retry, attempt, deadline):
                    return response
            attempt += 1

    def _send(self, method, url, **kwargs):
        # Redirects are never followed: requests would turn a redirected POST into a GET, and a
        # redirect to a login page would carry the credentials there.
        try:
            with Deadline(self.timeout):
                return self.session.request(method, url, timeout=self.timeout, verify=self.verify,
                                            allow_redirects=False, **kwargs)
        except requests.exceptions.SSLError as exc:
            if _PLAIN_HTTP.search(str(exc)):
                raise ApiError(
                    "The server at %s answered in plain HTTP, not TLS: use an http:// URL, or the port where the "
                    "server speaks HTTPS (%s)"
                    % (public_url(url), _short(exc)), url=public_url(url), reason="tls") from exc
            raise ApiError(
                "TLS certificate verification failed for %s: %s. Give the CA that signed the server's "
                "certificate with ca_path, or set validate_certs to false if you accept an unverified connection."
                % (public_url(url), _short(exc)), url=public_url(url), reason="tls") from exc
        except requests.exceptions.Timeout as exc:
            raise ApiError("%s %s: no complete answer came within the timeout of %g s"
                           % (method, public_url(url), self.timeout), url=public_url(url), reason="timeout") from exc
        except requests.exceptions.ConnectionError as exc:
            raise ApiError("%s %s failed to connect: %s" % (method, public_url(url), _short(exc)),
                           url=public_url(url), reason="connection") from exc
        except requests.exceptions.RequestException as exc:
            # An answer that broke off half way (ChunkedEncodingError and the like): the
            # connection failed, whatever the server meant to say.
            raise ApiError("%s %s: the answer broke off: %s" % (method, public_url(url), _short(exc)),
                           url=public_url(url), reason="connection") from exc

    def _wait_before_retry(self, retry, attempt, deadline):
        if not retry or attempt >= self.retries:
            return False
        pause = min(BACKOFF_FIRST * (2 ** attempt), BACKOFF_MAX)
        if deadline is not None:
            if time.monotonic() + pause >= deadline:
                return False
        time.sleep(pause)
        return True

    def http_error(self, response, what):
        """ApiError for an HTTP error answer, with the status and the server's own words."""
        detail = self.describe_body(response)
        return ApiError("%s: HTTP %s from %s%s"
                        % (what, response.status_code, public_url(response.url), ": " + detail if detail else ""),
                        url=public_url(response.url), status=response.status_code, reason="http", excerpt=detail)

    def describe_body(self, response):
        """The server's description of an answer: a message field of a JSON body, or an excerpt
        of a text one."""
        try:
            document = response.json()
        except ValueError:
            return self.excerpt(response.text)
        if isinstance(document, dict):
            for key in ("message", "error", "description", "detail", "messages"):
                value = document.get(key)
                if isinstance(value, list):
                    value = "; ".join(str(v) for v in value)
                if isinstance(value, dict):
                    value = value.get("message")
                if value:
                    return self.excerpt(str(value))
        return self.excerpt(response.text)

    def json(self, response, what):
        """The JSON object of a successful answer, or ApiError saying why there is none."""
        if response.status_code >= 400:
            raise self.http_error(response, what)
        try:
            document = response.json()
        except ValueError:
            content_type = response.headers.get("Content-Type", "unknown")
            excerpt = self.excerpt(response.text)
            raise ApiError("%s: the answer from %s is not JSON (HTTP %s, %s): %s"
                           % (what, public_url(response.url), response.status_code, content_type, excerpt),
                           url=public_url(response.url), status=response.status_code, reason="not_json",
                           excerpt=excerpt)
        if not isinstance(document, dict):
            raise ApiError("%s: the answer from %s is JSON but not an object: %s"
                           % (what, public_url(response.url), self.excerpt(response.text)),
                           url=public_url(response.url), status=response.status_code, reason="not_json")
        return document


def redirected(method, url, response):
    """ApiError for a redirect, which is never followed: it names where it pointed (without a
    query string, which may carry a single sign-on ticket)."""
    location = response.headers.get("Location") or "(no Location header)"
    if location.startswith("/"):
        parts = urlsplit(url)
        location = "%s://%s%s" % (parts.scheme, parts.netloc, location)
    message = ("%s %s was redirected (HTTP %s) to %s, and redirects are never followed: the URL leads to a login page, "
               "a proxy or another scheme or port. Give the API's own URL."
               % (method, public_url(url), response.status_code, public_url(location)))
    return ApiError(message, url=public_url(url), status=response.status_code, reason="redirect")


def check_ca_path(ca_path):
    """A clear error, before any request, for a CA file that is not there or cannot be read."""
    if ca_path and not (os.path.isfile(ca_path) and os.access(ca_path, os.R_OK)):
        raise ApiError("ca_path %s %s" % (ca_path, "cannot be read" if os.path.exists(ca_path) else "does not exist"))


class _NoNetrc:
    """requests reads ~/.netrc when a request has no auth of its own; this auth object stops that
    and adds nothing."""

    def __call__(self, request):
        return request


def _short(exc):
    """The last line of a requests/urllib3 exception, which names the cause without the nesting."""
    text = str(exc)
    match = re.search(r"\(Caused by [A-Za-z]+\((.*)\)\)", text)
    if match:
        text = match.group(1)
    return re.sub(r"<urllib3\.[^>]*>: ", "", text).strip("'\" ")[:200]
