"""``manage.py runsocket``: a gevent development server with the clientsignal middleware."""

from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import autoreload

ADDRPORT = re.compile(r"^(?:(?P<addr>[^:\[\]]+|\[[0-9a-fA-F:]+\]):)?(?P<port>\d+)$")


class Command(BaseCommand):
    help = (
        "Serve the clientsignal connections with gevent; with --django the whole site too. "
        "For development: use gunicorn with the gevent-websocket worker in production."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "addrport", nargs="?", default="127.0.0.1:8000", help="[address:]port to listen on"
        )
        parser.add_argument("--reload", action="store_true", help="restart on code changes")
        parser.add_argument("--django", action="store_true", help="serve the Django site too")
        parser.add_argument(
            "--static", action="store_true", help="serve static files (requires --django)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["static"] and not options["django"]:
            raise CommandError("--static requires --django")
        match = ADDRPORT.match(options["addrport"])
        if match is None:
            raise CommandError("%r is not a valid port or address:port" % options["addrport"])
        self.addr = (match.group("addr") or "127.0.0.1").strip("[]")
        self.port = int(match.group("port"))
        # Sockets, sleeps and threads must cooperate with the server's greenlets, the
        # autoreloader's loop included: patch before anything else runs.
        from gevent import monkey

        monkey.patch_all()
        # Django made its database wrappers before the patch (model classes ask for the
        # connection's limits), under the real thread's id: let the main greenlet use them.
        from django.db import connections

        for connection in connections.all(initialized_only=True):
            connection.inc_thread_sharing()
        if options["reload"]:
            autoreload.run_with_reloader(self.inner_run, **options)
        else:
            self.inner_run(**options)

    def inner_run(self, **options: Any) -> None:
        from gevent.pywsgi import WSGIServer
        from geventwebsocket.handler import WebSocketHandler

        from ...wsgi import ClientSignalMiddleware

        autoreload.raise_last_exception()
        self.check(display_num_errors=True)
        application = _not_found
        if options["django"]:
            from django.core.wsgi import get_wsgi_application

            application = get_wsgi_application()
            if options["static"]:
                from django.contrib.staticfiles.handlers import StaticFilesHandler

                application = StaticFilesHandler(application)
        server = WSGIServer(
            (self.addr, self.port),
            ClientSignalMiddleware(application),
            handler_class=WebSocketHandler,
        )
        self.stdout.write(
            "clientsignal serving on http://%s:%d/ (%s). Quit with CONTROL-C."
            % (self.addr, self.port, "whole site" if options["django"] else "sockets only")
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            server.stop(timeout=1)


def _not_found(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "10")])
    return [b"Not found."]
