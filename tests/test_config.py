"""Config loading and validation."""

from __future__ import annotations

import re
from dataclasses import FrozenInstanceError, fields
from pathlib import Path

import pytest

from phasectl.config import (
    DEFAULT_EXCLUDE,
    KNOWN_KEYS,
    Config,
    Timing,
    load_config,
    parse_config,
)
from phasectl.errors import ConfigError


def test_defaults_without_any_file(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config == Config()
    assert config.tag_prefix == "phase/"
    assert config.rename_similarity == 50
    assert config.rename_limit == 1000
    assert "uv.lock" in config.excluded_globs
    assert load_config(None) == Config()


def test_every_field_is_a_known_key() -> None:
    assert set(KNOWN_KEYS) == {f.name for f in fields(Config)} - {"source"}


def test_pyproject_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.phasectl]\ntag_prefix = "milestone-"\n'
        'extend_exclude = ["dist/**"]\nrename_limit = 5000\n'
    )
    config = load_config(tmp_path)
    assert config.tag_prefix == "milestone-"
    assert config.excluded_globs == (*DEFAULT_EXCLUDE, "dist/**", "/docs/phases/")
    assert config.rename_limit == 5000
    assert config.source == "[tool.phasectl] in pyproject.toml"


def test_pyproject_without_table_gives_defaults(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_config(tmp_path) == Config()


def test_dedicated_file_wins(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.phasectl]\ntag_prefix = "a/"\n')
    (tmp_path / ".phasectl.toml").write_text('tag_prefix = "b/"\nexclude = []\n')
    config = load_config(tmp_path)
    assert config.tag_prefix == "b/"
    assert config.excluded_globs == ("/docs/phases/",)  # reports are never authored


def test_config_is_frozen() -> None:
    with pytest.raises(FrozenInstanceError):
        Config().tag_prefix = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"tag_prefix": 3}, "'tag_prefix' must be a string"),
        ({"tag_prefix": "bad prefix/"}, "cannot be part of a git tag name"),
        ({"tag_prefix": "p*"}, "cannot be part of a git tag name"),
        ({"exclude": "*.lock"}, "'exclude' must be a list"),
        ({"exclude": ["ok", ""]}, "'exclude' must be a list of non-empty"),
        ({"extend_exclude": [1]}, "'extend_exclude' must be a list"),
        ({"rename_similarity": -1}, "between 0 and 100"),
        ({"rename_similarity": True}, "'rename_similarity' must be an integer"),
        ({"rename_limit": -5}, "at least 0"),
        ({"rename_limit": 1.5}, "must be an integer, not float"),
        ({"detect_copies": "yes"}, "'detect_copies' must be true or false"),
        ({"nonsense": 1}, "unknown key 'nonsense' in test.toml; known keys: tag_prefix"),
    ],
)
def test_invalid_values_name_the_field(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(table, "test.toml")
    assert message in str(caught.value)
    assert caught.value.exit_code == 2


def test_table_that_is_not_a_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool]\nphasectl = "x"\n')
    with pytest.raises(ConfigError, match=r"\[tool.phasectl\] in pyproject.toml must be a table"):
        load_config(tmp_path)


def test_older_names_are_aliases() -> None:
    config = parse_config({"junit": ["a.xml"], "benchmark_json": "b.json"}, "t.toml")
    assert config.results == ("a.xml",)
    assert config.benchmarks == ("b.json",)
    with pytest.raises(ConfigError, match="both 'results' and 'junit'"):
        parse_config({"junit": ["a.xml"], "results": ["b.xml"]}, "t.toml")
    with pytest.raises(ConfigError, match="'junit' must be a list"):
        parse_config({"junit": "a.xml"}, "t.toml")


def test_test_command_string_is_kept_for_the_shell() -> None:
    assert parse_config({"test_command": "make test && cp x y"}, "t").test_command == (
        "make test && cp x y"
    )
    assert parse_config({"test_command": ["make", "test"]}, "t").test_command == ("make", "test")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"test_command": " "}, "'test_command' must not be empty"),
        ({"test_command": []}, "'test_command' must not be empty"),
        ({"worktree_setup": ["npm", "ci"]}, "'worktree_setup' must be a string"),
        ({"timings": "x"}, "'timings' must be a table"),
        ({"timings": {"a": 3}}, "'timings.a' must be a command string or a table"),
        ({"timings": {"a": {"runs": 3}}}, "'timings.a' needs a command"),
        ({"timings": {"a": {"command": "x", "runs": 0}}}, "'timings.a.runs' must be at least 1"),
        ({"timings": {"a": {"command": "x", "rounds": 2}}}, "unknown key 'timings.a.rounds'"),
    ],
)
def test_runner_settings_name_the_field(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(table, "test.toml")


def test_timings_table() -> None:
    config = parse_config(
        {"timings": {"a": "./app", "b": {"command": "./b", "runs": 3, "warmup": 0}}}, "t"
    )
    assert config.timings == (Timing("a", "./app"), Timing("b", "./b", runs=3, warmup=0))
