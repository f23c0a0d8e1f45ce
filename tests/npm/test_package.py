"""scripts/build_npm.js builds the npm package django-clientsignal (npm/) from the Django
package's own browser client: its modules are the factory of clientsignal.js, its types those
of clientsignal.d.ts, its version clientsignal.__version__; it refuses anything else. What a
bundler and Node make of the packed package: test_vite.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import clientsignal
from tests.support.servers import REPO

pytestmark = [pytest.mark.node, pytest.mark.timeout(60)]

STATIC = REPO / "clientsignal" / "static" / "clientsignal"
PACKAGE = json.loads((REPO / "npm" / "package.json").read_text())
FACTORY = "function signalSocketFactory(GlobalSockJS) {"
# What the build reads; copied alone into a temporary tree, which it builds in.
SOURCES = [
    "scripts/build_npm.js",
    "npm/package.json",
    "clientsignal/__init__.py",
    "clientsignal/static/clientsignal/clientsignal.js",
    "clientsignal/static/clientsignal/clientsignal.d.ts",
    "LICENSE",
]


def npm_version(pep440: str) -> str:
    """PEP 440's X.Y.Z, X.Y.Z{a,b,rc}N and X.Y.Z.devN as npm (semver) writes them."""
    match = re.fullmatch(r"(\d+\.\d+\.\d+)(?:(a|b|rc)(\d+))?(?:\.dev(\d+))?", pep440)
    assert match, pep440
    release, kind, number, dev = match.groups()
    pre = [{"a": "alpha", "b": "beta", "rc": "rc"}[kind], number] if kind else []
    pre += ["dev", dev] if dev is not None else []
    return release + ("-" + ".".join(pre) if pre else "")


def factory(source: str) -> str:
    """The factory of the UMD file: from its line to the `}));` that ends the file."""
    start = source.index(FACTORY)
    return source[start : source.rindex("}));") + 1]


def build(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", "scripts/build_npm.js"], cwd=tree, capture_output=True, text=True, timeout=30
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in SOURCES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, tmp_path / name)
    return tmp_path


def test_npm_version_is_clientsignals() -> None:
    assert PACKAGE["version"] == npm_version(clientsignal.__version__)
    assert npm_version("0.2.0.dev0") == "0.2.0-dev.0"
    assert npm_version("1.0.0rc2") == "1.0.0-rc.2"
    assert npm_version("1.2.3") == "1.2.3"


def test_package_json_says_what_the_package_is() -> None:
    assert PACKAGE["name"] == "django-clientsignal"
    assert PACKAGE["license"] == "BSD-3-Clause"
    assert PACKAGE["type"] == "module"
    assert PACKAGE["files"] == ["dist"]
    exports = PACKAGE["exports"]["."]
    # Browsers and bundlers: the ES module; Node: the CommonJS one, also behind `import`.
    assert exports["import"] == {
        "types": "./dist/clientsignal.d.ts",
        "default": "./dist/clientsignal.js",
    }
    commonjs = {"types": "./dist/clientsignal.d.cts", "default": "./dist/clientsignal.cjs"}
    assert exports["require"] == exports["node"]["require"] == commonjs
    assert exports["node"]["import"]["default"] == "./dist/clientsignal.node.js"
    assert list(PACKAGE["dependencies"]) == ["sockjs-client"]
    assert PACKAGE["scripts"]["prepack"] == "node ../scripts/build_npm.js"


def test_the_modules_and_types_are_built_from_the_static_files(tree: Path) -> None:
    built = build(tree)
    assert built.returncode == 0, built.stderr
    built = {path.name: path.read_text() for path in (tree / "npm" / "dist").iterdir()}
    source = factory((STATIC / "clientsignal.js").read_text())
    esm, cjs = built["clientsignal.js"], built["clientsignal.cjs"]
    assert "import SockJS from 'sockjs-client/dist/sockjs.js';" in esm
    assert "(%s)(SockJS);\n\nexport default SignalSocket;\n" % source in esm
    assert "module.exports = (%s)(require('sockjs-client'));\n" % source in cjs
    assert built["clientsignal.node.js"].endswith("export {default} from './clientsignal.cjs';\n")
    types = (STATIC / "clientsignal.d.ts").read_text()
    declarations = types.removesuffix("export = SignalSocket;\nexport as namespace SignalSocket;\n")
    assert declarations != types
    assert built["clientsignal.d.ts"].endswith(declarations + "export default SignalSocket;\n")
    assert built["clientsignal.d.cts"].endswith(declarations + "export = SignalSocket;\n")
    assert len(built) == 5
    assert (tree / "npm" / "LICENSE").read_bytes() == (REPO / "LICENSE").read_bytes()


def test_the_commonjs_module_is_signalsocket_with_sockjs_client(tree: Path) -> None:
    assert build(tree).returncode == 0
    # Under Node, sockjs-client from the repository's node_modules (make install's npm ci).
    (tree / "npm" / "node_modules").symlink_to(REPO / "node_modules")
    probe = (
        "const S = require('./npm/dist/clientsignal.cjs');"
        "const s = new S('http://127.0.0.1:9/simple', {reconnect: false});"
        "console.log(JSON.stringify([S.name, S.OPEN, typeof s.call]));"
        "s.close();"
    )
    result = subprocess.run(
        ["node", "-e", probe], cwd=tree, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["SignalSocket", 1, "function"]


def test_a_version_other_than_clientsignals_is_refused(tree: Path) -> None:
    init = tree / "clientsignal" / "__init__.py"
    init.write_text(init.read_text().replace(clientsignal.__version__, "9.9.9"))
    refused = build(tree)
    assert refused.returncode == 1
    expected = "npm/package.json has version %s but clientsignal.__version__ is 9.9.9: set it to "
    assert expected % PACKAGE["version"] + "9.9.9\n" in refused.stderr
    assert not (tree / "npm" / "dist").exists()


@pytest.mark.parametrize(
    "change, message",
    [
        ((FACTORY, "function (GlobalSockJS) {"), "exactly one `%s` line" % FACTORY),
        (("return SignalSocket;\n}));", "return SignalSocket;\n}));\nfoo();"), "must end with"),
        (("return SignalSocket;\n}));", "return SignalSocket;\n}}));"), "not one function"),
    ],
)
def test_a_clientsignal_js_without_its_factory_is_refused(
    tree: Path, change: tuple[str, str], message: str
) -> None:
    path = tree / "clientsignal" / "static" / "clientsignal" / "clientsignal.js"
    assert path.read_text().count(change[0]) == 1
    path.write_text(path.read_text().replace(*change))
    refused = build(tree)
    assert refused.returncode == 1
    assert message in refused.stderr
    assert not (tree / "npm" / "dist").exists()
