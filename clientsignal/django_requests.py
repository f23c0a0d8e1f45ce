"""The Django side of a connection's request: a Django request built from the core's, the
name its Django session's sockets are closed under at logout, and the database connections
released as Django releases them at the end of a request."""

from __future__ import annotations

import io
from importlib import import_module
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.db import connections as databases
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from .sockjs_protocol import Request


def build_django_request(request: Request, *, user: Any = None) -> HttpRequest:
    """A Django request from the request that opened the session (cookies, headers, query
    string, remote address, scheme and host), with ``session`` and ``user`` as their
    middleware would set them (``user`` given: that one, not authenticated again)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": request.script_name,
        "PATH_INFO": request.prefix + request.path,
        "QUERY_STRING": request.query_string,
        "REMOTE_ADDR": request.remote_addr,
        "SERVER_NAME": request.server_name,
        "SERVER_PORT": request.server_port,
        "SERVER_PROTOCOL": request.protocol,
        "wsgi.url_scheme": request.scheme,
        "wsgi.input": io.BytesIO(b""),
        "CONTENT_LENGTH": "0",
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ[key] = value
        elif key != "CONTENT_LENGTH":
            environ["HTTP_" + key] = value
    django_request = WSGIRequest(environ)
    if apps.is_installed("django.contrib.sessions"):
        engine = import_module(settings.SESSION_ENGINE)
        session_key = django_request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        django_request.session = engine.SessionStore(session_key)
    if user is not None:
        django_request.user = user
    elif apps.is_installed("django.contrib.auth") and hasattr(django_request, "session"):
        from django.contrib.auth import get_user

        django_request.user = get_user(django_request)
    else:
        from django.contrib.auth.models import AnonymousUser

        django_request.user = AnonymousUser()
    return django_request


def release_databases() -> None:
    """What Django does at the end of a request: close this thread's (greenlet's) database
    connections that are past ``CONN_MAX_AGE`` or broken, so that a greenlet that lives as
    long as its socket holds none meanwhile. Never inside a transaction (a test's): closing
    there would break it. Best effort: a test runner that forbids the database (pytest-django
    without ``db``) forbids even the question."""
    for database in databases.all(initialized_only=True):
        if database.in_atomic_block:
            continue
        try:
            database.close_if_unusable_or_obsolete()
        except Exception:  # see the docstring
            pass


def login_key(request: HttpRequest | None) -> str | None:
    """The name under which the connections of one Django session are closed at its
    logout: a keyed digest of the session key (never the key itself, which is a secret)."""
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if not key:
        return None
    return salted_hmac("clientsignal.login", key).hexdigest()[:32]
