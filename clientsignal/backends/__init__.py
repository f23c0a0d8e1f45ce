"""Backends carry messages to connections: in-process by default, Redis across processes.

``get_backend(url)`` returns one backend per URL per process. Tests may give the backends a
namespace of their own (:func:`set_namespace`): then nothing they publish or keep meets what
another test, process or run of the tests does on the same Redis.
"""

from __future__ import annotations

from typing import Any

from .base import DEFAULT_PREFIX, BaseBackend, Envelope, LocalHub, delivers_to
from .memory import MemoryBackend

_backends: dict[str | None, BaseBackend] = {}
_namespace: str | None = None

MEMORY_SCHEMES = ("memory",)
REDIS_SCHEMES = (
    "redis",
    "rediss",
    "unix",
    "redis+sentinel",
    "rediss+sentinel",
    "redis+cluster",
    "rediss+cluster",
)


def is_redis_url(url: str | None) -> bool:
    return url is not None and url.split(":", 1)[0].lower() in REDIS_SCHEMES


def backend_class(url: str | None) -> type[BaseBackend]:
    scheme = url.split(":", 1)[0].lower() if url else "memory"
    if scheme in MEMORY_SCHEMES:
        return MemoryBackend
    if scheme in REDIS_SCHEMES:
        from .redis import RedisBackend, parse_url

        parse_url(url or "")  # ValueError with what is wrong, at start-up
        return RedisBackend
    raise ValueError(
        "unsupported CLIENTSIGNAL_BACKEND %r: use redis://, rediss://, unix://, "
        "redis+sentinel://, redis+cluster:// or leave it unset for the in-process backend" % url
    )


def get_backend(url: str | None = None, options: dict[str, Any] | None = None) -> BaseBackend:
    """The process's backend for ``url`` (None: the in-process one)."""
    backend = _backends.get(url)
    if backend is None:
        if _namespace is not None:
            options = dict(options or {})
            prefix = options.get("CHANNEL_PREFIX", DEFAULT_PREFIX)
            options["CHANNEL_PREFIX"] = "%s:%s" % (prefix, _namespace) if prefix else _namespace
        backend = backend_class(url)(url, options)
        _backends[url] = backend
    return backend


def all_backends() -> list[BaseBackend]:
    """Every backend this process has made (for stats)."""
    return list(_backends.values())


def reset_backends() -> None:
    """Close and forget every backend (tests)."""
    for backend in _backends.values():
        backend.close()
    _backends.clear()


def set_namespace(name: str | None) -> None:
    """Tests: every backend made from now on puts ``name`` after its ``CHANNEL_PREFIX`` in
    each channel and key (``clientsignal:<name>:...``); None: none. The backends made so far
    are closed and forgotten (:func:`reset_backends`)."""
    global _namespace
    reset_backends()
    _namespace = name


def namespace() -> str | None:
    """The namespace :func:`set_namespace` gave the backends, if any."""
    return _namespace


__all__ = [
    "BaseBackend",
    "Envelope",
    "LocalHub",
    "MemoryBackend",
    "all_backends",
    "backend_class",
    "delivers_to",
    "get_backend",
    "is_redis_url",
]
