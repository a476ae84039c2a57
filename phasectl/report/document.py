"""Find and fill a report's generated regions; pure text, no git, no templates.

A region is the text between the lines ``<!-- phasectl:begin NAME -->`` and
``<!-- phasectl:end NAME -->``. Everything outside the regions is the user's, kept byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from phasectl.errors import PhasectlError

# Matched against one line without its ending, with fullmatch: no backtracking across lines.
_MARKER = re.compile(r" {0,3}<!--[ \t]*phasectl:(begin|end)[ \t]+([a-z][a-z0-9-]*)[ \t]*-->[ \t]*")
_NAME = re.compile(r"[a-z][a-z0-9-]*")
# A comment line a person meant as a marker, with another case, spacing or name.
_LOOKALIKE = re.compile(r" {0,3}<!--\s*phasectl\s*:\s*(?:begin|end)\b.*-->\s*", re.IGNORECASE)
_FENCE_OPEN = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_FENCE_CLOSE = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*")
_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]+(.*))?")


class DocumentError(PhasectlError):
    """The report's region markers are broken (unbalanced, nested, mismatched, duplicated)."""


@dataclass(frozen=True)
class Region:
    """One generated region: ``text[content_start:content_end]`` is its content."""

    name: str
    begin_line: int
    content_start: int
    content_end: int


def decode(data: bytes) -> str:
    """Decode report bytes so that ``encode(decode(data)) == data`` for any bytes, BOM included."""
    return data.decode("utf-8", "surrogateescape")


def encode(text: str) -> bytes:
    """Encode text from ``decode`` back to the exact bytes it came from."""
    return text.encode("utf-8", "surrogateescape")


def newline_of(text: str) -> str:
    """``"\\r\\n"`` if the first line ending in ``text`` is CRLF, else ``"\\n"``."""
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def _marker(kind: str, name: str) -> str:
    return f"<!-- phasectl:{kind} {name} -->"


def _lines(text: str) -> Iterator[tuple[int, int, int, str]]:
    """Yield (line number, start, end including the line ending, body without the ending)."""
    start, number = 0, 0
    while start < len(text):
        number += 1
        newline = text.find("\n", start)
        end = len(text) if newline < 0 else newline + 1
        body = text[start:] if newline < 0 else text[start:newline].removesuffix("\r")
        if start == 0:
            # A BOM is part of the bytes we keep, not of the first line's text.
            body = body.removeprefix("\ufeff")
        yield number, start, end, body
        start = end


def _heading_text(body: str) -> str | None:
    """The normalized text of an ATX heading line, or None if ``body`` is not one."""
    match = _HEADING.fullmatch(body)
    if match is None:
        return None
    rest = (match[1] or "").strip(" \t")
    unclosed = rest.rstrip("#")
    # A closing run of '#' counts only when a space separates it from the text.
    if unclosed == "" or unclosed.endswith((" ", "\t")):
        rest = unclosed
    return " ".join(rest.split()).casefold()


def _scan(text: str) -> tuple[list[Region], list[tuple[str, int]]]:
    """The regions, and (heading text, end offset) for headings outside fences and regions."""
    regions: list[Region] = []
    headings: list[tuple[str, int]] = []
    seen: dict[str, int] = {}
    open_region: tuple[str, int, int] | None = None
    fence: tuple[str, int] | None = None
    for number, start, end, body in _lines(text):
        marker = _MARKER.fullmatch(body)
        if open_region is not None:
            # Inside a region only markers count: generated content may hold fences.
            if marker is None:
                continue
            name, line, content_start = open_region
            kind, other = marker.groups()
            if kind == "begin":
                raise DocumentError(
                    f"region {other!r} begins on line {number} inside region {name!r} "
                    f"(begun on line {line}), but regions cannot nest: "
                    f"add '{_marker('end', name)}' before line {number}"
                )
            if other != name:
                raise DocumentError(
                    f"region {name!r} begins on line {line} but line {number} ends "
                    f"region {other!r}: change line {number} to '{_marker('end', name)}'"
                )
            regions.append(Region(name, line, content_start, start))
            open_region = None
        elif fence is not None:
            closing = _FENCE_CLOSE.fullmatch(body)
            if closing and closing[1][0] == fence[0] and len(closing[1]) >= fence[1]:
                fence = None
        elif marker is not None:
            kind, name = marker.groups()
            if kind == "end":
                raise DocumentError(
                    f"region {name!r} ends on line {number} but never begins: "
                    f"add '{_marker('begin', name)}' before it, or remove the end marker"
                )
            if name in seen:
                raise DocumentError(
                    f"region {name!r} appears twice, on lines {seen[name]} and {number}: "
                    f"remove the second one, from its begin marker to its end marker"
                )
            seen[name] = number
            open_region = (name, number, end)
        elif _LOOKALIKE.fullmatch(body):
            raise DocumentError(
                f"line {number} looks like a phasectl marker but is not one: write it alone "
                "on its line as '<!-- phasectl:begin NAME -->' or '<!-- phasectl:end NAME -->', "
                "NAME in lowercase letters, digits and dashes"
            )
        elif (opening := _FENCE_OPEN.fullmatch(body)) and not (
            opening[1][0] == "`" and "`" in opening[2]  # CommonMark: not a fence then
        ):
            fence = (opening[1][0], len(opening[1]))
        elif (heading := _heading_text(body)) is not None:
            headings.append((heading, end))
    if open_region is not None:
        name, line, _ = open_region
        raise DocumentError(
            f"region {name!r} begins on line {line} but never ends: "
            f"add '{_marker('end', name)}' after it, or remove the begin marker"
        )
    return regions, headings


