"""Broken and greedy clients, with real sockets: each gets a clear answer, nobody else notices."""

from __future__ import annotations

import uuid

import pytest
import websocket

from tests.support.http import request
from tests.support.servers import GunicornServer


@pytest.fixture(scope="module")
def faulty():
    with GunicornServer("tests.hardening.faulty:application", workers=1) as server:
        yield server


def connect(server):
    url = "ws://127.0.0.1:%d/faulty/000/%s/websocket" % (server.port, uuid.uuid4())
    ws = websocket.create_connection(url, timeout=10)
    return ws


def test_an_exception_in_one_session_touches_nobody(faulty):
    a, b = connect(faulty), connect(faulty)
    assert a.recv() == "o" and b.recv() == "o"
    a.send('["boom"]')
    b.send('["hello"]')
    assert b.recv() == 'a["hello"]'
    a.send('["still here"]')
    assert a.recv() == 'a["still here"]'
    assert "FaultyConnection.on_message raised" in faulty.log_text()
    a.close()
    b.close()


def test_a_message_too_big_closes_that_session_only(faulty):
    greedy, other = connect(faulty), connect(faulty)
    assert greedy.recv() == "o" and other.recv() == "o"
    greedy.send('["%s"]' % ("x" * 2000))
    assert greedy.recv() == 'c[1009,"Message too big"]'
    other.send('["fine"]')
    assert other.recv() == 'a["fine"]'
    other.close()


def test_session_limit_per_process(faulty):
    held = [connect(faulty) for _ in range(3)]
    for ws in held:
        assert ws.recv() == "o"
    refused = connect(faulty)
    opcode, frame = refused.recv_data_frame(True)
    assert frame.data == (1013).to_bytes(2, "big") + b"Try again later"
    url = "%s/faulty/000/%s/xhr" % (faulty.url, uuid.uuid4())
    reply = request("POST", url)
    assert (reply.status, reply.body) == (503, "Too many sessions.")
    held.pop().close()
    # A place is free again once a session ends.
    for _ in range(100):
        reply = request("POST", "%s/faulty/000/%s/xhr" % (faulty.url, uuid.uuid4()))
        if reply.status == 200:
            break
    assert reply.body == "o\n"
    for ws in held:
        ws.close()
