"""Every form of CLIENTSIGNAL_BACKEND docs/howto/redis.md shows."""

import pytest

from clientsignal.backends import MemoryBackend, backend_class
from clientsignal.backends.redis import RedisBackend, parse_url, safe_url


@pytest.mark.parametrize(
    "url,expected",
    [
        ("redis://localhost:6379/0", dict(host="localhost", port=6379, db=0)),
        ("redis://user:secret@example.org:6380/2",
         dict(username="user", password="secret", host="example.org", port=6380, db=2)),
        ("redis://:secret@example.org",
         dict(password="secret", host="example.org", port=6379, db=0)),
        ("redis://example.org/5", dict(host="example.org", port=6379, db=5)),
        ("redis://", dict(host="localhost", port=6379, db=0)),
        ("rediss://cache:6390/1", dict(host="cache", port=6390, db=1, ssl=True)),
        ("unix:///run/redis.sock?db=3", dict(path="/run/redis.sock", db=3, host=None, port=None)),
        ("unix://:pw@/run/redis.sock", dict(path="/run/redis.sock", password="pw", db=0)),
        ("redis+cluster://h1:7000,h2:7001,10.0.0.3:7002",
         dict(host="h1", port=7000, db=0, nodes=[("h1", 7000), ("h2", 7001), ("10.0.0.3", 7002)])),
        ("rediss+cluster://user:s%40cret@h1:7000,h2/0",
         dict(username="user", password="s@cret", nodes=[("h1", 7000), ("h2", 6379)], ssl=True)),
        ("redis+cluster://:pw@[::1]:7000", dict(password="pw", nodes=[("::1", 7000)])),
    ],
)  # fmt: skip
def test_parse_url(url, expected):
    parsed = parse_url(url)
    for key, value in expected.items():
        assert parsed[key] == value, key
    assert parsed["ssl"] is expected.get("ssl", False)


def test_backend_selection():
    assert backend_class(None) is MemoryBackend
    assert backend_class("redis://h/0") is RedisBackend
    assert backend_class("rediss://h/0") is RedisBackend
    assert backend_class("unix:///tmp/r.sock") is RedisBackend
    with pytest.raises(ValueError):
        backend_class("amqp://h")
    with pytest.raises(ValueError):
        parse_url("http://h")
    assert backend_class("redis+cluster://h1:7000,h2:7001") is RedisBackend
    assert backend_class("rediss+cluster://h1:7000") is RedisBackend


@pytest.mark.parametrize(
    "url",
    ["redis+cluster://h1:7000/2", "redis+cluster://h1:7000?db=1", "redis+cluster://h1:x",
     "redis+cluster://h1:7000,,h2:7001", "redis+cluster://"],
)  # fmt: skip
def test_cluster_url_errors(url):
    with pytest.raises(ValueError, match="Redis Cluster URL"):
        parse_url(url)


def test_cluster_names_share_a_slot_per_channel():
    """On a cluster each channel's keys and its bucket's shard channel have one hash tag, and
    the tags spread evenly over the slots; one server's names are as they were."""
    from redis.crc import key_slot

    from clientsignal.backends.redis.cluster import TAGS, ShardedRouting
    from clientsignal.backends.redis.history import stream_keys

    routing = ShardedRouting()
    channel = routing.channel("site1", "group:room 1")
    assert channel.startswith("site1:{") and channel.endswith("}:group:room 1")
    wired, header = routing.wire(channel)
    slots = {key_slot(k.encode()) for k in (*stream_keys(channel), wired)}
    assert len(slots) == 1
    assert routing.received(wired.encode(), header.encode() + b"\nbody") == (channel, b"\nbody")
    assert routing.beside(channel, "site1:{9}:history|life") == wired + ":history|life"
    assert sorted(key_slot(tag.encode()) * len(TAGS) // 16384 for tag in TAGS) == list(
        range(len(TAGS))
    )
    assert RedisBackend("redis://h").target_channel("group", "g") == "clientsignal:group:g"


def test_channel_prefix():
    assert RedisBackend("redis://h", {"CHANNEL_PREFIX": "site1"}).channel("a.B") == "site1:a.B"
    assert RedisBackend("redis://h").channel("a.B") == "clientsignal:a.B"


@pytest.mark.parametrize(
    "url,expected",
    [
        ("redis+sentinel://h1:26379,h2:26380/mymaster/2",
         dict(sentinels=[("h1", 26379), ("h2", 26380)], service="mymaster", db=2)),
        ("redis+sentinel://h1,[::1]/mymaster",
         dict(sentinels=[("h1", 26379), ("::1", 26379)], service="mymaster", db=0)),
        ("redis+sentinel://:p%40ss@h1/m/0?sentinel_password=s",
         dict(password="p@ss", options={"sentinel_password": "s"}, service="m")),
        ("rediss+sentinel://u:p@h1/m?ssl_cert_reqs=none&sentinel_username=su",
         dict(username="u", password="p", ssl=True,
              options={"ssl_cert_reqs": "none", "sentinel_username": "su"})),
    ],
)  # fmt: skip
def test_parse_sentinel_url(url, expected):
    parsed = parse_url(url)
    for key, value in expected.items():
        assert parsed[key] == value, key
    assert parsed["ssl"] is expected.get("ssl", False)
    assert parsed["host"] is None
    assert backend_class(url) is RedisBackend


@pytest.mark.parametrize(
    "url,says",
    [
        ("redis+sentinel://h1:26379", "the service name"),
        ("redis+sentinel://h1/m/0/1", "the service name"),
        ("redis+sentinel://h1/m/x", "is not a number"),
        ("redis+sentinel://h1:port/m", "is not a sentinel's host:port"),
        ("redis+sentinel://h1,/m", "is not a sentinel's host:port"),
        ("redis+sentinel://h1/m?password=x", "unknown option 'password'"),
        ("redis+sentinel://h1/m?ssl_cert_reqs=none", "need rediss+sentinel://"),
        ("rediss+sentinel://h1/m?ssl_cert_reqs=maybe", "ssl_cert_reqs is one of"),
    ],
)
def test_a_wrong_sentinel_url_says_what_is_wrong(url, says):
    with pytest.raises(ValueError, match=says.replace("+", r"\+")):
        parse_url(url)


def test_a_sentinel_url_is_logged_without_passwords():
    url = "redis+sentinel://u:secret@h1:26379,h2:26380/mymaster/1?sentinel_password=other"
    assert safe_url(url) == "redis+sentinel://h1:26379,h2:26380/mymaster/1"
    described = RedisBackend(url).describe()
    assert described == {
        "kind": "sentinel",
        "service": "mymaster",
        "sentinels": ["h1:26379", "h2:26380"],
        "master": None,  # not asked yet: nothing connects before it is used
        "failovers": 0,
    }
    assert "secret" not in str(described) and "other" not in str(described)
