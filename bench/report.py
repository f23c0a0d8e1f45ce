"""The benchmark's markdown tables: absolute figures, and ratios against peers of the same run."""

from __future__ import annotations

import argparse
from typing import Any

SOCKJS_NODE = "sockjs-node 0.3.24"
CHANNELS = "Channels 4 + daphne + channels_redis"
ONE_WORKER = "clientsignal, 1 worker"
HISTORY_PAIRS = (
    ("in-process", "clientsignal, 1 worker", "clientsignal, 1 worker, history"),
    ("Redis, 2 workers", "clientsignal, 2 workers + Redis",
     "clientsignal, 2 workers + Redis, history"),
)  # fmt: skip

NOTE = (
    "Servers, Redis and the load generators share the machine's two cores. The load generator "
    "CPU column is its busiest process's share of one core during the measurement: near 100 % "
    "it, not the server, sets the pace. Each fan-out row has 4 × rounds samples, so p95 and p99 "
    "are close to the maximum. Echo latencies are per round trip, so clients that are served "
    "faster count more often: with two workers, whose shares of the connections are whatever "
    "gunicorn's accept race gave them, p50 can be far below messages/s would suggest."
)


def fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else "%.*f" % (digits, value)


def ratio(value: float | None, base: float | None) -> str:
    return "%.2f×" % (value / base) if value and base else "—"


def cpu(result: dict) -> str:
    return "%.0f%%" % (100 * result["generatorCpu"]) if result.get("generatorCpu") else "—"


def largest_under(rows: list[dict], limit: float) -> int | None:
    """The largest client count whose broadcast p95 stayed under ``limit`` ms."""
    ok = [
        r["clients"]
        for r in rows
        if not r.get("error") and not r.get("timedOut") and r.get("p95") is not None
        and r["p95"] < limit
    ]  # fmt: skip
    return max(ok) if ok else None


def render(
    results: dict[str, Any],
    args: argparse.Namespace,
    machine: str,
    floor: str,
    limits: tuple[int, ...],
) -> str:
    lines = ["Machine: %s." % machine, "", NOTE]
    if results["fanout"] or results["echo"] or results["memory"] or results["cross"]:
        lines += _goals(results, floor)
    if results["fanout"]:
        lines += _fanout(results["fanout"], args, floor, limits)
    if any(on in results["fanout"] for _kind, _off, on in HISTORY_PAIRS):
        lines += _history(results["fanout"], results.get("redis_calls", {}))
    if results.get("history_cost"):
        lines += _history_cost(results["history_cost"])
    if results["echo"]:
        lines += _echo(results["echo"], args, floor)
    if results["memory"]:
        lines += _memory(results["memory"], floor)
    if results["cross"]:
        lines += _cross(results["cross"])
    if results["http"]:
        lines += _http(results["http"], args)
    if results.get("dbchat"):
        lines += _dbchat(results["dbchat"], args)
    if results.get("cluster"):
        lines += _cluster(results["cluster"])
    return "\n".join(lines)


