"""Django settings for the API tests (in-memory sqlite, in-process backend)."""

SECRET_KEY = "clientsignal-tests"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "clientsignal",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
STATIC_URL = "/static/"
ROOT_URLCONF = "tests.api.urls"
ALLOWED_HOSTS = ["*"]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
CLIENTSIGNAL_CONNECTIONS = {"/signals": "tests.api.connections.ApiConnection"}
