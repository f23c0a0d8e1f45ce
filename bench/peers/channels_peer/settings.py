"""Settings of the Channels peer: no database, no middleware, a Redis channel layer.

The Redis URL comes from BENCH_REDIS_URL (default redis://127.0.0.1:6379/0).
Mind the file descriptors: each client socket, and each pooled Redis connection, needs one.
"""

import os

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["channels"]
MIDDLEWARE: list[str] = []
DATABASES: dict = {}
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
                },
            ],
        },
    },
}
