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

import glob
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from phasectl.errors import PhasectlError
from phasectl.model.results import Outcome, TestCase, TestResults

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element


def expand_globs(patterns: Sequence[str], root: Path) -> list[Path]:
    """Files matching the globs (relative ones from ``root``; ``**`` recurses), sorted, unique."""
    found: set[Path] = set()
    for pattern in patterns:
        full = pattern if Path(pattern).is_absolute() else str(root / pattern)
        # glob.glob takes absolute patterns as well as relative ones; Path.glob does not.
        hits = glob.glob(full, recursive=True)  # noqa: PTH207
        matches = [Path(p) for p in hits if Path(p).is_file()]
        if not matches:
            raise PhasectlError(
                f"'{pattern}' matched no file; check the path, or run the tests first"
            )
        found.update(matches)
    return sorted(found)


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


def _cases(element: Element, root: Path | None) -> Iterator[TestCase]:
    for child in element:
        if child.tag == "testcase":
            case_id = _case_id(child, root)
            yield TestCase(case_id, _outcome(child), _float(child.get("time")))
        elif child.tag == "testsuite":
            yield from _cases(child, root)


def _parse(path: Path) -> Element:
    import defusedxml
    from defusedxml import ElementTree

    try:
        if path.stat().st_size == 0:
            raise PhasectlError(f"JUnit file {path} is empty; did the test run finish?")
        root = ElementTree.parse(path).getroot()
    except FileNotFoundError:
        raise PhasectlError(f"JUnit file {path} does not exist; run the tests first") from None
    except defusedxml.DefusedXmlException:
        raise PhasectlError(
            f"refused {path}: it declares XML entities or a DTD (possible entity-expansion "
            "attack); regenerate it with your test runner"
        ) from None
    except ElementTree.ParseError as exc:
        raise PhasectlError(
            f"JUnit file {path} is not well-formed XML ({exc}); was it truncated?"
        ) from None
    except OSError as exc:
        raise PhasectlError(f"cannot read JUnit file {path}: {exc.strerror}") from None
    if root is None or root.tag not in ("testsuites", "testsuite"):
        tag = "none" if root is None else f"<{root.tag}>"
        raise PhasectlError(f"{path} is not JUnit XML (root element {tag})")
    return root


def _duration(root: Element, cases: Sequence[TestCase]) -> float | None:
    own = _float(root.get("time"))
    if own is not None:
        return own
    suites = [_float(s.get("time")) for s in root if s.tag == "testsuite"]
    if suites and all(t is not None for t in suites):
        return sum(t for t in suites if t is not None)
    times = [c.duration_s for c in cases if c.duration_s is not None]
    return sum(times) if times else None


def read_junit(paths: Sequence[Path], checkout: Path | None = None) -> TestResults:
    """Merged results of one or more JUnit XML files (shards of one run); pytest's cases
    are named by node id, found with the help of the files in ``checkout``."""
    cases: list[TestCase] = []
    durations: list[float] = []
    for path in paths:
        root = _parse(path)
        found = list(_cases(root, checkout))
        cases.extend(found)
        duration = _duration(root, found)
        if duration is not None:
            durations.append(duration)
    return TestResults.from_cases(cases, round(sum(durations), 3) if durations else None)
