"""Sphinx's configuration for the documentation site (make docs; built strictly by make test).

The pages are Markdown (MyST); the API reference comes from the package's docstrings (autodoc),
so Django is set up first, with the least a project has. Nothing is fetched at build time: no
intersphinx, no remote theme assets or fonts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import django
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

settings.configure(
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "django.contrib.sessions",
        "django.contrib.staticfiles",
        "clientsignal",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    STATIC_URL="/static/",
)
django.setup()

import clientsignal  # noqa: E402

project = "clientsignal"
author = "The clientsignal authors"
copyright = "the clientsignal authors"
release = version = clientsignal.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "requirements.txt"]

# Markdown: headings get anchors (links like protocol.md#calls are checked), ```{directive}``` and
# ::: fences, definition lists.
myst_heading_anchors = 4
myst_enable_extensions = ["colon_fence", "deflist"]

# Every reference must resolve (nitpicky): a broken link, anchor or cross-reference fails the
# build. Without network there is no intersphinx: names of Django, gevent and the standard
# library that annotations mention are left as plain text, by these patterns only.
nitpicky = True
nitpick_ignore_regex = [
    ("py:(class|exc|obj|func|meth|data|attr)", r"(django|gevent|geventwebsocket|redis)\..*"),
    ("py:(class|exc|obj|data)", r"(collections\.abc|typing|types|json|logging|uuid|datetime)\..*"),
    ("py:class", r"(HttpRequest|HttpResponse|Signal|Any|Callable|Iterator|Iterable|Mapping)"),
]

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True}
# Literal backquotes in docstrings are code, as in the Markdown pages.
default_role = "code"

html_theme = "furo"
html_title = "clientsignal %s" % version
html_static_path: list[str] = []
html_show_sourcelink = False
html_copy_source = False
html_theme_options = {"navigation_with_keys": True}
