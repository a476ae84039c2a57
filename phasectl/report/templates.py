"""Jinja2 rendering of the report and its sections, sandboxed and strict.

Templates are looked up in the project's template folder first (``templates_dir``,
default ``.phasectl/templates``), then in phasectl's built-in ones. They render in
Jinja2's immutable sandbox with ``StrictUndefined``: a template cannot reach Python
internals, and a misspelt variable is an error naming the template file and line.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError

from phasectl.errors import PhasectlError
from phasectl.report.resources import builtin_templates_dir
from phasectl.report.sandbox import MAX_TEMPLATE_OUTPUT, BoundedSandbox

FULL_TEMPLATE = "phase.md.j2"
LEAN_TEMPLATE = "lean.md.j2"
DOCUMENT_TEMPLATES = {"full": FULL_TEMPLATE, "lean": LEAN_TEMPLATE}


class TemplateError(PhasectlError):
    """A template is missing, malformed, refers to an unknown value or breaks the sandbox."""


def region_template(region: str) -> str:
    """The template that renders ``region``."""
    return f"sections/{region}.md.j2"


def document_template(choice: str) -> str:
    """The template a new report starts from, for the ``template`` setting."""
    return DOCUMENT_TEMPLATES[choice]


def _where(tb: TracebackType | None, fallback: str) -> str:
    """``file:line`` of the innermost template frame (Jinja2 maps frames to template lines)."""
    found = fallback
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            found = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


class _ContainedLoader(jinja2.FileSystemLoader):
    """A loader that refuses a template whose file (through links) lies outside its folder:
    a repository's templates must not read the rest of the machine into a report."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        real = Path(filename).resolve()
        if not any(real.is_relative_to(Path(folder).resolve()) for folder in self.searchpath):
            raise TemplateError(f"template {filename} leads outside its templates folder")
        return source, filename, uptodate


class Renderer:
    """Renders templates from the project's folder (if any) and the built-in folder."""

    def __init__(self, root: Path | None, templates_dir: str = "") -> None:
        """``root`` is the repository's work tree (``None``: built-in templates only)."""
        folders = []
        if root is not None:
            project = (root / templates_dir).resolve()
            if not project.is_relative_to(root.resolve()):
                raise TemplateError(
                    f"templates_dir = {templates_dir!r} is outside the repository; "
                    "keep the project's templates inside it"
                )
            if project.is_dir():
                folders.append(str(project))
        folders.append(str(builtin_templates_dir()))
        self._env = BoundedSandbox(
            loader=_ContainedLoader(folders),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # Markdown: values arrive already escaped (phasectl.report.markdown)
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def has_template(self, name: str) -> bool:
        try:
            self._env.get_template(name)
        except jinja2.TemplateNotFound:
            return False
        except (jinja2.TemplateError, TemplateError, UnicodeDecodeError):
            return True  # it exists; rendering it reports the problem
        return True

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        """Render template ``name``; problems become ``TemplateError`` naming file and line."""
        template: jinja2.Template | None = None
        try:
            template = self._env.get_template(name)
            return _bounded_render(template, context)
        except TemplateError:
            raise
        except MemoryError:
            where = _where(sys.exc_info()[2], (template and template.filename) or name)
            raise TemplateError(f"template {where} ran out of memory; it builds too much") from None
        except UnicodeDecodeError:
            raise TemplateError(f"template {name} is not UTF-8 text") from None
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(
                f"template {exc.name} not found in the project's templates folder or "
                "phasectl's built-in templates"
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            where = f"{exc.filename or name}:{exc.lineno}"
            raise TemplateError(f"template syntax error at {where}: {exc.message}") from None
        except SecurityError as exc:
            where = _where(sys.exc_info()[2], (template and template.filename) or name)
            raise TemplateError(
                f"template {where} tried something the sandbox forbids ({exc}); templates "
                "may only lay out the values phasectl gives them"
            ) from None
        except jinja2.UndefinedError as exc:
            where = _where(sys.exc_info()[2], (template and template.filename) or name)
            raise TemplateError(
                f"template {where}: {exc.message}; see 'phasectl report --stdout --format json' "
                "for the values a template can use"
            ) from None
        except (
            jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError,
            RecursionError,
        ) as exc:  # fmt: skip
            # Anything else a template's own expressions raise: still the template's fault.
            where = _where(sys.exc_info()[2], (template and template.filename) or name)
            raise TemplateError(f"template {where}: {exc}") from None


def _bounded_render(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    parts: list[str] = []
    size = 0
    for part in template.generate(context):
        size += len(part)
        if size > MAX_TEMPLATE_OUTPUT:
            raise TemplateError(
                f"template {template.filename or template.name} renders more than "
                f"{MAX_TEMPLATE_OUTPUT:,} characters; a report is far smaller"
            )
        parts.append(part)
    return "".join(parts)
