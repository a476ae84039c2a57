"""Cobertura XML (``coverage xml``, istanbul, JaCoCo and others), read through defusedxml."""

from __future__ import annotations

import re
from pathlib import Path

from phasectl.errors import PhasectlError
from phasectl.model.coverage_data import FileLines
from phasectl.readers.files import MAX_FILES, checkout_path, untrusted

_CONDITION = re.compile(r"\((\d+)/(\d+)\)")


def read_cobertura(path: Path, root: Path) -> dict[str, FileLines]:
    """Lines from Cobertura XML (``coverage xml``, JaCoCo and others), via defusedxml."""
    return _parse_cobertura(path, root)[0]


@untrusted("coverage file")
def _parse_cobertura(path: Path, root: Path) -> tuple[dict[str, FileLines], tuple[int, int] | None]:
    """Line data, and the branch totals the header states (covered, valid) if it does.

    The header's branch totals are the tool's own: istanbul's per-line
    ``condition-coverage`` leaves out branches it cannot place on one line. The file is
    read incrementally, one ``<class>`` at a time (see readers.files).
    """
    from phasectl.readers.files import stream_elements

    header = None
    sources: list[str] = []
    merged: dict[str, FileLines] = {}
    folders: dict[str, bool] = {}
    elements = stream_elements(
        path, ("coverage",), frozenset({"class"}), "Cobertura XML",
        "regenerate it with your coverage tool",
    )  # fmt: skip
    for cls, ancestors in elements:
        if not ancestors:
            try:
                header = (int(cls.get("branches-covered", "")), int(cls.get("branches-valid", "")))
            except ValueError:
                header = None
        if cls.tag == "source" and cls.text and cls.text.strip():
            sources.append(cls.text.strip())
        if cls.tag != "class":
            continue
        filename = cls.get("filename")
        if not filename:
            continue
        name = checkout_path(filename, root, sources, folders=folders)
        statements, covered = set(), set()
        branches_total = branches_covered = 0
        has_branches = False
        # The class's own <lines> only: istanbul (jest) repeats function lines inside
        # <methods>, and counting those too is a figure no tool reports.
        own = cls.find("lines")
        for line in own.iter("line") if own is not None else ():
            try:
                number = int(line.get("number", ""))
                hits = int(line.get("hits", "0"))
            except ValueError:
                raise PhasectlError(f"{path}: a <line> has a bad number or hits value") from None
            statements.add(number)
            if hits > 0:
                covered.add(number)
            found = _CONDITION.search(line.get("condition-coverage", ""))
            if line.get("branch") == "true" and found:
                has_branches = True
                branches_covered += int(found.group(1))
                branches_total += int(found.group(2))
        lines = FileLines(
            statements,
            covered,
            branches_total if has_branches else None,
            branches_covered if has_branches else None,
        )
        earlier = merged.get(name)
        if earlier is None and len(merged) >= MAX_FILES:
            raise PhasectlError(
                f"{path} names more than {MAX_FILES:,} files, the most phasectl reads from "
                "one coverage file; split it by package"
            )
        merged[name] = lines if earlier is None else earlier.union(lines)
    measured = any(lines.branches_total is not None for lines in merged.values())
    return merged, header if measured and header is not None and header[1] else None
