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
CLIENTSIGNAL_CONNECTIONS = {"/bench": "benchproject.BenchConnection"}
CLIENTSIGNAL_BACKEND = os.environ.get("CLIENTSIGNAL_BACKEND") or None
# The benchmark holds more than the default 10,000 sessions per process.
CLIENTSIGNAL_SOCKJS_OPTIONS = {"max_sessions": 100_000}
