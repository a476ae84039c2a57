"""The living report: render the generated regions and splice them into the document.

A missing report is created from the full template; an existing one gets only its
regions replaced; a report written before phasectl (seed headings, no markers) gets the
regions inserted under the matching headings. Nothing outside the regions changes.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phasectl.errors import PhasectlError
from phasectl.report import document
from phasectl.report.debt import REGION as DEBT_REGION
from phasectl.report.debt import kept_checks
from phasectl.report.purposes import purpose_of
from phasectl.report.templates import (
    Renderer,
    TemplateError,
    document_template,
    region_template,
)
from phasectl.report.values import (
    REGION_HEADINGS,
    REGIONS,
    ReportInputs,
    build_context,
    kept_purposes,
    purpose_paths,
)

if TYPE_CHECKING:
    from phasectl.config import Config
    from phasectl.model.phase import PhaseMetrics
    from phasectl.repo.repository import Repository

_UNSAFE_NAME = re.compile(r"[/\\\0-\x1f]+")


@dataclass(frozen=True)
class RenderedReport:
    """A report rendered against what is on disk now."""

    path: Path
    old: bytes | None
    new: bytes
    context: dict[str, Any]
    regions: dict[str, str]
    warnings: tuple[str, ...] = ()
    committed_at: str | None = None  # ``old`` as committed there, not as on disk

    @property
    def current(self) -> bool:
        return self.old == self.new

    @property
    def judged(self) -> str:
        """The report compared, as the messages name it."""
        at = f" (as committed at {self.committed_at[:12]})" if self.committed_at else ""
        return f"{self.path}{at}"

    def diff(self) -> str:
        """A unified diff from the report on disk to the fresh render."""
        old = document.decode(self.old or b"").splitlines(keepends=True)
        new = document.decode(self.new).splitlines(keepends=True)
        name = str(self.path)
        where = f"as committed at {self.committed_at[:12]}" if self.committed_at else "on disk"
        lines = difflib.unified_diff(old, new, f"{name} ({where})", f"{name} (fresh)")
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def phase_name(repo: Repository, config: Config, metrics: PhaseMetrics) -> str:
    """The head's phase tag without its prefix, else another tag at head, else the branch,
    else the short SHA. Tags on report-only commits after head count (``phasectl tag``
    puts the tag on the commit of the report)."""
    tip = repo.resolve_commit(metrics.head.ref)
    tags = repo.tags_at(tip) + (repo.tags_at(metrics.head.sha) if tip != metrics.head.sha else [])
    for tag in tags:
        if tag.startswith(config.tag_prefix) and len(tag) > len(config.tag_prefix):
            return tag[len(config.tag_prefix) :]
    if tags:
        return tags[0]
    if metrics.head.ref == "HEAD":
        return repo.current_branch() or metrics.head.sha[:12]
    return metrics.head.ref


def report_file_name(name: str) -> str:
    """``<name>.md``, the phase name made a single file name."""
    stem = _UNSAFE_NAME.sub("-", name).strip("-. ") or "phase"
    return f"{stem}.md"


def report_path(root: Path, config: Config, name: str) -> Path:
    """``<report_dir>/<name>.md`` under the repository root, the name made a single file name."""
    return kept_inside(report_folder(root, config) / report_file_name(name), root)


def kept_inside(path: Path, root: Path | None) -> Path:
    """``path``, refused (``PhasectlError``) when it names a file in the work tree at
    ``root`` that resolves, through a symbolic link, to a file outside it: a pull request
    controls the tree in CI, and the report must not be written (or read) elsewhere. A
    path outside the work tree is the user's own choice (``--output``) and is kept."""
    if root is None:
        return path
    written = Path(os.path.normpath(path.absolute()))
    tops = {Path(os.path.normpath(root.absolute())), root.resolve()}
    if not any(written.is_relative_to(top) for top in tops):
        return path
    target = written.resolve()
    if not target.is_relative_to(root.resolve()):
        raise PhasectlError(
            f"{path} is a link to {target}, outside the work tree; phasectl writes reports "
            "only inside it (replace the link with a file, or pass --output with a path "
            "outside the work tree to write elsewhere on purpose)"
        )
    return path


def report_folder(root: Path, config: Config) -> Path:
    """``report_dir`` under the repository root; ``PhasectlError`` if it leads outside it
    (``..``, an absolute path, a link), as ``templates_dir`` may not either."""
    folder = root / config.report_dir
    if not folder.resolve().is_relative_to(root.resolve()):
        raise PhasectlError(
            f"report_dir = {config.report_dir!r} is outside the repository; keep the reports "
            "inside it (or pass --output FILE for one report elsewhere)"
        )
    return folder


def report_file(
    repo: Repository, config: Config, metrics: PhaseMetrics, output: Path | None, name: str | None
) -> tuple[Path, str]:
    """The report's file (``output``, else ``<report_dir>/<name>.md``) and the phase name."""
    phase = name or phase_name(repo, config, metrics)
    if output is not None:
        return kept_inside(output.absolute(), repo.work_tree), phase
    if repo.work_tree is None:
        raise PhasectlError("a bare repository has no work tree for the report; pass --output FILE")
    return report_path(repo.work_tree, config, phase), phase


