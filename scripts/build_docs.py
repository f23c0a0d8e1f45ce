"""Build the documentation site strictly, then check every link in what was built.

``make docs`` and tests/docs run it; it fetches nothing. The build (Sphinx, docs/conf.py) turns
each warning into an error: a broken cross-reference, a link to a page or heading that does not
exist, a docstring that does not render. Then, in the built HTML:

- every internal link (``href`` to a page of the site, with or without ``#anchor``) names a file
  that was built and, when it has one, an ``id`` in that file;
- every external link is well-formed (``https://host/...``, ``mailto:``); none is fetched, and
  ``--external`` lists them;
- no page loads anything (script, stylesheet, image, font) from another host.

Usage: ``python scripts/build_docs.py [OUTDIR] [--external]`` (default docs/_build/html).
Exit status 1 with one line per problem.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
DEFAULT_OUT = DOCS / "_build" / "html"

# Attributes through which a page loads something, by tag (an <a href> is a link, not a load).
LOADS = {"script": "src", "img": "src", "link": "href", "iframe": "src", "source": "src"}
HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d+)?$")


def build(out: Path) -> int:
    """Sphinx's HTML build of docs/ into ``out``; every warning an error (reported together)."""
    from sphinx.cmd.build import build_main

    return build_main(["-W", "--keep-going", "-n", "-E", "-q", "-b", "html", str(DOCS), str(out)])


class Page(HTMLParser):
    """The ids, links and loads of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.loads: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("id", "name"):
            if values.get(name) and (name == "id" or tag == "a"):
                self.ids.add(values[name] or "")
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        attr = LOADS.get(tag)
        if attr and values.get(attr) and (tag != "link" or values.get("rel") != "canonical"):
            self.loads.append(values[attr] or "")


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def is_remote(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme != "data" and bool(parts.scheme or parts.netloc)


def malformed_external(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "mailto":
        return not re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z]+", parts.path)
    return (
        parts.scheme not in ("http", "https")
        or not HOST.match(parts.netloc)
        or "." not in parts.netloc
        or any(c.isspace() for c in url)
    )


def check(out: Path) -> tuple[list[str], list[str]]:
    """The problems in the built site at ``out``, and its external links."""
    out = out.resolve()
    pages = {path: parse(path) for path in sorted(out.rglob("*.html"))}
    problems: list[str] = []
    external: set[str] = set()
    for path, page in pages.items():
        name = path.relative_to(out)
        for url in page.links:
            if is_remote(url):
                external.add(url)
                if malformed_external(url):
                    problems.append("%s: malformed external link %r" % (name, url))
                continue
            parts = urlsplit(url)
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.is_relative_to(out) or not target.exists():
                problems.append("%s: link to %r: no such file in the site" % (name, url))
                continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else parse(target).ids
                if fragment not in ids:
                    problems.append("%s: link to %r: no such anchor" % (name, url))
        for url in page.loads:
            if is_remote(url):
                problems.append("%s: loads %r from another host" % (name, url))
    for css in out.rglob("*.css"):
        for url in remote_css_urls(css.read_text(encoding="utf-8", errors="replace")):
            problems.append("%s: loads %r from another host" % (css.relative_to(out), url))
    return problems, sorted(external)


def remote_css_urls(text: str) -> Iterator[str]:
    """``url(...)`` and ``@import`` targets of a stylesheet that name another host."""
    for match in re.finditer(r"""(?:url\(\s*|@import\s+(?!url\())["']?([^"')\s]+)""", text):
        if is_remote(match.group(1)):
            yield match.group(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--external", action="store_true", help="list the external links")
    args = parser.parse_args(argv)
    if build(args.out) != 0:
        print("the documentation did not build cleanly (warnings above)", file=sys.stderr)
        return 1
    problems, external = check(args.out)
    for problem in problems:
        print(problem, file=sys.stderr)
    if args.external:
        print("\n".join(external))
    if problems:
        return 1
    print(
        "built %s: every internal link resolves, %d external links well-formed, none fetched"
        % (args.out / "index.html", len(external))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
