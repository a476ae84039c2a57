"""Child processes: run a command, stream or summarise its output, stop it on a signal.

Each test run starts in its own process group (and session), so Ctrl-C in a terminal
reaches phasectl alone. phasectl then forwards that one signal, once, to the whole group,
waits for it to finish (SIGKILL after ``_GRACE_S``), cleans up, and exits 130 (SIGINT) or
143 (SIGTERM): see ``interruptible``.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from phasectl.errors import PhasectlError

_PROGRESS_EVERY_S = 15.0


_GRACE_S = 10.0


Echo = Callable[[str], None]


# Set by pytest and pytest-xdist for their own processes; inherited by the project's run
# (when phasectl itself runs under pytest) they change its behaviour, e.g.
# pytest-benchmark writes no JSON when it believes it is an xdist worker.
_PYTEST_INTERNAL_ENV = (
    "PYTEST_CURRENT_TEST",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    "PYTEST_XDIST_TESTRUNUID",
)


# Set by git for hooks (or by the user) to name phasectl's repository; a test run works in
# its own checkout (the work tree or a temporary worktree) and its git calls must find that.
_GIT_REPOSITORY_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_PREFIX",
)


def child_env() -> dict[str, str]:
    """The environment of a test run: phasectl's own, without the variables above."""
    dropped = (*_PYTEST_INTERNAL_ENV, *_GIT_REPOSITORY_ENV, "PHASECTL_PYTHON")
    return {k: v for k, v in os.environ.items() if k not in dropped}


# Colour codes, kept on the terminal but not in the lines quoted in error messages.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def wants_colour(quiet: bool) -> bool:
    """Whether the test run's streamed output should keep its colours: standard error is a
    terminal, the output is shown, and ``NO_COLOR`` (https://no-color.org) is not set."""
    return not quiet and not os.environ.get("NO_COLOR") and sys.stderr.isatty()


def _stream(proc: subprocess.Popen[bytes], tail: collections.deque[str], quiet: bool) -> None:
    assert proc.stdout is not None
    out = sys.stderr.buffer if hasattr(sys.stderr, "buffer") else None
    for raw in iter(proc.stdout.readline, b""):
        tail.append(_ANSI.sub("", raw.decode("utf-8", "replace").rstrip("\n")))
        if not quiet and proc.pid not in _SILENCED:
            if out is not None:
                out.write(raw)
                out.flush()
            else:
                sys.stderr.write(raw.decode("utf-8", "replace"))


