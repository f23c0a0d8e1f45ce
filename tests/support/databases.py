"""Real database servers for tests, started from Debian's packages in a temporary directory on a
free port, as ``redis-server`` is (tests/support/servers.py): PostgreSQL (``initdb`` and
``postgres``) and MariaDB (``mariadb-install-db`` and ``mariadbd``). Run as root, each runs as
its package's system user, as the servers refuse root."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.support.servers import _Process


def _postgres_bin(name: str) -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/" + name))
    return found[-1] if found else shutil.which(name)


def available(kind: str) -> str | None:
    """Why ``kind`` ("postgresql", "mariadb") cannot be started here, or None if it can."""
    if kind == "postgresql":
        missing = [n for n in ("initdb", "postgres") if _postgres_bin(n) is None]
        return (
            "PostgreSQL's %s not installed (apt-get install postgresql)" % missing
            if missing
            else None
        )
    missing = [n for n in ("mariadb-install-db", "mariadbd") if _mariadb_bin(n) is None]
    return (
        "MariaDB's %s not installed (apt-get install mariadb-server)" % missing if missing else None
    )


def _mariadb_bin(name: str) -> str | None:
    return shutil.which(name) or (
        ("/usr/sbin/" + name) if os.path.exists("/usr/sbin/" + name) else None
    )


class _DatabaseServer(_Process):
    """A database server process owned by ``system_user`` when run as root."""

    system_user = ""

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="clientsignal-%s-" % self.name)
        self._user = self.system_user if os.geteuid() == 0 else None
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            os.chmod(self.dir, 0o700)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)

    def run_as_owner(self, command: list[str]) -> None:
        subprocess.run(
            command,
            check=True,
            timeout=120,
            capture_output=True,
            user=self._user,
            group=self._group(),
            cwd=self.dir,
        )

    def _group(self) -> int | None:
        return None if self._user is None else pwd.getpwnam(self._user).pw_gid

    def start(self) -> _DatabaseServer:
        self.initialize()
        self.proc = subprocess.Popen(
            self.command(),
            cwd=self.dir,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            user=self._user,
            group=self._group(),
        )
        from tests.support.servers import wait_for

        try:
            wait_for(lambda: self.proc.poll() is not None or self.ready(), 60, self.name)
        except TimeoutError:
            self.stop()
            raise RuntimeError(
                "%s did not start:\n%s" % (self.name, self.log_text()[-3000:])
            ) from None
        if self.proc.poll() is not None:
            raise RuntimeError("%s exited at start:\n%s" % (self.name, self.log_text()[-3000:]))
        return self

    def initialize(self) -> None:
        raise NotImplementedError

    def stop(self, sig: int = 15, timeout: float = 20) -> None:
        super().stop(sig, timeout)
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresServer(_DatabaseServer):
    """``postgres`` on 127.0.0.1, trust authentication, user ``postgres``; ``max_connections``
    as given, so that going past it is refused as it would be in production."""

    name = "postgresql"
    system_user = "postgres"

    def __init__(self, max_connections: int = 100) -> None:
        super().__init__()
        self.max_connections = max_connections

    def initialize(self) -> None:
        self.run_as_owner(
            [_postgres_bin("initdb") or "initdb", "-D", self.dir + "/data", "-U", "postgres",
             "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C"]
        )  # fmt: skip

    def command(self) -> list[str]:
        return [
            _postgres_bin("postgres") or "postgres",
            "-D", self.dir + "/data",
            "-p", str(self.port),
            "-c", "listen_addresses=127.0.0.1",
            "-c", "unix_socket_directories=" + self.dir,
            "-c", "max_connections=%d" % self.max_connections,
            "-c", "superuser_reserved_connections=1",
            "-c", "fsync=off",
            "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off",
        ]  # fmt: skip

    def ready(self) -> bool:
        return self._query_ok()

    def _query_ok(self) -> bool:
        try:
            self.execute("SELECT 1")
            return True
        except Exception:
            return False

    def connect(self, dbname: str = "postgres"):  # type: ignore[no-untyped-def]
        import psycopg

        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True,
            connect_timeout=2,
        )  # fmt: skip

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.connect() as connection:
            cursor = connection.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str) -> None:
        self.execute('CREATE DATABASE "%s"' % name)


class MariaDBServer(_DatabaseServer):
    """``mariadbd`` on 127.0.0.1, ``root`` without a password."""

    name = "mariadb"
    system_user = "mysql"

    def __init__(self, max_connections: int = 100) -> None:
        super().__init__()
        self.max_connections = max_connections

    def initialize(self) -> None:
        command = [
            _mariadb_bin("mariadb-install-db") or "mariadb-install-db",
            "--no-defaults",
            "--datadir=" + self.dir + "/data",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ]
        if self._user is not None:
            command.append("--user=" + self._user)
        subprocess.run(command, check=True, timeout=120, capture_output=True)
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            for root, dirs, files in os.walk(self.dir):
                for name in dirs + files:
                    os.lchown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)

    @property
    def socket_path(self) -> str:
        return self.dir + "/mysqld.sock"

    def command(self) -> list[str]:
        return [
            _mariadb_bin("mariadbd") or "mariadbd",
            "--no-defaults",
            "--datadir=" + self.dir + "/data",
            "--port=%d" % self.port,
            "--bind-address=127.0.0.1",
            "--socket=" + self.socket_path,
            "--pid-file=" + self.dir + "/mariadbd.pid",
            "--max-connections=%d" % self.max_connections,
            "--skip-log-bin",
            "--innodb-buffer-pool-size=32M",
            "--innodb-flush-log-at-trx-commit=0",
            "--skip-grant-tables=0",
        ]  # fmt: skip

    def ready(self) -> bool:
        if not Path(self.socket_path).exists():
            return False
        try:
            self.execute("SELECT 1")
            return True
        except Exception:
            return False

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        import pymysql

        connection = pymysql.connect(
            host="127.0.0.1", port=self.port, user="root", password="", connect_timeout=2,
            autocommit=True,
        )  # fmt: skip
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params or None)
                return list(cursor.fetchall())
        finally:
            connection.close()

    def create_database(self, name: str) -> None:
        self.execute("CREATE DATABASE `%s` CHARACTER SET utf8mb4" % name)


def accepts_tcp(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