def _cluster(both: dict) -> list:
    """The cross-process scenario on one Redis and on a Redis Cluster, side by side."""
    single, cluster = both.get("single") or {}, both.get("cluster") or {}
    lines = [
        "",
        "### One Redis against a three-master Redis Cluster: the cross-process scenario, same "
        "run (%s clients, 2 workers)" % single.get("clients", "—"),
        "",
    ]
    for name, result in (("one Redis", single), ("Redis Cluster", cluster)):
        if result.get("error"):
            lines.append("%s failed: %s" % (name, result["error"]))
    lines += [
        "| measure | one Redis | Redis Cluster (3 masters) | cluster / one |",
        "| --- | ---: | ---: | ---: |",
    ]

    def row(measure: str, a: float | None, b: float | None, digits: int = 1) -> None:
        shown = (measure, fmt(a, digits), fmt(b, digits), ratio(b, a))
        lines.append("| %s | %s | %s | %s |" % shown)

    def latency(result: dict, key: str) -> float | None:
        return (result.get("latency") or {}).get(key)

    rate = latency(single, "rate")
    row("latency p50 ms (%s signals/s)" % fmt(rate, 0), latency(single, "p50"),
        latency(cluster, "p50"))  # fmt: skip
    row("latency p99 ms", latency(single, "p99"), latency(cluster, "p99"))
    row("last client p99 ms", latency(single, "lastP99"), latency(cluster, "lastP99"))
    row("highest rate, every signal to every client, p99 under %s ms (signals/s)"
        % fmt(single.get("p99_limit_ms"), 0),
        single.get("max_rate"), cluster.get("max_rate"), 0)  # fmt: skip
    row("most signals/s delivered to every client", single.get("max_delivered_per_second"),
        cluster.get("max_delivered_per_second"), 0)  # fmt: skip
    rates = sorted({s["rate"] for r in (single, cluster) for s in r.get("sustained", [])})
    for r in rates:
        a = next((s for s in single.get("sustained", []) if s["rate"] == r), {})
        b = next((s for s in cluster.get("sustained", []) if s["rate"] == r), {})
        row("p99 ms at %s signals/s (delivered to all: %s / %s)"
            % (fmt(r, 0), _complete(a), _complete(b)), a.get("p99"), b.get("p99"))  # fmt: skip
    lines += [
        "",
        "Every message crosses Redis in both: on the cluster it is an `SPUBLISH` on its "
        "bucket's shard channel and each worker holds one subscriber connection per master.",
    ]
    return lines


def _complete(step: dict) -> str:
    return "%d/%d" % (step["complete"], step["signals"]) if step else "—"


