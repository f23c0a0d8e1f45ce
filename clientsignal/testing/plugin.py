"""pytest fixtures for clientsignal: ``pytest_plugins = ["clientsignal.testing.plugin"]`` in
your top-level ``conftest.py``.

With pytest-django, ``signal_live_server`` asks for ``transactional_db`` (the server's thread
must see the test's data) and ``signal_communicator`` for nothing: ask for ``db`` yourself
when your connection reads the database (a logged-in user does).

Every test (unittest classes' too) gets a namespace of its own (``signal_namespace``, autouse):
what it publishes and keeps through the backends cannot meet another test's, another
process's or another run's on a shared Redis, and is deleted from Redis after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .communicator import SignalCommunicator
    from .live_server import SignalLiveServer


@pytest.fixture(autouse=True)
def signal_namespace() -> Iterator[str]:
    """Every test's backends in a namespace of their own (a random name after
    ``CHANNEL_PREFIX`` in each channel and key); what the test made in Redis is deleted after
    it. Its name."""
    from . import isolation

    yield isolation.begin()
    isolation.end()


@pytest.fixture
def signal_communicator() -> Iterator[Callable[..., SignalCommunicator]]:
    """Makes :class:`~clientsignal.testing.SignalCommunicator` objects (same arguments) and
    disconnects every one of them at the end of the test."""
    from .communicator import SignalCommunicator

    made: list[SignalCommunicator] = []

    def make(*args: Any, **kwargs: Any) -> SignalCommunicator:
        communicator = SignalCommunicator(*args, **kwargs)
        made.append(communicator)
        return communicator

    yield make
    for communicator in made:
        communicator.disconnect()


@pytest.fixture
def signal_live_server(request: pytest.FixtureRequest) -> Iterator[SignalLiveServer]:
    """The site and its clientsignal connections on a free port for this test
    (:class:`~clientsignal.testing.SignalLiveServer`); ``signal_live_server.url``."""
    from .live_server import SignalLiveServer

    if request.config.pluginmanager.hasplugin("django"):
        request.getfixturevalue("transactional_db")
    with SignalLiveServer() as server:
        yield server
