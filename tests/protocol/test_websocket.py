"""The SockJS websocket sections, against the real server under gunicorn."""

from __future__ import annotations

import base64
import hashlib
import socket
import uuid

import pytest
import websocket

from tests.support.http import request


def ws_url(server, service="echo", session=None):
    return "ws://127.0.0.1:%d/%s/000/%s/websocket" % (server.port, service, session or uuid.uuid4())


def connect(url):
    return websocket.create_connection(url, timeout=10)


def test_plain_http_on_a_websocket_url_is_refused(echo_server):
    url = echo_server.url + "/echo/0/0/websocket"
    assert request("GET", url).status == 400
    bad = request("GET", url, headers={"Upgrade": "WebSocket", "Connection": "close"})
    assert bad.status == 400
    for headers in ({"Upgrade": "WebSocket", "Connection": "Upgrade"}, {}):
        reply = request("POST", url, headers=headers)
        assert reply.status == 405
        assert reply.header("Allow")
        assert reply.header("Content-Type") is None
        assert reply.body == ""


def test_a_websocket_outlives_the_streaming_response_limit(echo_server):
    # The echo services renew streaming HTTP responses every 4096 bytes; a websocket stays.
    ws = connect(ws_url(echo_server))
    assert ws.recv() == "o"
    for n in range(10):
        ws.send('["%d%s"]' % (n, "x" * 1000))
        assert ws.recv() == 'a["%d%s"]' % (n, "x" * 1000)
    ws.send('["still open"]')
    assert ws.recv() == 'a["still open"]'
    ws.close()


def test_transport(echo_server):
    ws = connect(ws_url(echo_server))
    assert ws.recv() == "o"
    ws.send('["a"]')
    assert ws.recv() == 'a["a"]'
    ws.send('"bare string"')
    assert ws.recv() == 'a["bare string"]'
    ws.send('["ü😀\u2028"]')
    assert ws.recv() == 'a["ü😀\\u2028"]'
    ws.close()


def test_close_service(echo_server):
    ws = connect(ws_url(echo_server, "close"))
    assert ws.recv() == "o"
    assert ws.recv() == 'c[3000,"Go away!"]'
    opcode, frame = ws.recv_data_frame(True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    ws.close()


def test_handshake_headers(echo_server):
    key = "x3JJHMbDL1EzLkh9GBhXDw=="
    path = "/echo/000/%s/websocket" % uuid.uuid4()
    with socket.create_connection(("127.0.0.1", echo_server.port), timeout=10) as sock:
        sock.sendall(
            (
                "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Origin: http://asd\r\n"
                "Sec-WebSocket-Key: %s\r\n\r\n" % (path, key)
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1024)
    # The open frame may arrive in the same read, after the head: decode the head only.
    lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
    assert lines[0].startswith("HTTP/1.1 101")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    accept = base64.b64encode(
        hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
    ).decode()
    assert headers["sec-websocket-accept"] == accept == "HSmrc0sMlYUkAGmm5OPpG2HaGWk="
    assert headers["connection"].lower() == "upgrade"
    assert headers["upgrade"].lower() == "websocket"
    assert "content-length" not in headers


def test_empty_frames_are_ignored(echo_server):
    ws = connect(ws_url(echo_server))
    assert ws.recv() == "o"
    ws.send("")
    ws.send("[]")
    ws.send('["a"]')
    assert ws.recv() == 'a["a"]'
    ws.close()


def test_session_id_may_be_reused(echo_server):
    session = uuid.uuid4()
    first, second = (
        connect(ws_url(echo_server, session=session)),
        connect(ws_url(echo_server, session=session)),
    )
    assert first.recv() == "o" and second.recv() == "o"
    first.send('["a"]')
    second.send('["b"]')
    assert first.recv() == 'a["a"]'
    assert second.recv() == 'a["b"]'
    first.close()
    second.close()
    again = connect(ws_url(echo_server, session=session))
    assert again.recv() == "o"
    again.close()


def test_broken_json_closes_the_socket(echo_server):
    ws = connect(ws_url(echo_server))
    assert ws.recv() == "o"
    ws.send('["a')
    opcode, frame = ws.recv_data_frame(True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert frame.data[:2] == (1002).to_bytes(2, "big")
    # The worker lives on.
    other = connect(ws_url(echo_server))
    assert other.recv() == "o"
    other.close()


def test_raw_websocket(echo_server):
    ws = connect("ws://127.0.0.1:%d/echo/websocket" % echo_server.port)
    ws.send("Hello world!\uffff")
    assert ws.recv() == "Hello world!\uffff"
    ws.close()


def test_raw_websocket_close_reason(echo_server):
    ws = connect("ws://127.0.0.1:%d/close/websocket" % echo_server.port)
    opcode, frame = ws.recv_data_frame(True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert frame.data == (3000).to_bytes(2, "big") + b"Go away!"


def test_websocket_disabled_service(echo_server):
    assert request("GET", echo_server.url + "/disabled_websocket_echo/0/0/websocket").status == 404
    with pytest.raises(websocket.WebSocketException):
        ws = connect(ws_url(echo_server, "disabled_websocket_echo"))
        ws.recv()
        ws.recv()


def test_websockets_on_several_workers(echo_server_multi):
    sockets = [connect(ws_url(echo_server_multi)) for _ in range(8)]
    for i, ws in enumerate(sockets):
        assert ws.recv() == "o"
        ws.send('["%d"]' % i)
    for i, ws in enumerate(sockets):
        assert ws.recv() == 'a["%d"]' % i
        ws.close()
