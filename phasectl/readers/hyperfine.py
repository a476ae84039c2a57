"""Read a hyperfine ``--export-json`` file.

Shape (hyperfine 1.x): ``{"results": [{"command": str, "mean": s, "stddev": s|null,
"median": s, "user": s, "system": s, "min": s, "max": s, "times": [s, ...],
"exit_codes": [...], "parameters": {...}}, ...]}``, all times in seconds. This module needs
``command``, ``mean``, ``median``, ``min``, ``max`` (finite numbers) and a non-empty ``times``
list; other fields are ignored. Anything else, or an empty ``results`` list, is a
``PhasectlError`` naming the file and the line where the offending result starts.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from phasectl.errors import PhasectlError
from phasectl.model.benchmarks import plausible_seconds

_IMPLAUSIBLE = "is not a time a run can take (negative, or over a year)"


_REEXPORT = "rerun hyperfine with --export-json FILE"


_SPACE = re.compile(r"\s*")


@dataclass(frozen=True)
class HyperfineResult:
    """One hyperfine command; times in seconds."""

    command: str
    mean_s: float
    median_s: float
    min_s: float
    max_s: float
    times_s: tuple[float, ...]


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _result_lines(text: str) -> list[int]:
    """Line numbers where the elements of the top-level ``results`` array start.

    ``text`` must already be valid JSON; returns [] when it holds no ``results`` array.
    """
    decoder = json.JSONDecoder()

    def skip(index: int) -> int:
        match = _SPACE.match(text, index)
        return match.end() if match else index

    index = skip(0)
    if text[index : index + 1] != "{":
        return []
    index = skip(index + 1)
    while text[index : index + 1] == '"':
        key, index = decoder.raw_decode(text, index)
        index = skip(skip(index) + 1)  # the ':'
        if key == "results" and text[index : index + 1] == "[":
            lines = []
            index = skip(index + 1)
            while text[index : index + 1] not in ("]", ""):
                lines.append(text.count("\n", 0, index) + 1)
                _, index = decoder.raw_decode(text, index)
                index = skip(index)
                index = skip(index + 1) if text[index : index + 1] == "," else index
            return lines
        _, index = decoder.raw_decode(text, index)
        index = skip(index)
        index = skip(index + 1) if text[index : index + 1] == "," else index
    return []


def read_hyperfine_json(path: Path) -> list[HyperfineResult]:
    """Read the results of the hyperfine ``--export-json`` file at ``path``."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise PhasectlError(f"{path}: cannot read hyperfine JSON ({exc.strerror})") from exc
    except UnicodeDecodeError:
        raise PhasectlError(f"{path}:1: hyperfine JSON is not UTF-8; {_REEXPORT}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PhasectlError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg}); {_REEXPORT}") from None
    except (ValueError, RecursionError):
        raise PhasectlError(f"{path}:1: JSON that cannot be read; {_REEXPORT}") from None
    results = document.get("results") if isinstance(document, dict) else None
    if not isinstance(results, list) or not results:
        raise PhasectlError(
            f'{path}:1: no "results" list with at least one command, so this is not '
            f"hyperfine --export-json output; {_REEXPORT}"
        )
    lines = _result_lines(text)
    parsed = []
    for index, item in enumerate(results):
        line = lines[index] if index < len(lines) else 1
        where = f"{path}:{line}: results[{index}]"
        if not isinstance(item, dict):
            raise PhasectlError(f"{where} is not an object; {_REEXPORT}")
        command = item.get("command")
        if not isinstance(command, str):
            raise PhasectlError(f"{where} has no command string; {_REEXPORT}")
        figures: dict[str, float] = {}
        for key in ("mean", "median", "min", "max"):
            number = _number(item.get(key))
            if number is None:
                raise PhasectlError(f"{where}.{key} is missing or not a finite number; {_REEXPORT}")
            if not plausible_seconds(number):
                raise PhasectlError(f"{where}.{key} = {number:g} s {_IMPLAUSIBLE}; {_REEXPORT}")
            figures[key] = number
        times = item.get("times")
        if not isinstance(times, list) or not times:
            raise PhasectlError(f"{where}.times is missing or empty; {_REEXPORT}")
        numbers = [_number(value) for value in times]
        times_s = tuple(number for number in numbers if number is not None)
        if len(times_s) != len(numbers):
            raise PhasectlError(f"{where}.times holds a value that is no number; {_REEXPORT}")
        wrong = next((t for t in times_s if not plausible_seconds(t)), None)
        if wrong is not None:
            raise PhasectlError(
                f"{where}.times holds {wrong:g} s, which {_IMPLAUSIBLE}; {_REEXPORT}"
            )
        parsed.append(
            HyperfineResult(
                command=command,
                mean_s=figures["mean"],
                median_s=figures["median"],
                min_s=figures["min"],
                max_s=figures["max"],
                times_s=times_s,
            )
        )
    return parsed
