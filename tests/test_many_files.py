"""Coverage files that name many files: figures as the tools give them, line data kept
compactly, a progress line on a long read, and JSON written a part at a time.

The 100 MB shapes themselves (1.5 M files in LCOV, 740 k in a Go profile) are measured by
bench/memory_bench.py; these tests keep to a few seconds."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from phasectl.collectors.artifacts import read_coverage
from phasectl.model.coverage_data import FileLines
from phasectl.readers.files import Progress
from phasectl.readers.go_coverage import read_go_coverage
from phasectl.readers.lcov import read_lcov
from phasectl.report.output import to_json

from support.go_project import go_cover_total
from support.go_tools import need, run, write_tree


def many_files_lcov(path: Path, files: int) -> dict[str, tuple[set[int], set[int]]]:
    """An LCOV tracefile of ``files`` files of one or two lines (and the project's own
    ``m0.py``); what it says, parsed here on its own: path -> (lines, lines that ran)."""
    said: dict[str, tuple[set[int], set[int]]] = {"m0.py": ({1}, {1})}
    with path.open("w") as out:
        out.write("TN:\nSF:m0.py\nDA:1,1\nend_of_record\n")
        for n in range(files):
            name = f"packages/module{n % 100}/component{n}.js"
            hits = {1: 1} if n % 2 == 0 else {1: 1, 2 + n % 5: n % 3 % 2}
            out.write(f"SF:{name}\n")
            out.writelines(f"DA:{line},{count}\n" for line, count in hits.items())
            out.write("end_of_record\n")
            said[name] = (set(hits), {line for line, count in hits.items() if count})
    return said


def test_lcov_of_many_files_is_read_exactly_and_compactly(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write_tree(root, {"m0.py": "x = 1\n"})
    tracefile = tmp_path / "many.info"
    said = many_files_lcov(tracefile, 10_000)

    tracemalloc.start()
    try:
        summary, lines = read_coverage([tracefile], root)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert {name: (set(f.statements), set(f.covered)) for name, f in lines.items()} == said
    assert summary.lines_total == sum(len(measured) for measured, _ in said.values())
    assert summary.lines_covered == sum(len(ran) for _, ran in said.values())
    assert [(f.path, f.lines_total, f.lines_covered) for f in summary.files] == [
        (name, len(said[name][0]), len(said[name][1])) for name in sorted(said)
    ]
    # A frozenset per line set, a dict per file took 14 times the file's size at its
    # peak; packed line sets, about 3 times.
    assert peak < 6 * tracefile.stat().st_size


def test_progress_line_on_a_long_read(tmp_path: Path) -> None:
    tracefile = tmp_path / "many.info"
    many_files_lcov(tracefile, 5000)
    said: list[str] = []

    read_lcov(tracefile, tmp_path, Progress(tracefile, said.append, after=0.0))

    assert len(said) == 1
    assert said[0].startswith("phasectl: reading many.info: 4,096 files so far (")

    profile = tmp_path / "cover.out"
    profile.write_text(
        "mode: set\n" + "".join(f"example.com/m/p/f{n}.go:1.1,2.2 1 1\n" for n in range(5000))
    )
    said.clear()
    read_go_coverage(
        [profile], tmp_path, progress=lambda path: Progress(path, said.append, after=0.0)
    )
    assert [line.split(" (")[0] for line in said] == [
        "phasectl: reading cover.out: 4,096 files so far"
    ]


def test_go_profile_of_many_files_equals_go_tool_cover(tmp_path: Path) -> None:
    need("go")
    files = {"go.mod": "module example.com/many\n\ngo 1.18\n"}
    for n in range(300):
        files[f"p/f{n}.go"] = (
            f"package p\n\nfunc F{n}(x int) int {{\n\tif x > 0 {{\n\t\treturn x\n\t}}\n"
            "\treturn -x\n}\n"
        )
    calls = "".join(f"\tF{n}({n % 3 - 1})\n" for n in range(0, 300, 2))
    test = f"func TestF(t *testing.T) {{\n{calls}}}\n"
    files["p/p_test.go"] = f'package p\n\nimport "testing"\n\n{test}'
    module = write_tree(tmp_path / "many", files)
    profile = tmp_path / "cover.out"
    run(["go", "test", "-count=1", f"-coverprofile={profile}", "./..."], module, (0,))

    summary, lines = read_go_coverage([profile], module)

    assert summary.percent_display == go_cover_total(module, profile)
    assert set(lines) == {name for name in files if name.startswith("p/f")}


line_sets = st.frozensets(st.integers(min_value=-5, max_value=2**33), max_size=8) | st.frozensets(
    st.integers(min_value=1, max_value=70), max_size=3
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(line_sets, line_sets, line_sets, line_sets)
def test_packed_line_sets_behave_as_sets(
    statements: frozenset[int], covered: frozenset[int], more: frozenset[int], ran: frozenset[int]
) -> None:
    lines, other = FileLines(statements, covered), FileLines(more, ran, 3, 1)

    assert (lines.statements, lines.covered) == (statements, covered)
    assert lines.counts() == (len(statements), len(covered & statements))
    merged = lines.union(other)
    assert (merged.statements, merged.covered) == (statements | more, covered | ran)
    assert (merged.branches_total, merged.branches_covered) == (3, 1)
    assert lines == FileLines(set(statements), list(covered))
    assert hash(lines) == hash(FileLines(sorted(statements), covered))
    assert (lines == other) == ((statements, covered, None) == (more, ran, 3))


def test_json_of_many_files_is_json_dumps_exactly() -> None:
    files = [{"path": f"src/é{n}\udcff.py", "percent": n / 7, "n": n} for n in range(10_000)]
    data = {"coverage": {"after": {"files": files, "t": (1, None)}}, 3: [1e300, "x"], "k": []}

    assert to_json(data) == (json.dumps(data, ensure_ascii=False) + "\n").encode(
        "utf-8", "backslashreplace"
    )
