"""Small holes an attacker probes: numbers JSON does not have, in both directions; a header
Django's views may choke on; an exception's text leaking to the client."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from tests.support.servers import GunicornServer

from .wire import RawWebSocket, session_path


@pytest.fixture(scope="module")
def server(start) -> Iterator[GunicornServer]:
    with start(workers=1) as server:
        yield server


def opened(server: GunicornServer) -> RawWebSocket:
    ws = RawWebSocket.open(server.port, session_path("/open"))
    assert ws.recv_text() == "o"
    return ws


@pytest.mark.timeout(30)
@pytest.mark.parametrize("number", ["1e999", "-1e999", "NaN", "Infinity", "-Infinity"])
def test_a_number_json_has_not_is_refused(server, number) -> None:
    ws = opened(server)
    ws.send_text(json.dumps(['{"event":"ping","data":{"n":%s}}' % number]))
    error = ws.next_event()
    assert error["event"] == "error"
    assert error["data"]["message"].startswith("malformed message")
    ws.send_event("ping", {"n": 2})  # the connection stays open
    assert ws.next_event()["data"]["n"] == 2
    ws.close()
    log = server.log_text()
    assert "receiver ran: ping n=inf" not in log
    assert "receiver ran: ping n=-inf" not in log
    assert "receiver ran: ping n=nan" not in log


@pytest.mark.timeout(30)
def test_a_broadcast_holding_infinity_is_logged_not_sent(server) -> None:
    ws = opened(server)
    ws.send_event("infinite")  # its receiver broadcasts {"value": float("inf")}
    ws.send_event("shout", {"text": "after"})
    texts = []
    while True:
        text = ws.recv_text()
        texts.append(text)
        if "after" in text:
            break
    assert not any("Infinity" in text or "NaN" in text for text in texts), texts
    shouted = [e for t in texts if t.startswith("a") for e in json.loads(t[1:])]
    assert [json.loads(e)["data"]["text"] for e in shouted] == ["after"]
    assert "cannot encode event 'shouted'" in server.log_text()
    ws.close()


def raw_get(server: GunicornServer, path: str, authorization: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Authorization: " + authorization + b"\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


@pytest.mark.timeout(30)
@pytest.mark.parametrize("path", ["/clientsignal/stats.json", "/clientsignal/metrics"])
@pytest.mark.parametrize(
    "authorization",
    [
        b"Bearer \xc3\xa9t\xc3\xa9",
        b"Bearer \xff\xfe",
        b"Bearer stats-token\xe9",
        "Bearer ☃".encode(),
    ],
)
def test_a_non_ascii_authorization_header_is_a_403(server, path, authorization) -> None:
    status, data = raw_get(server, path, authorization)
    assert status == 403, data[:300]
    assert raw_get(server, path, b"Bearer stats-token")[0] == 200


@pytest.mark.timeout(30)
def test_a_receiver_that_raises_tells_the_client_nothing_of_it(server) -> None:
    ws = opened(server)
    ws.send_event("boom")
    error = ws.next_event()
    assert error == {
        "event": "error",
        "data": {"message": "internal error handling 'boom'", "event": "boom"},
    }
    text = json.dumps(error)
    for leak in ("secret-detail-4711", "settings.py", "Traceback", "ValueError"):
        assert leak not in text
    ws.send_event("ping", {"n": 3})
    assert ws.next_event()["data"]["n"] == 3
    ws.close()
    log = server.log_text()
    assert "secret-detail-4711" in log and "Traceback" in log  # for the operator, not the client
