"""Every form of CLIENTSIGNAL_BACKEND docs/howto/redis.md shows."""

import pytest

from clientsignal.backends import MemoryBackend, backend_class
from clientsignal.backends.redis import RedisBackend, parse_url


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
