"""Sphinx's configuration for the documentation site (make docs; built strictly by make test).

The pages are Markdown (MyST); the API reference comes from the package's docstrings (autodoc),
so Django is set up first, with the least a project has. Nothing is fetched at build time: no
intersphinx, no remote theme assets or fonts.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

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
import clientsignal.testing  # noqa: E402

# The packages' public names are imported on first use (a module __getattr__): import them now,
# so that autodoc sees each name of __all__ as a member of its package.
for package in (clientsignal, clientsignal.testing):
    for name in package.__all__:
        getattr(package, name)

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
    ("py:(class|exc|obj|func|meth|data|attr)", r"(django|gevent|geventwebsocket|redis|pytest)\..*"),
    ("py:(class|exc|obj|data)", r"(collections\.abc|typing|types|json|logging|uuid|datetime)\..*"),
    ("py:class", r"(HttpRequest|HttpResponse|Signal|Any|Callable|Iterator|Iterable|Mapping)"),
]

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# Literal backquotes in docstrings are code, as in the Markdown pages.
default_role = "code"


def internal_reference(app: object, env: object, node: Any, contnode: Any) -> Any:
    """A docstring's reference to a module or object of the package that the reference does
    not document (``:mod:`.reauthentication```, a type hint naming an internal class) is shown
    as its name, without a link, when that object exists; one that names nothing stays an
    error."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~")
    base = node.get("py:module") or ""
    names = [target, base + target if target.startswith(".") else ""]
    names += ["clientsignal." + target.lstrip(".")]
    for name in filter(None, names):
        if name.startswith("clientsignal") and _exists(name):
            return contnode
    return None


def _exists(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def setup(app: Any) -> None:
    app.connect("missing-reference", internal_reference)


html_theme = "furo"
html_title = "clientsignal %s" % version
html_static_path: list[str] = []
html_show_sourcelink = False
html_copy_source = False
html_theme_options = {"navigation_with_keys": True}
