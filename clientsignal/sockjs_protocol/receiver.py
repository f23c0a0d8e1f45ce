"""A receiving request's view of a session: which chunks to write, when, and when to stop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import frames
from .session import ANOTHER_CONNECTION

if TYPE_CHECKING:
    from .session import Session
    from .transports.base import ReceivingTransport


@dataclass
class Pull:
    """What the I/O layer does next: write ``chunks`` (each as its own write), then stop if
    ``done``, else call :meth:`Receiver.pull` again when woken or at ``deadline`` at the latest."""

    chunks: list[str | bytes]
    done: bool
    deadline: float | None


class Receiver:
    """One receiving request (a poll, a stream, or a websocket) attached to a session."""

    __slots__ = (
        "session", "transport", "heartbeat_delay", "response_limit", "attached", "done", "sent",
        "next_heartbeat", "wake", "alive", "write_now",
    )  # fmt: skip

    def __init__(
        self,
        session: Session,
        transport: ReceivingTransport,
        *,
        heartbeat_delay: float,
        response_limit: int | None,
        now: float,
    ) -> None:
        self.session = session
        self.transport = transport
        self.heartbeat_delay = heartbeat_delay
        self.response_limit = response_limit
        current = session.receiver
        if current is not None and not current.alive():
            # Its client is gone but the I/O layer has not noticed yet: the session was
            # interrupted, and this receiver will say so (c[1002,...]) instead of 2010.
            current.abort(now)
        self.attached = session.attach(self)
        self.done = False
        self.sent = 0
        self.next_heartbeat = now + heartbeat_delay
        self.wake: Callable[[], None] = _nothing
        # Set by the I/O layer: False once the client's connection is known to be closed.
        self.alive: Callable[[], bool] = _yes
        # Set by the I/O layer of a websocket: write one frame at once, if that can be done
        # without waiting (nothing else is being written and the socket takes it); True if
        # it was written (or committed to be, in order). Saves a queue and a wake-up.
        self.write_now: Callable[[str], bool] | None = None

    def pull(self, now: float) -> Pull:
        if self.done:
            return Pull([], True, None)
        if not self.attached:
            self.done = True
            return Pull([self.transport.wrap(frames.close_frame(*ANOTHER_CONNECTION))], True, None)
        if self.session.raw:
            return self._pull_raw(now)
        chunks: list[str | bytes] = []
        streaming = self.transport.streaming
        while not self.done:
            frame = self.session.next_frame()
            if frame is None:
                break
            chunk = self.transport.wrap(frame)
            chunks.append(chunk)
            self.sent += len(chunk)
            if frame[0] == "c" or not streaming:
                self.finish(now)
            elif self.response_limit is not None and self.sent >= self.response_limit:
                self.finish(now)  # renewed: the client opens the next streaming request
        if not chunks and now >= self.next_heartbeat:
            chunks.append(self.transport.wrap(frames.HEARTBEAT))
            if not streaming:
                self.finish(now)
        if chunks:
            self.next_heartbeat = now + self.heartbeat_delay
        return Pull(chunks, self.done, None if self.done else self.next_heartbeat)

    def _pull_raw(self, now: float) -> Pull:
        # Raw websocket: plain messages, no frames, no heartbeats; the I/O layer closes the
        # socket with the session's close code once done.
        chunks: list[str | bytes] = list(self.session.take_raw())
        if self.session.is_closed:
            self.finish(now)
        return Pull(chunks, self.done, None)

    def finish(self, now: float) -> None:
        """The response ended normally: the session waits for the next receiver."""
        if not self.done:
            self.done = True
            self.session.detach(self, now)

    def abort(self, now: float) -> None:
        """The client went away mid-response: the session is interrupted (1002). The I/O
        layer is woken, so that a response waiting for frames ends now."""
        if self.done:
            return
        self.done = True
        if self.attached:
            self.session.detach(self, now)
            self.session.interrupt()
        self.wake()

    def closed_by_client(self, code: int, now: float) -> None:
        """The client closed (a websocket close frame: a tab closed, ``sock.close()``): the
        session ends with the client's ``code``, as closed by the client, not interrupted;
        nothing more is written to it."""
        if self.done:
            return
        self.done = True
        if self.attached:
            self.session.detach(self, now)
            self.session.close(code, CLOSED_BY_CLIENT)
        self.wake()


CLOSED_BY_CLIENT = "Closed by the client"


def _nothing() -> None:
    pass


def _yes() -> bool:
    return True
