"""What history costs besides time: ``python -m bench.history_cost``.

- Memory per kept message, in-process: the bytes a ``MemoryStreams`` stream holds per entry
  (tracemalloc over ``size`` appends of the bench's ``tick`` message), the message's literal
  included (shared with the delivery, which queues the same str object).
- Memory per kept message in Redis: ``MEMORY USAGE`` of a full stream (``size`` entries,
  published through ``RedisBackend.publish`` on a private redis-server), per entry.
- Redis calls per broadcast: the commands the server counted (``INFO commandstats``) for
  ``size`` publishes with history and ``size`` without, per publish.

The fan-out scenario measures the time (bench/__main__.py, history's twin contenders).
Runs on 127.0.0.1 only; prints JSON.
"""

from __future__ import annotations

import gc
import json
import sys
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

PAYLOAD = 64  # the bench's payload, characters


def _literal(n: int) -> str:
    from clientsignal.sockjs_protocol import encode_message

    text = json.dumps({"event": "tick", "data": {"t": n, "payload": "x" * PAYLOAD, "sender": None}})
    return encode_message(text)


def memory_streams(size: int) -> dict[str, Any]:
    from clientsignal.backends import Envelope
    from clientsignal.backends.streams import History, MemoryStreams

    history = History(size=size, ttl=300)
    streams = MemoryStreams()
    envelopes = [Envelope(_literal(n), "tick") for n in range(size)]
    literal_bytes = sum(sys.getsizeof(e.encoded) for e in envelopes) / size
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for envelope in envelopes:
        streams.append("clientsignal:bench.Bench", history, envelope)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    kept = sum(s.size_diff for s in after.compare_to(before, "filename"))
    return {
        "entries": size,
        "bytes_per_entry": round(kept / size),
        "literal_bytes": round(literal_bytes),
        "bytes_per_entry_with_literal": round(kept / size + literal_bytes),
    }


def redis_streams(size: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    import redis

    from clientsignal.backends import Envelope
    from clientsignal.backends.redis import RedisBackend, stream_keys
    from clientsignal.backends.streams import History
    from tests.support.servers import RedisServer

    history = History(size=size, ttl=300)
    channel = "clientsignal:bench.Bench"
    with RedisServer() as server:
        backend = RedisBackend(server.url)
        client = redis.Redis.from_url(server.url)
        try:
            client.config_resetstat()
            for n in range(size):
                backend.publish(channel, Envelope(_literal(n), "tick"), history)
            with_history = client.info("commandstats")
            client.config_resetstat()
            for n in range(size):
                backend.publish(channel, Envelope(_literal(n), "tick"))
            without = client.info("commandstats")
            stream, _epoch = stream_keys(channel)
            usage = client.memory_usage(stream, samples=0) or 0
            length = client.xlen(stream)
        finally:
            backend.close()
            client.close()

    def per(stats: dict[str, Any], names: tuple[str, ...]) -> dict[str, float]:
        return {
            name: round(stats["cmdstat_" + name]["calls"] / size, 2)
            for name in names
            if "cmdstat_" + name in stats
        }

    # The client's round trips: the append script (its first call loads it) or a PUBLISH;
    # the script's own commands run inside Redis, in the same round trip.
    sent = ("evalsha", "eval", "publish")
    inside = ("get", "xrevrange", "xadd", "time", "xtrim", "pexpire", "publish", "set", "del")
    return {
        "entries": length,
        "bytes_per_entry": round(usage / max(1, length)),
        "literal_bytes": len(_literal(0).encode()),
        "round_trips_per_publish_with_history": per(with_history, ("evalsha", "eval")),
        "commands_inside_the_script_per_publish": per(with_history, inside),
        "round_trips_per_publish_without": per(without, sent),
    }


def history_cost(size: int = 100) -> dict[str, Any]:
    result: dict[str, Any] = {"size": size, "payload": PAYLOAD}
    result["memory"] = memory_streams(size)
    try:
        result["redis"] = redis_streams(size)
    except (OSError, RuntimeError) as error:
        result["redis"] = {"error": str(error)[:200]}
    return result


def main() -> None:
    sys.path.insert(0, str(ROOT))
    print(json.dumps(history_cost(), indent=1))


if __name__ == "__main__":
    main()
