"""Refs, commits and tags: resolving what the user names, and phasectl's own tags."""

from __future__ import annotations

import re

from phasectl.errors import RefError, ShallowCloneError
from phasectl.repo.base import GitBase

_TAG_LIKE = re.compile(r"^(refs/tags/|tags/)|^v?\d+(\.\d+)*([-.][\w.]+)?$")
# Revision expressions that name a set of commits, not one: ^x, a..b, a...b, x^@, x^!, x^-.
# (No ref name can contain "..", start with "^" or hold "^@"/"^!": git check-ref-format.)
_NOT_ONE_REVISION = re.compile(r"^\^|\.\.|\^[@!]|\^-\d*$")


class Refs(GitBase):
    """Resolve revisions, read and move refs, make tags."""

    def resolve_commit(self, rev: str, *, tag_prefix: str = "phase/") -> str:
        """Return the full SHA of the commit ``rev`` names (tags peeled); ``RefError`` if none,
        or if ``rev`` is an expression for several commits (a range or an exclusion)."""
        if _NOT_ONE_REVISION.search(rev):
            raise RefError(
                f"'{rev}' names a range or an exclusion, not one commit; pass a single branch, "
                "tag or commit (for a range, use --base and --head)"
            )
        status, out, _ = self.run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", check=False
        )
        if status == 0:
            return out.decode("ascii").strip()
        message = f"unknown revision '{rev}'"
        looks_like_tag = rev.startswith(tag_prefix) or bool(_TAG_LIKE.search(rev))
        # rev-parse accepts any well-formed SHA; cat-file says whether the object is here.
        named, oid, _ = self.run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", rev, check=False
        )
        if named == 0 and self.run("cat-file", "-e", oid.decode().strip(), check=False)[0] == 0:
            raise RefError(f"'{rev}' does not name a commit; pass a branch, tag or commit SHA")
        if self.is_shallow():
            raise ShallowCloneError(
                f"{message}: this is a shallow clone and its history may not reach it; "
                "run 'git fetch --unshallow --tags' (in CI: fetch-depth: 0) and retry"
            )
        if looks_like_tag:
            raise RefError(f"{message}; if it is a tag on the remote, run 'git fetch --tags' first")
        raise RefError(f"{message}; check the name with 'git log --oneline --decorate'")

    def tags_at(self, sha: str) -> list[str]:
        """The tags pointing at ``sha``."""
        out = self.run("tag", "--points-at", sha)[1]
        return [name for name in out.decode("utf-8", "surrogateescape").splitlines() if name]

    def default_tag(self, head_sha: str, prefix: str) -> str | None:
        """The nearest tag reachable from commit ``head_sha`` whose name starts with
        ``prefix``, else the nearest of any name, leaving out the tags on ``head_sha`` (they
        close this phase); ``None`` when there is none."""
        exclude = [f"--exclude={name}" for name in self.tags_at(head_sha)]
        for pattern in (f"{prefix}*", None):  # the prefix has no glob characters (config)
            match = [] if pattern is None else [f"--match={pattern}"]
            tag = self.output(["describe", "--tags", "--abbrev=0", *match, *exclude, head_sha])
            if tag:
                return tag
        return None

    def merge_base(self, a: str, b: str) -> str:
        status, out, _ = self.run("merge-base", a, b, check=False)
        if status != 0:
            hint = ""
            if self.is_shallow():
                hint = "; this is a shallow clone: run 'git fetch --unshallow' and retry"
            raise RefError(f"{a[:12]} and {b[:12]} have no common ancestor{hint}")
        return out.decode("ascii").strip()

    def ref_sha(self, ref: str) -> str | None:
        """What ``ref`` (a full ref name) points to, or ``None`` if it does not exist."""
        status, out, _ = self.run("rev-parse", "--verify", "--quiet", ref, check=False)
        return out.decode("ascii").strip() if status == 0 else None

    def restore_ref(self, ref: str, expected: str, previous: str | None) -> None:
        """Move ``ref`` back from ``expected`` to ``previous`` (delete it if ``None``), only if
        nobody moved it meanwhile."""
        if previous is None:
            self.run("update-ref", "-d", ref, expected)
        else:
            self.run("update-ref", "-m", "phasectl: undo", ref, previous, expected)

    def check_tag_name(self, name: str) -> None:
        """Raise ``RefError`` unless ``name`` is a valid tag name that does not exist yet."""
        if (
            name.startswith("-")
            or self.run("check-ref-format", f"refs/tags/{name}", check=False)[0] != 0
        ):
            raise RefError(f"'{name}' is not a valid tag name; choose another phase name")
        if self.ref_sha(f"refs/tags/{name}") is not None:
            from phasectl.quoting import display_path, shell_command

            raise RefError(
                f"tag '{display_path(name)}' already exists; choose another name, or if it "
                f"is wrong delete it with: {shell_command(['git', 'tag', '-d', name])}"
            )

    def create_tag(self, name: str, target: str, message: str) -> None:
        """Create the annotated tag ``name`` on ``target``."""
        self.run("tag", "--annotate", "--cleanup=verbatim", "-m", message, name, target)

    def last_change_outside(self, sha: str, folder: str) -> str:
        """The newest commit at or before ``sha`` that changes something outside ``folder``
        (``sha`` itself when none does)."""
        top = folder.strip("/")
        args = ["rev-list", "-1", sha, "--", ":(top)", f":(top,exclude,literal){top}"]
        return self.output(args) or sha

    def tag_targets(self, prefix: str) -> list[tuple[str, str, str]]:
        """Every tag whose name starts with ``prefix``: (name, peeled object id, object type).

        Annotated tags are peeled all the way (a tag of a tag gives its commit). The type is
        git's (``commit``, ``tree``, ``blob``), or ``missing`` with an empty id when the
        object is not in this repository. Names keep non-UTF-8 bytes (surrogateescape).
        """
        out = self.run("for-each-ref", "--format=%(refname)", "refs/tags")[1]
        # The prefix is compared literally: for-each-ref patterns would read it as a glob.
        names = [
            ref.removeprefix("refs/tags/")
            for ref in out.decode("utf-8", "surrogateescape").splitlines()
            if ref.startswith(f"refs/tags/{prefix}")
        ]
        if not names:
            return []
        # Ref names hold no newline or space, so one name per line is unambiguous.
        query = "".join(f"refs/tags/{name}^{{}}\n" for name in names)
        lines = self._run_with_input(
            ["cat-file", "--batch-check=%(objectname) %(objecttype)"],
            query.encode("utf-8", "surrogateescape"),
        ).splitlines()
        found: list[tuple[str, str, str]] = []
        for name, line in zip(names, lines, strict=True):
            oid, _, kind = line.decode("utf-8", "surrogateescape").rpartition(" ")
            if kind in ("missing", "ambiguous") or not oid:
                found.append((name, "", "missing"))
            else:
                found.append((name, oid, kind))
        return found

    def commit_times(self, shas: list[str]) -> dict[str, tuple[int, str]]:
        """Each commit's committer time: (Unix seconds, ``YYYY-MM-DD`` in its own zone)."""
        if not shas:
            return {}
        out = self._run_with_input(
            [
                "log", "--no-walk=unsorted", "--no-show-signature", "--date=short",
                "--format=%H %ct %cd", "--stdin",
            ],
            "".join(f"{sha}\n" for sha in shas).encode("ascii"),
        )  # fmt: skip
        times: dict[str, tuple[int, str]] = {}
        for line in out.decode("ascii").splitlines():
            sha, seconds, day = line.split(" ")
            times[sha] = (int(seconds), day)
        return times

    def history_order(self, shas: list[str]) -> list[str]:
        """``shas`` (distinct commits) as they sit in history, oldest first: every ancestor
        before its descendants, otherwise by committer time (``rev-list --date-order``)."""
        if len(shas) < 2:
            return list(shas)
        wanted = set(shas)
        out = self._run_with_input(
            ["rev-list", "--date-order", "--reverse", "--stdin"],
            "".join(f"{sha}\n" for sha in shas).encode("ascii"),
        )
        return [sha for sha in out.decode("ascii").split() if sha in wanted]

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether ``ancestor`` is ``descendant`` or one of its ancestors."""
        status, _, _ = self.run("merge-base", "--is-ancestor", ancestor, descendant, check=False)
        return status == 0
