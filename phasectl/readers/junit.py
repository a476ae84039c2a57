"""Read JUnit XML from any runner (pytest, gotestsum, Maven Surefire, jest-junit).

Several files are shards of one run: test cases are merged by id across files, the worst
outcome winning; within one file every case counts (see ``read_junit``). A case whose
classname is a Python module path (pytest's ``tests.test_x.TestA`` with name ``test_b[1]``)
gets pytest's node id (``tests/test_x.py::TestA::test_b[1]``), so JUnit and phasectl's
managed run name a test alike; other cases are ``classname::name`` (or ``file::name``, or
``name``). JUnit cannot tell an unexpected pass (pytest's non-strict xpass) from a pass;
pytest's xfail is recognised from ``<skipped type="pytest.xfail">``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from phasectl.errors import PhasectlError
from phasectl.model.results import (
    OUTCOMES,
    Outcome,
    TestCase,
    TestResults,
    first_line,
    merge_cases,
)
from phasectl.readers.files import checkout_path, stream_elements, untrusted

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _outcome(case: Element) -> Outcome:
    outcome: Outcome = "passed"
    for child in case:
        # flakyFailure/rerunFailure (Surefire) record retries of a test that then passed.
        if child.tag == "error":
            return "error"
        if child.tag == "failure":
            outcome = "failed"
        elif child.tag == "skipped" and outcome == "passed":
            outcome = "xfailed" if child.get("type") == "pytest.xfail" else "skipped"
    return outcome


def _case(case: Element, root: Path | None) -> TestCase:
    name = case.get("name", "")
    owner = case.get("classname") or case.get("file") or ""
    node = _pytest_node(case.get("classname") or "", case.get("file"), root)
    case_id = f"{node}::{name}" if node is not None else f"{owner}::{name}" if owner else name
    outcome = _outcome(case)
    duration = _float(case.get("time"))
    if outcome not in ("failed", "error"):
        return TestCase(case_id, outcome, duration)
    module = node.split("::", 1)[0] if node is not None else None
    return TestCase(case_id, outcome, duration, *_failure(case, module, root))


# The crash line pytest ends a failure's text with: "tests/test_x.py:12: AssertionError".
_CRASH_LINE = re.compile(r"^(\S[^:\n]*):(\d+):(?:[ \t]|$)", re.MULTILINE)


def _failure(
    case: Element, module: str | None, root: Path | None
) -> tuple[str | None, str | None, int | None]:
    """The first line of a failing case's message (the ``message`` attribute of its
    ``<failure>`` or ``<error>``, else its text), and where it failed: the case's ``file``
    (or pytest's module), at the line the failure's text names in that file, else the
    case's ``line`` (pytest writes it 0-based)."""
    found = next((c for c in case if c.tag in ("error", "failure")), None)
    text = (found.text or "") if found is not None else ""
    message = first_line(found.get("message")) if found is not None else None
    if message in (None, "Failed") and "_test.go:" in text:
        go = _go_failure(text, case.get("classname") or "", root)
        if go is not None:
            return go
    message = message or first_line(text)
    file = case.get("file") or module
    line = None
    if file:
        if root is not None:
            file = checkout_path(file, root)
        name = file.rsplit("/", 1)[-1]
        for crash in _CRASH_LINE.finditer(text):
            where = crash.group(1).replace("\\", "/")
            if where.endswith(name) and root is not None:
                where = checkout_path(where, root)
            if where == file:
                line = int(crash.group(2))  # the last one: the test's own line that failed
        if line is None and (case.get("line") or "").isdigit():
            line = int(case.get("line") or 0) + (module is not None)
    return message, file or None, line or None


def _go_failure(
    text: str, package: str, root: Path | None
) -> tuple[str | None, str | None, int | None] | None:
    """What a Go test's output says of its failure, as gotestsum writes it in JUnit (with
    the message "Failed" and the test's output as the text)."""
    from phasectl.readers.go_tests import module_path, output_failure, test_file

    failure = output_failure(text)
    if failure is None or failure.file is None:
        return None
    file = test_file(failure.file, package, root, module_path(root))
    return failure.message, file, failure.line


def _pytest_node(classname: str, file: str | None, root: Path | None) -> str | None:
    """``tests/test_x.py::TestA`` for pytest's classname ``tests.test_x.TestA``: the
    module part is the ``file`` attribute's (xunit1), else the longest dotted prefix that
    names a ``.py`` file under ``root``; ``None`` when neither applies."""
    parts = classname.split(".")
    for cut in range(len(parts), 0, -1):
        module = "/".join(parts[:cut]) + ".py"
        if (file is not None and file.replace("\\", "/") == module) or (
            file is None and root is not None and (root / module).is_file()
        ):
            return "::".join([module, *parts[cut:]])
    return None


_SUITES = ("testsuites", "testsuite")


# Each case is kept (by id, for the test identity diff): this bounds the memory one file
# can take, far above any real suite.
MAX_TEST_CASES = 500_000


@untrusted("JUnit file")
def _read_file(path: Path, checkout: Path | None) -> tuple[list[TestCase], float | None]:
    """The cases of one JUnit file and its duration, read incrementally (see readers.files).

    The duration is the root's ``time``, else the sum of its suites' times when all have
    one, else the sum of the cases' times.
    """
    cases: list[TestCase] = []
    suite_times: list[float | None] = []
    duration = None
    elements = stream_elements(
        path, _SUITES, frozenset({"testsuite", "testcase"}), "JUnit XML",
        "regenerate it with your test runner",
    )  # fmt: skip
    for element, ancestors in elements:
        if not ancestors:
            duration = _float(element.get("time"))
        elif ancestors[-1].tag not in _SUITES:
            continue
        elif element.tag == "testcase":
            cases.append(_case(element, checkout))
            if len(cases) > MAX_TEST_CASES:
                raise PhasectlError(
                    f"JUnit file {path} holds more than {MAX_TEST_CASES:,} test cases, the most "
                    "phasectl reads from one file; split the run into shards"
                )
        elif element.tag == "testsuite" and len(ancestors) == 1:
            suite_times.append(_float(element.get("time")))
    if duration is None and suite_times and all(t is not None for t in suite_times):
        duration = sum(t for t in suite_times if t is not None)
    if duration is None:
        times = [c.duration_s for c in cases if c.duration_s is not None]
        duration = sum(times) if times else None
    return cases, duration


def read_junit(paths: Sequence[Path], checkout: Path | None = None) -> TestResults:
    """Merged results of one or more JUnit XML files (shards of one run); pytest's cases
    are named by node id, found with the help of the files in ``checkout``.

    Within one file every ``<testcase>`` counts, as its runner counted it (``go test
    -count=2`` through gotestsum, two jest tests with one full title). Across files a test
    id is one test run in several shards (or rerun): its n-th reports in each file are
    merged, the worst outcome winning, so it counts as often as the file that ran it most.
    """
    runs: dict[str, list[TestCase]] = {}
    durations: list[float] = []
    for path in paths:
        found, duration = _read_file(path, checkout)
        if duration is not None:
            durations.append(duration)
        in_file: dict[str, list[TestCase]] = {}
        for case in found:
            in_file.setdefault(case.id, []).append(case)
        for case_id, reports in in_file.items():
            seen = runs.setdefault(case_id, [])
            for index, case in enumerate(reports):
                if index < len(seen):
                    seen[index] = merge_cases((seen[index], case))[0]
                else:
                    seen.append(case)
    counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
    for reports in runs.values():
        for case in reports:
            counts[case.outcome] += 1
    cases = [case for reports in runs.values() for case in reports]
    return TestResults.from_counts(counts, round(sum(durations), 3) if durations else None, cases)