def run_streaming(
    command: Sequence[str], cwd: Path, env: dict[str, str], *, quiet: bool, echo: Echo,
    run: str = "head", progress: Path | None = None, timeout: float | None = None,
) -> tuple[int, list[str]]:  # fmt: skip
    """Run ``command``; stream its output to stderr (or show progress if quiet).

    The progress line names the ``run`` ("head" or "base") and, when the run writes the
    count of finished tests to ``progress`` (phasectl's pytest plugin does), that count.
    The command reads nothing: its standard input is ``/dev/null``.

    Returns the exit status and the last lines of output. On Ctrl-C the child is
    stopped too and ``KeyboardInterrupt`` propagates, so callers' cleanup runs. After
    ``timeout`` seconds its process group is stopped as Ctrl-C would stop it, and
    ``TimedOut`` is raised.
    """
    try:
        proc = subprocess.Popen(
            list(command), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    except FileNotFoundError:
        raise PhasectlError(
            f"test command not found: '{command[0]}'; check test_command or python in the "
            "phasectl config"
        ) from None
    except PermissionError:
        raise PhasectlError(f"test command '{command[0]}' is not executable") from None
    tail: collections.deque[str] = collections.deque(maxlen=20)
    assert proc.stdout is not None
    reader = threading.Thread(target=_stream, args=(proc, tail, quiet), daemon=True)
    reader.start()
    done = threading.Event()
    if quiet:
        threading.Thread(target=_progress, args=(done, echo, run, progress), daemon=True).start()
    _RUNNING.add(proc)
    expired = threading.Event()
    timer = None
    if timeout is not None:

        def expire() -> None:
            expired.set()
            _stop(proc)

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
    try:
        # A blocking wait: Popen.wait(timeout) polls with sleeps and would add latency.
        status = proc.wait()
    except BaseException:
        _stop(proc)
        raise
    finally:
        if timer is not None:
            timer.cancel()
            if expired.is_set():
                timer.join()  # the group's last processes are killed
        done.set()
        _RUNNING.discard(proc)
        _SILENCED.discard(proc.pid)
        reader.join(timeout=5)
        proc.stdout.close()
    if expired.is_set():
        raise TimedOut(timeout or 0.0, list(tail))
    return status, list(tail)


class TimedOut(PhasectlError):
    """A test run took longer than ``test_timeout``; its process group was stopped."""

    def __init__(self, seconds: float, tail: list[str]) -> None:
        super().__init__(
            f"the test run timed out after {seconds:g} s (test_timeout or --test-timeout)",
            details=indented_lines(tail).splitlines(),
        )
        self.seconds = seconds


def finished_tests(progress: Path | None) -> int | None:
    """The count of finished tests the run last wrote to ``progress`` (``None``: unknown)."""
    if progress is None:
        return None
    try:
        return int(progress.read_text(encoding="ascii"))
    except (OSError, ValueError):
        return 0 if progress.parent.is_dir() else None


def progress_line(run: str, seconds: float, finished: int | None) -> str:
    """``phasectl: head run still running: 42 tests finished (15 s)``."""
    count = "" if finished is None else f": {finished} test{'s' * (finished != 1)} finished"
    return f"phasectl: {run} run still running{count} ({seconds:.0f} s)"


def _progress(done: threading.Event, echo: Echo, run: str, progress: Path | None) -> None:
    started = time.monotonic()
    while not done.wait(_PROGRESS_EVERY_S):
        echo(progress_line(run, time.monotonic() - started, finished_tests(progress)))


# Test processes now running, so the main thread can stop them on Ctrl-C even when a
# background thread started them.
_RUNNING: set[subprocess.Popen[bytes]] = set()
# Of those, the ones whose output is no longer shown (see ``stop_running``), by pid.
_SILENCED: set[int] = set()


def stop_running() -> None:
    """Stop every test process phasectl started that is still running.

    Stopped for a reason of phasectl's own (an error elsewhere, not a signal it received),
    a run's answer to the stop (pytest's ``KeyboardInterrupt`` traceback) is no news: it is
    kept out of the output, so the error is what the user reads."""
    running = list(_RUNNING)
    if _received is None:
        _SILENCED.update(proc.pid for proc in running)
    for proc in running:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Forward the signal phasectl received (SIGINT when it stops a run for another
    reason) to the run's process group, once; wait; then kill what is left of the group."""
    if proc.poll() is None:
        _signal_group(proc.pid, _received or signal.SIGINT)
        try:
            proc.wait(timeout=_GRACE_S)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
    # Grandchildren (pytest-xdist workers, a test's own servers) go with their run.
    _signal_group(proc.pid, signal.SIGKILL)


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived. A ``KeyboardInterrupt``, so every cleanup that handles
    Ctrl-C (temporary worktrees and folders, undoing a tag) handles SIGTERM too."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# The first signal of this run, forwarded to the children; later ones are ignored.
_received: int | None = None


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Within this block (in the main thread), the first SIGINT or SIGTERM raises
    ``Interrupted``; any signal after it is ignored, so the cleanup it starts finishes."""
    global _received
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: object) -> None:
        global _received
        if _received is None:
            _received = signum
            raise Interrupted(signum)

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    _received = None
    for signum in previous:
        signal.signal(signum, handle)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            # None: a handler not set from Python (embedding); nothing to put back then.
            if handler is not None:
                signal.signal(signum, handler)
        _received = None


def last_lines(tail: list[str], count: int = 8) -> str:
    lines = [line for line in tail if line.strip()][-count:]
    return " | ".join(line.strip() for line in lines)


def indented_lines(tail: list[str], count: int = 8) -> str:
    """The last ``count`` lines that are not blank, each on its own line, indented: as a
    warning or error shows a command's own output."""
    lines = [line.rstrip() for line in tail if line.strip()][-count:]
    return "\n".join(f"    {line}" for line in lines)
