"""Per-address limits without sockets: the key an address counts under, and a worker's
connections by address (counted before a request is read)."""

from __future__ import annotations

import pytest

from clientsignal.echo import EchoConnection
from clientsignal.gevent_io.gunicorn_worker import connections_per_address
from clientsignal.sockjs_protocol import Request, SockJSOptions, SockJSServer
from clientsignal.sockjs_protocol.limits import AddressConnections, client_key


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


def test_connections_past_the_limit_from_one_address_are_refused():
    counts = AddressConnections(3)
    assert [counts.open("203.0.113.9") for _ in range(4)] == [True, True, True, False]
    assert counts.open("198.51.100.1")  # another address has its own places
    assert counts.open("::ffff:203.0.113.9") is False  # the same client, through [::]
    assert counts.refused == 2
    counts.close("203.0.113.9")
    assert counts.open("203.0.113.9")
    assert counts.count("203.0.113.9") == 3


def test_an_ipv6_client_counts_by_its_64():
    counts = AddressConnections(2)
    assert counts.open("2001:db8::1") and counts.open("2001:db8::2")
    assert not counts.open("2001:db8::ffff:3")
    assert counts.open("2001:db8:0:1::1")


def test_what_is_not_counted():
    proxies = AddressConnections(1, exempt=("127.0.0.1", "::1"))
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1", "", "127.0.0.1", ""):
        assert proxies.open(address)  # trusted proxies, and a unix socket's connections
    assert proxies.refused == 0 and proxies.count("127.0.0.1") == 0
    unlimited = AddressConnections(0)
    assert all(unlimited.open("203.0.113.9") for _ in range(1000))
    unlimited.close("203.0.113.9")


def test_closing_gives_back_the_place_and_forgets_the_address():
    counts = AddressConnections(1)
    counts.open("203.0.113.9")
    counts.close("203.0.113.9")
    assert counts._open == {}


def test_the_default_limit_is_a_tenth_of_the_pool():
    assert connections_per_address(11_000) == 1_100
    assert connections_per_address(5) == 1


def test_ipv4_clients_of_a_dual_stack_server_have_their_own_session_places():
    server = SockJSServer(EchoConnection, SockJSOptions(max_sessions_per_address=1))

    def opens(address: str, session: str) -> int:
        request = Request("POST", "/0/%s/xhr" % session, remote_addr=address)
        return server.handle(request, 0).status

    assert opens("::ffff:203.0.113.9", "a") == 200
    assert opens("::ffff:198.51.100.1", "b") == 200
    assert opens("::ffff:203.0.113.9", "c") == 429
    assert opens("203.0.113.9", "d") == 429  # the same client
