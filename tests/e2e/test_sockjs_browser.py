"""The real sockjs-client in real headless Chromium, every browser transport forced in turn."""

from __future__ import annotations

import pytest

from tests.support.transports import BROWSER_TRANSPORTS

pytestmark = pytest.mark.browser


MESSAGES = ["hello", "ü€ \u2028\u2029 😀 \"'\\ </script>", "x" * 100_000]

ROUND_TRIP = """
async ([url, transport, messages]) => {
  const sock = new SockJS(url, null, {transports: [transport]});
  const received = [];
  const done = new Promise((resolve, reject) => {
    sock.onopen = () => { for (const m of messages) sock.send(m); };
    sock.onmessage = (e) => {
      received.push(e.data);
      if (received.length === messages.length) resolve();
    };
    sock.onclose = (e) => reject(new Error('closed ' + e.code + ' ' + e.reason));
    setTimeout(() => reject(new Error('timeout, got ' + received.length)), 20000);
  });
  await done;
  const used = sock.transport;
  sock.onclose = null;
  sock.close();
  return {received, used};
}
"""

SERVER_CLOSE = """
async ([url, transport]) => {
  const sock = new SockJS(url, null, {transports: [transport]});
  return await new Promise((resolve) => {
    let opened = false;
    sock.onopen = () => { opened = true; };
    sock.onclose = (e) => resolve({opened, code: e.code, reason: e.reason});
    setTimeout(() => resolve({opened, code: 'timeout'}), 20000);
  });
}
"""


@pytest.fixture
def echo_page(page, echo_server):
    page.goto(echo_server.url + "/")
    page.wait_for_function("typeof SockJS === 'function'")
    return page


@pytest.mark.parametrize("transport", BROWSER_TRANSPORTS)
def test_round_trip(echo_page, echo_server, transport):
    result = echo_page.evaluate(ROUND_TRIP, [echo_server.url + "/echo", transport, MESSAGES])
    assert result["received"] == MESSAGES
    assert result["used"] == transport


@pytest.mark.parametrize("transport", BROWSER_TRANSPORTS)
def test_server_close(echo_page, echo_server, transport):
    result = echo_page.evaluate(SERVER_CLOSE, [echo_server.url + "/close", transport])
    assert result == {"opened": True, "code": 3000, "reason": "Go away!"}
