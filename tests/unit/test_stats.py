"""Counters kept by the core, and how snapshots of processes are summed."""

from clientsignal import stats
from clientsignal.echo import EchoConnection
from clientsignal.sockjs_protocol import Request, SockJSServer


def test_core_counts_sessions_and_messages():
    server = SockJSServer(EchoConnection)
    client = {"cookie": "sockjs_key=k"}
    server.handle(Request("POST", "/0/s/xhr", headers=client), 0).receiver.pull(0)
    server.handle(Request("POST", "/0/s/xhr_send", headers=client, body=b'["ab","c"]'), 0)
    server.open_websocket(Request("GET", "/0/w/websocket"), 0, raw=False)
    counted = server.stats()
    assert counted["open"] == {"xhr-polling": 1, "websocket": 1}
    assert (counted["sessions_opened"], counted["messages_in"], counted["bytes_in"]) == (2, 2, 3)
    assert counted["messages_out"] == 2  # echoed
    server.tick(100)
    assert server.stats()["sessions_closed"] == 1


def test_snapshots_are_summed():
    snap = {
        "pid": 1,
        "services": {"/a": {"class": "A", "open": {"xhr": 2}, "messages_in": 5, "errors": 0}},
        "backends": {"connected": {}},
        "topology": [{"kind": "sentinel", "master": "10.0.0.2:6379", "failovers": 1}],
        "databases": {"default": {"size": 20, "in_use": 3, "open": 5, "waited": 7, "timeouts": 0}},
        "connections": {"refused_per_address": 3, "header_timeouts": 1},
    }
    other = {**snap, "services": {"/a": {"class": "A", "open": {"xhr": 1, "websocket": 4},
                                         "messages_in": 1, "errors": 2}},
             "topology": [{"kind": "sentinel", "master": "10.0.0.1:6379",
                           "failovers": 0}]}  # fmt: skip
    del other["databases"]  # a process of an earlier version, or one without a bound
    totals = stats.summed([snap, other])
    assert totals == {
        "processes": 2,
        "services": {"/a": {"class": "A", "open": {"xhr": 3, "websocket": 4},
                            "messages_in": 6, "errors": 2}},
        "backend_states": {"connected": 2},
        # Mid-failover: one process follows the new master, one has yet to.
        "topology": {"kinds": ["sentinel"], "failovers": 1,
                     "masters": {"10.0.0.2:6379": 1, "10.0.0.1:6379": 1}},
        "databases": {"default": {"size": 20, "in_use": 3, "open": 5, "waited": 7,
                                  "timeouts": 0}},
        "connections": {"refused_per_address": 6, "header_timeouts": 2},
    }  # fmt: skip
    text = stats.prometheus(totals)
    assert 'clientsignal_sessions_open{service="/a",transport="websocket"} 4' in text
    assert 'clientsignal_messages_in_total{service="/a"} 6' in text
    assert 'clientsignal_backend_processes{state="connected"} 2' in text
    assert 'clientsignal_database_waits_total{alias="default"} 7' in text
    assert 'clientsignal_database_connections_in_use{alias="default"} 3' in text
    assert "clientsignal_connections_refused_per_address_total 6" in text
    assert 'clientsignal_backend_masters{master="10.0.0.2:6379"} 1' in text
    assert "clientsignal_backend_failovers 1" in text
    # A snapshot from a worker of an older version, without the connections' counts.
    older = {key: value for key, value in snap.items() if key not in ("connections", "topology")}
    assert stats.summed([older, snap])["connections"] == snap["connections"]
    assert stats.summed([older])["topology"] == {"kinds": [], "masters": {}, "failovers": 0}


def test_every_metric_has_its_help_and_type():
    """Prometheus' text format: a HELP and a TYPE line before each metric's samples."""
    snap = {
        "pid": 1,
        "services": {"/a": {"class": "A", "open": {"xhr": 2}, "messages_in": 5}},
        "backends": {"connected": {}},
        "topology": [{"kind": "single", "server": "redis://h:6379/0", "failovers": 0}],
        "connections": {"refused_per_address": 3, "header_timeouts": 1},
        "databases": {"default": {"size": 20, "in_use": 3, "open": 5, "waited": 7, "timeouts": 0}},
    }
    described: dict[str, set[str]] = {}
    for line in stats.prometheus(stats.summed([snap])).splitlines():
        if line.startswith("# "):
            kind, name, text = line[2:].split(" ", 2)
            described.setdefault(name, set()).add(kind)
            assert text.strip(), line
            continue
        name = line.split("{")[0].split(" ")[0]
        assert described.get(name) == {"HELP", "TYPE"}, line
