"""A logged-in connection acts as its user only while its Django session still authenticates
them: it is authenticated again from the request that opened it, and closed with ``4401
"Session ended"`` when that no longer holds (the session deleted, expired or flushed, the
password changed elsewhere, the user deactivated or deleted) or the class's rules no longer
admit the user (permissions).

When: at once when the user is saved with another password or ``is_active`` or is deleted
(:mod:`.revocation` tells every process), and otherwise every ``user_check_interval``
seconds (``CLIENTSIGNAL_USER_CHECK_INTERVAL``, 60): at the connection's first event after
that time, before the event is handled, and by the worker's sweep for a connection that sends
nothing. Each check costs a query for the session and one for the user (with
``permission_required``, the permission queries too), through the bounded database
connections of :mod:`.databases`; the checks of a worker's sweep run a few at a time. A check
that cannot be made (the database away) keeps the connection, logged once per episode, and is
tried again later: a database outage does not log everyone out.
"""

from __future__ import annotations

import logging
import math
import random
import time
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from django.utils.crypto import salted_hmac

from ..django_requests import build_django_request
from ..episodes import Episode

if TYPE_CHECKING:
    from django.http import HttpRequest

    from ..sockjs_protocol import Request
    from ..sockjs_protocol.server import SockJSServer

logger = logging.getLogger("clientsignal")

SESSION_ENDED = (4401, "Session ended")
RETRY_AFTER = 10.0
"""Seconds before a check that failed (the database away) is tried again, at most."""
FIRST_SPREAD = 0.5
SPREAD = 0.1
"""A connection's first check falls due between 50 % and 100 % of the interval after it
opened, the next ones between 90 % and 100 % after the last: the connections a restart brought
back at once are not all checked in the same seconds."""

Job = Callable[[], None]
# The worker's scheduler for the connections of each of its services (a test process may
# also hold connections of its own, in another thread: checked at once, in their thread).
_schedulers: weakref.WeakKeyDictionary[SockJSServer, Callable[[Job], None]] = (
    weakref.WeakKeyDictionary()
)
# Connections with a check queued or running, by id() (the job holds the connection meanwhile;
# its .id may be taken over by a resumed connection).
_pending: set[int] = set()
_failed = Episode()
_ended: dict[type, Episode] = {}  # closed connections, logged once per episode per class


def user_state(user: Any) -> str:
    """A digest of what authenticates ``user``: its session auth hash (which changes with
    its password) and ``is_active``. A connection whose user's state changed checks again."""
    get_hash = getattr(user, "get_session_auth_hash", None)
    auth = get_hash() if callable(get_hash) else ""
    active = getattr(user, "is_active", True)
    return salted_hmac("clientsignal.user-state", "%s|%s" % (auth, active)).hexdigest()[:16]


def use_scheduler(servers: Iterable[SockJSServer], schedule: Callable[[Job], None]) -> None:
    """Run the checks of the connections of ``servers`` that are not made in an event's own
    handling through ``schedule`` (the worker's few checking greenlets). Without one (outside
    a worker), a check runs at once, in the caller."""
    for server in servers:
        _schedulers[server] = schedule


def check_soon(checks: UserChecks) -> None:
    """Check the user of ``checks``' connection as soon as a checker is free (once, however
    often asked meanwhile)."""
    connection = checks.connection
    key = id(connection)
    if key in _pending:
        return
    _pending.add(key)

    def job() -> None:
        try:
            if not connection.is_closed:
                connection.run_application_code(checks.check_safely)
        finally:
            _pending.discard(key)

    schedule = _schedulers.get(connection.session.server)
    if schedule is None:
        job()
    else:
        schedule(job)


def sweep(servers: Iterable[SockJSServer], now: float) -> int:
    """Schedule a check of every connection of ``servers`` whose check is due (the worker's
    reaper calls it every second, so a connection that only receives is checked too);
    returns how many were scheduled."""
    due = 0
    for server in servers:
        for session in server.sessions():
            checks = getattr(session.connection, "user_checks", None)
            if (
                isinstance(checks, UserChecks)
                and checks.due <= now
                and not session.is_closed
                and id(session.connection) not in _pending
            ):
                check_soon(checks)
                due += 1
    return due


