"""Generated regions: found, replaced and inserted without touching a byte outside them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phasectl.errors import PhasectlError
from phasectl.report.document import (
    DocumentError,
    Region,
    decode,
    encode,
    find_regions,
    insert_regions,
    newline_of,
    region_contents,
    render_block,
    replace_regions,
)

BEGIN = "<!-- phasectl:begin metrics -->"
END = "<!-- phasectl:end metrics -->"


def test_replace_lf() -> None:
    text = f"# Report\n## Metrics\n{BEGIN}\nold\nlines\n{END}\nafter\n"
    result = replace_regions(text, {"metrics": "new\n"})
    assert result == f"# Report\n## Metrics\n{BEGIN}\nnew\n{END}\nafter\n"


def test_replace_crlf_converts_content_newlines() -> None:
    text = f"# Report\r\n{BEGIN}\r\nold\r\n{END}\r\nafter\r\n"
    result = replace_regions(text, {"metrics": "a\nb"})
    assert result == f"# Report\r\n{BEGIN}\r\na\r\nb\r\n{END}\r\nafter\r\n"
    assert region_contents(result) == {"metrics": "a\nb\n"}


def test_end_marker_without_final_newline() -> None:
    text = f"{BEGIN}\nold\n{END}"
    assert replace_regions(text, {"metrics": "new"}) == f"{BEGIN}\nnew\n{END}"


def test_empty_content_leaves_nothing_between_markers() -> None:
    text = f"x\n{BEGIN}\nold\n{END}\n"
    assert replace_regions(text, {"metrics": ""}) == f"x\n{BEGIN}\n{END}\n"


def test_trailing_spaces_and_marker_variants_are_kept() -> None:
    begin = "   <!--phasectl:begin metrics   -->  \t"
    end = "<!--\tphasectl:end metrics-->   "
    text = f"human line   \n{begin}\r\nold\r\n{end}\r\n  tail  "
    result = replace_regions(text, {"metrics": "new\n"})
    # The first line ending is LF, so new content gets LF; marker lines keep their CRLF.
    assert result == f"human line   \n{begin}\r\nnew\n{end}\r\n  tail  "


def test_non_utf8_and_bom_round_trip() -> None:
    data = (
        b"\xef\xbb\xbf# R\xc3\xa9port \xff\xfe\n"
        + BEGIN.encode()
        + b"\nold \x80\n"
        + END.encode()
        + b"\n\xe2\x82\xac \xc0\n"
    )
    text = decode(data)
    assert encode(text) == data
    result = encode(replace_regions(text, {"metrics": "naïve \udcff\n"}))
    assert result == (
        b"\xef\xbb\xbf# R\xc3\xa9port \xff\xfe\n"
        + BEGIN.encode()
        + b"\nna\xc3\xafve \xff\n"
        + END.encode()
        + b"\n\xe2\x82\xac \xc0\n"
    )


def test_replace_twice_is_identical_and_other_regions_stay() -> None:
    text = (
        f"{BEGIN}\nold\n{END}\n"
        "<!-- phasectl:begin code-changes -->\nhand written  \n"
        "<!-- phasectl:end code-changes -->\n"
    )
    once = replace_regions(text, {"metrics": "one\ntwo\n"})
    assert replace_regions(once, {"metrics": "one\ntwo\n"}) == once
    assert region_contents(once) == {"metrics": "one\ntwo\n", "code-changes": "hand written  \n"}
    assert [r.name for r in find_regions(once)] == ["metrics", "code-changes"]


def test_find_regions_offsets() -> None:
    text = f"a\n{BEGIN}\nxy\n{END}\n"
    start = len(f"a\n{BEGIN}\n")
    assert find_regions(text) == [Region("metrics", 2, start, start + 3)]


def test_markers_in_fence_outside_regions_are_ignored() -> None:
    text = (
        "Example:\n````markdown\n"
        f"{BEGIN}\n```\n{END}\n"  # a shorter fence does not close a longer one
        "<!-- phasectl:end nothing -->\n````\n"
        "~~~\n<!-- phasectl:begin other -->\n~~~~\n"
        f"{BEGIN}\nold\n{END}\n"
    )
    regions = find_regions(text)
    assert [(r.name, r.begin_line) for r in regions] == [("metrics", 11)]
    result = replace_regions(text, {"metrics": "new\n"})
    assert result == text.replace("old\n", "new\n")


def test_fences_inside_a_region_do_not_confuse_it() -> None:
    content = "```\nunclosed fence\n~~~\n"
    text = f"{BEGIN}\n{content}{END}\n<!-- phasectl:begin code-changes -->\nx\n"
    text += "<!-- phasectl:end code-changes -->\n"
    assert region_contents(text) == {"metrics": content, "code-changes": "x\n"}
    result = replace_regions(text, {"metrics": "```python\nprint()\n"})
    assert region_contents(result)["metrics"] == "```python\nprint()\n"
    assert replace_regions(result, {"metrics": "```python\nprint()\n"}) == result


def test_not_markers() -> None:
    # Indented 4 spaces (code), text around the comment: human text. (A comment line with
    # an uppercase name is an error: see test_a_lookalike_marker_is_an_error_not_ignored.)
    text = (
        "    <!-- phasectl:begin metrics -->\n"
        "see <!-- phasectl:begin metrics -->\n"
        "<!-- phasectl:begin metrics --> x\n"
    )
    assert find_regions(text) == []


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        pytest.param(
            f"# R\n\n{BEGIN}\nx\n",
            ["'metrics'", "line 3", "never ends", f"add '{END}'"],
            id="unbalanced",
        ),
        pytest.param(f"# R\n{BEGIN}", ["'metrics'", "line 2", "never ends"], id="begin-at-eof"),
        pytest.param(
            f"x\n{END}\n", ["'metrics'", "line 2", "never begins", f"add '{BEGIN}'"], id="stray"
        ),
        pytest.param(
            f"{BEGIN}\n<!-- phasectl:begin code-changes -->\n",
            ["'code-changes'", "line 2", "'metrics'", "line 1", "cannot nest", f"'{END}'"],
            id="nested",
        ),
        pytest.param(
            f"{BEGIN}\nx\n<!-- phasectl:end code-changes -->\n",
            ["'metrics'", "line 1", "line 3", "'code-changes'", f"'{END}'"],
            id="mismatched",
        ),
        pytest.param(
            f"{BEGIN}\n{END}\ntext\n{BEGIN}\n{END}\n",
            ["'metrics'", "twice", "lines 1 and 4"],
            id="duplicated",
        ),
    ],
)
def test_marker_errors(text: str, fragments: list[str]) -> None:
    with pytest.raises(DocumentError) as caught:
        find_regions(text)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message
    assert isinstance(caught.value, PhasectlError)
    assert caught.value.exit_code == 2


def test_content_holding_a_marker_is_refused() -> None:
    with pytest.raises(DocumentError, match=r"'metrics'.*line 2"):
        replace_regions(f"{BEGIN}\n{END}\n", {"metrics": f"x\n{END}\n"})


def test_newline_of() -> None:
    assert newline_of("a\r\nb\n") == "\r\n"
    assert newline_of("a\nb\r\n") == "\n"
    assert newline_of("no ending") == "\n"
    assert newline_of("\r\n") == "\r\n"


def test_render_block() -> None:
    assert render_block("metrics", "a\nb", "\r\n") == f"{BEGIN}\r\na\r\nb\r\n{END}\r\n"
    assert render_block("metrics", "", "\n") == f"{BEGIN}\n{END}\n"
    with pytest.raises(ValueError, match="invalid region name"):
        render_block("Bad Name", "", "\n")


SEED = (
    "# Phase: Demo\n\n## Summary\nText.\n\n## Metrics\n- **Before**: [Baseline metric]\n\n"
    "## Code Changes\n### Files Created\n- `path/to/file.go` - [Purpose]\n\n"
    "## Testing Impact\n### Test Results\n```\nBefore: X passed, Y failed\n```\n"
)
HEADINGS = {
    "metrics": ["Metrics"],
    "code-changes": ["Code Changes"],
    "test-results": ["Test Results"],
}
CONTENTS = {"metrics": "M\n", "code-changes": "C\n", "test-results": "T\n"}


def test_insert_into_seed_document() -> None:
    result, missing = insert_regions(SEED, CONTENTS, HEADINGS)
    assert missing == []
    assert "## Metrics\n<!-- phasectl:begin metrics -->\nM\n<!-- phasectl:end metrics -->\n" in (
        result
    )
    assert "## Code Changes\n<!-- phasectl:begin code-changes -->\nC\n" in result
    assert "### Test Results\n<!-- phasectl:begin test-results -->\nT\n" in result
    assert region_contents(result) == CONTENTS
    stripped = result
    for name, content in CONTENTS.items():
        stripped = stripped.replace(render_block(name, content, "\n"), "")
    assert stripped == SEED
    # Inserting again changes nothing: the regions exist now.
    assert insert_regions(result, CONTENTS, HEADINGS) == (result, [])
    assert replace_regions(result, CONTENTS) == result


def test_insert_crlf_and_unterminated_last_heading() -> None:
    seed = "# R\r\n\r\n  ##   code   CHANGES  ##\r\nx\r\n### Test Results"
    result, missing = insert_regions(seed, CONTENTS, HEADINGS)
    assert missing == ["metrics"]
    assert result == (
        "# R\r\n\r\n  ##   code   CHANGES  ##\r\n"
        + render_block("code-changes", "C\n", "\r\n")
        + "x\r\n### Test Results\r\n"
        + render_block("test-results", "T\n", "\r\n")
    )


def test_insert_skips_headings_in_fences_and_regions() -> None:
    seed = (
        "```\n## Metrics\n```\n"
        "<!-- phasectl:begin code-changes -->\n## Metrics\n<!-- phasectl:end code-changes -->\n"
        "## Metrics and more\n"
    )
    result, missing = insert_regions(seed, {"metrics": "M\n"}, HEADINGS)
    assert (result, missing) == (seed, ["metrics"])
    result, missing = insert_regions(seed + "## metrics #\n", {"metrics": "M\n"}, HEADINGS)
    assert missing == []
    assert result == seed + "## metrics #\n" + render_block("metrics", "M\n", "\n")


def test_two_regions_under_one_heading_keep_mapping_order() -> None:
    headings = {"a": ["Results"], "b": ["Results"]}
    result, _ = insert_regions("## Results", {"b": "B\n", "a": "A\n"}, headings)
    assert result == "## Results\n" + render_block("b", "B\n", "\n") + render_block(
        "a", "A\n", "\n"
    )


# --- property: nothing outside the regions changes ----------------------------------

# Human lines hold no '<' (so no marker) and no '`' or '~' (so no fence), but may hold
# lone surrogates from undecodable bytes, a BOM, and Unicode line separators.
HUMAN_CHARS = st.characters(
    exclude_characters="<`~\r\n", exclude_categories=["Cs"]
) | st.sampled_from(["\udc80", "\udcff", "\ufeff", "\u2028", "\x85", "#", " "])
CONTENT_CHARS = st.characters(
    exclude_characters="<\r\n", exclude_categories=["Cs"]
) | st.sampled_from(["`", "~", " "])
NAMES = ["metrics", "code-changes", "test-results", "a", "b-2"]
MARKER_FORMATS = [
    "<!-- phasectl:{kind} {name} -->",
    "   <!--phasectl:{kind} {name}-->  ",
    " <!--\tphasectl:{kind}\t{name} \t--> \t",
]


@dataclass(frozen=True)
class Doc:
    text: str
    newline: str
    outside: list[str]  # the text between content spans: what must never change
    names: list[str]
    new: dict[str, str]


@st.composite
def documents(draw: st.DrawFn) -> Doc:
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=4))
    human = st.lists(st.text(HUMAN_CHARS, max_size=12), max_size=3)
    content = st.lists(st.text(CONTENT_CHARS, max_size=12), max_size=3)
    # (line, kind): "out" for text outside content spans, "in" for content, "split" where a
    # content span starts (it ends where the next "out" line, the end marker, starts).
    items: list[tuple[str, str]] = [(line, "out") for line in draw(human)]
    for name in names:
        begin, end = (
            draw(st.sampled_from(MARKER_FORMATS)).format(kind=kind, name=name)
            for kind in ("begin", "end")
        )
        items += [(begin, "out"), ("", "split")]
        items += [(line, "in") for line in draw(content)]
        items.append((end, "out"))
        items += [(line, "out") for line in draw(human)]
    last = max((i for i, (_, kind) in enumerate(items) if kind != "split"), default=-1)
    drop_final_newline = draw(st.booleans())
    outside: list[str] = []
    current = text = ""
    for i, (line, kind) in enumerate(items):
        if kind == "split":
            outside.append(current)
            current = ""
            continue
        piece = line + ("" if i == last and drop_final_newline else newline)
        text += piece
        if kind == "out":
            current += piece
    outside.append(current)
    new = {
        name: "\n".join(draw(content))
        for name in names
        if draw(st.booleans())  # some regions are left alone
    }
    return Doc(text, newline, outside, names, new)


def outside_of(text: str) -> list[str]:
    regions = find_regions(text)
    edges = [0] + [p for r in regions for p in (r.content_start, r.content_end)] + [len(text)]
    return [text[edges[i] : edges[i + 1]] for i in range(0, len(edges), 2)]


@settings(max_examples=200, deadline=None)
@given(documents())
def test_replace_keeps_everything_outside_regions(doc: Doc) -> None:
    assert outside_of(doc.text) == doc.outside
    before = {r.name: doc.text[r.content_start : r.content_end] for r in find_regions(doc.text)}
    result = replace_regions(doc.text, doc.new)
    assert outside_of(result) == doc.outside
    assert replace_regions(result, doc.new) == result
    assert [r.name for r in find_regions(result)] == doc.names
    after = {r.name: result[r.content_start : r.content_end] for r in find_regions(result)}
    for name in doc.names:
        if name in doc.new:
            expected = doc.new[name]
            if expected and not expected.endswith("\n"):
                expected += "\n"
            assert after[name] == expected.replace("\n", doc.newline)
        else:
            assert after[name] == before[name]
    assert decode(encode(result)) == result


@pytest.mark.parametrize(
    "line",
    [
        "<!-- phasectl:begin Metrics -->",
        "<!--phasectl: end metrics-->",
        "  <!-- phasectl:begin code_changes -->",
        "<!-- PHASECTL:BEGIN METRICS -->",
    ],
)
def test_a_lookalike_marker_is_an_error_not_ignored(line: str) -> None:
    text = f"# Report\n\n{line}\nbody\n"
    with pytest.raises(DocumentError, match=r"line 3 looks like a phasectl marker"):
        find_regions(text)
