"""A front end built with a bundler uses the npm package django-clientsignal as its README says.

The package is packed from a clean copy (`make npm`: `npm pack`, whose prepack builds it from
the Django package's clientsignal.js and clientsignal.d.ts) and installed into the Vite app of
tests/npm/app (`npm ci` from its lockfile, then the tarball), type-checked (`tsc`, with a
bundler's resolution and Node's) and built (`vite build`). The built page, served from the same
origin as a clientsignal server (a Django project under gunicorn's gevent-websocket worker),
gets a pong in Chromium over websocket and xhr-streaming; Node imports and requires the same
package and gets one too.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.packaging.conftest import clean_copy
from tests.support.servers import REPO, GunicornServer

# Cold npm cache (a fresh machine): the first test also downloads Vite and TypeScript.
pytestmark = [pytest.mark.browser, pytest.mark.node, pytest.mark.timeout(300)]

SITE = Path(__file__).resolve().parent / "site"
NPM = ["npm", "--no-audit", "--no-fund", "--no-update-notifier"]


@dataclass
class App:
    tarball: Path
    path: Path
    seconds: dict[str, float] = field(default_factory=dict)


def run(name: str, app: App, args: list[str], cwd: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=240)
    app.seconds[name] = round(time.monotonic() - started, 1)
    assert done.returncode == 0, "%s failed:\n%s\n%s" % (name, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    repo = clean_copy(tmp_path_factory.mktemp("repo"))
    packed = tmp_path_factory.mktemp("packed")
    app = App(tarball=packed, path=repo / "tests" / "npm" / "app")
    run("make npm", app, ["make", "npm", "DIST=%s" % packed], repo)  # npm pack in npm/
    [app.tarball] = packed.glob("django-clientsignal-*.tgz")
    run("npm ci", app, [*NPM, "ci", "--prefer-offline"], app.path)
    run("npm install", app, [*NPM, "install", "--no-save", str(app.tarball)], app.path)
    run("npm run build", app, [*NPM, "run", "build"], app.path)  # tsc twice, vite build
    print("tests/npm: seconds per step:", app.seconds)
    return app


@pytest.fixture(scope="module")
def server(app: App) -> Iterator[GunicornServer]:
    env = {"VITE_DIST": str(app.path / "dist")}
    with GunicornServer("npmsite.wsgi:application", cwd=SITE, env=env) as server:
        yield server


def test_the_tarball_holds_the_built_modules_types_readme_and_license(app: App) -> None:
    with tarfile.open(app.tarball) as tar:
        names = {member.name for member in tar.getmembers() if member.isfile()}
        license_text = tar.extractfile("package/LICENSE").read()  # type: ignore[union-attr]
    assert names == {
        "package/package.json",
        "package/README.md",
        "package/LICENSE",
        "package/dist/clientsignal.js",
        "package/dist/clientsignal.cjs",
        "package/dist/clientsignal.node.js",
        "package/dist/clientsignal.d.ts",
        "package/dist/clientsignal.d.cts",
    }
    assert license_text == (REPO / "LICENSE").read_bytes()


def test_the_app_shares_its_sockjs_client_with_the_package(app: App) -> None:
    # The package's range admits the version the Django package vendors, which the app pins:
    # npm installed no second sockjs-client for it.
    modules = app.path / "node_modules"
    pinned = json.loads((REPO / "package.json").read_text())["devDependencies"]["sockjs-client"]
    installed = json.loads((modules / "sockjs-client" / "package.json").read_text())
    assert installed["version"] == pinned
    assert (modules / "django-clientsignal" / "package.json").exists()
    assert not (modules / "django-clientsignal" / "node_modules").exists()


@pytest.mark.parametrize("transport", ["websocket", "xhr-streaming"])
def test_the_built_page_gets_a_pong(app: App, server: GunicornServer, page, transport: str):
    page.goto("%s/?transport=%s" % (server.url, transport))
    page.wait_for_function("/pong|close|error/.test(document.getElementById('log').textContent)")
    assert page.inner_text("#log").splitlines() == [
        "open " + transport,
        "pong Ponged over " + transport,
    ]
    # One script file, Vite's bundle, and no global: SignalSocket and SockJS came in by import.
    scripts = page.eval_on_selector_all("script[src]", "s => s.map(e => e.getAttribute('src'))")
    assert len(scripts) == 1 and scripts[0].startswith("/assets/index-"), scripts
    assert page.evaluate("[typeof SignalSocket, typeof SockJS]") == ["undefined", "undefined"]


def test_node_imports_and_requires_the_package(app: App, server: GunicornServer) -> None:
    done = subprocess.run(
        ["node", "ping_from_node.mjs", server.url, "websocket"],
        cwd=app.path,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == {
        "same": True,
        "results": [{"transport": "websocket", "used": "websocket", "pong": "Ponged"}],
    }
