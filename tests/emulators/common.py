# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What both emulators share: an HTTP server on loopback in a thread, a request log, fault
switches and an optional self-signed TLS mode. Standard library only, so that users can run the
emulators anywhere Python runs."""

from __future__ import annotations

import io
import json
import os
import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

CERT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "certs")
DEFAULT_CERT = os.path.join(CERT_DIR, "emulator.crt")
DEFAULT_KEY = os.path.join(CERT_DIR, "emulator.key")

# Control endpoints live outside every real API path and are never logged nor faulted, so
# that reading the log back does not change what the log says. They answer at the server's root
# and under any base path the emulator is given (/genesys/1/cs/_emulator/state).
CONTROL_PREFIX = "/_emulator/"

FAULT_KINDS = ("drop", "drop_after", "slow", "hold", "trickle", "not_json", "api_error")
# The seconds of the kinds that take some, when the spec gives none; `hold`'s is the most it holds.
FAULT_SECONDS = {"slow": 5.0, "hold": 600.0, "trickle": 1.0}


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict
    body: bytes
    client_port: int

    @property
    def params(self):
        """Query string and url-encoded form body merged, the form winning, as a web framework
        would hand them to the server's code."""
        merged = dict(parse_qsl(self.query, keep_blank_values=True))
        if self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            merged.update(self.form)
        return merged

    @property
    def query_params(self):
        return dict(parse_qsl(self.query, keep_blank_values=True))

    @property
    def form(self):
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    def json(self):
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)
    # Seconds to hold the answer back after the request was processed: a server that blocks
    # until its work is done, or a slow network. With `released`, the answer goes once it is set.
    delay: float = 0.0
    released: threading.Event | None = None
    drop: bool = False
    # Seconds between two bytes of the answer, from the status line to the end of the body: a
    # server or proxy that trickles its answer, which no timeout on a single read ends.
    trickle: float = 0.0

    @classmethod
    def json(cls, document, status=200, **kwargs):
        return cls(status=status, body=json.dumps(document).encode("utf-8"), **kwargs)

    @classmethod
    def text(cls, text, status=200, content_type="text/plain; charset=utf-8", **kwargs):
        return cls(status=status, body=text.encode("utf-8"), content_type=content_type, **kwargs)


