# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures the unit tests share: a real PostgreSQL server (tests/support/postgresql.py), one per
pytest worker, and a fresh database on it for each test that asks for `postgresql`."""

from __future__ import annotations

from ansible_collections.opsmodes.maintenance.tests.support.postgresql import (  # pylint: disable=unused-import
    postgresql, postgresql_cluster, stop_forks_cluster)


def pytest_sessionfinish(session):
    """ansible-test runs each unit test in a fork of its own, which a session fixture does not outlive:
    the forks share one server, which this process stops here."""
    stop_forks_cluster()
