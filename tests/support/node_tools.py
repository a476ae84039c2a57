"""Real jest and jest-junit from npm, installed once for the jest tests (tests/test_jest.py).

Tools: node and npm (Debian's nodejs and npm packages; .ci/run installs them when missing).
jest and jest-junit, at the versions pinned here, are installed with npm into one folder
that every test project links as its ``node_modules``: ``$PHASECTL_TEST_NODE_MODULES`` when
set (.ci/run sets it and installs there before the tests, by running this file), else a
folder in the temporary directory. A folder that already holds the pinned versions is used
as it is, so the install (about 20 s and 55 MB the first time) happens once per machine.
Missing node or npm, or an install that fails (no registry), skips the jest tests, unless
PHASECTL_REQUIRE_TOOLS=1 or CI is set, when it fails them.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

JEST = "30.5.2"
JEST_JUNIT = "17.0.0"
PINNED = {"jest": JEST, "jest-junit": JEST_JUNIT}

# An install that failed in this process is not tried again by the next test.
_failed: dict[Path, str] = {}


def modules_folder() -> Path:
    """The npm prefix holding ``node_modules`` with the pinned jest and jest-junit."""
    given = os.environ.get("PHASECTL_TEST_NODE_MODULES")
    if given:
        return Path(given)
    return Path(tempfile.gettempdir()) / f"phasectl-tests-node-jest-{JEST}"


def installed(folder: Path) -> bool:
    """Whether ``folder/node_modules`` holds exactly the pinned versions (npm writes
    ``.package-lock.json`` last, so an interrupted install does not count)."""
    if not (folder / "node_modules" / ".package-lock.json").is_file():
        return False
    for name, version in PINNED.items():
        manifest = folder / "node_modules" / name / "package.json"
        try:
            found = json.loads(manifest.read_text(encoding="utf-8")).get("version")
        except (OSError, ValueError):
            return False
        if found != version:
            return False
    return True


def install(folder: Path) -> float | None:
    """Install the pinned modules into ``folder`` unless they are there; the seconds the
    install took, or None when there was nothing to do. Concurrent callers (pytest-xdist
    workers) wait for one another. Raises RuntimeError when npm fails."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed(folder):
            return None
        manifest = {"name": "phasectl-test-node-modules", "private": True}
        (folder / "package.json").write_text(json.dumps(manifest) + "\n", encoding="utf-8")
        started = time.monotonic()
        done = subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--save-exact",
                # Unreachable registry: give up after about a minute, not several.
                "--fetch-retries=1",
                *(f"{name}@{version}" for name, version in PINNED.items()),
            ],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if done.returncode != 0 or not installed(folder):
            said = (done.stderr or done.stdout).strip().splitlines()
            errors = [line for line in said if line.startswith("npm error")] or said
            raise RuntimeError(
                f"npm install of jest {JEST} and jest-junit {JEST_JUNIT} into {folder} "
                f"failed (exit {done.returncode}): " + " | ".join(errors[:4])
            )
        return time.monotonic() - started


def missing_tools() -> str | None:
    """Why the jest tests cannot run here, or None."""
    absent = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if absent:
        return f"{' and '.join(absent)} not installed (apt-get install -y nodejs npm)"
    return None


def jest_modules_or_skip() -> Path:
    """The ``node_modules`` folder with the pinned jest and jest-junit, installed if need be;
    skips the test (fails it under CI) when that cannot be."""
    folder = modules_folder()
    why = _failed.get(folder)
    if why is None:
        why = missing_tools()
    if why is None:
        try:
            install(folder)
        except RuntimeError as error:
            why = _failed[folder] = str(error)
    if why is not None:
        if os.environ.get("PHASECTL_REQUIRE_TOOLS") == "1" or os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    return folder / "node_modules"


def main() -> int:
    """``python tests/support/node_tools.py``: install now (.ci/run), print where and how long."""
    why = missing_tools()
    if why is not None:
        print(why, file=sys.stderr)
        return 1
    folder = modules_folder()
    try:
        seconds = install(folder)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    took = "already installed" if seconds is None else f"installed in {seconds:.1f} s"
    print(f"jest {JEST} and jest-junit {JEST_JUNIT} in {folder}/node_modules: {took}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
