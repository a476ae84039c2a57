"""The one place that talks to git: refs, diffs, notes, worktrees, remotes."""
