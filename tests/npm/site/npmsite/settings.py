"""The Django side of tests/npm/test_vite.py: the README's ping/pong on /simple, and the page
Vite built (the directory in VITE_DIST) served from the same origin."""

import os

VITE_DIST = os.environ["VITE_DIST"]

DEBUG = False
SECRET_KEY = "clientsignal-npm-test-not-secret"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "clientsignal",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "npmsite.urls"
WSGI_APPLICATION = "npmsite.wsgi.application"
# No database is needed: anonymous users, sessions in signed cookies.
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

CLIENTSIGNAL_CONNECTIONS = {"/simple": "npmsite.pingpong.PingSignalConnection"}
