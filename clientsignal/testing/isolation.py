"""Tests that share a Redis never meet: each gets a namespace of its own.

A namespace (:func:`clientsignal.backends.set_namespace`) puts a random name after the
backends' ``CHANNEL_PREFIX`` in every channel and key, so what one test publishes or keeps
(broadcasts, presence, history, session owners) cannot reach another test, another process of
the same run (``manage.py test --parallel``, pytest-xdist) or a later run; at its end, what it
made in Redis is deleted.

When one begins:

- the pytest plugin's autouse fixture begins one for every test, and ends it after;
- otherwise (Django's test runner) the first communicator or live server of a process begins
  one, and every change of ``CLIENTSIGNAL_BACKEND`` or ``CLIENTSIGNAL_BACKEND_OPTIONS``
  (``override_settings`` on a test class, a test, or a ``with`` block) ends it and begins the
  next: docs/testing.md's ``@override_settings(CLIENTSIGNAL_BACKEND=...)`` class has one of
  its own.

Nothing begins one in a process that uses none of the helpers. The last one is ended when the
process exits; a worker of ``--parallel`` exits without that, so what its last namespace kept
stays in Redis (under a name no other test or run uses), unless an ``override_settings`` of
the backend ended it (the docs' class does, when the class ends).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import uuid
from typing import Any, Protocol

from django.core.signals import setting_changed

from .. import backends

logger = logging.getLogger("clientsignal.testing")

BACKEND_SETTINGS = ("CLIENTSIGNAL_BACKEND", "CLIENTSIGNAL_BACKEND_OPTIONS")


class Served(Protocol):
    """A running live server: its backends are made ready again in a new namespace."""

    def prepare_backends(self) -> None: ...


_lock = threading.RLock()
_active: str | None = None
_servers: list[Served] = []


def begin() -> str:
    """End the current namespace (:func:`end`) and begin a new one; its name."""
    global _active
    with _lock:
        end()
        _active = "test-%s" % uuid.uuid4().hex[:12]
        backends.set_namespace(_active)
        for server in list(_servers):
            server.prepare_backends()
        return _active


def ensure() -> str:
    """The current namespace, begun if there is none."""
    with _lock:
        return _active if _active is not None else begin()


def end() -> int:
    """Delete what the backends of the current namespace keep in Redis, close and forget
    them; how many keys were deleted. Does nothing without a namespace."""
    global _active
    with _lock:
        if _active is None:
            return 0
        deleted = 0
        for backend in backends.all_backends():
            try:
                deleted += backend.purge()
            except Exception as error:  # Redis stopped first (a fixture's server), say
                logger.warning("could not delete the keys of test namespace %s: %s", _active, error)
        _active = None
        backends.set_namespace(None)
        return deleted


def active() -> str | None:
    """The current namespace, if any."""
    return _active


def serving(server: Served) -> None:
    """``server`` runs: a new namespace makes its backends ready again."""
    with _lock:
        _servers.append(server)


def stopped(server: Served) -> None:
    with _lock:
        if server in _servers:
            _servers.remove(server)


def _backend_setting_changed(setting: str, **kwargs: Any) -> None:
    if setting in BACKEND_SETTINGS:
        with _lock:
            if _active is not None:
                begin()


def _forked() -> None:
    """A forked process (a worker of ``manage.py test --parallel``) begins its own."""
    global _active
    _active = None
    _servers.clear()


setting_changed.connect(_backend_setting_changed, dispatch_uid="clientsignal.testing.isolation")
atexit.register(end)
os.register_at_fork(after_in_child=_forked)
