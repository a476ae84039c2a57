"""Go modules: the module path each ``go.mod`` of a checkout declares, and a coverprofile's
file names (import paths, absolute paths) mapped through them onto repository paths."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from phasectl.errors import PhasectlError
from phasectl.readers.files import checkout_path, is_absolute_name

_MODULE = re.compile(r"^\s*module\s+(?:\"([^\"]+)\"|`([^`]+)`|([^\s/]\S*?))\s*(?://.*)?$")


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def read_go_module_path(repo_root: Path) -> str:
    """Return the module path from the ``module`` line of ``repo_root/go.mod``."""
    gomod = repo_root / "go.mod"
    try:
        text = gomod.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise PhasectlError(
            f"{gomod}: cannot read go.mod ({exc.strerror}); pass the Go module's root directory"
        ) from exc
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip().startswith("module"):
            continue
        match = _MODULE.match(line)
        if match is None:
            raise PhasectlError(
                f"{gomod}:{lineno}: cannot read the module line {_short(line)}; "
                "write it as `module example.com/name`"
            )
        return next(group for group in match.groups() if group)
    raise PhasectlError(f"{gomod}:1: go.mod has no module line; add `module example.com/name`")


GoModules = Mapping[str, tuple[str, ...]]
"""Each module path a ``go.mod`` of the repository declares, to the folders whose ``go.mod``
declares it (``""`` for the top, else ``"svc/"``): one as a rule, more when a copy of a
module lies in the tree (``testdata``)."""


def read_go_modules(root: Path, gomods: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The modules the ``go.mod`` files ``gomods`` (paths relative to ``root``, as a go.work's
    modules or nested ones are found) declare, each module's folders shallowest first.

    A ``go.mod`` at the top that cannot be read is an error, as it always was; one in a
    subfolder that cannot be read (a broken one kept as test data) declares nothing: go
    could not have built it either."""
    found: dict[str, list[str]] = {}
    for gomod in sorted(gomods, key=lambda path: (path.count("/"), path)):
        # Listed by git but deleted in the checkout: go does not see it either.
        if (gomod != "go.mod" and not gomod.endswith("/go.mod")) or not (root / gomod).is_file():
            continue
        folder = gomod.removesuffix("go.mod")
        try:
            module = read_go_module_path(root / folder)
        except PhasectlError:
            if not folder:
                raise
            continue
        found.setdefault(module, []).append(folder)
    return {module: tuple(folders) for module, folders in found.items()}


def top_module(repo_root: Path | None) -> dict[str, tuple[str, ...]]:
    if repo_root is None or not (repo_root / "go.mod").is_file():
        return {}
    return read_go_modules(repo_root, ["go.mod"])


def module_file(name: str, modules: GoModules, repo_root: Path | None) -> str:
    if repo_root is None:
        return name
    # The longest module path that prefixes the name: each shorter prefix, one lookup each.
    cut = len(name)
    while (cut := name.rfind("/", 0, cut)) > 0:
        folders = modules.get(name[:cut])
        if folders:
            rest = name[cut + 1 :]
            here = [folder + rest for folder in folders]
            if len(here) == 1:
                return here[0]
            return next((path for path in here if (repo_root / path).is_file()), here[0])
    if is_absolute_name(name):
        return checkout_path(name, repo_root)
    return name
