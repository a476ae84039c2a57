"""The ``phasectl`` command group. Commands live in ``phasectl.commands``; this file assembles them.

Only this layer turns ``PhasectlError`` into ``Error: ...`` and an exit code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from phasectl.context import AppContext
from phasectl.errors import EXIT_BAD_INPUT, PhasectlError

# Each command's module is imported only when that command runs (or help lists them all),
# so starting one command does not pay for the others' imports.
COMMANDS = {
    "check": "phasectl.commands.check",
    "collect": "phasectl.commands.collect",
    "history": "phasectl.commands.history",
    "hook": "phasectl.commands.hook",
    "init": "phasectl.commands.init",
    "report": "phasectl.commands.report",
    "snapshot": "phasectl.commands.snapshot",
    "tag": "phasectl.commands.tag",
}


class PhasectlGroup(click.Group):
    """A group that loads its commands lazily and shows ``PhasectlError`` as one line, with
    a traceback only under ``--debug``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        import importlib

        command: click.Command = getattr(importlib.import_module(module), cmd_name)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        from phasectl.collectors.process import Interrupted, interruptible

        try:
            with interruptible():
                return super().invoke(ctx)
        except Interrupted as stop:
            # 128 + the signal's number, as a shell reports a process it stopped; never 1,
            # which would read as "a gate failed".
            click.echo(f"phasectl: stopped by {stop}; temporary files removed", err=True)
            ctx.exit(128 + stop.signum)
        except MemoryError:
            # Every reader has a bound (README, Guarantees); this is what no bound foresaw.
            # It is still bad input for this machine, not a failed gate.
            app = ctx.find_object(AppContext)
            if app is not None and app.debug:
                raise
            click.echo(
                "Error: phasectl ran out of memory; the input is larger than this machine "
                "can measure (split the artifacts into shards, or run with more memory)",
                err=True,
            )
            ctx.exit(EXIT_BAD_INPUT)
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


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="phasectl")
