"""GitHub Actions: the step summary, the pull-request comment posted through the REST API,
step outputs, and workflow-command annotations.

The annotations follow diff-cover's ``github-annotations`` format
(``::warning file=PATH,line=N,title=Missing Coverage::...``), with ``endLine`` for a range
of lines. GitHub shows at most 10 warnings and 10 errors of one step; past that, one
notice says how many were left out.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phasectl.ci.comment import GITHUB_MAX_CHARS, CommentPlace, LineLinks, failure_messages
from phasectl.ci.figures import Figures
from phasectl.ci.rest import ApiError, RestClient
from phasectl.ci.thread import upsert_comment
from phasectl.errors import PhasectlError
from phasectl.report.markdown import code_span

if TYPE_CHECKING:
    from phasectl.model.phase import PhaseMetrics
    from phasectl.repo.repository import Repository

ANNOTATIONS_PER_KIND = 10
"""GitHub shows this many warning (and error) annotations of one step; later ones are lost."""
FORK_DOC = "docs/ci/github-fork-comment.yml"
"""The workflow_run pattern that comments on pull requests from forks."""
PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target")


def phase_heading(name: str, metrics: PhaseMetrics, level: int = 2) -> str:
    """``## Phase `3-auth`: `phase/2` → `HEAD` (1a2b3c4d5e6f)``, naming the phase and range."""
    return (
        f"{'#' * level} Phase {code_span(name)}: {code_span(metrics.base.ref)} → "
        f"{code_span(metrics.head.ref)} ({metrics.head.sha[:12]})"
    )


def step_summary_text(name: str, metrics: PhaseMetrics, sections: str) -> str:
    """What ``report --summary`` appends to ``$GITHUB_STEP_SUMMARY``: a heading naming the
    phase, then the Metrics and Test Results sections."""
    return f"{phase_heading(name, metrics)}\n\n{sections}"


# ---- workflow commands ----------------------------------------------------------------


