"""Each reader, fed arbitrary bytes, returns a value or raises PhasectlError, nothing else."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from phasectl.errors import PhasectlError
from phasectl.readers.go_bench import read_go_bench
from phasectl.readers.go_coverage import read_go_coverprofile
from phasectl.readers.go_tests import read_go_test_json
from phasectl.readers.hyperfine import read_hyperfine_json

FUZZ = settings(max_examples=200, derandomize=True, deadline=None)

# Fragments of real inputs, so that generated files reach past the first line's checks.
FRAGMENTS = [
    b"mode: set\n",
    b"mode: count\n",
    b"example.com/m/a.go:1.1,3.2 2 1\n",
    b"a.go:1.1,1000000000.2 1 0\n",
    b'{"Action":"run","Package":"p","Test":"T"}\n',
    b'{"Action":"pass","Package":"p","Test":"T","Elapsed":0.1}\n',
    b'{"Action":"fail","Package":"p","Elapsed":1}\n',
    b'{"Action":"output","Package":"p","Output":"BenchmarkX-8 \\t"}\n',
    b'{"Action":"output","Package":"p","Output":"100\\t 5 ns/op\\n"}\n',
    b"BenchmarkPut-8   \t1000\t 12.5 ns/op\t 16 B/op\n",
    b'{"results": [{"command": "x", "mean": 1, "median": 1, "min": 1, "max": 1, ',
    b'"times": [1]}]}',
    b"FAIL\texample.com/m [build failed]\n",
    b"\n",
    b"{",
    b"[",
    b"\xff",
    b'{"Action":"pass","Package":"p","Test":"T","Elapsed":' + b"9" * 400 + b"}\n",
    b"a.go:1.1,2.2 1 " + b"9" * 5000 + b"\n",
    b'{"results": [{"command": "x", "mean": ' + b"9" * 400 + b', "times": [1e999]}]}',
    b"BenchmarkX-8 1 1e999 ns/op\n",
]

READERS: list[Callable[[Path], object]] = [
    read_go_test_json,
    read_go_coverprofile,
    read_go_bench,
    read_hyperfine_json,
]


def feed_all(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input"
        path.write_bytes(data)
        (Path(tmp) / "go.mod").write_text("module example.com/m\n")
        root = Path(tmp)

        def cover_in_repo(profile: Path) -> object:
            return read_go_coverprofile(profile, root)

        for reader in [*READERS, cover_in_repo]:
            try:
                reader(path)
            except PhasectlError as exc:
                assert "\n" not in str(exc)  # noqa: PT017 (any input, one line)


@FUZZ
@given(st.binary(max_size=4000))
def test_arbitrary_bytes(data: bytes) -> None:
    feed_all(data)


@FUZZ
@given(st.lists(st.sampled_from(FRAGMENTS) | st.binary(max_size=20), max_size=30))
def test_spliced_real_fragments(parts: list[bytes]) -> None:
    feed_all(b"".join(parts))
