from __future__ import annotations

import re
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest

from phasectl.errors import PhasectlError
from phasectl.readers.go_coverage import (
    MAX_LINES,
    read_go_coverprofile,
    total_percent,
    total_statements,
)
from phasectl.readers.go_modules import read_go_module_path

from support.go_tools import (
    run,
    svc,  # noqa: F401 (fixtures)
)

TOTAL = re.compile(r"^total:\s+\(statements\)\s+(\d+\.\d)%$", re.M)


def cover_func_total(module: Path, profile: Path) -> str:
    """The percent text of `go tool cover -func`'s total line."""
    match = TOTAL.search(run(["go", "tool", "cover", f"-func={profile}"], module, (0,)))
    assert match
    return match.group(1)


def line_of(module: Path, name: str, text: str) -> int:
    lines = (module / name).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


@pytest.mark.parametrize("mode", ["set", "count", "atomic"])
@pytest.mark.parametrize("coverpkg", [False, True], ids=["per-package", "coverpkg"])
def test_total_equals_go_tool_cover_func(
    svc: Path, tmp_path: Path, mode: str, coverpkg: bool
) -> None:
    profile = tmp_path / "cover.out"
    args = ["go", "test", "-count=1", f"-covermode={mode}", f"-coverprofile={profile}"]
    run(args + (["-coverpkg=./..."] if coverpkg else []) + ["./..."], svc)

    files = read_go_coverprofile(profile, svc)

    assert f"{total_percent(files):.1f}" == cover_func_total(svc, profile)
    assert set(files) == {"store/store.go", "api/api.go", "notests/notests.go"} - (
        set() if coverpkg else {"notests/notests.go"}
    )
    assert all((svc / name).is_file() for name in files)
    assert files["api/api.go"].profile_name == "example.com/svc/api/api.go"
    blocks = [line.rsplit(" ", 2)[0] for line in profile.read_text().splitlines()[1:]]
    duplicated = [block for block, seen in Counter(blocks).items() if seen > 1]
    if coverpkg:
        # Each test binary reports every package: api.go's block is 0 in store's binary and
        # >0 in api's; merging (OR / sum) is what makes the totals equal go's.
        assert duplicated
        unmerged_covered = unmerged_all = 0
        for line in profile.read_text().splitlines()[1:]:
            statements, count = (int(part) for part in line.rsplit(" ", 2)[1:])
            unmerged_all += statements
            unmerged_covered += statements if count else 0
        unmerged = f"{100.0 * unmerged_covered / unmerged_all:.1f}"
        assert unmerged != cover_func_total(svc, profile)
    else:
        assert not duplicated


def test_count_mode_adds_and_set_mode_ors_duplicates(svc: Path, tmp_path: Path) -> None:
    put = "example.com/svc/store/store.go:10.34,11.13 1"
    unused = "example.com/svc/store/store.go:24.24,26.25 2"
    for mode, counts, merged in (("count", (3, 4), 7), ("set", (1, 0), 1)):
        profile = tmp_path / f"{mode}.out"
        profile.write_text(
            f"mode: {mode}\n{put} {counts[0]}\n{unused} 0\n{put} {counts[1]}\n{unused} 0\n"
        )
        files = read_go_coverprofile(profile, svc)
        block = files["store/store.go"].blocks[0]
        assert (block.start_line, block.count, len(files["store/store.go"].blocks)) == (
            10,
            merged,
            2,
        )
        assert total_statements(files) == (1, 3)
        assert f"{total_percent(files):.1f}" == cover_func_total(svc, profile) == "33.3"


def test_lines_for_patch_coverage(svc: Path, tmp_path: Path) -> None:
    profile = tmp_path / "cover.out"
    run(["go", "test", "-count=1", f"-coverprofile={profile}", "./..."], svc)
    store = read_go_coverprofile(profile, svc)["store/store.go"]

    comment = line_of(svc, "store/store.go", "// Store is a tiny map wrapper.")
    assign = line_of(svc, "store/store.go", "s.m[k] = v")
    panic = line_of(svc, "store/store.go", 'panic("empty key")')
    loop = line_of(svc, "store/store.go", "total += i")
    shared = line_of(svc, "store/store.go", 'if k == "" {')  # ends a covered block

    assert not store.is_measured(comment)
    assert store.is_measured(assign)
    assert store.is_covered(assign)
    assert store.is_measured(panic)
    assert not store.is_covered(panic)
    assert store.is_measured(loop)
    assert not store.is_covered(loop)
    assert store.is_covered(shared)
    assert store.patch_counts([comment, assign, panic, loop, loop]) == (3, 1)


