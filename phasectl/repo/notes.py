"""Git notes: where snapshots are kept (``refs/notes/phasectl`` and fetched copies)."""

from __future__ import annotations

from pathlib import Path

from phasectl.errors import GitCommandError
from phasectl.repo.base import GitBase, git_reason


class Notes(GitBase):
    """Read and write notes, safely against concurrent writers."""

    # The fetched notes refs, listed once per Repository (an instance attribute once set).
    _fetched_notes: list[str] | None = None

    def fetched_notes_refs(self, notes_ref: str) -> list[str]:
        """The notes refs ``git fetch`` brought from remotes for ``refs/notes/<name>``
        (``refs/notes/remotes/<remote>/<name>``, as ``phasectl init --notes`` sets up)."""
        if self._fetched_notes is None:
            out = self.run("for-each-ref", "--format=%(refname)", "refs/notes/remotes/")[1]
            self._fetched_notes = out.decode("utf-8", "surrogateescape").split()
        name = notes_ref.rsplit("/", 1)[-1]
        return [ref for ref in self._fetched_notes if ref.rsplit("/", 1)[-1] == name]

    def read_note(self, notes_ref: str, sha: str) -> bytes | None:
        """The note on ``sha`` under ``notes_ref``, or ``None`` when there is none."""
        status, out, _ = self.run("notes", f"--ref={notes_ref}", "show", sha, check=False)
        return out if status == 0 else None

    def write_note(self, notes_ref: str, sha: str, data: bytes, *, attempts: int = 10) -> None:
        """Attach ``data`` as the note on ``sha``, safely against concurrent writers.

        The note is written on a private scratch ref that starts at the current notes
        commit; the shared ref then moves with a compare-and-swap (``update-ref NEW OLD``),
        so a writer that raced us makes us retry on top of its commit instead of being lost.
        """
        import tempfile
        import uuid

        full = notes_ref if notes_ref.startswith("refs/") else f"refs/notes/{notes_ref}"
        # git notes --ref only takes refs under refs/notes/.
        scratch = f"refs/notes/phasectl-tmp-{uuid.uuid4().hex}"
        with tempfile.NamedTemporaryFile(prefix="phasectl-note-", delete=False) as handle:
            handle.write(data)
        try:
            for _ in range(attempts):
                status, out, _ = self.run("rev-parse", "--verify", "--quiet", full, check=False)
                old = out.decode().strip() if status == 0 else ""
                if old:
                    self.run("update-ref", scratch, old)
                self.run("notes", f"--ref={scratch}", "add", "--force", "-F", handle.name, sha)
                new = self._text("rev-parse", "--verify", scratch)
                swapped, _, err = self.run(
                    "update-ref", "-m", "phasectl: snapshot", full, new, old or "0" * len(new),
                    check=False,
                )  # fmt: skip
                self.run("update-ref", "-d", scratch, check=False)
                if swapped == 0:
                    return
                now = self.run("rev-parse", "--verify", "--quiet", full, check=False)[1]
                if now.decode().strip() == old:
                    # Nobody else moved the ref: the failure is not a race (a lock, a full disk).
                    raise GitCommandError(f"could not update {full}: {git_reason(err, swapped)}")
            raise GitCommandError(f"could not update {full}: other writers kept changing it")
        finally:
            Path(handle.name).unlink()
