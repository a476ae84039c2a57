"""GitLab CI: the merge-request note (the same body as GitHub's comment), posted through
the REST API v4, and the line GitLab's job ``coverage:`` regex reads.

The token is ``PHASECTL_GITLAB_TOKEN`` (else ``GITLAB_TOKEN``): a project or personal
access token with the ``api`` scope, sent as ``PRIVATE-TOKEN``. ``CI_JOB_TOKEN`` cannot
write notes.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from phasectl.ci.comment import CommentPlace, LineLinks
from phasectl.ci.figures import Figures
from phasectl.ci.rest import ApiError, RestClient
from phasectl.ci.thread import upsert_comment
from phasectl.model.phase import PhaseMetrics

GITLAB_MAX_CHARS = 1_000_000
"""GitLab refuses a note longer than this."""
TOKEN_VARIABLES = ("PHASECTL_GITLAB_TOKEN", "GITLAB_TOKEN")


def coverage_line(metrics: PhaseMetrics) -> str | None:
    """``Coverage: 84.21%``, the figure as the report shows it, for a job's ``coverage:``
    regex (``/Coverage: \\d+(?:\\.\\d+)?%/``); ``None`` when coverage was not collected."""
    shown = Figures.of(metrics).coverage_after
    return None if shown is None else f"Coverage: {shown}%"


@dataclass(frozen=True)
class GitLabJob:
    """What a GitLab CI job knows of its pipeline: the API, the project, and, in a merge
    request pipeline, the merge request's IID and the commit to link lines at."""

    api_url: str
    project_id: str
    merge_request_iid: str | None
    server_url: str
    project_path: str
    sha: str
    job_url: str | None
    token: str = field(repr=False)
    token_variable: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GitLabJob:
        """Read GitLab's predefined ``CI_*`` variables and the token."""
        variable = next((name for name in TOKEN_VARIABLES if env.get(name)), None)
        server = env.get("CI_SERVER_URL", "")
        return cls(
            api_url=env.get("CI_API_V4_URL") or (f"{server.rstrip('/')}/api/v4" if server else ""),
            project_id=env.get("CI_PROJECT_ID", ""),
            merge_request_iid=env.get("CI_MERGE_REQUEST_IID") or None,
            server_url=server,
            project_path=env.get("CI_PROJECT_PATH", ""),
            # The merge request's own head in a merged-results pipeline, else the job's commit.
            sha=env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA") or env.get("CI_COMMIT_SHA", ""),
            job_url=env.get("CI_JOB_URL") or None,
            token=env[variable] if variable else "",
            token_variable=variable,
        )

    def place(self) -> CommentPlace:
        """Links to lines at the merge request's head, GitLab's length, the job's page."""
        links = None
        if self.server_url and self.project_path and self.sha:
            base = f"{self.server_url.rstrip('/')}/{self.project_path}/-/blob/{self.sha}"
            links = LineLinks(base, "gitlab")
        return CommentPlace(links, GITLAB_MAX_CHARS, self.job_url, "The job's log")


def note_on_merge_request(
    env: Mapping[str, str], make_body: Callable[[CommentPlace], str]
) -> list[str]:
    """Post the note ``make_body`` writes on the pipeline's merge request, or edit the one
    an earlier run posted. Returns the lines to show (on standard error): what was done,
    or a warning saying why nothing was posted. A note that cannot be posted never fails
    the job."""
    job = GitLabJob.from_env(env)
    if job.merge_request_iid is None:
        return ["phasectl: no merge request in this pipeline; no note posted"]
    missing = [
        name
        for name, value in (
            ("CI_API_V4_URL", job.api_url),
            ("CI_PROJECT_ID", job.project_id),
            (" or ".join(TOKEN_VARIABLES), job.token),
        )
        if not value
    ]
    if missing:
        return [f"Warning: phasectl --comment: no {', '.join(missing)}; no merge-request "
                "note posted (a project access token with the api scope, as a masked "
                "CI/CD variable)"]  # fmt: skip
    body = make_body(job.place())
    project = urllib.parse.quote(job.project_id, safe="")
    notes = f"/projects/{project}/merge_requests/{urllib.parse.quote(job.merge_request_iid)}/notes"
    try:
        client = RestClient(job.api_url, job.token, auth_header="PRIVATE-TOKEN", auth_scheme="")
        done, _ = upsert_comment(
            client,
            f"{notes}?per_page=100&sort=asc&order_by=created_at",
            notes,
            lambda key: f"{notes}/{key}",
            "PUT",
            body,
        )
    except ApiError as exc:
        return [f"Warning: {_refusal(exc, job.token_variable)}"]
    return [f"phasectl: merge-request note {done}"]


def _refusal(error: ApiError, variable: str | None) -> str:
    text = f"phasectl could not post the merge-request note ({error})"
    if error.status in (401, 403, 404):
        return (
            f"{text}. The token in {variable} needs the api scope and at least the Reporter "
            "role on this project, and must be able to see the merge request. The job's "
            "result is unchanged."
        )
    return f"{text}. The job's result is unchanged."
