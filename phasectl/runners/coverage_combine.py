"""coverage.py data files, combined and reported by the project's own coverage.py
(a process in the project's interpreter, so its configuration applies).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from phasectl.errors import PhasectlError
from phasectl.fileio import scratch_folder
from phasectl.model.coverage_data import CoverageSummary, FileLines
from phasectl.readers.coverage_json import read_coverage_json
from phasectl.readers.files import reading
from phasectl.readers.formats import SQLITE_HEADER


class NoCoverageData(PhasectlError):
    """The coverage data measured none of the project's files."""


def _read_bytes(path: Path) -> bytes:
    with reading(path, "coverage file"):
        data = path.read_bytes()
    if not data.strip():
        raise PhasectlError(f"coverage file {path} is empty; re-run the tests with coverage")
    return data


def read_coveragepy(
    paths: Sequence[Path], root: Path, python: str = sys.executable
) -> tuple[CoverageSummary, dict[str, FileLines]]:
    """Combine coverage.py data files as ``coverage combine`` does; report as ``coverage json``.

    coverage.py runs in ``root`` with the project's interpreter, so the project's coverage
    configuration applies and the figures are exactly what ``coverage report`` prints for
    the same data. Data measured in another checkout (CI) is remapped onto this one: by the
    project's ``[paths]``, then by the prefix its files' paths share there.
    """
    for path in paths:
        data = _read_bytes(path)
        if not data.startswith(SQLITE_HEADER):
            raise PhasectlError(f"{path} is not a coverage.py data file")
    with scratch_folder("cov") as scratch:
        script = scratch / "_phasectl_coverage.py"
        script.write_bytes(Path(__file__).with_name("_coverage_export.py").read_bytes())
        report = scratch / "coverage.json"
        run_coverage_export(python, script, paths, report, root, {"infer_paths": True})
        return read_coverage_json(report, root)


def run_coverage_export(
    python: str,
    script: Path,
    data_files: Sequence[Path],
    report: Path,
    root: Path,
    options: dict[str, object],
) -> None:
    """Run ``_coverage_export.py`` (copied to ``script``) with the project's interpreter."""
    command = [python, str(script), str(report), json.dumps(options), *map(str, data_files)]
    try:
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise PhasectlError(f"python interpreter not found: {python}") from None
    if done.returncode != 0 or not report.exists():
        said = (done.stderr or done.stdout).strip().splitlines()
        reason = said[-1] if said else f"exit status {done.returncode}"
        names = ", ".join(str(p) for p in data_files)
        if "No data to report" in reason or "No source for code" in reason:
            raise NoCoverageData(
                f"coverage data in {names} does not match any file of this project "
                f"({reason}); was it measured in another checkout?"
            )
        if "No module named 'coverage'" in reason:
            raise PhasectlError(f"coverage.py is not installed for {python}")
        raise PhasectlError(f"reading coverage data {names} failed: {reason}")
