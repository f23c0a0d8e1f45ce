"""The former place of :mod:`clientsignal.connection.recovery`, kept for imports of it."""

from .connection.recovery import (
    MAX_STREAMS,
    RECOVERING,
    RESUME_MAX_AGE,
    RESUME_SALT,
    Recovery,
    claimed_id,
    gap_literal,
    requested,
    resume_token,
    resumed_id,
)

__all__ = [
    "MAX_STREAMS",
    "RECOVERING",
    "RESUME_MAX_AGE",
    "RESUME_SALT",
    "Recovery",
    "claimed_id",
    "gap_literal",
    "requested",
    "resume_token",
    "resumed_id",
]
