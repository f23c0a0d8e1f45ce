"""Per-service SockJS options with the protocol's defaults and clientsignal's limits."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class SockJSOptions:
    """Options of one SockJS service (one URL prefix).

    ``heartbeat_delay`` and ``disconnect_delay`` are in seconds; ``response_limit`` is the number
    of bytes a streaming response carries before the server ends it and the client opens a new one.
    Limits of 0 are off.
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
    max_sessions_per_address: int = 200
    """Open sessions of this service in one process from one client address; more: 4429."""
    max_sessions_per_user: int = 100
    """Open sessions of this service in one process of one logged-in user; more: 4429."""
    max_message_rate: float = 100.0
    """Messages (and websocket frames) per second a session may send, on average."""
    max_message_burst: int = 200
    """How many messages a session may send at once above that rate; past it: 4429."""
    allowed_origins: tuple[str, ...] | None = None
    """Pages that may open sessions (see :mod:`.origins`); None: any origin."""
    allowed_hosts: tuple[str, ...] | None = None
    """Hosts the service answers to, as Django's ``ALLOWED_HOSTS`` (see :mod:`.origins`);
    another ``Host`` gets 400. None: any host."""
    use_x_forwarded_host: bool = False
    """Check ``X-Forwarded-Host`` rather than ``Host``, as Django's ``USE_X_FORWARDED_HOST``."""
    bind_sessions: bool = True
    """Accept a session's later HTTP requests only with the credentials that opened it
    (see :mod:`.binding`)."""
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    """Addresses of reverse proxies whose ``X-Forwarded-For`` names the client (and whose
    ``X-Forwarded-Proto`` its scheme): behind one, every client would otherwise share the
    proxy's address (and its per-address limit)."""
    identity_cookies: tuple[str, ...] = ()
    """Cookies naming the client where present (Django's session cookie); without one, the
    server sets its own key cookie on the request that opens a session."""

    def updated(self, values: dict[str, Any] | None) -> SockJSOptions:
        """A copy with ``values`` applied; unknown names raise ``TypeError``."""
        if not values:
            return self
        known = {f.name for f in fields(self)}
        unknown = set(values) - known
        if unknown:
            raise TypeError("unknown SockJS option(s): %s" % ", ".join(sorted(unknown)))
        values = dict(values)
        for name in ("allowed_origins", "allowed_hosts", "identity_cookies", "trusted_proxies"):
            if values.get(name) is not None:
                if isinstance(values[name], str):  # would be a tuple of its characters
                    raise TypeError("%s must be a list of strings, not a string" % name)
                values[name] = tuple(values[name])
        return replace(self, **values)


OPTION_NAMES = tuple(f.name for f in fields(SockJSOptions))
