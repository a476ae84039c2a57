"""Test results from files any runner wrote, the format told by the content.

JUnit XML (pytest, gotestsum, jest-junit, behave, Surefire, ...) and ``go test -json``
streams. Several files are one run: JUnit shards are merged by test id; each Go stream
adds its own counts (gotestsum's), and the test ids of all files are merged.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from phasectl.errors import PhasectlError
from phasectl.model.results import OUTCOMES, TestResults


def detect_results_format(path: Path) -> str:
    """``junit`` or ``go-json``, from the first bytes that are not blank."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except FileNotFoundError:
        raise PhasectlError(
            f"test results file {path} does not exist; run the tests first"
        ) from None
    except OSError as exc:
        raise PhasectlError(f"cannot read test results file {path}: {exc.strerror}") from None
    text = head.decode("utf-8", "replace").lstrip("\ufeff").lstrip()
    if text.startswith("<") or not text:
        return "junit"  # the JUnit reader says what is wrong with an empty file
    # A stream may start with lines go prints between its events ("FAIL pkg [build
    # failed]"); the Go reader says so when a file holds no event at all.
    return "go-json"


def _combined(parts: Sequence[TestResults]) -> TestResults:
    counts = {
        "passed": sum(p.passed for p in parts),
        "failed": sum(p.failed for p in parts),
        "error": sum(p.errors for p in parts),
        "skipped": sum(p.skipped for p in parts),
        "xfailed": sum(p.xfailed for p in parts),
        "xpassed": sum(p.xpassed for p in parts),
    }
    assert set(counts) == set(OUTCOMES)
    durations = [p.duration_s for p in parts if p.duration_s is not None]
    duration = round(sum(durations), 3) if durations else None
    return TestResults.from_counts(counts, duration, [c for p in parts for c in p.cases])


def read_results(paths: Sequence[Path], checkout: Path | None = None) -> TestResults:
    """Merged results of JUnit XML files and ``go test -json`` streams; pytest's JUnit
    cases are named by node id, found with the help of the files in ``checkout``."""
    from phasectl.collectors.go_tests import read_go_results
    from phasectl.collectors.junit import read_junit

    junit = [p for p in paths if detect_results_format(p) == "junit"]
    streams = [p for p in paths if p not in junit]
    parts = [read_go_results(p) for p in streams]
    if junit:
        parts.insert(0, read_junit(junit, checkout))
    if len(parts) == 1:
        return parts[0]
    return _combined(parts)
