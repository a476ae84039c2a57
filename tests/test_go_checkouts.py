"""Go coverprofiles of repositories laid out as real ones are: a module in a subfolder, a
go.work with several (nested) modules, absolute names from another checkout, and a
profile mixed with LCOV. Every profile is made here by the real go toolchain, and every
figure compared with ``go tool cover -func`` on the same profile."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from phasectl.collectors.artifacts import go_modules
from phasectl.readers.go_coverage import read_go_coverprofile

from conftest import commit, git, run_cli
from support.go_tools import GO_ENV, SVC_FILES, need
from support.projects import CALC, CALC_TEST

# A second module beside svc/, and a module nested in svc/ whose path is not its folder's:
# example.com/svc/ext lives in svc/extension/, so only the longest module path maps it.
LIB_FILES = {
    "lib/go.mod": "module example.com/lib\n\ngo 1.18\n",
    "lib/lib.go": "package lib\n\n// Twice doubles.\nfunc Twice(n int) int {\n\treturn 2 * n\n}\n",
    "lib/lib_test.go": (
        'package lib\n\nimport "testing"\n\n'
        "func TestTwice(t *testing.T) {\n\tif Twice(2) != 4 {\n\t\tt.Fatal(2)\n\t}\n}\n"
    ),
    "svc/extension/go.mod": "module example.com/svc/ext\n\ngo 1.18\n",
    "svc/extension/ext.go": (
        "package ext\n\n// Sign is -1, 0 or 1.\nfunc Sign(n int) int {\n\tif n < 0 {\n"
        "\t\treturn -1\n\t}\n\tif n == 0 {\n\t\treturn 0\n\t}\n\treturn 1\n}\n"
    ),
    "svc/extension/ext_test.go": (
        'package ext\n\nimport "testing"\n\n'
        "func TestSign(t *testing.T) {\n\tif Sign(5) != 1 {\n\t\tt.Fatal(5)\n\t}\n}\n"
    ),
}

WORK = "go 1.18\n\nuse (\n\t./lib\n\t./svc\n\t./svc/extension\n)\n"

FUNC_LINE = re.compile(r"^(\S+?):\d+:\s+\S+\s+([\d.]+)%$", re.MULTILINE)


def go(args: list[str], cwd: Path, **env: str) -> str:
    """Run the real go; tests of svc fail on purpose (exit 1), which still writes profiles."""
    done = subprocess.run(
        ["go", *args], cwd=cwd, env={**GO_ENV, **env}, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), f"go {args} exited {done.returncode}: {done.stderr}"
    return done.stdout


def cover_func(profile: Path, cwd: Path, **env: str) -> tuple[str, set[str]]:
    """``go tool cover -func``'s total percent and the files it names (as written)."""
    out = go(["tool", "cover", f"-func={profile}"], cwd, **env)
    total = re.search(r"^total:\s+\(statements\)\s+([\d.]+)%$", out, re.MULTILINE)
    assert total is not None, out
    return total.group(1), {name for name, _ in FUNC_LINE.findall(out)}


def file_totals(profile: Path, cwd: Path, **env: str) -> dict[str, str]:
    """Each file's statement percent, as ``go tool cover -func`` totals a profile holding
    only that file's blocks."""
    mode, *blocks = profile.read_text().splitlines()
    names = sorted({block.rsplit(":", 1)[0] for block in blocks})
    totals = {}
    for index, name in enumerate(names):
        alone = profile.with_name(f"{profile.stem}-{index}.out")
        mine = [block for block in blocks if block.rsplit(":", 1)[0] == name]
        alone.write_text("\n".join([mode, *mine]) + "\n")
        totals[name] = cover_func(alone, cwd, **env)[0]
    return totals


def collect(repo: Path, *args: str) -> dict[str, Any]:
    result = run_cli(
        "--repo", str(repo), "collect", "--format", "json", "--run-base", "never", *args
    )
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout_bytes)
    return data


