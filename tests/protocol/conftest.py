"""The protocol tests run against one worker, and against four workers sharing sessions
through Redis (every HTTP request of a session may land on any of them and be forwarded to
the session's owner): the protocol must be the same."""

from __future__ import annotations

import pytest

SERVERS = {"w1": "one worker", "w4-redis": "four workers sharing sessions through Redis"}


@pytest.fixture(scope="session", params=list(SERVERS))
def echo_server(request, echo_server):
    """tests/conftest.py's ``echo_server`` (one worker), then ``echo_cluster``."""
    if request.param == "w1":
        return echo_server
    return request.getfixturevalue("echo_cluster")
