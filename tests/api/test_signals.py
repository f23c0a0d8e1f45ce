"""The clientsignal API: registries, broadcast, listen, refusal, auth, encoding."""

from __future__ import annotations

import datetime
import decimal
import json
import logging
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.dispatch import receiver
from django.test import Client as DjangoClient
from django.test import override_settings
from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st

import clientsignal
from clientsignal import BaseSignalConnection, Signal, SignalConnection, SignalEncoder, encoding


def fresh_classes():
    class Parent(SignalConnection):
        pass

    class Child(Parent):
        pass

    class Sibling(Parent):
        pass

    return Parent, Child, Sibling


# -- registries -------------------------------------------------------------------------------


def test_registries_are_per_class():
    Parent, Child, Sibling = fresh_classes()
    parent_signal, child_signal = Signal(), Signal()
    Parent.listen("p", parent_signal)
    Child.listen("c", child_signal)
    assert Parent.listeners() == {"p": parent_signal}
    assert Child.listeners() == {"p": parent_signal, "c": child_signal}
    assert Sibling.listeners() == {"p": parent_signal}
    Child.broadcast("b", child_signal)
    assert "b" in Child.broadcasts() and "b" not in Parent.broadcasts()
    assert "b" not in Sibling.broadcasts()


def test_module_level_registration_is_on_signal_connection():
    signal = Signal()
    clientsignal.listen("module-level", signal)
    Parent, _, _ = fresh_classes()

    class Isolated(BaseSignalConnection):
        pass

    assert SignalConnection.listeners()["module-level"] is signal
    assert Parent.listeners()["module-level"] is signal
    assert "module-level" not in Isolated.listeners()
    del SignalConnection.__dict__["_clientsignal_listen"]["module-level"]


# -- broadcast -------------------------------------------------------------------------------


def test_broadcast_reaches_the_class_and_its_subclasses_only(client_for):
    Parent, Child, Sibling = fresh_classes()
    pong = Signal(providing_args=["pong"])
    Child.broadcast("pong", pong)
    child, grandchild_client = client_for(Child), client_for(type("G", (Child,), {}))
    parent, sibling = client_for(Parent), client_for(Sibling)
    pong.send(sender=None, pong="Ponged")
    expected = [{"event": "pong", "data": {"pong": "Ponged", "sender": None}}]
    assert child.events() == expected
    assert grandchild_client.events() == expected
    assert parent.events() == [] and sibling.events() == []


def test_broadcast_is_encoded_once_per_signal(client_for, monkeypatch):
    Parent, _, _ = fresh_classes()
    tick = Signal()
    Parent.broadcast("tick", tick)
    clients = [client_for(Parent) for _ in range(5)]
    calls = []
    real = encoding.dumps
    monkeypatch.setattr(encoding, "dumps", lambda *a, **k: calls.append(1) or real(*a, **k))
    tick.send(sender=None, n=1)
    assert len(calls) == 1
    assert all(c.events() == [{"event": "tick", "data": {"n": 1, "sender": None}}] for c in clients)


def test_sender_connection_gets_no_echo(client_for):
    Parent, _, _ = fresh_classes()
    said = Signal()
    Parent.broadcast("said", said)
    me, other = client_for(Parent), client_for(Parent)
    said.send(sender=me.connection, text="hi")
    assert me.events() == []
    assert other.events() == [{"event": "said", "data": {"text": "hi", "sender": None}}]


def test_closed_connections_leave_the_backend(client_for):
    Parent, _, _ = fresh_classes()
    tick = Signal()
    Parent.broadcast("tick", tick)
    client = client_for(Parent)
    backend = Parent.get_backend()
    assert backend.hub.count() == 1
    client.session.close()
    assert backend.hub.count() == 0
    tick.send(sender=None)


def test_encoder_failure_is_logged_not_raised(client_for, caplog):
    Parent, _, _ = fresh_classes()
    tick = Signal()
    Parent.broadcast("tick", tick)
    client = client_for(Parent)
    tick.send(sender=None, value=object())
    assert "cannot encode event 'tick'" in caplog.text
    assert client.events() == []


# -- listen ----------------------------------------------------------------------------------


def record(signal):
    calls = []

    @receiver(signal, weak=False)
    def handler(sender, **kwargs):
        calls.append((sender, kwargs))

    return calls


def test_listen_fires_with_the_anonymous_user(client_for):
    Parent, _, _ = fresh_classes()
    ping = Signal(providing_args=["ping"])
    Parent.listen("ping", ping)
    calls = record(ping)
    client = client_for(Parent)
    client.send("ping", {"ping": "x"})
    ((sender, kwargs),) = calls
    assert isinstance(sender, AnonymousUser)
    assert kwargs["ping"] == "x" and kwargs["connection"] is client.connection


