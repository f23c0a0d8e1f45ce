"""The origin policy of the core."""

import pytest

from clientsignal.sockjs_protocol import Request, SockJSOptions, SockJSServer
from clientsignal.sockjs_protocol.origins import frame_ancestors, origin_allowed

ALLOWED = ("example.com", ".example.org", "https://partner.net:8443")


def req(host="example.com", **headers):
    return Request("POST", "/0/s/xhr", headers={"host": host, **headers})


@pytest.mark.parametrize(
    "headers,expected",
    [
        ({"origin": "http://example.com"}, True),
        ({"origin": "http://example.com:8080"}, False),  # another port: another site's page
        # Host without a port: the default port of the page's scheme (a TLS proxy in front).
        ({"origin": "https://example.com"}, True),
        ({"origin": "http://a.example.org"}, True),
        ({"origin": "http://example.org"}, True),
        ({"origin": "http://evilexample.org"}, False),
        ({"origin": "https://partner.net:8443"}, True),
        ({"origin": "https://partner.net"}, False),
        ({"origin": "null"}, False),
        ({"referer": "http://a.example.org/page?x"}, True),
        ({"referer": "http://evil.net/page"}, False),
        ({}, True),  # no browser page, no cookies: an anonymous program
        ({"cookie": "sessionid=1"}, False),  # cookies but no page to check: refused
    ],
)
def test_origin_allowed(headers, expected):
    assert origin_allowed(req(**headers), ALLOWED) is expected


def test_own_host_and_any():
    assert origin_allowed(req("127.0.0.1:8000", origin="http://127.0.0.1:8000"), ())
    assert not origin_allowed(req("127.0.0.1:8000", origin="http://127.0.0.1:8001"), ())
    assert origin_allowed(req(origin="http://anything:1"), ("*",))
    assert origin_allowed(req(origin="null"), None)


def test_frame_ancestors_name_the_request_port():
    policy = frame_ancestors(req("example.com:8000"), ("example.com", ".example.org", "*"))
    assert policy == (
        "frame-ancestors 'self' example.com:8000 example.org:8000 *.example.org:8000 *"
    )


def test_refused_requests_get_403_and_the_iframe_a_policy():
    server = SockJSServer(lambda s: None, SockJSOptions(allowed_origins=("example.com",)))
    refused = server.handle(req(origin="http://evil.net"), 0)
    assert (refused.status, refused.body) == (403, b"Origin not allowed.")
    page = server.handle(Request("GET", "/iframe.html", headers={"host": "example.com"}), 0)
    assert ("Content-Security-Policy", "frame-ancestors 'self' example.com") in page.headers
