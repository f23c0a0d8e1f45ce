"""``Signal`` with ``providing_args``, which Django 4 removed, and a payload ``schema``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import django.dispatch

from . import schemas


class Signal(django.dispatch.Signal):
    """A Django signal that names the keyword arguments it provides.

    ``providing_args`` documents the signal, as it did before Django 4, and is the whitelist of
    data keys a browser may send when the signal is registered with ``listen``; ``None`` accepts
    any key.

    ``schema`` (a dataclass or ``TypedDict``) declares the data with types and required keys,
    for every ``listen`` of the signal that gives no schema of its own (see
    :mod:`clientsignal.schemas`); ``providing_args`` is then its fields.
    """

    def __init__(
        self,
        providing_args: Iterable[str] | None = None,
        use_caching: bool = False,
        *,
        schema: Any = None,
    ):
        super().__init__(use_caching=use_caching)
        self.schema = schema
        if schema is not None:
            schemas.check(schema)
            if providing_args is not None:
                raise TypeError("give providing_args or schema, not both")
            providing_args = schemas.fields(schema)
        self.providing_args: frozenset[str] | None = (
            None if providing_args is None else frozenset(providing_args)
        )
