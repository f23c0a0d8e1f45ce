"""A test process that gevent has monkey-patched (some projects patch in their test settings
or conftest): the communicator works there too, on both backends."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.servers import REPO


@pytest.mark.redis
@pytest.mark.timeout(90)
def test_a_monkey_patched_test_process():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.api.settings", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.testing.patched_process"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["ok", "False", "ok", "True"]
