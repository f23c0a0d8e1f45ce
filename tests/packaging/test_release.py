"""``make release`` in a fresh clone, with nothing but /usr/bin: the sdist and wheel of the
committed tree in dist/, checked by twine, the wheel with the static bundle; a release version
without its CHANGELOG.md entry is refused before anything is built."""

from __future__ import annotations

import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.support.servers import REPO

pytestmark = pytest.mark.timeout(300)

SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def make_release(clone: Path) -> subprocess.CompletedProcess[str]:
    # HOME keeps pip's cache (build and twine install from it quickly); nothing else leaks in.
    env = {"PATH": SYSTEM_PATH, "HOME": os.environ.get("HOME", str(clone))}
    return subprocess.run(
        ["make", "release"], cwd=clone, env=env, capture_output=True, text=True, timeout=280
    )


def git(clone: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=clone,
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: make release builds the committed tree")
    path = tmp_path_factory.mktemp("release") / "clientsignal"
    subprocess.run(["git", "clone", "-q", str(REPO), str(path)], check=True, timeout=120)
    return path


def test_make_release_builds_and_checks_both_archives(clone: Path) -> None:
    result = make_release(clone)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count("PASSED") == 2  # twine check, sdist and wheel
    version = re.search(
        r'__version__ = "([^"]+)"', (clone / "clientsignal/__init__.py").read_text()
    )
    assert version is not None
    [wheel] = (clone / "dist").glob("*.whl")
    [sdist] = (clone / "dist").glob("*.tar.gz")
    assert wheel.name == "django_clientsignal-%s-py3-none-any.whl" % version.group(1)
    assert sdist.name == "django_clientsignal-%s.tar.gz" % version.group(1)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {
        "clientsignal/static/clientsignal/sockjs.min.js",
        "clientsignal/static/clientsignal/clientsignal.js",
    } <= names
    assert "sha256" in result.stdout


def test_a_release_version_needs_its_changelog_entry(clone: Path) -> None:
    init = clone / "clientsignal/__init__.py"
    init.write_text(re.sub(r'__version__ = "[^"]+"', '__version__ = "9.9.9"', init.read_text()))
    git(clone, "commit", "-q", "-am", "release 9.9.9")
    result = make_release(clone)
    assert result.returncode != 0
    assert "CHANGELOG.md has no '## [9.9.9] - YYYY-MM-DD' entry" in result.stderr
