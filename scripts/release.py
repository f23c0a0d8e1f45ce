"""``make release``: the sdist and wheel of the committed tree, built from a clean copy and
checked, into ``dist/``.

- the copy is ``git archive HEAD``: what is committed, nothing of the work tree (no
  node_modules, no virtualenv, no uncommitted change);
- ``python -m build`` makes the sdist, then the wheel from the sdist (what pip does with an
  sdist from PyPI), each in an isolated environment with pyproject.toml's build requirements;
- ``twine check --strict``: the metadata PyPI would refuse or render badly (the README);
- the wheel holds the package data a user needs (the sockjs-client bundle matching its
  provenance, ``clientsignal.js``, templates), the License-Expression and the version of
  ``clientsignal.__version__``; a version that is not a development one has its CHANGELOG.md
  entry.

Run from the release virtualenv (build and twine); prints the files and their sha256.
"""

from __future__ import annotations

import email
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
DIST = Path(os.environ.get("DIST") or REPO / "dist")
WHEEL_FILES = {
    "clientsignal/static/clientsignal/sockjs.min.js",
    "clientsignal/static/clientsignal/sockjs.min.js.map",
    "clientsignal/static/clientsignal/clientsignal.js",
    "clientsignal/static/clientsignal/clientsignal.d.ts",
    "clientsignal/templates/clientsignal/stats.html",
    "clientsignal/sockjs_client.json",
    "clientsignal/sockjs_client.LICENSE",
    "clientsignal/py.typed",
}


def run(*args: str, cwd: Path = REPO) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def clean_copy(dest: Path) -> str:
    """The committed tree of HEAD in ``dest``; its commit."""
    commit = run("git", "rev-parse", "HEAD").strip()
    archive = dest / "head.tar"
    run("git", "archive", "--format=tar", "-o", str(archive), "HEAD")
    with tarfile.open(archive) as tar:
        # Our own committed tree; the "data" filter where this Python has it (3.11.4 and later).
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(dest / "src", **safe)  # type: ignore[arg-type]
    archive.unlink()
    return commit


def package_version(source: Path) -> str:
    match = re.search(
        r'^__version__ = "([^"]+)"$', (source / "clientsignal/__init__.py").read_text(), re.M
    )
    if match is None:
        sys.exit("clientsignal/__init__.py has no __version__")
    return match.group(1)


def check_wheel(wheel: Path, version: str) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        missing = WHEEL_FILES - names
        if missing:
            sys.exit("the wheel lacks %s" % ", ".join(sorted(missing)))
        provenance = json.loads(archive.read("clientsignal/sockjs_client.json"))
        for name, entry in provenance["files"].items():
            digest = hashlib.sha256(archive.read("clientsignal/" + name)).hexdigest()
            if digest != entry["sha256"]:
                sys.exit("clientsignal/%s in the wheel does not match its provenance" % name)
        [metadata_name] = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = email.message_from_bytes(archive.read(metadata_name))
    if metadata["Version"] != version:
        sys.exit(
            "the wheel says version %s, clientsignal.__version__ %s"
            % (metadata["Version"], version)
        )
    if metadata["License-Expression"] != "BSD-3-Clause":
        sys.exit("the wheel has no License-Expression: BSD-3-Clause")


def check_changelog(source: Path, version: str) -> None:
    if Version(version).is_devrelease:
        return
    changelog = source / "CHANGELOG.md"
    entry = r"^## \[%s\] - \d{4}-\d{2}-\d{2}$" % re.escape(version)
    if not changelog.exists() or not re.search(entry, changelog.read_text(), re.M):
        sys.exit("CHANGELOG.md has no '## [%s] - YYYY-MM-DD' entry" % version)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="clientsignal-release-") as tmp:
        commit = clean_copy(Path(tmp))
        source = Path(tmp) / "src"
        version = package_version(source)
        check_changelog(source, version)
        out = Path(tmp) / "dist"
        subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(source)],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        built = sorted(out.iterdir())
        [wheel] = [path for path in built if path.suffix == ".whl"]
        [sdist] = [path for path in built if path.name.endswith(".tar.gz")]
        subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)],
                       check=True)  # fmt: skip
        check_wheel(wheel, version)
        DIST.mkdir(exist_ok=True)
        for path in (sdist, wheel):
            shutil.copy2(path, DIST / path.name)
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            print("%s  sha256 %s" % (DIST / path.name, digest))
    print("version %s from commit %s" % (version, commit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
