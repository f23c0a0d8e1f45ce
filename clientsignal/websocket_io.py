"""One websocket session's I/O, in the greenlet gevent-websocket gave it, and no other.

That greenlet reads: each client message goes into the session. Frames go out at once from
whichever greenlet sends them, when the socket takes them without waiting
(:class:`~.gevent_io.WebSocketWriter`); frames that cannot go at once, heartbeats and the
close frame are written by a short-lived greenlet started when there is something to write
and gone when there is not. An idle connection costs one greenlet and one timer.
"""

from __future__ import annotations

import logging
from typing import Any

import gevent
from geventwebsocket.exceptions import WebSocketError
from geventwebsocket.websocket import WebSocket

from .gevent_io import ServerWebSocket, WebSocketWriter, _pongs, clock, close_websocket, nothing
from .sockjs_protocol import BrokenJSON, Request, SockJSServer, TooManySessions
from .sockjs_protocol.receiver import Receiver

logger = logging.getLogger("clientsignal.wsgi")


class _Finished(Exception):
    """Thrown into the reading greenlet once the session's last frame is out."""


class WebSocketSession:
    """Runs one SockJS (or raw) websocket session until either side ends it."""

    def __init__(
        self, server: SockJSServer, request: Request, websocket: Any, receiver: Receiver
    ) -> None:
        self.server = server
        self.request = request
        self.websocket = websocket
        self.receiver = receiver
        self.session = receiver.session
        # Liveness: any frame from the client, or a pong to the ping sent with each heartbeat.
        self.patience = 2 * server.options.heartbeat_delay
        self.last_seen = clock()
        self.writer = WebSocketWriter(websocket, self.patience)
        self.writer.wake = self.wake
        self.drainer: gevent.Greenlet | None = None
        self.reader = gevent.getcurrent()
        self.receiving = False  # the reader waits in receive(), where it may be interrupted
        self.finished = False
        self.broken = False
        self._timer: Any = None  # the event loop's timer for the next heartbeat

    def run(self) -> None:
        receiver = self.receiver
        receiver.wake = self.wake
        receiver.write_now = self.writer.write_now
        try:
            self.wake()  # the open frame
            self._read()
        finally:
            receiver.wake = nothing
            receiver.write_now = None
            self._arm(None)
            drainer = self.drainer
            if drainer is not None and drainer is not gevent.getcurrent():
                drainer.kill(block=True, timeout=1)
            _pongs.pop(id(self.websocket), None)
            self.server.websocket_closed(self.session)
            self._close()

    # -- reading (this greenlet) -------------------------------------------------------------

    def _read(self) -> None:
        session, server, websocket = self.session, self.server, self.websocket
        try:
            while not self.finished:
                self.receiving = True
                data = websocket.receive()
                self.receiving = False
                if data is None:
                    return
                self.last_seen = clock()
                if isinstance(data, (bytes, bytearray)):
                    data = bytes(data).decode("utf-8")
                server.websocket_message(session, data)
        except (BrokenJSON, UnicodeDecodeError):
            logger.info("websocket %s: broken JSON, closing", self.request.path)
            self.broken = True
        except (WebSocketError, OSError, _Finished):
            pass
        finally:
            if not self.finished:
                self.receiver.abort(clock())  # the client went away: interrupted (1002)

    # -- writing (a greenlet while there is something to write) ------------------------------

    def wake(self) -> None:
        """Something is queued (or due): make sure a greenlet is writing it."""
        if self.drainer is None and not self.finished:
            self.drainer = gevent.spawn(self._drain)

    def _drain(self) -> None:
        receiver, writer = self.receiver, self.writer
        try:
            while True:
                writer.flush()
                writer.busy = True
                pull = receiver.pull(clock())
                for frame in pull.chunks:
                    writer.write(frame)
                    if frame == "h" and not self.session.raw and not self._ping():
                        receiver.abort(clock())
                        pull.done = True
                        break
                writer.busy = False
                if pull.done:
                    self._finish()
                    return
                if not self.session.queue and not writer.pending:
                    self._arm(pull.deadline)
                    return
        except (WebSocketError, OSError) as error:
            logger.info("websocket %s: %s", self.request.path, error)
            receiver.abort(clock())
            self._finish()
        finally:
            self.drainer = None

    def _ping(self) -> bool:
        """With each heartbeat: a ping, once the last one was answered in time."""
        seen = max(self.last_seen, _pongs.get(id(self.websocket), 0.0))
        if clock() - seen > self.patience:
            logger.info(
                "websocket %s: no pong for %.0f s, closing", self.request.path, self.patience
            )
            return False
        self.websocket.send_frame(b"", self.websocket.OPCODE_PING)
        return True

    def _arm(self, deadline: float | None) -> None:
        """Wake at the receiver's next deadline (its heartbeat); None: not at all."""
        if self._timer is not None:
            self._timer.stop()
            self._timer.close()
            self._timer = None
        if deadline is not None:
            self._timer = gevent.get_hub().loop.timer(max(0.0, deadline - clock()))
            self._timer.start(self.wake)

    def _finish(self) -> None:
        """The session's last frame is out: stop reading. The session is closed, so no
        application code can run in the reader any more; it is interrupted only while it
        waits in receive(), else it stops after the message at hand."""
        self.finished = True
        self.writer.busy = True
        if self.receiving and self.reader is not gevent.getcurrent():
            gevent.kill(self.reader, _Finished)  # asynchronous: at its next switch

    def _close(self) -> None:
        session, websocket = self.session, self.websocket
        with gevent.Timeout(1, False):  # a dead peer may not take even the close frame
            if session.raw and session.is_closed:
                close_websocket(websocket, session.close_code, session.close_reason)
            elif self.broken:
                close_websocket(websocket, 1002, "Broken framing.")
            else:
                close_websocket(websocket, 1000, "")


def run_websocket(server: SockJSServer, request: Request, websocket: Any, *, raw: bool) -> None:
    """Serve one websocket session (SockJS framing, or raw) until it ends."""
    try:
        receiver = server.open_websocket(request, clock(), raw=raw)
    except TooManySessions:
        close_websocket(websocket, 1013, "Try again later")
        return
    if type(websocket) is WebSocket:
        ServerWebSocket.adopt(websocket)
    WebSocketSession(server, request, websocket, receiver).run()
