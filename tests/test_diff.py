"""The diff collector on real repositories: every status, line counts, odd names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Executable, Symlink, by_path, collect_json, commit, git, run_cli

TEXT = "".join(f"line {n}\n" for n in range(1, 21))


def numstat_totals(repo: Path, base: str, head: str) -> tuple[int, int]:
    """Added and removed lines as plain ``git diff --numstat`` sums them (text files only)."""
    out = git(repo, "diff", "--numstat", "-M50%", base, head, "--")
    added = removed = 0
    for line in out.splitlines():
        a, r, _ = line.split("\t", 2)
        if a != "-":
            added += int(a)
            removed += int(r)
    return added, removed


def test_every_status_with_line_counts(git_repo: Path) -> None:
    base = commit(
        git_repo,
        {
            "keep.py": TEXT,
            "gone.py": "bye\nbye\n",
            "old_name.py": TEXT,
            "link_me.txt": "was a file\n",
            "run.sh": "echo hi\n",
            "logo.bin": b"\x89PNG\r\n\x1a\n\x00\x00\x01",
        },
    )
    head = commit(
        git_repo,
        {
            "keep.py": TEXT.replace("line 3\n", "line three\n") + "line 21\n",
            "gone.py": None,
            "old_name.py": None,
            "new_name.py": TEXT.replace("line 7\n", "line seven\n"),
            "link_me.txt": Symlink("keep.py"),
            "run.sh": Executable("echo hi\n"),
            "logo.bin": b"\x89PNG\r\n\x1a\n\x00\x00\x02",
            "fresh.py": "a\nb\nc\n",
        },
    )
    data = collect_json(git_repo, "--base", base)
    assert data["schema"] == "phasectl/1"
    assert data["base"] == {"ref": base, "sha": base}
    assert data["head"] == {"ref": "HEAD", "sha": head}
    files = by_path(data)
    assert set(files) == {
        "keep.py",
        "gone.py",
        "new_name.py",
        "link_me.txt",
        "run.sh",
        "logo.bin",
        "fresh.py",
    }
    assert files["keep.py"] | {} == {
        "path": "keep.py",
        "old_path": None,
        "status": "modified",
        "added": 2,
        "removed": 1,
        "binary": False,
        "old_mode": "100644",
        "new_mode": "100644",
        "similarity": None,
        "excluded": False,
    }
    assert files["gone.py"]["status"] == "deleted"
    assert (files["gone.py"]["added"], files["gone.py"]["removed"]) == (0, 2)
    assert files["gone.py"]["new_mode"] is None
    renamed = files["new_name.py"]
    assert renamed["status"] == "renamed"
    assert renamed["old_path"] == "old_name.py"
    assert (renamed["added"], renamed["removed"]) == (1, 1)
    raw = git(git_repo, "diff", "--raw", "-M50%", base, head, "--", "old_name.py", "new_name.py")
    assert f"R{renamed['similarity']:03d}\told_name.py\tnew_name.py" in raw
    typed = files["link_me.txt"]
    assert (typed["status"], typed["old_mode"], typed["new_mode"]) == (
        "type_changed",
        "100644",
        "120000",
    )
    assert (files["run.sh"]["status"], files["run.sh"]["new_mode"]) == ("modified", "100755")
    assert (files["run.sh"]["added"], files["run.sh"]["removed"]) == (0, 0)
    binary = files["logo.bin"]
    assert (binary["binary"], binary["added"], binary["removed"]) == (True, None, None)
    assert files["fresh.py"]["status"] == "created"
    assert files["fresh.py"]["old_mode"] is None
    assert data["diff"]["totals"] == {
        "files_created": 1,
        "files_modified": 3,
        "files_deleted": 1,
        "files_renamed": 1,
        "files_copied": 0,
        "files_type_changed": 1,
        "files_binary": 1,
        "lines_added": 2 + 0 + 1 + 1 + 0 + 3,
        "lines_removed": 1 + 2 + 1 + 1 + 0 + 0,
        "authored_lines_added": 7,
        "authored_lines_removed": 5,
    }
    assert numstat_totals(git_repo, base, head) == (7, 5)
    assert data["tests"] is None
    assert data["coverage"] is None


def test_copies_are_detected_when_configured(git_repo: Path) -> None:
    commit(git_repo, {"orig.py": TEXT, ".phasectl.toml": "detect_copies = true\n"})
    base = git(git_repo, "rev-parse", "HEAD").strip()
    commit(git_repo, {"orig.py": TEXT + "more\n", "copy.py": TEXT + "extra\n"})
    files = by_path(collect_json(git_repo, "--base", base))
    assert files["copy.py"]["status"] == "copied"
    assert files["copy.py"]["old_path"] == "orig.py"
    assert (files["copy.py"]["added"], files["copy.py"]["removed"]) == (1, 0)


def test_rename_similarity_setting_is_passed_to_git(git_repo: Path) -> None:
    base = commit(git_repo, {"a.py": TEXT})
    edited = TEXT.replace("line 1\n", "one\n").replace("line 9\n", "nine\n")
    commit(git_repo, {"a.py": None, "b.py": edited.replace("line 15\n", "fifteen\n")})
    loose = by_path(collect_json(git_repo, "--base", base))
    assert loose["b.py"]["status"] == "renamed"
    (git_repo / ".phasectl.toml").write_text("rename_similarity = 90\n")
    strict = by_path(collect_json(git_repo, "--base", base))
    assert strict["b.py"]["status"] == "created"
    assert strict["a.py"]["status"] == "deleted"


def test_submodule_bump_is_reported_as_git_reports_it(git_repo: Path, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    git(lib, "init", "--quiet", "-b", "main")
    first = commit(lib, {"lib.py": "v1\n"})
    commit(git_repo, {"README.md": "app\n"})
    git(
        git_repo, "-c", "protocol.file.allow=always", "submodule", "--quiet", "add", str(lib), "lib"
    )
    git(git_repo, "commit", "--quiet", "-m", "add submodule")
    base = git(git_repo, "rev-parse", "HEAD").strip()
    second = commit(lib, {"lib.py": "v2\n"})
    git(git_repo / "lib", "-c", "protocol.file.allow=always", "fetch", "--quiet")
    git(git_repo / "lib", "checkout", "--quiet", second)
    git(git_repo, "commit", "--quiet", "-am", "bump lib")
    files = by_path(collect_json(git_repo, "--base", base))
    assert files["lib"]["status"] == "modified"
    assert (files["lib"]["old_mode"], files["lib"]["new_mode"]) == ("160000", "160000")
    assert (files["lib"]["added"], files["lib"]["removed"]) == (1, 1)
    assert first != second


def test_merge_inside_range_counts_tree_difference(git_repo: Path) -> None:
    base = commit(git_repo, {"a.py": "a\n", "b.py": "b\n"})
    git(git_repo, "checkout", "--quiet", "-b", "feature")
    commit(git_repo, {"b.py": "b\nfeature\n", "feat.py": "f\n"})
    git(git_repo, "checkout", "--quiet", "main")
    commit(git_repo, {"a.py": "a\nmain\n"})
    git(git_repo, "merge", "--quiet", "--no-edit", "feature")
    data = collect_json(git_repo, "--base", base)
    files = by_path(data)
    assert {p: f["status"] for p, f in files.items()} == {
        "a.py": "modified",
        "b.py": "modified",
        "feat.py": "created",
    }
    totals = data["diff"]["totals"]
    assert (totals["lines_added"], totals["lines_removed"]) == (3, 0)
    assert numstat_totals(git_repo, base, "HEAD") == (3, 0)


def test_merge_base_flag_uses_three_dot_meaning(git_repo: Path) -> None:
    fork = commit(git_repo, {"a.py": "a\n"})
    commit(git_repo, {"main_only.py": "m\n"})
    git(git_repo, "checkout", "--quiet", "-b", "topic", fork)
    topic = commit(git_repo, {"topic.py": "t\n"})
    two_dot = by_path(collect_json(git_repo, "--base", "main", "--head", "topic"))
    assert two_dot["main_only.py"]["status"] == "deleted"
    data = collect_json(git_repo, "--base", "main", "--head", "topic", "--merge-base")
    assert set(by_path(data)) == {"topic.py"}
    assert data["base"] == {"ref": "main", "sha": fork}
    assert data["head"]["sha"] == topic
    assert data["diff"]["merge_base"] is True


def test_default_base_is_previous_phase_tag(git_repo: Path) -> None:
    commit(git_repo, {"a.py": "1\n"})
    git(git_repo, "tag", "-a", "phase/1", "-m", "phase 1")
    tagged = commit(git_repo, {"a.py": "1\n2\n"})
    git(git_repo, "tag", "v0.9")  # a newer tag, but not a phase tag
    commit(git_repo, {"a.py": "1\n2\n3\n"})
    data = collect_json(git_repo)
    assert data["base"]["ref"] == "phase/1"
    assert data["base"]["sha"] == git(git_repo, "rev-parse", "phase/1^{commit}").strip()
    assert data["diff"]["totals"]["lines_added"] == 2
    assert tagged != data["base"]["sha"]


def test_tag_on_head_closes_the_phase_and_is_not_the_base(git_repo: Path) -> None:
    commit(git_repo, {"a.py": "1\n"})
    git(git_repo, "tag", "phase/1")
    commit(git_repo, {"a.py": "1\n2\n"})
    git(git_repo, "tag", "phase/2")
    data = collect_json(git_repo)
    assert data["base"]["ref"] == "phase/1"
    assert data["diff"]["totals"]["lines_added"] == 1


def test_default_base_falls_back_to_any_tag(git_repo: Path) -> None:
    commit(git_repo, {"a.py": "1\n"})
    git(git_repo, "tag", "release-1")
    commit(git_repo, {"a.py": "1\n2\n"})
    assert collect_json(git_repo)["base"]["ref"] == "release-1"


def test_without_tags_the_first_phase_shows_all_files_created(git_repo: Path) -> None:
    commit(git_repo, {"a.py": "1\n2\n", "pkg/b.py": "b\n"})
    commit(git_repo, {"a.py": "1\n2\n3\n"})
    result = run_cli("--repo", str(git_repo), "collect", "--format", "json")
    assert result.exit_code == 0
    data = collect_json(git_repo)
    assert data["base"]["ref"] == "(empty tree)"
    assert data["base"]["sha"] == git(git_repo, "hash-object", "-t", "tree", "/dev/null").strip()
    assert {p: (f["status"], f["added"]) for p, f in by_path(data).items()} == {
        "a.py": ("created", 3),
        "pkg/b.py": ("created", 1),
    }


def test_explicit_refs_of_every_kind(git_repo: Path, tmp_path: Path) -> None:
    first = commit(git_repo, {"a.py": "1\n"})
    git(git_repo, "tag", "-a", "annotated", "-m", "an annotated tag")
    commit(git_repo, {"a.py": "1\n2\n"})
    git(git_repo, "branch", "older")
    third = commit(git_repo, {"a.py": "1\n2\n3\n"})
    for ref in ("annotated", first, first[:10], "HEAD~2", "older~1"):
        data = collect_json(git_repo, "--base", ref)
        assert data["base"] == {"ref": ref, "sha": first}, ref
        assert data["head"]["sha"] == third
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(git_repo), str(remote))
    git(git_repo, "remote", "add", "origin", str(remote))
    git(git_repo, "fetch", "--quiet", "origin")
    git(git_repo, "branch", "--quiet", "--set-upstream-to=origin/main")
    commit(git_repo, {"a.py": "1\n2\n3\n4\n"})
    data = collect_json(git_repo, "--base", "@{upstream}")
    assert data["base"]["sha"] == third
    assert data["diff"]["totals"]["lines_added"] == 1


def test_base_equal_to_head_is_a_valid_empty_diff(git_repo: Path) -> None:
    commit(git_repo, {"a.py": "1\n"})
    data = collect_json(git_repo, "--base", "HEAD", "--head", "HEAD")
    assert data["diff"]["files"] == []
    assert set(data["diff"]["totals"].values()) == {0}


ODD_NAMES = [
    "with space.py",
    "tab\there.py",
    "new\nline.py",
    'double"quote.py',
    "single'quote.py",
    "back\\slash.py",
    "-leading-dash.py",
    "--option-like",
    "HEAD",
    "ünïcødé/日本語.py",
    "emoji 🚀.md",
    "latin1-\udce9t\udce9.txt",  # bytes b"latin1-\xe9t\xe9.txt", not UTF-8
    "star*and?.py",
    ":colon-first",
]


def test_odd_file_names_come_out_exactly(git_repo: Path) -> None:
    base = commit(git_repo, {"seed.txt": "x\n", "rename me.py": TEXT})
    commit(
        git_repo,
        {**dict.fromkeys(ODD_NAMES, "one\ntwo\n"), "rename me.py": None, "new\tname.py": TEXT},
    )
    data = collect_json(git_repo, "--base", base)
    files = by_path(data)
    assert set(files) == {*ODD_NAMES, "new\tname.py"}
    for name in ODD_NAMES:
        assert (files[name]["status"], files[name]["added"]) == ("created", 2), name
    assert files["new\tname.py"]["old_path"] == "rename me.py"
    raw = os.fsencode(next(p for p in files if p.startswith("latin1")))
    assert raw == b"latin1-\xe9t\xe9.txt"
    tracked = git(git_repo, "ls-files", "-z").split("\0")
    assert "latin1-\udce9t\udce9.txt" in tracked


def test_odd_names_in_text_output_stay_on_one_line(git_repo: Path) -> None:
    base = commit(git_repo, {"seed.txt": "x\n"})
    commit(git_repo, {"new\nline.py": "1\n", "latin1-\udce9.txt": "2\n"})
    result = run_cli("--repo", str(git_repo), "collect", "--base", base)
    assert result.exit_code == 0
    assert "new\\nline.py" in result.stdout
    assert "latin1-\\xe9.txt" in result.stdout


def test_rename_limit_overflow_is_a_warning_never_silent(git_repo: Path) -> None:
    names = [f"mod{n}.py" for n in range(6)]
    base = commit(
        git_repo, {**{n: f"# {n}\n" + TEXT for n in names}, ".phasectl.toml": "rename_limit = 2\n"}
    )
    commit(
        git_repo,
        {
            **dict.fromkeys(names),
            # New basenames: git pairs same-named files before the rename limit applies.
            **{f"moved/renamed_{n}": f"# {n}\n" + TEXT + "edit\n" for n in names},
        },
    )
    result = run_cli("--repo", str(git_repo), "collect", "--format", "json", "--base", base)
    assert result.exit_code == 0
    assert "rename detection was skipped" in result.stderr
    assert "rename_limit = 6" in result.stderr
    data = collect_json(git_repo, "--base", base)
    assert any("rename detection was skipped" in w for w in data["warnings"])
    assert data["diff"]["totals"]["files_renamed"] == 0
    (git_repo / ".phasectl.toml").write_text("rename_limit = 1000\n")
    data = collect_json(git_repo, "--base", base)
    assert data["warnings"] == [
        "1 file has uncommitted changes, which are not in the diff; commit them to include them"
    ]
    assert data["diff"]["totals"]["files_renamed"] == 6


def test_excluded_files_leave_authored_counts(git_repo: Path) -> None:
    base = commit(git_repo, {"app.py": "a\n"})
    commit(
        git_repo,
        {
            "app.py": "a\nb\n",
            "poetry.lock": "x\n" * 40,
            "web/package-lock.json": "{}\n" * 10,
            "gen/schema_pb2.py": "generated\n" * 7,
            "gen/keep.py": "kept\n",
            "vendor/lib.py": "v\n" * 3,
            ".gitattributes": "gen/*_pb2.py linguist-generated=true\n",
        },
    )
    data = collect_json(git_repo, "--base", base)
    files = by_path(data)
    assert [p for p, f in files.items() if f["excluded"]] == [
        "gen/schema_pb2.py",
        "poetry.lock",
        "web/package-lock.json",
    ]
    totals = data["diff"]["totals"]
    assert totals["lines_added"] == 1 + 40 + 10 + 7 + 1 + 3 + 1
    assert totals["authored_lines_added"] == 1 + 1 + 3 + 1
    (git_repo / ".phasectl.toml").write_text('extend_exclude = ["vendor/"]\n')
    totals = collect_json(git_repo, "--base", base)["diff"]["totals"]
    assert totals["authored_lines_added"] == 1 + 1 + 1


def test_linguist_generated_follows_nested_gitattributes(git_repo: Path) -> None:
    base = commit(git_repo, {"README.md": "r\n"})
    commit(
        git_repo,
        {
            ".gitattributes": "*.gen.py linguist-generated\n",
            "pkg/.gitattributes": "keep.gen.py -linguist-generated\n",
            "pkg/keep.gen.py": "1\n",
            "pkg/other.gen.py": "1\n",
            "top.gen.py": "1\n",
        },
    )
    files = by_path(collect_json(git_repo, "--base", base))
    assert {p for p, f in files.items() if f["excluded"]} == {"pkg/other.gen.py", "top.gen.py"}


def test_dirty_work_tree_is_named_in_a_warning(git_repo: Path) -> None:
    commit(git_repo, {"a.py": "1\n", "b.py": "2\n"})
    (git_repo / "a.py").write_text("changed\n")
    (git_repo / "untracked.py").write_text("new\n")
    (git_repo / "pkg.egg-info").mkdir()
    (git_repo / "pkg.egg-info" / "PKG-INFO").write_text("Name: pkg\n")
    result = run_cli("--repo", str(git_repo), "collect", "--format", "json")
    assert result.exit_code == 0
    # Untracked files are not dirt (as for 'git describe --dirty'): only a.py counts.
    assert "Warning: 1 file has uncommitted changes" in result.stderr
    assert git(git_repo, "status", "--porcelain", "--untracked-files=no").count("\n") == 1
    other = run_cli("--repo", str(git_repo), "collect", "--head", "HEAD~0", "--format", "json")
    assert "uncommitted" in other.stderr  # HEAD~0 is still the checked-out commit


def test_collect_changes_nothing_in_the_repository(git_repo: Path) -> None:
    commit(git_repo, {"a.py": "1\n", "b.py": "2\n"})
    commit(git_repo, {"a.py": "1\n2\n"})
    (git_repo / "b.py").write_text("dirty\n")
    git(git_repo, "add", "b.py")
    (git_repo / "a.py").write_text("dirty too\n")
    git(git_repo, "stash", "push", "--quiet", "--keep-index", "--", "a.py")
    (git_repo / "loose.txt").write_text("untracked\n")

    def state() -> tuple[str, str, str, bytes, str]:
        return (
            git(git_repo, "--no-optional-locks", "status", "--porcelain=v2", "-uall"),
            git(git_repo, "stash", "list"),
            git(git_repo, "rev-parse", "HEAD"),
            (git_repo / ".git" / "index").read_bytes(),
            git(git_repo, "for-each-ref"),
        )

    before = state()
    mtime = (git_repo / ".git" / "index").stat().st_mtime_ns
    collect_json(git_repo, "--base", "HEAD~1")
    assert state() == before
    assert (git_repo / ".git" / "index").stat().st_mtime_ns == mtime


def test_output_file_is_written_atomically_keeping_mode(git_repo: Path, tmp_path: Path) -> None:
    commit(git_repo, {"a.py": "1\n"})
    target = tmp_path / "out.json"
    target.write_text("old")
    target.chmod(0o640)
    result = run_cli("--repo", str(git_repo), "collect", "--format", "json", "-o", str(target))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert target.read_text().startswith('{"schema": "phasectl/1"')
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.json")] == []


def test_cli_works_from_a_subfolder_and_as_module(git_repo: Path) -> None:
    commit(git_repo, {"pkg/a.py": "1\n"})
    done = subprocess.run(
        [sys.executable, "-m", "phasectl", "collect", "--format", "json"],
        cwd=git_repo / "pkg",
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert b'"path": "pkg/a.py"' in done.stdout


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_user_git_config_cannot_change_the_figures(git_repo: Path, fmt: str) -> None:
    base = commit(git_repo, {"a.py": TEXT, "b.py": TEXT})
    commit(git_repo, {"a.py": None, "c.py": TEXT + "x\n", "b.py": TEXT + "y\n"})
    plain = run_cli("--repo", str(git_repo), "collect", "--format", fmt, "--base", base)
    for key, value in [
        ("diff.renames", "false"),
        ("diff.noprefix", "true"),
        ("diff.relative", "true"),
        ("diff.external", "false"),
        ("diff.algorithm", "patience"),
        ("diff.ignoreSubmodules", "all"),
        ("color.ui", "always"),
        ("core.quotePath", "true"),
        ("diff.renameLimit", "1"),
    ]:
        git(git_repo, "config", key, value)
    configured = run_cli("--repo", str(git_repo), "collect", "--format", fmt, "--base", base)
    assert configured.stdout == plain.stdout


def test_output_to_a_pipe_or_symlink_is_written_through(git_repo: Path, tmp_path: Path) -> None:
    import threading

    commit(git_repo, {"a.py": "1\n"})
    # A FIFO stands in for /dev/null or /dev/stdout: replacing it would destroy it.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = run_cli("--repo", str(git_repo), "collect", "--no-tests", "-o", str(fifo))
    reader.join(timeout=10)
    assert result.exit_code == 0
    assert fifo.is_fifo()
    assert received[0].startswith(b"Range: ")
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    result = run_cli("--repo", str(git_repo), "collect", "--no-tests", "-o", str(link))
    assert result.exit_code == 0
    assert link.is_symlink()
    assert real.read_text().startswith("Range: ")


def test_exclude_negation_counts_a_file_again(git_repo: Path) -> None:
    base = commit(git_repo, {"app.py": "a\n"})
    commit(git_repo, {"poetry.lock": "x\n" * 4, "web/package-lock.json": "{}\n" * 10})
    (git_repo / ".phasectl.toml").write_text('extend_exclude = ["!web/package-lock.json"]\n')
    data = collect_json(git_repo, "--base", base)
    assert [p for p, f in by_path(data).items() if f["excluded"]] == ["poetry.lock"]
    added, _ = numstat_totals(git_repo, base, "HEAD")
    assert data["diff"]["totals"]["authored_lines_added"] == added - 4
