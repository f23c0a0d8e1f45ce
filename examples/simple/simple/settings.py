"""The README's ping/pong example: in-process backend, no Redis needed."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "clientsignal-example-not-secret"
DEBUG = True
# More names (comma-separated) to open the demo from another machine.
ALLOWED_HOSTS = [
    "127.0.0.1",
    "localhost",
    *filter(None, os.environ.get("DEMO_HOSTS", "").split(",")),
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "clientsignal",
    "myapp",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "simple.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
WSGI_APPLICATION = "simple.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("EXAMPLE_DB", BASE_DIR / "db.sqlite3"),
    }
}

STATIC_URL = "/static/"
USE_TZ = True
TIME_ZONE = "UTC"

CLIENTSIGNAL_CONNECTIONS = {
    "/simple": "myapp.connections.PingSignalConnection",
}

# In-process by default; redis://... to run several gunicorn workers (or machines).
CLIENTSIGNAL_BACKEND = os.environ.get("CLIENTSIGNAL_BACKEND") or None
