"""A tab that closes its socket is a calm close, not an interruption: the connection's
lifecycle log line has the client's code (1000, or 1001 for a page going away) and says the
client closed it; a connection whose network went is still 1002 "Connection interrupted"."""

from __future__ import annotations

import re
import struct

import pytest

from tests.attacks.wire import CLOSE, RawWebSocket, frame, session_path
from tests.support.servers import wait_for

pytestmark = pytest.mark.timeout(60)


def disconnects(log: str) -> list[tuple[str, str]]:
    return re.findall(r"disconnect \S+ \S+ code=(\d+) reason='([^']*)'", log)


@pytest.mark.parametrize("code", [1000, 1001])
def test_a_client_that_closes_its_websocket_closes_calmly(start, code: int) -> None:
    with start(log_level="DEBUG") as server:
        ws = RawWebSocket.open(server.port, session_path("/open"))
        ws.send(frame(CLOSE, struct.pack("!H", code)))
        _texts, close = ws.until_close()
        ws.close()
        assert close == (code, "")  # its own code back, as RFC 6455 asks
        found = wait_for(lambda: disconnects(server.log_text()), 10, "the disconnect line")
        assert found == [(str(code), "Closed by the client")]
        assert "Connection interrupted" not in server.log_text()


def test_a_client_whose_network_goes_is_interrupted(start) -> None:
    with start(log_level="DEBUG") as server:
        ws = RawWebSocket.open(server.port, session_path("/open"))
        ws.sock.close()  # no close frame: the connection just ends
        found = wait_for(lambda: disconnects(server.log_text()), 10, "the disconnect line")
        assert found == [("1002", "Connection interrupted")]