def find_regions(text: str) -> list[Region]:
    """The regions of ``text`` in document order; raise ``DocumentError`` if markers are broken.

    Markers in fenced code blocks outside regions are examples, not markers.
    """
    return _scan(text)[0]


def _body(name: str, content: str, newline: str) -> str:
    """``content`` with ``newline`` line endings, ending in one unless empty."""
    lines = content.replace("\r\n", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        if _MARKER.fullmatch(line):
            # It would end or nest the region when the report is read back.
            raise DocumentError(
                f"the new content of region {name!r} holds a phasectl marker on its "
                f"line {number}: remove it from the template"
            )
    if lines[-1] == "":
        lines.pop()
    return "".join(line + newline for line in lines)


def render_block(name: str, content: str, newline: str) -> str:
    """The begin marker, ``content`` and the end marker, each line ending in ``newline``."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"invalid region name {name!r}")
    begin, end = _marker("begin", name), _marker("end", name)
    return f"{begin}{newline}{_body(name, content, newline)}{end}{newline}"


def replace_regions(text: str, contents: Mapping[str, str]) -> str:
    """Replace the content of each region named in ``contents``; keep every other byte.

    Content is given with ``\\n`` endings and written with the document's newline. The
    result has the same regions, and replacing again with the same contents changes nothing.
    """
    newline = newline_of(text)
    # From the last region back, so the offsets of the ones still to do stay valid.
    for region in reversed(find_regions(text)):
        if region.name in contents:
            body = _body(region.name, contents[region.name], newline)
            text = text[: region.content_start] + body + text[region.content_end :]
    return text


def insert_regions(
    text: str, contents: Mapping[str, str], headings: Mapping[str, Sequence[str]]
) -> tuple[str, list[str]]:
    """Add a region after the heading of each name in ``contents`` that has no region yet.

    The heading is the first ATX heading outside code fences and regions whose text
    (case and whitespace ignored) is one of ``headings[name]``. Only whole blocks (and
    a newline after a heading on an unterminated last line) are added. Returns the new
    text and the names whose heading was not found.
    """
    newline = newline_of(text)
    regions, found = _scan(text)
    present = {region.name for region in regions}
    blocks: dict[int, str] = {}
    missing: list[str] = []
    for name, content in contents.items():
        if name in present:
            continue
        wanted = {" ".join(h.split()).casefold() for h in headings.get(name, ())}
        offset = next((end for heading, end in found if heading in wanted), None)
        if offset is None:
            missing.append(name)
        else:
            # Names sharing a heading get their regions in the mapping's order.
            blocks[offset] = blocks.get(offset, "") + render_block(name, content, newline)
    for offset in sorted(blocks, reverse=True):
        block = blocks[offset]
        if offset == len(text) and not text.endswith("\n"):
            block = newline + block  # the heading is the unterminated last line
        text = text[:offset] + block + text[offset:]
    return text, missing


def region_contents(text: str) -> dict[str, str]:
    """The content of each region by name, with ``\\n`` line endings."""
    return {
        region.name: text[region.content_start : region.content_end].replace("\r\n", "\n")
        for region in find_regions(text)
    }
