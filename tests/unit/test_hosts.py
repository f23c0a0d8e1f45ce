"""The host check of the core: a request's ``Host`` against ``allowed_hosts``, as Django checks
``ALLOWED_HOSTS`` (DNS rebinding), on every request of every transport and of the multiplexed
service."""

from __future__ import annotations

import logging

import pytest
from django.http.request import split_domain_port, validate_host
from hypothesis import given, settings
from hypothesis import strategies as st

from clientsignal.echo import EchoConnection
from clientsignal.sockjs_protocol import Request, Response, SockJSOptions, SockJSServer
from clientsignal.sockjs_protocol.multiplex import Multiplexer
from clientsignal.sockjs_protocol.origins import host_allowed, request_host

ALLOWED = ("example.com", ".example.org", "127.0.0.1", "[::1]")


def req(host: str | None, path: str = "/0/s/xhr", method: str = "POST", **headers: str):
    if host is not None:
        headers["host"] = host
    return Request(method, path, headers=headers, server_name="10.0.0.5", server_port="8000")


@pytest.mark.parametrize(
    "host,expected",
    [
        ("example.com", True),
        ("EXAMPLE.com:8000", True),
        ("example.com.", True),  # a trailing dot: the same name
        ("www.example.com", False),
        ("example.org", True),
        ("a.b.example.org:443", True),
        ("evilexample.org", False),
        ("evil.example", False),
        ("127.0.0.1:8000", True),
        ("[::1]:8000", True),
        ("[::2]", False),
        ("example.com:80:80", False),
        ("example.com/x", False),
        ("exa mple.com", False),
        ("", False),
        ("examplé.com", False),
        ("example.com\n", False),
    ],
)
def test_host_allowed(host, expected):
    assert host_allowed(req(host), ALLOWED) is expected


def test_without_a_host_header_the_server_name_and_port_count():
    assert request_host(req(None)) == "10.0.0.5:8000"
    assert not host_allowed(req(None), ALLOWED)
    assert host_allowed(req(None), ("10.0.0.5",))


def test_x_forwarded_host_counts_only_when_asked():
    forwarded = req("backend:8000", **{"x-forwarded-host": "example.com"})
    assert not host_allowed(forwarded, ALLOWED)
    assert host_allowed(forwarded, ALLOWED, forwarded=True)


def test_a_star_allows_every_well_formed_host_only():
    assert host_allowed(req("anything.example:1"), ("*",))
    assert not host_allowed(req("bad host"), ("*",))
    assert host_allowed(req("bad host"), None)  # no check at all (clientsignal.echo)


hosts = st.one_of(
    st.text(max_size=20),
    st.text("abcdefXYZ019.-:[]", max_size=20),
    st.builds(
        "{}{}".format,
        st.sampled_from(
            ["example.com", "EXAMPLE.org.", "a.example.org", "[::1]", "[::ffff:1.2.3.4]"]
        ),
        st.sampled_from(["", ":80", ":", ":8x", "\n", "."]),
    ),
)
patterns = st.lists(
    st.sampled_from(
        ["*", "example.com", ".example.org", "[::1]", "a.example.org", "", "EXAMPLE.COM"]
    ),
    max_size=3,
)


@settings(max_examples=1000, deadline=None)
@given(hosts, patterns)
def test_as_django_checks_allowed_hosts(host, allowed):
    domain, _port = split_domain_port(host)
    django_says = bool(domain) and validate_host(domain, allowed)
    assert host_allowed(req(host), tuple(allowed)) is django_says


SESSION_PATHS = [
    ("GET", ""),
    ("GET", "/info"),
    ("GET", "/iframe.html"),
    ("POST", "/000/s1/xhr"),
    ("POST", "/000/s1/xhr_streaming"),
    ("GET", "/000/s1/eventsource"),
    ("GET", "/000/s1/htmlfile?c=cb"),
    ("GET", "/000/s1/jsonp?c=cb"),
    ("POST", "/000/s1/xhr_send"),
    ("POST", "/000/s1/jsonp_send"),
    ("GET", "/000/s1/websocket"),
    ("GET", "/websocket"),
]


@pytest.mark.parametrize("method,path", SESSION_PATHS)
@pytest.mark.parametrize("factory", [EchoConnection, Multiplexer(lambda path: None)])
def test_every_request_of_a_foreign_host_is_refused_with_400(method, path, factory, caplog):
    server = SockJSServer(factory, SockJSOptions(allowed_hosts=ALLOWED))
    path, _, query = path.partition("?")
    headers = {"origin": "http://evil.example", "upgrade": "websocket", "connection": "Upgrade"}
    foreign = Request(method, path, query, {"host": "evil.example", **headers}, prefix="/p")
    with caplog.at_level(logging.WARNING, "clientsignal.sockjs"):
        for _ in range(3):
            answer = server.handle(foreign, 0)
            assert isinstance(answer, Response), answer
            assert (answer.status, answer.body) == (400, b"Host not allowed.")
    assert server.open_sessions() == 0
    assert server.counters.refused_hosts == 3
    logged = [r.getMessage() for r in caplog.records if "ALLOWED_HOSTS" in r.getMessage()]
    assert len(logged) == 1, logged  # once per episode, the others counted
    assert "Host 'evil.example' is not in ALLOWED_HOSTS (400)" in logged[0]
    # The same request from the site itself is served.
    own = Request(method, path, query, {"host": "example.com", **headers}, prefix="/p")
    answer = server.handle(own, 0)
    assert not (isinstance(answer, Response) and answer.status == 400 and b"Host" in answer.body)
