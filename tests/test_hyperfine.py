from __future__ import annotations

import json
import math
import re
import statistics
from pathlib import Path

import pytest

from phasectl.errors import PhasectlError
from phasectl.readers.hyperfine import read_hyperfine_json

from support.go_tools import need, run


def test_real_export_matches_its_own_figures(tmp_path: Path) -> None:
    need("hyperfine")
    out = tmp_path / "h.json"
    commands = ["true", "sleep 0.005"]
    run(["hyperfine", "-N", "--runs", "5", "--export-json", str(out), *commands], tmp_path, (0,))

    results = read_hyperfine_json(out)

    raw = json.loads(out.read_text())["results"]
    assert [result.command for result in results] == commands
    for result, item in zip(results, raw, strict=True):
        assert result.times_s == tuple(item["times"])
        assert len(result.times_s) == 5
        assert (result.median_s, result.min_s, result.max_s) == (
            item["median"],
            item["min"],
            item["max"],
        )
        assert math.isclose(result.median_s, statistics.median(result.times_s))
        assert result.min_s == min(result.times_s)
        assert result.max_s == max(result.times_s)
    assert results[1].median_s > 0.004


GOOD = {"command": "x", "mean": 1.0, "median": 1.0, "min": 0.5, "max": 2, "times": [1.0]}


@pytest.mark.parametrize(
    ("document", "line", "what"),
    [
        ({"results": []}, 1, 'no "results" list'),
        ([GOOD], 1, 'no "results" list'),
        ({"result": [GOOD]}, 1, 'no "results" list'),
        ({"results": [GOOD, 5]}, 13, "results[1] is not an object"),
        ({"results": [GOOD, {**GOOD, "median": "1s"}]}, 13, "results[1].median is missing"),
        ({"results": [{**GOOD, "min": True}]}, 3, "results[0].min is missing"),
        ({"results": [{**GOOD, "command": None}]}, 3, "results[0] has no command"),
        ({"results": [{**GOOD, "times": []}]}, 3, "results[0].times is missing or empty"),
        ({"results": [{**GOOD, "times": [1, "2"]}]}, 3, "results[0].times holds a value"),
    ],
)
def test_wrong_shape(tmp_path: Path, document: object, line: int, what: str) -> None:
    path = tmp_path / "h.json"
    path.write_text(json.dumps(document, indent=2))
    with pytest.raises(PhasectlError, match=rf"h\.json:{line}: .*{re.escape(what)}"):
        read_hyperfine_json(path)


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_text('{\n  "results": [\n    {"command": }\n')
    with pytest.raises(PhasectlError, match=r"h\.json:3: invalid JSON"):
        read_hyperfine_json(path)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(PhasectlError, match=r"h\.json:1: hyperfine JSON is not UTF-8"):
        read_hyperfine_json(path)
