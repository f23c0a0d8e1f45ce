"""Example projects under gunicorn, migrated into a temporary database."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator

import pytest

from tests.support.servers import REPO, GunicornServer

EXAMPLES = REPO / "examples"
# Example folder -> its Django project package.
PROJECTS = {"simple": "simple", "chat": "chatsite"}


def example_env(name: str, db: str, **extra: str) -> dict[str, str]:
    env = {"EXAMPLE_DB": db, "DJANGO_SETTINGS_MODULE": "%s.settings" % PROJECTS[name], **extra}
    env["PYTHONPATH"] = os.pathsep.join([str(EXAMPLES / name), str(REPO)])
    return env


def migrate(name: str, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=EXAMPLES / name,
        env={**os.environ, **env},
        check=True,
        timeout=60,
    )


def manage(name: str, env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=EXAMPLES / name,
        env={**os.environ, **env},
        check=True,
        timeout=60,
    )


def run_example(
    name: str,
    workers: int | None = 1,
    setup: tuple[str, ...] = (),
    extra_args: tuple[str, ...] = (),
    **extra: str,
) -> Iterator[GunicornServer]:
    with tempfile.TemporaryDirectory() as tmp:
        env = example_env(name, os.path.join(tmp, "db.sqlite3"), **extra)
        migrate(name, env)
        if setup:
            manage(name, env, "shell", "-c", "\n".join(setup))
        server = GunicornServer(
            "%s.wsgi:application" % PROJECTS[name],
            workers=workers,
            env=env,
            cwd=EXAMPLES / name,
            extra_args=extra_args,
        )
        with server:
            yield server


@pytest.fixture(scope="module")
def simple_server() -> Iterator[GunicornServer]:
    yield from run_example("simple")


CHAT_USERS = (
    "from django.contrib.auth.models import User",
    "for name in ('alice', 'bob'): User.objects.create_user(name, password='pw-' + name)",
    "User.objects.create_user('staff', password='pw-staff', is_staff=True)",
)


@pytest.fixture(scope="module")
def chat_server() -> Iterator[GunicornServer]:
    yield from run_example("chat", setup=CHAT_USERS)
