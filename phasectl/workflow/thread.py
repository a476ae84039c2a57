"""The phase thread: the plan the previous report made, judged on this phase's figures.

When phase N+1's report is written, phase N's report is read as committed (at the commit
the new report describes, so the same commit always renders the same): its Success
Criteria are judged on the figures exactly as the Metrics region shows them, its
Implementation Steps are carried over for people to tick, and its Estimated Time is set
beside the phase's real duration. The phase's commits are grouped for Accomplishments.
Nothing here writes: the previous report is never edited.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from phasectl.repo.changes import EMPTY_TREE_REF, RangeCommit, range_commits
from phasectl.report.markdown import code_span
from phasectl.report.output import duration as time_text
from phasectl.report.output import tests_line
from phasectl.workflow.commits import CommitGroups, group_commits
from phasectl.workflow.plan import Estimate, Plan, in_unit, read_plan

if TYPE_CHECKING:
    from phasectl.config import Config
    from phasectl.model.diff import RefInfo
    from phasectl.model.phase import PhaseMetrics
    from phasectl.repo.repository import Repository

PASS, FAIL, UNMEASURED, PEOPLE = "pass", "fail", "unmeasured", "people"

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "\u2265": operator.ge, ">=": operator.ge, "\u2264": operator.le, "<=": operator.le,
    "<": operator.lt, ">": operator.gt, "=": operator.eq,
}  # fmt: skip
_CRITERION = re.compile(r"(?P<figure>[^<>=\u2264\u2265]+?)[ \t]*(?P<op>\u2265|>=|\u2264|<=|<|>|=)"
                        r"[ \t]*(?P<value>[^<>=\u2264\u2265]+?)\.?")  # fmt: skip
_NUMBER = r"\d+(?:\.\d+)?"
_PERCENT = re.compile(rf"(?P<n>{_NUMBER})[ \t]*%?")
_COUNT = re.compile(r"\d{1,3}(?:,\d{3})+|\d+")
_PAIR = re.compile(r"(?P<a>\d+)[ \t]*/[ \t]*(?P<b>\d+)")
_TIME = re.compile(rf"(?P<n>{_NUMBER})[ \t]*(?P<unit>ns|\u00b5s|\u03bcs|us|ms|s)")
_SCALE = {"ns": Fraction(1, 10**9), "\u00b5s": Fraction(1, 10**6), "\u03bcs": Fraction(1, 10**6),
          "us": Fraction(1, 10**6), "ms": Fraction(1, 1000), "s": Fraction(1)}  # fmt: skip
_TOTALS = {
    "lines added": "lines_added",
    "lines removed": "lines_removed",
    "files modified": "files_modified",
    "files created": "files_created",
}
_NO_NEW_FAILING = re.compile(r"no new failing tests\.?", re.IGNORECASE)
_ALL_PASSING = re.compile(r"all tests pass(?:ing)?\.?", re.IGNORECASE)


@dataclass(frozen=True)
class Judged:
    """One objective: a criterion judged on a figure, or a line for people to tick."""

    text: str
    """The criterion or step as the plan wrote it."""
    verdict: str
    """``pass``, ``fail``, ``unmeasured``, or ``people`` (phasectl cannot judge it)."""
    shown: str = ""
    """The figure as the Metrics region shows it."""

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "verdict": self.verdict, "shown": self.shown}


# --- judging a criterion on the figures ----------------------------------------------------


def _verdict(ok: bool, shown: str) -> tuple[str, str]:
    return (PASS if ok else FAIL), shown


def _percent_text(value: Fraction, goal: Fraction, op: Callable[[Any, Any], bool]) -> str:
    """``value`` with the fewest decimals (one at least) that cannot read as the other
    verdict: 94.96% is shown as 94.96%, not as 95.0%, next to "≥ 95%"."""
    for digits in range(1, 7):
        text = f"{float(value):.{digits}f}"
        if op(Fraction(text), goal) == op(value, goal):
            return text
    return f"{float(value)}"


def judge(text: str, metrics: PhaseMetrics) -> Judged:
    """Judge one Success Criteria item on ``metrics``; a line phasectl cannot read is left
    to people (``people``), a figure that was not collected is ``unmeasured``."""
    found = _judge(text.strip(), metrics)
    if found is None:
        return Judged(text, PEOPLE)
    verdict, shown = found
    return Judged(text, verdict, shown)


def _judge(text: str, metrics: PhaseMetrics) -> tuple[str, str] | None:
    tests = metrics.tests["after"] if metrics.tests else None
    if _NO_NEW_FAILING.fullmatch(text):
        changes = (metrics.tests or {}).get("changes")
        if changes is None:  # no baseline: which tests newly fail is unknown
            return UNMEASURED, ""
        failing = len(changes.get("newly_failing") or ())
        return _verdict(failing == 0, f"{failing} newly failing")
    if _ALL_PASSING.fullmatch(text):
        if tests is None:
            return UNMEASURED, ""
        ok = tests["passed"] > 0 and tests["failed"] == 0 and not tests.get("errors")
        return _verdict(ok, tests_line(tests))
    match = _CRITERION.fullmatch(text)
    if match is None:
        return None
    figure = " ".join(match["figure"].split())
    name, op, value = figure.casefold(), _OPS[match["op"]], match["value"].strip()
    if name in ("coverage", "patch coverage"):
        goal = _PERCENT.fullmatch(value)
        return None if goal is None else _coverage(metrics, name, op, Fraction(goal["n"]))
    if name == "tests passing":
        return _tests_passing(tests, op, value)
    if name in _TOTALS:
        count = _COUNT.fullmatch(value)
        if count is None:
            return None
        from phasectl.report.values import lines_shown

        totals = metrics.diff.totals
        actual = getattr(totals, _TOTALS[name])
        # Judged on the figure first shown; the authored count, when it differs, beside it.
        shown = lines_shown(totals, name[6:]) if name.startswith("lines") else str(actual)
        return _verdict(op(actual, int(count[0].replace(",", ""))), shown)
    if name.startswith("performance "):
        goal = _TIME.fullmatch(value)
        if goal is None:
            return None
        wanted = Fraction(goal["n"]) * _SCALE[goal["unit"]]
        return _performance(metrics, figure[len("performance ") :].strip(), op, wanted)
    return None


def _coverage(
    metrics: PhaseMetrics, name: str, op: Callable[[Any, Any], bool], goal: Fraction
) -> tuple[str, str]:
    from phasectl.model.coverage_change import shown_figures
    from phasectl.report.values import patch_shown

    coverage = metrics.coverage
    if coverage is None:
        return UNMEASURED, ""
    if name == "coverage":
        shown = shown_figures(coverage)["after"]
    else:
        patch = coverage.get("patch")
        shown = patch_shown(patch) if patch is not None else None
        if shown is None:
            return UNMEASURED, ""
    return _verdict(op(Fraction(shown), goal), f"{shown}%")


def _tests_passing(
    tests: Mapping[str, Any] | None, op: Callable[[Any, Any], bool], value: str
) -> tuple[str, str] | None:
    pair, count = _PAIR.fullmatch(value), _COUNT.fullmatch(value)
    percent = re.fullmatch(rf"(?P<n>{_NUMBER})[ \t]*%", value)
    if pair is None and count is None and percent is None:
        return None
    if tests is None:
        return UNMEASURED, ""
    passed, total = tests["passed"], tests["total"]
    shown = f"{passed}/{total}"
    if pair is not None:
        # "≥ 120/125": at least 120 passing of at least 125 tests; each side compared.
        ok = op(passed, int(pair["a"])) and op(total, int(pair["b"]))
        return _verdict(ok, shown)
    if count is not None:
        return _verdict(op(passed, int(count[0].replace(",", ""))), shown)
    assert percent is not None
    if total == 0:
        return UNMEASURED, ""
    goal, actual = Fraction(percent["n"]), Fraction(100 * passed, total)
    return _verdict(op(actual, goal), f"{shown} ({_percent_text(actual, goal, op)}%)")


def _performance(
    metrics: PhaseMetrics, name: str, op: Callable[[Any, Any], bool], goal: Fraction
) -> tuple[str, str]:
    # The name as written, or inside one code span (`name`), as the Metrics region shows it.
    wanted = name[1:-1].strip() if len(name) > 1 and name[0] == name[-1] == "`" else name
    rows = [r for r in (metrics.benchmarks or {}).get("changes", ()) if r["after_s"] is not None]
    row = next((r for r in rows if r["name"] == wanted), None)
    if row is None:
        # pytest-benchmark names carry their file: the test's own name is enough when unique.
        ends = [r for r in rows if r["name"].rpartition("::")[2] == wanted]
        row = ends[0] if len(ends) == 1 else None
    if row is None:
        return UNMEASURED, ""
    shown = time_text(row["after_s"])
    match = _TIME.fullmatch(shown)
    assert match is not None, shown
    return _verdict(op(Fraction(match["n"]) * _SCALE[match["unit"]], goal), shown)


# --- the previous report and its plan ------------------------------------------------------


def previous_phase(repo: Repository, config: Config, base: RefInfo) -> str | None:
    """The name of the phase whose tag is ``base``: the tag named, else a phase tag on the
    base commit (first by name); ``None`` when the base is no phase tag."""
    prefix = config.tag_prefix
    if base.ref == EMPTY_TREE_REF:
        return None
    ref = base.ref.removeprefix("refs/tags/")
    tagged = ref.startswith(prefix) and len(ref) > len(prefix)
    if tagged and repo.ref_sha(f"refs/tags/{ref}") is not None:
        return ref[len(prefix) :]
    tags = sorted(t for t in repo.tags_at(base.sha) if t.startswith(prefix) and t != prefix)
    return tags[0][len(prefix) :] if tags else None


def report_tree_path(config: Config, name: str) -> str:
    """Where the report of phase ``name`` lies in a commit's tree."""
    from phasectl.report.writer import report_file_name

    folder = config.report_dir.strip("/")
    return (
        f"{folder}/{report_file_name(name)}" if folder and folder != "." else report_file_name(name)
    )