@pytest.fixture
def services(git_repo: Path) -> Path:
    """A repository without a top go.mod: the svc module (SVC_FILES) in svc/, lib/ beside
    it, and the nested example.com/svc/ext in svc/extension/."""
    need("go")
    files = {f"svc/{name}": text for name, text in SVC_FILES.items()}
    commit(git_repo, {**files, **LIB_FILES, "README.md": "services\n"}, "services")
    return git_repo


def test_module_in_a_subfolder(services: Path, tmp_path: Path) -> None:
    # Test data beside it that go skips: a copy of the module's go.mod, and a broken one.
    testdata = {
        "svc/testdata/copy/go.mod": "module example.com/svc\n",
        "svc/testdata/copy/store/store.go": "package store\n",
        "svc/testdata/broken/go.mod": "modul example.com/broken(\n",
    }
    commit(services, testdata, "test data")
    profile = tmp_path / "svc.out"
    go(["test", "-count=1", f"-coverprofile={profile}", "./..."], services / "svc")
    total, named = cover_func(profile, services / "svc")

    data = collect(services, "--coverage", str(profile))

    assert go_modules(services) == {
        "example.com/svc": ("svc/", "svc/testdata/copy/"),
        "example.com/lib": ("lib/",),
        "example.com/svc/ext": ("svc/extension/",),
    }
    (services / "svc/testdata/copy/go.mod").unlink()  # tracked, deleted: go sees none
    assert go_modules(services)["example.com/svc"] == ("svc/",)
    after = data["coverage"]["after"]
    assert (after["percent_display"], after["basis"]) == (total, "statements")
    # go names files by import path; here each is the file under svc/.
    expected = {name.replace("example.com/svc/", "svc/", 1) for name in named}
    assert {f["path"] for f in after["files"]} == expected
    assert all((services / path).is_file() for path in expected)
    assert not [w for w in data["warnings"] if "coverage" in w]


def test_go_work_with_nested_modules(services: Path, tmp_path: Path) -> None:
    (services / "go.work").write_text(WORK)
    commit(services, {"go.work": WORK}, "workspace")
    work = {"GOWORK": str(services / "go.work")}
    profile = tmp_path / "work.out"
    packages = ["example.com/svc/...", "example.com/lib/..."]
    go(["test", "-count=1", f"-coverprofile={profile}", *packages], services, **work)
    total, named = cover_func(profile, services, **work)
    assert "example.com/svc/ext/ext.go" in named  # the nested module ran too

    modules = go_modules(services)
    files = read_go_coverprofile(profile, services, modules)
    data = collect(services, "--coverage", str(profile))

    assert modules == {
        "example.com/svc": ("svc/",),
        "example.com/lib": ("lib/",),
        "example.com/svc/ext": ("svc/extension/",),
    }
    after = data["coverage"]["after"]
    assert after["percent_display"] == total
    mapped = {f.profile_name: name for name, f in files.items()}
    assert mapped["example.com/svc/ext/ext.go"] == "svc/extension/ext.go"
    assert mapped["example.com/lib/lib.go"] == "lib/lib.go"
    assert mapped["example.com/svc/store/store.go"] == "svc/store/store.go"
    assert {f["path"] for f in after["files"]} == {mapped[name] for name in named}
    for name, percent in file_totals(profile, services, **work).items():
        file = files[mapped[name]]
        assert f"{100.0 * file.covered_statements / file.statements:.1f}" == percent, name


