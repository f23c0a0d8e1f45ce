"""The application side of a SockJS session."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .http import Request
    from .session import Session


class SockJSConnection:
    """One client's connection, as the application sees it.

    Subclasses override :meth:`on_open`, :meth:`on_message` and :meth:`on_close`, and call
    :meth:`send` and :meth:`close`. Messages are strings, as in the SockJS API. A class attribute
    ``sockjs_options`` (a dict of :class:`~.options.SockJSOptions` fields) overrides the
    service's options for the prefix this class is mounted on.
    """

    __slots__ = ("session", "__weakref__")

    sockjs_options: dict[str, object] = {}
    """SockJS options of this class's prefix (heartbeat_delay, the limits...), over those of
    ``CLIENTSIGNAL_SOCKJS_OPTIONS``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def transport(self) -> str:
        """Name of the transport that opened the session (``websocket``, ``xhr``, ...)."""
        return self.session.transport

    @property
    def is_closed(self) -> bool:
        """Whether the session has closed, or was refused while it opened."""
        return self.session.is_closed

    def on_open(self, request: Request) -> None:
        """The session opened; ``request`` is the request that opened it."""

    def opens_with_message(self, request: Request) -> bool:
        """Whether :meth:`on_open` waits for the client's first message, which carries more
        of its opening request: a query string, added to ``request``'s for this opening only
        (what should not travel in a URL, which proxies and servers log). The client gets the
        open frame at once; a rejection then closes the session after it. Default: never."""
        return False

    def on_message(self, message: str) -> None:
        """One message from the client."""

    def after_open(self) -> None:
        """Right after :meth:`on_open` (and the overrides that extend it) accepted the
        session, before the client sees anything of it."""

    def on_close(self) -> None:
        """The session closed (by either side, or by timeout). Called once."""

    def run_application_code(self, func: Callable[..., object], *args: object) -> None:
        """How the session runs this connection's application code (``on_open``,
        ``on_message``, ``on_close``...): ``func(*args)``. An application may wrap it (the
        Django side hands database connections around it)."""
        func(*args)

    def send_message(self, message: str | None, encoded: str | None = None) -> bool:
        """Queue ``message`` for the client; ``encoded`` is its :func:`~.frames.encode_message`
        form when the caller already has it (a broadcast encodes once for every session; then
        ``message`` may be None). Returns False when the session is closed."""
        return self.session.send(message, encoded)

    send = send_message

    def close(self, code: int = 3000, reason: str = "Go away!") -> None:
        """Close the session; the client receives ``c[code,"reason"]``."""
        self.session.close(code, reason)

    def reject(self, code: int, reason: str) -> None:
        """From :meth:`on_open`: reject the session, which then never opens on the client (it
        gets the close frame without the open frame)."""
        self.session.reject(code, reason)
