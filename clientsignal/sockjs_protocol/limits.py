"""Fairness limits: open sessions of a service per client (in one process, or shared by every
process through the I/O layer's :class:`SharedCounts`), open connections of a worker per client
address, and episodes that are logged once rather than once per refusal."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .session import Session


def client_key(address: str) -> str:
    """Under which key a client address counts: itself for IPv4, its /64 for IPv6 (one
    network, which gets a whole /64 to pick addresses from), and the IPv4 address of an
    IPv4-mapped one (``::ffff:203.0.113.9``: an IPv4 client of a server bound to ``[::]``,
    whose /64 would be every IPv4 client's)."""
    if ":" not in address:
        return address
    try:
        ip = ipaddress.IPv6Address(address.split("%")[0])
    except ValueError:
        return address
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((ip, 64), strict=False))


class SharedCounts(Protocol):
    """Open sessions counted across processes (and machines): the I/O layer's, given to
    :meth:`Quotas.share`. ``holder`` names a session within its process."""

    def take(self, scope: str, kind: str, key: str, limit: int, holder: int) -> bool:
        """Count ``holder`` under ``(kind, key)`` of ``scope`` unless ``limit`` sessions of
        every process are there already."""
        ...

    def release(self, scope: str, kind: str, key: str, holder: int) -> None:
        """``holder`` no longer holds a place under ``(kind, key)`` (if it held one)."""
        ...


class Quotas:
    """Open sessions by (kind, key): ``("address", "203.0.113.9")``, ``("user", "42")``.

    A session takes a place with :meth:`take` and gives back every place it holds when it
    closes (:meth:`release`, called by the session). The limits are this process's unless
    the quotas are shared (:meth:`share`): then a place within a limit is also counted across
    every process sharing them, and refused when they hold ``limit`` there together.
    """

    def __init__(self) -> None:
        self._open: dict[tuple[str, str], int] = {}
        self.scope = ""
        self.shared: SharedCounts | None = None

    def share(self, scope: str, shared: SharedCounts) -> None:
        """Count the places within a limit in ``shared`` too, under ``scope`` (a service's
        prefix)."""
        self.scope = scope
        self.shared = shared

    def take(self, session: Session, kind: str, key: str, limit: int) -> bool:
        """Count ``session`` under ``(kind, key)``; False (nothing counted) when ``limit``
        sessions are open there already (in this process, or in every process sharing the
        quotas). A limit of 0 is no limit."""
        place = (kind, key)
        count = self._open.get(place, 0)
        if limit and count >= limit:
            return False
        if limit and self.shared is not None:
            if not self.shared.take(self.scope, kind, key, limit, session.number):
                return False
        self._open[place] = count + 1
        session.quota_places.append(place)
        session.quotas = self
        return True

    def release(self, session: Session) -> None:
        for place in session.quota_places:
            count = self._open.get(place, 0) - 1
            if count > 0:
                self._open[place] = count
            else:
                self._open.pop(place, None)
        if self.shared is not None:
            for kind, key in session.quota_places:
                self.shared.release(self.scope, kind, key, session.number)
        session.quota_places = []

    def count(self, kind: str, key: str) -> int:
        return self._open.get((kind, key), 0)


class AddressConnections:
    """A worker's open connections by client address (an IPv6 one by its /64), at most
    ``limit`` from each (0: no limit), counted as they are accepted, before a request is read.

    Connections from ``exempt`` addresses (the trusted proxies) are not counted: a reverse
    proxy's connections carry many clients, whose own address (``X-Forwarded-For``) is known
    only once a request head has come, and the proxy limits its own clients.
    """

    def __init__(self, limit: int, exempt: Iterable[str] = ()) -> None:
        self.limit = limit
        self.exempt = frozenset(exempt)
        self.refused = 0
        """Connections refused so far."""
        self._open: dict[str, int] = {}

    def open(self, address: str) -> bool:
        """Count a connection accepted from ``address``; False (nothing counted, one more
        refusal) when ``limit`` are open from there already: the caller closes it."""
        if not self._counted(address):
            return True
        key = client_key(address)
        count = self._open.get(key, 0)
        if count >= self.limit:
            self.refused += 1
            return False
        self._open[key] = count + 1
        return True

    def close(self, address: str) -> None:
        """A connection :meth:`open` counted has closed."""
        if not self._counted(address):
            return
        key = client_key(address)
        count = self._open.get(key, 0) - 1
        if count > 0:
            self._open[key] = count
        else:
            self._open.pop(key, None)

    def count(self, address: str) -> int:
        return self._open.get(client_key(address), 0)

    def _counted(self, address: str) -> bool:
        """Whether connections from ``address`` count: not without a limit, nor from an
        exempt address (IPv4-mapped or not), nor without an address (a unix socket's, which
        only a proxy on the same machine can use)."""
        if not self.limit or not address:
            return False
        return address not in self.exempt and client_key(address) not in self.exempt
