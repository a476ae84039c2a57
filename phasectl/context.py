"""What every command shares: the repository path, the debug flag, and lazy loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from phasectl.config import Config
    from phasectl.repo.repository import Repository


@dataclass
class AppContext:
    """Created by the CLI group; commands open the repository only when they need it."""

    repo_path: Path = field(default_factory=Path)
    debug: bool = False
    config_path: Path | None = None
    """``--config FILE``: the settings file to read instead of the repository's."""
    warnings: list[str] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    """Settings given as options (``--test-timeout``), over the settings file's."""

    @cached_property
    def location(self) -> tuple[Path | None, Path]:
        """The repository's work tree (``None``: bare) and git folder, found as git finds
        them (one ``git rev-parse``): all ``collect`` needs to start git's diff first."""
        from phasectl.repo.base import find_repository

        return find_repository(self.repo_path)

    @cached_property
    def repository(self) -> Repository:
        from phasectl.repo.repository import Repository

        repository = Repository(*self.location)
        # A base worktree left by a phasectl that was killed (SIGKILL) goes on this run.
        if repository.work_tree is not None:
            import click

            for path in repository.prune_stale_worktrees():
                click.echo(f"phasectl: removed the stale worktree {path} of a killed run", err=True)
            # Its temporary folders too (the managed run's, the worktree's), and those of a
            # killed run in any other repository: each names the process that made it.
            from phasectl.fileio import remove_stale_scratch

            for folder in remove_stale_scratch():
                click.echo(
                    f"phasectl: removed the temporary folder {folder} of a killed run", err=True
                )
        return repository

    @cached_property
    def config(self) -> Config:
        return self.config_for(self.location[0])

    def config_for(self, root: Path | None) -> Config:
        """The settings for the work tree at ``root``: ``--config FILE`` if given, else the
        repository's own (``.phasectl.toml`` or ``[tool.phasectl]``)."""
        from phasectl.config import load_config, load_config_file

        if self.config_path is not None:
            config = load_config_file(self.config_path)
        else:
            config = load_config(root)
        if self.overrides:
            import dataclasses

            config = dataclasses.replace(config, **self.overrides)
        return config
