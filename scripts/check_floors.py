"""Check that this environment holds exactly the lowest versions setup.cfg declares.

``make test`` runs it in .venv-lowest after ``uv pip install --resolution lowest-direct`` and the
test tools: a test tool that pulled one of our dependencies above its floor would otherwise
leave the floor untested without a word. Exit status 1 and one line per difference.
"""

from __future__ import annotations

import configparser
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

SETUP_CFG = Path(__file__).resolve().parents[1] / "setup.cfg"


def floors() -> dict[str, Version]:
    """Each install requirement's lowest version (its ``>=``), by distribution name."""
    config = configparser.ConfigParser()
    config.read(SETUP_CFG)
    result = {}
    for line in config["options"]["install_requires"].strip().splitlines():
        requirement = Requirement(line)
        lowest = [s.version for s in requirement.specifier if s.operator == ">="]
        if len(lowest) != 1:
            sys.exit("%s: no single >= floor in setup.cfg" % requirement)
        result[requirement.name] = Version(lowest[0])
    return result


def main() -> int:
    wrong = []
    for name, floor in floors().items():
        try:
            installed = Version(version(name))
        except PackageNotFoundError:
            wrong.append("%s: not installed (floor %s)" % (name, floor))
            continue
        if installed != floor:
            wrong.append("%s: %s installed, the floor is %s" % (name, installed, floor))
        else:
            print("%s %s" % (name, installed))
    for line in wrong:
        print(line, file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
