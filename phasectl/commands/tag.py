"""``phasectl tag NAME``: close a phase with its report, its snapshot and an annotated tag."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from phasectl.commands.collect import collect_options, echo_err, run_collect, test_options
from phasectl.commands.report import render_phase_report
from phasectl.context import AppContext
from phasectl.errors import EXIT_CHECK_FAILED, PhasectlError

if TYPE_CHECKING:
    from phasectl.config import CheckSettings
    from phasectl.model.phase import PhaseMetrics


@click.command()
@click.argument("name")
@click.option("-m", "--message", show_default="Phase NAME", help="First line of the tag message.")
@click.option(
    "--report",
    "report_option",
    type=click.Path(dir_okay=False, path_type=Path),
    show_default="<report_dir>/NAME.md",
    help="The report file.",
)
@click.option("--no-commit", is_flag=True, help="Write the report but do not commit it.")
@click.option("--push", is_flag=True, help="Push the tag and the snapshots (refs/notes/phasectl).")
@click.option("--allow-dirty", is_flag=True, help="Tag even with uncommitted changes.")
@click.option(
    "--at",
    "at",
    metavar="REF",
    help="Tag an older commit (a past release): measure it in a temporary worktree, store "
    "its note and tag it there, and write the report into today's tree.",
    show_default="HEAD",
)
@click.option(
    "--base",
    metavar="REF",
    help="Start of the phase; its note and report record this range, and history shows it.",
    show_default="the previous tag",
)
@click.option(
    "--no-verify",
    is_flag=True,
    help="Tag even when a release gate of [tool.phasectl.check] fails.",
)
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
    at: str | None,
    base: str | None,
    no_verify: bool,
    **params: Any,
) -> None:
    """Close the phase NAME: measure it, write its report, commit the report, store the
    figures as a git note, and create the annotated tag <tag_prefix>NAME on that commit.

    The phase runs from the previous phase tag (or --base REF) to HEAD (or to --at REF);
    a commit that already closes a phase is refused. The release gates of
    [tool.phasectl.check] are judged first: if one fails, nothing is made and the exit
    status is 1 (--no-verify tags anyway). The tag's message carries the headline figures.
    If a step fails, the steps before it are undone.

    \b
    Examples:
      phasectl tag 3-auth -m "Auth rewrite"    # tag HEAD as phase/3-auth
      phasectl tag 2.0.0 --at v2.0.0           # adopt a past release as a phase
      phasectl tag 2.1.0 --at v2.1.0 --base v2.0.1   # ... from the release before it
      phasectl tag 3-auth --push               # then push the tag and its note
    """
    from phasectl.report.writer import kept_inside, report_file, report_folder, report_path
    from phasectl.workflow.tag import close_phase, head_snapshot, refuse_second_phase

    repo, config = app.repository, app.config
    repo.require_commits()
    tag_name = f"{config.tag_prefix}{name}"
    repo.check_tag_name(tag_name)
    root = repo.work_tree
    if root is None:
        raise PhasectlError("phasectl tag needs a work tree to write the report in")
    path = report_option.absolute() if report_option else report_path(root, config, name)
    path = kept_inside(path, root)
    if not no_commit and repo.tree_path(path) is None:
        raise PhasectlError(
            f"{path} is outside the repository, so it cannot be committed with the tag; "
            "pass --no-commit, or a --report path inside the repository"
        )
    reports = report_folder(root, config).resolve()
    at_sha = repo.resolve_commit(at, tag_prefix=config.tag_prefix) if at is not None else None
    if at_sha is not None:
        refuse_second_phase(repo, at_sha)  # before measuring; close_phase checks again
    # Only a measurement of the checkout itself can be spoilt by uncommitted changes.
    if not allow_dirty and at_sha in (None, repo.head_sha()):
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
    options = collect_options(params, skip_reports=True, debt=True, commits=True)
    if at is not None:
        options = dataclasses.replace(options, head=at)
    if base is not None:
        options = dataclasses.replace(options, base=base)
    metrics = run_collect(app, options)
    if not no_verify:
        verify_gates(metrics, config.check)
    start_from = None
    if at is None and not path.exists():
        # The report 'phasectl report' wrote while the phase was open (named after the
        # branch) holds the story people wrote: carry it over.
        draft, _ = report_file(repo, config, metrics, None, None)
        if draft != path and draft.is_file():
            start_from = draft.read_bytes()
            echo_err(f"Warning: {path.name} starts from {draft} (remove that draft when done)")
    # Tagging a past commit (--at): the reports, the previous one too, are in today's tree.
    plan_at = repo.head_sha() if at is not None else None
    rendered = render_phase_report(app, metrics, path, name, start_from=start_from, plan_at=plan_at)
    target = close_phase(
        repo,
        name=name,
        tag=tag_name,
        message=message,
        rendered=rendered,
        metrics=metrics,
        measured=head_snapshot(metrics),
        commit=not no_commit,
        at=at_sha,
    )
    click.echo(f"Tagged {tag_name} at {target[:12]}; report: {path}")
    from phasectl.quoting import shell_command
    from phasectl.store.snapshots import (
        NOTES_MERGE_STRATEGY,
        NOTES_REF,
        fetched_notes_ref,
        merge_remote_notes,
    )

    remote = repo.default_remote()
    name = remote or "origin"
    refspecs = [f"refs/tags/{tag_name}", NOTES_REF]
    fetched = fetched_notes_ref(name)
    # What phasectl does, as commands that work by hand (after the cause is fixed); the
    # fetch fails, harmlessly, when the remote has no snapshots yet.
    merge = ["git", "notes", f"--ref={NOTES_REF}", "merge", "-s", NOTES_MERGE_STRATEGY, fetched]
    share = (
        f"{shell_command(['git', 'fetch', name, f'+{NOTES_REF}:{fetched}'])} && "
        f"{shell_command(merge)}; {shell_command(['git', 'push', '--atomic', name, *refspecs])}"
    )
    if not push:
        echo_err(f"Share the tag and its snapshot with: {share}")
        return
    if remote is None:
        raise PhasectlError(f"no remote to push {tag_name} to; add one with 'git remote add'")
    try:
        merge_remote_notes(repo, remote)
        # One atomic push: never the tag without the snapshot it records, or the reverse.
        repo.push(remote, refspecs, atomic=True)
    except PhasectlError as exc:
        raise PhasectlError(
            f"{exc}; nothing was pushed. The tag is made here; push it with: {share}"
        ) from None
    click.echo(f"Pushed {tag_name} and {NOTES_REF} to {remote}")


def verify_gates(metrics: PhaseMetrics, settings: CheckSettings) -> None:
    """Judge the release gates (all but report_current: tag writes the report) before
    anything is made; raise with exit status 1 when one fails, warn when one is unmeasured."""
    from phasectl.workflow.gates import gate_lines, judge

    gates = judge(metrics, settings)
    for line in gate_lines(gates):
        echo_err(line)
    verdicts = {gate.verdict for gate in gates}
    if "fail" in verdicts:
        raise PhasectlError(
            "a release gate failed (FAIL above), so nothing was tagged; fix it, or pass "
            "--no-verify to tag anyway",
            exit_code=EXIT_CHECK_FAILED,
        )
    if "unmeasured" in verdicts:
        # Not a failure: the user may have chosen --no-tests. But 'check' will say so too.
        echo_err(
            "Warning: a release gate could not be measured (N/A above); "
            "'phasectl check' at this tag will stop there too"
        )
