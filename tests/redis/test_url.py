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
