"""The attack tests' servers: the README's production command (tests.support.servers.
GunicornServer) on the project in ./project, with a SQLite file the workers share."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.servers import REPO, GunicornServer

PROJECT = Path(__file__).parent / "project"


def project_env(**overrides: object) -> dict[str, str]:
    env = {
        "DJANGO_SETTINGS_MODULE": "attackproject.settings",
        "PYTHONPATH": os.pathsep.join([str(PROJECT), str(REPO)]),
    }
    for name, value in overrides.items():
        if value is not None:
            env["ATTACK_" + name.upper()] = value if isinstance(value, str) else json.dumps(value)
    return env


@pytest.fixture(scope="session")
def migrated_db() -> Iterator[Path]:
    """A migrated SQLite file, made once; each server gets a copy."""
    folder = Path(tempfile.mkdtemp(prefix="clientsignal-attacks-"))
    template = folder / "template.sqlite3"
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--verbosity", "0"],
        env={**os.environ, **project_env(db=str(template))},
        cwd=PROJECT,
        check=True,
        timeout=60,
    )
    yield template
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def start(migrated_db: Path):
    """``with start(workers=1, backend=..., sockjs_options=..., ...) as server``: keyword
    arguments are the project's ATTACK_* settings; ``extra_args`` gunicorn's own flags."""

    @contextmanager
    def starter(
        workers: int = 1, extra_args: tuple[str, ...] = (), **settings: object
    ) -> Iterator[GunicornServer]:
        db = Path(tempfile.mkdtemp(prefix="clientsignal-attack-db-")) / "db.sqlite3"
        shutil.copy(migrated_db, db)
        env = project_env(db=str(db), **settings)
        try:
            server = GunicornServer(
                "attackproject.wsgi:application",
                workers=workers,
                env=env,
                cwd=PROJECT,
                extra_args=extra_args,
            )
            with server:
                yield server
        finally:
            shutil.rmtree(db.parent, ignore_errors=True)

    return starter


@pytest.fixture(scope="session", autouse=True)
def enough_open_files() -> None:
    """Room for a thousand attacking sockets in this process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, 8192) if hard != resource.RLIM_INFINITY else 8192
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
