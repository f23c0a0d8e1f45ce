"""Django settings for the API tests (in-memory SQLite, in-process backend)."""

SECRET_KEY = "clientsignal-tests"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "clientsignal",
]
# One in-memory database for every connection of the process (shared cache): the live server's
# thread, and the test thread while Playwright's sync API runs (its greenlet switches give
# Django's context-local connections a new one), see the same tables.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": "file:clientsignal-tests?mode=memory&cache=shared",
    }
}
STATIC_URL = "/static/"
ROOT_URLCONF = "tests.api.urls"
ALLOWED_HOSTS = ["*"]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
CLIENTSIGNAL_CONNECTIONS = {"/signals": "tests.api.connections.ApiConnection"}
