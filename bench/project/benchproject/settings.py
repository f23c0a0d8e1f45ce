"""The benchmark's Django project: one connection class, a listened trigger, a broadcast; and
the dbchat scenario's chat (the ``chat`` app) on the PostgreSQL that bench/dbchat.py starts.

The database comes from the environment, the same variables as the Channels peer's settings:
BENCH_DATABASE_PORT (a PostgreSQL on 127.0.0.1, user postgres; without it, SQLite in memory,
which the other scenarios never query), BENCH_DATABASE_NAME, BENCH_CONN_MAX_AGE.
"""

import os

SECRET_KEY = "clientsignal-bench"
USE_TZ = True
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "clientsignal",
    "benchproject",
    "chat",
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
if os.environ.get("BENCH_DATABASE_PORT"):
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",  # psycopg 3
            "NAME": os.environ.get("BENCH_DATABASE_NAME", "chat"),
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": os.environ["BENCH_DATABASE_PORT"],
            "CONN_MAX_AGE": int(os.environ.get("BENCH_CONN_MAX_AGE", "60")),
        }
    }
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
ROOT_URLCONF = "benchproject.urls"
CLIENTSIGNAL_CONNECTIONS = {
    "/bench": "benchproject.BenchConnection",
    "/bench-history": "benchproject.HistoryBenchConnection",
    "/chat/<int:room_id>": "chat.connections.ChatConnection",
}
CLIENTSIGNAL_BACKEND = os.environ.get("CLIENTSIGNAL_BACKEND") or None
# The benchmark holds more than the default 10,000 sessions per process, every one from
# 127.0.0.1 (no per-address limit), and its echo clients send as fast as the server answers
# (the rate limit stays on, so that its cost is measured, at a rate no client reaches).
CLIENTSIGNAL_SOCKJS_OPTIONS = {
    "max_sessions": 100_000,
    "max_sessions_per_address": 0,
    "max_message_rate": 1_000_000,
}
