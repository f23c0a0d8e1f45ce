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
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.crypto import salted_hmac

from . import conf
from .django_requests import build_django_request
from .episodes import Episode

if TYPE_CHECKING:
    from django.http import HttpRequest

    from .sockjs_protocol import Request
    from .sockjs_protocol.server import SockJSServer

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


def check_soon(connection: UserChecks) -> None:
    """Check ``connection``'s user as soon as a checker is free (once, however often asked
    meanwhile)."""
    key = id(connection)
    if key in _pending:
        return
    _pending.add(key)

    def job() -> None:
        try:
            if not connection.is_closed:
                connection.run_application_code(connection.check_user_safely)
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
            connection = session.connection
            if (
                isinstance(connection, UserChecks)
                and connection._user_check_due <= now
                and not session.is_closed
                and id(connection) not in _pending
            ):
                check_soon(connection)
                due += 1
    return due


class UserChecks:
    """What :class:`~.connection.BaseSignalConnection` does to keep acting as its user only
    while its session authenticates them (see the module)."""

    __slots__ = ()

    user_check_interval: ClassVar[float | None] = None
    """Seconds after which a logged-in connection's user is checked again (at its next event,
    or by the worker's sweep); None: ``CLIENTSIGNAL_USER_CHECK_INTERVAL``. 0: before every
    event the client sends (a session and a user query per event), and every second while it
    sends none."""

    @classmethod
    def check_interval(cls) -> float | None:
        """This class's interval between checks; None: none but those a change pushes."""
        if cls.user_check_interval is not None:
            return cls.user_check_interval
        return conf.user_check_interval()

    def _schedule_user_check(self, now: float, *, first: bool = False) -> None:
        """From now, the user is next checked within the interval (never for an anonymous
        user: there is no login to lose)."""
        interval = self.check_interval()
        if interval is None or not getattr(self.user, "is_authenticated", False):
            self._check_user_at(math.inf)
        else:
            spread = FIRST_SPREAD if first else SPREAD
            self._check_user_at(now + interval * random.uniform(1 - spread, 1.0))

    def _check_user_at(self, when: float) -> None:
        """The next check falls due at ``when`` (``time.monotonic()``; 0: at once)."""
        self._user_check_due = when  # type: ignore[misc]  # a slot of the connection class

    def user_changed(self, state: str) -> None:
        """The backend says this connection's user was saved (``state``: its state now) or
        deleted (""). If what authenticates it changed, check at once; the client's next
        event waits for a check too."""
        if self.is_closed or not getattr(self.user, "is_authenticated", False):
            return
        if state and state == user_state(self.user):
            return  # saved with the same password and is_active (a last_login, say)
        self._check_user_at(0.0)
        check_soon(self)

    def check_user_safely(self) -> bool:
        """:meth:`check_user`; one that raises (the database away) keeps the connection,
        logged once per episode, and is tried again within :data:`RETRY_AFTER` seconds."""
        try:
            return self.check_user()
        except Exception:
            if _failed.hit(time.monotonic()):
                logger.exception(
                    "%s %s: could not check that %s is still logged in; the connection stays "
                    "open and is checked again later (further failures are not logged until a "
                    "minute passes without one)",
                    type(self).__name__,
                    self.id,
                    self.user,
                )
            interval = self.check_interval()
            retry = RETRY_AFTER if interval is None else min(interval, RETRY_AFTER)
            self._check_user_at(time.monotonic() + retry)
            return True

    def check_user(self) -> bool:
        """Authenticate the client again from the request that opened the connection (its
        cookies: its Django session as it is now) with :meth:`get_user`, and apply the class's
        :meth:`refusal` to that user. True, with :attr:`user` refreshed, when it is still the
        same user and admitted; else the connection is closed (4401 "Session ended", or the
        refusal's code) and False."""
        if self.is_closed or self.opening_request is None:
            return not self.is_closed
        now = time.monotonic()
        user = self.get_user(build_django_request(self.opening_request))
        if not getattr(user, "is_authenticated", False) or str(user.pk) != str(self.user.pk):
            self._log_end(
                "%s is no longer logged in by its session (logged out, password changed, "
                "session deleted or expired, user deactivated or deleted)" % self.user,
                SESSION_ENDED,
            )
            self.close(*SESSION_ENDED)
            return False
        refusal = self.refusal(user)
        if refusal is not None:
            self._log_end("%s is no longer admitted" % user, refusal)
            self.close(*refusal)
            return False
        self.user = user
        self._schedule_user_check(now)
        return True

    def _log_end(self, why: str, close: tuple[int, str]) -> None:
        """The first connection of the class closed by a check in a minute is logged (a
        flushed session store closes thousands at once); each is logged at DEBUG by the
        ``clientsignal.connections`` logger, with its close code."""
        cls = type(self)
        episode = _ended.get(cls)
        if episode is None:
            episode = _ended[cls] = Episode()
        if episode.hit(time.monotonic()):
            logger.info(
                "%s %s: %s: closing (%d %s; further ones of %s are not logged until a minute "
                "passes without one)",
                cls.__name__,
                self.id,
                why,
                *close,
                cls.__name__,
            )

    if TYPE_CHECKING:
        id: str
        session: Any
        user: Any
        opening_request: Request | None
        _user_check_due: float

        @property
        def is_closed(self) -> bool: ...

        def close(self, code: int = 3000, reason: str = "Go away!") -> None: ...

        def get_user(self, request: HttpRequest) -> Any: ...

        def refusal(self, user: Any) -> tuple[int, str] | None: ...

        def run_application_code(self, func: Callable[..., object], *args: object) -> None: ...
