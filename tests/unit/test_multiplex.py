"""Multiplexing in the sans-I/O core: channels to several endpoints in one SockJS session."""

from __future__ import annotations

import json

import pytest

from clientsignal.echo import CloseConnection, EchoConnection
from clientsignal.sockjs_protocol import (
    Request,
    SockJSConnection,
    SockJSOptions,
    SockJSServer,
    encode_message,
)
from clientsignal.sockjs_protocol.multiplex import Endpoint, Multiplexer


class Recorder(SockJSConnection):
    """Remembers what happened to it; greets on open; answers "close" by closing itself."""

    log: list[tuple[str, str, object]] = []

    def on_open(self, request):
        Recorder.log.append(("open", request.prefix, request.query_string))
        self.send("hello " + request.prefix)

    def on_message(self, message):
        Recorder.log.append(("message", self.session.topic, message))
        if message == "close":
            self.close(4001, "asked")

    def on_close(self):
        Recorder.log.append(("close", self.session.topic, self.session.close_code))


class Explodes(SockJSConnection):
    def on_open(self, request):
        raise RuntimeError("boom")


@pytest.fixture
def services():
    Recorder.log = []
    return {
        "/echo": SockJSServer(EchoConnection),
        "/rec": SockJSServer(Recorder, SockJSOptions(max_message_size=10)),
        "/close": SockJSServer(CloseConnection),
        "/boom": SockJSServer(Explodes),
    }


@pytest.fixture
def mux(services):
    def resolve(path):
        server = services.get(path)
        return None if server is None else Endpoint(server, path, {})

    srv = SockJSServer(Multiplexer(resolve))
    receiver = srv.open_websocket(Request("GET", "/0/m/websocket"), 0, raw=False)
    assert receiver.pull(0).chunks == ["o"]
    return srv, receiver


def send(mux, *messages):
    srv, receiver = mux
    srv.websocket_message(receiver.session, json.dumps(list(messages)), 0)
    return [json.loads(chunk[1:]) for chunk in receiver.pull(0).chunks]


def test_channels_to_two_endpoints_share_one_session(mux):
    assert send(mux, "sub,/echo", "sub,/rec") == [["sub,/echo", "sub,/rec", "msg,/rec,hello /rec"]]
    assert send(mux, "msg,/echo,a,b", "msg,/rec,x") == [["msg,/echo,a,b"]]
    assert Recorder.log == [("open", "/rec", ""), ("message", "/rec", "x")]
    srv, _ = mux
    assert srv.open_sessions() == 1


def test_the_channel_request_has_the_topic_path_and_query(mux):
    send(mux, "sub,/rec?token=abc#2")
    assert Recorder.log == [("open", "/rec", "token=abc")]


def test_unsubscribe_closes_the_channel_without_an_answer(mux, services):
    send(mux, "sub,/rec")
    assert send(mux, "uns,/rec") == []
    assert Recorder.log[-1] == ("close", "/rec", 3000)
    assert services["/rec"].open_sessions() == 0
    # A message to the closed channel is answered with its close, not delivered.
    assert send(mux, "msg,/rec,late") == [['uns,/rec,[4404,"No such endpoint"]']]
    # And it can be opened again on the same session.
    assert send(mux, "sub,/rec") == [["sub,/rec", "msg,/rec,hello /rec"]]


def test_the_server_closing_a_channel_leaves_the_others_open(mux, services):
    send(mux, "sub,/rec", "sub,/echo")
    assert send(mux, "msg,/rec,close") == [['uns,/rec,[4001,"asked"]']]
    assert send(mux, "msg,/echo,still here") == [["msg,/echo,still here"]]
    assert services["/rec"].open_sessions() == 0 and services["/echo"].open_sessions() == 1


def test_refusals_are_per_channel(mux, caplog):
    assert send(mux, "sub,/nowhere", "sub,/close", "sub,/boom", "sub,/echo") == [
        [
            'uns,/nowhere,[4404,"No such endpoint"]',
            "sub,/close",
            'uns,/close,[3000,"Go away!"]',
            "sub,/boom",
            'uns,/boom,[1011,"Internal error"]',
            "sub,/echo",
        ]
    ]
    assert "Explodes.on_open raised" in caplog.text
    assert send(mux, "msg,/echo,ok") == [["msg,/echo,ok"]]


def test_a_message_too_big_closes_its_channel_only(mux, services):
    send(mux, "sub,/rec", "sub,/echo")
    assert send(mux, "msg,/rec," + "x" * 11) == [['uns,/rec,[1009,"Message too big"]']]
    assert services["/rec"].counters.sessions_closed == 1
    assert send(mux, "msg,/echo,y") == [["msg,/echo,y"]]


def test_malformed_multiplex_messages_close_the_session(mux, caplog):
    send(mux, "sub,/rec")
    assert send(mux, "hello") == [[4400, "Malformed multiplex message"]]
    assert Recorder.log[-1] == ("close", "/rec", 4400)
    assert "malformed message 'hello'" in caplog.text


def test_closing_the_session_closes_every_channel(mux, services):
    send(mux, "sub,/rec", "sub,/echo")
    srv, receiver = mux
    srv.websocket_closed(receiver.session)
    assert Recorder.log[-1] == ("close", "/rec", 1002)
    assert all(server.open_sessions() == 0 for server in services.values())


def test_a_broadcast_literal_is_wrapped_not_re_encoded(mux, services):
    send(mux, "sub,/echo", "sub,/echo#2")
    literal = encode_message('{"event":"tick","data":"\u2028 ü"}')
    for channel in list(services["/echo"].channels):
        channel.send(None, literal)
    (frame,) = send(mux)
    assert sorted(frame) == sorted(
        [
            'msg,/echo,{"event":"tick","data":"\u2028 ü"}',
            'msg,/echo#2,{"event":"tick","data":"\u2028 ü"}',
        ]
    )


def test_channels_are_counted_by_their_own_service(mux, services):
    send(mux, "sub,/echo", "msg,/echo,abc")
    stats = services["/echo"].stats()
    assert stats["open"] == {"websocket (multiplexed)": 1}
    assert (stats["sessions_opened"], stats["messages_in"], stats["messages_out"]) == (1, 1, 1)


def test_channel_limit(mux):
    srv, receiver = mux
    receiver.session.connection.channel_limit = 2
    assert send(mux, "sub,/echo", "sub,/echo#2", "sub,/echo#3")[0][-1] == (
        'uns,/echo#3,[4429,"Too many channels"]'
    )
