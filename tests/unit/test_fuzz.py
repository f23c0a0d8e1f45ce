"""Property tests of the sans-I/O core: arbitrary requests, bodies, frame splits and orders of
transport requests. Nothing raises out of the core but its documented protocol errors, and
every answer is a well-formed response, stream or upgrade."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clientsignal.echo import CloseConnection, EchoConnection
from clientsignal.sockjs_protocol import (
    BrokenJSON,
    Request,
    Response,
    SockJSOptions,
    SockJSServer,
    Stream,
    Upgrade,
)

TRANSPORTS = ["xhr", "xhr_send", "xhr_streaming", "eventsource", "htmlfile", "jsonp",
              "jsonp_send", "websocket", "nope", ""]  # fmt: skip
SESSIONS = ["a", "b", "c.d", ""]
segment = st.sampled_from(SESSIONS)

paths = st.one_of(
    st.builds(lambda s, t: "/0/%s/%s" % (s, t), segment, st.sampled_from(TRANSPORTS)),
    st.sampled_from(["", "/", "/info", "/iframe.html", "/iframe-x.html", "/websocket", "//"]),
    st.text(max_size=30).map(lambda t: "/" + t),
)
bodies = st.one_of(
    st.binary(max_size=200),
    st.lists(st.text(max_size=50), max_size=5).map(lambda m: json.dumps(m).encode()),
    st.lists(st.text(max_size=20), max_size=3).map(
        lambda m: ("d=" + json.dumps(m)).encode("utf-8", "surrogatepass")
    ),
)
headers = st.dictionaries(
    st.sampled_from(["origin", "content-type", "cookie", "upgrade", "connection", "referer",
                     "if-none-match", "access-control-request-headers", "host"]),
    st.text(max_size=30),
    max_size=4,
)  # fmt: skip
requests = st.builds(
    lambda method, path, query, body, hdrs: Request(method, path, query, hdrs, body),
    st.sampled_from(["GET", "POST", "OPTIONS", "PUT", "HEAD"]),
    paths,
    st.sampled_from(["", "c=cb", "c=", "c=a(b", "c=%20", "t=1"]),
    bodies,
    headers,
)
steps = st.lists(st.tuples(requests, st.floats(0, 10), st.integers(0, 3)), min_size=1, max_size=25)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps, st.sampled_from([EchoConnection, CloseConnection]), st.booleans())
def test_any_sequence_of_requests(sequence, connection, restricted):
    options = SockJSOptions(
        response_limit=300,
        max_message_size=80,
        max_queued_bytes=500,
        max_sessions=3,
        allowed_origins=("example.com",) if restricted else None,
    )
    server = SockJSServer(connection, options)
    now = 0.0
    open_receivers = []
    for request, elapsed, pulls in sequence:
        now += elapsed
        result = server.handle(request, now)
        assert isinstance(result, (Response, Stream, Upgrade))
        if isinstance(result, Response):
            assert 200 <= result.status < 600
            assert isinstance(result.body, bytes)
        elif isinstance(result, Stream):
            open_receivers.append(result.receiver)
        elif isinstance(result, Upgrade):
            try:
                receiver = server.open_websocket(request, now, raw=result.raw)
            except Exception as error:  # the session limit is the one documented refusal
                assert type(error).__name__ == "TooManySessions"
                continue
            try:
                server.websocket_message(receiver.session, request.body.decode("latin-1"), 0)
            except BrokenJSON:
                pass
            open_receivers.append(receiver)
        for receiver in list(open_receivers):
            for _ in range(pulls):
                pull = receiver.pull(now)
                assert all(isinstance(c, (str, bytes)) for c in pull.chunks)
                if pull.done:
                    open_receivers.remove(receiver)
                    break
            else:
                if pulls == 3:
                    receiver.abort(now)
                    open_receivers.remove(receiver)
        server.tick(now)
    assert server.open_sessions() <= options.max_sessions


# -- recovery positions -------------------------------------------------------------------

# What a client may put in ?recover=<stream>~<epoch>:<sequence>,...: ASCII and Unicode digits
# (which str.isdigit() takes and int() refuses, or reads as ASCII ones), letters of every
# script, separators in the wrong places, numbers past 64 bits.
digits = st.one_of(
    st.text("0123456789", min_size=1, max_size=22),
    st.text(st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=3),
    st.sampled_from(["²", "١", "0x1", "1_0", "+1", " 1", "18446744073709551616"]),
)
words = st.one_of(st.text("0123456789abcdef", max_size=10), st.text(max_size=6))
sequences = st.one_of(
    digits,
    st.builds(lambda a, b: a + "-" + b, digits, digits),
    st.builds(lambda a: a + "-", digits),
    st.text(max_size=8),
)
tokens = st.one_of(
    st.builds(lambda e, s: e + ":" + s, words, sequences),
    st.builds(lambda e: e + ":", words),
    words,
)
entries = st.one_of(st.builds(lambda sid, t: sid + "~" + t, words, tokens), words)
recover_texts = st.lists(entries, max_size=8).map(",".join) | st.text(max_size=40)


@settings(max_examples=500, deadline=None)
@given(recover_texts)
def test_any_recover_parameter_parses_to_positions_or_none(recover):
    from clientsignal.backends.streams import Position
    from clientsignal.recovery import MAX_STREAMS, requested

    wanted = requested({"recover": recover})
    assert len(wanted) <= MAX_STREAMS
    for position in wanted.values():
        if position is not None:
            assert position.token.isascii()
            assert all(0 <= part < 2**64 for part in position.sequence)
            assert Position.parse(position.token) == position


@settings(max_examples=500, deadline=None)
@given(tokens)
def test_a_position_is_ascii_or_nothing(token):
    from clientsignal.backends.streams import Position

    position = Position.parse(token)
    assert position is None or token.isascii()