def _report_at(repo: Repository, config: Config, name: str, at: str) -> tuple[str, str | None]:
    """The tree path of phase ``name``'s report and its text at commit ``at`` (``None``
    when it is not there)."""
    path = report_tree_path(config, name)
    data = repo.read_files(at, [path]).get(path)
    return path, None if data is None else data.decode("utf-8", "replace")


@dataclass(frozen=True)
class PreviousPlan:
    """The previous phase's report and its plan, or why there is none to judge."""

    name: str | None
    path: str | None
    plan: Plan | None
    note: str
    """One line when there is nothing to judge, else empty."""


def read_previous_plan(repo: Repository, config: Config, base: RefInfo, at: str) -> PreviousPlan:
    """The plan in the report of the phase whose tag is ``base``, as committed at ``at``."""
    name = previous_phase(repo, config, base)
    if name is None:
        if base.ref == EMPTY_TREE_REF:
            note = "No plan to judge: this is the first phase, with no phase tag before it."
        else:
            note = (f"No plan to judge: the base {code_span(base.ref)} is not a phase tag "
                    f"({code_span(config.tag_prefix + '*')}).")  # fmt: skip
        return PreviousPlan(None, None, None, note)
    path, data = _report_at(repo, config, name, at)
    if data is None:
        # Not the commit's id: committing a report must not change what this one says.
        note = (f"No plan to judge: the report of phase {code_span(name)}, {code_span(path)}, "
                "is not committed.")  # fmt: skip
        return PreviousPlan(name, path, None, note)
    plan = read_plan(data)
    if plan is None or plan.empty:
        note = (f"No plan to judge: {code_span(path)} holds no Success Criteria, "
                "Implementation Steps or Estimated Time under its Next Phase heading.")  # fmt: skip
        return PreviousPlan(name, path, plan, note)
    return PreviousPlan(name, path, plan, "")


