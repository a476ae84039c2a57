"""``report --comment`` and ``--outputs`` in GitHub Actions, against a loopback GitHub API.

The runner's checkout is a real pull request (``ci_api.build_pull_request``): the merge
commit checked out, the pull request's head in the event payload. The API is a real HTTP
server on 127.0.0.1 that pages its lists with ``Link`` headers, as GitHub (Enterprise,
under ``/api/v3``) does.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phasectl.ci.comment import MARKER

from conftest import run_cli
from support.ci_api import (
    UNCOVERED_LINE,
    Forge,
    PullRequest,
    clean_ci_env,
    copy_pull_request,
    loopback_forge,
    new_pull_request,
)

SERVER = "https://github.example"
THREAD = "octo/calc#7"


@pytest.fixture(scope="module")
def pull_request_template(tmp_path_factory: pytest.TempPathFactory) -> PullRequest:
    return new_pull_request(tmp_path_factory, "pr")


@pytest.fixture
def pull_request(pull_request_template: PullRequest, tmp_path: Path) -> PullRequest:
    return copy_pull_request(pull_request_template, tmp_path / "runner")


@pytest.fixture
def forge() -> Iterator[Forge]:
    with loopback_forge() as found:
        yield found


@pytest.fixture
def actions(
    monkeypatch: pytest.MonkeyPatch, forge: Forge, tmp_path: Path, pull_request: PullRequest
) -> dict[str, Path]:
    """A pull_request job's environment; returns the files GitHub gives the step."""
    clean_ci_env(monkeypatch)
    files = {name: tmp_path / name for name in ("event.json", "output", "summary.md")}
    event = {
        "action": "synchronize",
        "number": 7,
        "pull_request": {
            "number": 7,
            "head": {"ref": "feature", "sha": pull_request.head},
            "base": {"ref": "main"},
        },
    }
    files["event.json"].write_text(json.dumps(event))
    files["output"].write_text("")
    files["summary.md"].write_text("")
    (tmp_path / "runner-temp").mkdir()
    for name, value in {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(files["event.json"]),
        "GITHUB_REPOSITORY": "octo/calc",
        "GITHUB_API_URL": f"{forge.url}/api/v3",
        "GITHUB_SERVER_URL": SERVER,
        "GITHUB_RUN_ID": "4242",
        "GITHUB_OUTPUT": str(files["output"]),
        "GITHUB_STEP_SUMMARY": str(files["summary.md"]),
        "RUNNER_TEMP": str(tmp_path / "runner-temp"),
        "GITHUB_TOKEN": forge.credential,
    }.items():
        monkeypatch.setenv(name, value)
    return files


def report(pr: PullRequest, *args: str) -> Any:
    return run_cli("--repo", str(pr.repo), "report", "-q", "--name", "pr-7", *args)


def read_outputs(path: Path) -> dict[str, str]:
    """$GITHUB_OUTPUT parsed as the runner parses it (``name<<DELIMITER`` blocks)."""
    found: dict[str, str] = {}
    lines = iter(path.read_text().splitlines())
    for line in lines:
        name, sep, delimiter = line.partition("<<")
        assert sep, f"not the heredoc form: {line!r}"
        value = []
        for inner in lines:
            if inner == delimiter:
                break
            value.append(inner)
        found[name] = "\n".join(value)
    return found


