"""History and recovery through the real core and the in-process backend: a reconnecting
client gets what it missed, in order, once; a gap it cannot get back is said, never hidden."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import gevent
import pytest
from django.contrib.auth.models import User
from django.test import Client as DjangoClient

import clientsignal
from clientsignal import Signal, SignalConnection
from clientsignal.backends import Envelope, reset_backends
from clientsignal.backends.streams import Position, stream_id
from clientsignal.testing import delivery


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
            if "resume" in message or "positions" in message:
                self.resume = message.get("resume", self.resume)
                self.positions.update(message.get("positions", {}))
                continue
            if "s" in message:
                self.positions[message["s"]] = message["p"]
            events.append(message)
        return events

    def query(self) -> str:
        """What SignalSocket says first when it reconnects."""
        recover = ",".join("%s~%s" % item for item in self.positions.items())
        return urlencode({"recover": recover, "resume": self.resume})


def ticks(events) -> list:
    return [e["data"]["n"] for e in events if e.get("event") == "tick"]


class On:
    """The backend a test's classes use: the in-process one, or a private redis-server (what
    is published then comes back through the backend's subscriber, in a thread of its own, as
    with clientsignal.testing)."""

    def __init__(self, url: str | None) -> None:
        self.url = url

    def use(self, *classes) -> None:
        for cls in classes:
            cls.backend_url = self.url
            backend = cls.get_backend()
            delivery.prepare(backend, cls.broadcast_channels(backend))
        delivery.inbox()  # deliveries from the subscriber's thread come to this one

    def read(self, client, away: Away, count: int, timeout: float = 5.0, until=None) -> list:
        """The client's events until ``count`` have come (or ``until(events)`` is true), at
        once in-process, or ``timeout`` seconds have passed; then anything else already
        there."""
        done = until or (lambda events: len(events) >= count)
        events = away.read(client)
        deadline = time.monotonic() + timeout
        while self.url and not done(events) and time.monotonic() < deadline:
            gevent.sleep(0.01)  # this thread's hub takes what the subscriber hands over
            events += away.read(client)
        if self.url:
            gevent.sleep(0.05)  # nothing more (a duplicate) on its way
            events += away.read(client)
        return events


@pytest.fixture(params=["memory", "redis"])
def on(request):
    if request.param == "memory":
        yield On(None)
    else:
        yield On(request.getfixturevalue("redis_server").url)
        reset_backends()  # their subscriber gone before the redis-server is


@pytest.fixture
def alice():
    """A logged-in user's session cookie (the user is gone after the test)."""
    user, _created = User.objects.get_or_create(username="alice-recovery")
    browser = DjangoClient()
    browser.force_login(user)
    yield {"sessionid": browser.cookies["sessionid"].value}
    user.delete()


def said(events) -> list:
    return sorted((e["event"], e["data"]["n"]) for e in events if "n" in e.get("data", {}))


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
    again = client_for(Room, recovery=away.query())
    tick.send(sender=None, n=6)
    assert ticks(away.read(again)) == [3, 4, 5, 6]


def test_messages_carry_their_stream_and_position(client_for):
    Room, tick = numbered()
    client = client_for(Room)
    tick.send(sender=None, n=1)
    [control, message] = client.events()
    assert set(control) == {"resume", "positions"}
    assert message["s"] == stream_id("clientsignal:" + Room.channel_name())
    epoch, _, sequence = message["p"].partition(":")
    assert len(epoch) == 8 and sequence.endswith("-0")


