"""Every reader of untrusted input returns a value or raises ``PhasectlError``, nothing else.

Hypothesis feeds each reader mutations of a valid file and structured nonsense. The runs
are derandomized with a small, fixed example count, so the suite stays fast and the same
on every machine; raise ``FUZZ_EXAMPLES`` locally for a longer hunt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phasectl.collectors.artifacts import read_coverage
from phasectl.config import load_config, parse_config
from phasectl.errors import PhasectlError
from phasectl.readers.junit import read_junit
from phasectl.runners.coverage_combine import read_coveragepy
from phasectl.store.snapshots import parse_note

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

JUNIT = b"""<?xml version="1.0"?>
<testsuites time="1.5"><testsuite name="s" time="1.5">
<testcase classname="a" name="one" time="0.5"/>
<testcase classname="a" name="two" time="1"><failure message="x">boom</failure></testcase>
<testcase classname="a" name="three"><skipped type="pytest.xfail"/></testcase>
<testsuite name="inner"><testcase name="four"><error/></testcase></testsuite>
</testsuite></testsuites>
"""
COBERTURA = b"""<?xml version="1.0" ?>
<coverage version="7.4" line-rate="0.5" branch-rate="0.5">
<sources><source>.</source></sources>
<packages><package name="."><classes>
<class name="calc.py" filename="calc.py"><lines>
<line number="1" hits="1"/><line number="2" hits="0" branch="true" condition-coverage="50% (1/2)"/>
</lines></class></classes></package></packages></coverage>
"""
LCOV = b"TN:\nSF:calc.py\nDA:1,1\nDA:2,0\nBRDA:2,0,0,1\nBRDA:2,0,1,-\nend_of_record\n"
GO = b"mode: set\nexample.com/m/calc.go:1.1,3.2 2 1\nexample.com/m/calc.go:4.1,5.2 1 0\n"
NOTE = json.dumps(
    {
        "schema": "phasectl-snapshot/1",
        "commit": "0" * 40,
        "source": "work tree",
        "measured_at": "2026-01-01T00:00:00+00:00",
        "tests": {"passed": 1, "failed": 0, "errors": 0, "skipped": 0, "duration_s": 0.1,
                  "cases": [{"id": "t::a", "outcome": "passed", "duration_s": 0.1}]},
        "coverage": {"percent": 50.0, "percent_display": "50", "lines_covered": 1,
                     "lines_total": 2, "files": []},
        "benchmarks": [{"name": "b", "median_s": 0.5}],
        "phase": {"name": "1", "base": {"sha": "1" * 40}, "head": {"sha": "2" * 40},
                  "patch": {"percent": None, "lines_covered": 0, "lines_total": 0,
                            "files": []}},
    }
).encode()  # fmt: skip
CONFIG = (
    b'[tool.phasectl]\ntag_prefix = "v"\nexclude = ["*.lock"]\n'
    b"[tool.phasectl.check]\nfail_under = 80\n"
)


@st.composite
def mutated(draw: st.DrawFn, valid: bytes) -> bytes:
    """``valid`` with a few bytes deleted, replaced or inserted at drawn places."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["delete", "insert", "replace"]))
        chunk = draw(
            st.one_of(
                st.binary(max_size=6),
                st.sampled_from([b"<", b">", b"/", b'"', b",", b":", b"\n", b"-1", b"1" * 5000,
                                 b"\xff\xfe", b"&amp;", b"NaN", b"]]>", b"{", b"["]),
            )
        )  # fmt: skip
        end = at + draw(st.integers(0, 8))
        if kind == "delete":
            del data[at:end]
        elif kind == "insert":
            data[at:at] = chunk
        else:
            data[at:end] = chunk
    return bytes(data)


def nested(open_: str, close: str, depth: int) -> bytes:
    return (open_ * depth + close * depth).encode()


def holds(read: Callable[[], Any]) -> None:
    """The property: a value, or ``PhasectlError`` with a one-line message."""
    try:
        read()
    except PhasectlError as exc:
        error: PhasectlError | None = exc
    else:
        error = None
    assert error is None or ("\n" not in str(error) and error.exit_code == 2)


@FUZZ
@given(data=st.one_of(mutated(JUNIT), st.binary(max_size=200)))
def test_junit_reader(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "junit.xml"
    path.write_bytes(data)
    holds(lambda: read_junit([path]))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "calc.py").write_text("a = 1\nb = 2\nc = 3\nd = 4\ne = 5\n")
    (root / "calc.go").write_text("package m\n\nfunc A() {}\n\nfunc B() {}\n")
    (root / "go.mod").write_text("module example.com/m\n")
    return root


