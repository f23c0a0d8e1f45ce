"""The in-process backend's streams: heads, and streams past their ttl forgotten."""

from __future__ import annotations

from clientsignal.backends.base import Envelope
from clientsignal.backends.streams import History, MemoryStreams, Replay


def test_the_head_of_a_stream_without_messages_is_where_its_first_is_replayed_from():
    streams = MemoryStreams()
    history = History(size=10, ttl=60)
    head = streams.head("quiet", history)
    assert head.token.endswith(":0-0")
    assert streams.head("quiet", history) == head
    assert streams.replay("quiet", head, history) == Replay()
    first = streams.append("quiet", history, Envelope('"{}"', "x"))
    assert streams.replay("quiet", head, history) == Replay([first])
    assert streams.head("quiet", history).token == first.position


def test_streams_past_their_ttl_are_forgotten():
    now = [0.0]
    streams = MemoryStreams(clock=lambda: now[0])
    history = History(size=100, ttl=300)
    for n in range(1000):  # each connection that came and went has its own stream
        streams.head("clientsignal:connection:%d" % n, history)
        streams.append("clientsignal:connection:%d" % n, history, Envelope('"{}"', "x"))
    now[0] += 3600  # an hour later, every one is long past its ttl
    streams.head("clientsignal:other", history)
    assert list(streams._streams) == ["clientsignal:other"]
