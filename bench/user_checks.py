"""What checking logged-in users again costs: ``python -m bench.user_checks [sessions]``.

- One check (``check_user``): the queries it makes and its time, through the real core,
  Django's database session engine and ``ModelBackend``, on in-memory SQLite (a server
  database adds a network round trip per query).
- The worker's sweep (``reauthentication.sweep``, every second): its time over ``sessions``
  open logged-in sessions when none is due (every second of every worker), and when all are
  (the checks then run at once here, one after the other).
- A connection's memory: the due time is one slot of the connection and one float.

Prints JSON.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def _django() -> None:
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="clientsignal-bench",
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "clientsignal",
        ],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": "file:user-checks?mode=memory&cache=shared",
            }
        },
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)


def user_checks(sessions: int = 10_000) -> dict[str, Any]:
    _django()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    from clientsignal import SignalConnection, reauthentication
    from clientsignal.sockjs_protocol import Request, SockJSServer

    class Checked(SignalConnection):
        login_required = True
        user_check_interval = 60.0

    server = SockJSServer(Checked)
    users = [User.objects.create_user("bench%d" % n, password="pw") for n in range(100)]
    cookies = []
    for user in users:
        browser = DjangoClient()
        browser.force_login(user)
        cookies.append(browser.cookies["sessionid"].value)
    for n in range(sessions):
        request = Request(
            "POST",
            "/0/s%d/xhr" % n,
            headers={"cookie": "sessionid=%s; sockjs_key=k%d" % (cookies[n % 100], n)},
            remote_addr="10.0.%d.%d" % (n // 250, n % 250),
            prefix="/bench",
        )
        server.handle(request, 0)
    connections = [s.connection for s in server.sessions()]
    assert len(connections) == sessions and not any(c.is_closed for c in connections)

    with CaptureQueriesContext(connection) as queries:
        assert connections[0].check_user()
    started = time.perf_counter()
    idle_rounds = 20
    for _ in range(idle_rounds):
        assert reauthentication.sweep([server], time.monotonic()) == 0
    idle = (time.perf_counter() - started) / idle_rounds
    started = time.perf_counter()
    due = reauthentication.sweep([server], time.monotonic() + 60.0)
    all_due = time.perf_counter() - started
    assert due == sessions and not any(c.is_closed for c in connections)
    return {
        "sessions": sessions,
        "queries_per_check": len(queries.captured_queries),
        "query_tables": sorted({q["sql"].split('FROM "')[1].split('"')[0] for q in queries}),
        "check_us_sqlite": round(all_due / sessions * 1e6),
        "sweep_ms_none_due": round(idle * 1000, 2),
        "sweep_s_all_due": round(all_due, 2),
        "checks_per_second_at_60s_per_10000": round(10_000 / 60.0, 1),
    }


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    print(json.dumps(user_checks(count), indent=1))
