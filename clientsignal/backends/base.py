"""The backend interface: how a message reaches the open connections of a channel, and the
one envelope it travels in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import ujson

from .streams import stream_id, with_position

if TYPE_CHECKING:
    from .presence import Entry
    from .streams import History, Position, Replay


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message on its way to the connections of a channel, encoded once: ``encoded`` is
    the SockJS message literal every receiving session queues as it is; ``event`` its name,
    for connections that filter what they receive (``accepts``); ``exclude`` the id of a
    connection that does not get it (its sender). With ``close`` set, the envelope closes the
    connections with that code and reason instead (a logout, say). ``position`` is its
    position token in its channel's stream, when the channel keeps history (see
    :mod:`.streams`). With ``lost`` set, it carries no message but says that messages of its
    stream were lost before it (a publish that failed): a ``gap`` for those who keep track of
    the stream, nothing for others. With ``recheck`` set, the envelope tells the connections
    that their user changed (``recheck`` is the user's new state, "" when gone: see
    :mod:`clientsignal.reauthentication`) instead."""

    encoded: str = ""
    event: str = ""
    exclude: str | None = None
    close: tuple[int, str] | None = None
    position: str | None = None
    lost: bool = False
    recheck: str | None = None

    def to_bytes(self) -> bytes:
        """A position line (empty without one), a JSON head line, then the literal as it is:
        nothing is decoded on the way in. Without a position the bytes start with a newline,
        and a stream's position can be put in front of them as they are (Redis does)."""
        fields: list[Any] = [self.event, self.exclude, self.close]
        if self.lost or self.recheck is not None:
            fields.append(self.lost)
        if self.recheck is not None:
            fields.append(self.recheck)
        text = "%s\n%s\n%s" % (self.position or "", ujson.dumps(fields), self.encoded)
        return text.encode("utf-8", "surrogatepass")

    @classmethod
    def from_bytes(cls, data: bytes) -> Envelope:
        position, _, rest = data.decode("utf-8", "surrogatepass").partition("\n")
        head, _, encoded = rest.partition("\n")
        event, exclude, close, *more = ujson.loads(head)
        return cls(
            encoded,
            event,
            exclude,
            tuple(close) if close else None,
            position or None,
            bool(more and more[0]),
            more[1] if len(more) > 1 else None,
        )


class Member(Protocol):
    """What a backend needs of a connection it delivers to."""

    id: str
    session: Any

    @property
    def filters_events(self) -> bool: ...

    def accepts_safely(self, event: str) -> bool:
        """Whether the connection takes ``event``; never raises."""
        ...

    def close(self, code: int, reason: str) -> None: ...

    def user_changed(self, state: str) -> None:
        """The connection's user was saved (``state``: its new state) or deleted ("")."""
        ...

    def receive_positioned(self, channel: str, envelope: Envelope, literal: str) -> bool:
        """Queue a message that has a position in ``channel``'s stream: ``literal`` is the
        message with its position (for connections that keep track of streams), the
        envelope's own literal is without it."""
        ...


