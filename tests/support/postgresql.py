# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A real PostgreSQL server for the tests, started and stopped by the tests themselves.

`PostgresCluster().start()` makes a cluster with initdb in a fresh temporary directory and runs it
on 127.0.0.1, on a free port, with no unix socket; every connection authenticates with a password
(scram-sha-256). It makes a login role (`opsmodes`, with a generated password) and a database of
the same name owned by it; `create_database()` makes one more, empty, for each test. URLs never
carry the password: a client takes it from `environment()` (PGPASSWORD), as the role's users do.

The server binaries are looked up with `pg_config --bindir`, then in the highest
/usr/lib/postgresql/*/bin, then on PATH; where there are none, `make postgresql` installs Debian's
postgresql package. PostgreSQL refuses to run as root: when the tests do, initdb, pg_ctl and so
the server run as the `postgres` user, with the cluster in a directory that user owns. The SQL
runs through psycopg (3) where it imports, through psql from the same binaries otherwise.

The pytest fixtures, which tests/unit/conftest.py and tests/functional/conftest.py import:
- `postgresql_cluster` (session): one PostgresCluster per pytest process, so one per xdist
  worker, started when a test first asks for it and stopped at the end of the session;
- `postgresql` (function): a PostgresDatabase, a fresh empty database for the test (`url`,
  `name`, `password`, `environment()`, `connect()`), with the `cluster` to restart or to stop
  and start again (`stop_server()`, `start_server()`; not `stop()`, which removes it); dropped
  after the test, the server started again first if the test left it stopped.

ansible-test runs each unit test in a fork of its own (its ansible_forked plugin), which ends
with os._exit: a session fixture is set up anew in every fork and never torn down there. So in a
fork the cluster is the collecting process's: the first fork that needs it starts it, the next
ones use it (forks_cluster), and that process stops it at the end (stop_forks_cluster, from
pytest_sessionfinish as tests/unit/conftest.py does, and at exit). The server's state is read
from its data directory, not remembered, so what one fork does to it (a restart, a stop) the
next one sees.
"""

from __future__ import annotations

import atexit
import glob
import grp
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
import time

import pytest

NOT_FOUND = ("PostgreSQL server binaries not found: run `make postgresql` (installs Debian's postgresql package "
             "as root)")
SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
HOST = "127.0.0.1"
SUPERUSER = "postgres"
SERVER_ACCOUNT = "postgres"
START_SECONDS = 60
STOP_SECONDS = 60
# Only what makes the server quicker to start and to write; durability is no concern of the tests.
SETTINGS = {
    "listen_addresses": HOST,
    "unix_socket_directories": "",
    "password_encryption": "scram-sha-256",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}
CERTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "emulators", "certs")
EMULATOR_CERT = os.path.join(CERTS, "emulator.crt")
EMULATOR_KEY = os.path.join(CERTS, "emulator.key")
HBA = "# Written by opsmodes.maintenance tests/support/postgresql.py: a password for every connection.\n" \
      "host all all %s/32 scram-sha-256\n" % HOST


class PostgresNotFound(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


class PostgresError(RuntimeError):
    """The test server did not do what it was asked."""


def _psycopg():
    """psycopg (3) where it imports; None otherwise, and psql runs the SQL."""
    try:
        import psycopg
    except ImportError:
        return None
    return psycopg


def _environment():
    """This process's environment without the PG* variables, which would steer the server's tools."""
    return {name: value for name, value in os.environ.items() if not name.startswith("PG")}


def _version_key(bindir):
    """/usr/lib/postgresql/<version>/bin, ordered by the version's numbers."""
    return tuple(int(part) if part.isdigit() else -1 for part in os.path.basename(os.path.dirname(bindir)).split("."))


def candidate_bindirs():
    """Where the server binaries may be, in the order they are looked for."""
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            completed = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired):
            completed = None
        if completed is not None and completed.returncode == 0 and completed.stdout.strip():
            candidates.append(completed.stdout.strip())
    candidates.extend(sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True))
    initdb = shutil.which("initdb")
    if initdb:
        # /usr/local/bin/initdb may be a link into a bindir whose postgres is not on PATH.
        candidates.extend([os.path.dirname(initdb), os.path.dirname(os.path.realpath(initdb))])
    return candidates


def find_bindir():
    """The first directory with initdb, pg_ctl and postgres in it; PostgresNotFound if none has."""
    candidates = candidate_bindirs()
    for bindir in candidates:
        if all(os.access(os.path.join(bindir, name), os.X_OK) for name in SERVER_BINARIES):
            return bindir
    raise PostgresNotFound("%s; looked in: %s" % (NOT_FOUND, ", ".join(candidates) or "nothing (no pg_config, "
                                                  "no /usr/lib/postgresql/*/bin, no initdb on PATH)"))


