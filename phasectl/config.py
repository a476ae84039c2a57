"""Read ``[tool.phasectl]`` (``pyproject.toml``) or ``.phasectl.toml`` into a frozen ``Config``."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

from phasectl.errors import ConfigError
from phasectl.patterns import literal_glob

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

DEFAULT_EXCLUDE: tuple[str, ...] = (
    "*.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "pnpm-lock.yaml",
    "poetry.lock",
    "uv.lock",
    "Pipfile.lock",
    "Cargo.lock",
    "go.sum",
)

DEFAULT_TEST_GLOBS: tuple[str, ...] = (
    "tests/",
    "test/",
    "test_*.py",
    "*_test.py",
    "conftest.py",
    "*_test.go",
    "*.test.[jt]s",
    "*.test.[jt]sx",
    "*.spec.[jt]s",
    "*.spec.[jt]sx",
    "features/",
    "spec/",
)
DEFAULT_DOC_GLOBS: tuple[str, ...] = ("*.md", "*.rst", "*.adoc", "docs/", "doc/")

RunBase = Literal["auto", "always", "never"]
RUN_BASE_CHOICES: tuple[RunBase, ...] = ("auto", "always", "never")
TEMPLATE_CHOICES = ("full", "lean")

CONFIG_FILE = ".phasectl.toml"
PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class CheckSettings:
    """Release gates of ``phasectl check`` (``[tool.phasectl.check]``); ``None`` = gate off."""

    report_current: bool = True
    fail_under: float | None = None
    max_coverage_drop: float | None = None
    min_patch_coverage: float | None = None
    allow_new_failures: bool = False
    allow_removed_tests: bool = True


@dataclass(frozen=True)
class Timing:
    """A command timed by phasectl (``[tool.phasectl.timings]``): warm-up runs, then ``runs``."""

    name: str
    command: str
    runs: int = 10
    warmup: int = 1


@dataclass(frozen=True)
class Config:
    """Validated settings; every field has a default, so an absent file means ``Config()``."""

    tag_prefix: str = "phase/"
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    rename_similarity: int = 50
    rename_limit: int = 1000
    detect_copies: bool = False
    python: str | None = None
    test_command: str | tuple[str, ...] | None = None
    """A string runs through ``sh -c``; a list runs as it is, without a shell."""
    worktree_setup: str | None = None
    test_timeout: float | None = None
    """Seconds a test run may take before its process group is stopped; ``None``: no limit."""
    pytest_args: tuple[str, ...] = ()
    results: tuple[str, ...] = ()
    coverage: tuple[str, ...] = ()
    benchmarks: tuple[str, ...] = ()
    timings: tuple[Timing, ...] = ()
    run_base: RunBase = "auto"
    run_base_concurrently: bool = True
    report_dir: str = "docs/phases"
    templates_dir: str = ".phasectl/templates"
    template: str = "full"
    """The template a new report starts from: ``full`` (the seed's every section) or ``lean``."""
    max_files_listed: int = 100
    test_globs: tuple[str, ...] = DEFAULT_TEST_GLOBS
    doc_globs: tuple[str, ...] = DEFAULT_DOC_GLOBS
    release_tags: tuple[str, ...] = ()
    check: CheckSettings = CheckSettings()
    source: str | None = None
    """Where the settings came from (for messages); not a key users set."""

    @property
    def excluded_globs(self) -> tuple[str, ...]:
        """All globs left out of the authored line counts; phasectl's own reports among them."""
        reports = literal_glob(self.report_dir.strip("/"))
        return (*self.exclude, *self.extend_exclude, f"/{reports}/")


def _string(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"'{key}' must be a string, not {type(value).__name__}")
    return value


def _globs(key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"'{key}' must be a list of non-empty glob strings")
    return tuple(value)


def _strings(key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"'{key}' must be a list of strings")
    return tuple(value)


def _command(key: str, value: object) -> str | tuple[str, ...]:
    # A string is the user's own shell command (run by ``sh -c``); a list runs without a shell.
    if isinstance(value, str):
        if not value.strip():
            raise ValueError(f"'{key}' must not be empty")
        return value
    if not isinstance(value, list):
        raise ValueError(
            f"'{key}' must be a command string (run by sh -c) or a list of strings (run "
            f"without a shell), not {type(value).__name__}"
        )
    words = _strings(key, value)
    if not words:
        raise ValueError(f"'{key}' must not be empty")
    return words


def _shell_command(key: str, value: object) -> str:
    text = _string(key, value)
    if not text.strip():
        raise ValueError(f"'{key}' must not be empty")
    return text


def _one_or_more_globs(key: str, value: object) -> tuple[str, ...]:
    return _globs(key, [value] if isinstance(value, str) else value)


def _timing(key: str, name: str, value: object) -> Timing:
    if isinstance(value, str):
        return Timing(name, _shell_command(f"{key}.{name}", value))
    if not isinstance(value, dict):
        raise ValueError(
            f"'{key}.{name}' must be a command string or a table {{command = ..., runs = 10, "
            "warmup = 1}"
        )
    unknown = set(value) - {"command", "runs", "warmup"}
    if unknown:
        raise ValueError(
            f"unknown key '{key}.{name}.{sorted(unknown)[0]}'; known keys: command, runs, warmup"
        )
    if "command" not in value:
        raise ValueError(f"'{key}.{name}' needs a command")
    return Timing(
        name,
        _shell_command(f"{key}.{name}.command", value["command"]),
        _int_range(1, None)(f"{key}.{name}.runs", value.get("runs", 10)),
        _int_range(0, None)(f"{key}.{name}.warmup", value.get("warmup", 1)),
    )


def _timings(key: str, value: object) -> tuple[Timing, ...]:
    if not isinstance(value, dict):
        raise ValueError(f"'{key}' must be a table ([tool.phasectl.timings]) of name = command")
    return tuple(_timing(key, str(name), item) for name, item in value.items())


def _run_base(key: str, value: object) -> RunBase:
    if value not in RUN_BASE_CHOICES:
        raise ValueError(f"'{key}' must be one of {', '.join(RUN_BASE_CHOICES)}, not {value!r}")
    return value


def _template(key: str, value: object) -> str:
    if value not in TEMPLATE_CHOICES:
        raise ValueError(f"'{key}' must be one of {', '.join(TEMPLATE_CHOICES)}, not {value!r}")
    return str(value)


def _folder(key: str, value: object) -> str:
    text = _string(key, value)
    if not text.strip() or "\0" in text:
        raise ValueError(f"'{key}' must be a folder path")
    return text


def _int_range(low: int, high: int | None) -> Callable[[str, object], int]:
    def check(key: str, value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"'{key}' must be an integer, not {type(value).__name__}")
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise ValueError(f"'{key}' must be {bounds}, got {value}")
        return value

    return check


def _seconds(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"'{key}' must be a number of seconds, not {type(value).__name__}")
    seconds = float(value) if isinstance(value, float) or abs(value) < 2**53 else math.inf
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"'{key}' must be a positive number of seconds, got {value}")
    return seconds


