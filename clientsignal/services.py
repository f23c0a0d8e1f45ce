"""The SockJS services a middleware serves, one per connection prefix, and which one a path
belongs to (Django's ``RoutePattern`` for prefixes with converters, ``/rooms/<int:room_id>``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .sockjs_protocol import SockJSOptions, SockJSServer
from .sockjs_protocol.multiplex import Endpoint, Multiplexer


@dataclass(frozen=True)
class Match:
    """Where a path leads: the service mounted on ``mount`` (as configured), the prefix as the
    path names it (``/rooms/7``), the rest of the path, and what the prefix captured."""

    mount: str
    prefix: str
    path: str
    url_kwargs: dict[str, Any]
    server: SockJSServer


class Services:
    """The services of one middleware, longest prefix first (so ``/a/b`` wins over ``/a``).

    ``connections`` maps prefixes to connection classes or their dotted paths; ``options``
    apply to every service, a class's ``sockjs_options`` override them for its prefix;
    ``multiplex`` is the prefix of the multiplexed service (None: none).
    """

    def __init__(
        self,
        connections: Mapping[str, Any],
        *,
        options: Mapping[str, Any] | None = None,
        multiplex: str | None = None,
    ) -> None:
        base = SockJSOptions().updated(dict(options or {}))
        mounted: list[tuple[str, SockJSServer]] = []
        for prefix, spec in connections.items():
            cls = _import(spec) if isinstance(spec, str) else spec
            service_options = base.updated(dict(getattr(cls, "sockjs_options", {}) or {}))
            mounted.append((prefix.rstrip("/"), SockJSServer(cls, service_options)))
        self.multiplex = multiplex.rstrip("/") if multiplex else None
        if self.multiplex is not None:
            mounted.append((self.multiplex, SockJSServer(Multiplexer(self.endpoint), base)))
        self._mounted = sorted(mounted, key=lambda item: len(item[0]), reverse=True)
        self._patterns = {prefix: _route_pattern(prefix) for prefix, _ in self._mounted}

    @classmethod
    def from_settings(cls) -> Services:
        """The services ``CLIENTSIGNAL_CONNECTIONS``, ``CLIENTSIGNAL_SOCKJS_OPTIONS`` and
        ``CLIENTSIGNAL_MULTIPLEX`` describe."""
        from . import conf

        return cls(conf.connections(), options=conf.sockjs_options(), multiplex=conf.multiplex())

    def __iter__(self) -> Iterator[tuple[str, SockJSServer]]:
        """(mount prefix, service) pairs."""
        return iter(self._mounted)

    def servers(self) -> list[SockJSServer]:
        return [server for _prefix, server in self._mounted]

    def match(self, path: str) -> Match | None:
        """The service of ``path``, or None when no prefix matches it."""
        for mount, server in self._mounted:
            pattern = self._patterns[mount]
            if pattern is None:
                if path == mount or path.startswith(mount + "/"):
                    return Match(mount, mount, path[len(mount) :], {}, server)
                continue
            found = pattern.match(path[1:])
            if found is not None and (found[0] == "" or found[0].startswith("/")):
                rest = found[0]
                return Match(mount, path[: len(path) - len(rest)], rest, dict(found[2]), server)
        return None

    def endpoint(self, path: str) -> Endpoint | None:
        """The endpoint a multiplexed channel to ``path`` opens: a connection prefix exactly
        (not a URL under it, and not the multiplexed service itself)."""
        found = self.match(path)
        if found is None or found.mount == self.multiplex or found.path not in ("", "/"):
            return None
        return Endpoint(found.server, found.prefix, found.url_kwargs)

    def server_for(self, mount: str) -> SockJSServer:
        """The service mounted on ``mount``."""
        for prefix, server in self._mounted:
            if prefix == mount.rstrip("/"):
                return server
        raise KeyError(mount)

    def max_sessions(self) -> int:
        """The largest ``max_sessions`` of any service: the open sessions a process must
        hold for one service to reach its limit."""
        return max((server.options.max_sessions for _p, server in self._mounted), default=0)


def _route_pattern(prefix: str) -> Any:
    """A Django ``RoutePattern`` for a prefix with converters, else None."""
    if "<" not in prefix:
        return None
    from django.urls.resolvers import RoutePattern

    return RoutePattern(prefix.lstrip("/"), is_endpoint=False)


def _import(path: str) -> Any:
    from django.utils.module_loading import import_string

    return import_string(path)
