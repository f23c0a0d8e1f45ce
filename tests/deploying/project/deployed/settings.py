"""A project deployed as docs/deploying.md says, for tests/deploying: DEBUG off, static files
collected into ``DEPLOYED_STATIC_ROOT`` and served by whatever is in front (nginx), never by
Django; HTTPS known from the proxy's ``X-Forwarded-Proto``."""

import os

DEBUG = False
SECRET_KEY = "clientsignal-deploying-test-not-secret"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "clientsignal",
    "deployed",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
if os.environ.get("DEPLOYED_WHITENOISE"):
    # docs/deploying.md's other way: WhiteNoise serves STATIC_ROOT, no proxy needed.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
ROOT_URLCONF = "deployed.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
WSGI_APPLICATION = "deployed.wsgi.application"
# No database is needed: anonymous users, sessions in signed cookies.
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

STATIC_URL = "/static/"
STATIC_ROOT = os.environ.get("DEPLOYED_STATIC_ROOT") or None

CLIENTSIGNAL_CONNECTIONS = {"/simple": "deployed.connections.PingConnection"}
CLIENTSIGNAL_BACKEND = os.environ.get("DEPLOYED_BACKEND") or None