class LocalHub:
    """The open connections of this process, by channel."""

    def __init__(self) -> None:
        self._channels: dict[str, dict[str, Member]] = {}
        self._joined: dict[str, set[str]] = {}
        self._members: dict[str, Member] = {}

    def member(self, connection_id: str) -> Member | None:
        """The connection of this process with that id, if one listens here."""
        return self._members.get(connection_id)

    def add(self, connection: Member, channels: tuple[str, ...]) -> None:
        """``connection`` listens on ``channels`` too (it may already listen on others)."""
        self._members[connection.id] = connection
        joined = self._joined.setdefault(connection.id, set())
        for channel in channels:
            joined.add(channel)
            self._channels.setdefault(channel, {})[connection.id] = connection

    def discard(self, connection: Member, channels: tuple[str, ...]) -> list[str]:
        """``connection`` no longer listens on ``channels``; those nobody listens on now."""
        joined = self._joined.get(connection.id, set())
        emptied = []
        for channel in channels:
            joined.discard(channel)
            members = self._channels.get(channel)
            if members is not None:
                members.pop(connection.id, None)
                if not members:
                    del self._channels[channel]
                    emptied.append(channel)
        return emptied

    def remove(self, connection: Member) -> list[str]:
        """``connection`` is gone; the channels nobody listens on now."""
        if self._members.get(connection.id) is connection:
            del self._members[connection.id]
        return self.discard(connection, tuple(self._joined.pop(connection.id, ())))

    def channels(self) -> list[str]:
        return list(self._channels)

    def members(self, channel: str) -> list[Member]:
        """The connections of this process on ``channel``."""
        return list(self._channels.get(channel, {}).values())

    def count(self, channel: str | None = None) -> int:
        if channel is None:
            return len(self._joined)
        return len(self._channels.get(channel, ()))

    def deliver(self, channel: str, envelope: Envelope) -> int:
        """Queue the envelope's message on every connection of ``channel`` but the excluded
        one and those that refuse its event (or close them all, or tell them all their user
        changed); returns how many got it."""
        members = self._channels.get(channel)
        if not members:
            return 0
        if envelope.recheck is not None:
            for connection in list(members.values()):
                connection.user_changed(envelope.recheck)
            return len(members)
        if envelope.close is not None:
            for connection in list(members.values()):
                connection.close(*envelope.close)
            return len(members)
        if envelope.lost:  # a gap in the stream: for every connection, whatever it filters
            return sum(
                1
                for connection in list(members.values())
                if connection.receive_positioned(channel, envelope, "")
            )
        literal = envelope.encoded
        if envelope.position is not None:
            # Built once for every member, as the unpositioned literal is.
            literal = with_position(literal, stream_id(channel), envelope.position)
        delivered = 0
        for connection in list(members.values()):
            if not delivers_to(envelope, connection):
                continue
            if envelope.position is not None:
                sent = connection.receive_positioned(channel, envelope, literal)
            else:
                sent = connection.session.send(None, literal)
            if sent:
                delivered += 1
        return delivered


DEFAULT_PREFIX = "clientsignal"
"""What every channel and key starts with unless ``CHANNEL_PREFIX`` says otherwise."""


def delivers_to(envelope: Envelope, connection: Member) -> bool:
    """The one delivery rule of a message: it reaches every connection of its channel but
    its sender (``exclude``) and those whose class filters (``accepts``) and refuses its
    event. Live messages and replayed ones alike."""
    if connection.id == envelope.exclude:
        return False
    return not connection.filters_events or connection.accepts_safely(envelope.event)


class BackendAway(Exception):
    """The backend cannot answer now (Redis unreachable, or known to be away)."""