def _boolean(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"'{key}' must be true or false, not {value!r}")
    return value


def _tag_prefix(key: str, value: object) -> str:
    text = _string(key, value)
    if any(c in text for c in " ~^:?*[\\") or text.startswith("-"):
        raise ValueError(f"'{key}' = {text!r} cannot be part of a git tag name")
    return text


def _percent(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"'{key}' must be a number, not {type(value).__name__}")
    if not 0 <= value <= 100:
        raise ValueError(f"'{key}' must be between 0 and 100, got {value}")
    return float(value)


_CHECK_VALIDATORS: dict[str, Callable[[str, object], Any]] = {
    "report_current": _boolean,
    "fail_under": _percent,
    "max_coverage_drop": _percent,
    "min_patch_coverage": _percent,
    "allow_new_failures": _boolean,
    "allow_removed_tests": _boolean,
}


def _check_table(key: str, value: object) -> CheckSettings:
    if not isinstance(value, dict):
        raise ValueError(f"'{key}' must be a table ([tool.phasectl.check])")
    values = {}
    for name, item in value.items():
        validator = _CHECK_VALIDATORS.get(name)
        if validator is None:
            known = ", ".join(_CHECK_VALIDATORS)
            raise ValueError(f"unknown key '{key}.{name}'; known keys: {known}")
        values[name] = validator(f"{key}.{name}", item)
    return CheckSettings(**values)


