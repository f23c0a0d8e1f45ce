"""``Signal`` with ``providing_args``, which Django 4 removed."""

from __future__ import annotations

from collections.abc import Iterable

import django.dispatch


class Signal(django.dispatch.Signal):
    """A Django signal that names the keyword arguments it provides.

    ``providing_args`` documents the signal, as it did before Django 4, and is the whitelist of
    data keys a browser may send when the signal is registered with ``listen``; ``None`` accepts
    any key.
    """

    def __init__(self, providing_args: Iterable[str] | None = None, use_caching: bool = False):
        super().__init__(use_caching=use_caching)
        self.providing_args: frozenset[str] | None = (
            None if providing_args is None else frozenset(providing_args)
        )
