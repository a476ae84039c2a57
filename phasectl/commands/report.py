"""``phasectl report``: render the phase report and keep its generated regions current."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from phasectl.commands.collect import (
    STDOUT,
    F,
    collect_options,
    echo_err,
    range_options,
    regenerate_args,
    run_collect,
)
from phasectl.context import AppContext
from phasectl.errors import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK

if TYPE_CHECKING:
    from phasectl.model.phase import PhaseMetrics
    from phasectl.report.templates import Renderer
    from phasectl.report.writer import RenderedReport
    from phasectl.workflow.gates import Gate


def render_phase_report(
    app: AppContext,
    metrics: PhaseMetrics,
    output: Path | None,
    name: str | None,
    *,
    plan_at: str | None = None,
    judged: bool = False,
    **options: Any,
) -> RenderedReport:
    """Render the phase's report (``output``, else its default file), echoing warnings;
    ``options`` go to ``phasectl.report.writer.render_report``. ``judged``: compare with
    the report where ``check`` and ``report --check`` judge it
    (``phasectl.workflow.tag.judged_report_commit``), not with the file to be written.

    The previous phase's plan is read as committed at ``plan_at``, else where this report
    is compared (``committed_at``), else where the report of a phase tagged with ``--at``
    was committed, else at the commit head names (reports included)."""
    from phasectl.report.writer import render_report, report_file
    from phasectl.workflow.tag import judged_report_commit, report_commit_of
    from phasectl.workflow.thread import phase_thread

    repo, config = app.repository, app.config
    path, phase = report_file(repo, config, metrics, output, name)
    if judged:
        options["committed_at"] = judged_report_commit(repo, metrics.head.ref, path)
    at = plan_at or options.get("committed_at")
    if at is None:
        tip = repo.resolve_commit(metrics.head.ref)
        at = report_commit_of(repo, tip) or tip
    thread = phase_thread(repo, config, metrics, at=at).to_dict()
    rendered = render_report(repo, config, metrics, path, phase, thread=thread, **options)
    for message in rendered.warnings:
        echo_err(f"Warning: {message}")
    return rendered


def prepare_renderer(app: AppContext) -> Callable[[], Renderer | None]:
    """Build the template renderer in a thread, while git works: importing Jinja2 and
    compiling the templates take about 80 ms that the diff can hide. The returned function
    waits for it; ``None`` if building failed, so that rendering meets the problem itself,
    in its turn."""
    import threading

    root, templates_dir = app.repository.work_tree, app.config.templates_dir
    choice = app.config.template
    built: list[Renderer] = []

    def build() -> None:
        try:
            from phasectl.report.templates import Renderer, document_template, region_template
            from phasectl.report.values import REGIONS

            renderer = Renderer(root, templates_dir)
            for template in (*map(region_template, REGIONS), document_template(choice)):
                renderer.has_template(template)  # compiled now, and kept by Jinja2
        except Exception:  # met again, in its turn, when the report renders
            return
        built.append(renderer)

    thread = threading.Thread(target=build, daemon=True)
    thread.start()

    def result() -> Renderer | None:
        thread.join()
        return built[0] if built else None

    return result


def regenerate_command(app: AppContext, args: list[str]) -> str:
    repo = [] if app.repo_path == Path() else ["--repo", str(app.repo_path)]
    from phasectl.quoting import shell_command

    return shell_command(["phasectl", *repo, "report", *args])


def report_options(command: F) -> F:
    """``--output`` and ``--name``: which report (report, check, tag)."""
    command = click.option(
        "--name",
        show_default="the head's phase tag without its prefix, else its branch",
        help="Phase name, for the title and the default file name.",
    )(command)
    return click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
        show_default="<report_dir>/<name>.md in the repository",
        help="The report file; '-' prints it to standard output (as --stdout).",
    )(command)


@click.command()
@range_options
@report_options
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the report instead of writing it.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
    help="With --stdout: the Markdown report, or the values the templates receive as JSON.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 with a diff if the report's regions are stale, 0 if current.",
)
@click.option(
    "--summary",
    is_flag=True,
    help="Also append a heading naming the phase, and the Metrics and Test Results sections, "
    "to $GITHUB_STEP_SUMMARY (GitHub Actions).",
)
@click.option(
    "--pr-comment",
    "pr_comment_path",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    metavar="FILE",
    help="Also write the comment --comment posts to FILE ('-': standard output): the "
    "headline figures, the gates, newly failing tests, impacted files and uncovered "
    "changed lines.",
)
@click.option(
    "--annotations",
    "annotate",
    is_flag=True,
    help="Also print GitHub annotations: a ::warning per range of uncovered changed lines, "
    "an ::error per newly failing test (10 of each at most, then one ::notice).",
)
@click.option(
    "--comment",
    is_flag=True,
    help="Also post the comment on the pull request (GitHub Actions: GITHUB_TOKEN) or the "
    "note on the merge request (GitLab CI: PHASECTL_GITLAB_TOKEN, else GITLAB_TOKEN), or "
    "edit the one an earlier run posted. A comment that cannot be posted is a warning; "
    "it never changes the exit status. Under GitLab CI, also prints 'Coverage: N%' on "
    "standard error for the job's coverage regex.",
)
@click.option(
    "--outputs",
    "step_outputs",
    is_flag=True,
    help="Also append step outputs to $GITHUB_OUTPUT (GitHub Actions): coverage and "
    "patch-coverage (as the report shows them, without %), tests-passing (297/297), gates "
    "(pass when every gate passed, else fail; empty without --gates), report (the report "
    "file; empty with --stdout). A figure not collected is empty.",
)
@click.option(
    "--gates",
    "with_gates",
    is_flag=True,
    help="Also judge the release gates of [tool.phasectl.check] but report_current (as "
    "check does, without measuring again): exit 1 if one fails, 2 if one is unmeasured.",
)
@click.pass_obj
def report(
    app: AppContext,
    /,
    output: Path | None,
    name: str | None,
    to_stdout: bool,
    fmt: str,
    check: bool,
    summary: bool,
    pr_comment_path: Path | None,
    annotate: bool,
    comment: bool,
    step_outputs: bool,
    with_gates: bool,
    **params: Any,
) -> None:
    """Render the phase report: fill its Objectives (the previous report's plan judged),
    Accomplishments (the phase's commits), Metrics, Code Changes, Testing Impact, Test
    Results and Documentation regions from the repository.

    A missing report is created from the full template. An existing one gets only its
    generated regions (between `<!-- phasectl:begin NAME -->` and
    `<!-- phasectl:end NAME -->`) replaced; one written before phasectl gets them inserted
    under its matching headings. Every byte outside the regions stays as it is.

    \b
    Examples:
      phasectl report                    # write or refresh <report_dir>/<name>.md
      phasectl report --check            # exit 1 with a diff when it is stale
      phasectl report -o -               # print it instead of writing it
      phasectl report --summary --annotations --comment --outputs --gates   # in CI

    \b
    In CI (--comment, --outputs, --summary, --annotations):
      GitHub Actions (GITHUB_ACTIONS=true): GITHUB_TOKEN, GITHUB_EVENT_PATH (a
        pull_request or pull_request_target event), GITHUB_REPOSITORY, GITHUB_API_URL,
        GITHUB_SERVER_URL, GITHUB_RUN_ID, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY.
      GitLab CI (GITLAB_CI=true): PHASECTL_GITLAB_TOKEN (else GITLAB_TOKEN, api scope),
        CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID, CI_SERVER_URL,
        CI_PROJECT_PATH, CI_COMMIT_SHA; with --comment, 'Coverage: 84.21%' is printed on
        standard error for a job's coverage regex such as '/Coverage: \\d+(?:\\.\\d+)?%/'
    """
    from phasectl.errors import PhasectlError
    from phasectl.fileio import write_atomic
    from phasectl.report.output import to_json

    if output == STDOUT:
        to_stdout, output = True, None
    if fmt == "json" and not to_stdout:
        raise PhasectlError(
            "--format json prints the values the templates receive and needs --stdout; "
            "the report file itself is always Markdown"
        )
    args = [
        *regenerate_args(params),
        *(["--name", name] if name else []),
        *(["--output", str(output)] if output else []),
    ]
    renderer = prepare_renderer(app)
    metrics = run_collect(app, collect_options(params, skip_reports=True, debt=True, commits=True))
    rendered = render_phase_report(app, metrics, output, name, judged=check, renderer=renderer())
    gates = None
    if with_gates:
        from phasectl.workflow.gates import judge

        gates = judge(metrics, dataclasses.replace(app.config.check, report_current=False))
    ci = CiOutputs(summary, pr_comment_path, annotate, comment, step_outputs, gates)
    github_outputs(app, metrics, rendered, ci)
    status = EXIT_OK
    if to_stdout:
        data = to_json(rendered.context) if fmt == "json" else rendered.new
        click.echo(data, nl=False)
    elif check:
        if rendered.current:
            click.echo(f"{rendered.judged}: current")
        else:
            state = "does not exist" if rendered.old is None else "is stale"
            click.echo(rendered.diff(), nl=False)
            fix = regenerate_command(app, args)
            click.echo(f"{rendered.judged} {state}; regenerate it with: {fix}", err=True)
            status = EXIT_CHECK_FAILED
    elif rendered.current:
        click.echo(f"{rendered.path}: already current")
    else:
        write_atomic(rendered.path, rendered.new, make_parents=True)
        click.echo(f"{rendered.path}: {'created' if rendered.old is None else 'updated'}")
    if gates is not None:
        from phasectl.workflow.gates import exit_status, gate_lines

        for line in gate_lines(gates):
            click.echo(line, err=to_stdout)
        status = max(status, exit_status(gates))
        if exit_status(gates) == EXIT_BAD_INPUT:
            echo_err("Error: some gates could not be measured (N/A above)")
    # Last: they name the report written and the gates' verdict, and the comment waits on
    # the network, which must not hold up the report.
    ci_after_report(metrics, rendered, ci, None if to_stdout else rendered.path)
    if status:
        raise SystemExit(status)


@dataclasses.dataclass(frozen=True)
class CiOutputs:
    """What the CI options ask for, and the gates judged (``None`` without ``--gates``)."""

    summary: bool
    pr_comment_path: Path | None
    annotate: bool
    comment: bool
    outputs: bool
    gates: list[Gate] | None

    @property
    def gates_passed(self) -> bool | None:
        if self.gates is None:
            return None
        from phasectl.workflow.gates import exit_status

        return exit_status(self.gates) == EXIT_OK


def github_outputs(
    app: AppContext, metrics: PhaseMetrics, rendered: RenderedReport, ci: CiOutputs
) -> None:
    """What ``--summary``, ``--pr-comment`` and ``--annotations`` ask for."""
    from phasectl.ci.comment import comment_body
    from phasectl.ci.forges import comment_place, in_github_actions
    from phasectl.ci.github import ANNOTATIONS_PER_KIND, github_annotations, step_summary_text
    from phasectl.fileio import write_atomic
    from phasectl.report.writer import step_summary

    phase = rendered.context["name"]
    if ci.summary:
        target = os.environ.get("GITHUB_STEP_SUMMARY")
        if target:
            try:
                with Path(target).open("a", encoding="utf-8", errors="surrogateescape") as handle:
                    sections = step_summary(rendered.regions)
                    handle.write(step_summary_text(phase, metrics, sections))
            except OSError as exc:
                echo_err(f"Warning: cannot append to $GITHUB_STEP_SUMMARY ({exc}); skipped")
        else:
            echo_err("Warning: --summary given but GITHUB_STEP_SUMMARY is not set; skipped")
    if ci.pr_comment_path is not None:
        comment = comment_body(phase, metrics, ci.gates, comment_place(os.environ))
        if ci.pr_comment_path == STDOUT:
            click.echo(comment, nl=False)
        else:
            write_atomic(ci.pr_comment_path, comment.encode("utf-8", "surrogateescape"))
    if ci.annotate:
        # A comment that cannot be posted is one more warning of this step: keep it shown.
        posting = ci.comment and in_github_actions(os.environ)
        warnings = ANNOTATIONS_PER_KIND - (1 if posting else 0)
        listed_in = "the job summary" if ci.summary else "the phase report"
        for line in github_annotations(
            app.repository, metrics, warnings=warnings, listed_in=listed_in
        ):
            click.echo(line)


def ci_after_report(
    metrics: PhaseMetrics,
    rendered: RenderedReport,
    ci: CiOutputs,
    report_path: Path | None,
) -> None:
    """What ``--outputs`` and ``--comment`` ask for, once the report is written."""
    if ci.outputs:
        from phasectl.ci.github import append_outputs, step_outputs

        target = os.environ.get("GITHUB_OUTPUT")
        if target:
            shown = None if report_path is None else os.fspath(report_path)
            try:
                append_outputs(Path(target), step_outputs(metrics, ci.gates_passed, shown))
            except OSError as exc:
                echo_err(f"Warning: cannot append to $GITHUB_OUTPUT ({exc}); skipped")
        else:
            echo_err("Warning: --outputs given but GITHUB_OUTPUT is not set; skipped")
    if ci.comment:
        from phasectl.ci.forges import post_comment

        for line in post_comment(os.environ, rendered.context["name"], metrics, ci.gates):
            echo_err(line)
