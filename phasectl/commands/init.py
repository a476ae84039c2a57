"""``phasectl init``: commented settings, a Makefile snippet, and optionally notes fetching."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from phasectl.context import AppContext

if TYPE_CHECKING:
    from phasectl.workflow.init import ConfigFile

# phasectl.workflow.init.CONFIG_FILE_CHOICES, spelt out so that starting phasectl does not
# import the module (tests/test_init.py keeps the two equal).
FILE_CHOICES = ("pyproject", "phasectl")


@click.command()
@click.option(
    "--file",
    "file",
    type=click.Choice(FILE_CHOICES),
    default=None,
    show_default="pyproject.toml when it exists, else .phasectl.toml",
    help="Where the settings go: [tool.phasectl] in pyproject.toml, or .phasectl.toml.",
)
@click.option(
    "--notes",
    is_flag=True,
    help="Also make 'git fetch' bring phasectl's snapshots (refs/notes/phasectl) from the "
    "upstream remote, else origin.",
)
@click.pass_obj
def init(app: AppContext, file: ConfigFile | None, notes: bool) -> None:
    """Write phasectl's settings, all commented out with their defaults, and print
    Makefile targets that run phasectl (on standard output; messages go to standard error).

    Existing settings are never changed.

    \b
    Examples:
      phasectl init >> Makefile     # settings into pyproject.toml, targets into the Makefile
      phasectl init --notes         # also fetch the remote's snapshots with 'git fetch'
    """
    from phasectl.errors import PhasectlError
    from phasectl.workflow.init import (
        configure_notes_fetch,
        make_snippet,
        notes_remote,
        write_config,
    )

    repo = app.repository
    root = repo.work_tree
    if root is None:
        raise PhasectlError(f"{repo.description} is a bare repository; run init in a work tree")
    # The remote is found first, so a repository without one is refused before any write.
    remote = notes_remote(repo) if notes else None
    done = write_config(root, file)
    if done.written:
        click.echo(f"Wrote phasectl's settings, commented out, to {done.path}", err=True)
    else:
        # Exit 0, not 2: settings that are already there are the state init aims for, so
        # running it again (from a script or a make target) must not fail.
        click.echo(f"phasectl is configured already ({done.where}); nothing written", err=True)
    if remote is not None:
        fetch = configure_notes_fetch(repo, remote)
        from phasectl.quoting import shell_word

        name = shell_word(fetch.remote)
        if fetch.added:
            click.echo(f"'git fetch {name}' now also fetches {fetch.refspec}", err=True)
        else:
            click.echo(f"'git fetch {name}' fetches refs/notes/phasectl already", err=True)
        # No push refspec: it would change what a plain 'git push' pushes.
        click.echo(
            f"Share snapshots with: git push {name} refs/notes/phasectl "
            "(phasectl tag --push pushes them with the tag)",
            err=True,
        )
    click.echo("Makefile targets (add them to your Makefile):", err=True)
    click.echo(make_snippet(), nl=False)
