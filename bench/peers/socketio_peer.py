"""Peer for bench/: python-socketio on gevent with gevent-websocket, our closest architecture.

"broadcast" reaches every client as "tick", "echo" answers the sender only. Serve with

    PYTHONPATH=bench/peers bench/.venvs/socketio/bin/gunicorn \\
        -k geventwebsocket.gunicorn.workers.GeventWebSocketWorker -w 1 -b 127.0.0.1:PORT \\
        socketio_peer:app

Socket.IO lives under /socket.io/; any other path answers 200 "ok" (readiness probe).
"""

from __future__ import annotations

import socketio

sio = socketio.Server(async_mode="gevent", logger=False, engineio_logger=False)


@sio.on("broadcast")
def broadcast(sid: str, data: object) -> None:
    """Send the data to every connected client as "tick" (encoded once by python-socketio)."""
    sio.emit("tick", data)


@sio.on("echo")
def echo(sid: str, data: object) -> None:
    """Answer the sender only."""
    sio.emit("echo", data, to=sid)


def ok(environ: dict, start_response) -> list[bytes]:
    """Everything outside /socket.io/: 200 "ok", for the readiness probe."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


app = socketio.WSGIApp(sio, ok)
