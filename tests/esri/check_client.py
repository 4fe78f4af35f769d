# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make test-esri`: Esri's own client, the ArcGIS API for Python (`arcgis` 2.4.4), against the
ArcGIS emulator, as Esri documents the client's use:

    server = Server(url="https://host:6443/arcgis/admin", username=..., password=...)
    server.mode.properties.siteMode
    server.mode.update_mode(site_mode=..., run_async=...)

For each variant below, the emulator runs as `tests/emulators/serve.py arcgis --tls` on 127.0.0.1
and a free port, in a child process. The client logs in the way it does for every ArcGIS Server
(the token service named by `{site}/rest/info`, then the admin root's resources), reads the mode,
switches to READ_ONLY synchronously and back to EDITABLE asynchronously; each step is checked
against the emulator's own state (`/_emulator/state`) and request log (`/_emulator/log`). TLS is
verified against the emulator's certificate, and a client without it must not reach the emulator.

Run it with a Python that has arcgis 2.4.4 (build/venv/esri, which `make test-esri` builds).
Standard library and arcgis only: it does not need the collection nor ansible.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import traceback
import urllib.request
from urllib.parse import parse_qsl, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
SERVE = os.path.join(os.path.dirname(HERE), "emulators", "serve.py")
CERT = os.path.join(os.path.dirname(HERE), "emulators", "certs", "emulator.crt")
USERNAME = "siteadmin"
PASSWORD = "esri-check-password"
# Long enough that the asynchronous switch is seen still running when the client returns.
EDITABLE_SECONDS = 2.0

# name, emulator switches, site path, where the client must have asked for its token
VARIANTS = (
    ("standalone", [], "/arcgis", "/arcgis/tokens/generateToken"),
    ("federated (--portal)", ["--portal"], "/arcgis", "/portal/sharing/rest/generateToken"),
    ("Web Adaptor root (--root /server/admin)", ["--root", "/server/admin"], "/server", "/server/tokens/generateToken"),
)


class Emulator:
    """`serve.py arcgis --tls` in a child process, and its control endpoints."""

    def __init__(self, switches):
        command = [sys.executable, SERVE, "arcgis", "--tls", "--host", "127.0.0.1", "--port", "0",
                   "--username", USERNAME, "--password", PASSWORD, "--read-only-seconds", "1",
                   "--editable-seconds", str(EDITABLE_SECONDS)] + switches
        # Stopped by stop(), not by a with block: the emulator outlives this constructor.
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # pylint: disable=R1732
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError("the emulator did not start: %s" % " ".join(command))
        announcement = json.loads(line)
        self.url = announcement["url"]
        split = urlsplit(self.url)
        self.origin = "%s://%s" % (split.scheme, split.netloc)
        self.context = ssl.create_default_context(cafile=CERT)

    def control(self, what):
        with urllib.request.urlopen(self.origin + "/_emulator/" + what, context=self.context, timeout=10) as answer:
            return json.load(answer)

    def state(self):
        return self.control("state")

    def log(self):
        return self.control("log")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def settled(emulator, mode, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = emulator.state()
        if state["mode"] == mode and not state["running_jobs"]:
            return state
        time.sleep(0.1)
    raise AssertionError("the emulator did not reach %s in %d s: %s" % (mode, seconds, emulator.state()))


def check(switches, site_path, token_path):
    from arcgis.gis.server import Server  # pylint: disable=import-outside-toplevel,import-error

    emulator = Emulator(switches)
    try:
        expect(urlsplit(emulator.url).path == site_path + "/admin", "admin root %s" % emulator.url)

        # Without the emulator's certificate, a verifying client must get nowhere: no request reaches it.
        try:
            Server(url=emulator.url, username=USERNAME, password=PASSWORD, verify_cert=True).mode.properties.siteMode
        except Exception:  # pylint: disable=broad-exception-caught
            pass
        else:
            raise AssertionError("the client read the mode without trusting the emulator's certificate")
        expect(emulator.log() == [], "a client without the certificate reached the emulator")

        # Log in, find the mode among the admin root's resources, read it.
        server = Server(url=emulator.url, username=USERNAME, password=PASSWORD, verify_cert=True, ca_bundles=CERT)
        expect("mode" in server.resources, "the admin root lists no mode: %s" % server.resources)
        expect(server.mode.properties.siteMode == "EDITABLE" == emulator.state()["mode"], "first read")

        # READ_ONLY, synchronously: done when the call returns.
        expect(server.mode.update_mode(site_mode="READ_ONLY", run_async=False) is True, "update_mode(READ_ONLY) failed")
        state = emulator.state()
        expect(state["mode"] == "READ_ONLY" and not state["running_jobs"] and state["updates"] == 1,
               "after the synchronous switch: %s" % state)
        expect(server.mode.properties.siteMode == "READ_ONLY", "the client reads %s" % server.mode.properties.siteMode)

        # EDITABLE, asynchronously: the call returns while the switch runs, which then ends on its own.
        started = time.monotonic()
        expect(server.mode.update_mode(site_mode="EDITABLE", run_async=True) is True, "update_mode(EDITABLE) failed")
        state, returned_in = emulator.state(), time.monotonic() - started
        # (On a machine too slow to return within the switch, the switch may be over already.)
        if returned_in < EDITABLE_SECONDS * 0.8:
            expect(state["running_jobs"] and state["mode"] == "READ_ONLY", "not asynchronous: %s" % state)
        state = settled(emulator, "EDITABLE")
        expect(state["updates"] == 2, "%d updates" % state["updates"])
        expect(server.mode.properties.siteMode == "EDITABLE", "the client reads %s" % server.mode.properties.siteMode)

        sent = what_the_client_sent(emulator, site_path, token_path)
        return "%s; the asynchronous call returned in %.2f s of a %.0f s switch" % (sent, returned_in, EDITABLE_SECONDS)
    finally:
        emulator.stop()


def what_the_client_sent(emulator, site_path, token_path):
    log = emulator.log()
    paths = [entry["path"] for entry in log]
    expect(site_path + "/rest/info" in paths, "the client never read Server Info")
    tokens = [entry for entry in log if entry["path"] == token_path]
    expect(tokens, "no token asked for at %s: %s" % (token_path, sorted(set(paths))))
    for entry in tokens:
        form = dict(parse_qsl(entry["body"]))
        expect(entry["method"] == "POST" and form.get("username") == USERNAME and form.get("password") == PASSWORD,
               "token request %s %s" % (entry["method"], entry["path"]))
        expect("password" not in entry["query"], "credentials in the query string")
    root = paths.index(site_path + "/admin")
    expect(root < paths.index(site_path + "/admin/mode"), "the mode was read before the admin root")
    updates = [dict(parse_qsl(entry["body"])) for entry in log if entry["path"] == site_path + "/admin/mode/update"]
    expect([(u.get("siteMode"), u.get("runAsync")) for u in updates] == [("READ_ONLY", "false"), ("EDITABLE", "true")],
           "updates sent: %s" % updates)
    client = dict(parse_qsl(tokens[0]["body"])).get("client")
    return "token from %s (client=%s), %d requests" % (token_path, client, len(log))


def main():
    import arcgis  # pylint: disable=import-outside-toplevel,import-error

    print("arcgis %s on Python %s, emulator certificate %s" % (arcgis.__version__, sys.version.split()[0], CERT))
    passed = failed = 0
    for name, switches, site_path, token_path in VARIANTS:
        started = time.monotonic()
        try:
            summary = check(switches, site_path, token_path)
        except Exception:  # pylint: disable=broad-exception-caught
            failed += 1
            print("FAIL %s\n%s" % (name, traceback.format_exc()))
        else:
            passed += 1
            print("ok   %s: logged in, read EDITABLE, READ_ONLY synchronously, EDITABLE asynchronously; %s (%.1f s)"
                  % (name, summary, time.monotonic() - started))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
