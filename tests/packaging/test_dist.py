"""The sdist and the wheel built from a clean copy hold what they should, and nothing more.

The wheel's ``clientsignal/`` is exactly the package's files in git (the sockjs-client bundle,
its map, provenance and license, templates, static files included); the sdist has the docs,
tests, examples, LICENSE and what re-vendors the bundle, and builds the very same wheel.
"""

from __future__ import annotations

import email
import hashlib
import json
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.support.servers import REPO

from .conftest import build_wheel, git_files

pytestmark = pytest.mark.timeout(240)

BUNDLE = {
    "clientsignal/static/clientsignal/sockjs.min.js",
    "clientsignal/static/clientsignal/sockjs.min.js.map",
    "clientsignal/sockjs_client.json",
    "clientsignal/sockjs_client.LICENSE",
}
PACKAGE_DATA = BUNDLE | {
    "clientsignal/static/clientsignal/clientsignal.js",
    "clientsignal/static/clientsignal/clientsignal.d.ts",
    "clientsignal/templates/clientsignal/stats.html",
    "clientsignal/py.typed",  # users' type checkers read the package's hints
}
CLASSIFIERS = {
    "Environment :: Web Environment",
    "Framework :: Django :: 4.2",
    "Framework :: Django :: 5.2",
    "Intended Audience :: Developers",
    "Operating System :: OS Independent",
    "Programming Language :: Python :: 3.11",
    "Topic :: Internet :: WWW/HTTP",
}


def sdist_files(sdist: Path) -> dict[str, bytes]:
    """Member path (without the top folder) -> content, files only."""
    files = {}
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            content = archive.extractfile(member) if member.isfile() else None
            if content is not None:
                files[member.name.split("/", 1)[1]] = content.read()
    return files


def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name for name in archive.namelist() if not name.endswith("/")}


def test_wheel_holds_the_package_files_in_git_and_nothing_else(wheel: Path) -> None:
    names = wheel_names(wheel)
    package = {name for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert package == {name for name in git_files() if name.startswith("clientsignal/")}
    assert PACKAGE_DATA <= package


def test_wheel_metadata(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        [dist_info] = {name.split("/")[0] for name in archive.namelist() if ".dist-info/" in name}
        metadata = email.message_from_bytes(archive.read(dist_info + "/METADATA"))
        licenses = [
            name
            for name in archive.namelist()
            if name.startswith(dist_info) and name.endswith("/LICENSE")
        ]
        assert [archive.read(name) for name in licenses] == [(REPO / "LICENSE").read_bytes()]
    classifiers = set(metadata.get_all("Classifier") or [])
    assert CLASSIFIERS <= classifiers
    # Only what the tests run on is claimed: Debian 12's Python, Django's two LTS series.
    assert {c for c in classifiers if c.startswith("Programming Language :: Python :: 3.")} == {
        "Programming Language :: Python :: 3.11"
    }
    # PEP 639: the SPDX expression, which supersedes the License classifiers.
    assert metadata["License-Expression"] == "BSD-3-Clause"
    assert not [c for c in classifiers if c.startswith("License ::")]
    assert metadata["License-File"] == "LICENSE"
    requires = {
        requirement.name: requirement.specifier
        for requirement in map(Requirement, metadata.get_all("Requires-Dist") or [])
        if requirement.marker is None  # not an extra's
    }
    # gunicorn's gevent worker imports packaging without declaring it.
    assert {"django", "gevent", "gevent-websocket", "gunicorn", "packaging"} <= set(requires)
    # The floors that install (make test runs on them) and the Django series that are tested.
    assert "22.10.2" not in requires["gevent"] and "24.10.1" in requires["gevent"]
    assert [
        v for v in ("4.2", "4.2.30", "5.0.1", "5.1", "5.2.9", "6.0") if v in requires["django"]
    ] == [
        "4.2",
        "4.2.30",
        "5.2.9",
    ]


def test_sdist_holds_docs_tests_examples_license_and_the_bundle(sdist: Path) -> None:
    files = sdist_files(sdist)
    listed = set(git_files())
    expected = {
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "MANIFEST.in",
        "setup.cfg",
        "pyproject.toml",
        "package.json",
        "package-lock.json",
        "scripts/vendor_sockjs.js",
        "npm/package.json",
        "npm/README.md",
        "scripts/build_npm.js",
        *PACKAGE_DATA,
        *(name for name in listed if name.split("/")[0] in {"docs", "tests", "examples"}),
        *(name for name in listed if name.startswith("clientsignal/")),
    }
    assert expected - set(files) == set()
    assert not [name for name in files if name.split("/")[0] in {"node_modules", ".venv"}]
    provenance = json.loads(files["clientsignal/sockjs_client.json"])
    for name, entry in provenance["files"].items():
        assert hashlib.sha256(files["clientsignal/" + name]).hexdigest() == entry["sha256"]


def test_wheel_built_from_the_sdist_is_the_same(sdist: Path, wheel: Path, tmp_path: Path) -> None:
    # What pip does with the sdist from PyPI when no wheel fits: nothing may be missing.
    assert wheel_names(build_wheel(sdist, tmp_path)) == wheel_names(wheel)