class Checked(Protocol):
    """What :class:`UserChecks` needs of its connection (a
    :class:`~.base.BaseSignalConnection`)."""

    id: str
    session: Any
    user: Any
    opening_request: Request | None

    @classmethod
    def check_interval(cls) -> float | None: ...

    @property
    def is_closed(self) -> bool: ...

    def close(self, code: int = 3000, reason: str = "Go away!") -> None: ...

    def get_user(self, request: HttpRequest) -> Any: ...

    def refusal(self, user: Any) -> tuple[int, str] | None: ...

    def run_application_code(self, func: Callable[..., object], *args: object) -> None: ...


class UserChecks:
    """One connection's checks of its user: it keeps acting as its user only while its
    session authenticates them (see the module). The connection holds it and calls it."""

    __slots__ = ("connection", "due")

    def __init__(self, connection: Checked) -> None:
        self.connection = connection
        self.due = math.inf
        """When the next check falls due (``time.monotonic()``; 0: at once)."""

    def schedule(self, now: float, *, first: bool = False) -> None:
        """From now, the user is next checked within the interval (never for an anonymous
        user: there is no login to lose)."""
        interval = self.connection.check_interval()
        if interval is None or not getattr(self.connection.user, "is_authenticated", False):
            self.due = math.inf
        else:
            spread = FIRST_SPREAD if first else SPREAD
            self.due = now + interval * random.uniform(1 - spread, 1.0)

    def user_changed(self, state: str) -> None:
        """The backend says the user was saved (``state``: its state now) or deleted ("").
        If what authenticates it changed, check at once; the client's next event waits for
        a check too."""
        connection = self.connection
        if connection.is_closed or not getattr(connection.user, "is_authenticated", False):
            return
        if state and state == user_state(connection.user):
            return  # saved with the same password and is_active (a last_login, say)
        self.due = 0.0
        check_soon(self)

    def check_if_due(self) -> bool:
        """Before a client event: check the user if a check is due; False if that closed the
        connection."""
        return self.due > time.monotonic() or self.check_safely()

    def check_safely(self) -> bool:
        """:meth:`check`; one that raises (the database away) keeps the connection, logged
        once per episode, and is tried again within :data:`RETRY_AFTER` seconds."""
        try:
            return self.check()
        except Exception:
            connection = self.connection
            if _failed.hit(time.monotonic()):
                logger.exception(
                    "%s %s: could not check that %s is still logged in; the connection stays "
                    "open and is checked again later (further failures are not logged until a "
                    "minute passes without one)",
                    type(connection).__name__,
                    connection.id,
                    connection.user,
                )
            interval = connection.check_interval()
            retry = RETRY_AFTER if interval is None else min(interval, RETRY_AFTER)
            self.due = time.monotonic() + retry
            return True

    def check(self) -> bool:
        """Authenticate the client again from the request that opened the connection (its
        cookies: its Django session as it is now) with its ``get_user``, and apply the
        class's ``refusal`` to that user. True, with the connection's ``user`` refreshed,
        when it is still the same user and admitted; else the connection is closed (4401
        "Session ended", or the refusal's code) and False."""
        connection = self.connection
        if connection.is_closed or connection.opening_request is None:
            return not connection.is_closed
        now = time.monotonic()
        user = connection.get_user(build_django_request(connection.opening_request))
        if not getattr(user, "is_authenticated", False) or str(user.pk) != str(connection.user.pk):
            self._log_end(
                "%s is no longer logged in by its session (logged out, password changed, "
                "session deleted or expired, user deactivated or deleted)" % connection.user,
                SESSION_ENDED,
            )
            connection.close(*SESSION_ENDED)
            return False
        refusal = connection.refusal(user)
        if refusal is not None:
            self._log_end("%s is no longer admitted" % user, refusal)
            connection.close(*refusal)
            return False
        connection.user = user
        self.schedule(now)
        return True

    def _log_end(self, why: str, close: tuple[int, str]) -> None:
        """The first connection of the class closed by a check in a minute is logged (a
        flushed session store closes thousands at once); each is logged at DEBUG by the
        ``clientsignal.connections`` logger, with its close code."""
        cls = type(self.connection)
        episode = _ended.get(cls)
        if episode is None:
            episode = _ended[cls] = Episode()
        if episode.hit(time.monotonic()):
            logger.info(
                "%s %s: %s: closing (%d %s; further ones of %s are not logged until a minute "
                "passes without one)",
                cls.__name__,
                self.connection.id,
                why,
                *close,
                cls.__name__,
            )