def test_listen_fires_with_the_logged_in_user(client_for):
    Parent, _, _ = fresh_classes()
    ping = Signal(providing_args=["ping"])
    Parent.listen("ping", ping)
    calls = record(ping)
    user = User.objects.create_user("alice-%s" % uuid.uuid4().hex[:6], password="x")
    browser = DjangoClient()
    browser.force_login(user)
    client = client_for(Parent, cookies={"sessionid": browser.cookies["sessionid"].value})
    client.send("ping", {"ping": "x"})
    assert calls[0][0] == user
    assert client.connection.user == user


def test_receiver_can_answer_its_client(client_for):
    Parent, _, _ = fresh_classes()
    ping = Signal(providing_args=["ping"])
    Parent.listen("ping", ping)

    @receiver(ping, weak=False)
    def answer(sender, connection, ping, **kwargs):
        connection.send("pong", {"got": ping})

    client, other = client_for(Parent), client_for(Parent)
    client.send("ping", {"ping": "x"})
    assert client.events() == [{"event": "pong", "data": {"got": "x"}}]
    assert other.events() == []


@pytest.mark.parametrize(
    "raw,fragment",
    [
        ('{"event": "nope", "data": {}}', "unknown event 'nope'"),
        ('{"event": "ping", "data": [1]}', "must be an object"),
        ('{"event": "ping", "data": {"ping": 1, "extra": 2}}', "does not accept extra"),
        ('{"event": "ping", "data": {"connection": 1}}', "does not accept connection"),
        ('{"event": "ping", "data": {"sender": 1}}', "does not accept sender"),
        ("{broken", "not JSON"),
        ("[1, 2]", "malformed message"),
    ],
)
def test_refused_input(client_for, caplog, raw, fragment):
    Parent, _, _ = fresh_classes()
    ping = Signal(providing_args=["ping"])
    Parent.listen("ping", ping)
    calls = record(ping)
    client = client_for(Parent)
    with caplog.at_level(logging.WARNING, logger="clientsignal"):
        client.send(None, raw=raw)
    (error,) = client.events()
    assert error["event"] == "error" and fragment in error["data"]["message"]
    assert fragment in caplog.text
    assert calls == []
    client.send("ping", {"ping": "still works"})
    assert calls[0][1]["ping"] == "still works"


def test_failing_receiver_is_logged_and_others_run(client_for, caplog):
    Parent, _, _ = fresh_classes()
    ping = Signal()
    Parent.listen("ping", ping)

    @receiver(ping, weak=False)
    def broken(sender, **kwargs):
        raise RuntimeError("boom")

    calls = record(ping)
    client = client_for(Parent)
    client.send("ping", {"a": 1})
    assert len(calls) == 1
    assert "receiver" in caplog.text and "'ping' raised" in caplog.text
    assert not client.session.is_closed


def test_login_required_closes_anonymous_sessions(client_for):
    class Private(SignalConnection):
        login_required = True

    client = client_for(Private)
    # Rejected, not opened then closed: the client library never reports it open.
    assert client.first == [b'c[4401,"Login required"]\n']


def test_request_of_the_connection(client_for):
    Parent, _, _ = fresh_classes()
    client = client_for(
        Parent, cookies={"theme": "dark"}, query="room=7", headers={"X-Thing": "1"},
        remote_addr="10.9.8.7",
    )  # fmt: skip
    request = client.connection.request
    assert request.COOKIES["theme"] == "dark"
    assert request.GET["room"] == "7"
    assert request.headers["X-Thing"] == "1"
    assert request.META["REMOTE_ADDR"] == "10.9.8.7"


def test_request_is_dropped_once_open_and_built_again_with_the_same_user(client_for):
    Parent, _, _ = fresh_classes()
    client = client_for(Parent, cookies={"theme": "dark"}, query="room=7")
    connection = client.connection
    # An idle connection holds no Django request (its environ, META, cookies) of its own.
    assert connection._request is None
    request = connection.request
    assert request is connection.request  # built once, then kept
    assert request.user is connection.user  # not authenticated again
    assert request.COOKIES["theme"] == "dark"
    assert request.GET["room"] == "7"


def test_signal_keeps_providing_args():
    assert Signal(providing_args=["a", "b"]).providing_args == frozenset({"a", "b"})
    assert Signal().providing_args is None


# -- encoding ---------------------------------------------------------------------------------


