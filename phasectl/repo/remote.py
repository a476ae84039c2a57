"""Remotes, pushes, hooks and repository settings."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from phasectl.errors import GitCommandError
from phasectl.repo.base import GitBase, git_reason


def _push_reason(err: str, status: int) -> str:
    """git's own reason a push failed: its rejected refs (`` ! [rejected] a -> a (fetch
    first)``) and what the remote's hooks said, else its error line."""
    lines = [line.strip() for line in err.splitlines()]
    said = [line for line in lines if line.startswith("!") or line.startswith("remote:")]
    said = [line for line in said if line.removeprefix("remote:").strip()]
    return "; ".join(said) if said else git_reason(err, status)


class Remotes(GitBase):
    """Remotes and pushes, the hooks folder, and config values."""

    def push(self, remote: str, refspecs: list[str], *, atomic: bool = False) -> None:
        """``git push remote refspecs``; the user's pre-push hooks run. With ``atomic``,
        the remote takes every ref or none (``git push --atomic``)."""
        flags = ["--atomic"] if atomic else []
        status, _, err = self.run("push", "--quiet", *flags, remote, *refspecs, check=False)
        if status != 0:
            raise GitCommandError(f"git push to {remote} failed: {_push_reason(err, status)}")

    def fetch_ref(self, remote: str, ref: str, into: str) -> bool:
        """Fetch ``ref`` from ``remote`` into the local ``into`` (forced, as a remote-tracking
        ref is); ``False`` when the remote does not have it."""
        status, _, err = self.run(
            "fetch", "--quiet", "--no-tags", remote, f"+{ref}:{into}", check=False
        )
        if status == 0:
            return True
        if "couldn't find remote ref" in err:
            return False
        raise GitCommandError(f"git fetch of {ref} from {remote} failed: {git_reason(err, status)}")

    def merge_notes(self, notes_ref: str, other: str, strategy: str) -> None:
        """Merge the notes of ``other`` into ``notes_ref`` (``git notes merge -s strategy``)."""
        status, _, err = self.run(
            "notes", f"--ref={notes_ref}", "merge", "--quiet", "-s", strategy, other, check=False
        )
        if status != 0:
            raise GitCommandError(f"git notes merge of {other} failed: {git_reason(err, status)}")

    def default_remote(self) -> str | None:
        """The remote to share with: the branch's upstream remote, else ``origin``, else the
        first remote; ``None`` without remotes."""
        remotes = self.remotes()
        if not remotes:
            return None
        return self.upstream_remote() or ("origin" if "origin" in remotes else remotes[0])

    def remotes(self) -> list[str]:
        """The names of the configured remotes, in git's order."""
        out = self.run("remote")[1]
        return [name for name in out.decode("utf-8", "surrogateescape").splitlines() if name]

    def upstream_remote(self) -> str | None:
        """The remote of the checked-out branch's upstream, or ``None`` (no branch or upstream,
        or an upstream that is a local branch)."""
        status, out, _ = self.run("symbolic-ref", "--quiet", "HEAD", check=False)
        branch = out.decode("utf-8", "surrogateescape").strip()
        if status != 0 or not branch.startswith("refs/heads/"):
            return None
        key = f"branch.{branch.removeprefix('refs/heads/')}.remote"
        status, out, _ = self.run("config", "--get", key, check=False)
        remote = out.decode("utf-8", "surrogateescape").strip()
        return remote if status == 0 and remote not in ("", ".") else None

    def remote_has_ref(self, remote: str, ref: str, *, timeout: float = 10.0) -> bool:
        """Whether ``remote`` has ``ref``, asked with ``git ls-remote --exit-code``.

        Never prompts (no terminal or SSH password prompt) and gives up after ``timeout``
        seconds; any failure (offline, no access, unknown remote) answers ``False``.
        """
        import signal

        env = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}
        own_ssh = os.environ.get("GIT_SSH_COMMAND") or os.environ.get("GIT_SSH")
        if not own_ssh and self.run("config", "--get", "core.sshCommand", check=False)[0] != 0:
            env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
        args = ["ls-remote", "--exit-code", "--end-of-options", remote, ref]
        try:
            with self._started(
                args, istream=None, with_stdout=False, env=env,
                start_new_session=True,  # so a timeout also stops ssh or a credential helper
            ) as proc:  # fmt: skip
                try:
                    return proc.wait(timeout=timeout) == 0
                except subprocess.TimeoutExpired:
                    if hasattr(os, "killpg"):
                        os.killpg(proc.pid, signal.SIGKILL)
                    return False
        except OSError:
            return False

    # --- hooks and settings (phasectl hook, phasectl init) -----------------------------

    def hooks_dir(self) -> Path:
        """The folder git runs hooks from: ``core.hooksPath`` when set, else ``hooks`` in the
        common git folder (shared by linked worktrees). It may not exist yet."""
        out = self.run("rev-parse", "--git-path", "hooks")[1]
        text = out.decode("utf-8", "surrogateescape").removesuffix("\n")
        # A relative answer is relative to where git ran: the top of the work tree, which
        # is also where git resolves a relative core.hooksPath when it runs hooks.
        return Path(self.work_tree or self.git_dir, text)

    def config_values(self, key: str) -> list[str]:
        """Every value of the multi-valued setting ``key`` (``git config --get-all``)."""
        status, out, err = self.run("config", "--get-all", key, check=False)
        if status == 1 and not err.strip():
            return []  # not set
        if status != 0:
            raise GitCommandError(f"git config --get-all {key} failed: {err.strip()}")
        return out.decode("utf-8", "surrogateescape").splitlines()

    def add_config_value(self, key: str, value: str) -> None:
        """Add one more value to ``key`` in the repository's config (``git config --add``)."""
        self.run("config", "--add", key, value)
