"""Which requests reaching Django are socket requests (the sign of an unwrapped wsgi.py), and
which servers are Django's runserver."""

from __future__ import annotations

from clientsignal.serving_checks import UnwrappedRequests, served_by_runserver


def test_socket_requests_are_those_the_middleware_would_answer():
    watch = UnwrappedRequests(["/simple", "/chat/<int:room_id>", "/clientsignal/multiplex"])
    for path in ("/simple", "/simple/info", "/simple/000/abc/xhr", "/chat/7/info",
                 "/chat/7/websocket", "/clientsignal/multiplex/info"):  # fmt: skip
        assert watch.matches(path), path
    for path in ("/", "/simplex", "/simplex/info", "/chat/seven/info", "/chat/", "/static/x.js"):
        assert not watch.matches(path), path


def test_runserver_is_told_by_its_server_software():
    assert served_by_runserver("WSGIServer/0.2 CPython/3.11.2")
    for other in ("gunicorn/23.0.0", "gevent/24.10 Python/3.11", ""):
        assert not served_by_runserver(other)