def test_signal_encoder():
    user = User(pk=5, username="bob")
    value = {
        "user": user,
        "anonymous": AnonymousUser(),
        "when": datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
        "day": datetime.date(2020, 1, 2),
        "price": decimal.Decimal("1.10"),
        "id": uuid.UUID(int=1),
        "lazy": gettext_lazy("hello"),
        "tags": {"a"},
    }
    assert json.loads(json.dumps(value, cls=SignalEncoder)) == {
        "user": {"id": 5, "username": "bob"},
        "anonymous": None,
        "when": "2020-01-02T03:04:05Z",
        "day": "2020-01-02",
        "price": "1.10",
        "id": "00000000-0000-0000-0000-000000000001",
        "lazy": "hello",
        "tags": ["a"],
    }


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False,
    allow_infinity=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)  # fmt: skip


@given(JSON)
def test_fast_path_matches_the_json_module(value):
    assert json.loads(encoding.dumps(value)) == json.loads(json.dumps(value))


@pytest.mark.parametrize("number", [float("nan"), float("inf"), -float("inf")])
def test_nan_and_infinities_are_not_json(number):
    # ujson would write them as NaN and Infinity, which no JSON parser accepts.
    with pytest.raises(ValueError):
        encoding.dumps({"x": number})


def test_a_broadcast_of_an_infinity_is_logged_not_sent(client_for, caplog):
    Parent, _, _ = fresh_classes()
    tick = Signal()
    Parent.broadcast("tick", tick)
    client = client_for(Parent)
    tick.send(sender=None, value=float("inf"))
    assert "cannot encode event 'tick'" in caplog.text
    assert client.events() == []


@pytest.mark.parametrize("text", ["1e999", "-1e999", "NaN", "Infinity", "1" + "0" * 400 + ".0"])
def test_a_client_number_that_is_not_finite_is_refused(client_for, text):
    Parent, _, _ = fresh_classes()
    ping = Signal()
    Parent.listen("ping", ping)
    calls = record(ping)
    client = client_for(Parent)
    client.send(None, raw='{"event": "ping", "data": {"n": %s}}' % text)
    assert calls == []
    assert client.events() == [
        {"event": "error", "data": {"message": "malformed message: not JSON", "event": None}}
    ]


class Money:
    def __init__(self, cents):
        self.cents = cents


class MoneyEncoder(SignalEncoder):
    def default(self, o):
        if isinstance(o, Money):
            return {"cents": o.cents}
        return super().default(o)


def mark_hook(obj):
    return {**obj, "hooked": True}


def test_encoder_and_hook_settings(client_for):
    with override_settings(
        CLIENTSIGNAL_JSON_ENCODER="tests.api.test_signals.MoneyEncoder",
        CLIENTSIGNAL_JSON_OBJECT_HOOK="tests.api.test_signals.mark_hook",
    ):
        Parent, _, _ = fresh_classes()
        paid, ping = Signal(), Signal()
        Parent.broadcast("paid", paid)
        Parent.listen("ping", ping)
        calls = record(ping)
        client = client_for(Parent)
        paid.send(sender=None, amount=Money(5))
        assert client.events()[0]["data"]["amount"] == {"cents": 5}
        client.send("ping", {"n": 1})
        assert calls[0][1]["n"] == 1 and calls[0][1]["hooked"] is True


def test_per_class_encoder_overrides_the_setting(client_for):
    class Priced(SignalConnection):
        json_encoder = MoneyEncoder

    paid = Signal()
    Priced.broadcast("paid", paid)
    client = client_for(Priced)
    paid.send(sender=None, amount=Money(7))
    assert client.events()[0]["data"]["amount"] == {"cents": 7}


# -- groups, users, single connections ----------------------------------------------------------


def test_groups(client_for):
    Parent, Child, _ = fresh_classes()
    a, b, c = client_for(Parent), client_for(Child), client_for(Parent)
    a.connection.join("room-7")
    b.connection.join("room-7")
    clientsignal.send_to_group("room-7", "said", {"text": "hi"})
    expected = [{"event": "said", "data": {"text": "hi"}}]
    assert a.events() == expected and b.events() == expected and c.events() == []
    a.connection.leave("room-7")
    clientsignal.send_to_group("room-7", "said", {"text": "again"})
    assert a.events() == [] and b.events() == [{"event": "said", "data": {"text": "again"}}]


