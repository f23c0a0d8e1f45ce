"""The former place of :mod:`clientsignal.connection.reauthentication`, kept for imports of
it."""

from .connection.reauthentication import (
    RETRY_AFTER,
    SESSION_ENDED,
    Job,
    UserChecks,
    check_soon,
    sweep,
    use_scheduler,
    user_state,
)

__all__ = [
    "RETRY_AFTER",
    "SESSION_ENDED",
    "Job",
    "UserChecks",
    "check_soon",
    "sweep",
    "use_scheduler",
    "user_state",
]
