"""What a user gets: a clean copy of the repository (the files git lists, as a fresh clone has
them: no node_modules, no virtualenv), and the sdist and wheel built from it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import REPO


def git_files() -> list[str]:
    """Tracked and untracked-but-not-ignored files: what a commit of this tree would hold."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the clean copy is made from `git ls-files`")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    return sorted({os.fsdecode(name) for name in listed.split(b"\0") if name})


def clean_copy(dest: Path) -> Path:
    for name in git_files():
        source = REPO / name
        if not source.is_file():  # deleted in the work tree, not yet in the index
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return dest


def build_wheel(source: Path, out: Path) -> Path:
    """``pip wheel`` as a user's ``pip install`` does it: an isolated build with the
    ``[build-system]`` requirements of pyproject.toml."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)],
        check=True,
        timeout=180,
    )
    [wheel] = out.glob("*.whl")
    return wheel


def build_sdist(source: Path, out: Path) -> Path:
    """The sdist through setuptools' PEP 517 hook (``python -m build`` is not installed)."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from setuptools import build_meta; build_meta.build_sdist(sys.argv[1])",
            str(out),
        ],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=120,
    )
    [sdist] = out.glob("*.tar.gz")
    return sdist


# Each build gets a copy of its own: a build writes build/ and *.egg-info/ into its source, and
# setuptools puts the files of an existing egg-info/SOURCES.txt in the next sdist.


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = clean_copy(tmp_path_factory.mktemp("wheel-source"))
    return build_wheel(source, tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = clean_copy(tmp_path_factory.mktemp("sdist-source"))
    return build_sdist(source, tmp_path_factory.mktemp("sdist"))
