"""A socket-server project on the Redis backend (URL from CLIENTSIGNAL_TEST_REDIS), or on the
in-process backend when that is empty."""

import os

SECRET_KEY = "clientsignal-redis-tests"
USE_TZ = True
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "clientsignal",
    "redisproject",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
ROOT_URLCONF = "redisproject.urls"
CLIENTSIGNAL_BACKEND = os.environ.get("CLIENTSIGNAL_TEST_REDIS") or None
CLIENTSIGNAL_BACKEND_OPTIONS = {"CHANNEL_PREFIX": "cstest"}
CLIENTSIGNAL_CONNECTIONS = {
    "/signals": "redisproject.TickConnection",
    "/rooms/<int:room_id>": "redisproject.RoomConnection",
    "/history": "redisproject.HistoryConnection",
    "/present": "redisproject.PresenceConnection",
    "/selective": "redisproject.SelectiveConnection",
    "/control": "redisproject.ControlConnection",
}
CLIENTSIGNAL_MULTIPLEX = "/multiplex"
CLIENTSIGNAL_SOCKJS_OPTIONS = {"heartbeat_delay": 1}
CLIENTSIGNAL_STATS_TOKEN = "stats-token"
LOGGING = {
    "version": 1,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"clientsignal": {"handlers": ["console"], "level": "INFO"}},
}
