"""A live chat for logged-in users; in-process backend unless CLIENTSIGNAL_BACKEND is set."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "clientsignal-chat-example-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.messages",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "clientsignal",
    "chat",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "chatsite.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("EXAMPLE_DB", BASE_DIR / "db.sqlite3"),
    }
}

STATIC_URL = "/static/"
USE_TZ = True
TIME_ZONE = "UTC"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

CLIENTSIGNAL_CONNECTIONS = {
    "/chat/<int:room_id>": "chat.connections.ChatConnection",
    "/lobby": "chat.connections.LobbyConnection",
    # The live stats page (/clientsignal/stats/, staff only) listens here.
    "/clientsignal/live": "clientsignal.connection.StatsConnection",
}
# A page's SignalSockets (its room and the lobby) share one SockJS session. CHAT_MULTIPLEX=""
# turns it off: each then has a session of its own.
CLIENTSIGNAL_MULTIPLEX = os.environ.get("CHAT_MULTIPLEX", "/clientsignal/multiplex") or None
CLIENTSIGNAL_BACKEND = os.environ.get("CLIENTSIGNAL_BACKEND") or None
# Default (None): this site's own pages only. The tests set "*" to show what the check stops.
_origins = os.environ.get("CHAT_ALLOWED_ORIGINS")
CLIENTSIGNAL_ALLOWED_ORIGINS = _origins.split(",") if _origins else None
