"""What a Redis backend URL means: ``redis://``, ``rediss://`` (TLS), ``unix://``, and a Redis
Cluster's ``redis+cluster://`` (``rediss+cluster://`` with TLS)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from redis.client import PubSub
from redis.connection import parse_url as _redis_parse_url

DEFAULT_URL = "redis://localhost:6379/0"
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
SCHEMES = ("redis", "rediss", "unix", *CLUSTER_SCHEMES)


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
            "not a Redis URL: %r (expected redis://host:port/db, rediss://..., "
            "unix:///path/to/socket or redis+cluster://host:port,host:port,...)" % url
        )
    if scheme in CLUSTER_SCHEMES:
        return parse_cluster_url(url)
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


def parse_cluster_url(url: str) -> dict[str, Any]:
    """What a Redis Cluster URL means: ``redis+cluster://[user:password@]host:port,host:port,...``
    (``rediss+cluster://`` with TLS), some of the cluster's nodes, from which the client learns
    the rest. Its ``nodes`` are ``(host, port)`` pairs (port 6379 if left out); a cluster has
    one database, so the path, if any, is ``/0``. Raises ``ValueError`` with what is wrong."""
    if not hasattr(PubSub, "ssubscribe"):
        raise ValueError("a Redis Cluster needs redis-py 5.0 or later (sharded pub/sub): %r" % url)
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    rest, _, query = rest.partition("?")
    rest, _, path = rest.partition("/")
    if query or path not in ("", "0"):
        raise ValueError(
            "invalid Redis Cluster URL %r: a cluster has one database (/0) and takes no "
            "options in the URL" % url
        )
    credentials, at, hosts = rest.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = credentials.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    nodes = []
    for node in hosts.split(","):
        host, colon, port = node.strip().rpartition(":")
        if not colon:
            host, port = port, "6379"
        host = host.strip("[]")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(
                "invalid Redis Cluster URL %r: %r is not host:port (expected "
                "redis+cluster://host:port,host:port,...)" % (url, node)
            )
        nodes.append((host, int(port)))
    return {
        "scheme": scheme,
        "username": username,
        "password": password,
        "host": nodes[0][0],
        "port": nodes[0][1],
        "db": 0,
        "path": None,
        "ssl": scheme == "rediss+cluster",
        "nodes": nodes,
    }


def safe_url(url: str) -> str:
    """The URL without its password, for logs."""
    parsed = parse_url(url)
    if "nodes" in parsed:
        return "%s://%s" % (parsed["scheme"], ",".join("%s:%d" % node for node in parsed["nodes"]))
    if parsed["path"]:
        return "unix://%s?db=%d" % (parsed["path"], parsed["db"])
    return "%s://%s:%s/%d" % (parsed["scheme"], parsed["host"], parsed["port"], parsed["db"])
