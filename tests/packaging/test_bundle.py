"""The sockjs-client bundle we commit and ship is the pinned npm package's, byte for byte.

``clientsignal/sockjs_client.json`` (written by ``npm run vendor``) records the package, its
version and lockfile integrity, and the sha256 of each copied file. These tests hold the
committed files, that record, package.json, package-lock.json and the package ``npm ci``
installed (``make test`` runs it) to one another.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import REPO

pytestmark = pytest.mark.timeout(30)

PACKAGE = REPO / "clientsignal"
PROVENANCE = PACKAGE / "sockjs_client.json"
NPM_PACKAGE = REPO / "node_modules" / "sockjs-client"
BUNDLE = ("static/clientsignal/sockjs.min.js", "static/clientsignal/sockjs.min.js.map")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def provenance() -> dict[str, Any]:
    return read_json(PROVENANCE)


def test_provenance_names_the_bundle_and_its_map(provenance: dict[str, Any]) -> None:
    assert provenance["package"] == "sockjs-client"
    assert set(BUNDLE) <= set(provenance["files"])


def test_committed_files_match_their_recorded_hashes(provenance: dict[str, Any]) -> None:
    for name, entry in provenance["files"].items():
        assert sha256(PACKAGE / name) == entry["sha256"], "%s was changed by hand" % name


def test_the_bundle_is_tracked_by_git(provenance: dict[str, Any]) -> None:
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    paths = ["clientsignal/" + name for name in provenance["files"]]
    paths.append("clientsignal/sockjs_client.json")
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", *paths], cwd=REPO, capture_output=True, text=True
    )
    assert ignored.stdout == "", "ignored by .gitignore: a clean clone would lack them"


def test_version_is_the_one_package_json_pins(provenance: dict[str, Any]) -> None:
    pinned = read_json(REPO / "package.json")["devDependencies"]["sockjs-client"]
    locked = read_json(REPO / "package-lock.json")["packages"]["node_modules/sockjs-client"]
    assert provenance["version"] == pinned == locked["version"]
    assert provenance["integrity"] == locked["integrity"]


def test_files_are_the_pinned_npm_packages(provenance: dict[str, Any]) -> None:
    if not (NPM_PACKAGE / "package.json").exists():
        pytest.fail("node_modules/sockjs-client is missing: run `npm ci` (make test does)")
    assert read_json(NPM_PACKAGE / "package.json")["version"] == provenance["version"]
    for name, entry in provenance["files"].items():
        assert sha256(NPM_PACKAGE / entry["source"]) == entry["sha256"], (
            "%s differs from the npm package's %s: run `npm ci && npm run vendor`"
            % (name, entry["source"])
        )


def test_package_data_includes_the_bundle_and_its_provenance(provenance: dict[str, Any]) -> None:
    # setuptools globs each pattern of [options.package_data] in the package's folder.
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    patterns = config["options.package_data"]["clientsignal"].replace(",", "\n").split()
    matched = {
        path.relative_to(PACKAGE).as_posix()
        for pattern in patterns
        for path in PACKAGE.glob(pattern)
        if path.is_file()
    }
    assert {*provenance["files"], "sockjs_client.json"} <= matched
