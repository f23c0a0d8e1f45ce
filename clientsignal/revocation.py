"""A change to a user reaches that user's connections in every process at once: saved with
another password or ``is_active``, or deleted (connected to the user model's ``post_save`` and
``post_delete`` by the app), or named by :func:`reauthenticate`. Each connection compares the
user's new state with its own and, if it differs, checks its session again (see
:mod:`.reauthentication`).

Sessions deleted without the user changing ("log out everywhere" deleting session rows, a
session store flushed, ``clearsessions``) send nothing: their connections are found by the
periodic check, or at once after :func:`reauthenticate`.
"""

from __future__ import annotations

from typing import Any

from . import publishing
from .backends import Envelope
from .connection.reauthentication import user_state
from .logout import every_backend

# Saves that cannot change what authenticates a user (update_last_login's, say) send nothing.
_AUTHENTICATING_FIELDS = frozenset({"password", "is_active"})


def user_saved(
    sender: Any,
    instance: Any,
    created: bool = False,
    update_fields: Any = None,
    **kwargs: Any,
) -> None:
    """``post_save`` receiver of the user model: tell the user's connections its state."""
    if created or (update_fields is not None and not _AUTHENTICATING_FIELDS & set(update_fields)):
        return
    _tell(instance.pk, user_state(instance))


def user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    """``post_delete`` receiver of the user model: its connections check again (and close)."""
    _tell(instance.pk, "")


def reauthenticate(user: Any) -> None:
    """Check now, in every process, that each open connection of ``user`` (a user or its
    primary key) is still logged in by its Django session and admitted by its class; close
    those that are not (4401 "Session ended", or the class's refusal). Call it after what
    clientsignal cannot see: session rows deleted ("log out everywhere"), permissions
    changed. Inside a transaction, when it commits."""
    _tell(getattr(user, "pk", user), "")


def _tell(pk: Any, state: str) -> None:
    publishing.control(
        every_backend(),
        lambda backend: backend.target_channel("user", pk),
        Envelope(recheck=state),
        on_commit=True,
    )
