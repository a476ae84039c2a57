"""The plan a phase report makes for the next phase, read from its ``## Next Phase`` section.

Pure text: the lines of ``### Success Criteria``, the bold titles of ``### Implementation
Steps`` and the three figures of ``### Estimated Time``. The template's own prompts
(``[Measurable outcome]``, ``[X hours/days]``) are not part of a plan.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

# An ATX heading: its level and its text (a closing run of '#' left out).
_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
# A list item of the section itself (not nested): "- [ ] text", "* [x] text", "- text".
_ITEM = re.compile(r" {0,3}[-*+][ \t]+(?:\[(?P<box>[ xX])\][ \t]+)?(?P<text>\S.*?)[ \t]*")
_STEP = re.compile(r" {0,3}(?:\d{1,9}[.)]|[-*+])[ \t]+\*\*(?P<title>[^*].*?)\*\*.*")
_ESTIMATE = re.compile(
    r" {0,3}[-*+][ \t]+\*\*(?P<which>optimistic|realistic|pessimistic):?\*\*:?[ \t]*(?P<value>.*)",
    re.IGNORECASE,
)
_AMOUNT = re.compile(
    r"(?P<amount>\d{1,6}(?:\.\d{1,3})?)[ \t]*"
    r"(?P<unit>hours?|hrs?|h|days?|d|weeks?|wks?|w)(?![a-z])",
    re.IGNORECASE,
)
# A template prompt: the whole text is one bracketed placeholder.
_PROMPT = re.compile(r"\[[^\[\]]*\]")

UNIT_SECONDS = {"hour": 3600, "day": 86400, "week": 7 * 86400}
_UNITS = {"h": "hour", "hr": "hour", "hrs": "hour", "d": "day", "w": "week", "wk": "week",
          "wks": "week"}  # fmt: skip


def amount_text(amount: float, unit: str) -> str:
    """``1 day``, ``2 days``, ``1.5 hours``: a number of ``unit`` in words."""
    number = f"{amount:g}"
    return f"{number} {unit}" if amount == 1 else f"{number} {unit}s"


def in_unit(seconds: float, unit: str) -> str:
    """An elapsed time in whole ``unit``s, rounded half up: ``3 days``, or ``under 1 day``."""
    whole = math.floor(seconds / UNIT_SECONDS[unit] + 0.5)
    return f"under 1 {unit}" if whole < 1 else amount_text(whole, unit)


@dataclass(frozen=True)
class Estimate:
    """One estimated time: an amount of hours, days or weeks."""

    amount: float
    unit: str
    """``hour``, ``day`` or ``week``."""

    @property
    def text(self) -> str:
        return amount_text(self.amount, self.unit)

    @property
    def seconds(self) -> float:
        return self.amount * UNIT_SECONDS[self.unit]

    def to_dict(self) -> dict[str, Any]:
        return {"amount": self.amount, "unit": self.unit, "text": self.text}


@dataclass(frozen=True)
class Plan:
    """What a report planned for the phase after it."""

    criteria: tuple[str, ...] = ()
    """Each Success Criteria item as written, after its checkbox."""
    steps: tuple[str, ...] = ()
    """The bold titles of the Implementation Steps."""
    optimistic: Estimate | None = None
    realistic: Estimate | None = None
    pessimistic: Estimate | None = None

    @property
    def empty(self) -> bool:
        return not (
            self.criteria or self.steps or self.optimistic or self.realistic or self.pessimistic
        )

    def estimate_text(self) -> str | None:
        """``2 days realistic, 1\u20134 days``; ``None`` without any estimate."""
        parts = [f"{self.realistic.text} realistic"] if self.realistic else []
        low, high = self.optimistic, self.pessimistic
        if low is not None and high is not None:
            first = f"{low.amount:g}" if low.unit == high.unit else low.text
            parts.append(f"{first}\u2013{high.text}")
        elif low is not None:
            parts.append(f"{low.text} optimistic")
        elif high is not None:
            parts.append(f"{high.text} pessimistic")
        return ", ".join(parts) or None


def _heading(line: str) -> tuple[int, str] | None:
    match = _HEADING.fullmatch(line)
    if match is None:
        return None
    return len(match[1]), " ".join((match[2] or "").split()).casefold()


def _next_phase(lines: list[str]) -> dict[str, list[str]] | None:
    """The ``### `` subsections of the first ``## Next Phase`` section, their lines by
    heading text; ``None`` when there is no such section."""
    found: dict[str, list[str]] | None = None
    current: list[str] | None = None
    fence: str | None = None
    for line in lines:
        if fence is not None:
            if line.lstrip(" ").startswith(fence):
                fence = None
            continue
        opening = _FENCE.match(line)
        if opening:
            fence = opening[1]
            continue
        heading = _heading(line)
        if heading is None:
            if current is not None:
                current.append(line)
            continue
        level, text = heading
        if level <= 2:
            if found is not None:
                break
            if level == 2 and re.match(r"next phase\b", text):
                found = {}
            continue
        # A subsection's own deeper headings end the list read from it.
        current = (
            found.setdefault(text.rstrip(":").strip(), [])
            if found is not None and level == 3
            else None
        )
    return found


def _top_level(pattern: re.Pattern[str], lines: list[str]) -> list[re.Match[str]]:
    """The list items of ``lines`` that ``pattern`` reads, those nested under another
    item (indented further than the first) left out."""
    found = [(len(line) - len(line.lstrip(" ")), pattern.fullmatch(line)) for line in lines]
    items = [(indent, match) for indent, match in found if match is not None]
    top = min((indent for indent, _ in items), default=0)
    return [match for indent, match in items if indent == top]


def _estimate(value: str) -> Estimate | None:
    match = _AMOUNT.match(value.strip())
    if match is None:
        return None
    word = match["unit"].lower()
    unit = _UNITS.get(word, word.rstrip("s"))
    return Estimate(float(match["amount"]), unit)


def read_plan(text: str) -> Plan | None:
    """The plan in ``text``'s ``## Next Phase`` section; ``None`` when there is no such
    section. Lines inside code fences are not read."""
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    sections = _next_phase(lines)
    if sections is None:
        return None
    criteria = [
        item["text"]
        for item in _top_level(_ITEM, sections.get("success criteria", []))
        if not _PROMPT.fullmatch(item["text"])
    ]
    steps = []
    for step in _top_level(_STEP, sections.get("implementation steps", [])):
        title = step["title"].strip().rstrip(":").strip()
        if title and not _PROMPT.fullmatch(title):
            steps.append(title)
    estimates: dict[str, Estimate] = {}
    for line in sections.get("estimated time", []):
        match = _ESTIMATE.fullmatch(line.rstrip())
        if match:
            found = _estimate(match["value"])
            if found is not None:
                estimates.setdefault(match["which"].lower(), found)
    return Plan(
        tuple(criteria),
        tuple(steps),
        estimates.get("optimistic"),
        estimates.get("realistic"),
        estimates.get("pessimistic"),
    )
