"""Per-address limits without sockets: the key an address counts under."""

from __future__ import annotations

import pytest

from clientsignal.echo import EchoConnection
from clientsignal.sockjs_protocol import Request, SockJSOptions, SockJSServer
from clientsignal.sockjs_protocol.limits import client_key


@pytest.mark.parametrize(
    "address,key",
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::7", "2001:db8:1:2::/64"),  # the same /64
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        # An IPv4 client of a server bound to [::]: its own address, not ::/64 (which would
        # put every IPv4 client of the internet under one key).
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("::ffff:198.51.100.1", "198.51.100.1"),
        ("not an address", "not an address"),
    ],
)
def test_client_key(address, key):
    assert client_key(address) == key


def test_ipv4_clients_of_a_dual_stack_server_have_their_own_session_places():
    server = SockJSServer(EchoConnection, SockJSOptions(max_sessions_per_address=1))

    def opens(address: str, session: str) -> int:
        request = Request("POST", "/0/%s/xhr" % session, remote_addr=address)
        return server.handle(request, 0).status

    assert opens("::ffff:203.0.113.9", "a") == 200
    assert opens("::ffff:198.51.100.1", "b") == 200
    assert opens("::ffff:203.0.113.9", "c") == 429
    assert opens("203.0.113.9", "d") == 429  # the same client
