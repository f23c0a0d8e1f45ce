"""Multiplexing: several endpoints over one SockJS session.

The multiplexed session carries text messages of the form ``type,topic[,payload]``, in the
convention of sockjs' ``websocket-multiplex``:

==========================  ===============================================================
client → server             meaning
==========================  ===============================================================
``sub,/rooms/7[,<query>]``  open a channel to the endpoint ``/rooms/7`` (``<query>``: more
                            query string for this opening, e.g. recovery positions)
``msg,/rooms/7,<payload>``  one message to that channel's connection
``uns,/rooms/7``            close that channel
==========================  ===============================================================

==================================  =======================================================
server → client                     meaning
==================================  =======================================================
``sub,/rooms/7``                    the channel is open (sent once the connection's
                                    ``on_open`` has accepted it, before anything it sent)
``msg,/rooms/7,<payload>``          one message from the channel's connection
``uns,/rooms/7,[code,"reason"]``    the server closed the channel
==================================  =======================================================

A topic is an endpoint path as a client would open it without multiplexing (a query string
included), optionally followed by ``#tag`` so one page can open the same endpoint twice; it
never contains a comma. Each channel is a :class:`Channel`: a session of the endpoint's own
service, with that service's connection class, options and counters, whose frames travel
inside the multiplexed session. A broadcast literal, encoded once, is wrapped per channel
by joining strings, never encoded again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .connection import SockJSConnection
from .frames import encode_json, encode_message
from .limits import client_key
from .session import Session

if TYPE_CHECKING:
    from .http import Request
    from .server import SockJSServer

logger = logging.getLogger("clientsignal.sockjs")

MALFORMED = (4400, "Malformed multiplex message")
NO_ENDPOINT = (4404, "No such endpoint")
TOO_MANY_CHANNELS = (4429, "Too many channels")
CHANNEL_LIMIT = 100
"""Channels one multiplexed session may have open at once."""


@dataclass
class Endpoint:
    """Where a topic leads: the endpoint's service, its path (for the connection's request) and
    the arguments captured from it (``/rooms/<int:room_id>`` → ``{"room_id": 7}``)."""

    server: SockJSServer
    path: str
    url_kwargs: dict[str, Any]


Resolver = Callable[[str], "Endpoint | None"]
"""Finds the endpoint of a path (without query string), or None."""


class Channel(Session):
    """One endpoint's session inside a multiplexed session.

    To the connection it is a session like any other: ``send``, ``close``, ``is_closed``,
    ``transport``; its messages go out through the parent session as ``msg`` messages.
    """

    multiplexed = True

    def __init__(self, parent: Session, topic: str, endpoint: Endpoint) -> None:
        server = endpoint.server
        super().__init__(
            "%s/%s" % (parent.id, topic),
            transport=parent.transport,
            disconnect_delay=0.0,
            now=0.0,
            max_message_size=server.options.max_message_size,
            max_queued_bytes=server.options.max_queued_bytes,
            counters=server.counters,
            prefix=endpoint.path,
            address=parent.address,
        )
        self.parent = parent
        self.topic = topic
        self.server: SockJSServer = server
        self.detached_since = None  # never expires by itself: it lives as long as its parent
        self._open_pending = False
        # '"msg,<topic>,' : prepended to an encoded literal without its opening quote.
        self._prefix = '"msg,' + encode_message(topic)[1:-1] + ","
        self.on_closed: Callable[[Channel], None] | None = None
        # What the connection sends while its on_open runs waits for the "sub" that opens
        # the channel on the client; a channel on_open rejects never opens there.
        self._opening: list[str] | None = []

    def open(self, connection: SockJSConnection, call: Callable[[], None]) -> None:
        super().open(connection, call)
        opening, self._opening = self._opening or [], None
        if self.rejected:
            self.parent.send(self._uns())
            return
        self.parent.send("sub," + self.topic)
        for message in opening:
            self.parent.send(None, message)

    def send(self, message: str | None, encoded: str | None = None) -> bool:
        if self.is_closed:
            return False
        literal = encoded if encoded is not None else encode_message(message or "")
        self.counters.messages_out += 1
        self.counters.bytes_out += len(literal)
        return self._to_parent(self._prefix + literal[1:])

    def close(self, code: int = 3000, reason: str = "Go away!") -> None:
        """Close this channel only: the client gets ``uns,topic,[code,"reason"]``."""
        if self.is_closed:
            return
        self.end(code, reason)
        if not self.rejected:
            self._to_parent(encode_message(self._uns()))

    def _uns(self) -> str:
        return "uns,%s,%s" % (self.topic, encode_json([self.close_code, self.close_reason]))

    def _to_parent(self, literal: str) -> bool:
        """Queue an encoded message on the parent session, or keep it while on_open runs."""
        if self._opening is not None:
            self._opening.append(literal)
            return True
        return self.parent.send(None, literal)

    def end(self, code: int, reason: str) -> None:
        """Close without telling the client: it asked to (``uns``), or it is gone."""
        if self.is_closed:
            return
        super().close(code, reason)
        self.server.channels.discard(self)
        if self.on_closed is not None:
            self.on_closed(self)


class MultiplexConnection(SockJSConnection):
    """The connection of a multiplexed session: opens, feeds and closes its channels.

    ``resolve`` finds the endpoint of a topic; each channel's connection is made by the
    endpoint service's own connection factory and opened with the multiplexed session's
    request, its path changed to the topic's.
    """

    channel_limit = CHANNEL_LIMIT

    def __init__(self, session: Session, resolve: Resolver) -> None:
        super().__init__(session)
        self.resolve = resolve
        self.channels: dict[str, Channel] = {}
        self.request: Request | None = None

    def on_open(self, request: Request) -> None:
        self.request = request

    def on_message(self, message: str) -> None:
        kind, _, rest = message.partition(",")
        topic, _, payload = rest.partition(",")
        if not topic or kind not in ("sub", "msg", "uns"):
            logger.warning(
                "multiplexed session %s: malformed message %r: closing (%s)",
                self.session.tag,
                message[:80],
                MALFORMED[1],
            )
            self.session.counters.errors += 1
            self.close(*MALFORMED)
            return
        if kind == "sub":
            self.subscribe(topic, payload)
        elif kind == "uns":
            channel = self.channels.get(topic)
            if channel is not None:
                channel.end(3000, "Closed by the client")
        else:
            channel = self.channels.get(topic)
            if channel is None:
                # Likely a message that crossed the server's uns on the way: say it again.
                logger.info(
                    "multiplexed session %s: message to %r, which is not open",
                    self.session.tag,
                    topic,
                )
                self._refuse(topic, NO_ENDPOINT)
                return
            channel.receive([payload])

    def on_close(self) -> None:
        for channel in list(self.channels.values()):
            channel.end(self.session.close_code, self.session.close_reason)

    def subscribe(self, topic: str, extra: str = "") -> None:
        """Open a channel to the endpoint named by ``topic``; ``extra`` (the rest of the
        ``sub`` message) is more query string for this opening only, such as a reconnecting
        client's recovery positions, which would be out of place in the topic every message
        of the channel repeats."""
        if topic in self.channels:
            return  # already open: a repeated sub changes nothing
        path, _, query = topic.partition("#")[0].partition("?")
        endpoint = self.resolve(path)
        if endpoint is None:
            logger.info("multiplexed session %s: no endpoint %r", self.session.tag, path)
            self._refuse(topic, NO_ENDPOINT)
            return
        if len(self.channels) >= self.channel_limit:
            logger.warning(
                "multiplexed session %s: %d channels open, refusing %r",
                self.session.tag,
                len(self.channels),
                topic,
            )
            self._refuse(topic, TOO_MANY_CHANNELS)
            return
        server = endpoint.server
        if server.shutting_down:
            self._refuse(topic, (1001, "Server shutting down"))
            return
        if server.open_sessions() >= server.options.max_sessions:
            server.counters.refused_full += 1
            logger.warning("multiplexed session %s: %r is full", self.session.tag, path)
            self._refuse(topic, (1013, "Try again later"))
            return
        request = self._channel_request(query, endpoint).with_query(extra)
        channel = Channel(self.session, topic, endpoint)
        if not server.admit(channel, "address", client_key(channel.address), request.date):
            self._refuse(topic, (4429, "Too many sessions from this address"))
            return
        channel.on_closed = self._forget
        self.channels[topic] = channel
        server.channels.add(channel)
        connection = server.connection_factory(channel)
        channel.open(connection, lambda: connection.on_open(request))

    def _channel_request(self, query: str, endpoint: Endpoint) -> Request:
        """The request a channel's connection opens with: the multiplexed session's, under
        the endpoint's prefix."""
        assert self.request is not None
        return replace(
            self.request,
            prefix=endpoint.path,
            path="",
            query_string=query,
            url_kwargs=endpoint.url_kwargs,
        )

    def _forget(self, channel: Channel) -> None:
        if self.channels.get(channel.topic) is channel:
            del self.channels[channel.topic]

    def _refuse(self, topic: str, close: tuple[int, str]) -> None:
        self.session.send("uns,%s,%s" % (topic, encode_json(list(close))))


class Multiplexer:
    """The connection factory of a multiplexed service (what :class:`~.server.SockJSServer`
    calls for each new session)."""

    def __init__(self, resolve: Resolver) -> None:
        self.resolve = resolve

    def __call__(self, session: Session) -> MultiplexConnection:
        return MultiplexConnection(session, self.resolve)
