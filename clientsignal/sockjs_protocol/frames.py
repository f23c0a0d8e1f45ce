"""SockJS frames: ``o``, ``h``, ``a[...]`` and ``c[code,"reason"]``.

Messages are encoded once into JSON string literals (:func:`encode_message`); a message frame
joins already-encoded literals, so one broadcast is never encoded again per session.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from .exceptions import BrokenJSON, PayloadExpected

T = TypeVar("T")

OPEN = "o"
HEARTBEAT = "h"

# Characters a SockJS server must send as ``\uXXXX`` escapes: browsers mangle them on some
# transports (protocol 0.3.3, "JSON Unicode Encoding"). Lone surrogates are escaped too, since
# they cannot be written as UTF-8. json.dumps already escapes U+0000-U+001F, '"' and '\'.
_ESCAPABLE = re.compile("[\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return "\\u%04x" % ord(match.group())


def escape_json(text: str) -> str:
    """Escape the characters the protocol forbids verbatim in already-encoded JSON text."""
    if _ESCAPABLE.search(text) is None:
        return text
    return _ESCAPABLE.sub(_escape, text)


def encode_message(message: str) -> str:
    """Encode one message as the JSON string literal that goes inside ``a[...]``."""
    return escape_json(json.dumps(message, ensure_ascii=False))


def encode_json(value: object) -> str:
    """Compact JSON with the protocol's escaping (``{"a":1}``, no spaces)."""
    return escape_json(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def message_frame(encoded: Iterable[str]) -> str:
    """``a[...]`` from messages already encoded with :func:`encode_message`."""
    return "a[" + ",".join(encoded) + "]"


class RecentByIdentity(Generic[T]):
    """``build(key)`` for a str ``key``, built once for the same str object while it is among
    the last ``kept`` keys: a broadcast hands every session the same object."""

    def __init__(self, build: Callable[[str], T], kept: int) -> None:
        self.build = build
        self.kept = kept
        self._recent: dict[int, tuple[str, T]] = {}

    def __call__(self, key: str) -> T:
        hit = self._recent.get(id(key))
        if hit is not None and hit[0] is key:
            return hit[1]
        value = self.build(key)
        if len(self._recent) >= self.kept:
            self._recent.clear()
        self._recent[id(key)] = (key, value)
        return value


single_message_frame = RecentByIdentity(lambda encoded: "a[" + encoded + "]", 256)
"""``a[encoded]``: a broadcast's literal is one str object queued on every session, so its
frame is built once and is one str object too (which lets the I/O layer build its websocket
frame bytes once as well)."""


def close_frame(code: int, reason: str) -> str:
    """``c[code,"reason"]``."""
    return "c[%d,%s]" % (code, encode_message(reason))


def decode_messages(payload: bytes | str, *, allow_bare_string: bool = False) -> list[str]:
    """Decode a client payload: a JSON array of strings (or one string, where allowed).

    Raises :class:`PayloadExpected` for an empty payload and :class:`BrokenJSON` for anything
    that is not valid JSON of that shape.
    """
    if not payload:
        raise PayloadExpected()
    try:
        if isinstance(payload, bytes):
            payload = payload.decode("utf-8")
        value = json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BrokenJSON() from None
    if isinstance(value, str) and allow_bare_string:
        return [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BrokenJSON()
    return value
