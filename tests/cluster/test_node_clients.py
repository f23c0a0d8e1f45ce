"""Many real sockjs-client clients over four workers: no message lost, doubled or reordered."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.servers import GunicornServer

SCRIPT = Path(__file__).resolve().parents[1] / "node" / "many_clients.js"
pytestmark = [pytest.mark.node, pytest.mark.redis]


def run(url, transport, clients, messages):
    result = subprocess.run(
        ["node", str(SCRIPT), url, transport, str(clients), str(messages), "50000"],
        cwd=SCRIPT.parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().split("\n")[-1])


@pytest.mark.parametrize("deployment", ["echo_cluster", "echo_on_redis_cluster"])
def test_200_xhr_polling_clients_50_messages_each(request, deployment):
    """Four workers sharing the sessions through one Redis, then through a Redis Cluster: three
    polls and sends in four land on a worker that forwards them to the session's owner."""
    echo_cluster = request.getfixturevalue(deployment)
    summary = run(echo_cluster.url + "/echo", "xhr-polling", 200, 50)
    assert summary["closed"] == [], echo_cluster.log_text()[-3000:]
    assert (summary["complete"], summary["lost"], summary["duplicated"], summary["outOfOrder"]) == (
        200,
        0,
        0,
        0,
    )


@pytest.mark.parametrize("transport", ["xhr-streaming", "eventsource"])
def test_streaming_transports(echo_cluster, transport):
    summary = run(echo_cluster.url + "/echo", transport, 50, 50)
    assert summary["closed"] == [], echo_cluster.log_text()[-3000:]
    assert summary["complete"] == 50 and summary["lost"] == summary["duplicated"] == 0
    assert summary["outOfOrder"] == 0
    assert summary["transports"] == {transport: 50}


def test_without_shared_sessions_the_same_load_breaks():
    # The control: the same clients on four workers without Redis lose their sessions,
    # so the tests above do send requests of one session to several workers.
    with GunicornServer("clientsignal.echo:application", workers=4) as server:
        summary = run(server.url + "/echo", "xhr-polling", 50, 50)
    assert summary["complete"] < 50
    assert summary["closed"]
