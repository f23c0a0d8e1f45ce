"""Django-style URLs: "/rooms/<int:room_id>", arguments on the connection, room broadcasts
(``broadcast(..., by=...)``) and ``send_to_url``, on both backends; and the arguments and
request of a connection opened by a request forwarded from another worker."""

from __future__ import annotations

import json
import random
import time
import uuid

import pytest

from clientsignal.backends.redis import RedisBackend
from tests.support.http import request

pytestmark = pytest.mark.redis


def two_rooms():
    return random.sample(range(1, 10**9), 2)


def test_room_broadcast_reaches_that_room_only_on_every_worker(project):
    here, there = two_rooms()
    room, pids = project.open_clients(4, path="/rooms/%d" % here, per_worker=2)
    assert len(pids) == project.workers
    elsewhere, _ = project.open_clients(2, path="/rooms/%d" % there)
    # From a client of the room (its receiver sends the signal), then from the server.
    room[0].send("say", {"text": "hi"})
    hi = {"room_id": here, "text": "hi", "sender": None}
    assert room[0].next_event()["data"] == hi  # said: the next signal comes after it
    project.do("said", room_id=here, text="from the server")
    end = project.end_marker()
    for client in room:
        if client is not room[0]:
            assert client.next_event()["data"] == hi
        assert client.next_event()["data"] == {
            "room_id": here,
            "text": "from the server",
            "sender": None,
        }
        assert client.next_event()["data"]["origin"] == end  # once
    for client in elsewhere:
        assert client.next_event()["data"]["origin"] == end  # not the other room


def test_send_to_url_reaches_the_connections_of_those_arguments(project):
    here, there = two_rooms()
    room, _ = project.open_clients(4, path="/rooms/%d" % here, per_worker=2)
    elsewhere, _ = project.open_clients(2, path="/rooms/%d" % there)
    plain, _ = project.open_clients(1)  # no URL arguments at all
    project.do("url", kwargs={"room_id": here}, text="notice")
    end = project.end_marker()
    for client in room:
        assert client.next_event() == {"event": "notice", "data": {"text": "notice"}}
        assert client.next_event()["data"]["origin"] == end
    for client in elsewhere + plain:
        assert client.next_event()["data"]["origin"] == end


def test_url_arguments_reach_the_connection(project):
    client = project.client("/rooms/42")
    assert client.hello["kwargs"] == {"room_id": 42}
    assert client.hello["path"].startswith("/rooms/42/")
    # Not an int: not a room URL, so Django answers (404), not SockJS.
    assert request("GET", project.url + "/rooms/x/info").status == 404
    assert request("GET", project.url + "/rooms/42/info").status == 200


# -- a connection opened through a forwarded request ---------------------------------------------

ROOMS = "/rooms/<int:room_id>"


def worker_inboxes(backend, workers, timeout=15):
    """The workers' inbox channels, once every worker has subscribed (on its first request);
    on a cluster, shard channels (each on the master of its slot)."""
    deadline = time.monotonic() + timeout
    while True:
        if backend.routing.sharded:
            found = [
                c
                for node in backend.client.get_primaries()
                for c in node.redis_connection.pubsub_shardchannels("cstest:*worker:*")
            ]
        else:
            found = backend.client.pubsub_channels("cstest:worker:*")
        inboxes = sorted(c.decode() for c in found)
        if len(inboxes) == workers:
            return inboxes
        assert time.monotonic() < deadline, inboxes
        time.sleep(0.05)


class InboxWatch:
    """What is posted to the workers' inboxes: one pubsub by pattern on one server, one per
    inbox (SSUBSCRIBE on its master) on a cluster."""

    def __init__(self, backend, inboxes):
        if backend.routing.sharded:
            self.pubsubs = []
            for inbox in inboxes:
                node = backend.client.get_node_from_key(inbox)
                pubsub = node.redis_connection.pubsub()
                pubsub.ssubscribe(inbox)
                self.pubsubs.append(pubsub)
        else:
            pubsub = backend.client.pubsub()
            pubsub.psubscribe("cstest:worker:*")
            self.pubsubs = [pubsub]
        for pubsub in self.pubsubs:
            assert pubsub.get_message(timeout=5)["type"] in ("psubscribe", "ssubscribe")

    def get_message(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            for pubsub in self.pubsubs:
                message = pubsub.get_message(timeout=0.01)
                if message is not None and message["type"] in ("pmessage", "smessage"):
                    return message
            if time.monotonic() >= deadline:
                return None

    def close(self):
        for pubsub in self.pubsubs:
            pubsub.close()


@pytest.mark.timeout(90)
def test_a_connection_opened_by_a_forwarded_request(redis_only):
    """The first request of a session normally lands on the worker that then owns it; when
    another worker claimed the session first (two first requests at once, say), the request
    is forwarded to the owner, which opens the connection from the forwarded fields. It must
    get the same URL arguments, host, scheme and server as a request it served itself.
    Here the owner's claim is made by the test, so that the forwarded case is not left to
    chance; the test watches the owner's inbox to know when the request was forwarded."""
    project = redis_only
    project.open_clients(2)  # both workers started, so both subscribed
    backend = RedisBackend(project.redis.url, {"CHANNEL_PREFIX": "cstest"})  # for its names
    client = backend.client
    inboxes = worker_inboxes(backend, project.workers)
    watch = InboxWatch(backend, inboxes)
    host = "rooms.example.org:8443"
    local = project.client("/rooms/7")  # a websocket: always served where it lands
    try:
        for attempt in range(40):
            owner = inboxes[attempt % len(inboxes)]
            session = uuid.uuid4().hex
            key = backend.channel("session:%s:%s" % (ROOMS, session))
            client.set(key, owner.split(":")[-1], px=20_000)
            url = "%s/rooms/7/000/%s/xhr" % (project.url, session)
            headers = {"Host": host, "Cookie": "sockjs_key=%s" % session}
            opened = request("POST", url, headers=headers)
            assert (opened.status, opened.body) == (200, "o\n"), opened.body
            if forwarded(watch, owner, session):
                break
        else:
            pytest.fail("40 first requests all landed on the worker that owned the session")
        reply = request("POST", url, headers=headers)
        frame = reply.body.rstrip("\n")
        assert frame.startswith("a["), frame
        hello = json.loads(json.loads(frame[1:])[0])
        assert hello["event"] == "hello"
        opener = hello["data"]
        assert opener["pid"] == int(owner.rsplit("-", 1)[1])  # opened at the owner
        assert opener["kwargs"] == {"room_id": 7}
        assert opener["host"] == host
        assert opener["scheme"] == "http"
        # SERVER_NAME and SERVER_PORT as the worker that took the request saw them, as for
        # the websocket opened locally (not an invented localhost:80).
        assert opener["server"] == local.hello["server"]
        assert opener["server"][1] == str(project.server.port)
        assert opener["path"] == "/rooms/7/000/%s/xhr" % session
    finally:
        watch.close()
        backend.close()


def forwarded(watch, owner, session, timeout=1.0):
    """Whether a request of ``session`` was published to ``owner``'s inbox (it was before
    the answer reached the client, if at all)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = watch.get_message(timeout=max(0.01, deadline - time.monotonic()))
        if message is None:
            continue
        head = json.loads(message["data"].partition(b"\n")[0])
        if (
            message["channel"].decode() == owner
            and head["op"] == "request"
            and session in head.get("request", head)["path"]  # (f25fcbe: at the top)
        ):
            return True
    return False
