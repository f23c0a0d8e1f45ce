"""A worker dies: the sessions it owned expire on the normal timeouts, the rest carry on."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid

import pytest
import redis

from tests.support.http import request
from tests.support.servers import GunicornServer

pytestmark = pytest.mark.redis


def test_sessions_of_a_dead_worker_expire(redis_for_cluster):
    env = {
        "CLIENTSIGNAL_ECHO_REDIS": redis_for_cluster.url,
        "CLIENTSIGNAL_ECHO_OPTIONS": json.dumps({"disconnect_delay": 0.5}),
    }
    client = redis.Redis.from_url(redis_for_cluster.url)
    with GunicornServer("clientsignal.echo:application", workers=4, env=env) as server:
        session = "%s/echo/000/%s" % (server.url, uuid.uuid4())
        assert request("POST", session + "/xhr").body == "o\n"
        (key,) = client.keys("clientsignal:session:/echo:*%s" % session.rsplit("/", 1)[1])
        owner_pid = int(client.get(key).decode().rsplit("-", 1)[1])
        os.kill(owner_pid, signal.SIGKILL)
        started = time.monotonic()
        while client.exists(key):
            assert time.monotonic() - started < 10, "the dead owner's key never expired"
            time.sleep(0.1)
        # Once expired, the session id opens a new session on a live worker...
        assert request("POST", session + "/xhr").body == "o\n"
        # ...and other sessions were never affected.
        other = "%s/echo/000/%s" % (server.url, uuid.uuid4())
        assert request("POST", other + "/xhr").body == "o\n"
        assert request("POST", other + "/xhr_send", body='["x"]').status == 204
        assert request("POST", other + "/xhr").body == 'a["x"]\n'
