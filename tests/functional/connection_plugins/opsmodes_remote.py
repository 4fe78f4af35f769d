# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A connection that reaches this machine but is not `local`, for the tests of the window's path
through a delegate host (`window_delegate_to` naming a host reached over ssh, in real use): the
role then runs the modules there through the connection, as it would on a jump host."""

from __future__ import annotations

from ansible.plugins.connection.local import Connection as LocalConnection

DOCUMENTATION = """
    name: opsmodes_remote
    short_description: local execution under another name, for tests
    description:
        - The local connection, named so that the role treats it as a remote one.
    author: opsmodes maintainers (@opsmodes)
    options:
        become_success_timeout:
            type: int
            default: 10
            description: As the local connection's.
            vars:
                - name: ansible_local_become_success_timeout
        become_strip_preamble:
            type: bool
            default: true
            description: As the local connection's.
            vars:
                - name: ansible_local_become_strip_preamble
    extends_documentation_fragment:
        - connection_pipelining
"""


class Connection(LocalConnection):
    transport = "opsmodes_remote"
