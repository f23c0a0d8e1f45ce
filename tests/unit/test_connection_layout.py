"""The connection package: its public names where they always were, and no import circle."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import clientsignal

PACKAGE = Path(clientsignal.__file__).parent


def test_the_public_names_import_from_where_they_always_did():
    from clientsignal import reauthentication
    from clientsignal.connection import (
        FORBIDDEN,
        BaseSignalConnection,
        RedisSignalConnection,
        SignalConnection,
        StatsConnection,
        broadcast,
        listen,
        presence,
        send_to_connection,
        send_to_group,
        send_to_user,
    )
    from clientsignal.recovery import MAX_STREAMS, RESUME_SALT, claimed_id, requested

    assert callable(reauthentication.sweep) and reauthentication.RETRY_AFTER > 0
    assert FORBIDDEN == (4403, "Forbidden") and MAX_STREAMS and RESUME_SALT
    assert callable(claimed_id) and callable(requested)
    functions = (listen, broadcast, presence, send_to_group, send_to_user, send_to_connection)
    assert all(getattr(clientsignal, f.__name__) is f for f in functions)
    for cls in (BaseSignalConnection, SignalConnection, RedisSignalConnection, StatsConnection):
        assert importlib.import_module("clientsignal.connection").__dict__[cls.__name__] is cls
    # Channels are named by the classes' public home, as before the package: the same
    # channels in every process, whichever version it runs.
    assert SignalConnection.channel_name() == "clientsignal.connection.SignalConnection"


def test_the_old_name_of_send_to_all_is_kept():
    from clientsignal.connection import BaseSignalConnection

    assert BaseSignalConnection.publish == BaseSignalConnection.send_to_all


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    base = PACKAGE.parent / name.replace(".", "/")
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _imports(path: Path) -> set[str]:
    """The clientsignal modules ``path`` imports anywhere: at load, in functions, and for
    the type checker (``if TYPE_CHECKING:``): a circle is one for readers too."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("clientsignal"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if not module.startswith("clientsignal"):
                continue
            for alias in node.names:
                full = "%s.%s" % (module, alias.name)
                found.add(full if _is_module(full) else module)
    found.discard(name)
    return found


# Where the connection side's imports stop: no circle passes through these.
CONNECTION_SIDE = (
    "clientsignal.connection",
    "clientsignal.publishing",
    "clientsignal.recovery",
    "clientsignal.reauthentication",
    "clientsignal.logout",
)


def test_the_connection_side_imports_in_no_circle():
    graph = {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}
    circles = []

    def walk(module: str, path: list[str], done: set[str]) -> None:
        for imported in sorted(graph.get(module, ())):
            if imported in path:
                circles.append(path[path.index(imported) :] + [imported])
            elif imported not in done:
                walk(imported, [*path, imported], done)
        done.add(module)

    done: set[str] = set()
    for module in sorted(graph):
        walk(module, [module], done)
    assert [c for c in circles if any(m.startswith(CONNECTION_SIDE) for m in c)] == []