@FUZZ
@given(
    data=st.one_of(
        mutated(COBERTURA), mutated(LCOV), mutated(GO),
        st.builds(lambda n: b"SF:calc.py\n" + b"DA:" + n.encode() + b"\nend_of_record\n",
                  st.text("0123456789,-x", max_size=12)),
        st.builds(lambda a, b: b"mode: set\ncalc.go:" + a.encode() + b" 1 " + b.encode() + b"\n",
                  st.text("0123456789.,", max_size=24), st.text("0123456789-", max_size=4)),
    )
)  # fmt: skip
def test_coverage_readers(project: Path, data: bytes) -> None:
    path = project / "coverage.out"
    path.write_bytes(data)
    holds(lambda: read_coverage([path], project))


DEEP_SUITES = nested("<testsuite>", "</testsuite>", 5000)
HALF = len("<testsuite>") * 5000


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("junit.xml", b"<testsuites>" + DEEP_SUITES[:-1]),
        ("coverage.xml", b"<coverage>" + nested("<x>", "</x>", 5000) + b"<class/></coverage"),
        ("cov.info", b"SF:calc.py\nDA:1\nend_of_record\n"),
        ("cov.info", b"SF:calc.py\nDA:" + b"9" * 5000 + b",1\nend_of_record\n"),
        ("cover.out", b"mode: set\ncalc.go:1.1," + b"9" * 5000 + b".2 1 1\n"),
        ("coverage.xml", b'<coverage><class filename="calc.py"><lines><line number="1" '
                         b'hits="1" branch="true" condition-coverage="50% (' + b"1" * 5000 +
                         b'/2)"/></lines></class></coverage>'),
        ("coverage.out", b" " * 100_000 + b"\n" + b"x" * 10),
    ],
)  # fmt: skip
def test_known_attacks_are_errors(project: Path, name: str, data: bytes) -> None:
    path = project / name
    path.write_bytes(data)
    read: Callable[[], object] = (
        (lambda: read_junit([path]))
        if name == "junit.xml"
        else (lambda: read_coverage([path], project))
    )
    with pytest.raises(PhasectlError) as caught:
        read()
    assert str(path) in str(caught.value)


def test_deeply_nested_suites_are_read(tmp_path: Path) -> None:
    """5,000 nested suites, one test in the innermost: no recursion, the test is found."""
    path = tmp_path / "junit.xml"
    inner = b'<testcase classname="deep" name="t"/>'
    path.write_bytes(DEEP_SUITES[:HALF] + inner + DEEP_SUITES[HALF:])
    results = read_junit([path])
    assert [case.id for case in results.cases] == ["deep::t"]


@pytest.fixture(scope="module")
def coverage_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A real coverage.py data file, measured from a real run."""
    root = tmp_path_factory.mktemp("measured")
    (root / "calc.py").write_text("def f(x):\n    return x + 1\n\nf(1)\n")
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", "calc.py"], cwd=root, check=True,
        capture_output=True,
    )  # fmt: skip
    return root, (root / ".coverage").read_bytes()


@settings(FUZZ, max_examples=max(3, EXAMPLES // 12))
@given(cut=st.integers(0, 4096), junk=st.binary(min_size=1, max_size=64))
def test_coveragepy_data_reader(coverage_data: tuple[Path, bytes], cut: int, junk: bytes) -> None:
    """Real coverage.py data, cut short or overwritten in the middle: still an ``Error:``."""
    root, valid = coverage_data
    path = root / "broken.coverage"
    at = min(len(valid) - 1, 16 + cut)
    path.write_bytes(valid[:at] + junk + valid[at + len(junk) :])
    holds(lambda: read_coveragepy([path], root))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def damaged_note(draw: st.DrawFn) -> bytes:
    """The valid note with one value, anywhere in it, replaced by any JSON value."""
    note = json.loads(NOTE)
    where: Any = note
    while isinstance(where, (dict, list)) and where:
        keys = list(where) if isinstance(where, dict) else list(range(len(where)))
        key = draw(st.sampled_from(keys))
        if not isinstance(where[key], (dict, list)) or draw(st.booleans()):
            where[key] = draw(json_values)
            break
        where = where[key]
    return json.dumps(note).encode()


@FUZZ
@given(
    raw=st.one_of(damaged_note(), mutated(NOTE), json_values.map(lambda v: json.dumps(v).encode()))
)
def test_note_reader(raw: bytes) -> None:
    snapshot, problem = parse_note(raw, "a" * 40)
    assert (snapshot is None) == (problem is not None)
    if problem is not None:
        assert "aaaaaaaaaaaa" in problem


@FUZZ
@given(
    table=st.dictionaries(
        st.sampled_from(
            [
                "tag_prefix",
                "exclude",
                "report_dir",
                "check",
                "rename_limit",
                "python",
                "test_command",
            ]
        ),
        json_values,
        max_size=3,
    )
)
def test_config_validation(table: dict[str, Any]) -> None:
    holds(lambda: parse_config(table, "fuzz"))


@FUZZ
@given(data=st.one_of(mutated(CONFIG), st.binary(max_size=100)))
def test_config_reader(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "pyproject.toml").write_bytes(data)
    holds(lambda: load_config(tmp_path))
