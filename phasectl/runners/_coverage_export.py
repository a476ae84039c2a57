"""Write coverage.py's JSON report of some data files, with the project's own configuration.

phasectl copies this file into a temporary folder and runs it with the project's
interpreter in the repository root (``python _phasectl_coverage.py REPORT OPTIONS DATA...``),
so the project's coverage.py and its configuration apply exactly as in ``coverage report``;
the managed run's pytest plugin imports it too. It must only use the standard library and
coverage.py's public API (``Coverage``, ``CoverageData``, ``get_option``/``set_option``,
``combine``, ``json_report``), which coverage.py 5.x to 7.x all have.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

CHECKOUT_ALIAS = "phasectl-checkout"


@contextlib.contextmanager
def working_directory(path: str | None) -> Iterator[None]:
    """coverage.py finds its configuration (and relative paths) in the working directory."""
    before = Path.cwd()
    if path:
        os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def export_coverage(
    report: str,
    data_files: list[str],
    *,
    omit: str | None = None,
    config_file: str | bool = True,
    precision: int | None = None,
    ignore_errors: bool | None = None,
    directory: str | None = None,
    infer_paths: bool = False,
) -> None:
    """Write what ``coverage combine --keep DATA...; coverage json -o REPORT`` writes.

    The configuration is the project's (found in the working directory, or
    ``config_file``), with these additions only: ``omit`` is appended to
    ``[report] omit`` (appended: ``--omit``/``omit=`` would replace the project's own);
    ``precision`` overrides ``[report] precision``; with ``infer_paths``, an alias that maps
    the data's foreign checkout prefixes onto this one follows the project's ``[paths]``.
    Several files are combined, and so is one whose paths need remapping: combining is
    where every coverage.py version applies ``[paths]``. The data files are not changed.
    """
    import coverage

    with working_directory(directory):
        prefixes = _foreign_prefixes(data_files) if infer_paths else []
        if len(data_files) == 1 and not prefixes:
            cov = coverage.Coverage(data_file=data_files[0], config_file=config_file)
            cov.load()
        else:
            combined = str(Path(report).with_name(".coverage.combined"))
            cov = coverage.Coverage(data_file=combined, config_file=config_file)
            if prefixes:
                own: Any = cov.get_option("paths") or {}
                paths = {**own}  # the project's own [paths] come first
                paths[CHECKOUT_ALIAS] = [str(Path.cwd()), *prefixes]
                cov.set_option("paths", paths)
            cov.combine(data_files, strict=True, keep=True)
        if omit:
            kept: Any = cov.get_option("report:omit") or []
            cov.set_option("report:omit", [*kept, omit])
        if precision is not None:
            cov.set_option("report:precision", precision)
        cov.json_report(outfile=report, ignore_errors=ignore_errors)


def _foreign_prefixes(data_files: list[str]) -> list[str]:
    import coverage

    measured: set[str] = set()
    for name in data_files:
        data = coverage.CoverageData(basename=name)
        data.read()
        measured.update(data.measured_files())
    return infer_prefixes(measured, Path.cwd())


def infer_prefixes(measured: Iterable[str], root: Path) -> list[str]:
    """Foreign prefixes that, replaced by ``root``, name files of this checkout.

    For each absolute measured path that does not exist here, the longest tail of it that
    is a file under ``root`` decides: /home/runner/work/p/p/src/pkg/a.py, with
    root/src/pkg/a.py present, gives /home/runner/work/p/p/. Windows paths too.
    """
    found: dict[str, int] = {}
    for path in measured:
        if not (path.startswith("/") or re.match(r"^([A-Za-z]:)?[\\/]", path)):
            continue  # relative (relative_files = true): already checkout-relative
        if Path(path).exists():
            continue
        parts = re.split(r"[\\/]", path)
        for i in range(1, len(parts)):
            tail = parts[i:]
            if root.joinpath(*tail).is_file():
                prefix = path[: len(path) - len("/".join(tail))]
                found[prefix] = found.get(prefix, 0) + 1
                break
    return sorted(found, key=lambda prefix: (-found[prefix], prefix))


def main(argv: list[str]) -> int:
    """``REPORT OPTIONS_JSON DATA_FILE...``; a failure exits with one line to show."""
    try:
        options: dict[str, Any] = json.loads(argv[1])
        export_coverage(argv[0], argv[2:], **options)
    except Exception as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
