"""Read JUnit XML from any runner (pytest, gotestsum, Maven Surefire, jest-junit).

Several files are shards of one run: test cases are merged and de-duplicated by id, the
worst outcome winning. A case whose classname is a Python module path (pytest's
``tests.test_x.TestA`` with name ``test_b[1]``) gets pytest's node id
(``tests/test_x.py::TestA::test_b[1]``), so JUnit and phasectl's managed run name a test
alike; other cases are ``classname::name`` (or ``file::name``, or ``name``). JUnit cannot tell an
unexpected pass (pytest's non-strict xpass) from a pass; pytest's xfail is recognised
from ``<skipped type="pytest.xfail">``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from phasectl.errors import PhasectlError
from phasectl.model.results import Outcome, TestCase, TestResults
from phasectl.readers.files import stream_elements, untrusted

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


def _case_id(case: Element, root: Path | None) -> str:
    name = case.get("name", "")
    owner = case.get("classname") or case.get("file") or ""
    node = _pytest_node(case.get("classname") or "", case.get("file"), root)
    if node is not None:
        return f"{node}::{name}"
    return f"{owner}::{name}" if owner else name


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
            cases.append(
                TestCase(
                    _case_id(element, checkout), _outcome(element), _float(element.get("time"))
                )
            )
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
    are named by node id, found with the help of the files in ``checkout``."""
    cases: list[TestCase] = []
    durations: list[float] = []
    for path in paths:
        found, duration = _read_file(path, checkout)
        cases.extend(found)
        if duration is not None:
            durations.append(duration)
    return TestResults.from_cases(cases, round(sum(durations), 3) if durations else None)
