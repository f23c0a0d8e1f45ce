"""Logging out closes that Django session's sockets, in every process (connected to
``user_logged_out`` by the app)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.module_loading import import_string

from . import conf, publishing
from .backends import BaseBackend
from .connection import LOGGED_OUT, BaseSignalConnection, SignalConnection
from .django_requests import login_key


def close_on_logout(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """``user_logged_out`` receiver: close that Django session's connections (4401 "Logged
    out"), in every process each connection class's backend reaches."""
    login = login_key(request)
    if login is None:
        return
    publishing.close(
        every_backend(), lambda backend: backend.target_channel("login", login), *LOGGED_OUT
    )


def every_backend() -> list[BaseBackend]:
    """The backends of :class:`SignalConnection` and of every configured connection class,
    each once: together they reach every process that may hold a connection."""
    backends: dict[int, BaseBackend] = {}
    classes: list[type[BaseSignalConnection]] = [SignalConnection, *_connection_classes()]
    for cls in classes:
        backend = cls.get_backend()
        backends[id(backend)] = backend
    return list(backends.values())


def _connection_classes() -> list[type[BaseSignalConnection]]:
    classes = []
    for spec in conf.connections().values():
        try:
            cls = import_string(spec) if isinstance(spec, str) else spec
        except ImportError:
            continue
        if isinstance(cls, type) and issubclass(cls, BaseSignalConnection):
            classes.append(cls)
    return classes
