"""Markdown that shows text literally (code spans, escaped prose) and purposes read from files."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from phasectl.quoting import display_path
from phasectl.report.markdown import code_span, escape_text
from phasectl.report.purposes import MAX_LENGTH, purpose_of

_RUN = re.compile(r"`+")


def parse_code_span(span: str) -> str:
    """What CommonMark shows for ``span`` as a whole code span; fails if it is not one.

    The opening backtick run must be closed by a run of exactly the same length at the very
    end, with no run of that length in between; then one space is stripped from each side
    when the content both starts and ends with a space and is not all spaces.
    """
    opening = _RUN.match(span)
    assert opening is not None, f"{span!r} does not start with a backtick"
    fence = opening.group()
    n = len(fence)
    assert len(span) >= 2 * n + 1, f"{span!r} has no content between its fences"
    assert span.endswith(fence), f"{span!r} does not end with {fence!r}"
    inner = span[n:-n]
    # A backtick touching either fence would make that fence's run longer.
    assert not inner.startswith("`"), f"{span!r}: opening run is longer than {n}"
    assert not inner.endswith("`"), f"{span!r}: closing run is longer than {n}"
    runs = [len(r) for r in _RUN.findall(inner)]
    assert n not in runs, f"{span!r}: a run of {n} inside closes the span early"
    if inner.startswith(" ") and inner.endswith(" ") and inner.strip(" "):
        inner = inner[1:-1]
    return inner


def test_parse_code_span_reference() -> None:
    assert parse_code_span("`a`") == "a"
    assert parse_code_span("`` ` ``") == "`"
    assert parse_code_span("`  a  `") == " a "
    assert parse_code_span("`  `") == "  "
    for broken in ("``", "`a``", "``a`", "`a`b`", "a`"):
        with pytest.raises(AssertionError):
            parse_code_span(broken)


NO_CONTROLS = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1)
MARKDOWNISH = st.text(alphabet="` a|*_\\<>[]&\t\n", min_size=1)
# Undecodable bytes of a path arrive as surrogate escapes, as os.fsdecode gives them.
FROM_BYTES = st.binary(min_size=1).map(os.fsdecode)
ANY_TEXT = NO_CONTROLS | MARKDOWNISH | FROM_BYTES | st.text(min_size=1)

ODD = (
    "a",
    "`",
    "``",
    "`lead",
    "trail`",
    "a``b```c",
    " ",
    "  ",
    " a ",
    " a",
    "a ",
    " `",
    "` ",
    "`a`",
    "| pipe *star* _u_ [l](x) <script>",
    "new\nline\ttab\r",
    os.fsdecode(b"caf\xe9"),
    "\u00a0nbsp\u200b",
    "back\\slash\\",
)


def check_code_span(text: str) -> None:
    span = code_span(text)
    assert "\n" not in span
    assert "\r" not in span
    assert parse_code_span(span) == display_path(text)
    fence = _RUN.match(span)
    assert fence is not None
    inside = _RUN.findall(span[fence.end() : -fence.end()])
    assert all(len(run) < fence.end() for run in inside)


@pytest.mark.parametrize("text", ODD, ids=repr)
def test_code_span_odd(text: str) -> None:
    check_code_span(text)


@given(ANY_TEXT)
@example("`" * 5)
@example(" " + "`" * 3 + " ")
def test_code_span_property(text: str) -> None:
    check_code_span(text)


def test_code_span_examples() -> None:
    assert code_span("a.py") == "`a.py`"
    assert code_span("a`b") == "``a`b``"
    assert code_span("`a") == "`` `a ``"
    assert code_span(" a ") == "`  a  `"
    assert code_span("new\nline") == "`new\\nline`"


ESCAPED = "*_`<[|&"


def unescaped(text: str) -> str:
    """The characters of ``text`` that are not after a backslash escape."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def check_escape_text(text: str) -> None:
    escaped = escape_text(text)
    assert "\n" not in escaped
    bare = unescaped(escaped)
    assert not any(c in bare for c in ESCAPED), escaped
    assert re.sub(r"\\(.)", r"\1", escaped, flags=re.DOTALL) == display_path(text)


@pytest.mark.parametrize("text", ODD, ids=repr)
def test_escape_text_odd(text: str) -> None:
    check_escape_text(text)


@given(ANY_TEXT | st.just(""))
def test_escape_text_property(text: str) -> None:
    check_escape_text(text)


def test_escape_text_examples() -> None:
    assert escape_text("*bold* <b>") == "\\*bold\\* \\<b\\>"
    assert escape_text("[x](y) | a_b & c`") == "\\[x\\](y) \\| a\\_b \\& c\\`"
    assert escape_text("a\\b") == "a\\\\\\\\b"  # display_path doubles it, then it is escaped
    assert escape_text("plain text.") == "plain text."


