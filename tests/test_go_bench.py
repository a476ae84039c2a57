from __future__ import annotations

import json
import re
import statistics
from collections import defaultdict
from pathlib import Path

import pytest

from phasectl.errors import PhasectlError
from phasectl.readers.go_bench import read_go_bench

from support.go_tools import (
    run_to_file,
    svc,  # noqa: F401 (fixtures)
)

BENCH = ["go", "test", "-run", "^$", "-benchmem", "-benchtime=500x", "-count=3"]
RESULT = re.compile(r"^(Benchmark\S+)\s+\d+\s+([\d.]+) ns/op", re.M)


def test_plain_output_matches_go_lines(svc: Path, tmp_path: Path) -> None:
    out = run_to_file(
        [*BENCH, "-bench", "Put|Get", "-cpu", "1,2", "./..."], svc, tmp_path / "bench.txt"
    )

    results = read_go_bench(out)

    by_printed_name: dict[str, list[float]] = defaultdict(list)
    for printed, ns in RESULT.findall(out.read_text()):
        by_printed_name[printed].append(float(ns))
    assert set(by_printed_name) == {
        "BenchmarkPut",
        "BenchmarkPut-2",
        "BenchmarkGet/small",
        "BenchmarkGet/small-2",
    }
    got = {
        f"{result.name}-{result.procs}" if result.procs else result.name: result
        for result in results
    }
    assert set(got) == set(by_printed_name)
    for printed, samples in by_printed_name.items():
        result = got[printed]
        assert result.package == "example.com/svc/store"
        assert result.samples == 3
        assert list(result.ns_per_op_samples) == samples
        assert result.ns_per_op == statistics.median(samples)
        assert result.bytes_per_op is not None
        assert result.allocs_per_op is not None
    assert got["BenchmarkGet/small-2"].name == "BenchmarkGet/small"


def test_json_stream_gives_the_same_benchmarks(svc: Path, tmp_path: Path) -> None:
    out = run_to_file([*BENCH, "-bench", ".", "-json", "./store/"], svc, tmp_path / "bench.json")
    # go often (not always: it depends on timing) prints a result's name and its figures in
    # two Output events; test_split_output_events checks that case on a recorded stream.
    events = [json.loads(line) for line in out.read_text().splitlines()]

    results = read_go_bench(out)

    text = "".join(event.get("Output", "") for event in events)  # one package: order holds
    samples: dict[str, list[float]] = defaultdict(list)
    for printed, ns in RESULT.findall(text):
        samples[printed.rsplit("-", 1)[0]].append(float(ns))
    assert {(r.name, r.samples) for r in results} == {
        ("BenchmarkPut", 3),
        ("BenchmarkSlow", 3),
        ("BenchmarkGet/small", 3),
    }
    for result in results:
        assert result.package == "example.com/svc/store"
        assert list(result.ns_per_op_samples) == samples[result.name]
        assert result.ns_per_op == statistics.median(samples[result.name])


# Recorded from go 1.19 `go test -json -bench . -count 2`: the first result is split.
SPLIT = r"""{"Action":"output","Package":"example.com/svc/store","Output":"pkg: example.com/svc/store\n"}
{"Action":"output","Package":"example.com/svc/store","Output":"BenchmarkPut\n"}
{"Action":"output","Package":"example.com/svc/store","Output":"BenchmarkPut-2   \t"}
{"Action":"output","Package":"example.com/svc/store","Output":"144247227\t         8.700 ns/op\t       0 B/op\t       0 allocs/op\n"}
{"Action":"output","Package":"example.com/svc/store","Output":"BenchmarkPut-2   \t123039109\t        10.86 ns/op\t       0 B/op\t       0 allocs/op\n"}
{"Action":"output","Package":"example.com/svc/store","Output":"PASS\n"}
{"Action":"pass","Package":"example.com/svc/store","Elapsed":4.025}
"""  # noqa: E501


def test_split_output_events(tmp_path: Path) -> None:
    path = tmp_path / "bench.json"
    path.write_text(SPLIT)
    [result] = read_go_bench(path)
    assert (result.name, result.procs, result.ns_per_op_samples) == (
        "BenchmarkPut",
        2,
        (8.7, 10.86),
    )
    assert result.ns_per_op == (8.7 + 10.86) / 2
    path.write_text(SPLIT.replace("8.700 ns/op", "8.700 ns/op 5"))
    with pytest.raises(PhasectlError, match=r"bench\.json:3: benchmark result line"):
        read_go_bench(path)  # the line number is where the split line starts


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ("BenchmarkPut-8   \t100x\t 12.5 ns/op", "does not parse"),
        ("BenchmarkPut-8   \t100\t 12.5", "does not parse"),
        ("BenchmarkPut-8   \t100\t 1e2.5 ns/op", "is not a finite number"),
        ("BenchmarkPut-8   \t100\t 1e999 ns/op", "is not a finite number"),
        ("BenchmarkPut-8   \t100\t 16 B/op", "has no ns/op"),
    ],
)
def test_result_lines_that_do_not_parse(tmp_path: Path, line: str, what: str) -> None:
    path = tmp_path / "bench.txt"
    path.write_text(f"goos: linux\npkg: example.com/x\n{line}\nPASS\n")
    with pytest.raises(PhasectlError, match=rf"bench\.txt:3: .*{what}"):
        read_go_bench(path)


def test_lines_that_are_not_results_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bench.txt"
    path.write_text(
        "BenchmarkSlow\n"
        "BenchmarkSlow-8   \t--- FAIL: BenchmarkSlow\n"
        "--- BENCH: BenchmarkPut-8\n"
        "BenchmarkPut-8   \t1000\t 12 ns/op\t 3.5 MB/s\n"
        "BenchmarkPut-8   \t1000\t 14 ns/op\n"
    )
    [result] = read_go_bench(path)
    assert (result.name, result.procs, result.ns_per_op, result.bytes_per_op) == (
        "BenchmarkPut",
        8,
        13.0,
        None,
    )


def test_bad_json_and_no_results(tmp_path: Path) -> None:
    path = tmp_path / "bench.json"
    path.write_text('{"Action":"output","Package":"p","Output":"Bench\n{"Action":\n')
    with pytest.raises(PhasectlError, match=r"bench\.json:1: malformed JSON line"):
        read_go_bench(path)
    path.write_text('{"Action":"output","Package":"p","Output":5}\n')
    with pytest.raises(PhasectlError, match=r"bench\.json:1: test2json field Output is int"):
        read_go_bench(path)
    path.write_text("PASS\nok  \texample.com/x\t0.1s\n")
    with pytest.raises(PhasectlError, match=r"bench\.json:1: no benchmark result line"):
        read_go_bench(path)
