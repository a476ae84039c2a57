"""``phasectl init``'s core: a commented settings table, a Makefile snippet, notes fetching.

The settings are appended to ``pyproject.toml`` (every existing byte kept, in the file's
own newline style) or written to a new ``.phasectl.toml``; settings that exist already,
in either place, are never touched.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from phasectl.config import CONFIG_FILE, PYPROJECT, CheckSettings, Config
from phasectl.errors import PhasectlError
from phasectl.fileio import write_atomic
from phasectl.report import document

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

if TYPE_CHECKING:
    from phasectl.repo.repository import Repository

ConfigFile = Literal["pyproject", "phasectl"]
CONFIG_FILE_CHOICES: tuple[ConfigFile, ...] = ("pyproject", "phasectl")

# (key, one short comment, example for a key that is unset by default)
_Entry = tuple[str, str, object]
_SETTINGS: tuple[_Entry, ...] = (
    ("tag_prefix", "phase tags are <tag_prefix><name>", None),
    ("exclude", "left out of the authored line counts; setting it replaces this list", None),
    ("extend_exclude", "globs added to exclude", None),
    ("rename_similarity", "percent alike for a delete + create to be a rename", None),
    ("rename_limit", "git's rename-detection limit; 0 means no limit", None),
    ("detect_copies", "also report copied files", None),
    ("python", "unset: the active venv's python, else phasectl's", ".venv/bin/python"),
    ("test_command", "unset: pytest; a string runs by sh -c, a list as is", "make test"),
    ("worktree_setup", "unset: none; run by sh -c in the base's worktree first", "npm ci"),
    ("test_timeout", "unset: no limit; seconds before a test run is stopped", 1800),
    ("pytest_args", "extra arguments for pytest", None),
    ("results", "test results to read: JUnit XML, go test -json (globs)", None),
    ("coverage", "coverage files to read: coverage.py, XML, LCOV, Go", None),
    ("benchmarks", "pytest-benchmark JSON, go test -bench, hyperfine", None),
    ("timings", 'commands to time: {startup = "./app --help"}', None),
    ("run_base", "tests at the base in a worktree: auto|always|never", None),
    ("run_base_concurrently", "false: suites that cannot run twice at once", None),
    ("report_dir", "where 'phasectl report' writes <name>.md", None),
    ("templates_dir", "your templates, looked up before phasectl's", None),
    ("template", "a new report's sections: full (the seed's) or lean", None),
    ("max_files_listed", "longest list in a report before '... and N more'", None),
    ("test_globs", "test files, for Testing Impact; setting it replaces this list", None),
    ("doc_globs", "documentation files, for Documentation Created", None),
    ("release_tags", 'more tags the pre-push hook checks, e.g. ["v*"]', None),
)
_CHECK_SETTINGS: tuple[_Entry, ...] = (
    ("report_current", "fail when the report's figures are stale", None),
    ("fail_under", "unset: no minimum; least total coverage, %", 80),
    ("max_coverage_drop", "unset: no limit; most coverage may fall, points", 1),
    ("min_patch_coverage", "unset: no minimum; least coverage of changed lines", 80),
    ("allow_new_failures", "let tests that newly fail pass the check", None),
    ("allow_removed_tests", "let tests disappear", None),
)

_INTRO = (
    "phasectl's settings (written by 'phasectl init'). Each key shows its default,",
    "commented out: uncomment a line to change it. Unknown keys are errors.",
)
_CHECK_INTRO = ("Release gates of 'phasectl check' (and of its pre-push hook).",)
_WIDTH = 88
_COMMENT_COLUMN = 30


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string of these defaults is a TOML basic string
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML form for {value!r}")  # pragma: no cover - defaults are known


def _entry_lines(key: str, comment: str, value: object) -> list[str]:
    line = f"# {key} = {_toml_value(value)}"
    if len(line) + len(comment) + 4 <= _WIDTH or not isinstance(value, tuple):
        return [f"{line.ljust(_COMMENT_COLUMN)}  # {comment}"]
    # A long list: one item line per fitting run, so it stays readable when uncommented.
    lines, current = [f"# {key} = [  # {comment}"], "#    "
    for item in value:
        piece = f" {_toml_value(item)},"
        if len(current) + len(piece) > _WIDTH and current != "#    ":
            lines.append(current)
            current = "#    "
        current += piece
    return [*lines, current, "# ]"]


def _table_lines(entries: tuple[_Entry, ...], defaults: object) -> list[str]:
    lines: list[str] = []
    for key, comment, example in entries:
        value = getattr(defaults, key)
        if key == "timings":
            value = {}  # a table of name = command; none by default
        lines += _entry_lines(key, comment, example if value is None else value)
    return lines


def config_block(file: ConfigFile) -> str:
    """The commented settings, for ``pyproject.toml`` (``[tool.phasectl]``) or
    ``.phasectl.toml`` (top-level keys and ``[check]``), with LF newlines.

    The table headers are live and every key is commented out, so the block is valid TOML
    that loads as the defaults, and uncommenting a line just works.
    """
    intro = [f"# {line}" for line in _INTRO]
    check_intro = [f"# {line}" for line in _CHECK_INTRO]
    settings = _table_lines(_SETTINGS, Config())
    checks = _table_lines(_CHECK_SETTINGS, CheckSettings())
    if file == "pyproject":
        lines = ["[tool.phasectl]", *intro, *settings, "", "[tool.phasectl.check]"]
    else:
        lines = [*intro, *settings, "", "[check]"]
    return "\n".join([*lines, *check_intro, *checks]) + "\n"


@dataclass(frozen=True)
class ConfigWritten:
    """Where the settings went (``written``), or where they are already."""

    path: Path
    written: bool
    where: str
    """Describes the settings' place in messages: ``[tool.phasectl] in pyproject.toml``."""


