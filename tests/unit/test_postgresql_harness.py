# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The tests' PostgreSQL server (tests/support/postgresql.py): it starts, gives each test a database
of its own, asks every client for the password, keeps its data across a restart, and refuses
connections while it is stopped."""

from __future__ import annotations

import os
import socket
import subprocess

import psycopg
import pytest

from ansible_collections.opsmodes.maintenance.tests.support import postgresql as harness
from ansible_collections.opsmodes.maintenance.tests.support.postgresql import (
    PostgresCluster, PostgresNotFound, NOT_FOUND)


@pytest.fixture(autouse=True)
def no_stored_password(tmp_path, monkeypatch):
    """Only what a test gives: no password from this process's environment or a ~/.pgpass."""
    for name in ("PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGUSER", "PGHOST", "PGPORT", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))


def refused(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(5)
        try:
            probe.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
    return False


def psql(cluster, url, statement, env=None):
    return subprocess.run([os.path.join(cluster.bindir, "psql"), "-X", "-A", "-t", url, "-c", statement],
                          capture_output=True, text=True, timeout=60, check=False,
                          env=dict(os.environ, **(env or {})))


def test_a_database_of_its_own_as_the_role(postgresql):
    cluster = postgresql.cluster
    assert postgresql.url == "postgresql://opsmodes@127.0.0.1:%d/%s" % (cluster.port, postgresql.name)
    assert postgresql.password and postgresql.password not in postgresql.url
    assert postgresql.environment() == {"PGPASSWORD": postgresql.password}
    with postgresql.connect() as connection:
        row = connection.execute("SELECT current_user, current_database(), inet_server_addr()::text, "
                                 "pg_catalog.pg_get_userbyid(datdba) FROM pg_database "
                                 "WHERE datname = current_database()").fetchone()
        assert row == ("opsmodes", postgresql.name, "127.0.0.1/32", "opsmodes")
        assert connection.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
        # The role owns the database, so it makes tables in it.
        connection.execute("CREATE TABLE record (key text PRIMARY KEY)")
    # Any client: the URL, and the password from the environment.
    completed = psql(cluster, postgresql.url, "SELECT current_user", env=postgresql.environment())
    assert (completed.returncode, completed.stdout.strip()) == (0, "opsmodes"), completed.stderr


@pytest.mark.parametrize("run", [1, 2])
def test_each_test_starts_empty(postgresql, run):
    with postgresql.connect() as connection:
        assert connection.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
        connection.execute("CREATE TABLE record (run int)")
        connection.execute("INSERT INTO record VALUES (%s)", (run,))


def test_create_database_makes_another_empty_one(postgresql):
    cluster = postgresql.cluster
    other = cluster.create_database()
    assert other != postgresql.url and other.startswith("postgresql://opsmodes@127.0.0.1:%d/" % cluster.port)
    with postgresql.connect() as connection:
        connection.execute("CREATE TABLE record (key text)")
    with psycopg.connect(other, password=cluster.password) as connection:
        assert connection.execute("SELECT to_regclass('record')").fetchone() == (None,)
    cluster.drop_database(other.rsplit("/", 1)[1])


def test_a_password_is_required(postgresql):
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(postgresql.url, connect_timeout=5)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(postgresql.url, password="not-" + postgresql.password, connect_timeout=5)
    completed = psql(postgresql.cluster, postgresql.url, "SELECT 1", env={"PGCONNECT_TIMEOUT": "5"})
    assert completed.returncode != 0 and "password" in completed.stderr
    with psycopg.connect(postgresql.url, password=postgresql.password) as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)


def test_no_unix_socket_in_a_shared_place(postgresql):
    cluster = postgresql.cluster
    for directory in ("/tmp", "/var/run/postgresql", "/run/postgresql", cluster.directory, cluster.data):
        assert not os.path.exists(os.path.join(directory, ".s.PGSQL.%d" % cluster.port))
    with postgresql.connect() as connection:
        assert connection.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)


