"""Collectors: each measures one part of a phase (diff, tests, coverage, performance)."""
