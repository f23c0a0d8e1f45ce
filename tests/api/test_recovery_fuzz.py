"""The ``recover`` and ``resume`` parameters, fuzzed through a real connection's opening: the
SockJS core, Django authentication, recovery and the in-process backend, with no sockets, on
xhr-polling and in a multiplexed ``sub``. Whatever a client names, the connection opens (never
1011), a ``gap`` names only streams it asked for and receives, and live messages arrive."""

from __future__ import annotations

import itertools
import json
from urllib.parse import quote, urlencode

from django.core import signing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clientsignal import Signal, SignalConnection
from clientsignal.backends.streams import stream_id
from clientsignal.recovery import RESUME_SALT, claimed_id
from clientsignal.services import Services
from clientsignal.sockjs_protocol import Request

from .test_recovery import Away, ticks


class FuzzedRoom(SignalConnection):
    history = {"size": 5, "ttl": 300}


fuzz_tick = Signal(providing_args=["n"])
FuzzedRoom.broadcast("tick", fuzz_tick)
_n = itertools.count(1)

# Pieces of what a client may send: Unicode digits (which str.isdigit() takes and int()
# refuses, or reads as ASCII ones), letters of every script, separators, numbers past 64 bits.
digits = st.one_of(
    st.text("0123456789", min_size=1, max_size=21),
    st.text(st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=3),
    st.sampled_from(["²", "١", "+1", " 1", "18446744073709551615", "18446744073709551616"]),
)
sequences = st.one_of(
    digits,
    st.builds("{}-{}".format, digits, digits),
    st.builds("{}-".format, digits),
    st.text(max_size=6),
)


def moved(stream: tuple[str, str]) -> st.SearchStrategy[str]:
    """A real position of a stream, or one before it, or one ahead of it (no server gave
    that: the next live messages must not be taken for ones the client has)."""
    sid, position = stream
    epoch, _, sequence = position.partition(":")
    first = int(sequence.partition("-")[0])
    return st.builds(
        lambda shift, second: "%s~%s:%d-%d" % (sid, epoch, max(0, first + shift), second),
        st.integers(-3, 10**6) | st.just(0),
        st.integers(0, 2),
    )


def recover_texts(positions: dict[str, str]) -> st.SearchStrategy[str]:
    """``recover`` values naming the connection's real streams and epochs, near its real
    positions, or anything."""
    epochs = sorted({position.split(":")[0] for position in positions.values()})
    sid = st.sampled_from(sorted(positions)) | st.text(max_size=12)
    epoch = (
        st.sampled_from(epochs)
        | st.text(max_size=8)
        | st.builds("é{}".format, st.sampled_from(epochs))
    )
    token = st.builds("{}:{}".format, epoch, sequences) | epoch | st.text(max_size=12)
    entry = (
        st.sampled_from(sorted(positions.items())).flatmap(moved)
        | st.builds("{}~{}".format, sid, token)
        | st.text(max_size=12)
    )
    return st.lists(entry, max_size=6).map(",".join) | st.text(max_size=40)


def resume_texts(token: str) -> st.SearchStrategy[str]:
    """``resume`` values: the real token, changed a little, signed but of the wrong shape
    (as only this server could make), or anything."""
    mutated = st.builds(
        lambda at, text: token[:at] + text + token[at + 1 :],
        st.integers(0, len(token)),
        st.text(max_size=3),
    )
    signed = st.builds(
        lambda value: signing.dumps(value, salt=RESUME_SALT, compress=False),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda inner: st.lists(inner, max_size=4),
            max_leaves=6,
        ),
    )
    return st.just(token) | mutated | signed | st.text(max_size=30) | st.just("")


def queries(positions: dict[str, str], token: str) -> st.SearchStrategy[str]:
    """Query strings as a browser encodes them, and raw ones as a program could send."""
    encoded = st.builds(
        lambda recover, resume: urlencode({"recover": recover, "resume": resume}),
        recover_texts(positions),
        resume_texts(token),
    )
    raw = st.builds(
        lambda recover, resume: "recover=%s&resume=%s" % (quote(recover, safe="~:,-"), resume),
        recover_texts(positions),
        st.text(max_size=20),
    )
    return encoded | raw


def first_visit(client_for) -> tuple[dict[str, str], str]:
    """A client's positions (by stream id) and its resume token, after one message."""
    away = Away()
    client = client_for(FuzzedRoom)
    fuzz_tick.send(sender=None, n=next(_n))
    away.read(client)
    client.session.close()
    return away.positions, away.resume


def requested_ids(query: str) -> set[str]:
    """The streams a query asks for: those ``recover`` names, and the stream of the connection
    a ``resume`` token claims (refused in a URL: its stream is left behind, a gap)."""
    params = Request("GET", "/", query_string=query).query
    ids = {part.partition("~")[0] for part in params.get("recover", "").split(",")}
    claimed = claimed_id(params.get("resume", ""))
    if claimed is not None:
        backend = FuzzedRoom.get_backend()
        ids.add(stream_id(backend.target_channel("connection", claimed)))
    return ids


FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def test_any_recover_and_resume_open_the_connection_over_xhr(client_for):
    positions, token = first_visit(client_for)

    @FUZZ
    @given(queries(positions, token))
    def opening(query):
        away = Away()
        client = client_for(FuzzedRoom, query=query)
        n = next(_n)
        fuzz_tick.send(sender=None, n=n)
        events = away.read(client)
        client.session.close()
        assert client.first == [b"o\n"], (client.first, events)
        assert all(isinstance(e, dict) for e in events), events  # no close frame: no 1011
        assert away.resume  # it was told where it stands
        assert ticks(events)[-1:] == [n] and len(set(ticks(events))) == len(ticks(events))
        for gap in (e for e in events if e.get("event") == "gap"):
            named = {stream["id"] for stream in gap["data"]["streams"]}
            assert named <= requested_ids(query)

    opening()


def test_any_recover_and_resume_open_a_multiplexed_channel(client_for):
    positions, token = first_visit(client_for)
    services = Services({"/room": FuzzedRoom}, multiplex="/mux")
    mux = services.server_for("/mux")

    @FUZZ
    @given(queries(positions, token))
    def subscribing(query):
        request = Request("GET", "/0/m/websocket", headers={"host": "testserver"})
        receiver = mux.open_websocket(request, 0, raw=False)
        mux.websocket_message(receiver.session, json.dumps(["sub,/room," + query]), 0)
        n = next(_n)
        fuzz_tick.send(sender=None, n=n)
        frames = receiver.pull(0).chunks
        receiver.session.close()
        mux.websocket_closed(receiver.session)
        messages = [m for frame in frames[1:] for m in json.loads(frame[1:])]
        assert frames[0] == "o" and messages[0] == "sub,/room", frames
        assert not [m for m in messages if m.startswith("uns,")], messages  # never 1011
        events = [json.loads(m.split(",", 2)[2]) for m in messages if m.startswith("msg,")]
        assert [e["data"]["n"] for e in events if e.get("event") == "tick"][-1:] == [n]

    subscribing()