def test_a_restart_keeps_the_data_and_the_port(postgresql):
    cluster = postgresql.cluster
    port = cluster.port
    with postgresql.connect() as connection:
        connection.execute("CREATE TABLE record (key text PRIMARY KEY, value text)")
        connection.execute("INSERT INTO record VALUES ('app1', 'maintenance')")
    cluster.restart()
    assert cluster.port == port and cluster.running
    with postgresql.connect() as connection:
        assert connection.execute("SELECT key, value FROM record").fetchall() == [("app1", "maintenance")]


def test_a_stopped_server_refuses_connections(postgresql):
    cluster = postgresql.cluster
    with postgresql.connect() as connection:
        connection.execute("CREATE TABLE record (key text)")
    cluster.stop_server()
    assert not cluster.running and refused(cluster.port)
    with pytest.raises(psycopg.OperationalError):
        postgresql.connect()
    cluster.start_server()
    with postgresql.connect() as connection:
        assert connection.execute("SELECT to_regclass('record')::text").fetchone() == ("record",)


@pytest.mark.filterwarnings("ignore:.*use of fork.*:DeprecationWarning")
def test_what_a_fork_does_to_the_server_is_seen_after_it(postgresql):
    """As ansible-test's forks of the process that started the cluster: the next test sees the server
    as the last one left it."""
    cluster = postgresql.cluster
    pid = os.fork()
    if not pid:
        try:
            cluster.stop_server()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert not cluster.running and refused(cluster.port)
    cluster.start()
    assert cluster.running
    with postgresql.connect() as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.filterwarnings("ignore:.*use of fork.*:DeprecationWarning")
def test_forks_share_one_cluster_which_the_collecting_process_stops(monkeypatch, tmp_path):
    """As ansible-test's forks: the first that asks starts the cluster, the next one uses it, and the
    process they are forks of stops it."""
    monkeypatch.setattr(harness, "_COLLECTED_IN", os.getpid())
    monkeypatch.setattr(harness, "_FORKS_CLUSTER", {})
    seen = []
    for name in ("first", "second"):
        pid = os.fork()
        if not pid:
            try:
                cluster = harness.forks_cluster()
                (tmp_path / name).write_text("%s %d" % (cluster.directory, cluster.port))
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        seen.append((tmp_path / name).read_text().split())
    assert seen[0] == seen[1]
    directory, port = seen[0][0], int(seen[0][1])
    assert os.path.isdir(directory) and not refused(port)
    harness.stop_forks_cluster()
    assert not os.path.exists(directory) and refused(port)
    assert not os.path.exists(harness._forks_state(os.getpid()))


def test_the_server_runs_as_its_own_user(postgresql):
    """As root, as `postgres` (PostgreSQL refuses root); otherwise as whoever runs the tests."""
    owner = os.stat(postgresql.cluster.data).st_uid
    assert owner == (harness.pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid())


def test_stop_removes_the_cluster():
    cluster = PostgresCluster(user="someone").start()
    directory, port = cluster.directory, cluster.port
    assert cluster.url == "postgresql://someone@127.0.0.1:%d/someone" % port
    with cluster.connect() as connection:
        assert connection.execute("SELECT current_user").fetchone() == ("someone",)
    cluster.stop()
    assert not os.path.exists(directory) and refused(port)
    cluster.stop()


def test_without_psycopg_psql_runs_the_sql(monkeypatch):
    monkeypatch.setattr(harness, "_psycopg", lambda: None)
    with PostgresCluster() as cluster:
        url = cluster.create_database("through_psql")
        completed = psql(cluster, url, "SELECT current_user, current_database()", env=cluster.environment())
        assert (completed.returncode, completed.stdout.strip()) == (0, "opsmodes|through_psql"), completed.stderr
        directory = cluster.directory
    assert not os.path.exists(directory)


def test_no_server_binaries_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setattr(harness, "candidate_bindirs", lambda: [str(tmp_path)])
    cluster = PostgresCluster()
    with pytest.raises(PostgresNotFound) as raised:
        cluster.start()
    assert str(raised.value).startswith(NOT_FOUND) and str(tmp_path) in str(raised.value)
    assert cluster.directory is None
