"""``.gitattributes`` as git reads them from a commit's tree: one attribute's state per path.

git 2.40 added ``git check-attr --source=<rev>``; git 2.39 and older can only read
attributes from the work tree or the index. So the ``.gitattributes`` files at the commit
are read in one ``git cat-file --batch`` call and resolved here the way git's ``attr.c``
does: the most specific file and its last line win, ``[attr]`` macros (top-level file
only) expand when set, and ``-attr`` (unset) and ``!attr`` (unspecified) override too.
The test suite checks every state against ``git check-attr`` itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pathspec.patterns.gitignore.basic import GitIgnoreBasicPattern

from phasectl.repo.patch import unquote_c_path

if TYPE_CHECKING:
    from phasectl.repo.repository import Repository


UNSPECIFIED = "unspecified"


_ATTRIBUTES = ".gitattributes"


# git's built-in macro (attr.c): 'binary' unsets diff, merge and text.
_BUILTIN_MACROS = {"binary": (("diff", "unset"), ("merge", "unset"), ("text", "unset"))}


def _state(token: str) -> tuple[str, str]:
    """``(name, state)`` for one assignment: ``attr`` set, ``-attr`` unset, ``!attr``
    unspecified, ``attr=value`` the value."""
    if token.startswith("-"):
        return token[1:], "unset"
    if token.startswith("!"):
        return token[1:], UNSPECIFIED
    name, sep, value = token.partition("=")
    return (name, value) if sep else (name, "set")


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    assignments: tuple[tuple[str, str], ...]


def _compile(pattern: str, folder: str) -> re.Pattern[str] | None:
    """A regex for one attribute pattern, or ``None`` for patterns git never matches to a
    file: folder patterns (trailing ``/``) and negative ones (git warns and ignores them)."""
    if pattern.endswith("/") or pattern.startswith("!"):
        return None
    regex, _include = GitIgnoreBasicPattern.pattern_to_regex(pattern)
    if regex is None:
        return None
    # pathspec's gitignore regex also matches everything inside a folder the pattern names
    # ("gen" matches "gen/a.py"); an attribute pattern names exactly the path.
    if regex.endswith("(?:/|$)"):
        regex = regex.removesuffix("(?:/|$)")
    elif regex.endswith("/"):  # "dir/**": everything inside dir
        regex += ".+"
    body = regex.removeprefix("^")
    prefix = re.escape(folder + "/") if folder else ""
    return re.compile(prefix + body, re.DOTALL)


def _rules(text: str, folder: str, macros: dict[str, tuple[tuple[str, str], ...]]) -> list[_Rule]:
    rules: list[_Rule] = []
    for line in text.splitlines():
        line = line.strip(" \t\r")
        if not line or line.startswith("#"):
            continue
        if line.startswith('"'):  # a C-quoted pattern: "a b.txt" attr
            end = line.find('"', 1)
            while end > 0 and line[end - 1] == "\\" and line[end - 2 : end] != "\\\\":
                end = line.find('"', end + 1)
            if end < 0:
                continue
            raw = unquote_c_path(line[: end + 1].encode("utf-8", "surrogateescape"))
            pattern, rest = raw.decode("utf-8", "surrogateescape"), line[end + 1 :]
        else:
            pattern, _, rest = line.replace("\t", " ").partition(" ")
        assignments = tuple(_state(t) for t in rest.split())
        if pattern.startswith("[attr]"):
            if not folder:  # git allows macro definitions in the top-level file only
                macros[pattern.removeprefix("[attr]")] = assignments
            continue
        regex = _compile(pattern, folder)
        if regex is not None:
            rules.append(_Rule(regex, assignments))
    return rules


class Attributes:
    """The attribute rules of every ``.gitattributes`` file in one commit's tree."""

    def __init__(self, files: dict[str, bytes]) -> None:
        """``files`` maps each ``.gitattributes`` path in the tree to its bytes."""
        self._macros: dict[str, tuple[tuple[str, str], ...]] = dict(_BUILTIN_MACROS)
        # git stacks the files from the root down: a deeper file overrides a shallower one.
        ordered = sorted(files, key=lambda p: (p.count("/"), p))
        self._rules: list[_Rule] = []
        for path in ordered:
            folder = path.rpartition("/")[0]
            text = files[path].decode("utf-8", "surrogateescape")
            self._rules += _rules(text, folder, self._macros)
        self._rules.reverse()  # git looks from the most specific rule back
        self._by_name: dict[str, tuple[list[_Rule], re.Pattern[str] | None]] = {}

    @classmethod
    def at(cls, repo: Repository, rev: str) -> Attributes:
        """The rules in ``rev``'s tree, read with two git calls whatever their number."""
        paths = [
            p for p in repo.tree_paths(rev) if p == _ATTRIBUTES or p.endswith("/" + _ATTRIBUTES)
        ]
        return cls(repo.read_files(rev, paths) if paths else {})

    def state(self, path: str, name: str) -> str:
        """``set``, ``unset``, ``unspecified`` or the value of attribute ``name`` on ``path``,
        exactly as ``git check-attr`` prints it."""
        rules, any_rule = self._rules_for(name)
        if any_rule is None or any_rule.fullmatch(path) is None:
            return UNSPECIFIED  # most paths: one match says no rule applies
        values: dict[str, str] = {}
        for rule in rules:
            if rule.regex.fullmatch(path) is not None:
                self._fill(values, rule.assignments)
                if name in values:
                    break
        return values.get(name, UNSPECIFIED)

    def _rules_for(self, name: str) -> tuple[list[_Rule], re.Pattern[str] | None]:
        """The rules that can decide ``name``: those assigning it or a macro that (at any
        depth) does. The others cannot change its state, so ``state`` skips them. Also
        one expression that matches where any of them does."""
        found = self._by_name.get(name)
        if found is None:
            relevant, grew = {name}, True
            while grew:
                grew = False
                for macro, assignments in self._macros.items():
                    if macro not in relevant and any(a in relevant for a, _ in assignments):
                        relevant.add(macro)
                        grew = True
            rules = [r for r in self._rules if any(a in relevant for a, _ in r.assignments)]
            either = "|".join(f"(?:{r.regex.pattern})" for r in rules)
            found = rules, re.compile(either, re.DOTALL) if rules else None
            self._by_name[name] = found
        return found

    def _fill(self, values: dict[str, str], assignments: Iterable[tuple[str, str]]) -> None:
        # attr.c's fill_one: the last assignment on a line wins; an attribute already decided
        # by a more specific rule stays; a macro that is set expands into its assignments.
        for attr, state in reversed(tuple(assignments)):
            if attr in values:
                continue
            values[attr] = state
            if state == "set" and attr in self._macros:
                self._fill(values, self._macros[attr])
