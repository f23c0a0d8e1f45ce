"""Counters of one service in one process, kept by the core as it works."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Counters:
    """Running totals; the open sessions are counted from the live ones when asked."""

    sessions_opened: int = 0
    sessions_closed: int = 0
    messages_in: int = 0
    messages_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    errors: int = 0
    refused_per_address: int = 0
    """Sessions refused: ``max_sessions_per_address`` open from that address."""
    refused_per_user: int = 0
    """Sessions refused: ``max_sessions_per_user`` open for that user."""
    refused_full: int = 0
    """Sessions refused: ``max_sessions`` open."""
    rate_limited: int = 0
    """Sessions closed for sending over ``max_message_rate``."""
    foreign_requests: int = 0
    """Requests naming a session opened by another client (another credential or prefix)."""
    refused_hosts: int = 0
    """Requests refused (400) for a ``Host`` not in ``allowed_hosts`` (DNS rebinding)."""

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


COUNTERS = tuple(Counters().as_dict())

HELP = {
    "sessions_opened": "SockJS sessions opened",
    "sessions_closed": "SockJS sessions closed",
    "messages_in": "Messages received from clients",
    "messages_out": "Messages queued for clients",
    "bytes_in": "Bytes of messages received from clients",
    "bytes_out": "Bytes of messages queued for clients",
    "errors": "Application code that raised (on_open, on_message, on_close)",
    "refused_per_address": "Sessions refused: max_sessions_per_address open from that address",
    "refused_per_user": "Sessions refused: max_sessions_per_user open for that user",
    "refused_full": "Sessions refused: max_sessions open",
    "rate_limited": "Sessions closed for sending over max_message_rate",
    "foreign_requests": "Requests naming a session opened by another client",
    "refused_hosts": "Requests refused for a Host not in ALLOWED_HOSTS",
}
"""What each counter counts, for the Prometheus exposition's HELP lines."""
