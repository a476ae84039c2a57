"""The Technical Debt region's values: what the phase's diff added, as checkboxes, and paid.

A box a person ticked stays ticked on later renders while its item is still listed: the
item is its file, kinds and text; its line number may move (a line added above it).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from phasectl.report.items import ReportInputs, listing
from phasectl.report.markdown import code_span

if TYPE_CHECKING:
    from phasectl.model.phase import PhaseMetrics

REGION = "technical-debt"
_CHECKED = re.compile(r"^- \[[xX]\] (?P<item>.+)$")


def _item_text(entry: Mapping[str, Any]) -> str:
    kinds = ", ".join(entry["kinds"])
    return f"{code_span(entry['path'])} line {entry['line']} ({kinds}): {code_span(entry['text'])}"


def _tally(entries: list[Mapping[str, Any]]) -> str:
    counts = Counter(kind for entry in entries for kind in entry["kinds"])
    return ", ".join(f"{n} {kind}" for kind, n in counts.most_common())


def technical_debt(metrics: PhaseMetrics, inputs: ReportInputs) -> dict[str, Any]:
    """The debt the diff added (``items``: ``text`` after the checkbox, ``checked``) and
    paid (``paid``: how many marked lines it removed; ``paid_text``: that count and kinds).

    ``collected`` is false when the debt was not measured (metrics from before phasectl
    measured it); ``added`` and ``removed`` are the measured entries as collected.
    """
    debt = metrics.debt
    if debt is None:
        return {"collected": False, "items": [], "more": 0, "count": 0, "paid": 0,
                "paid_text": "", "added": [], "removed": []}  # fmt: skip
    texts = [_item_text(entry) for entry in debt["added"]]
    ticks = _ticked(texts, inputs.checked)
    items = [{"text": text, "checked": tick} for text, tick in zip(texts, ticks, strict=True)]
    return {
        "collected": True,
        **listing(items, inputs.max_listed),
        "paid": len(debt["removed"]),
        "paid_text": f"{len(debt['removed'])} ({_tally(debt['removed'])})"
        if debt["removed"]
        else "none",
        "added": list(debt["added"]),
        "removed": list(debt["removed"]),
    }


# "`app.py` line 12 (TODO): `# TODO: x`": the item without its line number.
_LINE = re.compile(r" line \d+ \(")


def _ticked(texts: list[str], checked: frozenset[str]) -> list[bool]:
    """Which items are ticked: those ticked as they are, then, for ticks whose item moved
    to another line, as many items of the same file, kinds and text, first ones first."""
    listed = set(texts)
    moved = Counter(_LINE.sub(" (", text, count=1) for text in checked - listed)
    ticks = []
    for text in texts:
        tick = text in checked
        key = _LINE.sub(" (", text, count=1)
        if not tick and moved[key] > 0:
            moved[key] -= 1
            tick = True
        ticks.append(tick)
    return ticks


def kept_checks(content: str) -> frozenset[str]:
    """The items of an earlier render of the region whose boxes a person ticked."""
    found = (_CHECKED.match(line.rstrip()) for line in content.split("\n"))
    return frozenset(match.group("item") for match in found if match)
