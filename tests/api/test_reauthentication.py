"""A logged-in connection acts as its user only while its Django session authenticates them:
through the real core and the in-process backend, a password change, deactivation or deletion
of the user closes its connections at once (4401 "Session ended"), a deleted session is found
at the first event after the check interval (before the event is handled) or by the sweep,
``reauthenticate()`` applies the class's rules again, and saves that change nothing of the
login cost no query."""

from __future__ import annotations

import logging
import math
import time
import uuid

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.sessions.models import Session
from django.db import OperationalError, connection
from django.test import Client as DjangoClient
from django.test.utils import CaptureQueriesContext

import clientsignal
from clientsignal import Signal, SignalConnection, reauthentication
from clientsignal.backends import Envelope

SESSION_ENDED = 'c[4401,"Session ended"]'
fired: list[tuple[str, int]] = []
ping = Signal(providing_args=["n"])


def on_ping(sender, connection, n, **kwargs):
    fired.append((str(sender), n))
    connection.send("pong", {"n": n})


ping.connect(on_ping, weak=False)


class Private(SignalConnection):
    login_required = True


Private.listen("ping", ping)


@pytest.fixture(autouse=True)
def fresh():
    """Nothing of the last test is left (checks run in the caller: no worker here)."""
    fired.clear()
    yield
    User.objects.filter(username__startswith="re-").delete()


def log_in(client_for, cls=Private, user=None):
    """A user (made unless given) and an xhr-polling client of ``cls`` with a Django session
    of theirs; the Django test client holding that session."""
    if user is None:
        user = User.objects.create_user("re-" + uuid.uuid4().hex[:8])  # no password: no hashing
    browser = DjangoClient()
    browser.force_login(user)
    client = client_for(cls, cookies={"sessionid": browser.cookies["sessionid"].value})
    assert client.first == [b"o\n"], client.first
    return user, browser, client


def pinged(client, n):
    client.send("ping", {"n": n})
    return [e for e in client.events() if isinstance(e, dict) and e["event"] == "pong"]


def test_a_password_changed_elsewhere_closes_the_connections_at_once(client_for):
    user, _, client = log_in(client_for)
    _, _, other = log_in(client_for, user=user)
    assert pinged(client, 1)
    user.set_password("changed")
    user.save()
    for each in (client, other):
        assert each.events() == [SESSION_ENDED]
        assert each.connection.is_closed


@pytest.mark.parametrize("change", ["deactivated", "deleted"])
def test_a_deactivated_or_deleted_user_is_closed_at_once(client_for, change):
    user, _, client = log_in(client_for)
    if change == "deactivated":
        user.is_active = False
        user.save()
    else:
        user.delete()
    assert client.events() == [SESSION_ENDED]


def test_saves_that_change_nothing_of_the_login_cost_no_query(client_for):
    user, _, client = log_in(client_for)
    with CaptureQueriesContext(connection) as queries:
        user.save(update_fields=["last_login"])  # what every login does
        user.first_name = "Alice"
        user.save()  # same password, still active: compared, not checked
    assert not [q for q in queries.captured_queries if "django_session" in q["sql"]]
    assert not client.connection.is_closed
    assert pinged(client, 1)


def test_other_users_are_left_alone(client_for):
    user, _, client = log_in(client_for)
    _, _, bob = log_in(client_for)
    user.set_password("changed")
    user.save()
    assert client.events() == [SESSION_ENDED]
    assert pinged(bob, 2) and not bob.connection.is_closed


def test_a_deleted_session_is_found_at_the_first_event_after_the_interval(client_for):
    class Checked(Private):
        user_check_interval = 0.3

    user, browser, client = log_in(client_for, Checked)
    Session.objects.filter(session_key=browser.session.session_key).delete()  # no signal
    # Within the interval the connection still acts as its user (the documented bound)...
    assert pinged(client, 1) and fired == [(user.username, 1)]
    due = client.connection.user_checks.due
    assert 0.14 <= due - time.monotonic() <= 0.3  # the first check: 50 to 100 % of it
    time.sleep(max(0.0, due - time.monotonic()))
    # ...and its first event after it is checked first, and never handled.
    client.send("ping", {"n": 2})
    assert client.events() == [SESSION_ENDED]
    assert fired == [(user.username, 1)]


def test_a_class_that_checks_before_every_event(client_for):
    class Strict(Private):
        user_check_interval = 0

    user, browser, client = log_in(client_for, Strict)
    assert pinged(client, 1)
    browser.logout()  # Django deletes the session (and closes it anyway: Logged out)
    _, browser, client = log_in(client_for, Strict, user=user)
    Session.objects.filter(session_key=browser.session.session_key).delete()
    client.send("ping", {"n": 2})
    assert client.events() == [SESSION_ENDED]
    assert fired == [(user.username, 1)]


def test_the_sweep_checks_connections_that_send_nothing(client_for):
    class Checked(Private):
        user_check_interval = 30

    user, browser, client = log_in(client_for, Checked)
    _, _, kept = log_in(client_for, Checked)
    servers = [client.server, kept.server]
    assert reauthentication.sweep(servers, time.monotonic()) == 0  # none due yet
    Session.objects.filter(session_key=browser.session.session_key).delete()
    assert reauthentication.sweep(servers, time.monotonic() + 30) == 2
    assert client.events() == [SESSION_ENDED]
    assert not kept.connection.is_closed  # checked, still logged in: due again later
    assert kept.connection.user_checks.due > time.monotonic()


def test_reauthenticate_applies_the_class_rules_again(client_for):
    class Reports(SignalConnection):
        permission_required = ("auth.view_user",)

    user = User.objects.create_user("re-" + uuid.uuid4().hex[:8])
    user.user_permissions.add(Permission.objects.get(codename="view_user"))
    _, _, client = log_in(client_for, Reports, user=user)
    user.user_permissions.clear()  # clientsignal cannot see this...
    assert not client.connection.is_closed
    clientsignal.reauthenticate(user)  # ...until told
    assert client.events() == ['c[4403,"Forbidden"]']


def test_a_check_that_cannot_be_made_keeps_the_connection(client_for, caplog):
    class Flaky(Private):
        user_check_interval = 30
        broken = False

        def get_user(self, request):
            if self.broken:
                raise OperationalError("the database is away")
            return super().get_user(request)

    user, _, client = log_in(client_for, Flaky)
    Flaky.broken = True
    with caplog.at_level(logging.ERROR, logger="clientsignal"):
        clientsignal.reauthenticate(user)
    assert "could not check that" in caplog.text
    assert not client.connection.is_closed  # an outage does not log everyone out
    assert pinged(client, 1)
    retry = client.connection.user_checks.due - time.monotonic()
    assert 9 < retry <= reauthentication.RETRY_AFTER  # tried again later


def test_anonymous_connections_are_never_checked(client_for):
    client = client_for(SignalConnection)
    assert client.connection.user_checks.due == math.inf


def test_the_recheck_envelope_travels_as_bytes():
    for state in ("0123abcd", ""):
        envelope = Envelope(recheck=state)
        assert Envelope.from_bytes(envelope.to_bytes()) == envelope
    plain = Envelope('"x"', "event", "id")
    assert plain.to_bytes() == b'\n["event","id",null]\n"x"'  # unchanged without one
