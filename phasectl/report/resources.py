"""Files shipped with phasectl: the built-in report templates."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]


def builtin_templates_dir() -> Path:
    """The folder of built-in templates.

    In a wheel, the top-level ``templates/`` folder is installed as ``phasectl/templates``;
    in a source checkout (editable install) it is found beside the package.
    """
    for candidate in (_PACKAGE / "templates", _PACKAGE.parent / "templates"):
        if (candidate / "phase.md.j2").is_file():
            return candidate
    raise FileNotFoundError("phasectl's built-in templates are missing; reinstall phasectl")
