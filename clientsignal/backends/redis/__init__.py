"""The Redis backend: messages, history, presence, session ownership and stats across
processes and machines. See :mod:`.backend`."""

from .backend import COMMAND_TIMEOUT, RedisBackend
from .history import stream_keys
from .url import DEFAULT_URL, parse_url, safe_url

__all__ = ["COMMAND_TIMEOUT", "DEFAULT_URL", "RedisBackend", "parse_url", "safe_url", "stream_keys"]
