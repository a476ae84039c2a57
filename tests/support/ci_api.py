"""A loopback forge for the CI tests: a real HTTP server (``http.server`` in a thread on
127.0.0.1, port 0) answering GitHub's issue-comment and GitLab's merge-request-note REST
endpoints, keeping the comments it was sent and recording every request.

It pages lists by ``page_size`` (smaller than the client's ``per_page``, as a real API may
return fewer) with a ``Link: <...>; rel="next"`` header, checks the token header, and can
be told to refuse writes with a status (a fork's read-only token: 403).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conftest import git, run_cli
from support.projects import CALC, python_project


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    """By lower-case name."""
    body: Any


@dataclass
class Forge:
    """The server's state: comments by thread (``"o/r#7"`` or ``"42!3"``), requests seen."""

    url: str = ""
    credential: str = "ghs_loopbackSECRET0123456789abcdef"
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer "
    page_size: int = 2
    refuse_writes: int | None = None
    redirect_to: str | None = None
    """Answer every request with a 307 to this address (the same path)."""
    link_base: str | None = None
    """Write next-page links to this address instead of the server's own."""
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    next_id: int = 1000

    def add(self, thread: str, body: str, author: str = "someone", **extra: Any) -> int:
        """Put a comment in ``thread`` as a person would; returns its id."""
        self.next_id += 1
        self.comments.setdefault(thread, []).append(
            {"id": self.next_id, "body": body, "user": {"login": author}, **extra}
        )
        return self.next_id

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]


_GITHUB_LIST = re.compile(r"^/api/v3/repos/([^/]+/[^/]+)/issues/(\d+)/comments$")
_GITHUB_ONE = re.compile(r"^/api/v3/repos/([^/]+/[^/]+)/issues/comments/(\d+)$")
_GITLAB_LIST = re.compile(r"^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes$")
_GITLAB_ONE = re.compile(r"^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes/(\d+)$")


def _handler(forge: Forge) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _send(self, status: int, data: Any, link: str | None = None) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            if link:
                self.send_header("Link", link)
            self.end_headers()
            self.wfile.write(raw)

        def _handle(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            header = self.headers.get(forge.auth_header)
            if forge.redirect_to:
                self.send_response(307)
                self.send_header("Location", forge.redirect_to + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                forge.requests.append(Recorded(self.command, parts.path, {}, {}, None))
                return
            forge.requests.append(
                Recorded(
                    self.command,
                    parts.path,
                    urllib.parse.parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
            )
            # A careless server: its errors quote the credential it was sent, so a client
            # that shows an error as it came would leak it.
            if header != forge.auth_scheme + forge.credential:
                self._send(401, {"message": f"Bad credentials: {header}"})
                return
            if self.command != "GET" and forge.refuse_writes:
                message = f"Resource not accessible by integration (sent {header})"
                self._send(forge.refuse_writes, {"message": message})
                return
            self._route(parts, body)

        def _route(self, parts: urllib.parse.SplitResult, body: Any) -> None:
            path = urllib.parse.unquote(parts.path)
            if found := _GITHUB_LIST.match(path) or _GITLAB_LIST.match(path):
                thread = (
                    "#".join(found.groups())
                    if path.startswith("/api/v3")
                    else "!".join(found.groups())
                )
                if self.command == "GET":
                    self._page(thread, parts)
                elif self.command == "POST":
                    key = forge.add(thread, body["body"], author="phasectl-bot")
                    self._send(201, {**self._find(key)[1], "html_url": f"{forge.url}/c/{key}"})
                else:
                    self._send(405, {"message": "method"})
                return
            found = _GITHUB_ONE.match(path) or _GITLAB_ONE.match(path)
            if found:
                key = int(found.groups()[-1])
                expected = "PATCH" if path.startswith("/api/v3") else "PUT"
                hit = self._find(key)
                if hit is None:
                    self._send(404, {"message": "Not Found"})
                elif self.command != expected:
                    self._send(405, {"message": "method"})
                else:
                    hit[1]["body"] = body["body"]
                    self._send(200, {**hit[1], "html_url": f"{forge.url}/c/{key}"})
                return
            self._send(404, {"message": "Not Found"})

        def _find(self, key: int) -> tuple[str, dict[str, Any]] | None:
            for thread, items in forge.comments.items():
                for item in items:
                    if item["id"] == key:
                        return thread, item
            return None

        def _page(self, thread: str, parts: urllib.parse.SplitResult) -> None:
            query = urllib.parse.parse_qs(parts.query)
            page = int(query.get("page", ["1"])[0])
            size = min(int(query.get("per_page", ["30"])[0]), forge.page_size)
            items = forge.comments.get(thread, [])
            chunk = items[(page - 1) * size : page * size]
            link = None
            if page * size < len(items):
                query["page"] = [str(page + 1)]
                target = parts._replace(query=urllib.parse.urlencode(query, doseq=True))
                base = forge.link_base or forge.url
                link = f'<{base}{target.geturl()}>; rel="next", <{base}/x>; rel="last"'
            self._send(200, chunk, link)

        do_GET = do_POST = do_PATCH = do_PUT = _handle

    return Handler


@contextlib.contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[str]:
    """``server`` answering in a thread until the block ends; its base URL."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def loopback_forge() -> Iterator[Forge]:
    """A loopback forge, served until the block ends; GitHub's API (as GitHub Enterprise
    serves it) is ``forge.url + "/api/v3"``, GitLab's ``forge.url + "/api/v4"``."""
    state = Forge()
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))) as url:
        state.url = url
        yield state


