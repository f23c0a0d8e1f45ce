"""What a Redis backend URL means: ``redis://``, ``rediss://`` (TLS), ``unix://``, a Sentinel
deployment, ``redis+sentinel://`` (``rediss+sentinel://`` with TLS), and a Redis Cluster's
``redis+cluster://`` (``rediss+cluster://`` with TLS)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from redis.client import PubSub
from redis.connection import parse_url as _redis_parse_url

DEFAULT_URL = "redis://localhost:6379/0"
SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
SCHEMES = ("redis", "rediss", "unix", *SENTINEL_SCHEMES, *CLUSTER_SCHEMES)
SENTINEL_PORT = 26379
SENTINEL_OPTIONS = ("sentinel_username", "sentinel_password", "ssl_ca_certs", "ssl_cert_reqs")
"""The query options of a Sentinel URL (see :func:`parse_sentinel_url`)."""
CERT_REQS = ("none", "optional", "required")


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
            "unix:///path/to/socket, redis+sentinel://host:26379,.../service/db or "
            "redis+cluster://host:port,host:port,...)" % url
        )
    if scheme in SENTINEL_SCHEMES:
        return parse_sentinel_url(url)
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
        "sentinels": None,
        "service": None,
    }


def parse_sentinel_url(url: str) -> dict[str, Any]:
    """What a Sentinel URL means: the keys of :func:`parse_url` (host and port None), and
    ``sentinels`` (a list of ``(host, port)``), ``service`` (the name the sentinels monitor
    the master by), ``options`` (the query options).

    ``redis+sentinel://[user]:[password]@host1:26379,host2:26379/service/db?options``: the
    user and password are the master's (and its replicas'); each sentinel's port defaults to
    26379, db to 0. ``rediss+sentinel://`` speaks TLS to the sentinels and to the master.
    Options: ``sentinel_username`` and ``sentinel_password`` (the sentinels' own auth, when
    they have one: ``requirepass`` in sentinel.conf), ``ssl_ca_certs`` (a CA file) and
    ``ssl_cert_reqs`` (``none``, ``optional``, ``required``: the default) with TLS. Raises
    ``ValueError`` with what is wrong.
    """
    # Split by hand: urlsplit refuses a host list with a bracketed IPv6 address in it on some
    # Pythons (Debian's 3.11 checks brackets in the whole netloc).
    scheme, _sep, rest = url.partition("://")
    scheme = scheme.lower()
    rest, _mark, query = rest.partition("?")
    rest = rest.partition("#")[0]
    netloc, _slash, path_text = rest.partition("/")
    userinfo, _at, hosts = netloc.rpartition("@")
    username, colon, password = userinfo.partition(":")
    sentinels = []
    for host in hosts.split(","):
        sentinels.append(_sentinel_address(url, host))
    path = path_text.strip("/").split("/") if path_text.strip("/") else []
    if not path or len(path) > 2:
        raise ValueError(
            "invalid Redis URL %r: the path is the service name the sentinels monitor, and "
            "the db number (/mymaster/0)" % url
        )
    if len(path) == 2 and not path[1].isdigit():
        raise ValueError("invalid Redis URL %r: db %r is not a number" % (url, path[1]))
    options = {}
    for name, values in parse_qs(query, keep_blank_values=True).items():
        if name not in SENTINEL_OPTIONS:
            raise ValueError(
                "invalid Redis URL %r: unknown option %r (known: %s)"
                % (url, name, ", ".join(SENTINEL_OPTIONS))
            )
        options[name] = values[-1]
    tls = scheme == "rediss+sentinel"
    if not tls and {"ssl_ca_certs", "ssl_cert_reqs"} & set(options):
        raise ValueError("invalid Redis URL %r: the ssl_ options need rediss+sentinel://" % url)
    if options.get("ssl_cert_reqs", "required") not in CERT_REQS:
        raise ValueError(
            "invalid Redis URL %r: ssl_cert_reqs is one of %s" % (url, ", ".join(CERT_REQS))
        )
    return {
        "scheme": scheme,
        "username": unquote(username) or None,
        "password": unquote(password) if colon else None,
        "host": None,
        "port": None,
        "db": int(path[1]) if len(path) == 2 else 0,
        "path": None,
        "ssl": tls,
        "sentinels": sentinels,
        "service": unquote(path[0]),
        "options": options,
    }


def _sentinel_address(url: str, host: str) -> tuple[str, int]:
    """``host[:port]`` or ``[v6]:port`` of one sentinel."""
    if host.startswith("["):
        name, _bracket, rest = host[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else rest
    else:
        name, _colon, port = host.partition(":")
    if not name or (port and not port.isdigit()) or ":" in port:
        raise ValueError("invalid Redis URL %r: %r is not a sentinel's host:port" % (url, host))
    return name, int(port) if port else SENTINEL_PORT


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
        "sentinels": None,
        "service": None,
        "nodes": nodes,
    }


def safe_url(url: str) -> str:
    """The URL without its password, for logs."""
    parsed = parse_url(url)
    if "nodes" in parsed:
        return "%s://%s" % (parsed["scheme"], ",".join("%s:%d" % node for node in parsed["nodes"]))
    if parsed["sentinels"]:
        return "%s://%s/%s/%d" % (
            parsed["scheme"],
            ",".join(
                ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)
                for host, port in parsed["sentinels"]
            ),
            parsed["service"],
            parsed["db"],
        )
    if parsed["path"]:
        return "unix://%s?db=%d" % (parsed["path"], parsed["db"])
    return "%s://%s:%s/%d" % (parsed["scheme"], parsed["host"], parsed["port"], parsed["db"])