def escape_data(text: str) -> str:
    """A command's message made inert (actions/toolkit's ``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A command's property value made inert (``escapeProperty``): also ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(kind: str, message: str, **properties: str | int | None) -> str:
    """``::kind key=value,...::message``, every value and the message escaped, so that no
    file name or test id can end the command or start another one."""
    props = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in properties.items()
        if value is not None
    )
    return f"::{kind}{' ' + props if props else ''}::{escape_data(message)}"


def _uncovered_by_file(metrics: PhaseMetrics) -> list[tuple[str, list[list[int]]]]:
    """Files with changed lines no test ran, most such lines first, then by path."""
    patch = (metrics.coverage or {}).get("patch")
    files = [(f["path"], f["uncovered"]) for f in (patch or {}).get("files", ()) if f["uncovered"]]

    def count(ranges: list[list[int]]) -> int:
        return sum(last - first + 1 for first, last in ranges)

    return sorted(files, key=lambda item: (-count(item[1]), item[0]))


def newly_failing(metrics: PhaseMetrics) -> list[str]:
    """Test ids that pass no more (or are new and fail); empty without a baseline."""
    changes = (metrics.tests or {}).get("changes")
    return list(changes["newly_failing"]) if changes else []


def _test_location(test_id: str, files: Mapping[str, bytes]) -> tuple[str, int | None] | None:
    """The file of a test id such as ``tests/test_x.py::TestY::test_z[1]`` (when that file
    is in the commit) and the line of its ``def``, if found."""
    path, sep, rest = test_id.partition("::")
    if not sep or path not in files:
        return None
    function = re.sub(r"\[.*\]$", "", rest.rpartition("::")[2])
    found = re.search(
        rf"^[ \t]*(?:async[ \t]+)?def[ \t]+{re.escape(function)}\b".encode(),
        files[path],
        re.MULTILINE,
    )
    return path, (files[path].count(b"\n", 0, found.start()) + 1) if found else None


def github_annotations(
    repo: Repository,
    metrics: PhaseMetrics,
    *,
    warnings: int = ANNOTATIONS_PER_KIND,
    listed_in: str = "the phase report",
) -> list[str]:
    """Workflow commands: a ``::warning`` per range of uncovered changed lines (the files
    with most such lines first), an ``::error`` per newly failing test with its message (at
    the file and line its runner named, else at its ``def`` when its file is in head's
    tree). At most ``warnings`` warnings and 10 errors; when some are
    left out, one ``::notice`` says how many and that ``listed_in`` lists them all."""
    out: list[str] = []
    ranges = [(path, r) for path, found in _uncovered_by_file(metrics) for r in found]
    for path, (first, last) in ranges[:warnings]:
        lines = f"Line {first}" if first == last else f"Lines {first}-{last}"
        out.append(
            workflow_command(
                "warning",
                f"{lines} missing coverage",
                file=path,
                line=first,
                endLine=last if last != first else None,
                title="Missing Coverage",
            )
        )
    failing = newly_failing(metrics)
    shown = failing[:ANNOTATIONS_PER_KIND]
    messages = failure_messages(metrics)
    changes = (metrics.tests or {}).get("changes") or {}
    failures = changes.get("failures") or {}
    # Head's files are read only for the tests whose runner named no file.
    unplaced = [t for t in shown if "::" in t and not (failures.get(t) or {}).get("file")]
    paths = sorted({t.partition("::")[0] for t in unplaced})
    files = repo.read_files(metrics.head.sha, paths) if paths else {}
    for test in shown:
        # Where the runner said it failed (JUnit's file/line, pytest's crash line, Go's
        # x_test.go:NN), else the test's def in head's tree.
        said = failures.get(test) or {}
        location = (
            (said["file"], said.get("line")) if said.get("file") else _test_location(test, files)
        )
        message = messages.get(test)
        text = f"Test {test} newly fails" + (f": {message}" if message else "")
        test_file, line = location if location is not None else (None, None)
        out.append(workflow_command("error", text, file=test_file, line=line,
                                    title="Newly Failing Test"))  # fmt: skip
    left = [
        f"{n} {noun}"
        for n, noun in (
            (len(ranges) - len(ranges[:warnings]), "uncovered changed ranges"),
            (len(failing) - len(shown), "newly failing tests"),
        )
        if n
    ]
    if left:
        out.append(
            workflow_command(
                "notice",
                f"{' and '.join(left)} not annotated: GitHub shows {ANNOTATIONS_PER_KIND} "
                f"annotations of a kind per step; {listed_in} lists them all",
                title="More findings",
            )
        )
    return out


# ---- step outputs -----------------------------------------------------------------------


def step_outputs(
    metrics: PhaseMetrics, gates_passed: bool | None, report_path: str | None
) -> dict[str, str]:
    """``report --outputs``: each figure as the report shows it, without ``%``; empty when
    it was not collected (``gates`` when not judged, ``report`` with ``--stdout``)."""
    figures = Figures.of(metrics)
    return {
        "coverage": figures.coverage_after or "",
        "patch-coverage": figures.patch or "",
        "tests-passing": figures.tests_after or "",
        "gates": "" if gates_passed is None else "pass" if gates_passed else "fail",
        "report": report_path or "",
    }


def append_outputs(path: Path, values: Mapping[str, str]) -> None:
    """Append ``values`` to ``$GITHUB_OUTPUT`` in the heredoc form, each value between
    delimiter lines no value contains, so no value can set another output. Raises
    ``OSError`` when the file cannot be written."""
    text = []
    for name, value in values.items():
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        if delimiter in value:  # as actions/toolkit: a value cannot end its own block
            raise PhasectlError(f"the output {name} holds its own delimiter")
        text.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    with path.open("a", encoding="utf-8", errors="surrogateescape") as handle:
        handle.write("".join(text))


# ---- the pull-request comment ---------------------------------------------------------


@dataclass(frozen=True)
class GitHubRun:
    """What a GitHub Actions step knows of its run: the repository, the API and web
    addresses, and, for a pull_request (or pull_request_target) event, the pull request's
    number and head commit (the event payload's, not the merge commit checked out)."""

    repository: str
    api_url: str
    server_url: str
    event_name: str
    pull_number: int | None
    head_sha: str | None
    run_id: str | None
    token: str = field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GitHubRun:
        """Read ``GITHUB_*`` and the event payload at ``GITHUB_EVENT_PATH``."""
        event_name = env.get("GITHUB_EVENT_NAME", "")
        number = head = None
        if event_name in PULL_REQUEST_EVENTS:
            pull = _event(env).get("pull_request")
            if isinstance(pull, dict):
                number = pull.get("number") if isinstance(pull.get("number"), int) else None
                sha = (pull.get("head") or {}).get("sha")
                head = (
                    sha if isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{40,64}", sha) else None
                )
        return cls(
            repository=env.get("GITHUB_REPOSITORY", ""),
            api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
            server_url=env.get("GITHUB_SERVER_URL") or "https://github.com",
            event_name=event_name,
            pull_number=number,
            head_sha=head,
            run_id=env.get("GITHUB_RUN_ID") or None,
            token=env.get("GITHUB_TOKEN", ""),
        )

    @property
    def web_url(self) -> str:
        return f"{self.server_url.rstrip('/')}/{self.repository}"

    def place(self) -> CommentPlace:
        """Links to lines at the pull request's head, GitHub's length, the run's summary."""
        links = None
        if self.repository and self.head_sha:
            links = LineLinks(f"{self.web_url}/blob/{self.head_sha}", "github")
        run = (
            f"{self.web_url}/actions/runs/{self.run_id}"
            if self.repository and self.run_id
            else None
        )
        return CommentPlace(links, GITHUB_MAX_CHARS, run, "The job summary")


def _event(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def comment_on_pull_request(
    env: Mapping[str, str], make_body: Callable[[CommentPlace], str]
) -> list[str]:
    """Post the comment ``make_body`` writes on the run's pull request, or edit the one an
    earlier run posted. Returns the lines to show: what was done, or one ``::warning::``
    saying why nothing was posted. Never raises for the forge's refusal: a comment that
    cannot be posted does not fail the job."""
    run = GitHubRun.from_env(env)
    if run.event_name not in PULL_REQUEST_EVENTS:
        event = run.event_name or "unknown"
        return [f"phasectl: no pull request in this run (a {event} event); no comment posted"]
    missing = [
        name
        for name, value in (
            ("GITHUB_REPOSITORY", run.repository),
            ("the pull request's number in GITHUB_EVENT_PATH", run.pull_number),
            ("GITHUB_TOKEN", run.token),
        )
        if not value
    ]
    if missing:
        hint = " (env: GITHUB_TOKEN: ${{ github.token }})" if not run.token else ""
        return [workflow_command("warning", f"phasectl --comment: no {', '.join(missing)}"
                                 f"{hint}; no pull-request comment posted")]  # fmt: skip
    body = make_body(run.place())
    repo = "/".join(urllib.parse.quote(part, safe="") for part in run.repository.split("/"))
    try:
        client = RestClient(
            run.api_url,
            run.token,
            headers={"Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": "2022-11-28"},
        )  # fmt: skip
        done, data = upsert_comment(
            client,
            f"/repos/{repo}/issues/{run.pull_number}/comments?per_page=100",
            f"/repos/{repo}/issues/{run.pull_number}/comments",
            lambda key: f"/repos/{repo}/issues/comments/{key}",
            "PATCH",
            body,
        )
    except ApiError as exc:
        return [workflow_command("warning", _refusal(exc))]
    url = data.get("html_url") if isinstance(data, dict) else None
    where = f": {url}" if isinstance(url, str) else ""
    return [f"phasectl: pull-request comment {done}{where}"]


def _refusal(error: ApiError) -> str:
    """Why the comment was not posted, and what to do."""
    text = f"phasectl could not post the pull-request comment ({error})"
    if error.status in (403, 404):
        return (
            f"{text}. The token may not write to this pull request: a pull request from a "
            "fork gets a read-only token, and the workflow needs "
            "`permissions: pull-requests: write`. Grant that permission, or comment from a "
            f"workflow_run workflow as {FORK_DOC} shows. The job's result is unchanged."
        )
    return f"{text}. The job's result is unchanged."
