"""The pull-request comment (GitHub) or merge-request note (GitLab): one Markdown body.

Its first line is ``MARKER``, by which a later run finds it again and edits it in place.
Then a headline table (tests passing, coverage before and after, patch coverage), the
gates' verdicts, newly failing tests, the impacted files, the uncovered changed lines
(each range a link to those lines at the pull request's head commit), the tests added,
removed and fixed, and a footer naming the range.

Every text is made Markdown-inert once: a path or test id as a code span
(``phasectl.report.markdown.code_span``), prose as escaped text (``escape_text``), never
both. A list longer than ``LIST_LIMIT`` shows its first entries and folds the rest in a
``<details>`` block (``FOLD_LIMIT`` entries at most, then a count); a body longer than the
forge accepts is cut, with a note that says where everything is.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from phasectl.ci.figures import Figures, points
from phasectl.model.coverage_change import signed
from phasectl.model.coverage_data import CoverageSummary
from phasectl.model.results import first_line
from phasectl.report.markdown import code_span, escape_text

if TYPE_CHECKING:
    from phasectl.model.phase import PhaseMetrics
    from phasectl.workflow.gates import Gate

MARKER = "<!-- phasectl:pr-comment -->"
"""First line of every comment phasectl posts; the only way it finds its comment again."""
LIST_LIMIT = 10
"""Entries of a list shown before the rest is folded."""
FOLD_LIMIT = 200
"""Entries inside one fold at most, so that one long list cannot push the others past the
forge's length; the rest is counted."""
GITHUB_MAX_CHARS = 65536
"""GitHub refuses a comment body longer than this (counted in UTF-16 code units)."""
ARROW = "→"
DASH = "—"
_VERDICTS = {"pass": "PASS", "fail": "**FAIL**", "unmeasured": "not measured"}


def is_marked(body: str) -> bool:
    """True when the first line of ``body`` is exactly ``MARKER`` (a CRLF ending aside):
    a reply that quotes the marker anywhere else is somebody else's comment."""
    return body.split("\n", 1)[0].removesuffix("\r") == MARKER


def marked(items: Iterable[Any]) -> Mapping[str, Any] | None:
    """The first comment or note (a JSON object with an ``id`` and a ``body``) that
    ``is_marked``; ``None`` when there is none."""
    for item in items:
        if not isinstance(item, Mapping) or item.get("system"):  # GitLab's system notes
            continue
        body, key = item.get("body"), item.get("id")
        if isinstance(body, str) and isinstance(key, int) and is_marked(body):
            return item
    return None


@dataclass(frozen=True)
class LineLinks:
    """Links to a file's lines at one commit: ``blob_url`` is the address up to the commit
    (``https://github.com/o/r/blob/<sha>``). GitHub marks a range ``#L14-L19``, GitLab
    ``#L14-19``."""

    blob_url: str
    style: Literal["github", "gitlab"] = "github"

    def url(self, path: str, first: int, last: int) -> str:
        # The path's own bytes, percent-encoded (git paths need not be UTF-8).
        quoted = urllib.parse.quote(os.fsencode(path), safe="/")
        anchor = f"L{first}"
        if last != first:
            anchor += f"-L{last}" if self.style == "github" else f"-{last}"
        return f"{self.blob_url.rstrip('/')}/{quoted}#{anchor}"


@dataclass(frozen=True)
class CommentPlace:
    """What the forge adds to a comment: links to lines (``None``: ranges as plain text),
    the longest body it accepts, and where the full figures are when the body is cut."""

    links: LineLinks | None = None
    max_chars: int = GITHUB_MAX_CHARS
    full_url: str | None = None
    full_name: str = "The job summary"


