"""The Django site and its clientsignal connections on a free port, for browser tests.

The server is gevent's pywsgi with gevent-websocket's handler (as ``manage.py runsocket``),
``ClientSignalMiddleware`` around Django's WSGI handler, and static files served. It runs in a
thread of the test process with a gevent hub of its own, so the test's thread stays free for
a browser driver (Playwright's sync API runs an asyncio loop in it) and nothing needs
monkey-patching. Being in-process, it sees the test database: an in-memory SQLite database
is shared with it as Django's ``LiveServerTestCase`` shares it; and a signal sent by the test
reaches the browser's connections (handed to the server's hub, see :mod:`.delivery`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import gevent
from django.db import connections
from django.test import TransactionTestCase
from django.test.utils import modify_settings
from django.utils.functional import classproperty

from .. import conf
from ..connection import BaseSignalConnection
from . import delivery, isolation

logger = logging.getLogger("clientsignal.testing")

START_TIMEOUT = 10.0
STOP_TIMEOUT = 2.0
"""Seconds the server gives its open requests (a browser's idle keep-alive connections) to end
once every session is closed."""

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SignalLiveServer:
    """The site on ``http://host:port`` (a free port by default) in a thread of this process,
    until :meth:`stop`; a context manager too.

    ``static`` serves the static files (the finders', as ``runserver`` does, so
    ``{% clientsignal_js %}`` works without ``collectstatic``). In-memory SQLite databases are
    shared with the server's thread (use it from a ``TransactionTestCase``, or pytest-django's
    ``transactional_db``, so that other databases see the test's data too).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, static: bool = True) -> None:
        self.host = host
        self.port = port
        self.static = static
        self.error: BaseException | None = None
        self.middleware: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._loop: Any = None
        self._stopping: Any = None
        self._shared: dict[str, Any] = {}
        self._settings: modify_settings | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        return "http://%s:%d" % (self.host, self.port)

    def __enter__(self) -> SignalLiveServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Serve, once listening; raises what stopped the server from starting."""
        if self._thread is not None:
            raise RuntimeError("the live server is started already")
        self._settings = modify_settings(ALLOWED_HOSTS={"append": self.host})
        self._settings.enable()
        self._shared = {
            conn.alias: conn
            for conn in connections.all()
            if conn.vendor == "sqlite" and conn.is_in_memory_db()
        }
        for conn in self._shared.values():
            conn.inc_thread_sharing()
        isolation.ensure()
        self.prepare_backends()
        isolation.serving(self)
        self._thread = threading.Thread(
            target=self._run, name="clientsignal-live-server", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError("the live server did not start within %.0f s" % timeout)
        if self.error is not None:
            error = self.error
            self.stop()
            raise error

    def prepare_backends(self) -> None:
        """Make the backend of every served class ready for the server's thread: at
        :meth:`start`, and again when a new test namespace begins (its backends are new)."""
        for cls in _served_classes():
            backend = cls.get_backend()
            delivery.prepare(backend, cls.broadcast_channels(backend))

    def stop(self, timeout: float = STOP_TIMEOUT + 5) -> None:
        """Close every session (1001, as on a worker's graceful stop), stop listening, and
        end the thread. Does nothing when not started."""
        isolation.stopped(self)
        thread, self._thread = self._thread, None
        if thread is not None:
            loop, stopping = self._loop, self._stopping
            if loop is not None and stopping is not None:
                try:
                    loop.run_callback_threadsafe(stopping.set)
                except Exception:  # the thread ended on its own, its loop with it
                    pass
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("the live server's thread did not end within %.0f s", timeout)
        for conn in self._shared.values():
            conn.dec_thread_sharing()
        self._shared = {}
        if self._settings is not None:
            self._settings.disable()
            self._settings = None
        self._ready.clear()

    # -- the server's thread -----------------------------------------------------------------

    def _run(self) -> None:
        from gevent.event import Event
        from gevent.pywsgi import WSGIServer
        from geventwebsocket.handler import WebSocketHandler

        hub = gevent.get_hub()
        server = None
        try:
            self._share_connections()
            self.middleware = self._application()
            delivery.inbox()  # a signal sent by the test reaches the browsers through here
            self._stopping = Event()
            self._loop = hub.loop
            server = WSGIServer(
                (self.host, self.port),
                self._per_request(self.middleware),
                handler_class=WebSocketHandler,
                log=None,
                error_log=logger,
            )
            server.start()
            self.port = server.server_port
            self._ready.set()
            self._stopping.wait()
            for service in self.middleware.services.servers():
                service.shutdown()
            server.stop(timeout=STOP_TIMEOUT)
        except BaseException as error:  # reported to the thread that starts the server
            self.error = error
            if server is not None:
                server.stop(timeout=0)
        finally:
            self._ready.set()
            delivery.close_inbox()
            for conn in connections.all(initialized_only=True):
                if conn.alias not in self._shared:
                    conn.close()
            self._loop = None
            hub.destroy(destroy_loop=True)

    def _application(self) -> Any:
        from django.apps import apps
        from django.core.handlers.wsgi import WSGIHandler

        from ..wsgi import ClientSignalMiddleware

        application: Any = WSGIHandler()
        if self.static and apps.is_installed("django.contrib.staticfiles"):
            from django.contrib.staticfiles.handlers import StaticFilesHandler

            application = StaticFilesHandler(application)
        # One process: no session forwarding between workers, whatever the backend.
        return ClientSignalMiddleware(
            application,
            conf.connections(),
            options=conf.sockjs_options(),
            multiplex=conf.multiplex(),
        )

    def _share_connections(self) -> None:
        for alias, conn in self._shared.items():
            connections[alias] = conn

    def _per_request(self, application: WSGIApp) -> WSGIApp:
        if not self._shared:
            return application

        def shared(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            self._share_connections()
            return application(environ, start_response)

        return shared


def _served_classes() -> list[type[BaseSignalConnection]]:
    from django.utils.module_loading import import_string

    classes = []
    for spec in conf.connections().values():
        cls = import_string(spec) if isinstance(spec, str) else spec
        if isinstance(cls, type) and issubclass(cls, BaseSignalConnection):
            classes.append(cls)
    return classes


class SignalLiveServerTestCase(TransactionTestCase):
    """A ``TransactionTestCase`` with the site and its clientsignal connections served on
    ``live_server_url`` for the whole class, for Playwright or Selenium tests (like
    Django's ``LiveServerTestCase``, which serves no websockets)."""

    host: ClassVar[str] = "127.0.0.1"
    port: ClassVar[int] = 0
    static: ClassVar[bool] = True
    live_server: ClassVar[SignalLiveServer]

    @classproperty
    def live_server_url(cls) -> str:
        """``http://host:port`` of the site and its sockets, as Django's live server has it."""
        return cls.live_server.url

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.live_server = SignalLiveServer(cls.host, cls.port, static=cls.static)
        cls.live_server.start()
        cls.addClassCleanup(cls.live_server.stop)