@pytest.mark.parametrize("how", ["file-list", "gopath"])
def test_absolute_names_from_another_checkout(services: Path, tmp_path: Path, how: str) -> None:
    # Measured in a clone at another path (a CI runner's), read in this one after that
    # clone is gone. go writes absolute names for packages given as files, and in GOPATH
    # mode for folders outside GOPATH.
    ci = tmp_path / "home" / "runner" / "work" / "services" / "services"
    ci.parent.mkdir(parents=True)
    git(tmp_path, "clone", "--quiet", str(services), str(ci))
    profile = tmp_path / "ci.out"
    if how == "file-list":
        args = ["test", f"-coverprofile={profile}", "store/store.go", "store/store_test.go"]
        go(args, ci / "svc")
    else:
        go(["test", f"-coverprofile={profile}", "./store"], ci / "svc", GO111MODULE="off")
    total, named = cover_func(profile, ci / "svc", GO111MODULE="off")
    assert named == {str(ci / "svc/store/store.go")}
    shutil.rmtree(ci)

    data = collect(services, "--coverage", str(profile))

    after = data["coverage"]["after"]
    assert (after["percent_display"], after["basis"]) == (total, "statements")
    assert [f["path"] for f in after["files"]] == ["svc/store/store.go"]


def test_go_mixed_with_lcov_warns_and_counts_lines(services: Path, tmp_path: Path) -> None:
    commit(services, {"tools/calc.py": CALC}, "python helper")
    (tmp_path / "test_calc.py").write_text(CALC_TEST)
    env = {**os.environ, "PYTHONPATH": str(services / "tools")}
    data_file = tmp_path / ".coverage"
    for args in (
        ["run", f"--data-file={data_file}", "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(tmp_path / "test_calc.py")],
        ["lcov", f"--data-file={data_file}", "-o", str(tmp_path / "calc.info")],
        ["json", f"--data-file={data_file}", "-o", str(tmp_path / "calc.json")],
    ):  # fmt: skip
        subprocess.run(
            [sys.executable, "-m", "coverage", *args], cwd=services, env=env, check=True,
            capture_output=True,
        )  # fmt: skip
    calc = json.loads((tmp_path / "calc.json").read_text())["files"]["tools/calc.py"]["summary"]
    profile = tmp_path / "svc.out"
    go(["test", "-count=1", f"-coverprofile={profile}", "./..."], services / "svc")
    total, _ = cover_func(profile, services / "svc")

    data = collect(services, "--coverage", str(profile), "--coverage", str(tmp_path / "calc.info"))

    after = data["coverage"]["after"]
    assert after["basis"] == "lines"
    files = {f["path"]: f for f in after["files"]}
    assert (files["tools/calc.py"]["lines_covered"], files["tools/calc.py"]["lines_total"]) == (
        calc["covered_lines"],
        calc["num_statements"],
    )
    assert after["lines_total"] == sum(f["lines_total"] for f in files.values())
    mixed = [w for w in data["warnings"] if w.startswith("coverage mixes Go coverprofiles")]
    assert len(mixed) == 1, data["warnings"]
    assert "(counted in statements) with LCOV (counted in lines)" in mixed[0]
    assert f"give {total}% of statements" in mixed[0]
    text = run_cli("--repo", str(services), "collect", "--run-base", "never", "--coverage",
                   str(profile), "--coverage", str(tmp_path / "calc.info"))  # fmt: skip
    assert text.exit_code == 0, text.output
    line = next(x for x in text.stdout.splitlines() if x.startswith("Coverage:"))
    assert line.endswith(f"{after['lines_covered']}/{after['lines_total']} lines"), line
    assert "Warning: coverage mixes Go coverprofiles" in text.stderr


def test_go_alone_is_shown_in_statements(services: Path, tmp_path: Path) -> None:
    profile = tmp_path / "svc.out"
    go(["test", "-count=1", f"-coverprofile={profile}", "./..."], services / "svc")
    total, _ = cover_func(profile, services / "svc")
    files = read_go_coverprofile(profile, services, go_modules(services))
    covered = sum(f.covered_statements for f in files.values())
    statements = sum(f.statements for f in files.values())

    text = run_cli(
        "--repo", str(services), "collect", "--run-base", "never", "--coverage", str(profile)
    )

    assert text.exit_code == 0, text.output
    line = next(x for x in text.stdout.splitlines() if x.startswith("Coverage:"))
    assert f"{total}% (statements), {covered}/{statements} statements" in line, line
