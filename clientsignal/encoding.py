"""JSON for signal events: encoded once per signal, decoded with an object hook.

ujson is the fast path for payloads of plain JSON types; anything else goes through the
configured encoder class (``SignalEncoder`` by default).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

import ujson
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model

ObjectHook = Callable[[dict[str, Any]], Any]

_PLAIN_SCALARS = (str, int, float, bool, type(None))

# Where a decoded number may be NaN or infinite: NaN and Infinity literals, an exponent, or
# more digits than a finite float has. Only then is the decoded value searched for one.
_MAYBE_NOT_FINITE = re.compile(r"\d[eE]|NaN|Infinity|\d{300}")


class EncodesAsUser:
    """Marks objects that ``SignalEncoder`` encodes as their ``user`` (connections)."""

    __slots__ = ()

    user: Any


class SignalEncoder(DjangoJSONEncoder):
    """Encodes what signals usually carry: users (``{"id", "username"}``, ``null`` when
    anonymous), other models by primary key, connections as their user, and everything
    ``DjangoJSONEncoder`` knows (dates, times, durations, ``Decimal``, ``UUID``, lazy strings)."""

    def default(self, o: Any) -> Any:
        user = o.user if isinstance(o, EncodesAsUser) else None
        if user is not None:
            o = user
        if getattr(o, "is_anonymous", False) is True and not isinstance(o, Model):
            return None
        if isinstance(o, Model):
            if hasattr(o, "get_username") and hasattr(o, "is_authenticated"):
                return {"id": o.pk, "username": o.get_username()}
            return o.pk
        if isinstance(o, (set, frozenset)):
            return list(o)
        return super().default(o)


def signal_object_hook(obj: dict[str, Any]) -> Any:
    """The default object hook: objects stay plain dicts. Point
    ``CLIENTSIGNAL_JSON_OBJECT_HOOK`` at your own to decode richer types."""
    return obj


def dumps(value: Any, encoder: type[json.JSONEncoder] = SignalEncoder) -> str:
    """Compact JSON text; ujson when ``value`` holds only plain JSON types. NaN and the
    infinities are not JSON: they raise ``ValueError``."""
    if _is_plain(value):
        return ujson.dumps(value, ensure_ascii=False, escape_forward_slashes=False)
    return json.dumps(
        value, cls=encoder, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )


def loads(text: str, object_hook: ObjectHook | None = None) -> Any:
    """Decode client JSON; ``ValueError`` for anything that is not JSON, NaN and infinite
    numbers (``1e999``) included."""
    if object_hook is None or object_hook is signal_object_hook:
        value = ujson.loads(text)
    else:
        value = json.loads(text, object_hook=object_hook)
    if _MAYBE_NOT_FINITE.search(text) and not _finite(value):
        raise ValueError("NaN or an infinite number is not JSON")
    return value


def _finite(value: Any) -> bool:
    """No NaN or infinity anywhere in a decoded value, however deep."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return False
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return True


def _is_plain(value: Any, depth: int = 0) -> bool:
    if isinstance(value, _PLAIN_SCALARS):
        # ujson writes NaN and Infinity, which are not JSON; the json module decides.
        return not isinstance(value, float) or value - value == 0
    if depth > 32:
        return False
    if type(value) is dict:
        return all(type(k) is str and _is_plain(v, depth + 1) for k, v in value.items())
    if type(value) in (list, tuple):
        return all(_is_plain(v, depth + 1) for v in value)
    return False
