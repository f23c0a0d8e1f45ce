"""The real sockjs-client from Node against the server, for the transports Node supports."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.node

SCRIPT = Path(__file__).resolve().parents[1] / "node" / "sockjs_client.js"
REPO = SCRIPT.parents[2]
NODE_TRANSPORTS = ["websocket", "xhr-streaming", "xhr-polling", "eventsource"]
MESSAGES = ["hello", "ü€ \u2028\u2029 😀", "x" * 100_000]


def run_client(url, transport, messages):
    result = subprocess.run(
        ["node", str(SCRIPT), url, transport, json.dumps(messages)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.rstrip("\n").split("\n")[-1])


@pytest.mark.parametrize("transport", NODE_TRANSPORTS)
def test_round_trip(echo_server, transport):
    result = run_client(echo_server.url + "/echo", transport, MESSAGES)
    assert result["received"] == MESSAGES
    assert result["transport"] == transport


@pytest.mark.parametrize("transport", NODE_TRANSPORTS)
def test_server_close(echo_server, transport):
    result = run_client(echo_server.url + "/close", transport, [])
    assert result["close"] == {"code": 3000, "reason": "Go away!"}
