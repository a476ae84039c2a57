"""The git hook phasectl installs: ``pre-push`` runs ``phasectl check`` on release tags.

The hook is a POSIX ``sh`` script carrying ``MARKER``, so phasectl can tell its own hook
from another tool's: it replaces or removes only hooks with the marker, and keeps any
other hook by moving it aside and running it first (``--chain``).
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from phasectl.errors import PhasectlError
from phasectl.fileio import write_atomic

if TYPE_CHECKING:
    from phasectl.config import Config
    from phasectl.repo.repository import Repository

MARKER = "# phasectl-hook: managed by phasectl; 'phasectl hook uninstall' removes it"
CHAINED_SUFFIX = ".phasectl-chained"
HOOK_TYPES = ("pre-push",)

# Everything in this script that comes from outside (the tag prefix, the release_tags
# patterns, the interpreter's path) is a shell-quoted assignment; the code below only
# reads those variables in double quotes, except where a pattern must stay a glob.
_PRE_PUSH = """\
#!/bin/sh
{marker}
#
# pre-push: before a release tag is pushed, run 'phasectl check' on it and stop the
# push if a gate fails. Branches and tag deletions pass untouched. A hook that was
# here before phasectl ({chained_name}) runs first, with the same input.
#
# Release tags are refs/tags/<tag_prefix>* and the release_tags patterns, copied from
# the configuration when this hook was installed: after changing them, run
# 'phasectl hook install' again. Skip the hook once with 'git push --no-verify'.

tag_prefix={tag_prefix}
phasectl_python={python}

is_release_tag() {{
    case $1 in
        "$tag_prefix"*) return 0 ;;
    esac
{pattern_tests}    return 1
}}

# The interpreter phasectl was installed with; phasectl on PATH if it has gone since.
run_phasectl() {{
    if [ -x "$phasectl_python" ]; then
        "$phasectl_python" -m phasectl "$@"
    elif command -v phasectl >/dev/null 2>&1; then
        phasectl "$@"
    else
        echo "phasectl hook: phasectl is not installed any more; reinstall it, or run" \\
            "'git push --no-verify' and remove $0" >&2
        return 2
    fi
}}

# git's list of pushed refs arrives on stdin once: keep it for the chained hook and us.
refs_file=$(mktemp "${{TMPDIR:-/tmp}}/phasectl-pre-push.XXXXXX") || exit 1
trap 'rm -f "$refs_file"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
cat >"$refs_file" || exit 1

