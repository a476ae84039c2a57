"""The ``phasectl`` command group. Commands live in ``phasectl.commands``; this file assembles them.

Only this layer turns ``PhasectlError`` into ``Error: ...`` and an exit code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from phasectl.commands.check import check
from phasectl.commands.collect import collect
from phasectl.commands.history import history
from phasectl.commands.hook import hook
from phasectl.commands.init import init
from phasectl.commands.report import report
from phasectl.commands.snapshot import snapshot
from phasectl.commands.tag import tag
from phasectl.context import AppContext
from phasectl.errors import PhasectlError


class PhasectlGroup(click.Group):
    """A group that shows ``PhasectlError`` as one line, with a traceback only under ``--debug``."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PhasectlError as error:
            app = ctx.find_object(AppContext)
            if app is not None and app.debug:
                import traceback

                traceback.print_exc(file=sys.stderr)
            click.echo(f"Error: {error.message}", err=True)
            ctx.exit(error.exit_code)


@click.group(cls=PhasectlGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--repo",
    "repo_path",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default="the repository containing the current folder",
    help="Repository to measure.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="phasectl", prog_name="phasectl")
@click.pass_context
def cli(ctx: click.Context, repo_path: Path, debug: bool) -> None:
    """Measure a development phase from the repository and keep its report current."""
    ctx.obj = AppContext(repo_path=repo_path, debug=debug)


cli.add_command(check)
cli.add_command(collect)
cli.add_command(history)
cli.add_command(hook)
cli.add_command(init)
cli.add_command(report)
cli.add_command(snapshot)
cli.add_command(tag)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="phasectl")