# --- duration -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Duration:
    """How long a phase took: from its first commit to its head, in UTC."""

    start: int
    end: int
    """Committer times, Unix seconds."""
    days: int
    """Distinct UTC dates with commits."""
    unit: str

    @property
    def seconds(self) -> int:
        return max(0, self.end - self.start)

    @property
    def text(self) -> str:
        return in_unit(self.seconds, self.unit)

    def line(self, estimate: str | None) -> str:
        """``3 days (estimated: 2 days realistic, 1\u20134 days); commits on 4 days``."""
        planned = f" (estimated: {estimate})" if estimate else ""
        plural = "day" if self.days == 1 else "days"
        return f"{self.text}{planned}; commits on {self.days} {plural}"

    def to_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "unit": self.unit, "text": self.text,
                "commit_days": self.days, "start": self.start, "end": self.end}  # fmt: skip


def phase_duration(
    commits: list[RangeCommit], head: str, realistic: Estimate | None
) -> Duration | None:
    """From the committer time of the oldest of ``commits`` to that of ``head`` (the last
    that is not only reports), shown in the realistic estimate's unit (else days)."""
    if not commits:
        return None
    times = [c.committed for c in commits]
    end = next((c.committed for c in commits if c.sha == head), max(times))
    days = {datetime.fromtimestamp(t, timezone.utc).date() for t in times}
    return Duration(min(times), end, len(days), realistic.unit if realistic else "day")