def _fanout(fanout: dict, args: argparse.Namespace, floor: str, limits: tuple[int, ...]) -> list:
    by_clients = {r["clients"]: r for r in fanout.get(floor, [])}
    lines = [
        "",
        "### Broadcast fan-out (4 concurrent broadcasts per round, %d rounds; ms until every "
        "client has it)" % args.rounds,
        "",
        "| server | clients | p50 | p95 | p99 | p95 / floor | load generator CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, rows in fanout.items():
        for r in rows:
            problem = r.get("error") or ("timed out (10 s)" if r.get("timedOut") else None)
            base = by_clients.get(r["clients"], {}).get("p95")
            lines.append(
                "| %s | %d | %s | %s | %s | %s | %s |"
                % (name, r["clients"], fmt(r.get("p50")), fmt(r.get("p95")), fmt(r.get("p99")),
                   problem[:60] if problem else ratio(r.get("p95"), base), cpu(r))
            )  # fmt: skip
    head = " | ".join("clients, p95 < %d ms" % limit for limit in limits)
    lines += [
        "",
        "#### Largest client count under the p95 limit (of the steps %s)"
        % ", ".join(map(str, args.steps)),
        "",
        "| server | %s | / floor (%d ms) | / sockjs-node (%d ms) |" % (head, limits[0], limits[0]),
        "| --- | %s---: | ---: |" % ("---: | " * len(limits)),
    ]
    floor_best = largest_under(fanout.get(floor, []), limits[0])
    node_best = largest_under(fanout.get(SOCKJS_NODE, []), limits[0])
    for name, rows in fanout.items():
        best = [largest_under(rows, limit) for limit in limits]
        lines.append(
            "| %s | %s | %s | %s |"
            % (name, " | ".join("—" if b is None else str(b) for b in best),
               ratio(best[0], floor_best), ratio(best[0], node_best))
        )  # fmt: skip
    return lines


def _echo(echo: dict, args: argparse.Namespace, floor: str) -> list:
    by_clients = {r["clients"]: r for r in echo.get(floor, [])}
    lines = [
        "",
        "### Echo (closed loop, %d s)" % args.echo_seconds,
        "",
        "| server | clients | messages/s | p50 ms | p99 ms | throughput / floor "
        "| load generator CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, rows in echo.items():
        for r in rows:
            base = by_clients.get(r["clients"], {}).get("perSecond")
            lines.append(
                "| %s | %d | %s | %s | %s | %s | %s |"
                % (name, r["clients"], fmt(r.get("perSecond"), 0), fmt(r.get("p50")),
                   fmt(r.get("p99")), r.get("error", "")[:60] or ratio(r.get("perSecond"), base),
                   cpu(r))
            )  # fmt: skip
    return lines


def _memory(memory: dict, floor: str) -> list:
    base = next(
        (r.get("kib_per_connection") for r in memory.get(floor, []) if r["kind"] == "websocket"),
        None,
    )
    lines = [
        "",
        "### Memory: resident memory per idle connection (server processes, after a warm-up)",
        "",
        "| server | connection | open | KiB each | / floor | RSS before → after (MiB) |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, rows in memory.items():
        for r in rows:
            if r.get("error") and not r.get("open"):
                lines.append("| %s | %s | 0 | %s | — | — |" % (name, r["kind"], r["error"][:60]))
                continue
            lines.append(
                "| %s | %s | %d | %s | %s | %.0f → %.0f |"
                % (name, r["kind"], r["open"], fmt(r["kib_per_connection"]),
                   ratio(r["kib_per_connection"], base) if r["kind"] == "websocket" else "—",
                   r["rss_before_kib"] / 1024, r["rss_after_kib"] / 1024)
            )  # fmt: skip
    return lines


def _cross(cross: dict) -> list:
    lines = [
        "",
        "### Cross-process: signals sent by a separate Python process through Redis to %d "
        "clients (2 workers)" % cross["clients"],
        "",
    ]
    if cross.get("error"):
        return lines + ["Failed: %s" % cross["error"]]
    latency = cross["latency"]
    lines += [
        "| measure | rate (signals/s) | delivered to all | p50 ms | p99 ms | last client p50 | "
        "last client p99 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        "| latency | %s | %d / %d | %s | %s | %s | %s |"
        % (fmt(latency["rate"], 0), latency["complete"], latency["signals"], fmt(latency["p50"]),
           fmt(latency["p99"]), fmt(latency["lastP50"]), fmt(latency["lastP99"])),
    ]  # fmt: skip
    for step in cross.get("sustained", []):
        if step["ok"]:
            label = "sustained"
        elif step["complete"] == step["signals"]:
            label = "sustained (p99 over %s ms)" % fmt(cross.get("p99_limit_ms"), 0)
        else:
            label = "sustained (not all delivered)"
        lines.append(
            "| %s | %s | %d / %d | %s | %s | %s | %s |"
            % (label, fmt(step["rate"], 0), step["complete"],
               step["signals"], fmt(step["p50"]), fmt(step["p99"]), fmt(step["lastP50"]),
               fmt(step["lastP99"]))
        )  # fmt: skip
    lines += [
        "",
        "Highest sustained rate with every signal delivered to every client and p99 under "
        "%s ms: %s signals/s (%s deliveries/s)."
        % (fmt(cross.get("p99_limit_ms"), 0), fmt(cross.get("max_rate"), 0),
           fmt((cross.get("max_rate") or 0) * cross["clients"], 0)),
    ]  # fmt: skip
    return lines


def _http(rows: list, args: argparse.Namespace) -> list:
    single = {transport: r for name, transport, r in rows if name == "1 worker"}
    lines = [
        "",
        "### HTTP transports: %d sockjs-client clients × %d echoed messages"
        % (args.http_clients, args.http_messages),
        "",
        "| server | transport | echoes/s | all once, in order | / 1 worker |",
        "| --- | --- | ---: | :---: | ---: |",
    ]
    for name, transport, r in rows:
        lines.append(
            "| clientsignal, %s | %s | %.0f | %s | %s |"
            % (name, transport, r["perSecond"], "yes" if r["exact"] else "**no**",
               ratio(r["perSecond"], single[transport]["perSecond"]))
        )  # fmt: skip
    return lines


def _verdict(value: float | None, goal: float, higher: bool, unit: str) -> str:
    if value is None:
        return "not measured"
    if (value >= goal) if higher else (value <= goal):
        return "**met**"
    gap = goal - value if higher else value - goal
    return "missed by %s%s" % (fmt(gap, 2 if unit == "×" else 0 if unit == " clients" else 1), unit)


def _kib(memory: dict, name: str, kind: str) -> float | None:
    for r in memory.get(name, []):
        if r["kind"] == kind and r.get("open"):
            return r.get("kib_per_connection")
    return None


def _echo_rate(echo: dict, name: str, clients: int = 100) -> float | None:
    return next((r.get("perSecond") for r in echo.get(name, []) if r["clients"] == clients), None)


def _goals(results: dict[str, Any], floor: str) -> list:
    """The issue's goals, each with this run's figures for clientsignal and its peers."""
    memory, echo, fanout = results["memory"], results["echo"], results["fanout"]
    names = (ONE_WORKER, floor, SOCKJS_NODE)
    rows = []

    def row(measure: str, values: list[str], goal: str, verdict: str) -> None:
        rows.append("| %s | %s | %s | %s |" % (measure, " | ".join(values), goal, verdict))

    kib = [_kib(memory, name, "websocket") for name in names]
    opened = next((r.get("open") for r in memory.get(ONE_WORKER, []) if r.get("open")), None)
    row("KiB per idle websocket (%s open)" % (opened or "—"), [fmt(v) for v in kib], "≤ 16",
        _verdict(kib[0], 16, False, " KiB"))  # fmt: skip
    xhr = _kib(memory, ONE_WORKER, "xhr-streaming")
    row("KiB per idle xhr-streaming session", [fmt(xhr), "—", "—"], "≤ 16",
        _verdict(xhr, 16, False, " KiB"))  # fmt: skip
    rates = [_echo_rate(echo, name) for name in names]
    node = rates[2]
    ratios = [(r / node) if r and node else None for r in rates]
    pairs = zip(rates, ratios, strict=True)
    shown = ["%s (%s)" % (fmt(r, 0), "%.2f×" % q if q else "—") for r, q in pairs]
    row("echo msg/s, 100 clients (× sockjs-node)", shown,
        "≥ 1.00×", _verdict(ratios[0], 1.0, True, "×"))  # fmt: skip
    cross = results.get("cross") or {}
    p99 = (cross.get("latency") or {}).get("p99")
    row("cross-process p99 ms, %s clients, %s signals/s"
        % (cross.get("clients", "—"), fmt((cross.get("latency") or {}).get("rate"), 0)),
        [fmt(p99), "—", "—"], "≤ 20", _verdict(p99, 20, False, " ms"))  # fmt: skip
    held = [largest_under(fanout.get(name, []), 500) for name in names]
    verdict = _verdict(held[0], 5000, True, " clients") if fanout.get(ONE_WORKER) else "—"
    row("fan-out: clients held at p95 ≤ 500 ms, one worker",
        ["—" if h is None else str(h) for h in held], "≥ 5,000", verdict)  # fmt: skip
    return [
        "",
        "### Goals (this run; the peers measured in the same run)",
        "",
        "| measure | %s | goal | clientsignal |" % " | ".join(names),
        "| --- | ---: | ---: | ---: | ---: | --- |",
        *rows,
    ]


def _history(fanout: dict, calls: dict) -> list:
    """Fan-out with history on and off, same steps, same run, per backend."""
    lines = [
        "",
        "### History: fan-out with `history = {\"size\": 100, \"ttl\": 300}` on and off (same "
        "run, same steps)",
        "",
        "| backend | clients | p95 off | p95 on | on / off | p50 off | p50 on |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, off_name, on_name in HISTORY_PAIRS:
        off = {r["clients"]: r for r in fanout.get(off_name, []) if not r.get("error")}
        for r in fanout.get(on_name, []):
            base = off.get(r["clients"], {})
            lines.append(
                "| %s | %d | %s | %s | %s | %s | %s |"
                % (kind, r["clients"], fmt(base.get("p95")),
                   r.get("error", "")[:40] or fmt(r.get("p95")),
                   ratio(r.get("p95"), base.get("p95")),
                   fmt(base.get("p50")), fmt(r.get("p50")))
            )  # fmt: skip
    per = []
    for kind, off_name, on_name in HISTORY_PAIRS:
        for name, label in ((off_name, "off"), (on_name, "on")):
            used = calls.get(name)
            rows = [r for r in fanout.get(name, []) if not r.get("error")]
            broadcasts = sum(r.get("samples", 0) for r in rows)
            if used and broadcasts:
                sent = {k: v for k, v in used.items() if k in ("publish", "evalsha", "eval")}
                per.append(
                    "%s, history %s: %s per broadcast (%d broadcasts)"
                    % (kind, label, ", ".join("%s %.2f" % (k, v / broadcasts)
                       for k, v in sorted(sent.items())) or "none", broadcasts)
                )  # fmt: skip
    if per:
        lines += [
            "",
            "Redis commands made by the workers (`INFO commandstats`): %s. One `EVALSHA` (the "
            "append script, which also publishes) per broadcast with history, one `PUBLISH` "
            "without, whatever the number of clients." % "; ".join(per),
        ]
    return lines


def _history_cost(cost: dict) -> list:
    memory, redis = cost["memory"], cost.get("redis", {})
    lines = [
        "",
        "History's memory (bench/history_cost.py: %d kept `tick` messages, %d-character payload):"
        % (cost["size"], cost["payload"]),
        "",
        "| where | bytes per kept message | of which the message itself |",
        "| --- | ---: | ---: |",
        "| in-process (a deque per channel) | %d | %d (the literal, shared with the delivery) |"
        % (memory["bytes_per_entry_with_literal"], memory["literal_bytes"]),
    ]
    if "bytes_per_entry" in redis:
        script = redis["commands_inside_the_script_per_publish"].items()
        inside = ", ".join("%s %g" % item for item in script if item[1] >= 1)
        lines += [
            "| Redis (a stream per channel, `MEMORY USAGE`) | %d | %d |"
            % (redis["bytes_per_entry"], redis["literal_bytes"]),
            "",
            "Redis round trips per publish: with history %s (inside the script: %s); without %s."
            % (_calls(redis["round_trips_per_publish_with_history"]), inside,
               _calls(redis["round_trips_per_publish_without"])),
        ]  # fmt: skip
    return lines


def _calls(calls: dict) -> str:
    return ", ".join("%s %.2f" % item for item in calls.items()) or "none"


def _rows_check(run: dict) -> str:
    """Rows the run left against the messages acknowledged (its warm-up's included)."""
    if run.get("error"):
        return "—"
    acked, rows = run["acked_with_warmup"], run["rows"]
    return "%d / %d%s" % (acked, rows, "" if acked == rows else " **differ**")


def _p99_at(result: dict, rate: float | None) -> float | None:
    steps = result.get("steps", [])
    return next((r.get("p99") for r in steps if r["requested_rate"] == rate), None)


def _dbchat(dbchat: dict, args: argparse.Namespace) -> list:
    """The chat on PostgreSQL: a summary with ratios against Channels, then every run."""
    lines = [
        "",
        "### Chat on PostgreSQL: each message saved as a row, then sent to its room (%d rooms "
        "× %d clients)" % (args.dbchat_rooms, args.dbchat_clients),
        "",
    ]
    if dbchat.get("error"):
        return lines + ["Not run: %s" % dbchat["error"]]
    contenders = dbchat["contenders"]
    lines += [
        "PostgreSQL %s (`max_connections` %d), one database migrated by each contender's own "
        "Django project, psycopg 3, `CONN_MAX_AGE = %d`; a warm-up line from every client, then "
        "rising fixed rates (%d s each) until one is not sustained, then a closed loop (%d s: "
        "each client says its next line when its last came back to it). Latency: from the "
        "send to each member's receipt (p50, p99) and until the last member has it (\"all\"). "
        "Load average: the machine's over 1 minute, at the end of each run (%d cores)."
        % (dbchat.get("postgresql", "?"), dbchat["max_connections"], args.dbchat_conn_max_age,
           args.dbchat_seconds, args.dbchat_seconds, _cores()),
    ]  # fmt: skip
    ok = [c for c in contenders.values() if not c.get("error")]
    common = [
        {r["requested_rate"] for r in c.get("steps", []) if r.get("sustained")} for c in ok
    ]  # fmt: skip
    shared = max(set.intersection(*common), default=None) if common else None
    base = contenders.get(CHANNELS, {})
    base_rate = (base.get("closed") or {}).get("perSecond")
    base_p99 = _p99_at(base, shared)
    lines += [
        "",
        "| server | closed loop msg/s | / Channels | its p99 ms | highest rate with p99 < %s ms "
        "| p99 ms at %s msg/s | / Channels | peak PostgreSQL connections |"
        % (fmt(dbchat_limit(contenders), 0), fmt(shared, 0)),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]  # fmt: skip
    for name, c in contenders.items():
        if c.get("error"):
            lines.append("| %s | %s | | | | | | |" % (name, c["error"][:80]))
            continue
        closed = c.get("closed") or {}
        runs = c.get("steps", []) + ([closed] if closed else [])
        peak = max((r.get("peak_connections", 0) for r in runs), default=None)
        p99 = _p99_at(c, shared)
        lines.append(
            "| %s | %s | %s | %s | %s | %s | %s | %s |"
            % (name, fmt(closed.get("perSecond"), 0), ratio(closed.get("perSecond"), base_rate),
               fmt(closed.get("p99")), fmt(c.get("max_rate"), 0), fmt(p99), ratio(p99, base_p99),
               "—" if peak is None else peak)
        )  # fmt: skip
    lines += [
        "",
        "| server | load | msg/s saved and delivered to all | receipts/s | p50 ms | p99 ms "
        "| all p99 ms | acknowledged / rows | PostgreSQL connections: peak, after | "
        "load average | load generator CPU |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, c in contenders.items():
        closed = c.get("closed")
        for r in c.get("steps", []) + ([closed] if closed else []):
            load = "closed loop"
            if r["requested_rate"] is not None:
                load = "%s msg/s" % fmt(r["requested_rate"], 0)
                load += "" if r.get("sustained") else " (not sustained)"
            if r.get("error"):
                lines.append("| %s | %s | %s | | | | | | | | |" % (name, load, r["error"][:80]))
                continue
            lost = r["sent"] - r["complete"]
            lines.append(
                "| %s | %s | %s%s | %s | %s | %s | %s | %s | %d, %d | %.1f | %s |"
                % (name, load, fmt(r["perSecond"], 0),
                   " (%d of %d not to all)" % (lost, r["sent"]) if lost else "",
                   fmt(r["receiptsPerSecond"], 0), fmt(r["p50"]), fmt(r["p99"]),
                   fmt(r["lastP99"]), _rows_check(r), r["peak_connections"],
                   r["connections_after"], r["load_average"], cpu(r))
            )  # fmt: skip
    return lines


def dbchat_limit(contenders: dict) -> float | None:
    return next((c.get("p99_limit_ms") for c in contenders.values() if "p99_limit_ms" in c), None)


def _cores() -> int:
    import os

    return os.cpu_count() or 0


def _sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The text before the first ``### `` heading, and each ``### `` section keyed by its
    heading up to the first " (" (the counts in parentheses may change between runs)."""
    head, *rest = ("\n" + text).split("\n### ")
    sections = []
    for part in rest:
        title = part.split("\n", 1)[0]
        sections.append((title.split(" (", 1)[0], "### " + part.rstrip("\n")))
    return head.strip("\n"), sections


def merge(existing: str, table: str, note: str) -> str:
    """``existing`` (RESULTS.md) with the sections of a run of some scenarios only (``table``)
    in place of the same sections, each with ``note`` under its heading, or added at the end."""
    head, old = _sections(existing)
    _, new = _sections(table)
    replaced = dict(old)
    for key, text in new:
        heading, _, body = text.partition("\n")
        replaced[key] = "%s\n\n%s\n%s" % (heading, note, body)
    keys = [key for key, _ in old] + [key for key, _ in new if key not in dict(old)]
    return "\n\n".join([head] + [replaced[key] for key in keys]) + "\n"
