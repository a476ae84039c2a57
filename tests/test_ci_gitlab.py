"""``report --comment`` in GitLab CI: the merge-request note, against a loopback GitLab API
(REST v4, ``PRIVATE-TOKEN``, lists paged by ``Link`` headers), on a real pull request
checkout; and the ``Coverage:`` line a job's coverage regex reads."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phasectl.ci.comment import MARKER, LineLinks

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

SERVER = "https://gitlab.example"
THREAD = "42!3"
NOTES = "/api/v4/projects/42/merge_requests/3/notes"
# The regex GitLab's documentation suggests for a job's `coverage:` keyword.
GITLAB_COVERAGE = re.compile(r"Coverage: \d+(?:\.\d+)?%")


@pytest.fixture(scope="module")
def pull_request_template(tmp_path_factory: pytest.TempPathFactory) -> PullRequest:
    return new_pull_request(tmp_path_factory, "mr")


@pytest.fixture
def pull_request(pull_request_template: PullRequest, tmp_path: Path) -> PullRequest:
    return copy_pull_request(pull_request_template, tmp_path / "runner")


@pytest.fixture
def forge() -> Iterator[Forge]:
    with loopback_forge() as found:
        found.auth_header, found.auth_scheme = "PRIVATE-TOKEN", ""
        yield found


@pytest.fixture
def gitlab(monkeypatch: pytest.MonkeyPatch, forge: Forge, pull_request: PullRequest) -> None:
    """A merged-results merge request pipeline's environment."""
    clean_ci_env(monkeypatch)
    for name, value in {
        "GITLAB_CI": "true",
        "CI": "true",
        "CI_API_V4_URL": f"{forge.url}/api/v4",
        "CI_SERVER_URL": SERVER,
        "CI_PROJECT_ID": "42",
        "CI_PROJECT_PATH": "group/calc",
        "CI_MERGE_REQUEST_IID": "3",
        "CI_COMMIT_SHA": pull_request.merge,
        "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": pull_request.head,
        "CI_JOB_URL": f"{SERVER}/group/calc/-/jobs/555",
        "PHASECTL_GITLAB_TOKEN": forge.credential,
    }.items():
        monkeypatch.setenv(name, value)


def report(pr: PullRequest, *args: str) -> Any:
    return run_cli("--repo", str(pr.repo), "report", "-q", "--name", "mr-3", *args)


@pytest.mark.usefixtures("gitlab")
def test_note_created_then_updated_in_place(
    pull_request: PullRequest, forge: Forge, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = forge.add(THREAD, "Please add a test for triple().")
    quoted = forge.add(THREAD, f"The bot's note starts with\n\n{MARKER}\n\nwhy?")
    system = forge.add(THREAD, f"{MARKER}\nadded 1 commit", system=True)
    people = {c["id"]: dict(c) for c in forge.comments[THREAD]}

    first = report(pull_request, "--comment", "--gates")
    assert first.exit_code == 1, first.output  # the failing-test gate
    assert "phasectl: merge-request note created" in first.stderr
    pages = [r for r in forge.requests if r.method == "GET"]
    assert [r.query.get("page", ["1"]) for r in pages] == [["1"], ["2"]]
    assert [(r.method, r.path) for r in forge.writes()] == [("POST", NOTES)]
    assert {r.headers["private-token"] for r in forge.requests} == {forge.credential}
    assert all("authorization" not in r.headers for r in forge.requests)

    # The Coverage line, with the figure collect measures and the report shows.
    (line,) = [x for x in first.stderr.splitlines() if x.startswith("Coverage:")]
    collected = run_cli("--repo", str(pull_request.repo), "collect", "-q", "--format", "json")
    shown = json.loads(collected.stdout)["coverage"]["shown"]["after"]
    assert line == f"Coverage: {shown}%"
    assert GITLAB_COVERAGE.fullmatch(line)
    assert f"→ {shown}% (" in (pull_request.repo / "docs" / "phases" / "mr-3.md").read_text()

    # The second run, with GitLab's usual variable name, edits the note it posted.
    monkeypatch.delenv("PHASECTL_GITLAB_TOKEN")
    monkeypatch.setenv("GITLAB_TOKEN", forge.credential)
    forge.requests.clear()
    second = report(pull_request, "--comment")
    assert second.exit_code == 0, second.output
    created = forge.comments[THREAD][-1]["id"]
    assert [(r.method, r.path) for r in forge.writes()] == [("PUT", f"{NOTES}/{created}")]
    assert [c["id"] for c in forge.comments[THREAD]] == [plain, quoted, system, created]
    for key, note in people.items():
        assert next(c for c in forge.comments[THREAD] if c["id"] == key) == note

    body = forge.comments[THREAD][-1]["body"]
    assert body.startswith(f"{MARKER}\n### Phase `mr-3`\n")
    link = f"{SERVER}/group/calc/-/blob/{pull_request.head}/calc.py#L{UNCOVERED_LINE}"
    assert f"- `calc.py`: [{UNCOVERED_LINE}]({link})\n" in body
    for text in (first.output, second.output, body):
        assert forge.credential not in text


@pytest.mark.usefixtures("gitlab")
def test_a_refused_note_warns_and_keeps_the_exit_status(
    pull_request: PullRequest, forge: Forge
) -> None:
    forge.refuse_writes = 403
    result = report(pull_request, "--comment", "--stdout")
    assert result.exit_code == 0
    warnings = [x for x in result.stderr.splitlines() if x.startswith("Warning:")]
    assert len(warnings) == 1, result.stderr
    assert "HTTP 403" in warnings[0]
    assert "PHASECTL_GITLAB_TOKEN needs the api scope" in warnings[0]
    assert forge.credential not in result.output
    assert GITLAB_COVERAGE.search(result.stderr)  # the coverage line all the same


@pytest.mark.usefixtures("gitlab")
def test_no_merge_request_no_note(
    pull_request: PullRequest, forge: Forge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI_MERGE_REQUEST_IID")
    result = report(pull_request, "--no-tests", "--comment", "--stdout")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "phasectl: no merge request in this pipeline; no note posted"
    ]  # and no Coverage line: coverage was not collected
    assert forge.requests == []


def test_gitlab_marks_a_range_without_a_second_l() -> None:
    links = LineLinks("https://gitlab.example/g/p/-/blob/abc", "gitlab")
    assert (
        links.url("src/a b.py", 14, 19)
        == "https://gitlab.example/g/p/-/blob/abc/src/a%20b.py#L14-19"
    )
    assert links.url("x.py", 3, 3).endswith("/x.py#L3")
    github = LineLinks("https://github.com/o/r/blob/abc")
    assert github.url("src/x.py", 14, 19) == "https://github.com/o/r/blob/abc/src/x.py#L14-L19"
