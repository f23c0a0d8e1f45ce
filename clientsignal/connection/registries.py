"""Each connection class's registries: the events its clients may fire (``listen``) and the
signals it broadcasts (``broadcast``). A subclass sees what its parents registered; what it
registers itself never reaches its parents or siblings."""

from __future__ import annotations

import django.dispatch

LISTEN = "_clientsignal_listen"
BROADCAST = "_clientsignal_broadcast"
_CARRIES = "_clientsignal_carries"  # the kinds of broadcast registered on a class itself

# Each class's registries merged with its parents', by (class, registry).
_merged: dict[tuple[type, str], dict[str, django.dispatch.Signal]] = {}


def register(cls: type, registry: str, name: str, signal: django.dispatch.Signal) -> None:
    """Register ``signal`` as ``name`` in ``cls``'s own ``registry``."""
    _merged.clear()  # every class's merged view may change
    if registry not in cls.__dict__:
        setattr(cls, registry, {})
    cls.__dict__[registry][name] = signal


def merged(cls: type, registry: str) -> dict[str, django.dispatch.Signal]:
    """``cls``'s ``registry`` with its parents'. Looked up for every client message: merged
    once per class until the next registration."""
    found = _merged.get((cls, registry))
    if found is None:
        found = {}
        for klass in reversed(cls.__mro__):
            found.update(klass.__dict__.get(registry, {}))
        _merged[(cls, registry)] = found
    return found


def note_carries(cls: type, kind: str) -> None:
    """A broadcast of ``kind`` (``"broadcast"``, ``"room"``) is registered on ``cls``."""
    if _CARRIES not in cls.__dict__:
        setattr(cls, _CARRIES, set())
    cls.__dict__[_CARRIES].add(kind)


def carries(cls: type, kind: str) -> bool:
    """Whether a broadcast of ``kind`` is registered on ``cls`` itself (not a parent)."""
    return kind in cls.__dict__.get(_CARRIES, ())
