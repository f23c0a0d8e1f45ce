"""The benchmark's Node helpers (idle.js, listen.js) run until their stdin closes."""

from __future__ import annotations

import subprocess


def stop_child(proc: subprocess.Popen) -> None:
    """Close ``proc``'s stdin, its signal to finish; kill it if it has not within 10 s."""
    if proc.poll() is None:
        try:
            proc.stdin.close()
            proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(5)
