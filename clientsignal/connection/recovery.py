"""No event lost across a reconnect: what a returning client missed is replayed, in order,
once, before anything new.

A connection of a class with ``history`` knows the streams it receives (its class's
broadcasts, by URL argument, its groups, its user, itself) and, for each, the position of the
last message it delivered. A reconnecting client names where it was in each
(``recover=<stream>~<position>,...``) and presents its resume token (``resume=...``), in its
first message after an opening request marked ``?recovering=1`` (or in the ``sub`` of a
multiplexed channel): never in a URL, which proxies and servers log. The new connection holds what
arrives live while it replays what came after those positions, then delivers the held
messages that are newer, so the seam has neither a gap nor a duplicate. A stream whose
history does not reach back that far, or whose epoch changed, is named in a ``gap`` event
instead: the application refetches its state.

A client has a position only in the streams it had a message of. For every other stream of
the connection (none of it yet, or a gap), the server gives the stream's head, read after the
connection joined it, with the resume token (``{"resume": ..., "positions": {stream:
position}}``), and for a group joined later, when it joins (``{"positions": {...}}``); live
messages are held until then, so the client never takes a head older than a message it
already has. Its next reconnect names those positions too: what came while it was away is
replayed, or said to be a gap, even in a stream it had heard nothing of.

The resume token gives the new connection the old one's id, and with it what was sent to that
connection while the client was away. It is signed, and bound to the class, the user and the
client's credential cookie (the one its HTTP sessions are bound to, see
:mod:`.sockjs_protocol.binding`): presented from another cookie, it is refused, and the client
is told its connection's stream is a gap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs

from django.core import signing

from .. import encoding
from ..backends.base import Member, delivers_to
from ..backends.streams import History, Position, Sequence, stream_id, with_position
from ..sockjs_protocol import Request, encode_message
from ..sockjs_protocol.binding import credential

if TYPE_CHECKING:
    from ..backends import BaseBackend, Envelope
    from .feeds import Feed

MAX_STREAMS = 64
"""Streams one recovery request may name; more are ignored."""

RESUME_SALT = "clientsignal.resume"
RESUME_MAX_AGE = 24 * 60 * 60
"""Seconds a client may present its resume token (its connection's id) after it was given."""


def requested(query: dict[str, str]) -> dict[str, Position | None]:
    """The positions a reconnecting client names, by stream id (None: not a position)."""
    wanted: dict[str, Position | None] = {}
    for part in query.get("recover", "").split(",")[:MAX_STREAMS]:
        sid, sep, token = part.partition("~")
        if sep and sid:
            wanted[sid] = Position.parse(token)
    return wanted


RECOVERING = "recovering"
"""The query parameter (``?recovering=1``) of an opening request whose first message says
where the client stands (``recover=...&resume=...``)."""


def resume_token(connection_id: str, class_name: str, user_key: Any, bound_to: str) -> str:
    """What lets a client's next connection take this one's id (and so its own stream):
    ``<id>:<time>:<signature>``, signed for the class, the user and the client's credential
    (``bound_to``, a digest of its cookie; empty for a client without one)."""
    return _signer(class_name, user_key, bound_to).sign(connection_id)


def resumed_id(token: str, class_name: str, user_key: Any, bound_to: str) -> str | None:
    """The connection id a valid resume token carries, for the same class, user and
    credential, and no older than :data:`RESUME_MAX_AGE`."""
    try:
        return _signer(class_name, user_key, bound_to).unsign(token, max_age=RESUME_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None


def claimed_id(token: str) -> str | None:
    """The connection id a token names, valid or not (to name the stream a refused one
    leaves behind)."""
    connection_id = token.partition(":")[0]
    if len(connection_id) == 32 and all(c in "0123456789abcdef" for c in connection_id):
        return connection_id
    return None


def _signer(class_name: str, user_key: Any, bound_to: str) -> signing.TimestampSigner:
    salt = "%s|%s|%s|%s" % (RESUME_SALT, class_name, user_key, bound_to)
    return signing.TimestampSigner(salt=salt)


class Recovering(Member, Protocol):
    """What :class:`Recovery` needs of its connection (a
    :class:`~.base.BaseSignalConnection`)."""

    user: Any
    opening_request: Request | None

    @classmethod
    def get_backend(cls) -> BaseBackend: ...

    @classmethod
    def channel_name(cls) -> str: ...

    def send(self, event: str, data: Any = None) -> bool: ...

    def send_message(self, message: str | None, encoded: str | None = None) -> bool: ...


class Recovery:
    """One connection's recovery, for a class with ``history``: the streams it receives
    (the channels that keep history, with their names in a ``gap`` event), the last position
    it delivered in those a replay touched, and what arrives while it is held: from its
    start until the client knows where it stands (a replay, the heads), and while a group
    joined later gets its head. The connection holds it and calls it; it calls back only the
    connection's public side (:class:`Recovering`)."""

    def __init__(self, connection: Recovering) -> None:
        self.connection = connection
        self.by_channel: dict[str, Feed] = {}
        self.seen: dict[str, tuple[str, Sequence]] = {}
        self.held: list[tuple[str, Envelope, str]] = []
        self.holding = 1  # released once the open has said where the client stands
        self.opened = False
        self.refused: str | None = None  # the id a refused resume token claimed
        self.wanted: dict[str, Position | None] = {}  # the positions the client names

    # -- opening -----------------------------------------------------------------------------

    def start(self, backend: BaseBackend, request: Request) -> str:
        """The connection's id: the one a valid resume token carries (the client's own
        stream goes on), else its own. Notes the positions the client names."""
        connection = self.connection
        connection_id = connection.id
        token, takeable = self._presented_token(request)
        if token:
            resumed = None
            if takeable:
                bound_to = self._credential(request, issuing=False)
                resumed = resumed_id(token, connection.channel_name(), self._user_key(), bound_to)
            if resumed is None:
                self.refused = claimed_id(token)
            else:
                stale = backend.hub.member(resumed)
                if stale is not None:  # the same client's old connection, not yet noticed gone
                    stale.close(4000, "Reconnected elsewhere")
                connection_id = resumed
        self.wanted = requested(request.query)
        return connection_id

    def add(self, feed: Feed) -> None:
        """``feed`` is one of the connection's streams if it keeps history."""
        if feed.history is not None:
            self.by_channel[feed.channel] = feed

    def recover(self) -> None:
        """Replay what a reconnecting client missed, then say where it stands: a ``gap``
        event naming the streams it cannot get back, its resume token and the heads of the
        streams it has no position in; then what arrived meanwhile."""
        connection = self.connection
        backend = connection.get_backend()
        wanted, self.wanted = self.wanted, {}
        gaps = self.replay(backend, wanted)
        if self.refused is not None:  # its own stream is not this connection's any more
            own = stream_id(backend.target_channel("connection", self.refused))
            if own not in {gap["id"] for gap in gaps}:
                gaps.append({"id": own, "kind": "connection", "name": "connection"})
        if gaps:
            connection.send("gap", {"streams": gaps})
        assert connection.opening_request is not None
        bound_to = self._credential(connection.opening_request, issuing=True)
        control: dict[str, Any] = {
            "resume": resume_token(
                connection.id, connection.channel_name(), self._user_key(), bound_to
            )
        }
        heads = self.heads(backend, self.unplaced())
        if heads:
            control["positions"] = heads
        connection.send_message(encoding.dumps(control))
        self.opened = True
        self.release()

    def join(self, backend: BaseBackend, feed: Feed) -> None:
        """Join ``feed`` (a group's) as one of the connection's streams. Joined after the
        open, its head goes to the client at once, before anything of it; during the open,
        with the others'."""
        self.add(feed)
        if not self.opened:
            backend.join(self.connection, (feed.channel,))
            return
        self.hold()
        try:
            backend.join(self.connection, (feed.channel,))
            heads = self.heads(backend, [feed.channel])
            if heads:
                self.connection.send_message(encoding.dumps({"positions": heads}))
        finally:
            self.release()

    # -- live messages -----------------------------------------------------------------------

    def hold(self) -> None:
        """Hold live messages until as many :meth:`release`."""
        self.holding += 1

    def release(self) -> None:
        """The last release delivers what was held, in order (without what a replay
        delivered already)."""
        self.holding -= 1
        if self.holding:
            return
        held, self.held = self.held, []
        for channel, envelope, literal in held:
            self.receive(channel, envelope, literal)

    def receive(self, channel: str, envelope: Envelope, literal: str) -> bool:
        """A live message with a position: held while the client is told where it stands;
        after a replay, dropped if the replay delivered it already. One that says messages
        of its stream were lost goes to the client as a ``gap`` event naming the stream, at
        its position."""
        if self.holding:
            self.held.append((channel, envelope, literal))
            return True
        if self.seen and channel in self.seen:
            position = Position.parse(envelope.position or "")
            epoch, last = self.seen[channel]
            if position is not None and position.epoch == epoch:
                if position.sequence <= last:
                    return False
                del self.seen[channel]  # past the seam: no duplicate can come any more
        feed = self.by_channel.get(channel)
        if feed is None:  # not one of its streams (a parent class's that carries nothing)
            return not envelope.lost and self._queue(envelope.encoded)
        if envelope.lost:
            literal = gap_literal(stream_id(channel), feed, envelope.position or "")
        return self._queue(literal)

    # -- where the client stands -------------------------------------------------------------

    def unplaced(self) -> list[str]:
        """The channels in which the client has no position a replay could start from (it
        named none, or one that was a gap): right after :meth:`replay`."""
        return [channel for channel in self.by_channel if channel not in self.seen]

    def heads(self, backend: BaseBackend, channels: list[str]) -> dict[str, str]:
        """The head position of each of ``channels`` (read after the connection joined it),
        by stream id: where the client's next reconnect asks to be replayed from."""
        wanted = {
            channel: feed.history
            for channel in channels
            if (feed := self.by_channel.get(channel)) is not None and feed.history is not None
        }
        if not wanted:
            return {}
        found = backend.heads(wanted)
        return {stream_id(channel): position.token for channel, position in found.items()}

    def replay(
        self, backend: BaseBackend, wanted: dict[str, Position | None]
    ) -> list[dict[str, str]]:
        """Replay what came after the client's positions, in order (what arrives meanwhile
        stays held), to the connection as the delivery rule allows; the streams it cannot
        replay (a gap), as ``{"id", "kind", "name"}`` (and a room's ``"args"``)."""
        by_id = {stream_id(channel): channel for channel in self.by_channel}
        entries: list[tuple[Sequence, str, Position, Envelope]] = []
        gaps = []
        for sid, position in wanted.items():
            channel = by_id.get(sid)
            if channel is None:
                continue  # not one of this connection's streams: nothing of it is shown
            feed = self.by_channel[channel]
            assert feed.history is not None  # (only feeds with history are streams)
            replay = None if position is None else backend.replay(channel, position, feed.history)
            if position is None or replay is None or replay.gap:
                gaps.append({"id": sid, **feed.describe()})
                continue
            if any(envelope.lost for envelope in replay.entries):
                gaps.append({"id": sid, **feed.describe()})  # some of it was never kept
                continue
            self.seen[channel] = (position.epoch, position.sequence)
            for envelope in replay.entries:
                entry = Position.parse(envelope.position or "")
                if entry is not None:
                    entries.append((entry.sequence, channel, entry, envelope))
        entries.sort(key=lambda entry: entry[0])
        for _sequence, channel, entry, envelope in entries:
            if delivers_to(envelope, self.connection):
                # (Its epoch, not the position's: that may be a virtual head, see .streams.)
                self.seen[channel] = (entry.epoch, entry.sequence)
                self._queue(
                    with_position(envelope.encoded, stream_id(channel), envelope.position or "")
                )
        return gaps

    # -- the connection's side ---------------------------------------------------------------

    def _queue(self, literal: str) -> bool:
        return bool(self.connection.session.send(None, literal))

    def _presented_token(self, request: Request) -> tuple[str, bool]:
        """The resume token the client presents, and whether it came where one is taken: in
        the opening message, or a multiplexed channel's ``sub`` (never in a URL)."""
        session = self.connection.session
        if getattr(session, "multiplexed", False):
            return request.query.get("resume", ""), True
        message = session.opening_message
        if message is not None:
            return parse_qs(message[:8192]).get("resume", [""])[0], True
        return request.query.get("resume", ""), False

    def _credential(self, request: Request, *, issuing: bool) -> str:
        """The client's credential (a digest of its cookie), as a resume token is bound to
        it: the one its HTTP session is bound to (for a token given, the key set on the
        response that opened it), else its request's."""
        session = self.connection.session
        if issuing:
            bound = getattr(session, "parent", session).credential
            if bound:
                return str(bound)
        server = session.server
        return credential(request, server.options.identity_cookies if server else ()) or ""

    def _user_key(self) -> Any:
        user = self.connection.user
        return user.pk if getattr(user, "is_authenticated", False) else None


def gap_literal(sid: str, feed: Feed, position: str) -> str:
    """The message literal of a ``gap`` in one live stream, at the position it was noticed."""
    message = {
        "s": sid,
        "p": position,
        "event": "gap",
        "data": {"streams": [{"id": sid, **feed.describe()}]},
    }
    return encode_message(encoding.dumps(message))


def opens_with_message(request: Request, history: Any, session: Any) -> bool:
    """Whether a connection of a class with ``history`` waits for its client's first
    message: opened with ``?recovering=1``, not multiplexed."""
    return (
        request.query.get(RECOVERING) == "1"
        and History.of(history) is not None
        and not getattr(session, "multiplexed", False)
    )


# The history each class's broadcasts keep, and targeted messages' (by the root class).
_history_cache: dict[type, History | None] = {}


def forget_histories() -> None:
    """A class was made: the histories are computed again."""
    _history_cache.clear()


def broadcast_history(cls: type) -> History | None:
    """What ``cls``'s broadcasts keep: the widest ``history`` of the class and its
    subclasses, whose connections receive them too."""
    if cls not in _history_cache:
        widest = None
        for klass in (cls, *_subclasses(cls)):
            own = History.of(klass.__dict__.get("history"))
            if own is not None:
                widest = own.wider(widest)
        _history_cache[cls] = widest
    return _history_cache[cls]


def target_history(root: type) -> History | None:
    """What messages to groups, users and single connections keep: the widest ``history``
    of any class under ``root`` (the base connection class), since any class's connections
    may receive them."""
    return broadcast_history(root)


def _subclasses(cls: type) -> list[type]:
    found: list[type] = []
    sub: type
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found
