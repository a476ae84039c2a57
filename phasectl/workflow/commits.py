"""A phase's commits grouped as git-cliff groups them, for the Accomplishments region.

Each commit's subject is read as a Conventional Commit (``type(scope)!: description``);
the groups, their order and which types go where are git-cliff's defaults (its own
``cliff.toml``), with ``build`` among the Miscellaneous Tasks. A commit that is not
conventional goes under Other, whole. Merges and commits that only touch the reports
are not listed. Oldest first in each group, as git-cliff's ``sort_commits = "oldest"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from phasectl.repo.changes import RangeCommit
from phasectl.report.markdown import escape_text

# git-cliff's default groups, in its order (the number in its "<!-- N -->" prefixes).
GROUPS = (
    "Features",
    "Bug Fixes",
    "Refactor",
    "Documentation",
    "Performance",
    "Styling",
    "Testing",
    "Miscellaneous Tasks",
    "Security",
    "Revert",
    "Other",
)
# git-cliff's commit_parsers match the start of the type (``^feat`` takes ``feature``),
# tried in its order: feat, fix, doc, perf, refactor, style, test, chore|ci.
_PREFIXES = (
    ("feat", "Features"),
    ("fix", "Bug Fixes"),
    ("doc", "Documentation"),
    ("perf", "Performance"),
    ("refactor", "Refactor"),
    ("style", "Styling"),
    ("test", "Testing"),
    ("chore", "Miscellaneous Tasks"),
    ("ci", "Miscellaneous Tasks"),
    ("build", "Miscellaneous Tasks"),
)
# No prefix starts another, so the first that matches is the one git-cliff's order finds.
_PREFIX = re.compile("|".join(prefix for prefix, _ in _PREFIXES))
_GROUP_OF = dict(_PREFIXES)
_SUBJECT = re.compile(
    r"(?P<type>[A-Za-z][\w-]*)(?:\((?P<scope>[^()\r\n]*)\))?(?P<bang>!)?: (?P<text>\S.*)"
)
_BREAKING_FOOTER = re.compile(r"^BREAKING[ -]CHANGE: ", re.MULTILINE)
# git-cliff's "{ body = '.*security' }": a body that mentions security.
_SECURITY = re.compile(r"security")


@dataclass(frozen=True)
class ConventionalCommit:
    """A commit's subject read as a Conventional Commit, and the group it goes in."""

    sha: str
    group: str
    description: str
    """The subject without its type and scope (the whole subject for a commit in Other)."""
    scope: str | None = None
    breaking: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "sha": self.sha,
            "group": self.group,
            "description": self.description,
            "scope": self.scope,
            "breaking": self.breaking,
        }


def read_commit(sha: str, message: str) -> ConventionalCommit:
    """The group and parts of one commit, from its raw message."""
    subject, _, body = message.strip("\n").partition("\n")
    subject = subject.strip()
    match = _SUBJECT.fullmatch(subject)
    if match is None:
        return ConventionalCommit(sha, "Other", subject)
    kind = match["type"].lower()
    prefix = _PREFIX.match(kind)
    group = _GROUP_OF[prefix.group()] if prefix else None
    if group is None:
        if _SECURITY.search(body):
            group = "Security"
        elif kind.startswith("revert"):
            group = "Revert"
        elif kind == "security":
            group = "Security"
        else:
            # An unknown type says something the groups do not: the subject stays whole.
            return ConventionalCommit(sha, "Other", subject)
    breaking = bool(match["bang"]) or _BREAKING_FOOTER.search(body) is not None
    scope = (match["scope"] or "").strip() or None
    return ConventionalCommit(sha, group, match["text"].strip(), scope, breaking)


def commit_line(commit: ConventionalCommit) -> str:
    """``✅ **api:** drop the v1 routes ⚠️ BREAKING (abc1234)``: Markdown, the subject escaped."""
    scope = f"**{escape_text(commit.scope)}:** " if commit.scope else ""
    breaking = " \u26a0\ufe0f BREAKING" if commit.breaking else ""
    return f"\u2705 {scope}{escape_text(commit.description)}{breaking} ({commit.sha[:7]})"


@dataclass(frozen=True)
class CommitGroups:
    """The phase's commits, grouped; and what was counted besides."""

    groups: tuple[tuple[str, tuple[ConventionalCommit, ...]], ...]
    authors: int
    """Distinct author emails of the listed commits."""
    merges: int

    @property
    def count(self) -> int:
        return sum(len(commits) for _, commits in self.groups)

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "authors": self.authors,
            "merges": self.merges,
            "groups": [
                {
                    "title": title,
                    "commits": [{**c.to_dict(), "line": commit_line(c)} for c in commits],
                }
                for title, commits in self.groups
            ],
        }


def group_commits(commits: Iterable[RangeCommit]) -> CommitGroups:
    """``commits`` (newest first, as ``git log`` lists them) grouped, oldest first in each
    group; merges are counted, not listed."""
    found: dict[str, list[ConventionalCommit]] = {}
    emails: set[str] = set()
    merges = 0
    for commit in reversed(list(commits)):
        if commit.parents > 1:
            merges += 1
            continue
        emails.add(commit.author_email.casefold())
        read = read_commit(commit.sha, commit.message)
        found.setdefault(read.group, []).append(read)
    groups = tuple((title, tuple(found[title])) for title in GROUPS if title in found)
    return CommitGroups(groups, len(emails), merges)
