"""Public names imported on first use: what a package's ``__init__`` shows, without importing
Django (or anything heavy) when the package itself is imported."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any


def exports(package: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``names[name]`` (a module
    relative to the package) on first access and keeps the value."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError("module %r has no attribute %r" % (package, name))
        value = getattr(import_module(module, package), name)
        setattr(import_module(package), name, value)
        return value

    return __getattr__
