#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: arcgis_site_mode
short_description: Set an ArcGIS Server site to read-only or editable mode
version_added: 1.0.0
description:
  - Reads the site mode from C({url}/mode) and, only when it differs from O(mode) (or from
    O(allow_editing_via_services), where the server reports that flag), updates it with
    C({url}/mode/update), then follows the update's job, or polls the site mode, until the site
    reports the new mode.
  - Switching to read-only restarts every service of the site, which can take minutes.
  - Every request is a POST with C(f=json) and the token in the form body, never in a URL. One token
    serves the whole run; it is generated only when O(token) is not given, and renewed once if the
    server declares it expired midway.
  - Errors that the Administrator API returns inside an HTTP 200 answer are failures, and the same
    errors sent with their real HTTP status (498, 499, 403, 500) are read the same way; an expired
    token is renewed either way.
  - Tokens are bound to a referer (C(client=referer)), as every tool Esri ships asks for them; an
    IP-bound token is not supported on a site federated with a portal. The referer is sent as the
    C(Referer) header of every request.
  - The update's job is followed through its documented statuses (SUBMITTED, EXECUTING, CANCELLING,
    then COMPLETED, FAILED or CANCELLED); a failure names the job's own messages. A job record that
    cannot be found (purged, or kept on another machine of the site) leaves the site mode to decide,
    and so does a job COMPLETED with an error, which may still have changed the mode.
  - An HTML page instead of the API on an admin URL through a Web Adaptor means administration
    through the Web Adaptor is off (the default); use the server's own admin URL on port 6443.
author:
  - opsmodes maintainers (@opsmodes)
extends_documentation_fragment:
  - opsmodes.maintenance.connection
  - opsmodes.maintenance.connection.ARCGIS
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
    details: Only the site mode is read (and a token generated); the task's C(changed) says whether a real run
      would update.
  diff_mode:
    support: full
    details: The mode before and after, with the editing flag where it is in play, in check mode and in real runs.
  platform:
    platforms: all
  action_group:
    support: full
    membership:
      - opsmodes.maintenance.arcgis
options:
  url:
    description:
      - The Server Administrator API root, for example V(https://gis.example.com:6443/arcgis/admin),
        or V(https://gis.example.com/server/admin) through a Web Adaptor.
      - Falls back to the environment variable E(ARCGIS_ADMIN_URL).
    type: str
    required: true
  mode:
    description:
      - The mode the site must be in.
    type: str
    required: true
    choices: [read_only, editable]
  allow_editing_via_services:
    description:
      - Sent with the update as C(allowEditingViaServices) when given; the server's default is V(true).
      - Compared with the site's current setting only where the server reports it (not documented
        for every release), so on its own it triggers an update only on such servers.
    type: bool
  token:
    description:
      - A token for the Administrator API, used as it is. Mutually exclusive with O(username).
      - Falls back to the environment variable E(ARCGIS_TOKEN).
    type: str
  username:
    description:
      - User to generate a token for, with O(password). Mutually exclusive with O(token).
      - Falls back to the environment variable E(ARCGIS_USERNAME).
    type: str
  password:
    description:
      - Password of O(username).
      - Falls back to the environment variable E(ARCGIS_PASSWORD).
    type: str
  token_url:
    description:
      - Where tokens are generated. Defaults to C({url}/generateToken), where the primary site
        administrator gets a token on a federated site too.
      - For a portal user on a site federated with Portal for ArcGIS, the portal's
        C(https://portal.example.com/portal/sharing/rest/generateToken).
      - Falls back to the environment variable E(ARCGIS_TOKEN_URL).
    type: str
  referer:
    description:
      - The referer the token is bound to (C(client=referer)), sent as the C(Referer) header of
        every request.
      - Defaults to the origin of O(url), for example V(https://gis.example.com:6443).
      - Falls back to the environment variable E(ARCGIS_REFERER).
    type: str
  wait:
    description:
      - Return only once the site reports O(mode).
      - With V(false), the module returns as soon as the server has accepted the update.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds the update may take, from the request until the site reports O(mode). Switching to
        read-only restarts every service of the site.
    type: float
    default: 600
seealso:
  - module: opsmodes.maintenance.ucs_server_mode
  - name: ArcGIS REST API, Update Site Mode
    description: The vendor's description of C(mode/update).
    link: https://developers.arcgis.com/rest/enterprise-administration/server/updatesitemode/
"""

EXAMPLES = r"""
- name: Make the site read-only for the maintenance window
  opsmodes.maintenance.arcgis_site_mode:
    url: https://gis.example.com:6443/arcgis/admin
    mode: read_only
    username: "{{ arcgis_admin_user }}"
    password: "{{ arcgis_admin_password }}"
  delegate_to: localhost

- name: Editable again, with a token from the federated portal
  opsmodes.maintenance.arcgis_site_mode:
    url: https://gis.example.com/server/admin
    mode: editable
    allow_editing_via_services: true
    username: "{{ portal_admin_user }}"
    password: "{{ portal_admin_password }}"
    token_url: https://gis.example.com/portal/sharing/rest/generateToken
    referer: https://gis.example.com/server
  delegate_to: localhost
"""

RETURN = r"""
mode:
  description:
    - The mode the site is in now.
    - In check mode, the mode it would be in. With O(wait=false), the mode requested, which the
      site may still be switching to.
    - On failure after an update, the mode read afterwards, or V(null) when it could not be read.
  returned: always
  type: str
  sample: read_only
previous_mode:
  description: The mode the site was in before the module ran.
  returned: success
  type: str
  sample: editable
site_mode:
  description: The mode document read last from C({url}/mode), as the server sent it.
  returned: success
  type: dict
  sample:
    siteMode: READ_ONLY
    copyConfigLocal: true
    lastModified: 1795450800000
pending_switch:
  description:
    - With O(wait=false), the switch the site took and that may still be under way, as a later
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
  description: Seconds spent updating and waiting; V(0) when nothing was updated.
  returned: success
  type: float
  sample: 95.2
"""

from ansible_collections.opsmodes.maintenance.plugins.module_utils._arcgis import API
from ansible_collections.opsmodes.maintenance.plugins.module_utils._base import MaintenanceModule


def main():
    MaintenanceModule(API).run()


if __name__ == "__main__":
    main()
