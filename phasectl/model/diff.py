"""The diff between two refs: refs, changed files and their totals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

SCHEMA = "phasectl/1"

Status = Literal["created", "modified", "deleted", "renamed", "copied", "type_changed"]
STATUSES: tuple[Status, ...] = get_args(Status)


@dataclass(frozen=True)
class RefInfo:
    """A revision as the user named it and the object it resolved to."""

    ref: str
    sha: str

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "sha": self.sha}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RefInfo:
        return cls(ref=data["ref"], sha=data["sha"])


@dataclass(frozen=True)
class FileChange:
    """One path in the diff, as git reports it.

    ``added``/``removed`` are ``None`` for binary files. Modes are git's octal strings
    (``100644`` file, ``100755`` executable, ``120000`` symlink, ``160000`` submodule),
    ``None`` on the side where the path does not exist. ``excluded`` marks files left
    out of the authored line counts (lock files, generated files).
    """

    path: str
    status: Status
    added: int | None
    removed: int | None
    binary: bool
    old_path: str | None = None
    old_mode: str | None = None
    new_mode: str | None = None
    similarity: int | None = None
    excluded: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "old_path": self.old_path,
            "status": self.status,
            "added": self.added,
            "removed": self.removed,
            "binary": self.binary,
            "old_mode": self.old_mode,
            "new_mode": self.new_mode,
            "similarity": self.similarity,
            "excluded": self.excluded,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FileChange:
        if data["status"] not in STATUSES:
            raise ValueError(f"unknown file status {data['status']!r}")
        return cls(
            path=data["path"],
            status=cast(Status, data["status"]),
            added=data["added"],
            removed=data["removed"],
            binary=data["binary"],
            old_path=data.get("old_path"),
            old_mode=data.get("old_mode"),
            new_mode=data.get("new_mode"),
            similarity=data.get("similarity"),
            excluded=data.get("excluded", False),
        )


@dataclass(frozen=True)
class DiffTotals:
    """Counts over a diff. Binary files count as files but add no lines."""

    files_created: int = 0
    files_modified: int = 0
    files_deleted: int = 0
    files_renamed: int = 0
    files_copied: int = 0
    files_type_changed: int = 0
    files_binary: int = 0
    lines_added: int = 0
    lines_removed: int = 0
    authored_lines_added: int = 0
    authored_lines_removed: int = 0

    @classmethod
    def of(cls, files: tuple[FileChange, ...]) -> DiffTotals:
        """Sum the figures of ``files``."""
        by_status = dict.fromkeys(STATUSES, 0)
        added = removed = authored_added = authored_removed = binary = 0
        for change in files:
            by_status[change.status] += 1
            binary += change.binary
            added += change.added or 0
            removed += change.removed or 0
            if not change.excluded:
                authored_added += change.added or 0
                authored_removed += change.removed or 0
        return cls(
            files_created=by_status["created"],
            files_modified=by_status["modified"],
            files_deleted=by_status["deleted"],
            files_renamed=by_status["renamed"],
            files_copied=by_status["copied"],
            files_type_changed=by_status["type_changed"],
            files_binary=binary,
            lines_added=added,
            lines_removed=removed,
            authored_lines_added=authored_added,
            authored_lines_removed=authored_removed,
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DiffTotals:
        return cls(**{k: int(v) for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class DiffResult:
    """What changed between two trees."""

    files: tuple[FileChange, ...]
    totals: DiffTotals
    merge_base: bool = False

    @classmethod
    def of(cls, files: tuple[FileChange, ...], *, merge_base: bool = False) -> DiffResult:
        return cls(files=files, totals=DiffTotals.of(files), merge_base=merge_base)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": [f.to_dict() for f in self.files],
            "totals": self.totals.to_dict(),
            "merge_base": self.merge_base,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DiffResult:
        return cls(
            files=tuple(FileChange.from_dict(f) for f in data["files"]),
            totals=DiffTotals.from_dict(data["totals"]),
            merge_base=bool(data.get("merge_base", False)),
        )
