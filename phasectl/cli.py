"""The ``phasectl`` command group. Commands live in ``phasectl.commands``; this file assembles them.

Only this layer turns ``PhasectlError`` into ``Error: ...`` and an exit code.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
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


def _set_repo(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.ensure_object(AppContext).repo_path = value


def _set_config(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        # Relative to the folder phasectl started in, whatever -C does later.
        ctx.ensure_object(AppContext).config_path = value.absolute()


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(AppContext).debug = True


def _change_dir(ctx: click.Context, param: click.Parameter, value: Sequence[Path]) -> None:
    # As git -C: each one is relative to the one before; paths given later (--repo,
    # --output, globs) are then relative to the last.
    for folder in value:
        try:
            os.chdir(folder)
        except OSError as exc:
            # One line, as every bad input: not click's usage block.
            click.echo(f"Error: -C {folder}: cannot change to it: {exc.strerror}", err=True)
            ctx.exit(EXIT_BAD_INPUT)


def global_options() -> list[click.Option]:
    """``--repo``, ``-C``, ``--config`` and ``--debug``: accepted before the command name and
    after it (``phasectl report --repo ../x``), as uv accepts its global options."""
    return [
        click.Option(
            ["--repo", "repo_path"],
            metavar="PATH",
            type=click.Path(file_okay=False, path_type=Path),
            expose_value=False,
            callback=_set_repo,
            show_default="the repository containing the current folder",
            help="Repository to measure.",
        ),
        click.Option(
            ["-C", "change_dir"],
            type=click.Path(path_type=Path),
            multiple=True,
            metavar="DIR",
            expose_value=False,
            callback=_change_dir,
            is_eager=True,
            help="Run as if phasectl was started in DIR (as git -C).",
        ),
        click.Option(
            ["--config", "config_path"],
            type=click.Path(dir_okay=False, exists=True, path_type=Path),
            expose_value=False,
            callback=_set_config,
            metavar="FILE",
            show_default="the repository's .phasectl.toml, else [tool.phasectl] in pyproject.toml",
            help="Read the settings from FILE (top-level keys, or a [tool.phasectl] table).",
        ),
        click.Option(
            ["--debug"],
            is_flag=True,
            expose_value=False,
            callback=_set_debug,
            help="Show tracebacks for errors.",
        ),
    ]


def _with_global_options(command: click.Command) -> click.Command:
    names = {name for param in command.params for name in param.opts}
    if "--repo" not in names:
        command.params.extend(global_options())
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _with_global_options(sub)
    return command


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
        return _with_global_options(command)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        start = Path.cwd()
        try:
            return super().main(*args, **kwargs)
        finally:
            # -C changes the folder for this run only (it matters when phasectl is called
            # in-process, as by tests or a wrapper).
            os.chdir(start)

    def invoke(self, ctx: click.Context) -> Any:
        from phasectl.runners.process import Interrupted, interruptible

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
            click.echo(f"Error: {error.text()}", err=True)
            ctx.exit(error.exit_code)


@click.group(cls=PhasectlGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="phasectl", prog_name="phasectl")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Measure a development phase from the repository and keep its report current.

    \b
    Examples:
      phasectl report                  # write or refresh docs/phases/<name>.md
      phasectl -C ../api check         # the release gates of another checkout
      phasectl tag 3-auth --push       # close the phase, push its tag and note
      phasectl tag 2.0 --at v2.0.0     # adopt a past release as a phase
    """
    ctx.ensure_object(AppContext)


cli.params[:0] = global_options()


def main() -> None:
    """Console-script entry point."""
    import signal

    # SIGCHLD ignored by whoever started phasectl (it is inherited across exec) lets the
    # system reap git and every other child: subprocess then reads each exit status as 0,
    # and a failing git as an empty diff.
    sigchld = getattr(signal, "SIGCHLD", None)  # none on Windows
    if sigchld is not None and signal.getsignal(sigchld) == signal.SIG_IGN:
        signal.signal(sigchld, signal.SIG_DFL)
    try:
        cli(prog_name="phasectl")
    finally:
        # The process is ending: let the interpreter's last garbage collections skip what
        # the run built (5,000 files' figures are 10-20 ms of traversal); files are closed
        # and atexit handlers still run, and the memory goes back with the process.
        import gc

        gc.freeze()
