"""Dead websockets and abandoned polling sessions are reaped on schedule."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid

import pytest
import websocket

from tests.support.http import request
from tests.support.servers import GunicornServer


@pytest.fixture
def fast_echo():
    options = {"heartbeat_delay": 0.5, "disconnect_delay": 0.5}
    env = {"CLIENTSIGNAL_ECHO_OPTIONS": json.dumps(options)}
    with GunicornServer("clientsignal.echo:application", env=env) as server:
        yield server


def test_dead_websocket_is_reaped(fast_echo):
    # A peer that neither closes nor answers pings (its network is gone): a raw handshake,
    # then silence. Answering pings keeps a live one open.
    path = "/echo/000/%s/websocket" % uuid.uuid4()
    sock = socket.create_connection(("127.0.0.1", fast_echo.port), timeout=10)
    sock.sendall(
        (
            "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n\r\n"
            % path
        ).encode()
    )
    live = websocket.create_connection("ws://127.0.0.1:%d%s" % (fast_echo.port, path), timeout=10)
    assert live.recv() == "o"
    frames = []  # a live client reads all along, and answers pings as it does (as browsers do)
    reader = threading.Thread(target=lambda: _read_all(live, frames), daemon=True)
    reader.start()
    started = time.monotonic()
    data = b""
    while True:  # the server writes heartbeats and pings, then gives up and closes
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    reaped_after = time.monotonic() - started
    assert b"h" in data
    assert reaped_after < 5  # about three heartbeats
    time.sleep(1.5)  # three more heartbeats: the live one is still served
    live.send('["alive"]')
    deadline = time.monotonic() + 5
    while 'a["alive"]' not in frames:
        assert time.monotonic() < deadline, frames[-5:]
        time.sleep(0.05)
    assert frames.count("h") >= 3
    live.close()


def _read_all(ws, frames):
    try:
        while True:
            frames.append(ws.recv())
    except Exception:
        pass


def test_abandoned_polling_session_is_reaped(fast_echo):
    url = "%s/echo/000/%s" % (fast_echo.url, uuid.uuid4())
    assert request("POST", url + "/xhr").body == "o\n"
    assert request("POST", url + "/xhr_send", body='["x"]').status == 204
    deadline = time.monotonic() + 5
    while request("POST", url + "/xhr_send", body='["x"]').status == 204:
        assert time.monotonic() < deadline, "the session was never reaped"
        time.sleep(0.1)
    # Gone: a send gets 404, and a new poll opens a new session.
    assert request("POST", url + "/xhr").body == "o\n"
