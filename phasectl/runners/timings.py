"""Time the commands of ``[tool.phasectl.timings]``: warm-up runs, then N timed runs.

Each command is the user's own shell command, run by ``sh -c`` in the checkout being
measured (the work tree, or the base's temporary worktree), its output discarded. The
figure is the median wall-clock time of the timed runs, with the fastest and slowest.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from phasectl.model.benchmarks import Benchmark
from phasectl.runners.process import child_env

if TYPE_CHECKING:
    from phasectl.config import Timing
    from phasectl.runners.process import Echo


def _run_once(command: str, root: Path, env: dict[str, str]) -> tuple[float, int, str]:
    started = time.perf_counter()
    done = subprocess.run(
        ["sh", "-c", command],
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    elapsed = time.perf_counter() - started
    said = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return elapsed, done.returncode, said[-1] if said else ""


def time_commands(
    timings: Sequence[Timing], root: Path, echo: Echo
) -> tuple[tuple[Benchmark, ...], list[str]]:
    """Time each command in ``root``; a command that fails is left out, with a warning."""
    env = child_env()
    found: list[Benchmark] = []
    warnings: list[str] = []
    for timing in timings:
        echo(f"phasectl: timing {timing.name} ({timing.warmup} warm-up, {timing.runs} runs)")
        samples: list[float] = []
        for index in range(timing.warmup + timing.runs):
            elapsed, status, last = _run_once(timing.command, root, env)
            if status != 0:
                warnings.append(
                    f"timing {timing.name}: '{timing.command}' exited with status {status}"
                    + (f": {last}" if last else "")
                    + "; not timed"
                )
                break
            if index >= timing.warmup:
                samples.append(elapsed)
        else:
            found.append(
                Benchmark(timing.name, statistics.median(samples), min(samples), max(samples))
            )
    return tuple(found), warnings