def _content(text: str) -> str:
    text = text.rstrip("\n")
    return text + "\n" if text else ""


def _read(path: Path) -> bytes | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PhasectlError(f"cannot read {path}: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise PhasectlError(f"{path} is a folder; pass --output FILE")
    if not stat.S_ISREG(info.st_mode):
        # A pipe or a device has no regions to keep, and reading it may never end.
        raise PhasectlError(f"{path} is not a regular file; use --stdout to print the report")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PhasectlError(f"cannot read {path}: {exc.strerror}") from None


def _read_committed(repo: Repository, commit: str, path: Path) -> bytes | None:
    tree_path = repo.tree_path(path)
    if tree_path is None:  # not in the repository: only the file on disk can say
        return _read(path)
    return repo.read_files(commit, [tree_path]).get(tree_path)


def _purposes(repo: Repository, metrics: PhaseMetrics, inputs: ReportInputs) -> dict[str, str]:
    paths = purpose_paths(metrics, inputs)
    if not paths:
        return {}
    found = {}
    for path, data in repo.read_files(metrics.head.sha, paths, limit=1 << 20).items():
        purpose = purpose_of(path, data)
        if purpose:
            found[path] = purpose
    return found


def render_report(
    repo: Repository,
    config: Config,
    metrics: PhaseMetrics,
    path: Path,
    name: str,
    *,
    committed_at: str | None = None,
    start_from: bytes | None = None,
    renderer: Renderer | None = None,
    thread: Mapping[str, Any] | None = None,
) -> RenderedReport:
    """Render the report at ``path`` for ``metrics``; nothing is written.

    ``committed_at``: compare with the report as committed in that commit, not as it is on
    disk. ``start_from``: the document to fill when ``path`` does not exist yet.
    ``renderer``: one built already for this repository and config (``prepare_renderer``).
    ``thread``: the previous plan judged, the duration and the commits
    (``phasectl.workflow.thread``); without it those regions say "not collected".
    Raises ``DocumentError`` for broken markers and ``TemplateError`` for broken templates.
    """
    old = _read_committed(repo, committed_at, path) if committed_at else _read(path)
    start = old if old is not None else start_from
    text = document.decode(start) if start is not None else None
    found = document.find_regions(text) if text is not None else []
    existing = document.region_contents(text) if text is not None and found else {}
    inputs = ReportInputs(
        name=name,
        date=repo.commit_times([metrics.head.sha])[metrics.head.sha][1],
        max_listed=config.max_files_listed,
        test_globs=config.test_globs,
        doc_globs=config.doc_globs,
        kept=kept_purposes(existing),
        checked=kept_checks(existing.get(DEBT_REGION, "")),
        thread=thread,
        earlier=existing,
    )
    inputs = replace(inputs, purposes=_purposes(repo, metrics, inputs))
    context = build_context(metrics, inputs)
    renderer = renderer or Renderer(repo.work_tree, config.templates_dir)
    names = [r.name for r in found] if found else list(REGIONS)
    for region in names:
        if not renderer.has_template(region_template(region)):
            raise TemplateError(
                f"{path} has a region '{region}' but no template "
                f"{region_template(region)} renders it; known regions: {', '.join(REGIONS)} "
                f"(or add the template under {config.templates_dir})"
            )
    regions = {r: _content(renderer.render(region_template(r), context)) for r in names}
    warnings: list[str] = []
    if text is None:
        blocks = {r: document.render_block(r, c, "\n") for r, c in regions.items()}
        whole = document_template(config.template)
        new = renderer.render(whole, {**context, "regions": blocks})
        # The full template's regions must read back as rendered, or a second run differs;
        # one without any could never be rendered again.
        if not document.find_regions(new):
            raise TemplateError(
                f"{whole} places no region: add one, such as {{{{ regions['metrics'] }}}}"
            )
    elif found:
        new = document.replace_regions(text, regions)
    else:
        new, missing = document.insert_regions(text, regions, REGION_HEADINGS)
        if len(missing) == len(regions):
            raise PhasectlError(
                f"{path} has no phasectl regions and none of the headings they go under "
                f"({', '.join(REGION_HEADINGS[r][0] for r in REGIONS)}); add a heading such as "
                "'## Metrics', or a region '<!-- phasectl:begin metrics -->' + "
                "'<!-- phasectl:end metrics -->'"
            )
        warnings.extend(
            f"{path} has no '{REGION_HEADINGS[r][0]}' heading: the {r} region was not added"
            for r in missing
        )
    encoded = document.encode(new)
    return RenderedReport(path, old, encoded, context, regions, tuple(warnings), committed_at)


def step_summary(regions: Mapping[str, str]) -> str:
    """The Metrics and Test Results sections, as appended to ``$GITHUB_STEP_SUMMARY``."""
    parts = []
    for region, heading in (("metrics", "## Metrics"), ("test-results", "### Test Results")):
        if region in regions:
            parts.append(f"{heading}\n\n{regions[region]}")
    return "\n".join(parts)
