"""Send the bench project's broadcast ``tick`` from a plain Python process (no gevent).

    python send_signals.py --count N --rate R [--first T]   N signals at R per second
    python send_signals.py --seconds S [--first T]          as fast as possible for S seconds

CLIENTSIGNAL_BACKEND must name the Redis server the socket servers use. Each signal carries
``t`` (numbered from ``--first``) and ``payload={"sent": <ms since the epoch>, "pad": "x…"}``.
Prints one JSON line: how many were sent, over what time, and the backend's publish counts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchproject.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, help="signals to send at --rate")
    parser.add_argument("--rate", type=float, help="signals per second")
    parser.add_argument("--seconds", type=float, help="send as fast as possible this long")
    parser.add_argument("--first", type=int, default=0, help="t of the first signal")
    parser.add_argument("--pad", type=int, default=64, help="payload padding characters")
    args = parser.parse_args()
    if (args.seconds is None) == (args.count is None or args.rate is None):
        parser.error("give --count and --rate, or --seconds")
    url = os.environ.get("CLIENTSIGNAL_BACKEND", "")
    if not url.startswith(("redis://", "rediss://", "unix://", "redis+cluster://", "rediss+cluster://")):
        parser.error("CLIENTSIGNAL_BACKEND must be a Redis URL")

    django.setup()
    from benchproject import tick

    from clientsignal.backends import get_backend

    backend = get_backend(url)
    backend.client.ping()  # connect before the clock starts
    pad = "x" * args.pad
    t = args.first
    started = time.perf_counter()
    if args.seconds is not None:
        deadline = started + args.seconds
        while time.perf_counter() < deadline:
            tick.send(sender=None, t=t, payload={"sent": time.time() * 1000, "pad": pad})
            t += 1
    else:
        for n in range(args.count):
            delay = started + n / args.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            tick.send(sender=None, t=t, payload={"sent": time.time() * 1000, "pad": pad})
            t += 1
    elapsed = time.perf_counter() - started
    sent = t - args.first
    print(
        json.dumps(
            {
                "sent": sent,
                "first": args.first,
                "seconds": round(elapsed, 4),
                "rate": round(sent / elapsed, 1) if elapsed else None,
                "published": backend.stats["published"],
                "publish_errors": backend.stats["publish_errors"],
            }
        )
    )
    assert "gevent" not in sys.modules or not sys.modules["gevent"].monkey.is_anything_patched()


if __name__ == "__main__":
    main()
