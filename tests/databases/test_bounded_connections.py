"""Database connections under the socket worker, on a real PostgreSQL and a real MariaDB that
the tests start themselves: the README's production command on one worker, 300 sockets that
call a receiver running a 0.2 s query all at once, on each driver and setting a site may use.

Every call is answered, the database never sees more than the bound of connections
(``CLIENTSIGNAL_DATABASE_CONNECTIONS``, 20) from the sockets' work, idle sockets hold none, a
page that queries is answered meanwhile, and another client's ping is not held up by a query.
Drivers that would block the worker (psycopg2 without psycogreen, mysqlclient) stop it from
starting, with the fix in the log and in ``manage.py check``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import django
import pytest

from tests.support.databases import MariaDBServer, PostgresServer, available
from tests.support.servers import REPO, GunicornServer, wait_for
from tests.support.sockjs import SignalClient

pytestmark = [pytest.mark.node, pytest.mark.timeout(120)]

PROJECT = Path(__file__).parent / "project"
SCRIPT = REPO / "tests" / "node" / "many_calls.js"
BOUND = 20  # CLIENTSIGNAL_DATABASE_CONNECTIONS's default
SOCKETS = 300
NAP = 0.2
DATABASE = "site"


def _server(kind: str, factory: Callable[[], PostgresServer | MariaDBServer]) -> Iterator:
    missing = available(kind)
    if missing:
        pytest.fail(missing)
    with factory() as server:
        server.create_database(DATABASE)
        yield server


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    # Room for the bound, a page's connection and the tests' own; past it PostgreSQL refuses
    # ("too many clients already"), as it would a site that went over.
    yield from _server("postgresql", lambda: PostgresServer(max_connections=BOUND + 8))


@pytest.fixture(scope="module")
def mariadb() -> Iterator[MariaDBServer]:
    yield from _server("mariadb", lambda: MariaDBServer(max_connections=BOUND + 8))


def environment(vendor: str, port: int, driver: str, age: int = 0, pool: bool = False) -> dict:
    env = {
        "DJANGO_SETTINGS_MODULE": "dbproject.settings",
        "DBTEST_VENDOR": vendor,
        "DBTEST_PORT": str(port),
        "DBTEST_NAME": DATABASE,
        "DBTEST_DRIVER": driver,
        "DBTEST_CONN_MAX_AGE": str(age),
    }
    if pool:
        env["DBTEST_POOL"] = "1"
    return env


def manage(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT), str(REPO)]), **env},
        timeout=90,
        capture_output=True,
        text=True,
    )
    if check and done.returncode:
        raise AssertionError("manage.py %s failed:\n%s" % (" ".join(args), done.stderr))
    return done


class Watcher:
    """Polls the server's count of the site's connections every 10 ms; keeps the peak."""

    def __init__(self, count: Callable[[], int]) -> None:
        self.count = count
        self.peak = 0
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.count())
            except Exception as error:  # the server refused even this one: over its limit
                self.peak = max(self.peak, 10**6)
                self.error = error
            self._stop.wait(0.01)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def site_connections(database: PostgresServer | MariaDBServer) -> Callable[[], int]:
    if isinstance(database, PostgresServer):
        sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
    else:
        sql = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = %s"
    return lambda: int(database.execute(sql, (DATABASE,))[0][0])


def worker_sockets(server: GunicornServer, port: int) -> Callable[[], int]:
    """The TCP connections the gunicorn worker holds to the database's port, as the kernel
    sees them (the client side: MariaDB lists a connection its client closed a moment longer,
    which with CONN_MAX_AGE = 0 and a new connection per call counts some twice)."""
    assert server.proc is not None
    children = Path("/proc/%d/task/%d/children" % (server.proc.pid, server.proc.pid))
    [pid] = children.read_text().split()
    remote = ":%04X" % port

    def count() -> int:
        inodes = set()
        for fd in Path("/proc/%s/fd" % pid).iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        held = 0
        for table in ("tcp", "tcp6"):
            for line in Path("/proc/%s/net/%s" % (pid, table)).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[2].endswith(remote) and fields[3] == "01" and fields[9] in inodes:
                    held += 1
        return held

    return count


def queries_sleeping(database: PostgresServer | MariaDBServer) -> int:
    if isinstance(database, PostgresServer):
        sql = "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s"
        pattern = "SELECT pg_sleep%"
    else:
        sql = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE %s"
        pattern = "SELECT SLEEP%"
    return int(database.execute(sql, (pattern,))[0][0])


def timed_get(url: str) -> tuple[float, str]:
    started = time.monotonic()
    with urllib.request.urlopen(url, timeout=10) as response:
        body = response.read().decode()
    return time.monotonic() - started, body


def metric_lines(url: str) -> list[str]:
    request = urllib.request.Request(
        url + "/clientsignal/metrics", headers={"Authorization": "Bearer databases-tests"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode().splitlines()


def check_site(database: PostgresServer | MariaDBServer, env: dict, expect_after: int) -> None:
    """The burst, the page meanwhile, what stays open after, and a ping during a 1 s query."""
    count = site_connections(database)
    port = int(env["DBTEST_PORT"])
    manage(env, "migrate", "--noinput", "-v0")
    with GunicornServer("dbproject.wsgi:application", workers=1, env=env, cwd=PROJECT) as server:
        node = subprocess.Popen(
            ["node", str(SCRIPT), server.url + "/db", str(SOCKETS), "nap",
             json.dumps({"seconds": NAP}), "60000"],
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            # PostgreSQL lists its connections as they are; MariaDB, see worker_sockets.
            held = count if isinstance(database, PostgresServer) else worker_sockets(server, port)
            with Watcher(held) as watcher:
                assert json.loads(node.stdout.readline()) == {"opened": SOCKETS}
                # The burst is under way: a page that queries is answered meanwhile.
                wait_for(lambda: queries_sleeping(database) >= BOUND // 2, 10, "the burst")
                page_time, body = timed_get(server.url + "/users/")
                assert body == "0 users"
                summary = json.loads(node.stdout.readline())
            assert summary["answered"] == SOCKETS, summary
            assert summary["errors"] == [] and summary["closed"] == []
            assert page_time < 2.0, "the page took %.2f s" % page_time
            # The sockets' work never held more than the bound (one more: the page's own).
            assert watcher.peak <= BOUND + 1, (watcher.peak, watcher.error)
            # The 300 sockets are still open, idle: they hold no connection; what stays is what
            # the worker keeps for reuse (CONN_MAX_AGE, or Django's pool), within the bound.
            wait_for(lambda: count() <= expect_after, 2, "connections to be handed back")
            metrics = metric_lines(server.url)
            assert 'clientsignal_database_connections_bound{alias="default"} %d' % BOUND in metrics
            waits = [m for m in metrics if m.startswith("clientsignal_database_waits_total")]
            assert int(waits[0].split()[-1]) > 0  # the burst queued
        finally:
            node.stdin.close()
            node.wait(10)
        ping_during_a_long_query(database, server.url + "/db")
        assert "Traceback" not in server.log_text()


def ping_during_a_long_query(database: PostgresServer | MariaDBServer, url: str) -> None:
    napper, pinger = SignalClient(url), SignalClient(url)
    try:
        napper.start_call("nap", {"seconds": 1.0})
        wait_for(lambda: queries_sleeping(database) >= 1, 5, "the 1 s query")
        started = time.monotonic()
        pinger.start_call("ping")
        assert pinger.next_event() == {"reply": 1, "data": "pong"}
        waited = time.monotonic() - started
        assert waited < 0.1, "a ping waited %.3f s behind another client's query" % waited
        assert napper.next_event() == {"reply": 1, "data": 1.0}
    finally:
        napper.close()
        pinger.close()


needs_pool = pytest.mark.skipif(django.VERSION < (5, 1), reason="Django 5.1+ has the pool")


@pytest.mark.parametrize(
    "age, pool, expect_after",
    [
        pytest.param(0, False, 0, id="CONN_MAX_AGE=0"),
        pytest.param(60, False, BOUND, id="CONN_MAX_AGE=60"),
        # Django refuses CONN_MAX_AGE with its pool ("Pooling doesn't support persistent
        # connections"); the pool keeps for reuse the sockets' connections and the page's.
        pytest.param(0, True, BOUND + 1, id="pool", marks=needs_pool),
    ],
)
def test_psycopg3(postgres: PostgresServer, age: int, pool: bool, expect_after: int) -> None:
    check_site(
        postgres, environment("postgresql", postgres.port, "psycopg", age, pool), expect_after
    )


def test_psycopg2_with_psycogreen(postgres: PostgresServer) -> None:
    check_site(postgres, environment("postgresql", postgres.port, "psycopg2", 60), BOUND)


@pytest.mark.parametrize("age", [0, 60], ids=["CONN_MAX_AGE=0", "CONN_MAX_AGE=60"])
def test_pymysql(mariadb: MariaDBServer, age: int) -> None:
    check_site(mariadb, environment("mysql", mariadb.port, "pymysql", age), age and BOUND)


def test_sockets_that_authenticate_with_a_query(postgres: PostgresServer) -> None:
    """300 sockets open at once on a class whose get_user queries (0.05 s): its on_open is
    bounded as receivers are."""
    env = environment("postgresql", postgres.port, "psycopg", 60)
    count = site_connections(postgres)
    manage(env, "migrate", "--noinput", "-v0")
    with GunicornServer("dbproject.wsgi:application", workers=1, env=env, cwd=PROJECT) as server:
        node = subprocess.Popen(
            ["node", str(SCRIPT), server.url + "/checked", str(SOCKETS), "ping", "{}", "60000"],
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            with Watcher(count) as watcher:
                opened = json.loads(node.stdout.readline())
                summary = json.loads(node.stdout.readline())
        finally:
            node.stdin.close()
            node.wait(10)
        assert opened == {"opened": SOCKETS}, summary
        assert summary["answered"] == SOCKETS, summary
        assert watcher.peak <= BOUND, watcher.peak


@pytest.mark.parametrize(
    "vendor, driver, check, fix",
    [
        ("postgresql", "psycopg2-alone", "clientsignal.E060", "psycogreen"),
        ("mysql", "mysqlclient", "clientsignal.E061", "PyMySQL"),
    ],
)
def test_a_driver_that_blocks_the_worker_stops_it_from_starting(
    postgres: PostgresServer, mariadb: MariaDBServer, vendor: str, driver: str, check: str, fix: str
) -> None:
    port = postgres.port if vendor == "postgresql" else mariadb.port
    env = environment(vendor, port, driver)
    checked = manage(env, "check", check=False)
    assert checked.returncode != 0
    assert check in checked.stderr and fix in checked.stderr
    server = GunicornServer("dbproject.wsgi:application", workers=1, env=env, cwd=PROJECT)
    with pytest.raises(RuntimeError, match="exited at start"):
        server.start()
    log = server.log_text()
    assert check in log and fix in log
