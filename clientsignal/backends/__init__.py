"""Backends carry messages to connections: in-process by default, Redis across processes.

``get_backend(url)`` returns one backend per URL per process.
"""

from __future__ import annotations

from typing import Any

from .base import BaseBackend, Envelope, LocalHub
from .memory import MemoryBackend

_backends: dict[str | None, BaseBackend] = {}

MEMORY_SCHEMES = ("memory",)
REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster")


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
        "redis+cluster:// or leave it unset for the in-process backend" % url
    )


def get_backend(url: str | None = None, options: dict[str, Any] | None = None) -> BaseBackend:
    """The process's backend for ``url`` (None: the in-process one)."""
    backend = _backends.get(url)
    if backend is None:
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


__all__ = [
    "BaseBackend",
    "Envelope",
    "LocalHub",
    "MemoryBackend",
    "all_backends",
    "backend_class",
    "get_backend",
    "is_redis_url",
]
