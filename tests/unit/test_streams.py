"""The in-process backend's streams: heads (virtual for a stream that keeps nothing), streams
past their ttl forgotten, and what closed connections leave bounded."""

from __future__ import annotations

from clientsignal.backends.base import Envelope
from clientsignal.backends.streams import (
    History,
    MemoryStreams,
    Position,
    Replay,
    Retired,
    virtual,
)


def clocked() -> tuple[list[float], MemoryStreams]:
    now = [1000.0]
    return now, MemoryStreams(clock=lambda: now[0])


def test_the_head_of_a_stream_without_messages_is_where_its_first_is_replayed_from():
    now, streams = clocked()
    history = History(size=10, ttl=60)
    head = streams.head("quiet", history)
    assert virtual(head) == (streams.life, 1_000_000) and head.token.endswith(":0-0")
    assert len(streams) == 0  # nothing made for a head
    assert streams.replay("quiet", head, history) == Replay()
    now[0] += 1
    first = streams.append("quiet", history, Envelope('"{}"', "x"))
    assert streams.replay("quiet", head, history) == Replay([first])
    assert streams.head("quiet", history).token == first.position


def test_a_virtual_head_is_a_gap_past_the_ttl_in_another_life_or_after_an_eviction():
    now, streams = clocked()
    history = History(size=10, ttl=60)
    head = streams.head("quiet", history)
    now[0] += 61  # a stream made since may have lived and expired meanwhile
    assert streams.replay("quiet", head, history).gap
    assert MemoryStreams().replay("quiet", head, history).gap  # another life: a restart
    head = streams.head("quiet", history)
    streams.retired = Retired(per_address=1)
    for n in range(2):
        streams.append("gone-%d" % n, history, Envelope('"{}"', "x"))
        now[0] += 1
        streams.retire("gone-%d" % n, "10.0.0.1")  # the second pushes the first out
    assert "gone-0" not in streams and "gone-1" in streams
    assert streams.replay("quiet", head, history).gap


def test_a_stream_whose_first_message_was_dropped_is_a_gap_from_a_virtual_head():
    _now, streams = clocked()
    history = History(size=2, ttl=60)
    head = streams.head("busy", history)
    for _ in range(3):
        streams.append("busy", history, Envelope('"{}"', "x"))
    assert streams.replay("busy", head, history).gap


def test_streams_past_their_ttl_are_forgotten():
    now, streams = clocked()
    history = History(size=100, ttl=300)
    for n in range(1000):  # each connection that was sent something has its own stream
        streams.append("clientsignal:connection:%d" % n, history, Envelope('"{}"', "x"))
    now[0] += 3600  # an hour later, every one is long past its ttl
    streams.append("clientsignal:other", history, Envelope('"{}"', "x"))
    assert len(streams) == 1 and "clientsignal:other" in streams


def test_closed_connections_streams_are_kept_per_address_and_in_all_within_bounds():
    retired = Retired(per_address=2, total=3)
    assert retired.add("a1", "A") == []
    assert retired.add("a2", "A") == []
    assert retired.add("a3", "A") == ["a1"]  # A's oldest
    assert retired.add("b1", "B") == []
    assert retired.add("c1", "C") == ["a2"]  # the oldest of all
    retired.discard("a3")  # its client came back
    assert retired.add("c2", "C") == []
    assert len(retired) == 3


def test_a_connection_that_came_back_is_not_given_up():
    _now, streams = clocked()
    history = History(size=10, ttl=60)
    streams.retired = Retired(per_address=1)
    streams.append("mine", history, Envelope('"{}"', "x"))
    streams.retire("mine", "10.0.0.1")
    streams.retired.discard("mine")  # it joined again
    streams.append("other", history, Envelope('"{}"', "x"))
    streams.retire("other", "10.0.0.1")
    assert "mine" in streams


def test_a_position_is_never_taken_for_a_virtual_head():
    assert virtual(Position("a1b2c3d4", (3, 0))) is None
    assert virtual(Position.parse("vxyz:0-0")) is None