def phase_timing(
    repo: Repository, config: Config, base: str | None, head: str, previous: str | None, at: str
) -> tuple[Duration | None, Estimate | None]:
    """A phase's duration from ``base`` (``None``: the first commit) to ``head``, and the
    realistic estimate phase ``previous``'s report (as committed at ``at``) made for it."""
    plan = None
    if previous is not None:
        text = _report_at(repo, config, previous, at)[1]
        plan = read_plan(text) if text is not None else None
    realistic = plan.realistic if plan is not None else None
    commits = range_commits(repo, base, head, config.report_dir)
    return phase_duration(commits, head, realistic), realistic


# --- the thread ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseThread:
    """What this phase's report says about the plan before it, its time and its commits."""

    previous: PreviousPlan
    objectives: tuple[Judged, ...] = ()
    steps: tuple[Judged, ...] = ()
    estimate: str | None = None
    duration: Duration | None = None
    commits: CommitGroups = field(default_factory=lambda: CommitGroups((), 0, 0))

    def to_dict(self) -> dict[str, Any]:
        """The plain values the report's templates get (``ReportInputs.thread``)."""
        previous = self.previous
        return {
            "previous": {"name": previous.name, "path": previous.path} if previous.path else None,
            "note": previous.note,
            "criteria": [j.to_dict() for j in self.objectives],
            "steps": [j.to_dict() for j in self.steps],
            "estimate": self.estimate,
            "duration": self.duration.to_dict() if self.duration else None,
            "duration_line": self.duration.line(self.estimate)
            if self.duration
            else (
                f"no commits outside the reports (estimated: {self.estimate})"
                if self.estimate
                else "no commits outside the reports"
            ),
            "commits": self.commits.to_dict(),
        }


def phase_thread(
    repo: Repository, config: Config, metrics: PhaseMetrics, *, at: str
) -> PhaseThread:
    """The thread of the phase ``metrics`` measured; the previous report is read as
    committed at ``at`` (the commit the new report describes, or where it is committed)."""
    previous = read_previous_plan(repo, config, metrics.base, at)
    plan = previous.plan if previous.plan is not None and not previous.plan.empty else Plan()
    base = None if metrics.base.ref == EMPTY_TREE_REF else metrics.base.sha
    commits = range_commits(repo, base, metrics.head.sha, config.report_dir)
    objectives = tuple(judge(text, metrics) for text in plan.criteria)
    steps = tuple(Judged(title, PEOPLE) for title in plan.steps)
    return PhaseThread(
        previous,
        objectives,
        steps,
        plan.estimate_text(),
        phase_duration(commits, metrics.head.sha, plan.realistic),
        group_commits(commits),
    )
