"""Which forge runs this job (GitHub Actions, GitLab CI, neither), read from the
environment, and what ``report --comment`` does there."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from phasectl.ci.comment import CommentPlace, comment_body

if TYPE_CHECKING:
    from phasectl.model.phase import PhaseMetrics
    from phasectl.workflow.gates import Gate


def in_github_actions(env: Mapping[str, str]) -> bool:
    return env.get("GITHUB_ACTIONS") == "true"


def in_gitlab_ci(env: Mapping[str, str]) -> bool:
    return env.get("GITLAB_CI") == "true"


def comment_place(env: Mapping[str, str]) -> CommentPlace:
    """Links and limits of the comment in this job; outside CI none (ranges as plain
    text, GitHub's length)."""
    if in_github_actions(env):
        from phasectl.ci.github import GitHubRun

        return GitHubRun.from_env(env).place()
    if in_gitlab_ci(env):
        from phasectl.ci.gitlab import GitLabJob

        return GitLabJob.from_env(env).place()
    return CommentPlace()


def post_comment(
    env: Mapping[str, str], name: str, metrics: PhaseMetrics, gates: Sequence[Gate] | None
) -> list[str]:
    """Post or edit the phase's comment on this job's pull or merge request; the lines to
    show on standard error (under GitLab CI, ``Coverage: N%`` first). Never raises for a
    comment the forge refuses."""

    def body(place: CommentPlace) -> str:
        return comment_body(name, metrics, gates, place)

    if in_github_actions(env):
        from phasectl.ci.github import comment_on_pull_request

        return comment_on_pull_request(env, body)
    if in_gitlab_ci(env):
        from phasectl.ci.gitlab import coverage_line, note_on_merge_request

        found = coverage_line(metrics)
        return ([found] if found else []) + note_on_merge_request(env, body)
    return [
        "phasectl: --comment posts only in GitHub Actions (GITHUB_ACTIONS=true) or GitLab "
        "CI (GITLAB_CI=true); no comment posted"
    ]