def test_the_client_is_given_the_head_of_every_stream_it_has_no_position_in(client_for, on):
    Room, tick = numbered()
    on.use(Room)
    tick.send(sender=None, n=0)  # before the client: the room's head is this message
    client = client_for(Room)
    [control] = client.events()
    room = stream_id("clientsignal:" + Room.channel_name())
    own = stream_id("clientsignal:connection:" + client.connection.id)
    streams = {stream_id(channel) for channel in client.connection.recovery.by_channel}
    assert {room, own} <= streams and set(control["positions"]) == streams
    assert control["positions"][own].endswith(":0-0")  # no message yet: its epoch's start
    tick.send(sender=None, n=1)
    # (With Redis, tick 0 may still have been on its way, and come first: it is no later.)
    message = on.read(client, Away(), 1, until=lambda events: 1 in ticks(events))[-1]
    head, position = Position.parse(control["positions"][room]), Position.parse(message["p"])
    assert message["data"]["n"] == 1
    assert position.epoch == head.epoch and position.sequence > head.sequence


def test_what_came_while_away_is_replayed_in_streams_the_client_had_nothing_of(
    client_for, on, alice
):
    """Its room, its own connection's stream and its user's: heard nothing of before the
    cut, each replayed all the same, without a gap."""
    Room, tick = numbered()
    on.use(Room)
    away = Away()
    first = client_for(Room, cookies=alice)
    assert away.read(first) == []  # only where it stands: nothing said yet
    connection_id, user = first.connection.id, first.connection.user
    first.session.close()  # its network went
    tick.send(sender=None, n=1)  # said while away
    Room.send_to("connection", connection_id, "private", {"n": 2})
    Room.send_to("user", user.pk, "dm", {"n": 3})
    again = client_for(Room, cookies=alice, recovery=away.query())
    events = on.read(again, away, 3)
    assert said(events) == [("dm", 3), ("private", 2), ("tick", 1)]
    assert [e for e in events if e.get("event") == "gap"] == []
    tick.send(sender=None, n=4)
    assert said(on.read(again, away, 1)) == [("tick", 4)]  # live again, nothing twice


def test_a_gap_older_than_the_history_is_said(client_for):
    Room, tick = numbered({"size": 3, "ttl": 300})
    away = Away()
    client = client_for(Room)
    tick.send(sender=None, n=0)
    away.read(client)
    client.session.close()
    for n in range(1, 10):
        tick.send(sender=None, n=n)  # more than the 3 kept
    events = away.read(client_for(Room, recovery=away.query()))
    assert ticks(events) == []  # nothing half-replayed: the app refetches its state
    [gap] = [e for e in events if e.get("event") == "gap"]
    room = stream_id("clientsignal:" + Room.channel_name())
    assert gap["data"]["streams"] == [{"id": room, "kind": "broadcast", "name": Room.__name__}]


def test_a_position_of_a_lost_history_is_a_gap_once(client_for, on):
    Room, tick = numbered()
    on.use(Room)
    away = Away()
    client = client_for(Room)
    tick.send(sender=None, n=0)
    on.read(client, away, 1)
    sid = stream_id("clientsignal:" + Room.channel_name())
    away.positions[sid] = "deadbeef:1-0"  # another epoch: the history it was in is gone
    again = client_for(Room, recovery=away.query())
    events = on.read(again, away, 1)
    assert [e["event"] for e in events] == ["gap"]
    assert away.positions[sid].split(":")[0] != "deadbeef"  # given the stream's head instead
    again.session.close()
    tick.send(sender=None, n=1)
    events = on.read(client_for(Room, recovery=away.query()), away, 1)
    assert [(e["event"], e["data"]["n"]) for e in events] == [("tick", 1)]  # and no gap again


def test_a_position_ahead_of_the_stream_is_a_gap_not_a_silence(client_for, on):
    """A position the stream has not reached (no server gave it) would make the replay
    empty and the next live messages look like duplicates of it: they would be dropped."""
    Room, tick = numbered()
    on.use(Room)
    away = Away()
    client = client_for(Room)
    tick.send(sender=None, n=0)
    [message] = on.read(client, away, 1)
    client.session.close()
    epoch, sequence = message["p"].split(":")
    first, _, second = sequence.partition("-")
    ahead = "%s:%d-%s" % (epoch, int(first) + 1000, second)  # past the next thousand messages
    again = client_for(Room, query=urlencode({"recover": "%s~%s" % (message["s"], ahead)}))
    tick.send(sender=None, n=1)
    events = on.read(again, away, 2)
    assert [e["event"] for e in events] == ["gap", "tick"], events
    assert events[1]["data"]["n"] == 1


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
    events = away.read(client_for(Team, recovery=away.query()))
    assert [(e["event"], e["data"]["n"]) for e in events] == [("news", 2)]


