# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A TCP proxy on 127.0.0.1 that can fall silent, as a network path or a pooler does that drops
what it is sent without closing the connection: `freeze()` stops forwarding on the connections
open now, which stay open; with `tarpit`, a connection is accepted and never answered."""

from __future__ import annotations

import select
import socket
import threading

HOST = "127.0.0.1"


class SilentProxy:
    """`SilentProxy(port)` forwards its own `port` to `port` upstream; `accepted` counts the
    connections it took."""

    def __init__(self, upstream_port, tarpit=False):
        self.upstream = (HOST, upstream_port)
        self.tarpit = tarpit
        self.accepted = 0
        self._frozen = threading.Event()
        self._stopped = threading.Event()
        self._sockets = []
        self._listener = socket.create_server((HOST, 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def freeze(self):
        self._frozen.set()

    def close(self):
        self._stopped.set()
        for sock in [self._listener] + self._sockets:
            sock.close()

    def _accept(self):
        while not self._stopped.is_set():
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            self._sockets.append(client)
            if self.tarpit:
                continue
            upstream = socket.create_connection(self.upstream)
            self._sockets.append(upstream)
            threading.Thread(target=self._forward, args=(client, upstream), daemon=True).start()

    def _forward(self, client, upstream):
        peers = {client: upstream, upstream: client}
        while not self._stopped.is_set():
            if self._frozen.is_set():
                # Silent, both ways, and nothing closed: what arrives stays unread.
                self._stopped.wait(0.2)
                continue
            try:
                readable = select.select(list(peers), [], [], 0.2)[0]
            except (OSError, ValueError):
                return
            for sock in readable:
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    client.close()
                    upstream.close()
                    return
                peers[sock].sendall(data)
