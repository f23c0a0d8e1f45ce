"""WebSocketWriter: a frame written from another greenlet never lands inside the frame the
session's greenlet is still writing to a client that reads slowly."""

import gevent
import pytest
from gevent import socket

from clientsignal.gevent_io.websocket import WebSocketWriter
from clientsignal.sockjs_protocol.websocket_framing import text_frame


@pytest.mark.timeout(10)
def test_write_now_waits_while_the_session_greenlet_is_blocked_in_a_write() -> None:
    server, client = socket.socketpair()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    writer = WebSocketWriter(server, patience=5)
    big = 'a["%s"]' % ("x" * 200_000)

    def drain() -> None:  # as WebSocketSession._drain writes a pulled frame
        writer.busy = True
        writer.flush()
        writer.write(big)
        writer.busy = False

    drainer = gevent.spawn(drain)
    gevent.sleep(0.05)
    assert not drainer.dead  # waiting for the client to make room
    received = bytearray(client.recv(65536))
    # A broadcast from another greenlet now: it must be left for the queue.
    assert writer.write_now('a["small"]') is False
    expected = text_frame(big)
    while len(received) < len(expected):
        chunk = client.recv(1 << 20)
        assert chunk
        received.extend(chunk)
    drainer.join(5)
    assert bytes(received) == expected
    # Once the session's greenlet is done, write_now writes at once again.
    assert writer.write_now('a["small"]') is True
    assert client.recv(1 << 16) == text_frame('a["small"]')
    server.close()
    client.close()