def test_a_group_joined_after_the_open_gives_its_head_at_once(client_for, on):
    """Joined later (on the client's request, remembered by the application), the group's
    head reaches the client before anything of it: a reconnection, which joins it again in
    on_open, gets what was said in it meanwhile."""
    members: set[str] = set()
    enter = Signal()

    class Team(SignalConnection):
        history = True

        def on_open(self, request):
            super().on_open(request)
            if self.id in members:
                self.join("team-b")

    Team.listen("enter", enter)

    def entered(sender, connection, **kwargs):
        members.add(connection.id)
        connection.join("team-b")
        Team.send_to("group", "team-b", "news", {"n": 0})  # at once: after the head

    enter.connect(entered, weak=False)
    on.use(Team)
    away = Away()
    client = client_for(Team)
    away.read(client)
    client.send("enter", {})
    events = on.read(client, away, 1)
    assert said(events) == [("news", 0)]
    group = events[0]["s"]
    assert group in away.positions
    client.session.close()
    Team.send_to("group", "team-b", "news", {"n": 1})  # while away
    events = on.read(client_for(Team, recovery=away.query()), away, 1)
    assert said(events) == [("news", 1)] and events[0]["s"] == group


def test_what_is_sent_while_the_connection_opens_comes_after_where_it_stands(client_for, on):
    class Greeted(SignalConnection):
        history = True

        def on_open(self, request):
            super().on_open(request)
            Greeted.send_to("connection", self.id, "welcome", {"n": 0})

    on.use(Greeted)
    client = client_for(Greeted)
    away = Away()
    [welcome] = on.read(client, away, 1)
    # The client took its position from the message, not an older head after it.
    assert away.positions[welcome["s"]] == welcome["p"]


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
    again = client_for(Mine, recovery=away.query())
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

    def resumed(cls, token, **kwargs):
        return client_for(cls, recovery=urlencode({"resume": token}), **kwargs).connection.id

    assert resumed(Other, token) != mine.connection.id
    assert resumed(Mine, forged) != mine.connection.id
    assert resumed(Mine, token, cookies={"sockjs_key": "another-browser"}) != mine.connection.id
    assert resumed(Mine, token) == mine.connection.id


def test_a_resume_token_is_taken_from_the_first_message_only_and_from_its_own_cookie(
    client_for,
):
    """Not from a URL (logged by proxies and servers), nor from another browser: the client
    is told its connection's stream is a gap, and gets nothing that was sent to it."""

    class Mine(SignalConnection):
        history = True

    away = Away()
    mine = client_for(Mine)
    away.read(mine)
    old_id = mine.connection.id
    mine.session.close()
    clientsignal.send_to_connection(old_id, "private", {"n": 1})
    own = stream_id("clientsignal:connection:" + old_id)
    for refused in (
        client_for(Mine, query=away.query()),  # in the URL, as clients did before
        client_for(Mine, recovery=away.query(), cookies={"sockjs_key": "another-browser"}),
    ):
        events = Away().read(refused)
        assert refused.connection.id != old_id
        assert [e for e in events if e.get("event") == "private"] == []
        [gap] = [e["data"]["streams"] for e in events if e.get("event") == "gap"]
        assert {"id": own, "kind": "connection", "name": "connection"} in gap
    again = client_for(Mine, recovery=away.query())
    assert again.connection.id == old_id
    assert [e["data"] for e in away.read(again) if e.get("event") == "private"] == [{"n": 1}]


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
    events = attacker.read(client_for(Private, recovery=attacker.query()))
    assert [e for e in events if e.get("event") == "secret"] == []


