"""Payload schemas: the data a browser may send with a listened event, checked before any
receiver runs.

A schema is a dataclass or a ``TypedDict``, given to ``listen("order", order, schema=Order)``
or to ``Signal(schema=Order)``. Its fields are the keys the event accepts, with their types;
a field without a default (a ``TypedDict``'s required key) must be sent. Types: ``str``,
``int``, ``float`` (an integer is accepted and made a float), ``bool``, ``None``, ``Any``,
``X | None`` and other unions, ``Literal[...]``, ``list[X]``, ``tuple[X, ...]``,
``tuple[X, Y]``, ``dict[str, X]``, nested dataclasses and ``TypedDict``\\ s, ``Annotated[X,
...]``, and any other class, checked with ``isinstance`` (for what a
``CLIENTSIGNAL_JSON_OBJECT_HOOK`` decodes).

The receivers get the values as keyword arguments, one per field sent (a dataclass's missing
fields with their defaults), nested dataclasses as instances, nested ``TypedDict``\\ s as dicts:
a receiver keeps the signature of any Django receiver, ``def handle(sender, connection, items,
**kwargs)``, and the same receiver serves ``order.send(...)`` from server code. A dataclass's
``__post_init__`` that raises ``ValueError`` refuses the message with its text.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
import weakref
from collections.abc import Mapping
from typing import Any, Literal, Union

# What clientsignal itself passes to a listened signal: never a field.
RESERVED_KEYS = frozenset({"sender", "signal", "connection"})

_NONE = type(None)
# The registered schema of each (class, event), or None for "no schema": per class, so that a
# subclass that listens again without one has none (see :func:`lookup`).
_declared: weakref.WeakKeyDictionary[type, dict[str, Any]] = weakref.WeakKeyDictionary()


class InvalidPayload(ValueError):
    """A browser's data does not fit the event's schema: ``field`` names the bad field as a
    path (``items[1].qty``), ``expected`` the declared type when the value had the wrong
    type."""

    def __init__(self, field: str | None, problem: str, expected: str | None = None) -> None:
        super().__init__(problem if field is None else "field %r %s" % (field, problem))
        self.field = field
        self.problem = problem
        self.expected = expected

    def message(self, event: str) -> str:
        """What the browser and the log are told."""
        return "event %r: %s" % (event, self)

    def details(self) -> dict[str, str]:
        """The keys the ``error`` event (or the call's error) carries besides its message."""
        details = {}
        if self.field is not None:
            details["field"] = self.field
        if self.expected is not None:
            details["expected"] = self.expected
        return details


def register(cls: type, event: str, signal: Any, schema: Any = None) -> None:
    """Record ``cls.listen(event, signal, schema=...)``: ``schema``, else the signal's own
    (``Signal(schema=...)``), else none. An unusable schema raises ``TypeError`` here, when
    the module registering it is imported."""
    if schema is None:
        schema = getattr(signal, "schema", None)
    if schema is not None:
        check(schema)
    _declared.setdefault(cls, {})[event] = schema


def lookup(cls: type, event: str) -> Any:
    """The schema of ``event`` for a connection of ``cls``: the one given where the event was
    last registered in its ancestry, as ``cls.listeners()`` resolves the signal; or None."""
    for klass in cls.__mro__:
        own = _declared.get(klass)
        if own is not None and event in own:
            return own[event]
    return None


def undeclared(cls: Any) -> list[tuple[str, Any]]:
    """The events a connection class listens for whose data nothing declares: no schema, and
    a signal without ``providing_args`` (a plain Django ``Signal``). For the system check
    ``clientsignal.W002``."""
    return [
        (event, signal)
        for event, signal in sorted(cls.listeners().items(), key=lambda item: item[0])
        if lookup(cls, event) is None and getattr(signal, "providing_args", None) is None
    ]


def fields(schema: Any) -> frozenset[str]:
    """The keys a schema accepts (for ``Signal(schema=...)``'s ``providing_args``)."""
    if dataclasses.is_dataclass(schema):
        return frozenset(f.name for f in dataclasses.fields(schema) if f.init)
    return frozenset(_hints(schema))


def check(schema: Any) -> None:
    """Raise ``TypeError`` unless ``schema`` is a dataclass or ``TypedDict`` whose types are
    all supported and whose field names are not ``sender``, ``signal`` or ``connection``."""
    if not _is_object_schema(schema):
        raise TypeError("a schema is a dataclass or a TypedDict class, not %r" % (schema,))
    reserved = sorted(fields(schema) & RESERVED_KEYS)
    if reserved:
        raise TypeError(
            "%s declares %s: clientsignal passes these to receivers itself"
            % (schema.__qualname__, ", ".join(reserved))
        )
    _check_type(schema, set())


def validate(schema: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """The receivers' keyword arguments for ``data`` (a decoded JSON object), or
    :class:`InvalidPayload` naming the first bad field."""
    if dataclasses.is_dataclass(schema):
        instance = _dataclass(schema, data, "")
        return {f.name: getattr(instance, f.name) for f in dataclasses.fields(schema) if f.init}
    return _typed_dict(schema, data, "")


def describe(tp: Any) -> str:
    """A type as it is written in a schema: ``int``, ``list[Item]``, ``str | None``."""
    tp = _strip(tp)
    if tp is _NONE:
        return "None"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if _is_union(tp):
        return " | ".join(describe(arg) for arg in args)
    if origin is Literal:
        return "Literal[%s]" % ", ".join(repr(arg) for arg in args)
    if origin is not None and args:
        parts = ["..." if arg is Ellipsis else describe(arg) for arg in args]
        return "%s[%s]" % (getattr(origin, "__name__", str(origin)), ", ".join(parts))
    if tp is Any:
        return "Any"
    return getattr(tp, "__qualname__", str(tp))


# -- checking values --------------------------------------------------------------------------


def _convert(tp: Any, value: Any, path: str) -> Any:
    tp = _strip(tp)
    if tp is Any or tp is object:
        return value
    if _is_union(tp):
        return _union(tp, value, path)
    origin = typing.get_origin(tp)
    if origin is Literal:
        for choice in typing.get_args(tp):
            if type(value) is type(choice) and value == choice:
                return value
        raise _wrong(tp, value, path)
    if origin in (list, tuple, dict) or tp in (list, tuple, dict):
        return _container(tp, origin or tp, value, path)
    if _is_object_schema(tp):
        if isinstance(value, Mapping):
            if dataclasses.is_dataclass(tp):
                return _dataclass(tp, value, path)
            return _typed_dict(tp, value, path)
        if not issubclass(tp, dict) and isinstance(value, tp):
            return value  # a dataclass instance decoded by an object hook
        raise _wrong(tp, value, path)
    if tp is _NONE:
        if value is None:
            return None
        raise _wrong(tp, value, path)
    if tp is float and type(value) is int:
        return float(value)
    if tp is int and isinstance(value, bool):  # bool is an int to Python, never to JSON
        raise _wrong(tp, value, path)
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise _wrong(tp, value, path)


def _union(tp: Any, value: Any, path: str) -> Any:
    arms = typing.get_args(tp)
    if value is None and _NONE in arms:
        return None
    arms = tuple(arm for arm in arms if arm is not _NONE)
    if len(arms) == 1:  # X | None
        try:
            return _convert(arms[0], value, path)
        except InvalidPayload as invalid:
            if invalid.field != path or not invalid.problem.startswith("must be "):
                raise  # a nested field, or a list of the wrong length: X's own error
            raise _wrong(tp, value, path) from None
    deeper = []
    for arm in arms:
        try:
            return _convert(arm, value, path)
        except InvalidPayload as invalid:
            if invalid.field != path:
                deeper.append(invalid)
    if len(deeper) == 1:  # one arm had the right shape: its error says what is wrong inside
        raise deeper[0]
    raise _wrong(tp, value, path)


def _container(tp: Any, origin: type, value: Any, path: str) -> Any:
    args = typing.get_args(tp)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise _wrong(tp, value, path)
        item = args[1] if args else Any
        return {k: _convert(item, v, "%s.%s" % (path, k) if path else k) for k, v in value.items()}
    if not isinstance(value, list):
        raise _wrong(tp, value, path)
    if origin is list:
        item = args[0] if args else Any
        return [_convert(item, v, "%s[%d]" % (path, i)) for i, v in enumerate(value)]
    if not args or (len(args) == 2 and args[1] is Ellipsis):
        item = args[0] if args else Any
        return tuple(_convert(item, v, "%s[%d]" % (path, i)) for i, v in enumerate(value))
    if len(value) != len(args):
        raise InvalidPayload(
            path, "must have %d items, not %d" % (len(args), len(value)), describe(tp)
        )
    pairs = enumerate(zip(args, value, strict=True))
    return tuple(_convert(arg, v, "%s[%d]" % (path, i)) for i, (arg, v) in pairs)


def _dataclass(schema: Any, data: Mapping[str, Any], path: str) -> Any:
    hints = _hints(schema)
    accepted = {f.name: f for f in dataclasses.fields(schema) if f.init}
    values = _keys(hints, accepted, data, path, _required_fields(schema))
    try:
        return schema(**values)
    except ValueError as error:  # __post_init__ refusing a value: its message is the browser's
        if not path:
            raise InvalidPayload(None, str(error)) from None
        raise InvalidPayload(path, "is invalid: %s" % error) from None


def _typed_dict(schema: Any, data: Mapping[str, Any], path: str) -> dict[str, Any]:
    hints = _hints(schema)
    return _keys(hints, hints, data, path, schema.__required_keys__)


def _keys(
    hints: dict[str, Any],
    accepted: Mapping[str, Any],
    data: Mapping[str, Any],
    path: str,
    required: frozenset[str],
) -> dict[str, Any]:
    for key in data:
        if key not in accepted:
            raise InvalidPayload(_join(path, key), "is not accepted")
    for key in accepted:
        if key in required and key not in data:
            raise InvalidPayload(_join(path, key), "is required", describe(hints[key]))
    return {key: _convert(hints[key], value, _join(path, key)) for key, value in data.items()}


def _wrong(tp: Any, value: Any, path: str) -> InvalidPayload:
    got = "None" if value is None else type(value).__name__
    expected = describe(tp)
    return InvalidPayload(path, "must be %s, not %s" % (expected, got), expected)


def _join(path: str, key: str) -> str:
    return "%s.%s" % (path, key) if path else key


# -- checking schemas --------------------------------------------------------------------------


def _check_type(tp: Any, seen: set[int]) -> None:
    tp = _strip(tp)
    if tp is Any or tp is object or tp is _NONE or tp is Ellipsis:
        return
    origin = typing.get_origin(tp)
    if origin is Literal:
        return
    if _is_union(tp) or origin in (list, tuple):
        for arg in typing.get_args(tp):
            _check_type(arg, seen)
        return
    if origin is dict:
        args = typing.get_args(tp)
        if args and _strip(args[0]) is not str:
            raise TypeError("%s: JSON object keys are strings; use dict[str, ...]" % describe(tp))
        if args:
            _check_type(args[1], seen)
        return
    if _is_object_schema(tp):
        if id(tp) in seen:  # a recursive schema (a tree of comments)
            return
        seen.add(id(tp))
        for hint in _hints(tp).values():
            _check_type(hint, seen)
        return
    if origin is not None or not isinstance(tp, type):
        raise TypeError("%s: not a type a schema can check" % describe(tp))


def _is_object_schema(tp: Any) -> bool:
    return isinstance(tp, type) and (
        dataclasses.is_dataclass(tp) or (issubclass(tp, dict) and hasattr(tp, "__required_keys__"))
    )


def _required_fields(schema: Any) -> frozenset[str]:
    return frozenset(
        f.name
        for f in dataclasses.fields(schema)
        if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )


@functools.cache
def _hints(schema: Any) -> dict[str, Any]:
    """The schema's field types, string annotations resolved (``from __future__ import
    annotations``), ``Required``/``NotRequired`` and ``Annotated`` kept for :func:`_strip`."""
    try:
        hints = typing.get_type_hints(schema, include_extras=True)
    except NameError as error:
        raise TypeError(
            "%s: cannot resolve a field's type (%s)" % (schema.__qualname__, error)
        ) from None
    if dataclasses.is_dataclass(schema):
        return {f.name: hints[f.name] for f in dataclasses.fields(schema) if f.init}
    return hints


def _strip(tp: Any) -> Any:
    """``Annotated[X, ...]``, ``Required[X]``, ``NotRequired[X]``, ``ReadOnly[X]``: X."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin is not None and getattr(origin, "_name", None) in {
            "Required",
            "NotRequired",
            "ReadOnly",
        }:
            tp = typing.get_args(tp)[0]
        else:
            return tp


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)
