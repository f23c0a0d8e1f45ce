"""The attack tests' project: every knob an environment variable, so one project serves
every server the tests start.

ATTACK_DB              path of the SQLite file (a copy of a migrated template; shared by workers)
ATTACK_BACKEND         "memory" (default) or a redis:// URL
ATTACK_HEADER_TIMEOUT  CLIENTSIGNAL_HEADER_TIMEOUT, seconds (default 2)
ATTACK_SOCKJS_OPTIONS  JSON object: CLIENTSIGNAL_SOCKJS_OPTIONS (default: 1 s heartbeats)
ATTACK_LOG_LEVEL       level of the clientsignal loggers (default INFO)
ATTACK_ALLOWED_HOSTS   JSON list: ALLOWED_HOSTS (default ["*"])
ATTACK_MAX_CONNECTIONS_PER_ADDRESS  CLIENTSIGNAL_MAX_CONNECTIONS_PER_ADDRESS (default: unset)
ATTACK_REQUEST_LOG     "1": the worker's line for each request it answers (gevent-websocket's
                       handler writes it to its own logger, not gunicorn's --access-logfile;
                       websocket upgrades get none), in the server's log
ATTACK_USER_CHECK_INTERVAL  CLIENTSIGNAL_USER_CHECK_INTERVAL, seconds (default: clientsignal's)
ATTACK_BACKEND_OPTIONS JSON object: more CLIENTSIGNAL_BACKEND_OPTIONS
"""

import json
import os

SECRET_KEY = "clientsignal-attack-tests"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = json.loads(os.environ.get("ATTACK_ALLOWED_HOSTS") or '["*"]')
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "clientsignal",
    "attackproject",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("ATTACK_DB", ":memory:"),
        "OPTIONS": {"timeout": 20},
    }
}
# Django's default session engine (the database): the session cookie is a random key.
SESSION_ENGINE = os.environ.get("ATTACK_SESSION_ENGINE", "django.contrib.sessions.backends.db")
ROOT_URLCONF = "attackproject.urls"
# Pages with {% clientsignal_js %} (the scripts are served by urls.py, DEBUG or not).
STATIC_URL = "/static/"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

_backend = os.environ.get("ATTACK_BACKEND", "memory")
CLIENTSIGNAL_BACKEND = None if _backend == "memory" else _backend
CLIENTSIGNAL_BACKEND_OPTIONS = {
    "CHANNEL_PREFIX": "attack",
    **json.loads(os.environ.get("ATTACK_BACKEND_OPTIONS") or "{}"),
}
CLIENTSIGNAL_CONNECTIONS = {
    "/private": "attackproject.connections.PrivateConnection",
    "/strict": "attackproject.connections.StrictConnection",
    "/open": "attackproject.connections.OpenConnection",
    "/chat/<int:room_id>": "attackproject.connections.RoomConnection",
    "/history": "attackproject.connections.HistoryConnection",
    "/welcomed": "attackproject.connections.WelcomedConnection",
}
CLIENTSIGNAL_MULTIPLEX = "/mux"
CLIENTSIGNAL_SOCKJS_OPTIONS = json.loads(
    os.environ.get("ATTACK_SOCKJS_OPTIONS") or '{"heartbeat_delay": 1}'
)
CLIENTSIGNAL_HEADER_TIMEOUT = float(os.environ.get("ATTACK_HEADER_TIMEOUT", "2"))
CLIENTSIGNAL_STATS_TOKEN = "stats-token"
if os.environ.get("ATTACK_MAX_CONNECTIONS_PER_ADDRESS"):
    CLIENTSIGNAL_MAX_CONNECTIONS_PER_ADDRESS = int(os.environ["ATTACK_MAX_CONNECTIONS_PER_ADDRESS"])
if os.environ.get("ATTACK_USER_CHECK_INTERVAL"):
    CLIENTSIGNAL_USER_CHECK_INTERVAL = float(os.environ["ATTACK_USER_CHECK_INTERVAL"])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s %(process)d: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "clientsignal": {
            "handlers": ["console"],
            "level": os.environ.get("ATTACK_LOG_LEVEL", "INFO"),
        },
        "attackproject": {"handlers": ["console"], "level": "INFO"},
        "django": {"handlers": ["console"], "level": "WARNING"},
    },
}
if os.environ.get("ATTACK_REQUEST_LOG") == "1":
    # (Its handler's own logger loses any handler configured for it: its parent's holds.)
    LOGGING["loggers"]["geventwebsocket"] = {"handlers": ["console"], "level": "INFO"}
