"""Cross-site hijacking: a page on another port of the same host (same site, so the browser
sends the visitor's cookies) tries to open a session as the logged-in visitor."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.examples.conftest import CHAT_USERS, run_example
from tests.examples.test_chat_example import log_in, messages, say
from tests.support.servers import free_port
from tests.support.transports import BROWSER_TRANSPORTS

pytestmark = pytest.mark.browser

SAY = '{"event": "say", "data": {"text": "sent by the attacker"}}'
# Straight to alice's room, or through the multiplexed service.
DIRECT = ("/chat/1", [SAY])
MULTIPLEXED = ("/clientsignal/multiplex", ["sub,/chat/1", "msg,/chat/1," + SAY])

ATTACK = """
async ([victim, path, transport, messages]) => {
  const sock = new SockJS(victim + path, null, {transports: [transport]});
  const seen = [];
  return await new Promise((resolve) => {
    sock.onopen = () => { seen.push('open'); for (const m of messages) sock.send(m); };
    sock.onmessage = (e) => seen.push(e.data);
    sock.onclose = (e) => resolve({seen, code: e.code});
    setTimeout(() => { sock.close(); resolve({seen, code: 'timeout'}); }, 8000);
  });
}
"""


@pytest.fixture(scope="module")
def chat_server():
    yield from run_example("chat", setup=CHAT_USERS)


@pytest.fixture(scope="module")
def open_chat_server():
    yield from run_example("chat", setup=CHAT_USERS, CHAT_ALLOWED_ORIGINS="*")


@pytest.fixture(scope="module")
def attacker():
    """A page on http://127.0.0.1:<another port> loading sockjs-client from the victim."""
    pages = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, pages
    server.shutdown()


def attack(browser, victim, attacker, transport, target=DIRECT):
    server, pages = attacker
    pages["/evil.html"] = (
        '<script src="%s/static/clientsignal/sockjs.min.js"></script>' % victim.url
    )
    alice = log_in(browser, victim, "alice")  # the visitor is logged in to the victim site
    try:
        evil = alice.context.new_page()
        evil.goto("http://127.0.0.1:%d/evil.html" % server.server_address[1])
        evil.wait_for_function("typeof SockJS === 'function'")
        result = evil.evaluate(ATTACK, [victim.url, *target[:1], transport, target[1]])
        return result, alice
    except Exception:
        alice.context.close()
        raise


@pytest.mark.parametrize(
    "transport,target",
    [(transport, DIRECT) for transport in BROWSER_TRANSPORTS]
    + [("websocket", MULTIPLEXED), ("xhr-polling", MULTIPLEXED)],
)
def test_attack_from_another_origin_fails(browser, chat_server, attacker, transport, target):
    result, alice = attack(browser, chat_server, attacker, transport, target)
    try:
        assert "open" not in result["seen"], result
        # Nothing was said as alice; her own page keeps working.
        say(alice, "still here")
        alice.wait_for_selector("#log li.message", timeout=15000)
        assert messages(alice) == ["alice: still here"]
    finally:
        alice.context.close()
    log = chat_server.log_text()
    assert "origin 'http://127.0.0.1:%d' not allowed" % attacker[0].server_address[1] in log or (
        "iframe" in transport  # the browser refuses to frame the page: no request at all
    )


@pytest.mark.parametrize("target", [DIRECT, MULTIPLEXED])
def test_without_the_check_the_same_attack_works(browser, open_chat_server, attacker, target):
    # The control: with CLIENTSIGNAL_ALLOWED_ORIGINS = ["*"] the attacker speaks as alice.
    result, alice = attack(browser, open_chat_server, attacker, "xhr-polling", target)
    try:
        assert "open" in result["seen"], result
        alice.wait_for_selector("#log li.message", timeout=15000)
        assert messages(alice) == ["alice: sent by the attacker"]
    finally:
        alice.context.close()
