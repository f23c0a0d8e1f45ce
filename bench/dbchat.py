"""The dbchat scenario: a chat whose every message is saved as a row in PostgreSQL, then sent
to its room; clientsignal against Channels + daphne + channels_redis on the same PostgreSQL.

One PostgreSQL for the whole run, started from Debian's binaries on a free port
(tests/support/databases.py), ``max_connections`` the same for every contender. For each
contender the database ``chat`` is made anew and migrated by the contender's own Django
project (the same ``Message`` model, table ``chat_message``), the same ``DATABASES`` (psycopg 3,
``CONN_MAX_AGE``), then bench/chat.js runs rooms × clients (after a warm-up line from each):

- fixed rates, rising (20, 50, 100, 200, 400, 800 messages/s in all by default, each client
  at the same rate whatever the answers): latency from the send to each member's receipt, and
  until every member has it; the steps stop after the first that is not sustained (a message
  not delivered to every member, or fewer than 80 % of the rate delivered a second);
- a closed loop: each client says its next line as soon as its last came back to it: how many
  messages a second are saved and delivered to the whole room.

Meanwhile a thread counts the contender's connections in ``pg_stat_activity`` every 20 ms
(the peak, and those still open once the load's clients have gone); after each phase, the rows
the phase added are counted against the messages the clients had acknowledged.

    python -m bench --scenarios dbchat [--quick] [--write]
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from bench.contenders import DjangoContender, chat_contenders
from tests.support.databases import PostgresServer, available

ROOT = Path(__file__).resolve().parents[1]
CHAT = ROOT / "bench" / "chat.js"
DATABASE = "chat"
BENCH_APP = "bench-dbchat"  # application_name of the bench's own connections, not counted
P99_LIMIT_MS = 100.0  # the summary's "sustained with p99 under" limit, as bench/crossprocess.py


def log(*parts: object) -> None:
    import sys

    print(*parts, file=sys.stderr, flush=True)


class ConnectionWatcher:
    """Counts the connections to DATABASE (the bench's own excepted) every 20 ms, on one
    connection of its own to another database; keeps the peak since the last ``take()``."""

    def __init__(self, server: PostgresServer) -> None:
        self._connection = _connect(server, "postgres")
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._peak = 0
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def count(self) -> int:
        cursor = self._connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name <> %s",
            (DATABASE, BENCH_APP),
        )
        return int(cursor.fetchone()[0])

    def _watch(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                self._peak = max(self._peak, self.count())
            self._stop.wait(0.02)

    def take(self) -> int:
        """The peak since the last call, and start a new one."""
        with self._lock:
            peak, self._peak = self._peak, 0
        return peak

    def now(self) -> int:
        with self._lock:
            return self.count()

    def __enter__(self) -> ConnectionWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._connection.close()


def _connect(server: PostgresServer, dbname: str) -> Any:
    import psycopg

    return psycopg.connect(
        host="127.0.0.1", port=server.port, user="postgres", dbname=dbname, autocommit=True,
        connect_timeout=5, application_name=BENCH_APP,
    )  # fmt: skip


def rows(server: PostgresServer) -> int:
    with _connect(server, DATABASE) as connection:
        return int(connection.execute("SELECT count(*) FROM chat_message").fetchone()[0])


def fresh_database(server: PostgresServer) -> None:
    server.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % DATABASE)
    server.create_database(DATABASE)


def generate(contender: DjangoContender, args: Any, rate: float | None = None) -> dict:
    """bench/chat.js against the contender's rooms, at ``rate`` messages/s in all or in a
    closed loop: its JSON line."""
    command = ["node", str(CHAT), contender.ws_url, contender.mode, str(args.dbchat_rooms)]
    command += [str(args.dbchat_clients), "closed" if rate is None else "rate"]
    command += [str(args.dbchat_seconds)] + ([] if rate is None else ["%g" % rate])
    command.append(str(args.procs))
    try:
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=args.dbchat_seconds + 200
        )
    except subprocess.TimeoutExpired:
        return {"error": "chat.js timed out"}
    lines = done.stdout.strip().split("\n")
    if done.returncode != 0 or not lines[-1]:
        return {"error": done.stderr.strip()[-300:] or "no output"}
    return json.loads(lines[-1])


def sustained(run: dict) -> bool:
    """Every message reached every member, and the rate was kept up with."""
    return (
        not run.get("error")
        and run["complete"] == run["sent"]
        and run["closed"] == 0
        and run["perSecond"] >= 0.8 * run["requested_rate"]
    )


def phase(
    contender: DjangoContender, server: PostgresServer, watcher: ConnectionWatcher, args: Any,
    rate: float | None,
) -> dict:  # fmt: skip
    """One run of chat.js, with the connections it took and the rows it left."""
    before = rows(server)
    watcher.take()
    run = generate(contender, args, rate)
    run["requested_rate"] = rate  # None: the closed loop
    run["peak_connections"] = watcher.take()
    run["rows"] = rows(server) - before
    # The warm-up's lines are rows too.
    run["acked_with_warmup"] = run.get("acked", 0) + run.get("warmup", {}).get("acked", 0)
    # The load's clients have gone: what the server still holds.
    run["connections_after"] = watcher.now()
    run["load_average"] = os.getloadavg()[0]
    log(contender.name, "dbchat", "closed loop" if rate is None else rate, json.dumps(run))
    return run


def measure(contender: DjangoContender, server: PostgresServer, args: Any) -> dict:
    """The rising rates, then the closed loop, against one contender, on a database of its
    own making."""
    fresh_database(server)
    contender.migrate()
    result: dict = {"steps": [], "closed": None}
    with contender, ConnectionWatcher(server) as watcher:
        log("==", contender.name, "dbchat", contender.ws_url)
        result["connections_at_start"] = watcher.now()
        for rate in args.dbchat_rates:
            run = phase(contender, server, watcher, args, rate)
            run["sustained"] = sustained(run)
            result["steps"].append(run)
            if not run["sustained"]:
                break  # past saturation a higher rate only queues more
        result["closed"] = phase(contender, server, watcher, args, None)
    ok = [r for r in result["steps"] if r["sustained"] and r["p99"] is not None]
    fast = [r["requested_rate"] for r in ok if r["p99"] < P99_LIMIT_MS]
    result["max_rate"] = max(fast, default=None)
    result["p99_limit_ms"] = P99_LIMIT_MS
    return result


def dbchat(args: Any, names: set[str] | None) -> dict:
    """Every chat contender (or those whose name contains one of ``names``) against one
    PostgreSQL started here."""
    missing = available("postgresql")
    if missing:
        return {"error": missing}
    started = time.monotonic()
    results: dict = {"contenders": {}, "max_connections": args.dbchat_max_connections}
    with PostgresServer(max_connections=args.dbchat_max_connections) as server:
        env = {
            "BENCH_DATABASE_PORT": str(server.port),
            "BENCH_DATABASE_NAME": DATABASE,
            "BENCH_CONN_MAX_AGE": str(args.dbchat_conn_max_age),
        }
        results["postgresql"] = server.execute("SHOW server_version")[0][0]
        for contender in chat_contenders(env, names):
            try:
                results["contenders"][contender.name] = measure(contender, server, args)
            except (RuntimeError, OSError, subprocess.SubprocessError) as error:
                log(contender.name, "dbchat failed:", error)
                results["contenders"][contender.name] = {"error": str(error)[:300]}
    results["seconds"] = round(time.monotonic() - started)
    return results