def _parse(data: bytes, name: str) -> dict[str, object]:
    try:
        parsed: dict[str, object] = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PhasectlError(f"{name} is not valid TOML: {exc}; fix it and retry") from None
    return parsed


def appended(data: bytes, block: str) -> bytes:
    """``data`` followed by ``block`` after one blank line, in ``data``'s newline style."""
    newline = document.newline_of(document.decode(data)).encode()
    if not data or data.endswith((b"\n\n", b"\r\n\r\n")):
        separator = b""
    elif data.endswith(b"\n"):
        separator = newline
    else:  # no final newline: end the last line, then leave a blank one
        separator = newline + newline
    return data + separator + block.encode("utf-8").replace(b"\n", newline)


def write_config(root: Path, file: ConfigFile | None = None) -> ConfigWritten:
    """Write the commented settings into the work tree at ``root``, unless settings exist.

    ``file`` defaults to ``pyproject`` when ``pyproject.toml`` exists, else ``phasectl``.
    Existing settings (a ``.phasectl.toml``, or any ``tool.phasectl`` table in
    ``pyproject.toml``) mean nothing is written: a second file would shadow or be shadowed
    by them. ``PhasectlError`` for a ``pyproject.toml`` that is invalid or missing when
    asked for.
    """
    dedicated, pyproject = root / CONFIG_FILE, root / PYPROJECT
    if dedicated.exists() or dedicated.is_symlink():
        return ConfigWritten(dedicated, False, CONFIG_FILE)
    data = None
    if pyproject.is_file():
        try:
            data = pyproject.read_bytes()
        except OSError as exc:
            raise PhasectlError(f"cannot read {pyproject}: {exc.strerror}") from None
        tool = _parse(data, PYPROJECT).get("tool")
        if isinstance(tool, dict) and "phasectl" in tool:
            return ConfigWritten(pyproject, False, f"[tool.phasectl] in {PYPROJECT}")
    if file is None:
        file = "phasectl" if data is None else "pyproject"
    if file == "phasectl":
        write_atomic(dedicated, config_block("phasectl").encode("utf-8"))
        return ConfigWritten(dedicated, True, CONFIG_FILE)
    if data is None:
        # Creating one would make phasectl (and other tools) take this for a Python project.
        raise PhasectlError(
            f"there is no {PYPROJECT} at {root}; use '--file phasectl' to write {CONFIG_FILE}"
        )
    new = appended(data, config_block("pyproject"))
    # The existing file may make the table impossible, e.g. with an inline `tool = {...}`.
    try:
        tomllib.loads(new.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PhasectlError(
            f"appending [tool.phasectl] would break {PYPROJECT} ({exc}); "
            f"use '--file phasectl' to write {CONFIG_FILE} instead"
        ) from None
    write_atomic(pyproject, new)
    return ConfigWritten(pyproject, True, f"[tool.phasectl] in {PYPROJECT}")


def make_snippet() -> str:
    """Makefile targets that run phasectl (recipes indented with tabs), for the user's Makefile."""
    return (
        "# phasectl: measure each development phase and keep its report current\n"
        ".PHONY: phase-report phase-check phase-tag\n"
        "\n"
        "phase-report: ## Write or refresh the phase report\n"
        "\tphasectl report\n"
        "\n"
        "phase-check: ## Fail if the report is stale or a release gate fails\n"
        "\tphasectl check\n"
        "\n"
        "phase-tag: ## Close the phase with a tag: make phase-tag NAME=<name>\n"
        "\t$(if $(strip $(NAME)),,$(error phase-tag needs a name: make phase-tag NAME=<name>))\n"
        "\tphasectl tag $(NAME)\n"
    )


@dataclass(frozen=True)
class NotesFetch:
    """The remote whose fetch now brings phasectl's notes; ``added`` is False if it did."""

    remote: str
    added: bool
    refspec: str


def notes_remote(repo: Repository) -> str:
    """The remote ``--notes`` configures: the upstream remote, else ``origin``;
    ``PhasectlError`` when there is neither."""
    remotes = repo.remotes()
    remote = repo.upstream_remote()
    if remote in remotes and remote is not None:
        return remote
    if "origin" in remotes:  # no upstream, or one given as a URL
        return "origin"
    raise PhasectlError(
        "no remote to configure: the branch has no upstream and there is no 'origin'; "
        "add one with 'git remote add origin URL' and retry"
    )


def configure_notes_fetch(repo: Repository, remote: str) -> NotesFetch:
    """Make a plain ``git fetch`` from ``remote`` bring its ``refs/notes/phasectl`` into
    ``refs/notes/remotes/<remote>/phasectl``, where phasectl reads them after its own.

    Like remote-tracking branches, that ref follows the remote (forced), so a fetch never
    fails because both sides wrote notes, and local notes are never overwritten. Adds
    nothing when the remote's notes are fetched already, to any ref.
    """
    from phasectl.store.snapshots import NOTES_REF

    refspec = f"+{NOTES_REF}:refs/notes/remotes/{remote}/phasectl"
    key = f"remote.{remote}.fetch"
    present = any(
        spec.removeprefix("+").partition(":")[0] == NOTES_REF for spec in repo.config_values(key)
    )
    if not present:
        repo.add_config_value(key, refspec)
    return NotesFetch(remote, not present, refspec)
