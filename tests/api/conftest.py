"""Django for the API tests, and connections opened through the real SockJS core."""

from __future__ import annotations

import itertools
import json
import os

import django
import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.api.settings")
# Playwright's sync API (the browser tests, same process) keeps an asyncio loop running in
# the main thread; these tests are synchronous all the same.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
django.setup()

from django.core.management import call_command  # noqa: E402

from clientsignal.backends import reset_backends  # noqa: E402
from clientsignal.sockjs_protocol import Request, SockJSServer  # noqa: E402

_ids = itertools.count()


@pytest.fixture(scope="session", autouse=True)
def database():
    call_command("migrate", run_syncdb=True, verbosity=0)


@pytest.fixture(autouse=True)
def fresh_backends():
    reset_backends()
    yield
    reset_backends()


class Client:
    """A browser's side of one xhr-polling session on a connection class. Every client of a
    test is the same browser (the same ``sockjs_key`` cookie) unless given cookies of its own.
    ``recovery``: what a reconnecting SignalSocket says first (``recover=...&resume=...``),
    after an opening request marked ``?recovering=1``."""

    def __init__(
        self, cls, cookies=None, query="", headers=None, remote_addr="10.1.2.3", recovery=None
    ):
        self.server = SockJSServer(cls)
        self.session_id = "s%d" % next(_ids)
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.headers["cookie"] = "; ".join(
            "%s=%s" % kv for kv in {"sockjs_key": "browser", **(cookies or {})}.items()
        )
        self.query = query if recovery is None else "&".join(filter(None, [query, "recovering=1"]))
        self.remote_addr = remote_addr
        opened = self._post("xhr")
        # The first poll: "o", or, for a session on_open rejected, its close frame alone.
        self.first = opened.receiver.pull(0).chunks
        self.session = opened.receiver.session
        self.connection = self.session.connection
        if recovery is not None:
            self.send(None, raw=recovery)

    def _post(self, transport, body=b""):
        request = Request(
            "POST",
            "/0/%s/%s" % (self.session_id, transport),
            query_string=self.query,
            headers=self.headers,
            body=body,
            remote_addr=self.remote_addr,
            prefix="/signals",
        )
        return self.server.handle(request, 0)

    def send(self, event, data=None, raw=None):
        message = raw if raw is not None else json.dumps({"event": event, "data": data})
        reply = self._post("xhr_send", json.dumps([message]).encode())
        assert reply.status == 204

    def events(self):
        """Every event queued for this client, decoded."""
        out = []
        while True:
            frame = self.session.next_frame()
            if frame is None:
                return out
            if frame.startswith("a"):
                out.extend(json.loads(m) for m in json.loads(frame[1:]))
            else:
                out.append(frame)
                if frame.startswith("c"):  # served again to every later receiver
                    return out


@pytest.fixture
def client_for():
    return Client
