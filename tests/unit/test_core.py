"""The sans-I/O SockJS core, driven without sockets and with an explicit clock."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clientsignal.echo import CloseConnection, EchoConnection
from clientsignal.sockjs_protocol import (
    BrokenJSON,
    PayloadExpected,
    Pull,
    Request,
    Response,
    SockJSConnection,
    SockJSOptions,
    SockJSServer,
    Stream,
    Upgrade,
    close_frame,
    decode_messages,
    encode_message,
    message_frame,
)
from clientsignal.sockjs_protocol.router import route

ESCAPED = [chr(c) for c in range(0x20)] + [
    chr(c)
    for lo, hi in ((0x200C, 0x200F), (0x2028, 0x202F), (0x2060, 0x206F), (0xFFF0, 0xFFFF))
    for c in range(lo, hi + 1)
]


def server(connection=EchoConnection, **options):
    return SockJSServer(connection, SockJSOptions(**options))


# One client's cookie: its sessions' later requests carry it (see test_binding.py).
CLIENT = {"cookie": "sockjs_key=one-client"}


def post(srv, path, now, body=b"", headers=None):
    return srv.handle(Request("POST", path, headers={**CLIENT, **(headers or {})}, body=body), now)


def get(srv, path, now, query="", headers=None):
    request = Request("GET", path, query_string=query, headers={**CLIENT, **(headers or {})})
    return srv.handle(request, now)


def poll(srv, session, now):
    """One xhr poll: the frames it carries, and the Pull that ended or paused it."""
    stream = post(srv, "/0/%s/xhr" % session, now)
    assert isinstance(stream, Stream)
    return stream.receiver, stream.receiver.pull(now)


# -- frames ---------------------------------------------------------------------------------


def test_frames():
    assert message_frame([encode_message("a"), encode_message('b"')]) == 'a["a","b\\""]'
    assert close_frame(3000, "Go away!") == 'c[3000,"Go away!"]'
    assert encode_message("ü😀") == '"ü😀"'


def test_server_escapes_the_protocol_ranges():
    literal = encode_message("".join(ESCAPED))
    assert not any(char in literal for char in ESCAPED)
    assert json.loads(literal) == "".join(ESCAPED)


def test_lone_surrogates_are_escaped():
    assert encode_message("\ud800") == '"\\ud800"'


@given(st.text())
def test_any_text_survives_a_frame(text):
    frame = message_frame([encode_message(text)])
    assert json.loads(frame[1:]) == [text]
    assert not any(char in frame for char in ESCAPED)


def test_decode_messages():
    assert decode_messages(b'["a","b"]') == ["a", "b"]
    assert decode_messages(b"[]") == []
    assert decode_messages('"a"', allow_bare_string=True) == ["a"]
    with pytest.raises(PayloadExpected):
        decode_messages(b"")
    for broken in (b'["a', b'"a"', b"[1]", b'{"a":1}', b"\xff\xfe", b"[" * 100_000):
        with pytest.raises(BrokenJSON):
            decode_messages(broken)


@given(st.binary())
def test_decode_only_raises_protocol_errors(data):
    try:
        assert all(isinstance(m, str) for m in decode_messages(data))
    except (BrokenJSON, PayloadExpected):
        pass


# -- router ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path,kind",
    [("", "greeting"), ("/", "greeting"), ("/info", "info"), ("/iframe.html", "iframe"),
     ("/iframe-1.2.3.html", "iframe"), ("/websocket", "raw_websocket"), ("/a/b/xhr", "session"),
     ("/a./b/xhr", "not_found"), ("/a/b/c/xhr", "not_found"), ("//xhr", "not_found"),
     ("/iframe-/.html", "not_found"), ("/IFRAME.HTML", "not_found")],
)  # fmt: skip
def test_routes(path, kind):
    assert route(path).kind == kind


# -- sessions and receivers ---------------------------------------------------------------------


def test_polling_session_life():
    srv = server()
    receiver, pull = poll(srv, "s", 0)
    assert (pull.chunks, pull.done) == ([b"o\n"], True)
    assert post(srv, "/0/s/xhr_send", 1, b'["a","b"]').status == 204
    assert poll(srv, "s", 1)[1].chunks == [b'a["a","b"]\n']
    # An idle poll waits until its heartbeat deadline, then answers "h".
    receiver, pull = poll(srv, "s", 2)
    assert (pull.chunks, pull.done, pull.deadline) == ([], False, 27)
    later = receiver.pull(27)
    assert (later.chunks, later.done) == ([b"h\n"], True)


def test_a_message_wakes_the_waiting_receiver():
    srv = server()
    poll(srv, "s", 0)
    receiver, pull = poll(srv, "s", 1)
    woken = []
    receiver.wake = lambda: woken.append(True)
    post(srv, "/0/s/xhr_send", 2, b'["x"]')
    assert woken == [True]
    assert receiver.pull(2).chunks == [b'a["x"]\n']


def test_second_receiver_gets_2010_and_the_first_stays():
    srv = server()
    poll(srv, "s", 0)
    first, _ = poll(srv, "s", 1)
    second, pull = poll(srv, "s", 1)
    assert (pull.chunks, pull.done) == ([b'c[2010,"Another connection still open"]\n'], True)
    post(srv, "/0/s/xhr_send", 2, b'["x"]')
    assert first.pull(2).chunks == [b'a["x"]\n']


def test_aborted_receiver_interrupts_the_session():
    srv = server()
    poll(srv, "s", 0)
    receiver, _ = poll(srv, "s", 1)
    receiver.abort(2)
    assert poll(srv, "s", 3)[1].chunks == [b'c[1002,"Connection interrupted"]\n']
    assert post(srv, "/0/s/xhr_send", 3, b'["x"]').status == 404


def test_close_frame_is_served_until_expiry():
    srv = server(CloseConnection, disconnect_delay=5)
    assert poll(srv, "s", 0)[1].chunks == [b"o\n"]
    assert poll(srv, "s", 1)[1].chunks == [b'c[3000,"Go away!"]\n']
    assert poll(srv, "s", 2)[1].chunks == [b'c[3000,"Go away!"]\n']
    assert srv.tick(6.9) == []
    assert [s.id for s in srv.tick(7)] == ["s"]
    assert poll(srv, "s", 8)[1].chunks == [b"o\n"]  # a new session


def test_session_expires_after_disconnect_delay_and_closes_once():
    closed = []

    class Tracking(SockJSConnection):
        def on_close(self):
            closed.append(self.session.id)

    srv = server(Tracking, disconnect_delay=5)
    poll(srv, "s", 0)
    receiver, _ = poll(srv, "s", 1)
    assert srv.tick(100) == []  # attached: never expires
    receiver.finish(100)
    assert srv.tick(104.9) == []
    assert len(srv.tick(105)) == 1
    assert closed == ["s"]
    assert len(srv.store) == 0


def test_streaming_limit_and_heartbeat():
    srv = server(response_limit=100, heartbeat_delay=10)
    stream = post(srv, "/0/s/xhr_streaming", 0)
    assert stream.prelude == b"h" * 2048 + b"\n"
    receiver = stream.receiver
    assert receiver.pull(0).chunks == [b"o\n"]
    assert receiver.pull(9).chunks == []
    assert receiver.pull(10).chunks == [b"h\n"]
    post(srv, "/0/s/xhr_send", 11, json.dumps(["x" * 120]).encode())
    pull = receiver.pull(11)
    assert pull.done and len(pull.chunks[0]) > 100
    # The session outlives its stream and waits for the next receiver.
    assert poll(srv, "s", 12)[1] == Pull([], False, 22)


def test_application_errors_are_contained(caplog):
    class Broken(SockJSConnection):
        def on_message(self, message):
            raise RuntimeError("boom")

    srv = server(Broken)
    poll(srv, "s", 0)
    assert post(srv, "/0/s/xhr_send", 1, b'["a"]').status == 204
    assert "Broken.on_message raised" in caplog.text
    assert poll(srv, "s", 1)[1].done is False  # the session is still open


def test_on_open_failure_closes_with_1011():
    class Broken(SockJSConnection):
        def on_open(self, request):
            raise RuntimeError("boom")

    srv = server(Broken)
    assert poll(srv, "s", 0)[1].chunks == [b"o\n"]
    assert poll(srv, "s", 1)[1].chunks == [b'c[1011,"Internal error"]\n']


# -- HTTP answers -----------------------------------------------------------------------------


def header(response, name):
    return dict((k.lower(), v) for k, v in response.headers).get(name.lower())


def test_static_answers():
    srv = server()
    greeting = get(srv, "", 0)
    assert (greeting.status, greeting.body) == (200, b"Welcome to SockJS!\n")
    info = json.loads(get(srv, "/info", 0).body)
    assert info["websocket"] is True and info["origins"] == ["*:*"]
    assert json.loads(get(server(websocket=False), "/info", 0).body)["websocket"] is False
    page = get(srv, "/iframe.html", 0)
    assert b'<script src="/static/clientsignal/sockjs.min.js">' in page.body
    etag = header(page, "ETag")
    assert get(srv, "/iframe.html", 0, headers={"if-none-match": etag}).status == 304
    assert get(srv, "/nope", 0).status == 404


def test_method_rules():
    srv = server()
    assert get(srv, "/0/s/xhr", 0).status == 405
    not_allowed = post(srv, "/0/s/websocket", 0)
    assert (not_allowed.status, header(not_allowed, "Allow"), not_allowed.body) == (405, "GET", b"")
    assert get(srv, "/0/s/websocket", 0).status == 400
    upgrade = {"upgrade": "websocket", "connection": "Upgrade"}
    assert get(srv, "/0/s/websocket", 0, headers=upgrade) == Upgrade(raw=False)
    assert get(srv, "/websocket", 0, headers=upgrade) == Upgrade(raw=True)
    assert get(server(websocket=False), "/0/s/websocket", 0, headers=upgrade).status == 404
    preflight = srv.handle(Request("OPTIONS", "/0/s/xhr", headers={"origin": "null"}), 0)
    assert preflight.status == 204 and header(preflight, "Access-Control-Allow-Origin") == "null"


def test_jsonp_and_htmlfile_framing():
    srv = server()
    jsonp = get(srv, "/0/s/jsonp", 0, query="c=cb")
    assert jsonp.receiver.pull(0).chunks == [b'/**/cb("o");\r\n']
    bad = get(srv, "/0/t/jsonp", 0, query="c=a(b")
    assert isinstance(bad, Response) and bad.status == 500
    html = get(srv, "/0/h/htmlfile", 0, query="c=cb")
    assert len(html.prelude) > 1024
    post(srv, "/0/h/xhr_send", 0, b'["</script>"]')
    opened, chunk = html.receiver.pull(0).chunks
    assert opened == b'<script>\np("o");\n</script>\r\n'
    assert b"</script>\\" not in chunk and b"\\u003c/script>" in chunk


def test_jsonp_send_form_body_keeps_utf8():
    srv = server()
    get(srv, "/0/s/jsonp", 0, query="c=cb").receiver.pull(0)
    form = {"content-type": "application/x-www-form-urlencoded"}
    sent = post(srv, "/0/s/jsonp_send", 0, b"d=%5B%22%C3%BC+%2B%22%5D", form)
    assert (sent.status, sent.body) == (200, b"ok")
    assert get(srv, "/0/s/jsonp", 0, query="c=cb").receiver.pull(0).chunks == [
        b'/**/cb("a[\\"\\u00fc +\\"]");\r\n'
    ]


def test_request_body_limit():
    srv = server(max_request_body=10)
    poll(srv, "s", 0)
    assert post(srv, "/0/s/xhr_send", 0, b'["' + b"x" * 20 + b'"]').status == 413


def test_a_websocket_has_no_response_limit():
    srv = server(response_limit=100)
    receiver = srv.open_websocket(Request("GET", "/0/w/websocket"), 0, raw=False)
    assert receiver.pull(0).chunks == ["o"]
    for n in range(5):
        receiver.session.send("x" * 100)
        pull = receiver.pull(n)
        assert (pull.chunks, pull.done) == (['a["' + "x" * 100 + '"]'], False)
    assert receiver.sent > 500 and not receiver.session.is_closed


def test_an_idle_websocket_is_written_at_once_and_a_busy_one_queued():
    srv = server()
    receiver = srv.open_websocket(Request("GET", "/0/w/websocket"), 0, raw=False)
    written, busy = [], [False]
    receiver.write_now = lambda frame: not busy[0] and (written.append(frame) or True)
    receiver.session.send("early")  # before the open frame is out: queued behind it
    assert written == [] and receiver.pull(0).chunks == ["o", 'a["early"]']
    literal = encode_message("broadcast")
    receiver.session.send(None, literal)
    receiver.session.send(None, literal)
    assert written == ['a["broadcast"]'] * 2 and receiver.session.queue == []
    assert written[0] is written[1]  # one frame object for one literal: built once
    busy[0] = True
    receiver.session.send("while busy")
    busy[0] = False
    receiver.session.send("after")  # behind what is queued, never before it
    assert written == ['a["broadcast"]'] * 2
    assert receiver.pull(1).chunks == ['a["while busy","after"]']


def test_raw_websocket_session():
    srv = server()
    receiver = srv.open_websocket(Request("GET", "/websocket"), 0, raw=True)
    srv.websocket_message(receiver.session, "plain ü", 0)
    assert receiver.pull(0).chunks == ["plain ü"]
    receiver.session.close()
    assert receiver.pull(0).done


def test_a_receiver_whose_client_is_gone_does_not_block_the_next():
    srv = server()
    poll(srv, "s", 0)
    stale, _ = poll(srv, "s", 1)
    stale.alive = lambda: False  # the I/O layer saw the client's connection closed
    assert poll(srv, "s", 2)[1].chunks == [b'c[1002,"Connection interrupted"]\n']


def test_message_too_big_closes_the_session(caplog):
    srv = server(max_message_size=100)
    poll(srv, "s", 0)
    assert post(srv, "/0/s/xhr_send", 1, json.dumps(["x" * 100]).encode()).status == 204
    assert poll(srv, "s", 1)[1].chunks == [b'a["' + b"x" * 100 + b'"]\n']
    assert post(srv, "/0/s/xhr_send", 1, json.dumps(["ü" * 51]).encode()).status == 204
    assert poll(srv, "s", 2)[1].chunks == [b'c[1009,"Message too big"]\n']
    assert "over the 100-byte limit" in caplog.text


def test_a_client_that_does_not_read_is_closed_not_buffered_forever(caplog):
    srv = server(max_queued_bytes=1000)
    poll(srv, "s", 0)
    session = srv.store.get("s")
    sent = [session.send("x" * 98) for _ in range(12)]
    assert sent == [True] * 10 + [False] * 2  # 100 bytes each once encoded; 1000 fit
    assert session.queue == [] and session.queued_bytes == 0
    assert poll(srv, "s", 1)[1].chunks == [b'c[4008,"Client too slow: send queue full"]\n']
    assert "over the limit" in caplog.text


def test_session_limit():
    srv = server(max_sessions=2)
    poll(srv, "a", 0)
    srv.open_websocket(Request("GET", "/0/b/websocket"), 0, raw=False)
    refused = post(srv, "/0/c/xhr", 0)
    assert (refused.status, refused.body) == (503, b"Too many sessions.")
    srv.tick(100)  # "a" expires
    assert isinstance(post(srv, "/0/c/xhr", 100), Stream)


# -- a connection that opens with its client's first message -----------------------------------


class OpensWithMessage(SockJSConnection):
    """Opens with its first message when the opening request says ``?later=1``; refuses a
    client whose opening says ``who=nobody``; records what it saw."""

    seen: list = []

    def opens_with_message(self, request):
        return request.query.get("later") == "1"

    def on_open(self, request):
        OpensWithMessage.seen.append(("open", request.query))
        if request.query.get("who") == "nobody":
            self.reject(4401, "Login required")

    def on_message(self, message):
        OpensWithMessage.seen.append(("message", message))

    def on_close(self):
        OpensWithMessage.seen.append(("close",))


def send(srv, session, now, *messages):
    assert post(srv, "/0/%s/xhr_send" % session, now, json.dumps(messages).encode()).status == 204


def test_a_connection_opens_with_its_first_message_as_more_query_string():
    OpensWithMessage.seen = []
    srv = server(OpensWithMessage)
    stream = srv.handle(
        Request("POST", "/0/s1/xhr", query_string="later=1&room=7", headers=CLIENT), 0
    )
    assert stream.receiver.pull(0).chunks == [b"o\n"]  # open for the client at once
    assert OpensWithMessage.seen == []  # not for the application yet
    send(srv, "s1", 0.1, "who=alice&token=x%3Ay", "hello")
    assert OpensWithMessage.seen == [
        ("open", {"later": "1", "room": "7", "who": "alice", "token": "x:y"}),
        ("message", "hello"),
    ]


def test_a_connection_refused_by_its_first_message_closes_after_its_open_frame():
    OpensWithMessage.seen = []
    srv = server(OpensWithMessage)
    opened = srv.handle(Request("POST", "/0/s2/xhr", query_string="later=1", headers=CLIENT), 0)
    assert opened.receiver.pull(0).chunks == [b"o\n"]
    send(srv, "s2", 0.1, "who=nobody", "hello")
    assert OpensWithMessage.seen == [("open", {"later": "1", "who": "nobody"}), ("close",)]
    _receiver, pulled = poll(srv, "s2", 0.2)
    assert pulled.chunks == [b'c[4401,"Login required"]\n']


def test_a_connection_that_never_got_its_first_message_never_opened_nor_closed():
    OpensWithMessage.seen = []
    srv = server(OpensWithMessage)
    srv.handle(Request("POST", "/0/s3/xhr", query_string="later=1", headers=CLIENT), 0)
    srv.store.expire(3600)  # its client went away
    assert OpensWithMessage.seen == []
