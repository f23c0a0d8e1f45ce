"""The README's ping/pong example, through gunicorn, in real Chromium, on every transport."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile

import pytest

from tests.support.servers import free_port, wait_for
from tests.support.transports import BROWSER_TRANSPORTS

from .conftest import EXAMPLES, example_env, migrate

pytestmark = pytest.mark.browser


def ping_pong(page, url):
    page.goto(url)
    page.wait_for_selector("body[data-state=open]", timeout=15000)
    page.click("#ping")
    page.wait_for_selector("#pongs li", timeout=15000)
    return page.inner_text("#pongs li")


@pytest.mark.parametrize("transport", BROWSER_TRANSPORTS)
def test_ping_pong(page, simple_server, transport):
    assert ping_pong(page, simple_server.url + "/?transport=" + transport) == "Pong Ponged"
    assert page.evaluate("sock.transport") == transport


def test_pong_reaches_every_open_page(browser, simple_server):
    pages = [browser.new_page() for _ in range(3)]
    try:
        for page in pages:
            page.goto(simple_server.url + "/")
            page.wait_for_selector("body[data-state=open]", timeout=15000)
        pages[0].click("#ping")
        for page in pages:
            page.wait_for_selector("#pongs li", timeout=15000)
            assert page.inner_text("#pongs li") == "Pong Ponged"
    finally:
        for page in pages:
            page.close()


def test_runsocket_serves_the_site(page):
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **example_env("simple", os.path.join(tmp, "db.sqlite3"))}
        migrate("simple", env)
        proc = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "runsocket",
                "--django",
                "--static",
                "127.0.0.1:%d" % port,
            ],
            cwd=EXAMPLES / "simple",
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            url = "http://127.0.0.1:%d/" % port
            wait_for(lambda: _answers(url), 30, "runsocket")
            assert ping_pong(page, url) == "Pong Ponged"
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(15) == 0
        assert b"clientsignal serving on" in proc.stdout.read()


def _answers(url):
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.parametrize("how", ["command line", "GUNICORN_CMD_ARGS", "config file"])
def test_several_workers_without_redis_warn_once_at_start_up(how, tmp_path):
    """clientsignal.W001 reads gunicorn's own setting, however it was given, and is logged
    by the first worker only."""
    from .conftest import run_example

    config = tmp_path / "gunicorn_settings.py"
    config.write_text("from clientsignal.gunicorn_conf import *\nworkers = 2\n")
    options = {
        "command line": {"workers": 2},
        "GUNICORN_CMD_ARGS": {"workers": None, "GUNICORN_CMD_ARGS": "--workers=2"},
        "config file": {"workers": None, "extra_args": ("-c", str(config))},
    }[how]
    for server in run_example("simple", **options):
        log = server.log_text
        wait_for(lambda: log().count("holds up to 11000 connections") == 2, 20, "both workers")  # noqa: B023
        assert log().count("clientsignal.W001") == 1
        assert 'CLIENTSIGNAL_BACKEND = "redis://' in log()
