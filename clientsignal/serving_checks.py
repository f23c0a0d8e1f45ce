"""Warnings, once, for a project served so that its sockets cannot work:

- a WSGI application not wrapped in ``ClientSignalMiddleware`` while ``CLIENTSIGNAL_CONNECTIONS``
  is set: every socket request reaches Django, which answers 404, and browsers retry for ever.
  Under gunicorn with clientsignal's settings it is seen at start-up (no middleware was built
  while the application loaded); under any other server, at the first socket request that
  reaches Django (``request_started``);
- Django's ``runserver``, which has no websockets: every websocket gets 400 and browsers fall
  back to the HTTP transports, one thread each.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("clientsignal.worker")

FIX = (
    "wrap it in wsgi.py: `from clientsignal.wsgi import ClientSignalMiddleware` and "
    "`application = ClientSignalMiddleware(get_wsgi_application())` (in development, "
    "`python manage.py runsocket --django --static` serves it wrapped)"
)


def unwrapped_message(application: str, prefixes: list[str]) -> str:
    return (
        "%s is not wrapped in ClientSignalMiddleware, but CLIENTSIGNAL_CONNECTIONS serves %s: "
        "Django answers every socket request with 404 and browsers retry for ever; %s"
        % (application, ", ".join(prefixes), FIX)
    )


def runserver_message(server_software: str) -> str:
    return (
        "served by Django's runserver (%s), which has no websockets: every websocket gets 400 "
        "and browsers fall back to HTTP polling and streaming. In development run `python "
        "manage.py runsocket --django --static` instead (websockets, the whole site and its "
        "static files); in production, gunicorn -c python:clientsignal.gunicorn_conf "
        "(README, Production)" % server_software
    )


def served_by_runserver(server_software: str) -> bool:
    """Whether a request's ``SERVER_SOFTWARE`` is that of Django's runserver (wsgiref)."""
    return server_software.startswith("WSGIServer/")


def _prefixes() -> list[str]:
    from . import conf

    connections = conf.get("CLIENTSIGNAL_CONNECTIONS")
    prefixes = list(connections) if isinstance(connections, dict) else []
    multiplex = conf.get("CLIENTSIGNAL_MULTIPLEX")
    if isinstance(multiplex, str):
        prefixes.append(multiplex)
    return [p for p in prefixes if isinstance(p, str) and p.startswith("/")]


def _wrapped() -> bool:
    """Whether a ``ClientSignalMiddleware`` was built in this process."""
    from . import stats

    return bool(stats.served())


class UnwrappedRequests:
    """A ``request_started`` receiver: the first request under a connection prefix that
    reaches Django means nothing in front of it answered, so the application is not wrapped.
    Disconnected as soon as a middleware is built, or once it has warned."""

    dispatch_uid = "clientsignal.unwrapped_requests"

    def __init__(self, prefixes: list[str]) -> None:
        from .services import _route_pattern

        self.patterns = [(prefix.rstrip("/"), _route_pattern(prefix)) for prefix in prefixes]

    def matches(self, path: str) -> bool:
        for prefix, pattern in self.patterns:
            if pattern is None:
                if path == prefix or path.startswith(prefix + "/"):
                    return True
            else:
                found = pattern.match(path[1:])
                if found is not None and (found[0] == "" or found[0].startswith("/")):
                    return True
        return False

    def __call__(self, sender: Any, environ: dict[str, Any] | None = None, **kwargs: Any) -> None:
        path = (environ or {}).get("PATH_INFO", "")
        if not self.matches(path):
            return
        stop_watching_requests()
        if _wrapped():  # a middleware built for other prefixes than the settings' (a test's)
            return
        from django.conf import settings

        application = getattr(settings, "WSGI_APPLICATION", None) or "the WSGI application"
        logger.warning(
            "a request for %r reached Django: %s",  # %r: the path is the client's
            path,
            unwrapped_message(application, [prefix for prefix, _ in self.patterns]),
        )


def watch_requests() -> None:
    """From the app's ``ready()``: watch Django's requests for socket requests, when
    ``CLIENTSIGNAL_CONNECTIONS`` serves any."""
    from django.core.signals import request_started

    prefixes = _prefixes()
    if prefixes and not _wrapped():
        receiver = UnwrappedRequests(prefixes)
        request_started.connect(receiver, weak=False, dispatch_uid=receiver.dispatch_uid)


def stop_watching_requests() -> None:
    """A middleware was built (requests under its prefixes never reach Django), or the
    warning was given."""
    from django.core.signals import request_started

    request_started.disconnect(dispatch_uid=UnwrappedRequests.dispatch_uid)


def check_loaded_application(worker: Any) -> None:
    """From gunicorn's ``post_worker_init``, once the application is loaded: no middleware
    built while it loaded means it is not wrapped. The first worker logs it, in gunicorn's log;
    every worker then stops watching its requests (it has been said)."""
    try:
        prefixes = _prefixes()
    except Exception:  # not a Django project (clientsignal.echo): nothing to check
        return
    if not prefixes or _wrapped():
        return
    stop_watching_requests()
    if worker.age == 1:
        application = getattr(worker.app, "app_uri", None) or "the WSGI application"
        worker.log.warning(unwrapped_message(application, prefixes))