@dataclass
class Fault:
    """One fault switch: applies to the next `count` requests that match `method` and whose path
    matches the regular expression `path` (both optional). `kind` is an HTTP status code
    (answered without processing the request), `drop` (connection closed before processing),
    `drop_after` (processed, then closed without an answer), `slow` (processed, answered
    `seconds` late, 5 by default), `hold` (processed, answered once `release()` or
    `POST /_emulator/release` lets it go, or `seconds` late, 600 by default: a read that comes back
    after what happened meanwhile), `trickle` (processed, then the whole answer, status line,
    headers and body, sent one byte every `seconds`, 1 by default), `not_json` (processed,
    answered with a body that is not JSON) or `api_error` (the server's own error answer with
    code 500)."""

    kind: str
    count: int = 1
    method: str | None = None
    path: str | None = None
    seconds: float | None = None

    def __post_init__(self):
        if self.seconds is None:
            self.seconds = FAULT_SECONDS.get(self.kind)

    @classmethod
    def parse(cls, spec):
        """`KIND[=SECONDS][:COUNT[:METHOD[:PATH]]]`, e.g. `503:3`, `drop:1:POST`,
        `slow=40:1:POST:/server/mode`, `trickle=1:1:GET:/server/status`, `500:2:GET:/server/status`,
        `500:1::/system/jobs/`; PATH is a regular expression searched for in the request's path
        (`/mode$` is the mode alone)."""
        parts = spec.split(":", 3)
        kind, _equals, seconds = parts[0].partition("=")
        if not (kind.isdigit() or kind in FAULT_KINDS):
            raise ValueError("unknown fault kind %r in %r (an HTTP status or one of %s)"
                             % (kind, spec, ", ".join(FAULT_KINDS)))
        fault = cls(kind=kind)
        if seconds:
            fault.seconds = float(seconds)
        if len(parts) > 1 and parts[1]:
            fault.count = int(parts[1])
        if len(parts) > 2 and parts[2]:
            fault.method = parts[2].upper()
        if len(parts) > 3 and parts[3]:
            fault.path = parts[3]
        return fault

    def matches(self, request):
        return (
            self.count > 0
            and (self.method is None or self.method == request.method)
            and (self.path is None or re.search(self.path, request.path) is not None)
        )


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so that clients can keep connections alive, as the real servers allow.
    protocol_version = "HTTP/1.1"
    server_version = "opsmodes-emulator"

    def _dispatch(self):
        self.server.emulator.serve(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _dispatch

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        if self.server.emulator.verbose:
            super().log_message(format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Emulator:
    """Base of both emulators. Subclasses implement `handle(request) -> Response` and `state()`.

    Use as a context manager (`with UcsEmulator(...) as ucs: ucs.url`) or `start()`/`stop()`.
    """

    name = "emulator"

    def __init__(self, host="127.0.0.1", port=0, tls=False, certfile=None, keyfile=None, faults=(), log_file=None,
                 verbose=False):
        self.host = host
        self.port = port
        self.tls = tls
        self.certfile = certfile or DEFAULT_CERT
        self.keyfile = keyfile or DEFAULT_KEY
        self.faults = [Fault.parse(f) if isinstance(f, str) else f for f in faults]
        self.log_file = log_file
        self.verbose = verbose
        self.requests = []
        self.lock = threading.RLock()
        # Answers that `hold` faults hold now, and what lets them go.
        self.holding = 0
        self._released = threading.Event()
        self._stopping = threading.Event()
        self._server = None
        self._thread = None

    # -- life cycle --------------------------------------------------------------------------
    def start(self):
        self._stopping.clear()
        self._server = _Server((self.host, self.port), _Handler)
        self._server.emulator = self
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.certfile, self.keyfile)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def origin(self):
        return "%s://%s:%d" % ("https" if self.tls else "http", self.host, self.port)

    # -- what tests read back ----------------------------------------------------------------
    def requests_to(self, path_suffix, method=None):
        with self.lock:
            return [r for r in self.requests
                    if r["path"].endswith(path_suffix) and (method is None or r["method"] == method)]

    def clear_log(self):
        with self.lock:
            self.requests.clear()

    def add_fault(self, spec):
        with self.lock:
            self.faults.append(Fault.parse(spec) if isinstance(spec, str) else spec)

    def release(self):
        """Let go every answer that a `hold` fault holds now."""
        with self.lock:
            self._released.set()
            self._released = threading.Event()

    def state(self):
        raise NotImplementedError

    def handle(self, request):
        raise NotImplementedError

    # -- serving -----------------------------------------------------------------------------
    def serve(self, handler):
        length = int(handler.headers.get("Content-Length") or 0)
        split = urlsplit(handler.path)
        request = Request(
            method=handler.command,
            path=split.path,
            query=split.query,
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=handler.rfile.read(length) if length else b"",
            client_port=handler.client_address[1],
        )
        if CONTROL_PREFIX in request.path + "/":
            self._write(handler, self._control(request))
            return
        with self.lock:
            entry = self._log(request)
            fault = next((f for f in self.faults if f.matches(request)), None)
            if fault is not None:
                fault.count -= 1
            if fault is not None and fault.kind == "drop":
                response = Response(drop=True)
            elif fault is not None and fault.kind.isdigit():
                response = self.injected_status(int(fault.kind))
            elif fault is not None and fault.kind == "api_error":
                response = self.error(500, "java.lang.NullPointerException")
            else:
                response = self.handle(request)
                if fault is not None and fault.kind == "drop_after":
                    response.drop = True
                elif fault is not None and fault.kind == "slow":
                    response.delay += fault.seconds
                elif fault is not None and fault.kind == "hold":
                    response.delay, response.released = fault.seconds, self._released
                    self.holding += 1
                elif fault is not None and fault.kind == "trickle":
                    response.trickle = fault.seconds
                elif fault is not None and fault.kind == "not_json":
                    response = Response.text("<html><body>Proxy error page</body></html>", content_type="text/html")
            entry["status"] = None if response.drop else response.status
            self._append_log_file(entry)
        if response.released is not None:
            response.released.wait(response.delay)
            with self.lock:
                self.holding -= 1
        elif response.delay:
            time.sleep(response.delay)
        if response.trickle:
            self._trickle(handler, response)
        else:
            self._write(handler, response)

    def error(self, status, message):
        """An error answer in the server's own shape; subclasses override."""
        return Response.text(message, status=status)

    def injected_status(self, status):
        """The answer to a status-code fault: that HTTP status, with the server's error body."""
        return self.error(status, "Injected fault: HTTP %d" % status)

    def _log(self, request):
        entry = {
            "time": time.time(),
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "headers": request.headers,
            "body": request.body.decode("utf-8", "replace"),
            "client_port": request.client_port,
            "status": None,
        }
        self.requests.append(entry)
        return entry

    def _append_log_file(self, entry):
        if self.log_file:
            with open(self.log_file, "a", encoding="utf-8") as stream:
                stream.write(json.dumps(entry) + "\n")

    def _control(self, request):
        what = (request.path + "/").split(CONTROL_PREFIX, 1)[1].strip("/")
        with self.lock:
            if what == "log" and request.method == "GET":
                return Response.json(self.requests)
            if what == "log" and request.method == "DELETE":
                self.requests.clear()
                return Response.json({"cleared": True})
            if what == "state" and request.method == "GET":
                return Response.json(self.state())
            if what == "faults" and request.method == "POST":
                self.faults.append(Fault.parse(request.body.decode("utf-8").strip()))
                return Response.json({"faults": len(self.faults)})
            if what == "release" and request.method == "POST":
                held = self.holding
                self.release()
                return Response.json({"released": held})
            answer = self.control(what, request)
            if answer is not None:
                return answer
        return Response.json({"error": "unknown control endpoint"}, status=404)

    def control(self, what, request):
        """A control endpoint of the subclass's own, or None."""
        return None

    def _trickle(self, handler, response):
        """Send the whole answer one byte every `response.trickle` seconds, until it is all sent,
        the client hangs up or the emulator stops."""
        writer, handler.wfile = handler.wfile, io.BytesIO()
        try:
            self._write(handler, response)
            answer = handler.wfile.getvalue()
        finally:
            handler.wfile = writer
        try:
            for index in range(len(answer)):
                if index and self._stopping.wait(response.trickle):
                    break
                writer.write(answer[index:index + 1])
            else:
                return
        except OSError:
            pass
        # A connection whose answer was cut short cannot carry another one.
        handler.close_connection = True

    @staticmethod
    def _write(handler, response):
        if response.drop:
            handler.close_connection = True
            return
        handler.send_response(response.status)
        handler.send_header("Content-Type", response.content_type)
        handler.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(response.body)