def format_range(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def _size(text: str) -> int:
    # GitHub counts UTF-16 code units; a character outside the BMP is two of them.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _cell(code: str) -> str:
    # In a table a pipe ends the cell, even inside a code span, unless it is escaped; that
    # escape is the table's own (GFM strips it before the span is read), not a second one.
    return code.replace("|", "\\|")


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _beyond(count: int) -> str:
    return f"… and {count} more, not listed here"


def folded_list(items: Sequence[str], limit: int = LIST_LIMIT) -> list[str]:
    """Markdown list lines: the first ``limit`` items, the rest in ``<details>``."""
    lines = [f"- {item}" for item in items[:limit]]
    rest = items[limit:]
    if rest:
        inside = [f"- {item}" for item in rest[:FOLD_LIMIT]]
        if len(rest) > FOLD_LIMIT:
            inside.append(f"- {_beyond(len(rest) - FOLD_LIMIT)}")
        lines += ["", f"<details><summary>{len(rest)} more</summary>", "", *inside, "",
                  "</details>"]  # fmt: skip
    return lines


def folded_table(
    header: Sequence[str],
    align: Sequence[str],
    rows: Sequence[Sequence[str]],
    limit: int = LIST_LIMIT,
) -> list[str]:
    """A Markdown table of the first ``limit`` rows; the rest in a second table, folded."""

    def table(part: Sequence[Sequence[str]]) -> list[str]:
        return [_row(header), _row(align), *(_row(r) for r in part)]

    lines = table(rows[:limit])
    rest = rows[limit:]
    if rest:
        inside = table(rest[:FOLD_LIMIT])
        if len(rest) > FOLD_LIMIT:
            inside += ["", _beyond(len(rest) - FOLD_LIMIT)]
        lines += ["", f"<details><summary>{len(rest)} more</summary>", "", *inside, "",
                  "</details>"]  # fmt: skip
    return lines


def _fold_all(title: str, items: Sequence[str]) -> list[str]:
    """A whole list folded under ``title`` (already folded: no second fold inside)."""
    inside = [f"- {i}" for i in items[:FOLD_LIMIT]]
    if len(items) > FOLD_LIMIT:
        inside.append(f"- {_beyond(len(items) - FOLD_LIMIT)}")
    return ["<details>", f"<summary>{title}</summary>", "", *inside, "", "</details>", ""]


# ---- the sections -------------------------------------------------------------------


def _headline(metrics: PhaseMetrics, figures: Figures) -> list[str]:
    tests, coverage = metrics.tests, metrics.coverage
    rows: list[list[str]] = []
    if tests is None:
        rows.append(["**Tests passing**", DASH, "not collected", DASH])
    else:
        after, old = tests["after"], tests.get("before")
        others = [f"{after[k]} {k}" for k in ("skipped", "xfailed", "xpassed") if after.get(k)]
        aside = f" ({', '.join(others)})" if others else ""
        moved = f"{signed(after['passed'] - old['passed'], 0)} passing" if old else DASH
        rows.append(["**Tests passing**", figures.tests_before or "no baseline",
                     f"{figures.tests_after}{aside}", moved])  # fmt: skip
    if coverage is None:
        rows.append(["**Coverage**", DASH, "not collected", DASH])
    else:
        was = f"{figures.coverage_before}%" if figures.coverage_before else "no baseline"
        moved = points(figures.coverage_change) if figures.coverage_change else DASH
        label = f"**Coverage** ({escape_text(figures.coverage_basis or 'lines')})"
        rows.append([label, was, f"{figures.coverage_after}%", moved])
        patch = coverage.get("patch")
        if patch is None:
            rows.append(["**Patch coverage**", DASH, "not collected", DASH])
        else:
            # Changed files coverage never measured are not in the figure: say how many.
            count = len(patch.get("not_measured") or ())
            aside = f"; {count} changed file{'s' * (count != 1)} not measured" if count else ""
            covered, total = figures.patch_covered, figures.patch_total
            shown = f"{figures.patch}% ({covered} of {total} changed lines{aside})"
            if figures.patch is None:
                shown = f"no changed line is measurable{aside}"
            rows.append(["**Patch coverage**", DASH, shown, DASH])
    return [_row(["", "Before", "After", "Change"]), _row([":--", "--:", "--:", "--:"]),
            *(_row(r) for r in rows)]  # fmt: skip


def _gates(gates: Sequence[Gate] | None) -> list[str]:
    if gates is None:
        return []
    if not gates:
        return ["**Gates**: none configured ([tool.phasectl.check])"]
    failed = sum(g.verdict == "fail" for g in gates)
    unmeasured = sum(g.verdict == "unmeasured" for g in gates)
    state = (
        f"{failed} of {len(gates)} failed"
        if failed
        else f"{unmeasured} of {len(gates)} not measured"
        if unmeasured
        else "all passed"
    )
    rows = [[escape_text(g.name), _VERDICTS[g.verdict], escape_text(g.figure)] for g in gates]
    return [f"#### Gates: {state}", "",
            *folded_table(["Gate", "Verdict", "Figure"], [":--", ":--", ":--"], rows)]  # fmt: skip


def failure_messages(metrics: PhaseMetrics) -> dict[str, str]:
    """The first line of each newly failing test's failure message, by test id, where its
    source gave one (``tests.changes.failures``: JUnit, ``go test -json``, pytest)."""
    changes = (metrics.tests or {}).get("changes") or {}
    found = {}
    for test, details in (changes.get("failures") or {}).items():
        message = details.get("message")
        line = first_line(message) if isinstance(message, str) else None
        if line:
            found[test] = line
    return found


def _newly_failing(metrics: PhaseMetrics) -> list[str]:
    tests = metrics.tests
    if tests is None:
        return ["**Newly failing tests**: not collected"]
    changes = tests.get("changes")
    if changes is None:
        return ["**Newly failing tests**: no baseline to compare with"]
    failing = changes["newly_failing"]
    if not failing:
        return ["**Newly failing tests**: none"]
    messages = failure_messages(metrics)
    items = [
        code_span(test) + (f": {escape_text(messages[test])}" if test in messages else "")
        for test in failing
    ]
    return [f"#### Newly failing tests ({len(failing)})", "", *folded_list(items)]


@dataclass(frozen=True)
class ImpactedFile:
    """A changed file that coverage measured: its covered and measurable lines before
    and after (``None`` on a side where it was not measured), its changed lines' coverage
    and the ranges of changed lines no test ran."""

    path: str
    before: tuple[int, int] | None
    after: tuple[int, int] | None
    patch: tuple[int, int] | None
    uncovered: tuple[tuple[int, int], ...]

    @property
    def uncovered_lines(self) -> int:
        return sum(last - first + 1 for first, last in self.uncovered)

    @property
    def drop(self) -> float:
        """Points of coverage lost (negative: gained); 0 unless measured on both sides."""
        if self.before is None or self.after is None:
            return 0.0
        return _percent(*self.before) - _percent(*self.after)


def _percent(covered: int, total: int) -> float:
    return 100.0 * covered / total if total else 100.0


def impacted_files(metrics: PhaseMetrics) -> list[ImpactedFile]:
    """Each changed file coverage measured, by impact: most uncovered changed lines first,
    then the biggest coverage drop, then path."""
    coverage = metrics.coverage
    if coverage is None:
        return []

    def lines(side: Mapping[str, Any] | None) -> dict[str, tuple[int, int]]:
        files = (side or {}).get("files") or ()
        return {f["path"]: (f["lines_covered"], f["lines_total"]) for f in files}

    before, after = lines(coverage.get("before")), lines(coverage.get("after"))
    patch = {f["path"]: f for f in (coverage.get("patch") or {}).get("files", ())}
    found = []
    for change in metrics.diff.files:
        old = None if change.status == "created" else before.get(change.old_path or change.path)
        new = None if change.status == "deleted" else after.get(change.path)
        part = patch.get(change.path)
        if old is None and new is None and part is None:
            continue
        found.append(
            ImpactedFile(
                path=change.path,
                before=old,
                after=new,
                patch=(part["lines_covered"], part["lines_total"]) if part else None,
                uncovered=tuple((a, b) for a, b in part["uncovered"]) if part else (),
            )
        )
    return sorted(found, key=lambda f: (-f.uncovered_lines, -f.drop, f.path))


def _impacted(metrics: PhaseMetrics, files: list[ImpactedFile]) -> list[str]:
    coverage = metrics.coverage
    if coverage is None:
        return ["**Impacted files**: coverage not collected"]
    if not files:
        return ["**Impacted files**: no changed file is measured by coverage"]
    # Each file's figures counted on lines, shown as the head's tool shows its total.
    summary = CoverageSummary.from_dict(coverage["after"])
    no_baseline = coverage.get("before") is None
    rows = []
    for f in files:
        new = summary.display(*f.after) + "%" if f.after else None
        old = summary.display(*f.before) + "%" if f.before else None
        if no_baseline:
            shown = new or DASH
        elif old and new:
            change = signed(float(new[:-1]) - float(old[:-1]), summary.precision)
            shown = f"{old} {ARROW} {new} ({change})"
        else:
            shown = f"{old or 'new'} {ARROW} {new or 'deleted'}"
        patch = DASH
        if f.patch is not None:
            # One decimal, as the total patch coverage shows (figures.patch_percent).
            patch = f"{_percent(*f.patch):.1f}% ({f.patch[0]}/{f.patch[1]})"
        rows.append([_cell(code_span(f.path)), shown, patch, str(f.uncovered_lines)])
    header = ["File", "Coverage (lines)", "Patch coverage", "Uncovered changed lines"]
    return [f"#### Impacted files ({len(files)})", "",
            *folded_table(header, [":--", "--:", "--:", "--:"], rows)]  # fmt: skip


def _uncovered(
    metrics: PhaseMetrics, files: list[ImpactedFile], links: LineLinks | None
) -> list[str]:
    if (metrics.coverage or {}).get("patch") is None:
        return ["**Uncovered changed lines**: not collected"]
    missing = [f for f in files if f.uncovered]
    if not missing:
        return ["**Uncovered changed lines**: none"]
    count = sum(f.uncovered_lines for f in missing)
    lines = [f"#### Uncovered changed lines ({count} in {len(missing)} "
             f"{'file' if len(missing) == 1 else 'files'})", ""]  # fmt: skip
    items = []
    for f in missing:
        ranges = [
            f"[{format_range(a, b)}]({links.url(f.path, a, b)})" if links else format_range(a, b)
            for a, b in f.uncovered
        ]
        item = f"{code_span(f.path)}: {', '.join(ranges[:LIST_LIMIT])}"
        if len(ranges) > LIST_LIMIT:
            rest = ranges[LIST_LIMIT:]
            # Indented: the fold stays inside its file's list item.
            item += (f"\n  <details><summary>{len(rest)} more</summary>\n\n"
                     f"  {', '.join(rest)}\n\n  </details>")  # fmt: skip
        items.append(item)
    return lines + [line for item in folded_list(items) for line in item.split("\n")]


def _test_changes(metrics: PhaseMetrics) -> list[str]:
    changes = (metrics.tests or {}).get("changes")
    if not changes:
        return []
    kinds = (("added", "added"), ("removed", "removed"), ("fixed", "fixed"))
    counts = ", ".join(f"{len(changes.get(key) or ())} {word}" for key, word in kinds)
    lines = [f"**Tests**: {counts}", ""]
    for key, word in kinds:
        ids = changes.get(key) or []
        if ids:
            noun = "test" if len(ids) == 1 else "tests"
            lines += _fold_all(f"{len(ids)} {noun} {word}", [code_span(i) for i in ids])
    return lines


def _footer(metrics: PhaseMetrics) -> str:
    base, head = metrics.base, metrics.head
    return (
        f"<sub>Base {code_span(base.ref)} ({code_span(base.sha[:7])}) {ARROW} head "
        f"{code_span(head.ref)} ({code_span(head.sha[:7])}), measured by phasectl</sub>"
    )


def comment_body(
    name: str,
    metrics: PhaseMetrics,
    gates: Sequence[Gate] | None = None,
    place: CommentPlace | None = None,
) -> str:
    """The whole comment, ``MARKER`` first; ``gates`` ``None`` leaves out the gates."""
    place = place or CommentPlace()
    files = impacted_files(metrics)
    sections = [
        _headline(metrics, Figures.of(metrics)),
        _gates(gates),
        _newly_failing(metrics),
        _impacted(metrics, files),
        _uncovered(metrics, files, place.links),
        _test_changes(metrics),
    ]
    body = [line for section in sections if section for line in [*section, ""]]
    head = [MARKER, f"### Phase {code_span(name)}", ""]
    footer = ["---", _footer(metrics)]
    return fit(head, _squeeze(body), footer, place)


def _squeeze(lines: list[str]) -> list[str]:
    """No two blank lines in a row."""
    out: list[str] = []
    for line in lines:
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return out


def fit(head: list[str], body: list[str], footer: list[str], place: CommentPlace) -> str:
    """``head``, ``body`` and ``footer`` as one text of at most ``place.max_chars``: when
    longer, the body is cut at a line, its open ``<details>`` closed, and a note added."""
    whole = "\n".join([*head, *body, *footer]) + "\n"
    if _size(whole) <= place.max_chars:
        return whole
    where = f"[{place.full_name}]({place.full_url})" if place.full_url else place.full_name
    note = (
        f"_This comment is cut short: it may hold at most {place.max_chars:,} characters. "
        f"{where} has everything._"
    )
    closing = "</details>\n\n"
    # Blank lines around the closings and the note: an HTML block ends at a blank line.
    budget = place.max_chars - _size("\n".join([*head, "", "", note, "", *footer]) + "\n")
    kept: list[str] = []
    used = opened = 0
    for line in body:
        depth = max(opened + line.count("<details>") - line.count("</details>"), 0)
        cost = _size(line) + 1
        if used + cost + depth * _size(closing) > budget:
            break
        kept.append(line)
        used += cost
        opened = depth
    tail = ["", *(line for _ in range(opened) for line in ("</details>", "")), note, ""]
    return "\n".join([*head, *_squeeze([*kept, *tail]), *footer]) + "\n"
