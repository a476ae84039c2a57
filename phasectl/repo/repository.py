"""``Repository``: the one object that talks to git, made of one part per concern.

Everything else gets plain values from it. Each part lives in its own module of
``phasectl.repo``: refs, trees and diffs, notes, worktrees, remotes.
"""

from __future__ import annotations

from phasectl.repo.diff import Trees
from phasectl.repo.notes import Notes
from phasectl.repo.refs import Refs
from phasectl.repo.remote import Remotes
from phasectl.repo.worktree import Worktrees


class Repository(Refs, Trees, Notes, Worktrees, Remotes):
    """A git repository, opened once and passed explicitly to whatever needs it."""