def test_huge_range_is_clamped_not_expanded(svc: Path, tmp_path: Path) -> None:
    profile = tmp_path / "cover.out"
    profile.write_text(
        "mode: set\n"
        "example.com/svc/store/store.go:1.1,1000000000.2 1 1\n"
        "example.com/svc/elsewhere/gone.go:5.1,4000000000.2 3 0\n"
    )
    tracemalloc.start()
    started = time.perf_counter()
    files = read_go_coverprofile(profile, svc)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 2_000_000

    real_lines = len((svc / "store/store.go").read_text().splitlines())
    assert files["store/store.go"].measured == ((1, real_lines),)
    assert files["elsewhere/gone.go"].measured == ((5, MAX_LINES),)  # no such file: the cap
    assert files["store/store.go"].is_covered(real_lines)
    assert not files["store/store.go"].is_measured(real_lines + 1)
    assert total_statements(files) == (1, 4)


def test_without_repo_root_names_stay_import_paths(tmp_path: Path) -> None:
    profile = tmp_path / "cover.out"
    profile.write_text("mode: atomic\nexample.com/x/a.go:3.1,4.2 2 5\n")
    files = read_go_coverprofile(profile)
    assert list(files) == ["example.com/x/a.go"]
    assert total_percent(files) == 100.0
    (tmp_path / "empty.out").write_text("mode: set\n")
    assert total_percent(read_go_coverprofile(tmp_path / "empty.out")) == 0.0


def test_go_mod_module_line(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text('// lead\nmodule "example.com/q" // quoted\n\ngo 1.21\n')
    assert read_go_module_path(tmp_path) == "example.com/q"
    (tmp_path / "go.mod").write_text("go 1.21\n")
    with pytest.raises(PhasectlError, match=r"go\.mod:1: go\.mod has no module line"):
        read_go_module_path(tmp_path)
    with pytest.raises(PhasectlError, match=r"go\.mod: cannot read go\.mod"):
        read_go_module_path(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("", 1, "no mode line"),
        ("a.go:1.1,2.2 1 1\n", 1, "starts with `mode"),
        ("mode: fast\n", 1, "unknown coverage mode"),
        ("mode: set\na.go:1.1,2.2 1 1\nmode: count\n", 3, "differs from mode set"),
        ("mode: set\na.go:1.1,2.2 1\n", 2, "not a coverage block"),
        ("mode: set\na.go:1.1,2.2 1 -1\n", 2, "not a coverage block"),
        ("mode: set\n:1.1,2.2 1 1\n", 2, "not a coverage block"),
        ("mode: set\na.go:9.1,2.2 1 1\n", 2, "ends before it starts"),
        ("mode: set\na.go:1.1,2.2 1 1\na.go:1.1,2.2 2 1\n", 3, "line 2 gives the same range"),
    ],
)
def test_bad_profiles(tmp_path: Path, text: str, line: int, what: str) -> None:
    profile = tmp_path / "cover.out"
    profile.write_text(text)
    with pytest.raises(PhasectlError, match=rf"cover\.out:{line}: .*{re.escape(what)}"):
        read_go_coverprofile(profile)


def test_joined_profiles_with_repeated_mode_lines(svc: Path, tmp_path: Path) -> None:
    profile = tmp_path / "cover.out"
    run(["go", "test", "-count=1", f"-coverprofile={profile}", "./store/"], svc)
    joined = tmp_path / "joined.out"
    joined.write_text(profile.read_text() + profile.read_text())
    assert read_go_coverprofile(joined, svc) == read_go_coverprofile(profile, svc)
