"""A project on a real PostgreSQL or MariaDB, as a production site runs it: Django's own
DATABASES settings, nothing of clientsignal's beyond the connections. The tests choose the
database, the driver and CONN_MAX_AGE through the environment:

- DBTEST_VENDOR: postgresql or mysql; DBTEST_PORT, DBTEST_NAME: the server the test started.
- DBTEST_DRIVER: psycopg (3), psycopg2 (as on a site without psycopg 3), psycopg2-alone (without
  psycogreen either), pymysql (installed as MySQLdb, as the E061 hint says), mysqlclient.
- DBTEST_CONN_MAX_AGE (seconds), DBTEST_POOL=1 for Django 5.1+'s psycopg pool.
"""

import os
import sys

DRIVER = os.environ["DBTEST_DRIVER"]
if DRIVER.startswith("psycopg2"):
    # A site with psycopg2 and not psycopg 3 (this test environment has both installed).
    sys.modules["psycopg"] = None  # type: ignore[assignment]
if DRIVER == "psycopg2-alone":
    sys.modules["psycogreen"] = None  # type: ignore[assignment]
if DRIVER == "pymysql":
    import pymysql

    pymysql.install_as_MySQLdb()

SECRET_KEY = "clientsignal-databases-tests"
DEBUG = False
USE_TZ = True
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
ROOT_URLCONF = "dbproject.urls"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

VENDOR = os.environ["DBTEST_VENDOR"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends." + VENDOR,
        "NAME": os.environ["DBTEST_NAME"],
        "USER": "postgres" if VENDOR == "postgresql" else "root",
        "PASSWORD": "",
        "HOST": "127.0.0.1",
        "PORT": os.environ["DBTEST_PORT"],
        "CONN_MAX_AGE": int(os.environ.get("DBTEST_CONN_MAX_AGE", "0")),
    }
}
if DRIVER == "pymysql":
    # PyMySQL 1.2+ tries TLS by default and builds a TLS context for every new connection
    # (about 50 ms of the worker's CPU); this server has no TLS (docs/databases.md).
    DATABASES["default"]["OPTIONS"] = {"ssl_disabled": True}
if os.environ.get("DBTEST_POOL"):
    # Above CLIENTSIGNAL_DATABASE_CONNECTIONS (20), so that pages find room in the pool too.
    DATABASES["default"]["OPTIONS"] = {"pool": {"min_size": 2, "max_size": 25}}

CLIENTSIGNAL_CONNECTIONS = {
    "/db": "dbproject.connections.DatabaseConnection",
    "/checked": "dbproject.connections.CheckedConnection",
}
CLIENTSIGNAL_STATS_TOKEN = "databases-tests"
# The tests count connections and answers, not speed: on a busy machine (two cores shared
# with the rest of the suite) a burst may take longer than the default 10 s wait.
CLIENTSIGNAL_DATABASE_WAIT = 60.0
# Hundreds of test clients come from 127.0.0.1.
CLIENTSIGNAL_SOCKJS_OPTIONS = {"max_sessions_per_address": 0}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,  # gunicorn's error log says why a worker did not boot
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"clientsignal": {"handlers": ["console"], "level": "INFO"}},
}
if "DBTEST_BOUND" in os.environ:
    CLIENTSIGNAL_DATABASE_CONNECTIONS = int(os.environ["DBTEST_BOUND"])
