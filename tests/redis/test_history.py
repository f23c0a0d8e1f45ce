"""History in Redis: one round trip per message, replays in order, gaps said; and a client
that reconnects to any of two workers gets what it missed, once, in order."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from urllib.parse import urlencode

import pytest
import redis

from clientsignal.backends import Envelope
from clientsignal.backends.redis import COMMAND_TIMEOUT, RedisBackend
from clientsignal.backends.streams import (
    History,
    Position,
    Replay,
    virtual,
    virtual_head,
)
from tests.support.servers import wait_for
from tests.support.sockjs import SignalClient

from .conftest import send_ticks

pytestmark = pytest.mark.redis


@pytest.fixture
def backend(redis_server):
    backend = RedisBackend(redis_server.url, {"CHANNEL_PREFIX": "h" + uuid.uuid4().hex[:6]})
    yield backend
    backend.close()


def publish(backend, channel, n, history):
    """Publish message n; its position, as a subscriber sees it."""
    listener = redis.Redis.from_url(backend.url).pubsub()
    listener.subscribe(channel)
    listener.get_message(timeout=1)
    backend.publish(channel, Envelope('"{\\"n\\":%d}"' % n, "n"), history)
    message = listener.get_message(timeout=2)
    listener.close()
    return Envelope.from_bytes(message["data"]).position


def test_a_message_is_kept_and_published_in_one_round_trip(backend):
    channel = backend.channel("news")
    history = History(size=10, ttl=60)
    backend.publish(channel, Envelope('"{}"', "n"), history)  # loads the script once
    sent = []
    execute = backend.client.execute_command

    def counted(*args, **kwargs):
        sent.append(args[0])
        return execute(*args, **kwargs)

    backend.client.execute_command = counted
    for _ in range(5):
        backend.publish(channel, Envelope('"{}"', "n"), history)
    assert sent == ["EVALSHA"] * 5  # kept, trimmed, expired and published: one command each


def test_a_replay_is_what_came_after_in_order(backend):
    channel = backend.channel("news")
    history = History(size=10, ttl=60)
    positions = [publish(backend, channel, n, history) for n in range(5)]
    replay = backend.replay(channel, Position.parse(positions[1]), history)
    assert not replay.gap
    assert [json.loads(json.loads(e.encoded))["n"] for e in replay.entries] == [2, 3, 4]
    assert [e.position for e in replay.entries] == positions[2:]
    assert backend.replay(channel, Position.parse(positions[4]), history).entries == []


def test_a_position_before_what_is_kept_is_a_gap(backend):
    channel = backend.channel("news")
    history = History(size=3, ttl=60)
    positions = [publish(backend, channel, n, history) for n in range(6)]
    assert backend.replay(channel, Position.parse(positions[1]), history).gap
    assert not backend.replay(channel, Position.parse(positions[2]), history).gap


def test_a_lost_history_is_a_new_epoch(backend, redis_server):
    channel = backend.channel("news")
    history = History(size=10, ttl=60)
    before = publish(backend, channel, 0, history)
    redis.Redis.from_url(redis_server.url).flushall()  # Redis lost its data
    after = publish(backend, channel, 1, history)
    assert before.split(":")[0] != after.split(":")[0]
    assert backend.replay(channel, Position.parse(before), history).gap


def test_the_head_of_a_stream_without_messages_is_where_its_first_is_replayed_from(
    backend, redis_server
):
    channel = backend.channel("quiet")
    history = History(size=10, ttl=60)
    keys = redis.Redis.from_url(redis_server.url).dbsize()
    head = backend.heads({channel: history})[channel]
    assert virtual(head) is not None and head.token.endswith(":0-0")  # it keeps nothing
    assert redis.Redis.from_url(redis_server.url).dbsize() <= keys + 1  # the life key at most
    assert backend.replay(channel, head, history) == Replay()  # nothing missed yet
    first = publish(backend, channel, 0, history)
    replay = backend.replay(channel, head, history)
    assert not replay.gap and [e.position for e in replay.entries] == [first]
    assert backend.heads({channel: history})[channel].token == first


def test_a_virtual_head_of_a_lost_life_or_older_than_the_ttl_is_a_gap(backend, redis_server):
    channel = backend.channel("quiet")
    head = backend.heads({channel: History(size=10, ttl=60)})[channel]
    life, at = virtual(head)
    older = virtual_head(life, at - 61_000)  # given longer ago than the ttl
    assert backend.replay(channel, older, History(size=10, ttl=60)).gap
    publish(backend, channel, 0, History(size=10, ttl=60))
    redis.Redis.from_url(redis_server.url).flushall()  # Redis lost its data: a new life
    backend.heads({backend.channel("other"): History()})
    assert backend.replay(channel, head, History(size=10, ttl=60)).gap


@pytest.mark.timeout(30)
def test_a_publish_that_failed_leaves_a_mark_in_its_place_once_redis_answers(backend, redis_server):
    """Lost for everyone, it is not silent: the process that failed to publish it marks its
    stream where it would have been, for the live connections and the replays alike."""
    channel = backend.channel("news")
    history = History(size=10, ttl=60)
    first = Position.parse(publish(backend, channel, 0, history))
    redis.Redis.from_url(redis_server.url).save()  # restarted, it has its data back
    redis_server.stop()
    backend.publish(channel, Envelope('"{\\"n\\":1}"', "n"), history)
    assert backend.stats["publish_errors"] == 1
    redis_server.start()
    wait_for(backend.available, 5, "Redis to be tried again")
    backend.publish(channel, Envelope('"{\\"n\\":2}"', "n"), history)  # the mark goes first
    replay = backend.replay(channel, first, history)
    assert [(e.lost, e.encoded) for e in replay.entries] == [(True, ""), (False, '"{\\"n\\":2}"')]
    assert replay.entries[-1].position == backend.heads({channel: history})[channel].token


def test_heads_take_one_round_trip_and_say_nothing_without_redis(backend, redis_server):
    history = History(size=10, ttl=60)
    channels = {backend.channel("c%d" % n): history for n in range(5)}
    backend.heads(channels)  # loads the script once
    sent = []
    execute = backend.client.execute_command

    def counted(*args, **kwargs):
        sent.append(args[0])
        return execute(*args, **kwargs)

    backend.client.execute_command = counted
    assert set(backend.heads(channels)) == set(channels)
    assert sent == ["EVALSHA"]
    redis_server.stop()
    assert backend.heads(channels) == {}


def recovered(url, away, timeout=10):
    """A client reconnecting with what it remembers, as SignalSocket does: its opening
    request says it is recovering, its first message where it stands."""
    recovery = urlencode(
        {
            "recover": ",".join("%s~%s" % i for i in away["positions"].items()),
            "resume": away["resume"],
        }
    )
    client = SignalClient(url, query="recovering=1", background=True, timeout=timeout)
    client.ws.send(json.dumps([recovery]))
    return client


def read(client, away, count):
    """``count`` numbered events, remembering positions and the resume token as the JS
    client does; other events are skipped."""
    numbers = []
    while len(numbers) < count:
        event = client.next_event()
        if "resume" in event or "positions" in event:
            away["resume"] = event.get("resume", away["resume"])
            away["positions"].update(event.get("positions", {}))
            continue
        if "s" in event:
            away["positions"][event["s"]] = event["p"]
        if event.get("event") == "hello":
            away["pids"].add(event["data"]["pid"])
        if event.get("event") == "numbered":
            numbers.append(event["data"]["n"])
    return numbers


def test_a_client_reconnecting_to_either_worker_gets_what_it_missed_once(
    socket_server, redis_server
):
    url = socket_server.url + "/history"
    away: dict = {"positions": {}, "resume": "", "pids": set()}
    client = SignalClient(url, background=True)
    assert send_ticks(redis_server.url, "numbered", 0, 5).returncode == 0
    assert read(client, away, 5) == [0, 1, 2, 3, 4]
    rounds = 0
    while len(away["pids"]) < 2 or rounds < 3:  # until it has reconnected to both workers
        rounds += 1
        assert rounds <= 20, "every reconnection landed on one worker"
        client.close()
        start = rounds * 5
        assert send_ticks(redis_server.url, "numbered", start, start + 5).returncode == 0
        client = recovered(url, away)
        got = read(client, away, 5)
        assert got == list(range(start, start + 5)), got  # missed ones, in order, once
    assert send_ticks(redis_server.url, "numbered", 1000, 1001).returncode == 0
    assert read(client, away, 1) == [1000]  # live again, nothing doubled at the seam
    client.close()


@pytest.mark.timeout(20)
def test_a_replay_while_redis_stalls_waits_one_command_timeout_not_one_per_stream():
    """A Redis that takes connections and never answers: the first stream's replay fails after
    the command timeout, the others are gaps at once, as every other call skips Redis then."""
    stalled = socket.socket()
    stalled.bind(("127.0.0.1", 0))
    stalled.listen(64)
    held = []
    threading.Thread(target=lambda: held.extend(stalled.accept() for _ in iter(int, 1)),
                     daemon=True).start()  # fmt: skip
    backend = RedisBackend("redis://127.0.0.1:%d/0" % stalled.getsockname()[1])
    since = Position("abcd1234", (1, 0))
    started = time.monotonic()
    replays = [
        backend.replay(backend.channel("group:room-%d" % n), since, History()) for n in range(8)
    ]
    took = time.monotonic() - started
    assert all(replay.gap and not replay.entries for replay in replays)
    assert took < 2 * COMMAND_TIMEOUT, took
    assert not backend.available()
    backend.close()
    stalled.close()