def _server_account():
    """The pwd entry of the user the server runs as: None, this process's own, unless it is root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError:
        raise PostgresError("The tests run as root, which PostgreSQL refuses, and there is no `%s` user to run "
                            "the server as: run `make postgresql` (Debian's postgresql package makes it)"
                            % SERVER_ACCOUNT) from None


def _reachable(path, account):
    """Whether `account` may go into `path`: search permission on it and on every directory above."""
    groups = {account.pw_gid} | {group.gr_gid for group in grp.getgrall() if account.pw_name in group.gr_mem}
    path = os.path.realpath(path)
    while True:
        status = os.stat(path)
        if status.st_uid == account.pw_uid:
            allowed = status.st_mode & stat.S_IXUSR
        elif status.st_gid in groups:
            allowed = status.st_mode & stat.S_IXGRP
        else:
            allowed = status.st_mode & stat.S_IXOTH
        parent = os.path.dirname(path)
        if not allowed or parent == path:
            return bool(allowed)
        path = parent


def _temporary_base(account):
    """Where the cluster's temporary directory goes: the usual place, unless the server's user cannot
    reach it (TMPDIR in root's home, say)."""
    base = tempfile.gettempdir()
    if account is None:
        return base
    for candidate in (base, "/tmp", "/var/tmp"):
        if os.path.isdir(candidate) and _reachable(candidate, account):
            return candidate
    raise PostgresError("No temporary directory the `%s` user can reach: %s, /tmp and /var/tmp are closed to it"
                        % (account.pw_name, base))


def free_port():
    """A port nobody listens on on 127.0.0.1 just now (the server retries another if it is taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def identifier(name):
    """`name` quoted as an SQL identifier."""
    return '"%s"' % name.replace('"', '""')


def literal(text):
    """`text` quoted as an SQL string (standard_conforming_strings is on, as by default)."""
    return "'%s'" % text.replace("'", "''")


class PostgresCluster:
    """A PostgreSQL cluster of the tests' own: see the module's docstring.

    `start()` makes the cluster the first time, and starts its server if it is stopped;
    `stop_server()` / `start_server()` stop it (the port then refuses connections) and start it
    again on the same port and data; `restart()` does both; `stop()` stops it and removes it all,
    after which `start()` makes a new one (another port, other passwords).
    """

    def __init__(self, user="opsmodes", bindir=None, settings=None, tls=False):
        self.user = user
        self.bindir = bindir
        # With `tls`, the server speaks TLS too, with the emulators' certificate (127.0.0.1 and localhost).
        self.tls = tls
        self.settings = dict(SETTINGS, **(settings or {}))
        if tls:
            self.settings.update(ssl="on", ssl_cert_file="server.crt", ssl_key_file="server.key")
        self.directory = None
        self.port = None
        self.password = None
        self._superuser_password = None
        self._account = None
        self._owner = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def state(self):
        """What another process needs to use this cluster (passwords included)."""
        return {"user": self.user, "bindir": self.bindir, "settings": self.settings, "tls": self.tls,
                "directory": self.directory, "port": self.port, "password": self.password,
                "superuser_password": self._superuser_password}

    @classmethod
    def from_state(cls, state):
        cluster = cls(user=state["user"], bindir=state["bindir"], settings=state["settings"], tls=state["tls"])
        cluster.directory, cluster.port, cluster.password = state["directory"], state["port"], state["password"]
        cluster._superuser_password = state["superuser_password"]
        cluster._account = _server_account()
        cluster._owner = os.getpid()
        return cluster

    def __repr__(self):
        return "<PostgresCluster %s %s>" % (self.directory, self.url if self.port else "not started")

    @property
    def data(self):
        return os.path.join(self.directory, "data")

    @property
    def log(self):
        return os.path.join(self.directory, "server.log")

    @property
    def url(self):
        """The URL of the role's own database (no password in it)."""
        return self.url_of(self.user)

    def url_of(self, database):
        if self.port is None:
            raise PostgresError("The PostgreSQL cluster is not started")
        return "postgresql://%s@%s:%d/%s" % (self.user, HOST, self.port, database)

    def environment(self):
        """What a client needs in its environment besides the URL."""
        return {"PGPASSWORD": self.password}

    @property
    def running(self):
        """Whether the server runs, as its postmaster.pid tells (so after another process's
        restart or stop too)."""
        if self.directory is None:
            return False
        try:
            with open(os.path.join(self.data, "postmaster.pid"), encoding="utf-8") as stream:
                pid = int(stream.readline().strip())
        except (OSError, ValueError):
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True

    def start(self):
        if self.directory is None:
            if self._owner is None:
                atexit.register(self._stop_at_exit)
            self._owner = os.getpid()
            try:
                self._initdb()
                self._first_start()
                self.sql("CREATE ROLE %s LOGIN PASSWORD %s" % (identifier(self.user), literal(self.password)))
                self.sql("CREATE DATABASE %s OWNER %s" % (identifier(self.user), identifier(self.user)))
            except BaseException:
                self.stop()
                raise
        elif not os.path.isdir(self.data):
            raise PostgresError("The PostgreSQL cluster's directory %s is gone: stop() removed it, in another "
                                "process (a test's fork?); stop_server() and start_server() stop and start its "
                                "server" % self.directory)
        elif not self.running:
            self.start_server()
        return self

    def stop(self):
        if self.directory is None:
            return
        try:
            self.stop_server()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = self.port = self.password = self._superuser_password = None

    def _stop_at_exit(self):
        # Not in a fork that inherited the cluster and exits normally: the cluster is its parent's.
        if self._owner == os.getpid():
            self.stop()

    def restart(self):
        self.stop_server()
        return self.start_server()

    def start_server(self):
        """Start the server on its port and data, and wait until it takes connections."""
        if self.running:
            return self
        if self.directory is None:
            raise PostgresError("The PostgreSQL cluster is not made yet: start() makes it")
        log_size = self._log_size()
        completed = self._run("pg_ctl", "start", "-D", self.data, "-l", self.log, "-w", "-t", str(START_SECONDS),
                              "-o", "-p %d" % self.port)
        if completed.returncode != 0:
            self._run("pg_ctl", "stop", "-D", self.data, "-m", "immediate", "-w")
            raise PostgresError("PostgreSQL did not start on %s:%d:\n%s\n%s" % (
                HOST, self.port, completed.stdout, self._log_since(log_size)))
        self._wait_ready(log_size)
        return self

    def stop_server(self):
        """A fast shutdown: connected clients are cut off, and the port refuses connections."""
        if not self.running:
            return self
        completed = self._run("pg_ctl", "stop", "-D", self.data, "-m", "fast", "-w", "-t", str(STOP_SECONDS))
        # pg_ctl status exits 3 when no server runs on the data directory.
        if completed.returncode != 0 and self._run("pg_ctl", "status", "-D", self.data).returncode != 3:
            raise PostgresError("PostgreSQL did not stop on %s:%d:\n%s" % (HOST, self.port, completed.stdout))
        return self

    def create_database(self, name=None):
        """The URL of a new, empty database owned by the role (named at random unless `name` is given)."""
        name = name or "test_%s" % secrets.token_hex(4)
        self.sql("CREATE DATABASE %s OWNER %s" % (identifier(name), identifier(self.user)))
        return self.url_of(name)

    def drop_database(self, name):
        """Drop a database, cutting off whoever is still connected to it."""
        if self.major_version() >= 13:
            self.sql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % identifier(name))
            return
        self.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s" % literal(name))
        self.sql("DROP DATABASE IF EXISTS %s" % identifier(name))

    def major_version(self):
        with open(os.path.join(self.data, "PG_VERSION"), encoding="utf-8") as stream:
            return int(stream.read().strip().split(".")[0])

    def connect(self, database=None, **kwargs):
        """A psycopg connection to `database` (the role's own by default) as the role."""
        psycopg = _psycopg()
        if psycopg is None:
            raise PostgresError("psycopg (3) does not import here: pip install 'psycopg[binary]'")
        kwargs.setdefault("connect_timeout", 10)
        return psycopg.connect(self.url_of(database or self.user), password=self.password, **kwargs)

    # The server's side.

    def _run(self, program, *arguments, timeout=START_SECONDS + 30):
        """Run one of the server binaries as the server's user; output and errors in stdout."""
        account = self._account
        extra = {}
        if account is not None:
            extra = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        return subprocess.run([os.path.join(self.bindir, program)] + list(arguments), cwd=self.directory,
                              env=_environment(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False, **extra)

    def _initdb(self):
        self.bindir = self.bindir or find_bindir()
        self._account = _server_account()
        self.directory = tempfile.mkdtemp(prefix="opsmodes-postgresql-", dir=_temporary_base(self._account))
        self.password = secrets.token_urlsafe(24)
        self._superuser_password = secrets.token_urlsafe(24)
        password_file = os.path.join(self.directory, "superuser-password")
        with open(os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as out:
            out.write(self._superuser_password + "\n")
        if self._account is not None:
            for path in (self.directory, password_file):
                os.chown(path, self._account.pw_uid, self._account.pw_gid)
        completed = self._run("initdb", "-D", self.data, "-U", SUPERUSER, "--pwfile", password_file,
                              "--auth-local", "scram-sha-256", "--auth-host", "scram-sha-256",
                              "--encoding", "UTF8", "--locale", "C", "--no-sync")
        os.unlink(password_file)
        if completed.returncode != 0:
            raise PostgresError("initdb failed in %s:\n%s" % (self.data, completed.stdout))
        # Both files exist and belong to the server's user; writing them keeps them so.
        with open(os.path.join(self.data, "postgresql.conf"), "a", encoding="utf-8") as conf:
            conf.write("\n# opsmodes.maintenance tests/support/postgresql.py\n")
            for name, value in self.settings.items():
                conf.write("%s = %s\n" % (name, literal(str(value))))
        with open(os.path.join(self.data, "pg_hba.conf"), "w", encoding="utf-8") as hba:
            hba.write(HBA)
        if self.tls:
            for source, name in ((EMULATOR_CERT, "server.crt"), (EMULATOR_KEY, "server.key")):
                path = os.path.join(self.data, name)
                shutil.copyfile(source, path)
                os.chmod(path, 0o600)
                if self._account is not None:
                    os.chown(path, self._account.pw_uid, self._account.pw_gid)

    def _first_start(self):
        """Start on a free port, and on another if someone took that one in the meantime."""
        for attempt in range(5):
            self.port = free_port()
            log_size = self._log_size()
            try:
                self.start_server()
                return
            except PostgresError:
                if attempt == 4 or "Address already in use" not in self._log_since(log_size):
                    raise

    def _wait_ready(self, log_size):
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                self.sql("SELECT 1")
                return
            except PostgresError as error:
                if time.monotonic() >= deadline:
                    raise PostgresError("PostgreSQL on %s:%d takes no connection after %d s: %s\n%s" % (
                        HOST, self.port, START_SECONDS, error, self._log_since(log_size))) from None
            time.sleep(0.05)

    def _log_size(self):
        return os.path.getsize(self.log) if os.path.exists(self.log) else 0

    def _log_since(self, offset):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as stream:
                stream.seek(offset)
                return stream.read()[-8000:]
        except OSError:
            return ""

    def sql(self, statement, database="postgres"):
        """Run one statement as the superuser, over TCP with its password; PostgresError if it fails."""
        psycopg = _psycopg()
        if psycopg is not None:
            try:
                with psycopg.connect(host=HOST, port=self.port, user=SUPERUSER, password=self._superuser_password,
                                     dbname=database, autocommit=True, connect_timeout=5) as connection:
                    connection.execute(statement)
            except psycopg.Error as error:
                raise PostgresError("%s: %s" % (statement.split(" PASSWORD ")[0], error)) from None
            return
        environment = dict(_environment(), PGPASSWORD=self._superuser_password, PGCONNECT_TIMEOUT="5")
        completed = subprocess.run([os.path.join(self.bindir, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                    "-h", HOST, "-p", str(self.port), "-U", SUPERUSER, "-d", database,
                                    "-c", statement], env=environment, stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True, timeout=60, check=False)
        if completed.returncode != 0:
            raise PostgresError("%s: %s" % (statement.split(" PASSWORD ")[0], completed.stderr.strip()))


class PostgresDatabase:
    """A database of its own for one test, owned by the cluster's role."""

    def __init__(self, cluster, name):
        self.cluster = cluster
        self.name = name
        self.url = cluster.create_database(name)

    @property
    def password(self):
        return self.cluster.password

    def environment(self):
        return self.cluster.environment()

    def connect(self, **kwargs):
        return self.cluster.connect(self.name, **kwargs)


def database_name(test_name):
    """A database name for a test: its name, shortened to what PostgreSQL keeps, and a random part (a
    counter would start over in each fork)."""
    return "%s_%s" % (re.sub(r"[^a-z0-9]+", "_", test_name.lower()).strip("_")[:48] or "test", secrets.token_hex(4))


# Where each test runs in a fork (ansible-test units), the cluster is the collecting process's: the
# first fork that needs it starts it and leaves what the next ones need to use it in this file,
# named after that process; the process stops it at the end (stop_forks_cluster).
_COLLECTED_IN = os.getpid()
_FORKS_CLUSTER = {}


def _forks_state(pid):
    return os.path.join(tempfile.gettempdir(), "opsmodes-postgresql-of-%d.json" % pid)


def forks_cluster():
    """The cluster the forks of the process that collected the tests share, started if need be."""
    if _FORKS_CLUSTER.get("pid") == os.getpid():
        return _FORKS_CLUSTER["cluster"].start()
    path = _forks_state(_COLLECTED_IN)
    cluster = None
    if os.path.exists(path):
        with open(path, encoding="utf-8") as stream:
            cluster = PostgresCluster.from_state(json.load(stream))
        if not os.path.isdir(cluster.data):  # a run long gone, whose process number came again
            cluster = None
    if cluster is None:
        cluster = PostgresCluster().start()
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as stream:
            json.dump(cluster.state(), stream)
    _FORKS_CLUSTER.update(pid=os.getpid(), cluster=cluster)
    return cluster.start()


def stop_forks_cluster():
    """In the process that collected the tests, from pytest_sessionfinish (and at exit): stop the
    cluster its tests' forks shared, if they started one."""
    path = _forks_state(os.getpid())
    if not os.path.exists(path):
        return
    try:
        with open(path, encoding="utf-8") as stream:
            PostgresCluster.from_state(json.load(stream)).stop()
    finally:
        os.unlink(path)


atexit.register(stop_forks_cluster)


@pytest.fixture(scope="session")
def postgresql_cluster():
    """One PostgreSQL cluster for this pytest process (each xdist worker has its own)."""
    if os.getpid() != _COLLECTED_IN:
        # A fork of the process that collected this test, whose session fixtures are set up anew in
        # each fork and never torn down there: the cluster is that process's.
        yield forks_cluster()
        return
    cluster = PostgresCluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture
def postgresql(postgresql_cluster, request):
    """A fresh, empty database for the test: `.url`, `.environment()`, `.connect()`, `.cluster`."""
    # A test before this one may have stopped the server, or removed the cluster.
    database = PostgresDatabase(postgresql_cluster.start(), database_name(request.node.name))
    yield database
    if postgresql_cluster.directory is not None:  # unless the test removed the cluster (stop())
        postgresql_cluster.start()
        postgresql_cluster.drop_database(database.name)
