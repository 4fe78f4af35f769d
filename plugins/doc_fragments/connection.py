# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The HTTP options every module of the collection takes (plugins/module_utils/_base.py), and
    # its TLS options with the environment variables of its own API: UCS or ARCGIS.
    UCS = r"""
options:
  validate_certs:
    description:
      - Whether to verify the server's TLS certificate.
      - Set to V(false) only for a server whose certificate you knowingly accept unverified;
        prefer O(ca_path) for a private CA.
      - Falls back to the environment variable E(UCS_VALIDATE_CERTS).
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file with the CA certificate(s) to verify the server's certificate against,
        instead of the system's trust store. A file that does not exist or cannot be read fails
        the task before any request.
      - When both are set, O(ca_path) wins over O(validate_certs=false), and the certificate is
        verified against it. That is the safe reading of a contradiction, such as an AWX
        credential that injects V(false) for a boolean it never stored.
      - Falls back to the environment variable E(UCS_CA_PATH).
    type: path
"""

    ARCGIS = r"""
options:
  validate_certs:
    description:
      - Whether to verify the server's TLS certificate.
      - Set to V(false) only for a server whose certificate you knowingly accept unverified;
        prefer O(ca_path) for a private CA.
      - Falls back to the environment variable E(ARCGIS_VALIDATE_CERTS).
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file with the CA certificate(s) to verify the server's certificate against,
        instead of the system's trust store. A file that does not exist or cannot be read fails
        the task before any request.
      - When both are set, O(ca_path) wins over O(validate_certs=false), and the certificate is
        verified against it. That is the safe reading of a contradiction, such as an AWX
        credential that injects V(false) for a boolean it never stored.
      - Falls back to the environment variable E(ARCGIS_CA_PATH).
    type: path
"""

    DOCUMENTATION = r"""
options:
  pending_switch:
    description:
      - The RV(pending_switch) of an earlier run with O(wait=false), or of one that was
        interrupted. The module lets that switch end before it reads the mode, and writes only
        if the server is then not in O(mode). Use it to confirm, in a later task, a switch that
        an earlier task only asked for.
      - C(job) is the server's job for the switch; without one, C(sent) and C(until) are the epoch
        seconds when it was sent and by when it ends.
    type: dict
  timeout:
    description:
      - Seconds one request may take, from connecting to the last byte of the answer, however
        slowly the server sends it.
      - A write that gets no answer in this time is not a failure by itself; the server's
        reported mode decides, within O(wait_timeout).
    type: float
    default: 30
  retries:
    description:
      - How many times a request that failed to connect, or was answered with HTTP 502, 503 or
        504, is sent again, with a backoff of 0.5, 1, 2, then 4 seconds.
      - Writes are never sent again; the server's reported mode decides what they did.
    type: int
    default: 3
notes:
  - Every request asks for C(application/json). Redirects are never followed, since a redirected
    POST turns into a GET and a login page is no API; the error names where the redirect pointed.
  - The modules talk to the server's API from wherever they run; run them on the controller
    (with O(ignore:delegate_to) set to C(localhost)) or on any host that reaches the API and has the Python library
    C(requests).
  - On the controller (the task's connection, after delegation, is local) the module's own code runs in the
    controller's process, as it would run as a module, environment fallbacks read from the task's
    C(environment), check and diff mode, C(no_log), results and messages alike; a converged task then costs
    what a task costs. It runs with the controller's Python and its C(requests), not
    C(ansible_python_interpreter)'s. An C(async) task, a task with C(become), a missing C(requests) on the
    controller, or the variable C(opsmodes_maintenance_in_process) set to V(false) runs it as a module; the
    role opsmodes.maintenance.window chooses the same way.
requirements:
  - requests >= 2.25.0
"""
