"""Private virtual environments for the benchmark's Python peers.

Each peer ``<name>`` gets ``bench/.venvs/<name>``, made with ``python -m venv`` and filled by pip
from the pinned ``bench/peers/requirements-<name>.txt``; nothing goes into the main environment.
A marker file in the venv holds a hash of the requirements file and of the interpreter; when it
matches, :func:`ensure` returns at once without running pip. When it does not (requirements
edited, another Python, an install cut short), the venv is rebuilt from scratch.

    python bench/peers/venvs.py channels socketio     # create or check, print the bin dirs
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

PEERS = Path(__file__).resolve().parent
VENVS = PEERS.parent / ".venvs"
MARKER = "bench-requirements.sha256"


def _fingerprint(requirements: Path) -> str:
    """Hash of the requirements file and the interpreter the venv is built from."""
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(("\0%s\0%s" % (sys.version, os.path.realpath(sys.executable))).encode())
    return digest.hexdigest()


def _bin_dir(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin")


def ensure(name: str) -> Path:
    """Create ``bench/.venvs/<name>`` if missing or stale and return its bin directory.

    Raises FileNotFoundError if ``requirements-<name>.txt`` does not exist and
    subprocess.CalledProcessError if ``venv`` or ``pip`` fails (the marker is then not written,
    so the next call starts over).
    """
    requirements = PEERS / ("requirements-%s.txt" % name)
    fingerprint = _fingerprint(requirements)
    venv = VENVS / name
    marker = venv / MARKER
    bin_dir = _bin_dir(venv)
    if marker.is_file() and marker.read_text().strip() == fingerprint:
        return bin_dir
    if venv.exists():
        shutil.rmtree(venv)
    VENVS.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    subprocess.run(
        [
            str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-input", "-r", str(requirements),
        ],
        check=True,
    )  # fmt: skip
    marker.write_text(fingerprint + "\n")
    return bin_dir


if __name__ == "__main__":
    for argument in sys.argv[1:] or ["channels", "socketio"]:
        print(ensure(argument))
