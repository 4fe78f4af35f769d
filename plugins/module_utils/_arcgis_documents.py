# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""What the ArcGIS Server Administrator API's documents say, read in one place (_arcgis.py sends
the requests): the site mode, the editing flag, a job's words, and an error inside an answer."""

from __future__ import annotations

from ansible_collections.opsmodes.maintenance.plugins.module_utils._transport import ApiError

# The module's names for the modes and the API's.
SITE_MODES = {"read_only": "READ_ONLY", "editable": "EDITABLE"}
JOB_FAILED_STATES = ("FAILED", "CANCELLED", "CANCELED", "TIMED_OUT")
# The other documented job statuses (SUBMITTED, EXECUTING, CANCELLING) mean: still running.


def mode_of(document):
    """The module's name for the mode in a mode document; ApiError rather than a guess."""
    site_mode = str(document.get("siteMode", "")).upper()
    for mode, api_mode in SITE_MODES.items():
        if site_mode == api_mode:
            return mode
    raise ApiError("The ArcGIS mode document has no recognised siteMode (expected READ_ONLY or EDITABLE): siteMode=%r"
                   % (document.get("siteMode"),), reason="api")


def allow_editing_of(document):
    """`allowEditingViaServices` as a bool, or None where the server does not report it."""
    value = document.get("allowEditingViaServices")
    if value is None:
        return None
    return value if isinstance(value, bool) else str(value).lower() == "true"


def differs(document, mode, allow_editing_via_services):
    if mode_of(document) != mode:
        return True
    reported = allow_editing_of(document)
    return allow_editing_via_services is not None and reported is not None and reported != allow_editing_via_services


def messages_of(document):
    messages = document.get("messages") or []
    if isinstance(messages, str):
        messages = [messages]
    return "; ".join(str(m) for m in messages)


def job_messages(document):
    """A job's own words: its messages, each step's and the operation response's, which is where
    the reason a job failed is documented to be."""
    messages = [messages_of(document)]
    messages += [messages_of(step) for step in document.get("stepInfo") or [] if isinstance(step, dict)]
    response = document.get("operationResponse")
    if isinstance(response, dict):
        messages.append(messages_of(response))
    return "; ".join(dict.fromkeys(m for m in messages if m))


def api_error(document):
    """(code, message) for an error inside an answer, in either of the API's shapes:
    `{"status": "error", "messages": [...], "code": N}` (admin) or
    `{"error": {"code": N, "message": ..., "details": [...]}}` (token and sharing endpoints)."""
    if str(document.get("status", "")).lower() == "error":
        code = code_of(document.get("code"))
        suffix = " (code %s)" % code if code is not None else ""
        return code, "%s%s" % (messages_of(document) or "error without a message", suffix)
    error = document.get("error")
    if isinstance(error, dict):
        code = code_of(error.get("code"))
        details = "; ".join(str(d) for d in error.get("details") or [] if d)
        message = error.get("message") or "error without a message"
        suffix = " (code %s)" % code if code is not None else ""
        return code, "%s%s%s" % (message, ": " + details if details else "", suffix)
    return None


def number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def code_of(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return value
