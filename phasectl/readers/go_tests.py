"""Read a ``go test -json`` stream (test2json events, one JSON object a line).

Counting rules (gotestsum's; checked against gotestsum 1.8.2 and go 1.19 in the tests):

* Every test and subtest that ends with Action ``pass``, ``fail`` or ``skip`` counts once.
  A parent test counts as well as its subtests: ``TestA`` with ``t.Run`` children ``x`` and
  ``y`` is three tests. With ``-count=N`` a test that runs N times counts N times.
* A test that has a ``run`` event but no end event when its package's final event arrives
  (killed by a panic or a timeout) counts as failed with duration 0, except a subtest whose
  top-level test passed (gotestsum's workaround for golang/go#40771, go < 1.16).
* ``total = passed + failed + skipped``. This equals gotestsum's ``DONE N tests``, ``skipped``
  equals its ``M skipped``, and ``failed + len(failed_packages)`` equals its ``K failures``
  (gotestsum adds one failure per package that failed while none of its tests did, e.g. a
  ``TestMain`` that exits non-zero).
* A package-level ``skip`` (``[no test files]``) adds nothing. ``duration_s`` is the sum of the
  packages' own ``Elapsed`` (test binaries run in parallel, so it is not wall-clock time).
* Benchmarks count only when go emits ``run``/``pass`` events for them (go 1.19 does not).

Errors (``PhasectlError``, naming the file and line):

* A line that starts with ``{`` but is not valid JSON, or a JSON event of the wrong shape
  (``Action`` missing or not a string, ``Package``/``Test``/``Output`` not strings, ``Elapsed``
  not a number, a test event without ``Package``). Other lines (interleaved non-JSON output)
  are skipped. Events with actions this module does not know are ignored.
* A truncated stream: a package with events but no final package ``pass``/``fail``/``skip``.
* A build failure, in every form go emits it: a plain ``FAIL <pkg> [build failed]`` (or
  ``[setup failed]``) line (go <= 1.19), the same text as package output (go 1.20-1.23), a
  ``build-fail`` action or a package ``fail`` with ``FailedBuild`` (go >= 1.24), and any package
  ``fail`` with no test at all (a build failure or a panic in ``init``).
* A file with no test2json event at all.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

from phasectl.errors import PhasectlError
from phasectl.model.results import OUTCOMES, TestCase, TestResults
from phasectl.model.results import Outcome as Outcome_

Outcome = Literal["pass", "fail", "skip"]


_OUTCOMES: dict[str, Outcome] = {"pass": "pass", "fail": "fail", "skip": "skip"}


_BUILD_FAILED = re.compile(r"^FAIL\s+(\S+)\s.*\[(?:build|setup) failed\]\s*$")


_RERUN = "rerun `go test -json ./... > FILE` and keep its whole output"


class GoTestCase(NamedTuple):
    """One ended test: ``import/path.TestName/subtest``, its outcome and elapsed seconds."""

    id: str
    outcome: Outcome
    duration_s: float


@dataclass(frozen=True)
class GoTestRun:
    """Counts from one ``go test -json`` stream; see the module docstring for the rules."""

    passed: int
    failed: int
    skipped: int
    total: int
    duration_s: float
    tests: tuple[GoTestCase, ...]
    failed_packages: tuple[str, ...] = ()


class _Event(NamedTuple):
    action: str
    package: str
    test: str
    elapsed: float
    output: str
    import_path: str
    failed_build: str


@dataclass
class _Package:
    running: dict[str, int] = field(default_factory=dict)  # test name -> line of its run
    passed_roots: set[str] = field(default_factory=set)
    ended: int = 0
    failed: int = 0
    last_line: int = 0
    done: bool = False


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _parse_event(obj: dict[str, object], where: str) -> _Event:
    strings: dict[str, str] = {}
    for key in ("Action", "Package", "Test", "Output", "ImportPath", "FailedBuild"):
        value = obj.get(key)
        if value is None:
            strings[key] = ""
        elif isinstance(value, str):
            strings[key] = value
        else:
            raise PhasectlError(
                f"{where}: test2json event field {key} is {type(value).__name__}, not a string; "
                f"{_RERUN}"
            )
    if not strings["Action"]:
        raise PhasectlError(f"{where}: JSON line has no Action (not a test2json event); {_RERUN}")
    elapsed = obj.get("Elapsed", 0.0)
    if elapsed is None:
        elapsed = 0.0
    if isinstance(elapsed, bool) or not isinstance(elapsed, int | float):
        raise PhasectlError(f"{where}: test2json field Elapsed is not a number; {_RERUN}")
    try:
        elapsed = float(elapsed)
    except OverflowError:
        elapsed = math.inf
    if not math.isfinite(elapsed):
        raise PhasectlError(f"{where}: test2json field Elapsed is not finite; {_RERUN}")
    return _Event(
        strings["Action"],
        strings["Package"],
        strings["Test"],
        elapsed,
        strings["Output"],
        strings["ImportPath"],
        strings["FailedBuild"],
    )


def _build_error(where: str, package: str) -> PhasectlError:
    return PhasectlError(
        f"{where}: package {package} failed to build; fix its compile errors "
        "(go test prints them) and rerun go test -json"
    )


def read_go_test_json(path: Path) -> GoTestRun:
    """Count the tests in the ``go test -json`` stream at ``path`` the way gotestsum does."""
    packages: dict[str, _Package] = {}
    cases: list[GoTestCase] = []
    failed_packages: list[str] = []
    duration = 0.0
    events = 0
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise PhasectlError(f"{path}: cannot read go test -json output ({exc.strerror})") from exc
    with handle:
        for lineno, raw in enumerate(handle, 1):
            where = f"{path}:{lineno}"
            line = raw.decode("utf-8", errors="replace").strip()
            if not line.startswith("{"):
                match = _BUILD_FAILED.match(line)
                if match:
                    raise _build_error(where, match.group(1))
                continue  # interleaved non-JSON output
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError):
                raise PhasectlError(
                    f"{where}: malformed JSON line {_short(line)}; {_RERUN}"
                ) from None
            if not isinstance(obj, dict):
                raise PhasectlError(f"{where}: JSON line is not an object; {_RERUN}")
            event = _parse_event(obj, where)
            events += 1
            if event.action == "build-fail":
                raise _build_error(where, event.import_path or event.package or "(unnamed)")
            if event.action == "build-output":
                continue
            if not event.package:
                raise PhasectlError(
                    f"{where}: test2json event has no Package; feed the output of "
                    "go test -json (or go tool test2json -p PKG)"
                )
            state = packages.setdefault(event.package, _Package())
            if state.done:  # the package runs again (-count, reruns appended to one file)
                state = packages[event.package] = _Package()
            state.last_line = lineno
            if event.test:
                _test_event(state, event, lineno, cases)
                continue
            if event.action == "output" and _BUILD_FAILED.match(event.output.strip()):
                raise _build_error(where, event.package)
            if event.action not in ("pass", "fail", "skip"):
                continue
            # The package's final event: tests still running were killed (panic, timeout).
            for name in state.running:
                root = name.split("/", 1)[0]
                if "/" in name and root in state.passed_roots:
                    continue
                cases.append(GoTestCase(f"{event.package}.{name}", "fail", 0.0))
                state.ended += 1
                state.failed += 1
            state.running.clear()
            state.done = True
            duration += event.elapsed
            if event.action != "fail":
                continue
            if event.failed_build or state.ended == 0:
                raise _build_error(where, event.package)
            if state.failed == 0:
                failed_packages.append(event.package)
    if events == 0:
        raise PhasectlError(
            f"{path}:1: neither JUnit XML nor a go test -json stream (no test2json event); {_RERUN}"
        )
    for name, state in packages.items():
        if state.done:
            continue
        if state.running:
            test, run_line = next(iter(state.running.items()))
            raise PhasectlError(
                f"{path}:{run_line}: test {name}.{test} started here but the stream ends before "
                f"it or its package finished (truncated); {_RERUN}"
            )
        raise PhasectlError(
            f"{path}:{state.last_line}: package {name} has no final pass/fail event "
            f"(truncated stream); {_RERUN}"
        )
    passed = sum(1 for case in cases if case.outcome == "pass")
    failed = sum(1 for case in cases if case.outcome == "fail")
    skipped = len(cases) - passed - failed
    return GoTestRun(
        passed=passed,
        failed=failed,
        skipped=skipped,
        total=len(cases),
        duration_s=duration,
        tests=tuple(cases),
        failed_packages=tuple(failed_packages),
    )


def _test_event(state: _Package, event: _Event, lineno: int, cases: list[GoTestCase]) -> None:
    if event.action == "run":
        state.running[event.test] = lineno
        return
    outcome = _OUTCOMES.get(event.action)
    if outcome is None:
        return  # output, pause, cont, bench and actions newer go may add
    state.running.pop(event.test, None)
    cases.append(GoTestCase(f"{event.package}.{event.test}", outcome, event.elapsed))
    state.ended += 1
    if outcome == "pass" and "/" not in event.test:
        state.passed_roots.add(event.test)
    if outcome == "fail":
        state.failed += 1


def read_go_results(path: Path) -> TestResults:
    """The stream at ``path`` as ``TestResults``: gotestsum's counts, and a package that
    failed while none of its tests did (a ``TestMain`` that exits non-zero) as one error."""
    run = read_go_test_json(path)
    outcomes: dict[str, Outcome_] = {"pass": "passed", "fail": "failed", "skip": "skipped"}
    cases = [TestCase(c.id, outcomes[c.outcome], c.duration_s) for c in run.tests]
    cases.extend(TestCase(package, "error", None) for package in run.failed_packages)
    counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
    counts.update(
        passed=run.passed, failed=run.failed, skipped=run.skipped, error=len(run.failed_packages)
    )
    return TestResults.from_counts(counts, round(run.duration_s, 3), cases)
