# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""The total deadline of one HTTP request, for the HTTP layer (_transport.py)."""

from __future__ import annotations

import functools
import os
import socket
import threading

try:
    import requests
    from requests.adapters import HTTPAdapter
except ImportError:
    # Only so that the adapter below can be defined; the modules fail before they use it.
    HTTPAdapter = object

# requests' timeout bounds each connection attempt and each read, not the request: a server that
# sends one byte a second holds a request for as long as it likes. Every request therefore runs
# under a Deadline, which shuts the request's sockets down when its time is up: a read or write
# blocked on them then ends at once, whatever the request was doing.
_CURRENT = threading.local()


class Deadline:
    """The deadline of one request, entered in the thread that sends it. The request's
    connections hand it their sockets (`watch`) and a timer shuts them down after `seconds`.

    A socket is watched through a duplicate of its descriptor, owned here and closed when the
    request ends, for two reasons: a descriptor the connection closes meanwhile may be reused at
    once by another thread's socket, which must never be shut down; and TLS detaches the socket it
    wraps from its descriptor. A connection attempt still ends only at its own connect timeout,
    since its socket is not known before it connects."""

    def __init__(self, seconds):
        self.expired = False
        self._sockets = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.name = "opsmodes-request-deadline"
        self._timer.daemon = True

    def __enter__(self):
        _CURRENT.deadline = self
        self._timer.start()
        return self

    def __exit__(self, exc_type, exc, exc_traceback):
        _CURRENT.deadline = None
        self._timer.cancel()
        # Once the timer thread has ended, no shutdown can reach a socket closed below.
        self._timer.join()
        for sock in self._sockets:
            sock.close()
        # Whatever a request cut short raises is the deadline's doing; and an answer that runs
        # until the connection closes reads as complete when the deadline cut it.
        if self.expired and (exc is None or isinstance(exc, requests.exceptions.RequestException)):
            raise requests.exceptions.Timeout("no complete answer within the deadline") from exc
        return False

    def watch(self, sock):
        try:
            duplicate = socket.socket(fileno=os.dup(sock.fileno()))
        except (OSError, ValueError):
            return
        with self._lock:
            self._sockets.append(duplicate)
            if self.expired:
                _shut_down(duplicate)

    def _expire(self):
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut_down(sock)


def _shut_down(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already disconnected


def _watch(sock):
    deadline = getattr(_CURRENT, "deadline", None)
    if deadline is not None and sock is not None:
        deadline.watch(sock)


class _WatchedConnection:
    """Mixed into a urllib3 connection class: a new socket is watched as soon as it is
    connected, so the TLS handshake is under the deadline too."""

    def _new_conn(self):
        sock = super()._new_conn()
        _watch(sock)
        return sock


class _WatchedPool:
    """Mixed into a urllib3 pool class: a kept-alive connection is watched when a request takes it."""

    def _get_conn(self, timeout=None):
        conn = super()._get_conn(timeout=timeout)
        _watch(getattr(conn, "sock", None))
        return conn


@functools.lru_cache(maxsize=None)
def _watched_pool(pool_class):
    """`pool_class` with its connections watched; made from the class the manager would use, so
    that proxies (SOCKS ones too) keep their own pools."""
    if issubclass(pool_class, _WatchedPool):
        return pool_class
    connection_class = type("Watched" + pool_class.ConnectionCls.__name__,
                            (_WatchedConnection, pool_class.ConnectionCls), {})
    return type("Watched" + pool_class.__name__, (_WatchedPool, pool_class), {"ConnectionCls": connection_class})


def _watch_pools(manager):
    manager.pool_classes_by_scheme = {scheme: _watched_pool(pool_class)
                                      for scheme, pool_class in manager.pool_classes_by_scheme.items()}
    return manager


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter, with every pool's sockets watched by the request's Deadline."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        _watch_pools(self.poolmanager)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        return _watch_pools(super().proxy_manager_for(proxy, **proxy_kwargs))
