"""The wheel, built from a clean copy, installed into a fresh virtualenv of the system's Python,
serves a user's project (tests/packaging/project) under gunicorn's gevent-websocket worker as
the README says to run it in production, and real Chromium pings and gets its pong: with the
static files straight from the installed package, and collected by ManifestStaticFilesStorage.

The project runs from a folder outside the repository, with nothing of the repository on
sys.path, so every import of clientsignal (and every static file) comes from the wheel.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.servers import REPO, WORKER, GunicornServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
TRANSPORTS = ["websocket", "xhr-polling"]


@dataclass
class Installed:
    venv: Path
    project: Path

    def env(self, **extra: str) -> dict[str, str]:
        # Nothing of the test run's environment: no PYTHONPATH, no DJANGO_SETTINGS_MODULE.
        path = "%s:%s" % (self.venv / "bin", SYSTEM_PATH)
        return {"PATH": path, "HOME": os.environ.get("HOME", "/"), "LANG": "C.UTF-8", **extra}

    def run(self, *args: str, **env: str) -> str:
        result = subprocess.run(
            [str(self.venv / "bin" / "python"), *args],
            cwd=self.project,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout + result.stderr


class WheelServer(GunicornServer):
    """The README's production command, from the fresh virtualenv, in the project's folder."""

    def __init__(self, installed: Installed, **env: str) -> None:
        super().__init__("project.wsgi:application", env=env, cwd=installed.project)
        self.installed = installed
        gunicorn = installed.run("-c", "import gunicorn; print(gunicorn.version_info[0])")
        # gunicorn 27 opens a control socket at a fixed path: parallel servers would share it.
        self.control = ["--no-control-socket"] if int(gunicorn) >= 27 else []

    def command(self) -> list[str]:
        return [
            str(self.installed.venv / "bin" / "gunicorn"),
            "-k", WORKER,
            "-w", "1",
            "-b", "127.0.0.1:%d" % self.port,
            *self.control,
            self.app,
        ]  # fmt: skip

    def environment(self) -> dict[str, str]:
        return self.installed.env(**self.env)


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    python = shutil.which("python3", path=SYSTEM_PATH)
    if python is None:
        pytest.skip("no system python3")
    root = tmp_path_factory.mktemp("installed")
    venv = root / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
    # Dependencies come from the index as for a user (pip's cache makes it quick).
    pip_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        env=pip_env,
        check=True,
        timeout=300,
    )
    project = shutil.copytree(
        REPO / "tests" / "packaging" / "project",
        root / "project",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return Installed(venv, project)


@pytest.fixture(scope="module")
def server(installed: Installed) -> Iterator[WheelServer]:
    server = WheelServer(installed)
    with server:
        yield server


@pytest.fixture(scope="module")
def static_root(installed: Installed) -> Path:
    root = installed.project.parent / "static_root"
    installed.run("manage.py", "collectstatic", "--noinput", PROJECT_STATIC_ROOT=str(root))
    return root


@pytest.fixture(scope="module")
def manifest_server(installed: Installed, static_root: Path) -> Iterator[WheelServer]:
    server = WheelServer(installed, PROJECT_STATIC_ROOT=str(static_root))
    with server:
        yield server


def ping_pong(page: object, url: str) -> str:
    page.goto(url)  # type: ignore[attr-defined]
    page.wait_for_selector("body[data-state=open]", timeout=15000)  # type: ignore[attr-defined]
    page.click("#ping")  # type: ignore[attr-defined]
    page.wait_for_selector("#pong:has-text('Pong')", timeout=15000)  # type: ignore[attr-defined]
    return page.inner_text("#pong")  # type: ignore[attr-defined]


def test_clientsignal_comes_from_the_wheel_with_the_bundle(installed: Installed) -> None:
    where = installed.run("-c", "import clientsignal; print(clientsignal.__file__)")
    package = Path(where.strip()).parent
    assert package.is_relative_to(installed.venv)
    static = package / "static" / "clientsignal"
    for name in ("sockjs.min.js", "sockjs.min.js.map", "clientsignal.js"):
        assert (static / name).is_file(), name
    provenance = json.loads((package / "sockjs_client.json").read_text())
    for name, entry in provenance["files"].items():
        assert hashlib.sha256((package / name).read_bytes()).hexdigest() == entry["sha256"]


def test_manage_py_check_is_clean(installed: Installed) -> None:
    output = installed.run("manage.py", "check", "--fail-level", "WARNING")
    assert "System check identified no issues (0 silenced)." in output


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ping_pong(page: object, server: WheelServer, transport: str) -> None:
    assert ping_pong(page, server.url + "/?transport=" + transport) == "Pong Ponged"
    assert page.evaluate("sock.transport") == transport  # type: ignore[attr-defined]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ping_pong_with_manifest_storage(
    page: object, manifest_server: WheelServer, static_root: Path, transport: str
) -> None:
    assert ping_pong(page, manifest_server.url + "/?transport=" + transport) == "Pong Ponged"
    sources = page.eval_on_selector_all(  # type: ignore[attr-defined]
        "script[src]", "scripts => scripts.map(s => s.getAttribute('src'))"
    )
    # The hashed names, whose files collectstatic wrote, the bundle naming its hashed map.
    bundle = re.fullmatch(r"/static/(clientsignal/sockjs\.min\.[0-9a-f]{12}\.js)", sources[0])
    assert bundle, sources
    assert re.fullmatch(r"/static/clientsignal/clientsignal\.[0-9a-f]{12}\.js", sources[1])
    source_map = re.search(
        r"sourceMappingURL=(sockjs\.min\.js\.[0-9a-f]{12}\.map)",
        (static_root / bundle.group(1)).read_text(),
    )
    assert source_map and (static_root / "clientsignal" / source_map.group(1)).is_file()