# --- purpose_of --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data", "expected"),
    [
        pytest.param(
            "pkg/mod.py",
            b'"""Parse the config file.\n\nMore detail here.\n"""\nimport os\n',
            "Parse the config file.",
            id="python-docstring",
        ),
        pytest.param(
            "pkg/mod.py",
            b'"""\n\n    \n    First real line.\n    Second line.\n"""\n',
            "First real line.",
            id="python-docstring-first-non-empty-line",
        ),
        pytest.param(
            "pkg/cli.py",
            b"#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n# Copyright 2024 Ada\n"
            b"# SPDX-License-Identifier: MIT\n\n# Helpers for the CLI.\nimport os\n",
            "Helpers for the CLI.",
            id="python-boilerplate-then-comment",
        ),
        pytest.param(
            "pkg/mod.pyi",
            b"# type: ignore\n# Stubs for the C extension.\ndef f() -> int: ...\n",
            "Stubs for the C extension.",
            id="python-stub-pragma-then-comment",
        ),
        pytest.param(
            "pkg/broken.py",
            b"# Half-written helper.\ndef f(:\n    pass\n",
            "Half-written helper.",
            id="python-syntax-error-falls-back-to-comment",
        ),
        pytest.param("pkg/code.py", b"import os\n# Helpers.\n", None, id="python-code-first"),
        pytest.param("pkg/empty.py", b"", None, id="python-empty"),
        pytest.param(
            "docs/guide.md",
            b"\n\n## Usage  guide ##\n\nText.\n# Later\n",
            "Usage guide",
            id="markdown-atx-closing-hashes",
        ),
        pytest.param(
            "README.md",
            b"Project Name\n============\n\nIntro.\n",
            "Project Name",
            id="markdown-setext",
        ),
        pytest.param("docs/api.md", b"Api Notes\n---\n", "Api Notes", id="markdown-setext-level-2"),
        pytest.param(
            "docs/index.rst",
            b"=========\nThe Index\n=========\n\nBody.\n",
            "The Index",
            id="rst-title-with-overline",
        ),
        pytest.param(
            "docs/intro.rst", b"Introduction\n------------\n", "Introduction", id="rst-title"
        ),
        pytest.param("docs/plain.md", b"Just a paragraph.\n", None, id="markdown-no-heading"),
        pytest.param(
            "web/app.js",
            b"// Entry point for the widget.\nexport function main() {}\n",
            "Entry point for the widget.",
            id="js-line-comment",
        ),
        pytest.param(
            "web/app.ts",
            b"// eslint-disable-next-line\n// @ts-nocheck\n/// Typed entry point.\n",
            "Typed entry point.",
            id="js-pragmas-then-comment",
        ),
        pytest.param(
            "src/ring.c",
            b"/* Ring buffer for audio samples. */\nint x;\n",
            "Ring buffer for audio samples.",
            id="c-block-comment",
        ),
        pytest.param(
            "src/ring.c",
            b"/*\n * Ring buffer for audio samples.\n * More.\n */\nint x;\n",
            "Ring buffer for audio samples.",
            id="c-multiline-block-comment",
        ),
        pytest.param("web/app.js", b'"use strict";\n// Later.\n', None, id="js-code-first"),
        pytest.param("run.sh", b"#!/bin/sh\nset -e\n", None, id="shell-code-after-shebang"),
        pytest.param("data.bin", b"# Looks like text\0\x01\x02", None, id="binary-nul"),
        pytest.param("img.md", b"# Title\n\0", None, id="binary-markdown"),
    ],
)
def test_purpose_of(path: str, data: bytes, expected: str | None) -> None:
    assert purpose_of(path, data) == expected


def test_purpose_of_long_text_is_truncated() -> None:
    words = " ".join(f"word{n}" for n in range(60))
    found = purpose_of("pkg/mod.py", f'"""{words}"""\n'.encode())
    assert found is not None
    assert len(found) == MAX_LENGTH == 120
    assert found.endswith("…")
    assert words.startswith(found[:-1].rstrip())


def test_purpose_of_exact_length_is_kept() -> None:
    text = "x" * MAX_LENGTH
    assert purpose_of("a.js", f"// {text}\n".encode()) == text
    assert purpose_of("a.js", f"// {text}y\n".encode()) == "x" * (MAX_LENGTH - 1) + "…"


def test_purpose_of_collapses_whitespace_and_reads_bad_utf8() -> None:
    assert purpose_of("a.md", b"#  Caf\xe9\tmenu  \n") == "Caf\ufffd menu"


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("src/main.c", b"#include <stdio.h>\nint main(void) { return 0; }\n"),
        ("src/ring.h", b"#ifndef RING_H\n#define RING_H\nint x;\n#endif\n"),
    ],
)
def test_purpose_of_c_preprocessor_is_code(path: str, data: bytes) -> None:
    assert purpose_of(path, data) is None


def test_purpose_of_skips_licence_text() -> None:
    data = (
        b"# Copyright 2024 Example Ltd\n#\n"
        b'# Licensed under the Apache License, Version 2.0 (the "License");\n'
        b"# you may not use this file except in compliance with the License.\n\n"
        b"# Helpers for the CLI.\nimport os\n"
    )
    assert purpose_of("pkg/cli.py", data) == "Helpers for the CLI."


def test_purpose_of_broken_python_one_line_docstring() -> None:
    assert purpose_of("pkg/broken.py", b'"""Half-written."""\ndef f(:\n') == "Half-written."


def test_python_purpose_is_the_docstring_ast_reads() -> None:
    # Only the leading tokens are read; on real modules that is what ast.get_docstring says.
    import ast
    import json as json_module
    import textwrap as textwrap_module
    from pathlib import Path

    import phasectl.report.purposes as purposes_module

    for module in (json_module, textwrap_module, purposes_module, ast):
        source = Path(str(module.__file__)).read_bytes()
        doc = ast.get_docstring(ast.parse(source))
        assert doc
        first = next(line.strip() for line in doc.splitlines() if line.strip())
        assert purpose_of("m.py", source) == " ".join(first.split())[:MAX_LENGTH]
