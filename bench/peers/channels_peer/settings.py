"""Settings of the Channels peer: no middleware, a Redis channel layer, and the dbchat
scenario's chat app on the PostgreSQL that bench/dbchat.py starts.

The Redis URL comes from BENCH_REDIS_URL (default redis://127.0.0.1:6379/0). The database
from the same variables as the bench project's (bench/project/benchproject/settings.py):
BENCH_DATABASE_PORT (without it, no database), BENCH_DATABASE_NAME, BENCH_CONN_MAX_AGE.
Mind the file descriptors: each client socket, and each pooled Redis connection, needs one.
"""

import os

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["channels", "channels_peer.chat"]
MIDDLEWARE: list[str] = []
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES: dict = {}
if os.environ.get("BENCH_DATABASE_PORT"):
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.postgresql",  # psycopg 3
        "NAME": os.environ.get("BENCH_DATABASE_NAME", "chat"),
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": os.environ["BENCH_DATABASE_PORT"],
        "CONN_MAX_AGE": int(os.environ.get("BENCH_CONN_MAX_AGE", "60")),
    }
ROOT_URLCONF = "channels_peer.urls"
ASGI_APPLICATION = "channels_peer.asgi.application"
USE_TZ = True

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "address": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
                    # redis-py's asyncio pool allows 100 connections and then raises
                    # MaxConnectionsError; a burst of connects (each a group_add) or of
                    # disconnects (group_discard) needs one each at the same moment.
                    "max_connections": 5000,
                    # redis-py 8 reads with a 5 s timeout by default, as long as the layer's
                    # blocking BZPOPMIN waits: a consumer whose wait ran out first died with
                    # TimeoutError and its websocket closed (channels_redis issue 422). As
                    # redis-py 7 did: no read timeout.
                    "socket_timeout": None,
                },
            ],
            # Every consumer of a daphne process receives through one Redis queue of that
            # process (specific.<process>!), so its capacity (default 100) bounds the group
            # messages on their way to the whole process: a chat of 200 clients past it had
            # lines saved and then silently dropped (channels_redis logs them at INFO only).
            "capacity": 10000,
        },
    },
}
