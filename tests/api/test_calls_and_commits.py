"""Calls that return the receivers' answers, and messages sent inside a transaction delivered
when it commits: through the real SockJS core, the real signals and the in-process backend."""

from __future__ import annotations

import json

import pytest
from django.db import transaction
from django.dispatch import receiver

import clientsignal
from clientsignal import Signal, SignalConnection


def fresh_class():
    class Api(SignalConnection):
        pass

    return Api


def call(client, event, data, call_id=1):
    client.send(None, raw=json.dumps({"event": event, "data": data, "call": call_id}))
    return client.events()


def test_a_call_resolves_with_what_the_receiver_returned(client_for):
    Api = fresh_class()
    add = Signal(providing_args=["a", "b"])
    Api.listen("add", add)

    @receiver(add, weak=False)
    def adding(sender, a, b, **kwargs):
        return {"sum": a + b}

    client = client_for(Api)
    assert call(client, "add", {"a": 2, "b": 3}, call_id=7) == [{"reply": 7, "data": {"sum": 5}}]
    assert call(client, "add", {"a": 1, "b": 1}, call_id="x1") == [
        {"reply": "x1", "data": {"sum": 2}}
    ]


def test_several_answers_come_as_a_list_and_none_as_null(client_for):
    Api = fresh_class()
    ask = Signal(providing_args=[])
    Api.listen("ask", ask)
    client = client_for(Api)
    assert call(client, "ask", {}) == [{"reply": 1, "data": None}]  # no receiver answers

    ask.connect(lambda sender, **kw: "first", weak=False)
    ask.connect(lambda sender, **kw: None, weak=False)  # says nothing: not an answer
    assert call(client, "ask", {}) == [{"reply": 1, "data": "first"}]
    ask.connect(lambda sender, **kw: 2, weak=False)
    assert call(client, "ask", {}) == [{"reply": 1, "data": ["first", 2]}]


def test_a_raising_receiver_rejects_the_call_with_a_safe_message(client_for, caplog):
    Api = fresh_class()
    boom = Signal(providing_args=[])
    Api.listen("boom", boom)

    @receiver(boom, weak=False)
    def fails(sender, **kwargs):
        raise RuntimeError("the database password is hunter2")

    client = client_for(Api)
    events = call(client, "boom", {})
    assert events == [{"reply": 1, "error": {"message": "internal error handling 'boom'"}}]
    assert "hunter2" not in json.dumps(events)
    assert "hunter2" in caplog.text and "Traceback" in caplog.text  # the log has it all


@pytest.mark.parametrize(
    "event,data,message",
    [
        ("nope", {}, "unknown event 'nope'"),
        ("guarded", {"secret": 1}, "event 'guarded' does not accept secret"),
        ("guarded", {"room": "vault"}, "event 'guarded' is not allowed for AnonymousUser"),
    ],
)
def test_a_refused_call_is_rejected_with_the_error_a_send_gets(client_for, event, data, message):
    class Guarded(SignalConnection):
        def allow(self, event, data):
            return data.get("room") != "vault"

    Guarded.listen("guarded", Signal(providing_args=["room"]))
    client = client_for(Guarded)
    assert call(client, event, data) == [{"reply": 1, "error": {"message": message}}]
    # The same refusal of a plain send is an error event.
    client.send(event, data)
    assert client.events() == [{"event": "error", "data": {"message": message, "event": event}}]


@pytest.mark.parametrize("call_id", [True, {"an": "object"}, [1], "", "x" * 65, 2**60])
def test_a_malformed_call_id_is_refused(client_for, call_id):
    Api = fresh_class()
    Api.listen("ask", Signal())
    client = client_for(Api)
    client.send(None, raw=json.dumps({"event": "ask", "data": {}, "call": call_id}))
    [error] = client.events()
    assert error["event"] == "error" and "call id" in error["data"]["message"]


def test_an_answer_that_cannot_be_encoded_rejects_the_call(client_for, caplog):
    Api = fresh_class()
    ask = Signal()
    Api.listen("ask", ask)
    ask.connect(lambda sender, **kw: object(), weak=False)
    client = client_for(Api)
    assert call(client, "ask", {}) == [{"reply": 1, "error": {"message": "unencodable answer"}}]
    assert "cannot encode the answer" in caplog.text


# -- on commit --------------------------------------------------------------------------------


@pytest.fixture
def news():
    Api = fresh_class()
    signal = Signal(providing_args=["n"])
    Api.broadcast("news", signal)
    return Api, signal


def test_a_broadcast_in_a_transaction_waits_for_the_commit(client_for, news):
    Api, signal = news
    client = client_for(Api)
    with transaction.atomic():
        signal.send(sender=None, n=1)
        assert client.events() == []  # not yet: the transaction may still roll back
    assert client.events() == [{"event": "news", "data": {"n": 1, "sender": None}}]


def test_a_broadcast_in_a_rolled_back_transaction_is_never_delivered(client_for, news):
    Api, signal = news
    client = client_for(Api)
    with pytest.raises(RuntimeError), transaction.atomic():
        signal.send(sender=None, n=1)
        raise RuntimeError("rolled back")
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():  # a savepoint rolled back
            signal.send(sender=None, n=2)
            raise RuntimeError("inner")
        signal.send(sender=None, n=3)
    assert client.events() == [{"event": "news", "data": {"n": 3, "sender": None}}]


def test_outside_a_transaction_delivery_is_immediate(client_for, news):
    Api, signal = news
    client = client_for(Api)
    signal.send(sender=None, n=1)
    assert client.events() == [{"event": "news", "data": {"n": 1, "sender": None}}]


def test_a_registration_may_opt_out(client_for):
    Api = fresh_class()
    signal = Signal()
    Api.broadcast("now", signal, on_commit=False)
    client = client_for(Api)
    with transaction.atomic():
        signal.send(sender=None)
        assert client.events() == [{"event": "now", "data": {"sender": None}}]


def test_targeted_messages_wait_for_the_commit_too(client_for):
    Api = fresh_class()
    client = client_for(Api)
    client.connection.join("g")
    with transaction.atomic():
        clientsignal.send_to_group("g", "to-group", {"n": 1})
        clientsignal.send_to_connection(client.connection.id, "to-me", {"n": 2})
        Api.send_to_url({}, "to-url", {"n": 3})  # no URL arguments: nobody, after commit
        clientsignal.send_to_group("g", "now", {}, on_commit=False)
        assert [e["event"] for e in client.events()] == ["now"]
    assert [e["event"] for e in client.events()] == ["to-group", "to-me"]


def test_the_data_is_taken_when_sent_not_when_committed(client_for, news):
    Api, signal = news
    client = client_for(Api)
    payload = {"items": [1]}
    with transaction.atomic():
        Api.publish("news", payload)
        payload["items"].append(2)
    assert client.events() == [{"event": "news", "data": {"items": [1]}}]
