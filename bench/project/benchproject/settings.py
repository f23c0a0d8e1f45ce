"""The benchmark's Django project: one connection class, a listened trigger, a broadcast."""

import os

SECRET_KEY = "clientsignal-bench"
USE_TZ = True
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "clientsignal",
    "benchproject",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
ROOT_URLCONF = "benchproject.urls"
CLIENTSIGNAL_CONNECTIONS = {
    "/bench": "benchproject.BenchConnection",
    "/bench-history": "benchproject.HistoryBenchConnection",
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
