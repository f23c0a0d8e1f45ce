"""A user's project for tests/packaging/test_wheel.py, run against the installed wheel.

PROJECT_STATIC_ROOT set: production-like, DEBUG off, ManifestStaticFilesStorage over that
STATIC_ROOT (after ``manage.py collectstatic``), served by ``django.views.static.serve``.
Unset: DEBUG on, static files straight from the installed apps through the finders.
"""

import os

STATIC_ROOT = os.environ.get("PROJECT_STATIC_ROOT") or None
DEBUG = STATIC_ROOT is None

SECRET_KEY = "clientsignal-packaging-test-not-secret"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "clientsignal",
    "pingapp",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "project.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
WSGI_APPLICATION = "project.wsgi.application"
# No database is needed: anonymous users, sessions in signed cookies.
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

STATIC_URL = "/static/"
if STATIC_ROOT:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }

CLIENTSIGNAL_CONNECTIONS = {"/simple": "pingapp.PingSignalConnection"}