def test_comment_created_then_updated_in_place(
    pull_request: PullRequest, forge: Forge, actions: dict[str, Path]
) -> None:
    # People's comments first: two pages of them (the server pages by 2). One quotes the
    # marker mid-body, one starts with a space before it: neither is phasectl's.
    plain = forge.add(THREAD, "Looks good, one question below.")
    quoted = forge.add(THREAD, f"Why does the bot write\n{MARKER}\nat the top?", "phasectl-bot")
    spaced = forge.add(THREAD, f" {MARKER}\nindented: not the marker line")
    people = {c["id"]: dict(c) for c in forge.comments[THREAD]}

    first = report(pull_request, "--comment", "--outputs", "--gates", "--summary",
                   "--annotations")  # fmt: skip
    assert first.exit_code == 1, first.output  # a test newly fails: the gate, not the comment
    assert "pull-request comment created" in first.stderr
    pages = [r for r in forge.requests if r.method == "GET"]
    assert [r.query.get("page", ["1"]) for r in pages] == [["1"], ["2"]]
    assert all(r.query["per_page"] == ["100"] for r in pages)
    assert [(r.method, r.path) for r in forge.writes()] == [
        ("POST", "/api/v3/repos/octo/calc/issues/7/comments")
    ]
    assert all(r.headers["authorization"] == f"Bearer {forge.credential}" for r in forge.requests)
    ours = [c for c in forge.comments[THREAD] if c["body"].startswith(MARKER + "\n")]
    assert len(ours) == 1
    created = ours[0]["id"]

    # The second run (another push) edits that comment; nothing else is touched.
    forge.requests.clear()
    second = report(pull_request, "--comment", "--gates")
    assert second.exit_code == 1, second.output
    assert "pull-request comment updated" in second.stderr
    assert [(r.method, r.path) for r in forge.writes()] == [
        ("PATCH", f"/api/v3/repos/octo/calc/issues/comments/{created}")
    ]
    assert [c["id"] for c in forge.comments[THREAD]] == [plain, quoted, spaced, created]
    for key, comment in people.items():
        assert next(c for c in forge.comments[THREAD] if c["id"] == key) == comment

    body = forge.comments[THREAD][-1]["body"]
    assert body.startswith(f"{MARKER}\n### Phase `pr-7`\n")
    # Lines link to the pull request's head, not to the merge commit checked out.
    link = f"{SERVER}/octo/calc/blob/{pull_request.head}/calc.py#L{UNCOVERED_LINE}"
    assert f"- `calc.py`: [{UNCOVERED_LINE}]({link})\n" in body
    assert pull_request.merge not in body
    assert body.count("`calc.py`: ") == 1  # the uncovered lines are listed once
    assert "\\`" not in body  # no code span escaped a second time
    assert "| **FAIL** | 1 newly failing: tests/test\\_calc.py::test\\_add |" in body
    # With pytest's own first line of the failure.
    assert (
        "#### Newly failing tests (1)\n\n- `tests/test_calc.py::test_add`: assert 3 == 4\n" in body
    )
    assert "**Tests**: 1 added, 0 removed, 0 fixed" in body
    assert re.search(r"<sub>Base `phase/1` \(`[0-9a-f]{7}`\) → head `HEAD` \(`[0-9a-f]{7}`\)", body)

    # The token shows nowhere.
    for text in (first.output, second.output, actions["output"].read_text(),
                 actions["summary.md"].read_text(), body):  # fmt: skip
        assert forge.credential not in text


def test_outputs_equal_what_collect_measures(
    pull_request: PullRequest, forge: Forge, actions: dict[str, Path]
) -> None:
    result = report(pull_request, "--outputs", "--gates")
    assert result.exit_code == 1, result.output
    collected = run_cli("--repo", str(pull_request.repo), "collect", "-q", "--format", "json")
    assert collected.exit_code == 0, collected.output
    data = json.loads(collected.stdout)
    outputs = read_outputs(actions["output"])
    tests = data["tests"]["after"]
    assert outputs == {
        "coverage": data["coverage"]["shown"]["after"],
        "patch-coverage": f"{data['coverage']['patch']['percent']:.1f}",
        "tests-passing": f"{tests['passed']}/{tests['total']}",
        "gates": "fail",
        "report": str(pull_request.repo / "docs" / "phases" / "pr-7.md"),
    }
    assert outputs["coverage"] == data["coverage"]["after"]["percent_display"]
    # As the report shows them, without "%".
    written = (pull_request.repo / "docs" / "phases" / "pr-7.md").read_text()
    assert f"→ {outputs['coverage']}% (" in written
    assert f"Patch Coverage: {outputs['patch-coverage']}% (" in written
    assert f"Tests Passing: 1/1 → {outputs['tests-passing']}" in written
    assert forge.requests == []  # --outputs alone posts nothing


