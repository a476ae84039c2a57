"""Release gates: each threshold of ``phasectl check`` judged against the collected phase.

A gate passes, fails, or cannot be judged because its figure was not measured (no
tests, no coverage, no baseline); ``check`` exits 1 on a failure, else 2 when a gate
could not be judged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from phasectl.config import CheckSettings
from phasectl.errors import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK
from phasectl.model.coverage_change import shown_figures
from phasectl.model.phase import PhaseMetrics
from phasectl.repo.changes import EMPTY_TREE_REF

Verdict = Literal["pass", "fail", "unmeasured"]


@dataclass(frozen=True)
class Gate:
    """One gate's name, the figure it judged, and its verdict."""

    name: str
    figure: str
    verdict: Verdict

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "figure": self.figure, "verdict": self.verdict}


_LABELS = {"pass": "PASS", "fail": "FAIL", "unmeasured": "N/A "}


def gate_lines(gates: list[Gate]) -> list[str]:
    """One aligned line per gate: verdict, name, figure (as ``check`` prints them)."""
    width = max((len(g.name) for g in gates), default=0)
    return [f"{_LABELS[g.verdict]}  {g.name:<{width}}  {g.figure}" for g in gates]


def exit_status(gates: list[Gate]) -> int:
    """1 when a gate failed, else 2 when one could not be measured, else 0."""
    verdicts = {g.verdict for g in gates}
    if "fail" in verdicts:
        return EXIT_CHECK_FAILED
    return EXIT_BAD_INPUT if "unmeasured" in verdicts else EXIT_OK


def _precision(display: str) -> int:
    return len(display.partition(".")[2])


def fails_under(coverage: Mapping[str, Any], fail_under: float) -> bool:
    """coverage.py's own ``fail_under`` rule: the total rounded as it is displayed, except
    that 100 means exactly 100."""
    total = float(coverage["percent"])
    if fail_under == 100.0:
        return total < 100.0
    if coverage.get("display_rule", "coverage.py") != "coverage.py":
        # jest's coverageThreshold and Go compare what they show.
        return float(coverage["percent_display"]) < fail_under
    return round(total, _precision(str(coverage["percent_display"]))) < fail_under


def decisive(value: float, fails: Callable[[float], bool], spec: str = "") -> str:
    """``value`` with one decimal, or as many more as it takes for the number shown to get
    the same verdict as the value itself (a drop of 0.54 against 0.5 shows as -0.54, not
    as a failing -0.5)."""
    verdict = fails(value)
    for places in range(1, 16):
        text = f"{value:{spec}.{places}f}"
        if fails(float(text)) == verdict:
            return text
    return repr(value)


def _ids(ids: list[str], limit: int = 5) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _test_changes(metrics: PhaseMetrics) -> dict[str, list[str]] | None:
    """Which tests changed; for the first phase (nothing before it) every test is new."""
    tests = metrics.tests
    if tests is None:
        return None
    if tests.get("changes") is not None:
        changes: dict[str, list[str]] = tests["changes"]
        return changes
    if metrics.base.ref == EMPTY_TREE_REF:
        failing = [c["id"] for c in tests["after"]["cases"] if c["outcome"] in ("failed", "error")]
        return {"newly_failing": sorted(failing), "removed": []}
    return None


def judge(metrics: PhaseMetrics, settings: CheckSettings) -> list[Gate]:
    """The verdict of every gate that is switched on, except ``report_current`` (the caller
    renders the report to judge that one)."""
    gates: list[Gate] = []
    coverage = metrics.coverage
    no_coverage = "coverage not collected" if coverage is None else ""
    if settings.fail_under is not None:
        name = f"coverage >= {settings.fail_under:g}%"
        if coverage is None:
            gates.append(Gate(name, no_coverage, "unmeasured"))
        else:
            after = coverage["after"]
            failed = fails_under(after, settings.fail_under)
            gates.append(Gate(name, f"{after['percent_display']}%", "fail" if failed else "pass"))
    if settings.max_coverage_drop is not None:
        name = f"coverage drop <= {settings.max_coverage_drop:g} points"
        shown = shown_figures(coverage) if coverage is not None else None
        if shown is None or shown["change"] is None:
            figure = no_coverage or "no baseline coverage to compare with"
            gates.append(Gate(name, figure, "unmeasured"))
        else:
            # Judged on the change as shown (as coverage.py judges fail_under on its
            # rounded total), so the figure and the verdict never disagree.
            change = 0.0 if shown["change"] == "±0" else float(shown["change"])
            dropped = -change > settings.max_coverage_drop
            figure = f"{shown['change']} points ({shown['before']}% -> {shown['after']}%, "
            figure += f"{shown['basis']})"
            gates.append(Gate(name, figure, "fail" if dropped else "pass"))
    if settings.min_patch_coverage is not None:
        name = f"patch coverage >= {settings.min_patch_coverage:g}%"
        patch = coverage["patch"] if coverage is not None else None
        if patch is None:
            gates.append(Gate(name, no_coverage or "no line data", "unmeasured"))
        elif patch["percent"] is None:
            gates.append(Gate(name, "no changed line is measurable", "pass"))
        else:
            least = settings.min_patch_coverage
            low = patch["percent"] < least
            percent = decisive(patch["percent"], lambda v: v < least)
            figure = f"{percent}% ({patch['lines_covered']}/{patch['lines_total']})"
            gates.append(Gate(name, figure, "fail" if low else "pass"))
    changes = _test_changes(metrics)
    unknown = "tests not collected" if metrics.tests is None else "no baseline to compare with"
    for allowed, key, name, word in (
        (settings.allow_new_failures, "newly_failing", "no new failing tests", "newly failing"),
        (settings.allow_removed_tests, "removed", "no removed tests", "removed"),
    ):
        if allowed:
            continue
        if changes is None:
            gates.append(Gate(name, unknown, "unmeasured"))
            continue
        ids = changes[key]
        figure = f"{len(ids)} {word}" + (f": {_ids(ids)}" if ids else "")
        gates.append(Gate(name, figure, "fail" if ids else "pass"))
    return gates
