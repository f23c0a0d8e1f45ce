"""History and recovery through the real core and the in-process backend: a reconnecting
client gets what it missed, in order, once; a gap it cannot get back is said, never hidden."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

import clientsignal
from clientsignal import Signal, SignalConnection
from clientsignal.backends.streams import stream_id


def numbered(history={"size": 100, "ttl": 300}):  # noqa: B006
    class Room(SignalConnection):
        pass

    Room.history = history
    tick = Signal(providing_args=["n"])
    Room.broadcast("tick", tick)
    return Room, tick


class Away:
    """What a client remembers of its streams: the last position of each, its resume token."""

    def __init__(self) -> None:
        self.positions: dict[str, str] = {}
        self.resume = ""

    def read(self, client) -> list:
        """The events of the client (control messages taken in, as SignalSocket does)."""
        events = []
        for message in client.events():
            if "resume" in message:
                self.resume = message["resume"]
                continue
            if "s" in message:
                self.positions[message["s"]] = message["p"]
            events.append(message)
        return events

    def query(self) -> str:
        recover = ",".join("%s~%s" % item for item in self.positions.items())
        return urlencode({"recover": recover, "resume": self.resume})


def ticks(events) -> list:
    return [e["data"]["n"] for e in events if e.get("event") == "tick"]


def test_a_returning_client_gets_what_it_missed_in_order_once(client_for):
    Room, tick = numbered()
    away = Away()
    first = client_for(Room)
    for n in range(3):
        tick.send(sender=None, n=n)
    assert ticks(away.read(first)) == [0, 1, 2]
    first.session.close()  # its network went
    for n in range(3, 6):
        tick.send(sender=None, n=n)  # while away
    again = client_for(Room, query=away.query())
    tick.send(sender=None, n=6)
    assert ticks(away.read(again)) == [3, 4, 5, 6]


def test_messages_carry_their_stream_and_position(client_for):
    Room, tick = numbered()
    client = client_for(Room)
    tick.send(sender=None, n=1)
    [resume, message] = client.events()
    assert set(resume) == {"resume"}
    assert message["s"] == stream_id("clientsignal:" + Room.channel_name())
    epoch, _, sequence = message["p"].partition(":")
    assert len(epoch) == 8 and sequence.endswith("-0")


def test_a_gap_older_than_the_history_is_said(client_for):
    Room, tick = numbered({"size": 3, "ttl": 300})
    away = Away()
    client = client_for(Room)
    tick.send(sender=None, n=0)
    away.read(client)
    client.session.close()
    for n in range(1, 10):
        tick.send(sender=None, n=n)  # more than the 3 kept
    events = away.read(client_for(Room, query=away.query()))
    assert ticks(events) == []  # nothing half-replayed: the app refetches its state
    [gap] = [e for e in events if e.get("event") == "gap"]
    assert gap["data"]["streams"] == [{"id": next(iter(away.positions)), "name": Room.__name__}]


def test_a_position_of_a_lost_history_is_a_gap(client_for):
    Room, tick = numbered()
    away = Away()
    client = client_for(Room)
    tick.send(sender=None, n=0)
    away.read(client)
    sid = next(iter(away.positions))
    away.positions[sid] = "deadbeef:1-0"  # another epoch: the history it was in is gone
    events = away.read(client_for(Room, query=away.query()))
    assert [e["event"] for e in events] == ["gap"]


def test_groups_joined_in_on_open_are_recovered_and_the_user_stream_too(client_for):
    class Team(SignalConnection):
        history = True

        def on_open(self, request):
            super().on_open(request)
            self.join("team-a")

    away = Away()
    client = client_for(Team)
    clientsignal.send_to_group("team-a", "news", {"n": 1})
    away.read(client)
    client.session.close()
    clientsignal.send_to_group("team-a", "news", {"n": 2})
    events = away.read(client_for(Team, query=away.query()))
    assert [(e["event"], e["data"]["n"]) for e in events] == [("news", 2)]


def test_the_connection_goes_on_with_its_id_and_its_own_stream(client_for):
    class Mine(SignalConnection):
        history = True

    away = Away()
    client = client_for(Mine)
    away.read(client)
    old_id = client.connection.id
    clientsignal.send_to_connection(old_id, "private", {"n": 1})
    away.read(client)
    client.session.close()
    clientsignal.send_to_connection(old_id, "private", {"n": 2})  # while away
    again = client_for(Mine, query=away.query())
    assert again.connection.id == old_id
    assert [e["data"]["n"] for e in away.read(again)] == [2]


def test_a_resume_token_is_its_own_class_and_users_only(client_for):
    class Mine(SignalConnection):
        history = True

    class Other(SignalConnection):
        history = True

    away = Away()
    mine = client_for(Mine)
    away.read(mine)
    token = away.resume
    forged = token[:-2] + ("yy" if token.endswith("xx") else "xx")
    assert client_for(Other, query=urlencode({"resume": token})).connection.id != mine.connection.id
    assert client_for(Mine, query=urlencode({"resume": forged})).connection.id != mine.connection.id
    assert client_for(Mine, query=urlencode({"resume": token})).connection.id == mine.connection.id


def test_streams_of_other_connections_are_not_replayed(client_for):
    class Private(SignalConnection):
        history = True

    victim = Away()
    victim_client = client_for(Private)
    victim.read(victim_client)
    clientsignal.send_to_connection(victim_client.connection.id, "secret", {"n": 1})
    victim.read(victim_client)
    # An attacker who learns the victim's stream id and position (not its resume token).
    attacker = Away()
    attacker.positions = {sid: "%s:0-0" % p.split(":")[0] for sid, p in victim.positions.items()}
    events = attacker.read(client_for(Private, query=attacker.query()))
    assert [e for e in events if e.get("event") == "secret"] == []


def test_a_class_without_history_behaves_as_before(client_for):
    class Plain(SignalConnection):
        pass

    tick = Signal(providing_args=["n"])
    Plain.broadcast("tick", tick)
    client = client_for(Plain, query="recover=abc~x:1-0")
    tick.send(sender=None, n=1)
    assert client.events() == [{"event": "tick", "data": {"n": 1, "sender": None}}]


@pytest.mark.parametrize("recover", ["", "garbage", "~", "a~b~c", "x" * 20000])
def test_nonsense_recovery_requests_open_a_normal_session(client_for, recover):
    Room, tick = numbered()
    client = client_for(Room, query=urlencode({"recover": recover}))
    tick.send(sender=None, n=1)
    assert ticks(Away().read(client)) == [1]
