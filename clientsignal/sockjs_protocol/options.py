"""Per-service SockJS options with the protocol's defaults."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class SockJSOptions:
    """Options of one SockJS service (one URL prefix).

    ``heartbeat_delay`` and ``disconnect_delay`` are in seconds; ``response_limit`` is the number
    of bytes a streaming response carries before the server ends it and the client opens a new one.
    """

    websocket: bool = True
    cookie_needed: bool = False
    heartbeat_delay: float = 25.0
    disconnect_delay: float = 5.0
    response_limit: int = 128 * 1024
    sockjs_url: str = "/static/clientsignal/sockjs.min.js"
    max_request_body: int = 1024 * 1024
    max_message_size: int = 64 * 1024
    """Bytes of one client message; a bigger one closes the session with 1009."""
    max_queued_bytes: int = 1024 * 1024
    """Bytes queued for a client that does not read; past it, the session closes with 4008."""
    max_sessions: int = 10_000
    """Open sessions of this service in one process; more are refused (503, or 1013)."""
    allowed_origins: tuple[str, ...] | None = None
    """Pages that may open sessions (see :mod:`.origins`); None: any origin."""

    def updated(self, values: dict[str, Any] | None) -> SockJSOptions:
        """A copy with ``values`` applied; unknown names raise ``TypeError``."""
        if not values:
            return self
        known = {f.name for f in fields(self)}
        unknown = set(values) - known
        if unknown:
            raise TypeError("unknown SockJS option(s): %s" % ", ".join(sorted(unknown)))
        if values.get("allowed_origins") is not None:
            values = {**values, "allowed_origins": tuple(values["allowed_origins"])}
        return replace(self, **values)