class BaseBackend:
    """Publishes messages and delivers them to this process's connections.

    ``publish`` must be safe to call from any process that has Django loaded (a web worker,
    a management command, a task worker), with or without gevent.
    """

    # Channels of targeted messages: a group, every connection of a user, one connection,
    # every connection of one Django session. A backend that spans processes receives them
    # all, by pattern, and delivers locally.
    TARGETS = ("group", "user", "connection", "login")

    def __init__(self, url: str | None = None, options: dict[str, Any] | None = None) -> None:
        self.url = url
        self.options = dict(options or {})
        self.hub = LocalHub()
        self.state = "in-process"
        """For stats: a remote backend's connection state."""
        self.stats: dict[str, int] = {}

    def channel(self, name: str) -> str:
        prefix = self.options.get("CHANNEL_PREFIX", DEFAULT_PREFIX)
        return "%s:%s" % (prefix, name) if prefix else name

    def target_channel(self, kind: str, name: object) -> str:
        assert kind in self.TARGETS
        return self.channel("%s:%s" % (kind, name))

    def serve(self, channels: tuple[str, ...], deadline: float) -> bool:
        """This process will serve connections on ``channels``: be ready to receive what is
        published to them (by ``deadline``, a ``time.monotonic()`` value). The in-process
        backend always is."""
        return True

    def available(self) -> bool:
        """Whether requests may use the backend now (a remote one may be known to be away)."""
        return True

    def join(self, connection: Member, channels: tuple[str, ...]) -> None:
        """A connection of this process listens on ``channels`` (its class's when it opens,
        a group's when it joins one)."""
        self.hub.add(connection, channels)

    def leave_channels(self, connection: Member, channels: tuple[str, ...]) -> None:
        self.hub.discard(connection, channels)

    def leave(self, connection: Member) -> None:
        self.hub.remove(connection)

    def publish(self, channel: str, envelope: Envelope, history: History | None = None) -> None:
        """Deliver the envelope to every connection of ``channel``, in every process the
        backend reaches; with ``history``, keep it in the channel's stream first (one round
        trip with Redis). Never raises: a failure is logged and counted."""
        raise NotImplementedError

    def replay(self, channel: str, since: Position, history: History) -> Replay:
        """What ``channel``'s stream kept after ``since``, or a gap."""
        raise NotImplementedError

    def heads(self, streams: dict[str, History]) -> dict[str, Position]:
        """Where each of these streams (channel: its history) is now, for a client that has no
        position in it: the position of its last message, ``"<epoch>:0-0"`` while it has none
        (a stream without an epoch gets one), so that whatever comes next is replayed after
        it. One round trip with Redis. Never raises: a stream it could not ask is left out."""
        raise NotImplementedError

    # Presence (see .presence): places are channels; a connection is present in a place
    # from add to remove (or, with Redis, until its worker stops refreshing it).

    def presence_add(self, place: str, entry: Entry) -> int:
        """Count ``entry`` in ``place``; how many entries its user has there now."""
        raise NotImplementedError

    def presence_remove(self, place: str, entry: Entry) -> int:
        """Forget ``entry``; how many entries its user has left in ``place``."""
        raise NotImplementedError

    def presence(self, place: str) -> list[Entry]:
        """The entries of ``place``, in every process the backend reaches."""
        raise NotImplementedError

    def refresh_presence(self) -> list[tuple[str, Entry]]:
        """Keep this process's entries alive (the worker's reaper calls it every few
        seconds), and remove the expired entries of the places this process has entries in
        (those of a process that died without removing its own). Returns ``(place, entry)``
        for each user who thereby left a place (no live entry of theirs is left there), once
        across every process. A backend whose entries cannot outlive their process does
        nothing and returns none."""
        return []

    # Several workers (see gevent_io/forwarding.py): which worker owns each HTTP session, the
    # live workers, each worker's inbox, and the workers' stats. A backend that reaches one
    # process only answers for that process. Calls that need the backend raise BackendAway
    # when it cannot answer now (it says so with available() too).

    def session_owner(self, session: str, claim: str | None = None, ttl: float = 0) -> str | None:
        """The worker owning ``session`` (a service's mount and a session id, joined), or
        None; with ``claim``, that worker becomes the owner (for ``ttl`` seconds) if none is."""
        raise NotImplementedError

    def release_sessions(self, sessions: list[str], worker: str) -> None:
        """Forget the owner of each of ``sessions`` that ``worker`` still owns."""
        raise NotImplementedError

    def keep_sessions(self, sessions: list[str], worker: str, ttl: float) -> list[int]:
        """``worker`` holds ``sessions``: renew its ownership for ``ttl`` seconds, claim those
        nobody owns; the indexes of those another worker owns now."""
        raise NotImplementedError

    def register_worker(self, worker: str, ttl: float) -> set[str]:
        """``worker`` is alive for ``ttl`` seconds more; the live workers."""
        raise NotImplementedError

    def registered_workers(self) -> set[str]:
        raise NotImplementedError

    def open_inbox(self, inbox: str, receive: Callable[[bytes], None]) -> None:
        """Call ``receive(data)`` for whatever is posted to ``inbox``, in this process."""
        raise NotImplementedError

    def inbox_ready(self, inbox: str, timeout: float) -> bool:
        """Wait, at most ``timeout`` seconds, until what is posted to ``inbox`` reaches it."""
        raise NotImplementedError

    def post(self, inbox: str, data: bytes, *, heard: bool = False) -> bool:
        """Post ``data`` to ``inbox``; False if the backend is away, or if nobody listens
        there and it had to be ``heard``. Never raises."""
        raise NotImplementedError

    def when_back(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` whenever the backend answers again after it was away (it must
        not block). A backend that is never away never calls it."""

    def store_snapshot(self, worker: str, snapshot: dict[str, Any], ttl: float) -> None:
        """Keep ``worker``'s stats ``snapshot`` for ``ttl`` seconds, for every process to sum.
        Never raises."""

    def snapshots(self) -> list[dict[str, Any]] | None:
        """Every live worker's stats snapshot; None when this backend shares none (then a
        process shows its own)."""
        return None

    def purge(self) -> int:
        """Delete everything this backend keeps under its ``CHANNEL_PREFIX`` (tests: what a
        test namespace made); how many keys. The in-process backend keeps nothing outside
        the process: 0."""
        return 0

    def describe(self) -> dict[str, Any]:
        """Where the backend is, for the stats (never a password): its ``kind``, and for a
        remote one the ``master`` it uses now (a cluster: its ``shards``) and the ``failovers``
        this process saw."""
        return {"kind": "in-process"}

    def close(self) -> None:
        """Release connections and greenlets (tests, shutdown)."""
