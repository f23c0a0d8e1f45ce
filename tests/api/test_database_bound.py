"""The bound on database connections (clientsignal.databases.BoundedConnections) on its own,
with real Django connection objects (SQLite files) handed between real threads, as the socket
worker hands them between greenlets: first come first served, a timeout that fails like a
receiver, connections kept or closed as Django would at the end of a request, and pages that
never wait. tests/databases drives the whole of it on PostgreSQL and MariaDB."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.db.utils import load_backend

from clientsignal.databases import BoundedConnections, DatabaseBusy


def factory(tmp_path: Path, max_age: int | None) -> Any:
    backend = load_backend("django.db.backends.sqlite3")
    settings = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(tmp_path / "db.sqlite3"),
        "CONN_MAX_AGE": max_age,
        "CONN_HEALTH_CHECKS": False,
        "AUTOCOMMIT": True,
        "ATOMIC_REQUESTS": False,
        "OPTIONS": {},
        "TIME_ZONE": None,
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
        "TEST": {},
    }
    return lambda alias: backend.DatabaseWrapper(dict(settings), alias)


def query(wrapper: Any) -> None:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT 1")


def test_code_beyond_the_bound_waits_its_turn_in_order(tmp_path: Path) -> None:
    bound = BoundedConnections("default", 1, 10, factory(tmp_path, 0))
    held = [bound.take()]
    order: list[int] = []

    def later(n: int) -> None:
        wrapper = bound.take()
        order.append(n)
        query(wrapper)
        bound.give_back(wrapper)

    threads = []
    for n in range(5):
        thread = threading.Thread(target=later, args=(n,))
        thread.start()
        threads.append(thread)
        deadline = time.monotonic() + 5
        while len(bound._waiting) < n + 1 and time.monotonic() < deadline:
            time.sleep(0.001)  # until this one queues: arrivals in a known order
    assert bound.waited == 5 and order == []
    for wrapper in held:
        bound.give_back(wrapper)
    for thread in threads:
        thread.join(5)
    assert order == [0, 1, 2, 3, 4]
    assert bound.in_use == 0 and bound.timeouts == 0


def test_waiting_past_the_timeout_fails_like_a_receiver(tmp_path: Path) -> None:
    bound = BoundedConnections("default", 1, 0.05, factory(tmp_path, 0))
    wrapper = bound.take()
    with pytest.raises(DatabaseBusy, match="CLIENTSIGNAL_DATABASE_CONNECTIONS"):
        bound.take()
    assert bound.timeouts == 1 and not bound._waiting
    bound.give_back(wrapper)
    assert bound.in_use == 0
    bound.give_back(bound.take())  # the place it held is free again


def test_connections_are_kept_or_closed_as_at_the_end_of_a_request(tmp_path: Path) -> None:
    # CONN_MAX_AGE = 0: closed when the code returns.
    bound = BoundedConnections("default", 2, 1, factory(tmp_path, 0))
    wrapper = bound.take()
    query(wrapper)
    bound.give_back(wrapper)
    assert wrapper.connection is None and bound.open_connections() == 0
    # CONN_MAX_AGE = 60: kept, and the same connection serves the next code.
    bound = BoundedConnections("default", 2, 1, factory(tmp_path, 60))
    wrapper = bound.take()
    query(wrapper)
    connection = wrapper.connection
    bound.give_back(wrapper)
    assert bound.open_connections() == 1
    again = bound.take()
    assert again is wrapper and again.connection is connection
    # Past its age, swept while idle.
    bound.give_back(again)
    wrapper.close_at = time.monotonic() - 1
    bound.sweep()
    assert bound.open_connections() == 0


def test_a_connection_left_with_autocommit_off_is_closed(tmp_path: Path) -> None:
    bound = BoundedConnections("default", 1, 1, factory(tmp_path, 60))
    wrapper = bound.take()
    query(wrapper)
    connection = wrapper.connection
    wrapper.set_autocommit(False)  # and never restored: Django would not reuse it either
    bound.give_back(wrapper)
    assert wrapper.connection is None
    again = bound.take()
    query(again)
    assert again.connection is not connection and again.get_autocommit()
    bound.give_back(again)


def test_a_page_never_waits(tmp_path: Path) -> None:
    bound = BoundedConnections("default", 1, 10, factory(tmp_path, 60))
    socket_work = bound.take()
    started = time.monotonic()
    page, counted = bound.borrow()
    assert time.monotonic() - started < 0.5
    assert not counted and page is not socket_work
    query(page)
    bound.give_back(page, counted)
    # No room within the bound (the socket work holds it): the page's own is closed.
    assert page.connection is None
    query(socket_work)
    bound.give_back(socket_work)
    # An idle connection is there: the page borrows it, and gives it back.
    page, counted = bound.borrow()
    assert counted and page is socket_work
    bound.give_back(page, counted)
    assert bound.in_use == 0 and bound.open_connections() == 1
