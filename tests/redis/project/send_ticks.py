"""A plain Python process (no gevent) that sends the broadcast signal: python send_ticks.py N."""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "redisproject.settings")
django.setup()

from redisproject import tick  # noqa: E402

from clientsignal.backends import get_backend  # noqa: E402

count, origin = int(sys.argv[1]), sys.argv[2]
for n in range(count):
    tick.send(sender=None, n=n, origin=origin)
stats = get_backend(os.environ["CLIENTSIGNAL_TEST_REDIS"]).stats
print("published=%(published)d errors=%(publish_errors)d" % stats)
assert "gevent" not in sys.modules or not sys.modules["gevent"].monkey.is_anything_patched()
