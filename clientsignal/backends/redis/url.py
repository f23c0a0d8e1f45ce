"""What a Redis backend URL means: ``redis://``, ``rediss://`` (TLS), ``unix://``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from redis.connection import parse_url as _redis_parse_url

DEFAULT_URL = "redis://localhost:6379/0"
SCHEMES = ("redis", "rediss", "unix")


def parse_url(url: str) -> dict[str, Any]:
    """What a backend URL means: scheme, username, password, host, port, db, path, ssl.

    ``redis://[user]:[password]@[host]:[port]/[db]``, ``rediss://`` (TLS) and
    ``unix://[:password@]/path/to/socket?db=N``; host defaults to localhost, port to 6379,
    db to 0. Raises ``ValueError`` with what is wrong.
    """
    scheme, sep, _rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in SCHEMES:
        raise ValueError(
            "not a Redis URL: %r (expected redis://host:port/db, rediss://... or "
            "unix:///path/to/socket)" % url
        )
    try:
        parsed = _redis_parse_url(url)
    except ValueError as error:
        raise ValueError("invalid Redis URL %r: %s" % (url, error)) from None
    unix = scheme == "unix"
    if unix and not parsed.get("path"):
        raise ValueError("invalid Redis URL %r: a unix:// URL needs a socket path" % url)
    path = urlsplit(url).path
    if not unix and path not in ("", "/") and not path[1:].isdigit():
        raise ValueError("invalid Redis URL %r: the path is the db number (/0)" % url)
    db = parsed.get("db") or 0
    try:
        db = int(db)
    except ValueError:
        raise ValueError("invalid Redis URL %r: db %r is not a number" % (url, db)) from None
    return {
        "scheme": scheme,
        "username": parsed.get("username"),
        "password": parsed.get("password"),
        "host": None if unix else parsed.get("host") or "localhost",
        "port": None if unix else parsed.get("port") or 6379,
        "db": db,
        "path": parsed.get("path") if unix else None,
        "ssl": scheme == "rediss",
    }


def safe_url(url: str) -> str:
    """The URL without its password, for logs."""
    parsed = parse_url(url)
    if parsed["path"]:
        return "unix://%s?db=%d" % (parsed["path"], parsed["db"])
    return "%s://%s:%s/%d" % (parsed["scheme"], parsed["host"], parsed["port"], parsed["db"])
