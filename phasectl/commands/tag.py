"""``phasectl tag NAME``: close a phase with its report, its snapshot and an annotated tag."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click

from phasectl.commands.collect import collect_options, echo_err, run_collect, test_options
from phasectl.commands.report import render_phase_report
from phasectl.context import AppContext
from phasectl.errors import PhasectlError


@click.command()
@click.argument("name")
@click.option("-m", "--message", help='First line of the tag message [default: "Phase NAME"].')
@click.option(
    "--report",
    "report_option",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The report file [default: <report_dir>/NAME.md].",
)
@click.option("--no-commit", is_flag=True, help="Write the report but do not commit it.")
@click.option("--push", is_flag=True, help="Push the tag and the snapshots (refs/notes/phasectl).")
@click.option("--allow-dirty", is_flag=True, help="Tag even with uncommitted changes.")
@test_options
@click.pass_obj
def tag(
    app: AppContext,
    /,
    name: str,
    message: str | None,
    report_option: Path | None,
    no_commit: bool,
    push: bool,
    allow_dirty: bool,
    **params: Any,
) -> None:
    """Close the phase NAME: measure it, write its report, commit the report, store the
    figures as a git note, and create the annotated tag <tag_prefix>NAME on that commit.

    The phase runs from the previous phase tag to HEAD. The tag's message carries the
    headline figures. If a step fails, the steps before it are undone.
    """
    from phasectl.report.writer import report_file, report_path
    from phasectl.workflow.tag import close_phase, head_snapshot

    repo, config = app.repository, app.config
    repo.require_commits()
    tag_name = f"{config.tag_prefix}{name}"
    repo.check_tag_name(tag_name)
    root = repo.work_tree
    if root is None:
        raise PhasectlError("phasectl tag needs a work tree to write the report in")
    path = report_option.absolute() if report_option else report_path(root, config, name)
    if not no_commit and repo.tree_path(path) is None:
        raise PhasectlError(
            f"{path} is outside the repository, so it cannot be committed with the tag; "
            "pass --no-commit, or a --report path inside the repository"
        )
    reports = (root / config.report_dir).resolve()
    if not allow_dirty:
        # phasectl's own reports (the one being tagged may hold the story people wrote) are
        # committed by the tag or left alone; anything else would not be in the tagged commit.
        dirty = [
            p
            for p in repo.dirty_files()
            if (root / p).resolve() != path.resolve()
            and not (root / p).resolve().is_relative_to(reports)
        ]
        if dirty:
            shown = ", ".join(dirty[:3]) + (f" and {len(dirty) - 3} more" if len(dirty) > 3 else "")
            raise PhasectlError(
                f"the work tree has uncommitted changes ({shown}), so the tests would not "
                "describe the tagged commit; commit or stash them, or pass --allow-dirty"
            )
    metrics = run_collect(app, collect_options(params, skip_reports=True, debt=True))
    start_from = None
    if not path.exists():
        # The report 'phasectl report' wrote while the phase was open (named after the
        # branch) holds the story people wrote: carry it over.
        draft, _ = report_file(repo, config, metrics, None, None)
        if draft != path and draft.is_file():
            start_from = draft.read_bytes()
            echo_err(f"Warning: {path.name} starts from {draft} (remove that draft when done)")
    rendered = render_phase_report(app, metrics, path, name, start_from=start_from)
    target = close_phase(
        repo,
        name=name,
        tag=tag_name,
        message=message,
        rendered=rendered,
        metrics=metrics,
        measured=head_snapshot(metrics),
        commit=not no_commit,
    )
    click.echo(f"Tagged {tag_name} at {target[:12]}; report: {path}")
    from phasectl.store.snapshots import NOTES_REF

    remote = repo.default_remote()
    refspecs = [f"refs/tags/{tag_name}", NOTES_REF]
    share = shlex.join(["git", "push", remote or "origin", *refspecs])
    if not push:
        echo_err(f"Share the tag and its snapshot with: {share}")
        return
    if remote is None:
        raise PhasectlError(f"no remote to push {tag_name} to; add one with 'git remote add'")
    try:
        repo.push(remote, refspecs)
    except PhasectlError as exc:
        raise PhasectlError(f"{exc}; the tag is made here, push it later with: {share}") from None
    click.echo(f"Pushed {tag_name} and {NOTES_REF} to {remote}")
