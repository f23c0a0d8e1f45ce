"""SIGTERM (gunicorn's graceful stop): sessions close with a going-away code at once."""

from __future__ import annotations

import signal
import time
import uuid

import websocket

from tests.support.http import Stream
from tests.support.servers import GunicornServer


def test_sigterm_closes_sessions_with_going_away():
    server = GunicornServer(
        "clientsignal.echo:application", workers=1, extra_args=("--graceful-timeout", "20")
    ).start()
    try:
        ws = websocket.create_connection(
            "ws://127.0.0.1:%d/echo/000/%s/websocket" % (server.port, uuid.uuid4()), timeout=10
        )
        assert ws.recv() == "o"
        stream = Stream("POST", "%s/echo/000/%s/xhr_streaming" % (server.url, uuid.uuid4()))
        stream.read_chunk()
        assert stream.read_chunk() == "o\n"
        ws.send('["accepted before the stop"]')
        assert ws.recv() == 'a["accepted before the stop"]'
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        assert ws.recv() == 'c[1001,"Server shutting down"]'
        assert stream.read_chunk() == 'c[1001,"Server shutting down"]\n'
        assert stream.read_chunk() == ""
        # Well before gunicorn's 20 s graceful timeout would have cut the sockets.
        assert time.monotonic() - started < 10
        stream.close()
        ws.close()
        assert server.proc.wait(20) == 0
    finally:
        server.stop()
