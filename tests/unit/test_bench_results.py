"""``python -m bench --write`` after a run of some scenarios only (``--scenarios dbchat``):
bench/RESULTS.md keeps the other scenarios' sections and gets this run's in place of its own."""

from __future__ import annotations

from bench.report import merge

FULL = """# Benchmark results

Machine: the full run's.

A note about every table.

### Echo (closed loop, 5 s)

| server | messages/s |
| --- | ---: |
| clientsignal, 1 worker | 20213 |

#### A sub-table of the echo

| a |

### HTTP transports: 200 sockjs-client clients × 50 echoed messages

| clientsignal, 1 worker | xhr-polling | 19470 |
"""

CHAT = """Machine: the partial run's.

A note about every table.

### Chat on PostgreSQL: each message saved as a row, then sent to its room (10 rooms × 20 clients)

| clientsignal, 1 worker | 1000 |
"""


def test_a_new_scenario_is_added_after_the_others_which_stay_as_they_were() -> None:
    merged = merge(FULL, CHAT, "From a separate run.")
    assert merged.startswith(FULL.rstrip("\n") + "\n\n### Chat on PostgreSQL")
    assert merged.endswith(
        "(10 rooms × 20 clients)\n\nFrom a separate run.\n\n| clientsignal, 1 worker | 1000 |\n"
    )
    assert "the partial run's" not in merged


def test_a_scenario_run_again_replaces_its_section_whatever_its_counts() -> None:
    once = merge(FULL, CHAT, "From the first run.")
    again = CHAT.replace("10 rooms", "2 rooms").replace("| 1000 |", "| 7 |")
    twice = merge(once, again, "From the second run.")
    assert twice.count("### Chat on PostgreSQL") == 1
    replaced = "(2 rooms × 20 clients)\n\nFrom the second run.\n\n| clientsignal, 1 worker | 7 |"
    assert replaced in twice
    assert "From the first run." not in twice and "| 1000 |" not in twice
    assert twice.startswith(FULL.rstrip("\n"))


def test_a_section_in_the_middle_is_replaced_where_it_was() -> None:
    echo = "Machine: m.\n\n### Echo (closed loop, 2 s)\n\n| clientsignal, 1 worker | 5 |\n"
    merged = merge(FULL, echo, "From a quick run.")
    assert merged.index("### Echo (closed loop, 2 s)") < merged.index("### HTTP transports")
    assert "20213" not in merged and "A sub-table of the echo" not in merged
    assert merged.count("### ") == 2
