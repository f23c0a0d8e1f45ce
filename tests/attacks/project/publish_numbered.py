"""A plain Python process (no gevent) that publishes /history's ``numbered`` broadcasts
through Redis, as a task worker or a management command would: 0, 1, 2... one every INTERVAL
seconds until a line ``stop`` arrives on stdin, then one more. One JSON line per publish on
stdout: ``{"n": n, "ok": true}`` (false: the backend counted a failed publish).

ATTACK_BACKEND=redis://... python publish_numbered.py INTERVAL
"""

import json
import os
import sys
import threading

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attackproject.settings")
django.setup()

from attackproject.connections import HistoryConnection, numbered  # noqa: E402

interval = float(sys.argv[1])
stats = HistoryConnection.get_backend().stats
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()


def publish(n: int) -> None:
    errors = stats["publish_errors"]
    numbered.send(sender=None, n=n)
    print(json.dumps({"n": n, "ok": stats["publish_errors"] == errors}), flush=True)


n = 0
while not stop.is_set():
    publish(n)
    n += 1
    stop.wait(interval)
publish(n)
