"""A worker relaying another worker's stream dies: the owner notices at the stream's next
heartbeat, which nobody hears, and the session expires as if its client had gone."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import uuid

import pytest
import redis

from tests.support.http import request
from tests.support.servers import GunicornServer

pytestmark = pytest.mark.redis


def relay_of(watch, session: str, timeout: float) -> str | None:
    """The inbox of the worker that forwarded a request of ``session``, if one did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = watch.get_message(timeout=max(0.01, deadline - time.monotonic()))
        if message is None or message["type"] != "pmessage":
            continue
        head = json.loads(message["data"].partition(b"\n")[0])
        if head["op"] == "request" and session in head["request"]["path"]:
            return head["reply_to"]
    return None


@pytest.mark.timeout(60)
def test_the_owner_lets_go_of_a_stream_whose_relay_died(redis_for_cluster):
    env = {
        "CLIENTSIGNAL_ECHO_REDIS": redis_for_cluster.url,
        "CLIENTSIGNAL_ECHO_OPTIONS": json.dumps({"disconnect_delay": 0.5, "heartbeat_delay": 0.3}),
    }
    client = redis.Redis.from_url(redis_for_cluster.url)
    watch = client.pubsub()
    watch.psubscribe("clientsignal:worker:*")
    assert watch.get_message(timeout=5)["type"] == "psubscribe"
    with GunicornServer("clientsignal.echo:application", workers=2, env=env) as server:
        for _ in range(40):
            session = uuid.uuid4().hex
            path = "/echo/000/%s" % session
            assert request("POST", server.url + path + "/xhr").body == "o\n"
            stream = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            stream.sendall(
                b"POST %s/xhr_streaming HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
                % path.encode()
            )
            relay = relay_of(watch, session, timeout=1)
            if relay is not None:
                break
            stream.close()  # it landed on the owner: another session
        else:
            pytest.fail("40 streams all landed on the worker that owned their session")
        assert stream.recv(65536).startswith(b"HTTP/1.1 200")
        watch.close()  # a listener of every inbox itself: the owner's chunks would be heard
        (key,) = client.keys("clientsignal:session:/echo:*%s" % session)
        os.kill(int(relay.rsplit("-", 1)[1]), signal.SIGKILL)
        # The owner's next heartbeat finds no listener: the receiver is aborted, the session
        # expires after disconnect_delay, and its ownership key with it (within its TTL).
        started = time.monotonic()
        while client.exists(key):
            assert time.monotonic() - started < 10, "the owner kept a stream nobody relays"
            time.sleep(0.1)
        stream.close()
        # A request for the session id now opens a new session.
        assert request("POST", server.url + path + "/xhr").body == "o\n"
