"""The documentation site builds clean, and says what the code does.

The build is ``make docs``'s (scripts/build_docs.py): Sphinx with every warning an error (broken
links, anchors, cross-references, docstrings that do not render), then every internal link of
the built pages resolved, external ones checked for form only (nothing is fetched). The
reference is then held to the code: every public name, every setting with its default, every
SockJS option with its default, every member of the browser client's TypeScript declaration.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sphinx.util.inventory import InventoryFile

import clientsignal
import clientsignal.testing
from clientsignal.sockjs_protocol.options import SockJSOptions
from scripts.build_docs import DOCS, check
from tests.support.servers import REPO

# Sphinx, autodoc importing Django and the package, on a busy machine: measured about 10 s.
pytestmark = pytest.mark.timeout(240)

DTS = REPO / "clientsignal" / "static" / "clientsignal" / "clientsignal.d.ts"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "scripts/build_docs.py", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=200,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every internal link resolves" in result.stdout
    return out


@pytest.fixture(scope="module")
def inventory(site: Path) -> dict[str, dict[str, object]]:
    with open(site / "objects.inv", "rb") as stream:
        return InventoryFile.load(stream, "", lambda base, uri: uri)


def documented(inventory: dict[str, dict[str, object]], domain: str) -> set[str]:
    return {name for role, names in inventory.items() if role.startswith(domain) for name in names}


def test_the_site_builds_strictly_with_every_part(site: Path) -> None:
    pages = {str(p.relative_to(site)) for p in site.rglob("*.html")}
    for page in (
        "index.html",
        "tutorial.html",
        "reference/settings.html",
        "reference/api.html",
        "reference/testing.html",
        "reference/javascript.html",
        "protocol.html",
        "architecture.html",
        "deploying.html",
        "testing.html",
        "databases.html",
        "attacks.html",
        "howto/history.html",
        "howto/presence.html",
        "howto/calls.html",
        "howto/redis.html",
        "howto/production.html",
    ):
        assert page in pages
    # Nothing from a CDN: the theme's assets are in the site itself.
    assert (site / "_static").is_dir()


def test_every_public_name_is_in_the_api_reference(
    inventory: dict[str, dict[str, object]],
) -> None:
    names = documented(inventory, "py:")
    for package in (clientsignal, clientsignal.testing):
        missing = sorted(
            "%s.%s" % (package.__name__, name)
            for name in package.__all__
            if "%s.%s" % (package.__name__, name) not in names
        )
        assert not missing, "add to docs/reference/: %s" % ", ".join(missing)


def table_rows(page: Path, heading: str) -> dict[str, str]:
    """The first two cells of each row of the table under ``heading``, by the first cell's
    backquoted name."""
    text = page.read_text()
    section = text.split("\n## %s\n" % heading, 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"^\| `([A-Za-z_]+)` \| (.*?) \|", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def literal(cell: str) -> object:
    """The value a default cell starts with (```10.0``: ...``), or a marker of what it says."""
    match = re.match(r"^`([^`]+)`", cell)
    if match is None:
        return "derived" if cell.startswith("set from ") else cell
    return ast.literal_eval(match.group(1))


def test_every_setting_is_in_the_reference_with_its_default() -> None:
    from clientsignal.conf import DEFAULTS

    rows = table_rows(DOCS / "reference" / "settings.md", "Django settings")
    assert set(rows) == set(DEFAULTS)
    assert {name: literal(cell) for name, cell in rows.items()} == DEFAULTS


def test_every_sockjs_option_is_in_the_reference_with_its_default() -> None:
    rows = table_rows(DOCS / "reference" / "settings.md", "SockJS options")
    fields = {field.name: field.default for field in dataclasses.fields(SockJSOptions)}
    assert set(rows) == set(fields)
    for name, cell in rows.items():
        value = literal(cell)
        if value != "derived":
            assert value == fields[name], name


def declared_members() -> set[str]:
    """The names SignalSocket's declaration gives: its static and instance members and
    methods, and the fields of its Options."""
    text = DTS.read_text()
    body = text.split("declare class SignalSocket {", 1)[1].split("\n}", 1)[0]
    members = set(re.findall(r"^\s+(?:static\s+)?(?:readonly\s+)?(\w+)\s*[(<:?]", body, re.M))
    members.discard("constructor")
    options = text.split("interface Options {", 1)[1].split("\n  }", 1)[0]
    fields = set(re.findall(r"^\s+(\w+)\?:", options, re.M))
    return {"SignalSocket." + name for name in members} | {"option " + f for f in fields}


def test_every_member_of_the_typescript_declaration_is_in_the_js_reference(
    inventory: dict[str, dict[str, object]],
) -> None:
    declared = declared_members()
    assert {"SignalSocket.call", "SignalSocket.defaults", "option multiplex"} <= declared
    names = documented(inventory, "js:")
    page = (DOCS / "reference" / "javascript.md").read_text()
    options = set(table_rows(DOCS / "reference" / "javascript.md", "Options"))
    missing = sorted(
        name
        for name in declared
        if not (name in names or (name.startswith("option ") and name[7:] in options))
    )
    assert not missing, "document in docs/reference/javascript.md: %s" % ", ".join(missing)
    # The declaration itself, whole, on the page.
    assert "{literalinclude} ../../clientsignal/static/clientsignal/clientsignal.d.ts" in page


def test_the_link_check_finds_what_is_broken(tmp_path: Path) -> None:
    """scripts/build_docs.py's check on a small site with one of each fault."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text(
        '<h1 id="top">Top</h1><a href="sub/page.html#there">ok</a><a href="#top">ok</a>'
        '<a href="sub/page.html#nowhere">bad anchor</a><a href="missing.html">no page</a>'
        '<a href="https://example.org/x">ok</a><a href="http://exa mple/">malformed</a>'
        '<script src="https://cdn.example.org/lib.js"></script>'
    )
    (tmp_path / "sub" / "page.html").write_text(
        '<p id="there"></p><a href="../index.html#top">ok</a>'
        '<link rel="stylesheet" href="../style.css">'
    )
    (tmp_path / "style.css").write_text("@import url('https://fonts.example.org/font.css');")
    problems, external = check(tmp_path)
    assert sorted(problems) == sorted(
        [
            "index.html: link to 'sub/page.html#nowhere': no such anchor",
            "index.html: link to 'missing.html': no such file in the site",
            "index.html: malformed external link 'http://exa mple/'",
            "index.html: loads 'https://cdn.example.org/lib.js' from another host",
            "style.css: loads 'https://fonts.example.org/font.css' from another host",
        ]
    )
    assert external == ["http://exa mple/", "https://example.org/x"]


def test_every_relative_link_of_the_readme_names_a_file() -> None:
    """The README is not a page of the site: its links into docs/ are checked here."""
    text = (REPO / "README.md").read_text()
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    relative = [link for link in links if "://" not in link]
    assert "docs/tutorial.md" in relative
    missing = [link for link in relative if not (REPO / link).exists()]
    assert not missing