def new_pull_request(factory: pytest.TempPathFactory, name: str) -> PullRequest:
    """``build_pull_request`` in a new repository, in the environment a test gets: the
    template a module's tests each copy (``copy_pull_request``)."""
    with isolated_env():
        root = factory.mktemp(name) / "repo"
        root.mkdir()
        git(root, "init", "--quiet", "-b", "main")
        return build_pull_request(root)


# ---- a pull request to comment on -----------------------------------------------------

TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
PR_CALC = CALC + "\n\ndef triple(n):\n    return 3 * n\n\n\ndef unused_too():\n    return None\n"
PR_TESTS = (
    "from calc import add, triple\n\n\ndef test_triple():\n    assert triple(2) == 6\n\n\n"
    "def test_add():\n    assert add(1, 2) == 4\n"
)
UNCOVERED_LINE = PR_CALC.splitlines().index("    return None") + 1


@dataclass(frozen=True)
class PullRequest:
    """A runner's checkout of a pull request: ``repo`` at ``merge`` (the merge commit
    GitHub checks out), ``head`` the pull request's own tip, phase ``1`` tagged at the
    target with its snapshot stored."""

    repo: Path
    head: str
    merge: str


def build_pull_request(repo: Path) -> PullRequest:
    """In the empty repository ``repo``: phase 1 tagged (tests run, snapshot stored), a
    branch that adds an uncovered line and breaks a test, and its merge into main checked
    out detached, as actions/checkout does for a pull_request event."""
    python_project(repo, {"test_calc.py": TESTS})
    assert run_cli("--repo", str(repo), "tag", "1", "-q").exit_code == 0
    git(repo, "switch", "--quiet", "-c", "feature")
    head = python_project(repo, {"test_calc.py": PR_TESTS}, **{"calc.py": PR_CALC})
    git(repo, "switch", "--quiet", "--detach", "main")
    git(repo, "merge", "--quiet", "--no-ff", "-m", "Merge feature into main", "feature")
    return PullRequest(repo, head, git(repo, "rev-parse", "HEAD").strip())


def copy_pull_request(template: PullRequest, to: Path) -> PullRequest:
    shutil.copytree(template.repo, to, symlinks=True)
    return PullRequest(to, template.head, template.merge)


@contextlib.contextmanager
def isolated_env() -> Iterator[pytest.MonkeyPatch]:
    """The environment ``conftest.isolated_git`` gives a test, for a module-scoped fixture."""
    home = Path(tempfile.mkdtemp(prefix="ci-home-"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        patch.delenv("GIT_CONFIG_GLOBAL", raising=False)
        for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
            patch.delenv(name, raising=False)
        for role in ("AUTHOR", "COMMITTER"):
            patch.setenv(f"GIT_{role}_NAME", "Ada Tester")
            patch.setenv(f"GIT_{role}_EMAIL", "ada@example.com")
        try:
            yield patch
        finally:
            shutil.rmtree(home, ignore_errors=True)


def clean_ci_env(patch: pytest.MonkeyPatch) -> None:
    """No CI variable of the machine running the tests leaks into a test."""
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "CI_", "RUNNER_")) or name in (
            "CI", "GITLAB_CI", "GITLAB_TOKEN", "PHASECTL_GITLAB_TOKEN",
        ):  # fmt: skip
            patch.delenv(name)
    # The loopback server is reached directly, whatever proxy the machine names.
    patch.setenv("no_proxy", "127.0.0.1")
    patch.setenv("NO_PROXY", "127.0.0.1")
