"""``make demo`` works in a clean copy with nothing but /usr/bin: Debian's python3 makes the
virtualenv, the committed sockjs-client bundle is served, and npm is never needed."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import urllib.request
from pathlib import Path

import pytest

from tests.support.servers import free_port, wait_for

from .conftest import clean_copy

SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def fetch(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read() if response.status == 200 else None
    except OSError:
        return None


@pytest.mark.timeout(300)
def test_make_demo_from_a_clean_copy(tmp_path: Path) -> None:
    repo = clean_copy(tmp_path / "clientsignal")
    port = free_port()
    # HOME keeps pip's cache (dependency installs from it are fast); nothing else leaks in.
    env = {"PATH": SYSTEM_PATH, "HOME": os.environ.get("HOME", str(tmp_path))}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            ["make", "demo", "PORT=%d" % port],
            cwd=repo,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make, its sub-make and the server: one process group
        )
        try:
            url = "http://127.0.0.1:%d" % port
            page = wait_for(lambda: proc.poll() is None and fetch(url + "/"), 240, "make demo")
            assert b"new SignalSocket('/simple'" in page  # type: ignore[operator]
            bundle = fetch(url + "/static/clientsignal/sockjs.min.js")
            committed = repo / "clientsignal" / "static" / "clientsignal" / "sockjs.min.js"
            assert bundle == committed.read_bytes()
        except (TimeoutError, AssertionError):
            log.seek(0)
            print(log.read().decode(errors="replace")[-5000:])
            raise
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
    # The demo ran from the virtualenv it made with /usr/bin/python3, without npm.
    assert os.path.realpath(repo / ".venv" / "bin" / "python") == os.path.realpath(
        "/usr/bin/python3"
    )
    assert not (repo / "node_modules").exists()