_VALIDATORS: dict[str, Callable[[str, object], Any]] = {
    "tag_prefix": _tag_prefix,
    "exclude": _globs,
    "extend_exclude": _globs,
    "rename_similarity": _int_range(0, 100),
    "rename_limit": _int_range(0, None),
    "detect_copies": _boolean,
    "python": _string,
    "test_command": _command,
    "worktree_setup": _shell_command,
    "test_timeout": _seconds,
    "pytest_args": _strings,
    "results": _globs,
    "coverage": _globs,
    "benchmarks": _one_or_more_globs,
    "timings": _timings,
    "run_base": _run_base,
    "run_base_concurrently": _boolean,
    "report_dir": _folder,
    "templates_dir": _folder,
    "template": _template,
    "max_files_listed": _int_range(1, None),
    "test_globs": _globs,
    "doc_globs": _globs,
    "release_tags": _globs,
    "check": _check_table,
}
KNOWN_KEYS = tuple(_VALIDATORS)
ALIASES = {"junit": "results", "benchmark_json": "benchmarks"}
"""Older names still accepted: the key each one stands for."""


def parse_config(table: Mapping[str, object], source: str) -> Config:
    """Validate a raw settings table; unknown keys and bad values raise ``ConfigError``."""
    values: dict[str, Any] = {}
    for given, value in table.items():
        key = ALIASES.get(given, given)
        if key != given and key in table:
            raise ConfigError(
                f"both '{key}' and '{given}' (its older name) are set in {source}; keep one"
            )
        validator = _VALIDATORS.get(key)
        if validator is None:
            import difflib

            hint = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ConfigError(
                f"unknown key '{key}' in {source}{suggestion}; known keys: {', '.join(KNOWN_KEYS)}"
            )
        try:
            values[key] = validator(given, value)
        except ValueError as exc:
            raise ConfigError(f"{exc} in {source}") from None
    return Config(**values, source=source)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
            return data
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name} is not valid TOML: {exc}; fix the file and retry") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path.name} is not UTF-8 text (byte {exc.start}); TOML files are UTF-8: "
            "re-save it as UTF-8 and retry"
        ) from None
    except RecursionError:
        raise ConfigError(f"{path.name} nests arrays or tables too deeply; fix the file") from None
    except ValueError as exc:  # what the TOML parser did not foresee (an integer of 5,000 digits)
        raise ConfigError(
            f"{path.name} is not valid TOML ({exc}); fix the file and retry"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def load_config(root: Path | None) -> Config:
    """Load settings from the repository root: ``.phasectl.toml`` first, then ``pyproject.toml``.

    ``root`` is the work tree's top folder, or ``None`` for a bare repository (defaults).
    """
    if root is None:
        return Config()
    dedicated = root / CONFIG_FILE
    if dedicated.is_file():
        return parse_config(_read_toml(dedicated), CONFIG_FILE)
    pyproject = root / PYPROJECT
    if pyproject.is_file():
        data = _read_toml(pyproject)
        tool = data.get("tool", {})
        table = tool.get("phasectl") if isinstance(tool, dict) else None
        if table is None:
            return Config()
        if not isinstance(table, dict):
            raise ConfigError(f"[tool.phasectl] in {PYPROJECT} must be a table")
        return parse_config(table, f"[tool.phasectl] in {PYPROJECT}")
    return Config()


def load_config_file(path: Path) -> Config:
    """Load settings from the file the user named (``--config``): its ``[tool.phasectl]``
    table when it has one (a ``pyproject.toml``), else its top-level keys."""
    data = _read_toml(path)
    tool = data.get("tool")
    table = tool.get("phasectl") if isinstance(tool, dict) else None
    if table is None:
        return parse_config(data, str(path))
    if not isinstance(table, dict):
        raise ConfigError(f"[tool.phasectl] in {path} must be a table")
    return parse_config(table, f"[tool.phasectl] in {path}")


CONFIG_FIELDS = tuple(f.name for f in fields(Config) if f.name != "source")
