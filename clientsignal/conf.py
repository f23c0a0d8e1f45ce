"""Every ``CLIENTSIGNAL_*`` setting, with its default, read in one place."""

from __future__ import annotations

import functools
import json
import os
import shlex
import sys
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from .encoding import ObjectHook

DEFAULTS: dict[str, Any] = {
    # URL prefix -> dotted path of a BaseSignalConnection subclass.
    "CLIENTSIGNAL_CONNECTIONS": {},
    "CLIENTSIGNAL_JSON_ENCODER": "clientsignal.SignalEncoder",
    "CLIENTSIGNAL_JSON_OBJECT_HOOK": "clientsignal.signal_object_hook",
    # None: the in-process backend. "redis://user:password@host:port/db" for Redis.
    "CLIENTSIGNAL_BACKEND": None,
    "CLIENTSIGNAL_BACKEND_OPTIONS": {},
    # Fields of clientsignal.sockjs_protocol.SockJSOptions (heartbeat_delay, ...).
    "CLIENTSIGNAL_SOCKJS_OPTIONS": {},
    # None: the sockjs-client bundle shipped in our static files.
    "CLIENTSIGNAL_SOCKJS_URL": None,
    # Pages that may open sessions, as ALLOWED_HOSTS patterns or full origins; None: the
    # request's own host plus ALLOWED_HOSTS. ["*"] allows any page.
    "CLIENTSIGNAL_ALLOWED_ORIGINS": None,
    # The URL prefix of the multiplexed service ("/clientsignal/multiplex"): SignalSockets of
    # one page then share one SockJS session. None: no multiplexing.
    "CLIENTSIGNAL_MULTIPLEX": None,
    # A bearer token that may read the stats views (for a Prometheus scraper); staff always may.
    "CLIENTSIGNAL_STATS_TOKEN": None,
    # Seconds a client may take to send a request's line and headers, under gunicorn with
    # -c python:clientsignal.gunicorn_conf (slowloris); past it: 408 and closed.
    "CLIENTSIGNAL_HEADER_TIMEOUT": 10.0,
    # Database connections the application code of a socket worker holds at once, per process
    # and database alias (SQLite aside); more code waits its turn. 0: no bound (one per
    # greenlet, as Django's thread model gives). See clientsignal/databases.py.
    "CLIENTSIGNAL_DATABASE_CONNECTIONS": 20,
    # Seconds code waits for one of those connections before it fails like a receiver that
    # raised (clientsignal.databases.DatabaseBusy).
    "CLIENTSIGNAL_DATABASE_WAIT": 10.0,
    # Connections a gunicorn worker holds from one client address (an IPv6 one by its /64),
    # counted as they are accepted, before a request is read; None: a tenth of
    # worker_connections; 0: no limit. The trusted proxies' are not counted.
    "CLIENTSIGNAL_MAX_CONNECTIONS_PER_ADDRESS": None,
    # Seconds after which a logged-in user's connection is authenticated again from its
    # Django session (at its next event, or by the worker's sweep); None: only when the user
    # is saved with another password or is_active. See clientsignal/reauthentication.py.
    "CLIENTSIGNAL_USER_CHECK_INTERVAL": 60.0,
}

SOCKJS_STATIC_PATH = "clientsignal/sockjs.min.js"
CLIENT_STATIC_PATH = "clientsignal/clientsignal.js"


def get(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])


def connections() -> dict[str, str | type]:
    return dict(get("CLIENTSIGNAL_CONNECTIONS"))


def multiplex() -> str | None:
    return get("CLIENTSIGNAL_MULTIPLEX")


def sockjs_url() -> str:
    """The sockjs-client URL for the iframe page and the template tag."""
    url = get("CLIENTSIGNAL_SOCKJS_URL")
    if url:
        return url
    from django.templatetags.static import static

    return static(SOCKJS_STATIC_PATH)


def allowed_hosts() -> tuple[str, ...]:
    """``ALLOWED_HOSTS``, with Django's own defaults when it is empty and ``DEBUG`` is on."""
    hosts = tuple(settings.ALLOWED_HOSTS)
    if not hosts and settings.DEBUG:
        hosts = (".localhost", "127.0.0.1", "[::1]")  # as Django's own host check does
    return hosts


def allowed_origins() -> tuple[str, ...]:
    value = get("CLIENTSIGNAL_ALLOWED_ORIGINS")
    if value is not None:
        return tuple(value)
    return allowed_hosts()


def sockjs_options() -> dict[str, Any]:
    options = dict(get("CLIENTSIGNAL_SOCKJS_OPTIONS"))
    options.setdefault("sockjs_url", sockjs_url())
    options.setdefault("allowed_hosts", allowed_hosts())
    options.setdefault("use_x_forwarded_host", bool(settings.USE_X_FORWARDED_HOST))
    options.setdefault("allowed_origins", allowed_origins())
    options.setdefault("identity_cookies", identity_cookies())
    return options


def identity_cookies() -> tuple[str, ...]:
    """The cookie that names a visitor, to which HTTP sessions are bound: Django's session
    cookie, when sessions are installed."""
    from django.apps import apps

    if apps.is_installed("django.contrib.sessions"):
        return (settings.SESSION_COOKIE_NAME,)
    return ()


@functools.cache
def json_encoder() -> type[json.JSONEncoder]:
    """Resolved once (it is asked for every message), again after a settings change."""
    value = get("CLIENTSIGNAL_JSON_ENCODER")
    return import_string(value) if isinstance(value, str) else value


@functools.cache
def json_object_hook() -> ObjectHook:
    value = get("CLIENTSIGNAL_JSON_OBJECT_HOOK")
    return import_string(value) if isinstance(value, str) else value


def _forget_resolved(setting: str, **kwargs: Any) -> None:
    if setting in ("CLIENTSIGNAL_JSON_ENCODER", "CLIENTSIGNAL_JSON_OBJECT_HOOK"):
        json_encoder.cache_clear()
        json_object_hook.cache_clear()


setting_changed.connect(_forget_resolved)


def backend_url() -> str | None:
    return get("CLIENTSIGNAL_BACKEND")


def backend_options() -> dict[str, Any]:
    return dict(get("CLIENTSIGNAL_BACKEND_OPTIONS"))


def database_connections() -> int:
    return int(get("CLIENTSIGNAL_DATABASE_CONNECTIONS"))


def database_wait() -> float:
    return float(get("CLIENTSIGNAL_DATABASE_WAIT"))


def user_check_interval() -> float | None:
    value = get("CLIENTSIGNAL_USER_CHECK_INTERVAL")
    return None if value is None else float(value)


def configured_workers(
    argv: list[str] | None = None, environ: Mapping[str, str] | None = None
) -> int:
    """How many gunicorn workers this process belongs to, as far as its command line
    (``-w N``, ``--workers N``), ``GUNICORN_CMD_ARGS`` and ``WEB_CONCURRENCY`` tell; 1 if
    they don't say (a worker inherits the master's command line)."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    args = list(sys.argv if argv is None else argv)
    args += shlex.split(env.get("GUNICORN_CMD_ARGS", ""))
    workers = env.get("WEB_CONCURRENCY")
    for i, arg in enumerate(args):
        if arg in ("-w", "--workers") and i + 1 < len(args):
            workers = args[i + 1]
        elif arg.startswith("--workers="):
            workers = arg.split("=", 1)[1]
        elif arg.startswith("-w") and arg[2:].isdigit():
            workers = arg[2:]
    try:
        return max(1, int(workers or 1))
    except ValueError:
        return 1