chained="$0{suffix}"
case $chained in
    */*) ;;
    *) chained="./$chained" ;;
esac
if [ -x "$chained" ]; then
    "$chained" "$@" <"$refs_file" || {{
        code=$?
        echo "phasectl hook: $chained failed (exit $code); push stopped" >&2
        exit "$code"
    }}
fi

top=$(git rev-parse --show-toplevel 2>/dev/null) || top=$(pwd)
status=0
while read -r local_ref local_sha remote_ref remote_sha; do
    case $remote_ref in
        refs/tags/*) tag=${{remote_ref#refs/tags/}} ;;
        *) continue ;;
    esac
    case $local_sha in
        *[!0]*) ;;
        *) continue ;;  # all zeros: the tag is being deleted
    esac
    is_release_tag "$tag" || continue
    # The tag's own name when the local tag is what is pushed, else the pushed commit.
    if [ "$local_ref" = "$remote_ref" ]; then
        head=$tag
    else
        head=$local_sha
    fi
    echo "phasectl hook: checking release tag $tag" >&2
    # </dev/null: the check must not read the rest of git's list of refs.
    run_phasectl --repo "$top" check --head "$head" </dev/null || {{
        code=$?
        echo "phasectl hook: push of tag $tag blocked: 'phasectl check' failed" \\
            "(exit $code); fix it, or skip the check with 'git push --no-verify'" >&2
        status=1
    }}
done <"$refs_file"
exit "$status"
"""


def is_release_tag(config: Config, tag: str) -> bool:
    """Whether pushing ``tag`` is checked: ``<tag_prefix>*`` or a ``release_tags`` glob,
    matched as the installed hook's shell ``case`` matches them."""
    import fnmatch

    return tag.startswith(config.tag_prefix) or any(
        fnmatch.fnmatchcase(tag, pattern) for pattern in config.release_tags
    )


def pushed_release_tag(config: Config, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """The release tag the pre-commit framework's pre-push stage is pushing, as (tag name,
    what to check), or ``None`` for a branch or any other tag.

    pre-commit names the ref in ``PRE_COMMIT_REMOTE_BRANCH`` and the pushed commit in
    ``PRE_COMMIT_TO_REF``; ``PhasectlError`` when neither is set (not run by pre-commit).
    """
    remote_ref = environ.get("PRE_COMMIT_REMOTE_BRANCH")
    if remote_ref is None:
        raise PhasectlError(
            "PRE_COMMIT_REMOTE_BRANCH is not set: 'phasectl hook check-push' is for the "
            "pre-push stage of the pre-commit framework; run 'phasectl check' directly instead"
        )
    if not remote_ref.startswith("refs/tags/"):
        return None
    tag = remote_ref.removeprefix("refs/tags/")
    if not is_release_tag(config, tag):
        return None
    local = environ.get("PRE_COMMIT_LOCAL_BRANCH", "")
    pushed = environ.get("PRE_COMMIT_TO_REF", "")
    # The tag's own name when the local tag is what is pushed, else the pushed commit.
    return tag, tag if local == remote_ref or not pushed else pushed


@dataclass(frozen=True)
class HookInstalled:
    """Where the hook went, and the other tool's hook it runs first (if any)."""

    path: Path
    chained: Path | None
    replaced: bool
    """An earlier phasectl hook was replaced."""


@dataclass(frozen=True)
class HookRemoved:
    """What ``uninstall_hook`` did: ``removed`` is ``None`` when there was no hook."""

    removed: Path | None
    restored: Path | None
    """The chained hook, back under its own name."""


def render_pre_push(config: Config, python: str) -> str:
    """The pre-push script for ``config``'s tag prefix and release tags, running ``python``."""
    # A pattern must stay unquoted in the case pattern to act as a glob; a case
    # pattern is only matched, never run, so no pattern can inject a command.
    tests = "".join(
        f"    pattern={shlex.quote(pattern)}\n"
        "    case $1 in\n"
        "        $pattern) return 0 ;;\n"
        "    esac\n"
        for pattern in config.release_tags
    )
    return _PRE_PUSH.format(
        marker=MARKER,
        chained_name=f"pre-push{CHAINED_SUFFIX}",
        tag_prefix=shlex.quote(config.tag_prefix),
        python=shlex.quote(python),
        pattern_tests=tests,
        suffix=CHAINED_SUFFIX,
    )


def is_managed(path: Path) -> bool:
    """Whether ``path`` is a file holding phasectl's marker line."""
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return False
    return MARKER in text.splitlines()


def _exists(path: Path) -> bool:
    # A dangling symlink is still somebody's hook.
    return os.path.lexists(path)


def _move(source: Path, target: Path) -> None:
    try:
        source.rename(target)
    except OSError as exc:
        raise PhasectlError(f"cannot move {source} to {target}: {exc.strerror}") from None


def _hook_paths(repo: Repository, hook_type: str) -> tuple[Path, Path]:
    if hook_type not in HOOK_TYPES:
        raise PhasectlError(f"unknown hook type {hook_type!r}; phasectl installs {HOOK_TYPES}")
    folder = repo.hooks_dir()
    return folder / hook_type, folder / f"{hook_type}{CHAINED_SUFFIX}"


def install_hook(
    repo: Repository,
    config: Config,
    hook_type: str = "pre-push",
    *,
    chain: bool = False,
    python: str | None = None,
) -> HookInstalled:
    """Write phasectl's hook into the repository's hooks folder (``core.hooksPath`` aware).

    A hook without phasectl's marker is never overwritten: ``PhasectlError`` unless
    ``chain``, which moves it to ``<hook>.phasectl-chained`` for phasectl's hook to run
    first. phasectl's own hook is replaced. ``python`` defaults to this interpreter.
    """
    path, chained = _hook_paths(repo, hook_type)
    script = render_pre_push(config, sys.executable if python is None else python)
    if path.is_dir() and not path.is_symlink():
        raise PhasectlError(f"{path} is a folder; remove it and retry")
    replaced = _exists(path) and is_managed(path)
    moved = False
    if _exists(path) and not replaced:
        if not chain:
            raise PhasectlError(
                f"{path} exists and was not written by phasectl; pass --chain to run it "
                "first and then phasectl, or remove it"
            )
        if _exists(chained):
            raise PhasectlError(
                f"{chained} exists already, so {path} cannot be chained; "
                "merge or remove one of them and retry"
            )
        _move(path, chained)
        moved = True
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, script.encode())
        mode = stat.S_IMODE(path.stat().st_mode)
        path.chmod(mode | stat.S_IXUSR | ((mode & 0o044) >> 2))  # x wherever r
    except OSError as exc:
        if moved:
            _move(chained, path)
        raise PhasectlError(f"cannot install {path}: {exc.strerror}") from None
    except BaseException:
        if moved:
            _move(chained, path)
        raise
    return HookInstalled(path, chained if _exists(chained) else None, replaced)


def uninstall_hook(repo: Repository, hook_type: str = "pre-push") -> HookRemoved:
    """Remove phasectl's hook and put a chained hook back under its own name.

    A hook without phasectl's marker is left alone: ``PhasectlError`` naming it.
    """
    path, chained = _hook_paths(repo, hook_type)
    removed = None
    if _exists(path):
        if not is_managed(path):
            raise PhasectlError(
                f"{path} was not written by phasectl; leaving it (remove it yourself if unwanted)"
            )
        try:
            path.unlink()
        except OSError as exc:
            raise PhasectlError(f"cannot remove {path}: {exc.strerror}") from None
        removed = path
    restored = None
    if _exists(chained):
        _move(chained, path)
        restored = path
    return HookRemoved(removed, restored)
