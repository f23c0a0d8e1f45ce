"""clientsignal.E040: the pages need our sockjs-client bundle, so its absence fails the checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core import checks
from django.test import override_settings

from clientsignal.apps import check_settings

STATIC = Path(__file__).resolve().parents[2] / "clientsignal" / "static" / "clientsignal"
# Only the project's own STATICFILES_DIRS are searched, not the apps' static/ folders.
PROJECT_DIRS_ONLY = ["django.contrib.staticfiles.finders.FileSystemFinder"]

pytestmark = pytest.mark.timeout(30)


def bundle_errors(**settings: object) -> list[checks.CheckMessage]:
    with override_settings(**settings):
        return [m for m in check_settings() if m.id == "clientsignal.E040"]


def test_the_shipped_bundle_is_found() -> None:
    assert bundle_errors() == []


def test_a_missing_bundle_is_an_error_that_says_how_to_fix_it() -> None:
    [error] = bundle_errors(STATICFILES_FINDERS=PROJECT_DIRS_ONLY, STATICFILES_DIRS=[])
    assert error.level == checks.ERROR
    assert "clientsignal/sockjs.min.js and clientsignal/sockjs.min.js.map" in error.msg
    assert "Reinstall django-clientsignal" in error.hint
    assert "npm ci && npm run vendor" in error.hint
    assert "CLIENTSIGNAL_SOCKJS_URL" in error.hint


def test_a_missing_source_map_is_named_alone(tmp_path: Path) -> None:
    # ManifestStaticFilesStorage follows the bundle's sourceMappingURL: collectstatic would fail.
    (tmp_path / "clientsignal").mkdir()
    shutil.copy(STATIC / "sockjs.min.js", tmp_path / "clientsignal")
    [error] = bundle_errors(STATICFILES_FINDERS=PROJECT_DIRS_ONLY, STATICFILES_DIRS=[tmp_path])
    assert "bundle clientsignal/sockjs.min.js.map is not found" in error.msg


def test_no_bundle_is_needed_with_a_sockjs_url() -> None:
    assert (
        bundle_errors(
            STATICFILES_FINDERS=PROJECT_DIRS_ONLY,
            STATICFILES_DIRS=[],
            CLIENTSIGNAL_SOCKJS_URL="https://cdn.example.com/sockjs-client@1.6.1/sockjs.min.js",
        )
        == []
    )
