"""A small app with presence, tested on Redis with docs/testing.md's pattern as printed."""

SECRET_KEY = "clientsignal-test-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "clientsignal",
    "lobby",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "presencesite.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "presence.sqlite3"}}
USE_TZ = True

CLIENTSIGNAL_CONNECTIONS = {"/lobby/<int:room_id>": "lobby.connections.LobbyConnection"}
