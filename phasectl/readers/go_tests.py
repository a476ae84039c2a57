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

A failed test keeps what its output says of the failure: the last ``x_test.go:12: text``
line (``t.Fatal`` ends a test, and go prints ``t.Log`` lines, often written before the
check that fails, the same way as ``t.Error``), or, when it panicked (a timeout too), the
``panic:`` line and the first ``_test.go`` frame of the stack. A parent test that failed
only through a subtest gets its first failed subtest's. A test killed with its package
gets the panic the package printed.

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
from phasectl.model.results import OUTCOMES, TestCase, TestResults, first_line
from phasectl.model.results import Outcome as Outcome_

Outcome = Literal["pass", "fail", "skip"]


_OUTCOMES: dict[str, Outcome] = {"pass": "pass", "fail": "fail", "skip": "skip"}


_BUILD_FAILED = re.compile(r"^FAIL\s+(\S+)\s.*\[(?:build|setup) failed\]\s*$")


_RERUN = "rerun `go test -json ./... > FILE` and keep its whole output"


class Failure(NamedTuple):
    """What a failed test's output says: the first line of the failure, and where (the
    file as go prints it: a base name, or an absolute path in a panic's stack)."""

    message: str | None = None
    file: str | None = None
    line: int | None = None
    panicked: bool = False


class GoTestCase(NamedTuple):
    """One ended test: ``import/path.TestName/subtest``, its outcome and elapsed seconds,
    and for a failed test what its output says of the failure."""

    id: str
    outcome: Outcome
    duration_s: float
    failure: Failure | None = None
    package: str = ""


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
    # What the output of running tests, and of failed subtests for their parents, says.
    failures: dict[str, Failure] = field(default_factory=dict)
    subtest_failures: dict[str, Failure] = field(default_factory=dict)
    panic: str | None = None  # a panic the package printed outside any test
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
            if event.action == "output" and event.output.startswith("panic: "):
                state.panic = state.panic or first_line(event.output)
            if event.action not in ("pass", "fail", "skip"):
                continue
            # The package's final event: tests still running were killed (panic, timeout).
            for name in state.running:
                root = name.split("/", 1)[0]
                if "/" in name and root in state.passed_roots:
                    continue
                failure = state.failures.get(name) or Failure(state.panic)
                cases.append(
                    GoTestCase(f"{event.package}.{name}", "fail", 0.0, failure, event.package)
                )
                state.ended += 1
                state.failed += 1
            state.running.clear()
            state.failures.clear()
            state.subtest_failures.clear()
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


# "    store_test.go:30: boom" (t.Error, t.Fatal, t.Log); a panic's stack frame
# "\t/home/u/svc/store/store_test.go:21 +0x2e".
_REPORTED = re.compile(r"^\s+([^\s:]+_test\.go):(\d+): ?(.*)$")
_FRAME = re.compile(r"^\t(\S+_test\.go):(\d+)(?: \+0x[0-9a-f]+)?$")


def next_failure(seen: Failure | None, output: str) -> Failure | None:
    """What a failed test's output says of its failure (see the module docstring), once
    one more line of its output is read."""
    text = output.rstrip("\n")
    if text.startswith("panic: ") and (seen is None or not seen.panicked):
        return Failure(first_line(text), None, None, panicked=True)
    if seen is None or not seen.panicked:
        reported = _REPORTED.match(text)
        if reported:
            message = first_line(reported.group(3))
            return Failure(message, reported.group(1), int(reported.group(2)))
    if seen is None:
        return None
    if seen.panicked and seen.file is None:
        frame = _FRAME.match(text)
        if frame:
            return seen._replace(file=frame.group(1), line=int(frame.group(2)))
    elif seen.message is None and not seen.panicked:
        # "x_test.go:12: " alone, its text on the lines below (testify's "Error Trace:"
        # and "Error: Not equal:" block).
        line = text.strip()
        if line and not line.startswith(("Error Trace:", "--- ", "=== ")):
            return seen._replace(message=first_line(line.removeprefix("Error:")))
    return seen


def output_failure(output: str) -> Failure | None:
    """What a failed test's whole output (a JUnit ``<failure>`` gotestsum wrote) says."""
    seen = None
    for line in output.splitlines():
        seen = next_failure(seen, line)
    return seen


def _test_event(state: _Package, event: _Event, lineno: int, cases: list[GoTestCase]) -> None:
    if event.action == "run":
        state.running[event.test] = lineno
        state.failures.pop(event.test, None)  # a run of -count=N starts afresh
        return
    if event.action == "output":
        if event.test in state.running:
            failure = next_failure(state.failures.get(event.test), event.output)
            if failure is not None:
                state.failures[event.test] = failure
        return
    outcome = _OUTCOMES.get(event.action)
    if outcome is None:
        return  # pause, cont, bench and actions newer go may add
    state.running.pop(event.test, None)
    failure = state.failures.pop(event.test, None)
    from_subtest = state.subtest_failures.pop(event.test, None)
    if outcome == "fail":
        failure = failure or from_subtest or Failure()
        parts = event.test.split("/")
        for cut in range(1, len(parts)):
            state.subtest_failures.setdefault("/".join(parts[:cut]), failure)
    else:
        failure = None
    name = f"{event.package}.{event.test}"
    cases.append(GoTestCase(name, outcome, event.elapsed, failure, event.package))
    state.ended += 1
    if outcome == "pass" and "/" not in event.test:
        state.passed_roots.add(event.test)
    if outcome == "fail":
        state.failed += 1


def test_file(name: str, package: str, checkout: Path | None, module: str | None) -> str:
    """The repository path of a ``_test.go`` file go names: an absolute path (a panic's
    stack) mapped onto the checkout, a base name joined to its package's folder (found
    through the module path in ``checkout/go.mod``); as go names it when neither applies."""
    from phasectl.readers.files import checkout_path

    if checkout is None:
        return name
    if "/" in name or "\\" in name:
        return checkout_path(name, checkout)
    if module is not None and (package == module or package.startswith(module + "/")):
        folder = package[len(module) + 1 :]
        candidate = f"{folder}/{name}" if folder else name
        if (checkout / candidate).is_file():
            return candidate
    return name


def module_path(checkout: Path | None) -> str | None:
    from phasectl.readers.go_modules import read_go_module_path

    if checkout is None or not (checkout / "go.mod").is_file():
        return None
    try:
        return read_go_module_path(checkout)
    except PhasectlError:
        return None  # the coverage reader says what is wrong with it


def read_go_results(path: Path, checkout: Path | None = None) -> TestResults:
    """The stream at ``path`` as ``TestResults``: gotestsum's counts, and a package that
    failed while none of its tests did (a ``TestMain`` that exits non-zero) as one error.
    A failed test's file is a repository path when ``checkout`` lets it be found."""
    run = read_go_test_json(path)
    outcomes: dict[str, Outcome_] = {"pass": "passed", "fail": "failed", "skip": "skipped"}
    module = module_path(checkout) if any(c.failure for c in run.tests) else None
    cases = []
    for case in run.tests:
        failure = case.failure or Failure()
        file = failure.file
        if file is not None:
            file = test_file(file, case.package, checkout, module)
        cases.append(
            TestCase(
                case.id, outcomes[case.outcome], case.duration_s, failure.message, file,
                failure.line,
            )
        )  # fmt: skip
    cases.extend(TestCase(package, "error", None) for package in run.failed_packages)
    counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
    counts.update(
        passed=run.passed, failed=run.failed, skipped=run.skipped, error=len(run.failed_packages)
    )
    return TestResults.from_counts(counts, round(run.duration_s, 3), cases)
