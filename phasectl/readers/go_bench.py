"""Read Go benchmark results from ``go test -bench`` output, plain or ``-json``.

A result line is ``BenchmarkName-N  ITERATIONS  VALUE UNIT [VALUE UNIT ...]``, e.g.
``BenchmarkPut-8   1000000   123 ns/op   16 B/op   1 allocs/op``.

* Results are grouped by (package, name, procs): ``-cpu 1,2`` gives one entry per procs.
* Plain output: every line is read; a ``pkg: import/path`` header line sets the package of
  the results after it.
* ``go test -json`` output: the ``Output`` fields of the events are joined per (Package, Test)
  before being split into lines, because go may print a result in two events (the name
  ``"BenchmarkPut-2   \t"`` first, the figures when the benchmark ends). Lines that are not
  JSON are read as plain output.

Names: the name as go prints it minus the trailing ``-N`` (GOMAXPROCS) suffix, kept in
``procs``. Go omits the suffix when GOMAXPROCS is 1, so a sub-benchmark whose own name ends
in ``-<digits>`` loses that part then; there is no way to tell the two apart from the output.

Figures: with ``-count`` > 1 a benchmark has several result lines; ``ns_per_op`` is their
median (``statistics.median``: the mean of the two middle values for an even number),
likewise ``bytes_per_op`` and ``allocs_per_op`` when every line has them (``-benchmem``).

Errors: a line that looks like a result (``Benchmark...`` then whitespace then a digit) but
does not parse, or has no ``ns/op``; a JSON line that is malformed or of the wrong shape; a
file with no result at all.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from phasectl.errors import PhasectlError
from phasectl.model.benchmarks import plausible_seconds

_LOOKS_LIKE_RESULT = re.compile(r"^(Benchmark\S*)\s+\d", re.ASCII)


_NAME = re.compile(r"^(Benchmark\S*?)(?:-(\d{1,9}))?$", re.ASCII)


_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$", re.ASCII)


_RERUN = "rerun go test -bench . -run '^$' and keep its whole output"


@dataclass(frozen=True)
class GoBenchmark:
    """One benchmark, with the median of its result lines."""

    package: str  # "" when the output names no package
    name: str  # as go prints it, minus the -N GOMAXPROCS suffix
    procs: int | None  # the -N suffix; None when go printed none (GOMAXPROCS=1)
    samples: int  # number of result lines (-count)
    ns_per_op: float
    bytes_per_op: float | None
    allocs_per_op: float | None
    ns_per_op_samples: tuple[float, ...]


@dataclass
class _Series:
    ns: list[float] = field(default_factory=list)
    bytes: list[float | None] = field(default_factory=list)
    allocs: list[float | None] = field(default_factory=list)


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.series: dict[tuple[str, str, int | None], _Series] = {}
        self.text_package = ""
        # (Package, Test) -> (pending text, line where it started)
        self.pending: dict[tuple[str, str], tuple[str, int]] = {}

    def text_line(self, line: str, lineno: int, package: str = "") -> None:
        line = line.rstrip("\r\n")
        if line.startswith("pkg: "):
            self.text_package = line[len("pkg: ") :].strip()
            return
        match = _LOOKS_LIKE_RESULT.match(line)
        if match is None:
            return
        where = f"{self.path}:{lineno}"
        tokens = line.split()
        full_name, figures = tokens[0], tokens[1:]
        if (
            not figures[0].isascii()
            or not figures[0].isdigit()
            or len(figures) < 3
            or len(figures) % 2 == 0
        ):
            raise PhasectlError(
                f"{where}: benchmark result line {_short(line)} does not parse (want NAME "
                f"ITERATIONS VALUE UNIT ...); {_RERUN}"
            )
        values: dict[str, float] = {}
        for value, unit in zip(figures[1::2], figures[2::2], strict=True):
            if not _NUMBER.match(value) or not math.isfinite(float(value)):
                raise PhasectlError(
                    f"{where}: benchmark figure {_short(value)} before {unit} is not a finite "
                    f"number; {_RERUN}"
                )
            values[unit] = float(value)
        if "ns/op" not in values:
            raise PhasectlError(f"{where}: benchmark result {_short(line)} has no ns/op; {_RERUN}")
        if not plausible_seconds(values["ns/op"] * 1e-9):
            raise PhasectlError(
                f"{where}: {values['ns/op']:g} ns/op is not a time a run can take (negative, or "
                f"over a year); {_RERUN}"
            )
        name_match = _NAME.match(full_name)
        assert name_match is not None  # _LOOKS_LIKE_RESULT guarantees the prefix
        name = name_match.group(1)
        procs = int(name_match.group(2)) if name_match.group(2) else None
        key = (package or self.text_package, name, procs)
        series = self.series.setdefault(key, _Series())
        series.ns.append(values["ns/op"])
        series.bytes.append(values.get("B/op"))
        series.allocs.append(values.get("allocs/op"))

    def json_line(self, line: str, lineno: int) -> None:
        where = f"{self.path}:{lineno}"
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            raise PhasectlError(f"{where}: malformed JSON line {_short(line)}; {_RERUN}") from None
        if not isinstance(obj, dict):
            raise PhasectlError(f"{where}: JSON line is not a test2json event object; {_RERUN}")
        fields = []
        for key in ("Package", "Test", "Output"):
            value = obj.get(key)
            if value is not None and not isinstance(value, str):
                raise PhasectlError(
                    f"{where}: test2json field {key} is {type(value).__name__}, not a string; "
                    f"{_RERUN}"
                )
            fields.append(value or "")
        package, test, output = fields
        if not output:
            return
        stream = (package, test)
        text, start = self.pending.pop(stream, ("", lineno))
        text += output
        while "\n" in text:
            complete, text = text.split("\n", 1)
            self.text_line(complete, start, package)
            start = lineno
        if text:
            self.pending[stream] = (text, start)

    def finish(self) -> list[GoBenchmark]:
        for (package, _), (text, start) in list(self.pending.items()):
            self.text_line(text, start, package)
        self.pending.clear()
        if not self.series:
            raise PhasectlError(f"{self.path}:1: no benchmark result line found; {_RERUN}")
        return [
            GoBenchmark(
                package=package,
                name=name,
                procs=procs,
                samples=len(series.ns),
                ns_per_op=statistics.median(series.ns),
                bytes_per_op=_median(series.bytes),
                allocs_per_op=_median(series.allocs),
                ns_per_op_samples=tuple(series.ns),
            )
            for (package, name, procs), series in self.series.items()
        ]


def _median(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    if len(present) != len(values):
        return None
    return statistics.median(present)


def read_go_bench(path: Path) -> list[GoBenchmark]:
    """Read benchmark results from plain or ``-json`` ``go test -bench`` output at ``path``."""
    reader = _Reader(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise PhasectlError(f"{path}: cannot read benchmark output ({exc.strerror})") from exc
    with handle:
        for lineno, raw in enumerate(handle, 1):
            line = raw.decode("utf-8", errors="replace")
            if line.lstrip().startswith("{"):
                reader.json_line(line, lineno)
            else:
                reader.text_line(line, lineno)
    return reader.finish()
