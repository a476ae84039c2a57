"""Collect a whole phase: the diff, and test/coverage/benchmark figures before and after."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

# Imports of the heavier modules are inside the functions: the collect command builds
# CollectOptions before it starts the test run, and that start should not wait on them.
if TYPE_CHECKING:
    from phasectl.config import RunBase


@dataclass(frozen=True)
class CollectOptions:
    """What the user asked ``collect`` for; ``None`` fields fall back to the config."""

    base: str | None = None
    head: str | None = None
    merge_base: bool = False
    tests: bool = True
    quiet: bool = False
    # Artifact globs from the command line, already absolute (relative to the current folder).
    results: tuple[str, ...] = ()
    coverage: tuple[str, ...] = ()
    benchmarks: tuple[str, ...] = ()
    base_results: tuple[str, ...] = ()
    base_coverage: tuple[str, ...] = ()
    base_benchmarks: tuple[str, ...] = ()
    run_base: RunBase | None = None
    skip_reports: bool = False
    """Skip head back past commits that only change reports (report, check, tag)."""
    debt: bool = False
    """Read the technical debt from the diff's changed lines (the commands that render a
    report); ``collect`` leaves it out to stay as fast as git's own diff."""
    commits: bool = False
    """Read the range's commits (the phase thread's) in the background, beside the diff
    (the commands that render a report)."""
    recorded_head: bool = False
    """Take head's figures from the snapshot ``phasectl tag`` stored for this very range,
    when there is one, instead of running the tests (check)."""
    recorded_only: bool = False
    """With ``recorded_head``: collect tests only from that snapshot, never run them
    (``--no-tests`` at a tag phasectl made)."""
