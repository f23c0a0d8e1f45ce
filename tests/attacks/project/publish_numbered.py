"""A plain Python process (no gevent) that publishes /history's ``numbered`` broadcasts
through Redis, as a task worker or a management command would: 0, 1, 2... one every INTERVAL
seconds until a line ``stop`` arrives on stdin, then one more. One JSON line per publish on
stdout: ``{"n": n, "ok": true, "t": ms}`` (false: the backend counted a failed publish; ``t``:
when the publish began, in ms since the epoch).

ATTACK_BACKEND=redis://... python publish_numbered.py INTERVAL
"""

import json
import os
import sys
import threading
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attackproject.settings")
django.setup()

from attackproject.connections import HistoryConnection, numbered  # noqa: E402

interval = float(sys.argv[1])
stats = HistoryConnection.get_backend().stats
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()


def publish(n: int) -> None:
    errors, started = stats["publish_errors"], time.time()
    numbered.send(sender=None, n=n)
    ok = stats["publish_errors"] == errors
    print(json.dumps({"n": n, "ok": ok, "t": started * 1000}), flush=True)


n = 0
while not stop.is_set():
    publish(n)
    n += 1
    stop.wait(interval)
publish(n)
