"""A plain Python process (no gevent) that sends events through Redis:

python send_ticks.py N ORIGIN            the broadcast signal, N times
python send_ticks.py group NAME TEXT     clientsignal.send_to_group
python send_ticks.py user PK TEXT        clientsignal.send_to_user
python send_ticks.py numbered FROM TO     the numbered signal (kept in history), FROM to TO-1
                                         (prints failed=[the numbers whose publish failed])
python send_ticks.py stream COUNT SECONDS  the numbered signal, 0 to COUNT-1, one every SECONDS,
                                          each with the time it was sent as its origin
python send_ticks.py presence             print who is connected to /present, as JSON
"""

import json
import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "redisproject.settings")
django.setup()

from redisproject import PresenceConnection, numbered, tick  # noqa: E402

import clientsignal  # noqa: E402
from clientsignal import conf  # noqa: E402
from clientsignal.backends import get_backend  # noqa: E402

if sys.argv[1] == "group":
    clientsignal.send_to_group(sys.argv[2], "news", {"text": sys.argv[3]})
elif sys.argv[1] == "user":
    clientsignal.send_to_user(int(sys.argv[2]), "dm", {"text": sys.argv[3]})
elif sys.argv[1] == "presence":
    print(json.dumps(PresenceConnection.present()))
    sys.exit(0)
elif sys.argv[1] == "numbered":
    backend = get_backend(conf.backend_url(), conf.backend_options())  # as publishing does
    failed = []
    for n in range(int(sys.argv[2]), int(sys.argv[3])):
        errors = backend.stats["publish_errors"]
        numbered.send(sender=None, n=n, origin="history")
        if backend.stats["publish_errors"] > errors:
            failed.append(n)
    print("failed=%s" % json.dumps(failed))
elif sys.argv[1] == "stream":
    for n in range(int(sys.argv[2])):
        numbered.send(sender=None, n=n, origin="%.6f" % time.time())
        time.sleep(float(sys.argv[3]))
else:
    count, origin = int(sys.argv[1]), sys.argv[2]
    for n in range(count):
        tick.send(sender=None, n=n, origin=origin)
stats = get_backend(os.environ["CLIENTSIGNAL_TEST_REDIS"]).stats
print("published=%(published)d errors=%(publish_errors)d" % stats)
assert "gevent" not in sys.modules or not sys.modules["gevent"].monkey.is_anything_patched()
