"""A class that filters what it receives by event name (``accepts``), on both backends: the
backend must hand it the name of the event, whichever process published it."""

from __future__ import annotations

import pytest

from .conftest import by_worker, unique

pytestmark = pytest.mark.redis


def test_accepts_is_asked_about_the_event_by_its_name(project):
    # SelectiveConnection accepts "tock" and "news" only; TickConnection everything.
    selective, pids = project.open_clients(4, path="/selective", per_worker=2)
    everything, _ = project.open_clients(2)
    group = unique("group")
    members, _ = by_worker(selective)
    for client in members + everything:
        client.send("join", {"group": group})
        assert client.next_event()["event"] == "joined"
    first, end = unique("first"), unique("end")
    project.do("tick", origin=first)  # a broadcast it refuses
    project.do("tock", origin=first)  # a broadcast it accepts
    project.do("group", group=group, text="hi")  # a targeted event it accepts
    project.do("connection", id=selective[0].hello["id"], text="dm")  # one it refuses
    project.do("tock", origin=end)
    for client in selective:
        got = [client.next_event(), client.next_event()]
        if client in members:
            got.append(client.next_event())
        assert got == [
            {"event": "tock", "data": {"origin": first, "sender": None}},
            *([{"event": "news", "data": {"text": "hi"}}] if client in members else []),
            {"event": "tock", "data": {"origin": end, "sender": None}},
        ]
    for client in everything:
        assert [client.next_event()["event"] for _ in range(4)] == ["tick", "tock", "news", "tock"]