def test_outputs_of_figures_not_collected_are_empty(
    pull_request: PullRequest, actions: dict[str, Path]
) -> None:
    result = report(pull_request, "--no-tests", "--outputs", "--stdout")
    assert result.exit_code == 0, result.output
    assert read_outputs(actions["output"]) == {
        "coverage": "", "patch-coverage": "", "tests-passing": "", "gates": "", "report": "",
    }  # fmt: skip


def test_an_unwritable_output_file_is_a_warning(
    pull_request: PullRequest, actions: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_OUTPUT", str(actions["output"].parent))  # a folder
    result = report(pull_request, "--no-tests", "--outputs", "--stdout")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("Warning: cannot append to $GITHUB_OUTPUT (")


def test_a_refused_comment_warns_and_keeps_the_exit_status(
    pull_request: PullRequest, forge: Forge, actions: dict[str, Path]
) -> None:
    forge.refuse_writes = 403  # a fork's read-only token
    gated = report(pull_request, "--comment", "--gates", "--annotations")
    assert gated.exit_code == 1  # as without --comment: the failing gate's status
    warnings = [line for line in gated.stderr.splitlines() if line.startswith("::warning::")]
    assert len(warnings) == 1, gated.stderr
    (warning,) = warnings
    assert "HTTP 403" in warning
    assert "pull-requests: write" in warning
    assert "docs/ci/github-fork-comment.yml" in warning
    # The server quoted the token back in its error; phasectl does not repeat it.
    assert "Bearer ***" in warning
    assert forge.credential not in gated.output
    assert forge.comments.get(THREAD) is None
    # 9 range warnings at most while a refused comment may need the tenth.
    assert sum(line.startswith("::warning ") for line in gated.stdout.splitlines()) <= 9

    plain = report(pull_request, "--comment", "--stdout")
    assert plain.exit_code == 0
    assert "::warning::" in plain.stderr


def test_no_pull_request_no_comment(
    pull_request: PullRequest,
    forge: Forge,
    actions: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    result = report(pull_request, "--no-tests", "--comment", "--stdout")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "phasectl: no pull request in this run (a push event); no comment posted"
    ]
    assert forge.requests == []


def test_no_token_is_a_warning(
    pull_request: PullRequest,
    forge: Forge,
    actions: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    result = report(pull_request, "--no-tests", "--comment", "--stdout")
    assert result.exit_code == 0, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("::warning::phasectl --comment: no GITHUB_TOKEN")
    assert "github.token" in line
    assert forge.requests == []


def test_the_installed_command_posts_from_its_own_process(
    pull_request: PullRequest, forge: Forge, actions: dict[str, Path]
) -> None:
    # The real process (python -m phasectl, the early diff and its signal handling) sends
    # the requests; what it prints is what a job's log would hold.
    command = [sys.executable, "-m", "phasectl", "--repo", str(pull_request.repo), "report",
               "--no-tests", "--stdout", "--comment", "--outputs"]  # fmt: skip
    first = subprocess.run(command, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert "phasectl: pull-request comment created" in first.stderr
    second = subprocess.run(command, capture_output=True, text=True, check=False)
    assert second.returncode == 0, second.stderr
    assert "phasectl: pull-request comment updated" in second.stderr
    assert len(forge.comments[THREAD]) == 1
    assert [r.method for r in forge.writes()] == ["POST", "PATCH"]
    for text in (first.stdout, first.stderr, second.stdout, second.stderr):
        assert forge.credential not in text
    assert read_outputs(actions["output"])["tests-passing"] == ""


def test_outside_ci_comment_posts_nothing(
    pull_request: PullRequest, forge: Forge, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_ci_env(monkeypatch)
    result = report(pull_request, "--no-tests", "--comment", "--stdout")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "phasectl: --comment posts only in GitHub Actions (GITHUB_ACTIONS=true) or GitLab CI "
        "(GITLAB_CI=true); no comment posted"
    ]
    assert forge.requests == []
