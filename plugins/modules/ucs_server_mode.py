#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ucs_server_mode
short_description: Put a Genesys UCS Context Services server into maintenance or production mode
version_added: 1.0.0
description:
  - Reads the server's mode with C(GET {url}/server/status) and, only when it differs from O(mode),
    sets it with C(POST {url}/server/mode), then waits until the server reports the new mode.
  - While it switches, the server answers every request with HTTP 503, the status included, after
    draining running requests (one minute by default on the server side). A run that starts during
    a switch (an interrupted run's, a colleague's) waits through it within O(wait_timeout); if it
    ends in O(mode) nothing is written, otherwise the module writes its own. A write refused with
    503 because a switch is running is asked again once that switch has ended in the other mode.
  - Only the documented answer (HTTP 200 with C(server changed)) counts as a switch accepted. A write
    whose answer is held back past O(timeout), or that is answered by something else (a single
    sign-on or proxy page), is never sent again; the reported mode decides, within O(wait_timeout).
  - An HTTP 403 on the write means the user lacks the Administrator role (with role-based access,
    reading works without it). An HTTP 404 on a switch to V(production) means no profile schema is
    defined, and the server stays in maintenance.
  - The reported mode is compared without regard to letter case.
author:
  - opsmodes maintainers (@opsmodes)
extends_documentation_fragment:
  - opsmodes.maintenance.connection
  - opsmodes.maintenance.connection.UCS
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on
      the controller.
    support: full
    details: On the controller, the module's code runs in the controller's process (see the notes).
  check_mode:
    support: full
    details: Only the status is read; the task's C(changed) says whether a real run would write.
  diff_mode:
    support: full
    details: The mode before and after, in check mode and in real runs.
  platform:
    platforms: all
  action_group:
    support: full
    membership:
      - opsmodes.maintenance.ucs
options:
  url:
    description:
      - The Context Services base URL, with any prefix set by the UCS option C(cview/base_url),
        for example V(http://ucs.example.com:8080) or V(https://ucs.example.com:8443/genesys/1/cs).
      - A trailing slash is harmless.
      - Falls back to the environment variable E(UCS_URL).
    type: str
    required: true
  mode:
    description:
      - The mode the server must be in.
    type: str
    required: true
    choices: [maintenance, production]
  username:
    description:
      - User for HTTP basic authentication, sent only when given (basic authentication is off on
        the server unless configured).
      - Falls back to the environment variable E(UCS_USERNAME).
    type: str
  password:
    description:
      - Password of O(username).
      - Falls back to the environment variable E(UCS_PASSWORD).
    type: str
  wait:
    description:
      - Return only once the server reports O(mode).
      - With V(false), the module returns as soon as the server has accepted the change.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds the switch may take, from the write until the server reports O(mode), the server's
        drain time included.
    type: float
    default: 300
seealso:
  - module: opsmodes.maintenance.arcgis_site_mode
  - name: Context Services API reference, Set Server Mode
    description: The vendor's description of C(POST /server/mode).
    link: https://docs.genesys.com/Documentation/CS/8.5.0/API/SetServerMode
"""

EXAMPLES = r"""
- name: Put UCS into maintenance
  opsmodes.maintenance.ucs_server_mode:
    url: https://ucs.example.com:8443/genesys/1/cs
    mode: maintenance
    username: "{{ ucs_user }}"
    password: "{{ ucs_password }}"
  delegate_to: localhost

- name: Back to production, with the connection set once for the play
  module_defaults:
    group/opsmodes.maintenance.ucs:
      url: http://ucs.example.com:8080
      ca_path: /etc/pki/ucs-ca.pem
  block:
    - name: Production
      opsmodes.maintenance.ucs_server_mode:
        mode: production
        wait_timeout: 600
      delegate_to: localhost
"""

RETURN = r"""
mode:
  description:
    - The mode the server is in now, in lower case.
    - In check mode, the mode it would be in. With O(wait=false), the mode requested, which the
      server may still be switching to.
    - On failure after a write, the mode read afterwards, or V(null) when it could not be read.
  returned: always
  type: str
  sample: maintenance
previous_mode:
  description: The mode the server was in before the module ran, in lower case.
  returned: success
  type: str
  sample: production
status:
  description: The status document read last from C(GET {url}/server/status), as the server sent it.
  returned: success
  type: dict
  sample:
    mode: maintenance
    version: 8.5.000.21
    system_time: "2026-11-23T16:20:00.000Z"
pending_switch:
  description:
    - With O(wait=false), the switch the server took and that may still be under way, as a later
      task takes it in O(pending_switch), whose description says what it holds.
  returned: when a switch was sent and not waited for
  type: dict
  sample:
    sent: 1795450800.5
    until: 1795451100.5
may_pass:
  description:
    - On failure, whether the cause may pass by itself (no connection, a server error), so that
      the same task tried again may succeed; V(false) when trying again would meet it again (a
      refused login, a missing privilege, a wrong URL, a switch that did not take effect within
      O(wait_timeout)).
  returned: failure
  type: bool
  sample: false
elapsed:
  description: Seconds spent writing and waiting for the switch; V(0) when nothing was written.
  returned: success
  type: float
  sample: 61.52
"""

from ansible_collections.opsmodes.maintenance.plugins.module_utils._base import MaintenanceModule
from ansible_collections.opsmodes.maintenance.plugins.module_utils._ucs import API


def main():
    MaintenanceModule(API).run()


if __name__ == "__main__":
    main()
