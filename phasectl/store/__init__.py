"""The snapshot store: figures measured at a commit, kept as git notes."""