def test_user_and_connection_targets(client_for):
    Parent, _, _ = fresh_classes()
    user = User.objects.create_user("carol-%s" % uuid.uuid4().hex[:6], password="x")
    browser = DjangoClient()
    browser.force_login(user)
    cookies = {"sessionid": browser.cookies["sessionid"].value}
    tab1, tab2, stranger = (
        client_for(Parent, cookies=cookies),
        client_for(Parent, cookies=cookies),
        (client_for(Parent)),
    )
    clientsignal.send_to_user(user, "dm", {"text": "for carol"})
    expected = [{"event": "dm", "data": {"text": "for carol"}}]
    assert tab1.events() == expected and tab2.events() == expected and stranger.events() == []
    clientsignal.send_to_connection(tab2.connection.id, "only", {"n": 1})
    assert tab1.events() == [] and tab2.events() == [{"event": "only", "data": {"n": 1}}]
    tab2.session.close()
    clientsignal.send_to_user(user.pk, "dm", {"text": "again"})
    assert tab1.events() == [{"event": "dm", "data": {"text": "again"}}]


# -- authorization -----------------------------------------------------------------------------


def logged_in(client_for, cls, **user_fields):
    user = User.objects.create_user("u-%s" % uuid.uuid4().hex[:8], password="x", **user_fields)
    browser = DjangoClient()
    browser.force_login(user)
    return client_for(cls, cookies={"sessionid": browser.cookies["sessionid"].value})


def test_allow_hook_refuses_a_listen_event(client_for, caplog):
    class Guarded(SignalConnection):
        def allow(self, event, data):
            return data.get("room") != "secret"

    ping = Signal(providing_args=["room"])
    Guarded.listen("enter", ping)
    calls = record(ping)
    client = client_for(Guarded)
    client.send("enter", {"room": "secret"})
    (error,) = client.events()
    assert error["event"] == "error" and "not allowed" in error["data"]["message"]
    client.send("enter", {"room": "lobby"})
    assert [kwargs["room"] for _, kwargs in calls] == ["lobby"]


@pytest.mark.parametrize("history", [None, {"size": 10, "ttl": 60}], ids=["plain", "history"])
def test_an_accepts_that_raises_keeps_the_message_from_that_connection_only(
    client_for, caplog, history
):
    class Picky(SignalConnection):
        def accepts(self, event):
            if self.kwargs.get("broken"):
                raise LookupError("a row accepts() reads is gone")
            return True

    Picky.history = history
    tick = Signal()
    Picky.broadcast("tick", tick)
    before = client_for(Picky)
    broken = client_for(Picky)
    broken.connection.kwargs["broken"] = True
    after = client_for(Picky)
    with caplog.at_level(logging.ERROR, "clientsignal"):
        tick.send(sender=None, n=1)  # the sender sees no error
        tick.send(sender=None, n=2)
    for client in (before, after):
        assert [e["data"]["n"] for e in client.events() if e.get("event") == "tick"] == [1, 2]
    assert [e for e in broken.events() if e.get("event") == "tick"] == []
    logged = [r for r in caplog.records if "Picky.accepts('tick') raised" in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info  # once per episode, with its traceback


def test_an_allow_that_raises_answers_the_call_with_an_internal_error(client_for, caplog):
    class Fragile(SignalConnection):
        def allow(self, event, data):
            raise LookupError("a row allow() reads is gone")

    ping = Signal()
    Fragile.listen("ping", ping)
    calls = record(ping)
    client = client_for(Fragile)
    client.events()
    with caplog.at_level(logging.ERROR, "clientsignal"):
        client.send(None, raw=json.dumps({"event": "ping", "data": {}, "call": 7}))
        client.send("ping", {})
    assert client.events() == [
        {"reply": 7, "error": {"message": "internal error handling 'ping'"}},
        {"event": "error", "data": {"message": "internal error handling 'ping'", "event": "ping"}},
    ]
    assert calls == []
    assert "Fragile.allow('ping') raised" in caplog.text


def test_only_staff_receive_audit_events(client_for):
    class Dashboard(SignalConnection):
        def accepts(self, event):
            return event != "audit" or self.user.is_staff

    audit, news = Signal(), Signal()
    Dashboard.broadcast("audit", audit)
    Dashboard.broadcast("news", news)
    staff = logged_in(client_for, Dashboard, is_staff=True)
    member = logged_in(client_for, Dashboard)
    audit.send(sender=None, what="login")
    news.send(sender=None, what="hello")
    assert [e["event"] for e in staff.events()] == ["audit", "news"]
    assert [e["event"] for e in member.events()] == ["news"]
    clientsignal.send_to_user(member.connection.user, "audit", {"what": "direct"})
    assert member.events() == []


def test_permission_required(client_for):
    class Admins(SignalConnection):
        permission_required = ("auth.change_user",)

    member = logged_in(client_for, Admins)
    assert member.first == [b'c[4403,"Forbidden"]\n']
    superuser = logged_in(client_for, Admins, is_superuser=True)
    assert superuser.first == [b"o\n"]
    assert superuser.events() == []
    assert not superuser.session.is_closed