def test_a_class_without_history_behaves_as_before(client_for):
    class Plain(SignalConnection):
        pass

    tick = Signal(providing_args=["n"])
    Plain.broadcast("tick", tick)
    client = client_for(Plain, query="recover=abc~x:1-0")
    tick.send(sender=None, n=1)
    assert client.events() == [{"event": "tick", "data": {"n": 1, "sender": None}}]


@pytest.mark.parametrize(
    "recovery",
    [
        "",
        "garbage",
        "recover=~",
        "recover=a~b~c",
        "recover=" + "x" * 20000,
        "resume=" + "f" * 32 + ":x:y",
        "resume=%00&resume=%FF%FE",
        '{"event": "tick", "data": {}}',
    ],
)
@pytest.mark.parametrize("where", ["url", "message"])
def test_nonsense_recovery_requests_open_a_normal_session(client_for, recovery, where):
    Room, tick = numbered()
    if where == "url":
        client = client_for(Room, query=recovery if "=" in recovery else "recover=" + recovery)
    else:
        client = client_for(Room, recovery=recovery)
    assert not client.session.is_closed
    tick.send(sender=None, n=1)
    assert ticks(Away().read(client)) == [1]


MALFORMED_POSITIONS = [
    "{epoch}:²",  # a Unicode digit: str.isdigit() says yes, int() says no
    "{epoch}:1-²",
    "{epoch}:١",  # an Arabic-Indic digit, which int() would read as 1
    "é{epoch}:1",  # a non-ASCII epoch
    "{epoch}:1-",
    "{epoch}:99999999999999999999",  # past a Redis stream id's 64 bits
    "{epoch}:1-99999999999999999999",
    "{epoch}:",
    ":1",
    "{epoch}",
]


@pytest.mark.parametrize("position", MALFORMED_POSITIONS)
def test_a_malformed_position_of_one_of_its_streams_is_a_gap(client_for, position):
    Room, tick = numbered()
    away = Away()
    first = client_for(Room)
    tick.send(sender=None, n=1)
    [message] = [e for e in away.read(first) if e.get("event") == "tick"]
    first.session.close()
    sid, epoch = message["s"], message["p"].split(":")[0]
    recover = "%s~%s" % (sid, position.format(epoch=epoch))
    again = client_for(Room, query=urlencode({"recover": recover}))
    tick.send(sender=None, n=2)
    events = away.read(again)
    assert again.first == [b"o\n"] and not again.session.is_closed, events  # not 1011
    assert [e["data"]["streams"][0]["id"] for e in events if e.get("event") == "gap"] == [sid]
    assert ticks(events) == [2]


def test_a_stream_that_lost_messages_says_so_live_and_in_a_replay(client_for):
    """A mark of lost messages in a stream (a publish that failed, put there once Redis
    answered) reaches the live connections as a gap naming the stream, at its position, and
    makes a replay across it a gap."""
    Room, tick = numbered()
    away = Away()
    client = client_for(Room)
    tick.send(sender=None, n=0)
    away.read(client)
    backend = Room.get_backend()
    channel = backend.channel(Room.channel_name())
    backend.publish(channel, Envelope(lost=True), Room.broadcast_history())
    [gap] = away.read(client)
    room = stream_id(channel)
    assert gap["event"] == "gap"
    assert gap["data"]["streams"] == [{"id": room, "kind": "broadcast", "name": "Room"}]
    assert gap["s"] == room and away.positions[room] == gap["p"]  # its position moves on
    client.session.close()
    tick.send(sender=None, n=1)
    backend.publish(channel, Envelope(lost=True), Room.broadcast_history())
    tick.send(sender=None, n=2)
    events = away.read(client_for(Room, recovery=away.query()))
    assert ticks(events) == []  # nothing half-replayed: the app refetches
    assert [e["data"]["streams"] for e in events if e.get("event") == "gap"] == [
        [{"id": room, "kind": "broadcast", "name": "Room"}]
    ]
