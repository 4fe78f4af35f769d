# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Command line of the emulators: `python3 tests/emulators/serve.py {ucs,arcgis} [switches]`."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .arcgis import JOB_RESULTS, SITE_MODES, ArcgisEmulator
from .ucs import ERROR_BODIES, MODE_CASES, MODES, SAME_MODE_ANSWERS, SERVERS, WRITE_ANSWERS, UcsEmulator


def _parser():
    parser = argparse.ArgumentParser(prog="serve.py",
                                     description="Emulators of the UCS and ArcGIS Server mode APIs, on loopback.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    common.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default), printed at start")
    common.add_argument("--tls", action="store_true",
                        help="serve HTTPS with the self-signed certificate in certs/ (or --cert/--key)")
    common.add_argument("--cert", help="PEM certificate for --tls")
    common.add_argument("--key", help="PEM key for --tls")
    common.add_argument("--fault", action="append", default=[], metavar="SPEC",
                        help="KIND[=SECONDS][:COUNT[:METHOD[:PATH]]]; KIND is an HTTP status, drop, drop_after, "
                             "slow (answered SECONDS late, default 5), hold (answered once POST "
                             "/_emulator/release lets it go, SECONDS at most, default 600), trickle (answered one "
                             "byte every SECONDS, default 1), not_json or api_error; PATH a regular expression "
                             "searched for in the "
                             "request path (repeatable)")
    common.add_argument("--log-file", help="append every request as a JSON line to this file")
    common.add_argument("--ready-file", help="write {\"url\": ..., \"port\": ...} here once listening")
    common.add_argument("--verbose", action="store_true", help="log each request to stderr")
    sub = parser.add_subparsers(dest="server", required=True)

    ucs = sub.add_parser("ucs", parents=[common], help="Genesys UCS Context Services")
    ucs.add_argument("--base-path", default="", help="cview/base_url prefix, e.g. /genesys/1/cs")
    ucs.add_argument("--username", help="turn basic auth on with this user (needs --password)")
    ucs.add_argument("--password", help="password for basic auth")
    ucs.add_argument("--switch-seconds", type=float, default=1.0,
                     help="how long a switch lasts (503 meanwhile; default 1)")
    ucs.add_argument("--post-blocks", action="store_true", help="the mode POST answers only when the switch has ended")
    ucs.add_argument("--initial-mode", choices=MODES, default="production")
    ucs.add_argument("--mode-case", choices=MODE_CASES, default="lower", help="letter case of the reported mode")
    ucs.add_argument("--error-body", choices=ERROR_BODIES, default="text")
    ucs.add_argument("--same-mode", choices=SAME_MODE_ANSWERS, default="error",
                     help="answer to a POST of the current mode")
    ucs.add_argument("--switching-to", choices=MODES,
                     help="a switch toward this mode is under way at start (for --switch-seconds); "
                     "POST /_emulator/switch {\"mode\": ..., \"seconds\": ...} starts one at run time")
    ucs.add_argument("--write-answer", choices=WRITE_ANSWERS, default="json",
                     help="what answers a write: the API, a single sign-on page after (html) or instead of (html_only) "
                     "the write, or a redirect")
    ucs.add_argument("--write-forbidden", action="store_true",
                     help="role-based access: the write gets 403, reading works")
    ucs.add_argument("--no-profile-schema", action="store_true",
                     help="a write to production answers 404 and leaves maintenance on")
    ucs.add_argument("--server", choices=SERVERS, default="ucs",
                     help="what the URL reaches: UCS, or GMS answering 404 or its own JSON")
    ucs.add_argument("--version", default="8.5.000.21", help="the status document's version (may be empty)")

    arcgis = sub.add_parser("arcgis", parents=[common], help="ArcGIS Server Administrator API")
    arcgis.add_argument("--root", default="/arcgis/admin", help="admin root path (default /arcgis/admin)")
    arcgis.add_argument("--username", default="admin")
    arcgis.add_argument("--password", default="admin")
    arcgis.add_argument("--initial-mode", choices=SITE_MODES, default="EDITABLE")
    arcgis.add_argument("--token-lifetime", type=float, default=3600, help="longest token life in seconds")
    arcgis.add_argument("--token-uses", type=int, help="a token expires after this many uses")
    arcgis.add_argument("--expires-as-string", action="store_true", help="'expires' as a string in token answers")
    arcgis.add_argument("--no-jobid", dest="async_jobid", action="store_false", help="runAsync answers without a jobid")
    arcgis.add_argument("--read-only-seconds", type=float, default=1.0, help="length of a switch to READ_ONLY")
    arcgis.add_argument("--editable-seconds", type=float, default=0.2, help="length of a switch to EDITABLE")
    arcgis.add_argument("--job-result", choices=JOB_RESULTS, default="success")
    arcgis.add_argument("--report-allow-editing", action="store_true",
                        help="report allowEditingViaServices in the mode")
    arcgis.add_argument("--portal", action="store_true",
                        help="federated: tokens also from /portal/sharing/rest/generateToken; IP-bound tokens refused")
    arcgis.add_argument("--error-status", action="store_true",
                        help="errors with their real HTTP status instead of inside HTTP 200")
    arcgis.add_argument("--job-missing", action="store_true",
                        help="job records cannot be found (purged, or on another machine)")
    arcgis.add_argument("--web-adaptor-admin-off", action="store_true",
                        help="admin paths answer an HTML page, as through a Web Adaptor")
    arcgis.add_argument("--redirect-to", metavar="ORIGIN", help="answer every request with a 301 to this origin")
    arcgis.add_argument("--update-forbidden", action="store_true", help="the user may read the mode but not update it")
    return parser


def build(argv):
    """The emulator the command line describes, not yet started."""
    args = vars(_parser().parse_args(argv))
    server = args.pop("server")
    ready_file = args.pop("ready_file")
    args["certfile"] = args.pop("cert")
    args["keyfile"] = args.pop("key")
    args["faults"] = args.pop("fault")
    emulator = UcsEmulator(**args) if server == "ucs" else ArcgisEmulator(**args)
    return emulator, ready_file


def main(argv=None):
    emulator, ready_file = build(sys.argv[1:] if argv is None else argv)
    emulator.start()
    announcement = {"server": emulator.name, "url": emulator.url, "port": emulator.port}
    if emulator.name == "arcgis" and emulator.portal:
        announcement["token_url"] = emulator.portal_token_url
    print(json.dumps(announcement), flush=True)
    if ready_file:
        with open(ready_file, "w", encoding="utf-8") as stream:
            json.dump(announcement, stream)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    emulator.stop()
    return 0
