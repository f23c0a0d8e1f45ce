"""The client's address and scheme behind a reverse proxy: taken from ``X-Forwarded-For`` and
``X-Forwarded-Proto`` only when the request comes from a trusted proxy (docs/deploying.md)."""

from __future__ import annotations

from clientsignal.gevent_io.http import build_request, client_address, client_scheme

TRUSTED = ("127.0.0.1", "::1")


def request_from(remote: str, scheme: str = "http", **headers: str):
    environ = {"REMOTE_ADDR": remote, "wsgi.url_scheme": scheme, "PATH_INFO": "/simple/info"}
    environ.update({"HTTP_" + name.upper(): value for name, value in headers.items()})
    return build_request(
        environ, prefix="/simple", path="/info", url_kwargs={}, trusted_proxies=TRUSTED
    )


def test_behind_nginx_the_request_is_the_clients():
    request = request_from("127.0.0.1", x_forwarded_for="203.0.113.9", x_forwarded_proto="https")
    assert (request.remote_addr, request.scheme) == ("203.0.113.9", "https")


def test_an_untrusted_peer_cannot_claim_an_address_or_https():
    request = request_from("198.51.100.7", x_forwarded_for="203.0.113.9", x_forwarded_proto="https")
    assert (request.remote_addr, request.scheme) == ("198.51.100.7", "http")


def test_what_the_client_wrote_into_x_forwarded_for_is_skipped():
    # nginx's $proxy_add_x_forwarded_for appends its own view of the client to the header.
    assert client_address("127.0.0.1", "6.6.6.6, 203.0.113.9", TRUSTED) == "203.0.113.9"
    # A second trusted proxy in the chain (a balancer listed in trusted_proxies) is skipped.
    trusted = (*TRUSTED, "10.0.0.2")
    assert client_address("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.0.0.2", trusted) == ("203.0.113.9")


def test_only_http_and_https_are_taken_from_the_proxy():
    assert client_scheme("http", "127.0.0.1", " HTTPS ", TRUSTED) == "https"
    assert client_scheme("https", "::1", "http", TRUSTED) == "http"
    assert client_scheme("http", "127.0.0.1", "javascript", TRUSTED) == "http"
    assert client_scheme("https", "127.0.0.1", None, TRUSTED) == "https"
