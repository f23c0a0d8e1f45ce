"""The tutorial (docs/tutorial.md), followed as printed: each command run, each file written
(whole, or "at the end" appended), in the page's order, in a fresh folder. Each time it says to
run ``runsocket``, the printed command serves on a free port and what the page then promises
is checked over a real websocket (a ping gets its pong; what is said in a room reaches that
room only); its last command, ``manage.py test``, runs the tests it has the reader write.

Only the installation is not repeated: this virtualenv already has the package installed as
the page installs it (tests/packaging installs a wheel into a fresh virtualenv).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.http import request
from tests.support.servers import _Process
from tests.support.sockjs import SignalClient

pytestmark = pytest.mark.timeout(180)

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"
# The installation, which this virtualenv has already done.
INSTALLED = ("python3 -m venv ", ". .venv/bin/activate", "git clone ", "pip install ")
BLOCK = re.compile(
    r"^```console\n(?P<console>.*?)^```$"
    r"|^```\{code-block\} \w+\n:caption: (?P<caption>[^\n]+)\n\n(?P<content>.*?)^```$",
    re.M | re.S,
)


def steps() -> Iterator[tuple[str, str]]:
    """The page's steps in order: ("run", command) and ("write", caption, content)."""
    for match in BLOCK.finditer(TUTORIAL.read_text()):
        if match.group("console") is not None:
            for line in match.group("console").splitlines():
                assert line.startswith("$ "), "a console line without a prompt: %r" % line
                for command in line[2:].split(" && "):
                    yield "run", command
        else:
            yield "write:" + match.group("caption"), match.group("content")


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


class Runsocket(_Process):
    """The printed ``runsocket`` command on a free port, in a session of its own (``--reload``
    runs the server in a child process: both are stopped together)."""

    name = "runsocket"

    def __init__(self, args: list[str], cwd: Path) -> None:
        super().__init__()
        self.args, self.folder = args, cwd

    def command(self) -> list[str]:
        return ["setsid", sys.executable, *self.args, "127.0.0.1:%d" % self.port]

    def environment(self) -> dict[str, str]:
        return environment()

    def cwd(self) -> Path:
        return self.folder

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout)


def ping_pongs(url: str) -> None:
    page = request("GET", url + "/")
    assert page.status == 200 and "clientsignal.js" in page.body and "/ping" in page.body
    watcher, clicker = SignalClient(url + "/ping"), SignalClient(url + "/ping")
    clicker.send("ping", {"ping": "stringping"})
    for client in (clicker, watcher):
        assert client.next_event() == {"event": "pong", "data": {"pong": "Ponged", "sender": None}}


def rooms_hear_their_own(url: str) -> None:
    assert request("GET", url + "/room/1/").status == 200
    one, other, elsewhere = (SignalClient(url + path) for path in ("/chat/1", "/chat/1", "/chat/2"))
    one.send("say", {"text": "hi"})
    for client in (one, other):
        said = client.next_event()
        assert said["event"] == "said"
        assert (said["data"]["room_id"], said["data"]["author"], said["data"]["text"]) == (
            1,
            "someone",
            "hi",
        )
    with pytest.raises(TimeoutError):
        elsewhere.next_event(timeout=0.5)


# What the page promises after each of its runsocket commands, in order.
PROMISES: list[list[Callable[[str], None]]] = [[ping_pongs], [ping_pongs, rooms_hear_their_own]]


def run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    args = shlex.split(command)
    if args[0] == "django-admin":
        args = [sys.executable, "-m", "django", *args[1:]]
    elif args[0] == "python":
        args = [sys.executable, *args[1:]]
    else:
        raise AssertionError("the tutorial runs %r: teach this test how" % command)
    result = subprocess.run(
        args, cwd=cwd, env=environment(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, "%s\n%s%s" % (command, result.stdout, result.stderr)
    return result


def test_the_tutorial_as_printed(tmp_path: Path) -> None:
    cwd = tmp_path
    servers = 0
    tested = None
    for step, text in steps():
        if step == "run":
            if text.startswith(INSTALLED):
                continue
            if text.startswith("mkdir "):
                (cwd / text.split()[1]).mkdir()
            elif text.startswith("cd "):
                cwd = cwd / text.split()[1]
            elif text.startswith("python manage.py runsocket "):
                with Runsocket(shlex.split(text)[1:], cwd) as server:
                    for promise in PROMISES[servers]:
                        promise("http://127.0.0.1:%d" % server.port)
                servers += 1
            else:
                tested = run(text, cwd)
        else:
            caption = step[len("write:") :]
            path, _, where = caption.partition(", ")
            target = cwd / path
            if where == "at the end":
                assert target.exists(), "%s: appended to, but not there" % path
                with target.open("a") as file:
                    file.write("\n" + text)
            else:
                assert not where, "a caption this test does not know: %r" % caption
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
    assert servers == len(PROMISES)
    # The last command: the tests the page has the reader write, which pass.
    assert tested is not None and tested.args[1:] == ["manage.py", "test", "chat"]
    assert "Ran 2 tests" in tested.stderr and "\nOK" in tested.stderr
