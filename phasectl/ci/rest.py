"""A small JSON-over-HTTP client for the forges' REST APIs, on ``urllib.request``.

The token travels in one header, is never followed across a redirect or to another host,
and never appears in an error message (``repr`` of the client leaves it out too). A list
is read page after page, following the ``Link: <...>; rel="next"`` header that GitHub and
GitLab both send.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from phasectl.errors import PhasectlError

MAX_PAGES = 1000
"""Pages read for one list at most (100,000 comments at 100 a page): a server that links
page after page forever is an error, not a hang."""
MAX_BODY = 64 << 20
"""Bytes of one response read at most (a page of 100 comments of 65,536 characters each
is under 27 MB)."""
_LINK = re.compile(r"<([^>]*)>([^,<]*)")
_REL = re.compile(r"""\brel\s*=\s*(?:"([^"]*)"|([^\s;,]+))""", re.IGNORECASE)


class ApiError(PhasectlError):
    """A request failed: ``status`` is the HTTP status, or ``None`` when no response came
    (the host unreachable, a timeout, a body that is not JSON)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Response:
    """A response's status, its ``Link`` header's ``rel="next"`` target, and its JSON."""

    status: int
    data: Any
    next_url: str | None = None


def next_link(header: str | None) -> str | None:
    """The target of ``rel="next"`` in a ``Link`` header (RFC 8288), if any."""
    for link in _LINK.finditer(header or ""):
        for rel in _REL.finditer(link.group(2)):
            if "next" in (rel.group(1) or rel.group(2) or "").lower().split():
                return link.group(1)
    return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect is answered as the error it is: urllib would resend a POST as a GET
    # without its body, and the token must not follow the request elsewhere.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass(frozen=True)
class RestClient:
    """Requests to one API (``base_url``, e.g. ``https://api.github.com``) with a token.

    ``auth_header`` and ``auth_scheme`` say how the token is sent: GitHub's
    ``Authorization: Bearer ...``, GitLab's ``PRIVATE-TOKEN: ...``.
    """

    base_url: str
    token: str = field(repr=False)
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer "
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            shown = _without_query(self.base_url)
            raise ApiError(f"the API address {shown!r} is not an http(s) URL")
        # A header carries printable ASCII only: anything else would fail deep in
        # http.client, in an error that is not this one.
        if not re.fullmatch(r"[!-~]+", self.token):
            raise ApiError("the token is empty or holds a character an HTTP header cannot carry")

    def url(self, path: str) -> str:
        """``path`` (``/repos/o/r/...``) under the base URL; a full URL is taken as it is."""
        if "://" in path:
            return path
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def request(self, method: str, path: str, body: Any = None) -> Response:
        """Send one request (``body`` as JSON) and return the parsed response; raises
        ``ApiError`` for any status outside 2xx, or when no usable response came."""
        url = self.url(path)
        self._same_origin(url)
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
        request.add_header("Accept", "application/json")
        request.add_header("User-Agent", "phasectl")
        for name, value in self.headers.items():
            request.add_header(name, value)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        request.add_unredirected_header(self.auth_header, self.auth_scheme + self.token)
        opener = urllib.request.build_opener(_NoRedirect)
        where = f"{method} {_without_query(url)}"
        try:
            with opener.open(request, timeout=self.timeout_s) as response:
                status, raw = response.status, response.read(MAX_BODY + 1)
                link = response.headers.get("Link")
        except urllib.error.HTTPError as exc:
            try:
                detail = _api_message(exc.read(MAX_BODY)) if exc.fp is not None else ""
            except (OSError, http.client.HTTPException):
                detail = ""
            reason = self._redact(f"{exc.code} {exc.reason}".strip())
            message = f"{where}: HTTP {reason}" + (f": {self._redact(detail)}" if detail else "")
            raise ApiError(message, exc.code) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
            cause = str(getattr(exc, "reason", None) or exc) or type(exc).__name__
            raise ApiError(f"{where}: {self._redact(cause)}") from None
        if len(raw) > MAX_BODY:
            raise ApiError(f"{where}: the response is larger than {MAX_BODY >> 20} MiB", status)
        try:
            parsed = json.loads(raw) if raw.strip() else None
        except ValueError:
            raise ApiError(f"{where}: the response is not JSON", status) from None
        target = next_link(link)
        return Response(status, parsed, urllib.parse.urljoin(url, target) if target else None)

    def get_all(self, path: str) -> list[Any]:
        """Every item of a paginated list, following ``rel="next"`` links to the last page."""
        items: list[Any] = []
        url: str | None = self.url(path)
        seen: set[str] = set()
        while url is not None:
            if url in seen or len(seen) >= MAX_PAGES:
                raise ApiError(f"GET {_without_query(self.url(path))}: the pages never end")
            seen.add(url)
            response = self.request("GET", url)
            if not isinstance(response.data, list):
                raise ApiError(f"GET {_without_query(url)}: the response is not a list")
            items.extend(response.data)
            url = response.next_url
        return items

    def _same_origin(self, url: str) -> None:
        def origin(address: str) -> tuple[str, str]:
            parts = urllib.parse.urlsplit(address)
            return parts.scheme.lower(), parts.netloc.lower()

        if origin(url) != origin(self.base_url):
            # A next-page link elsewhere must not receive the token.
            raise ApiError(
                f"refusing to send the token to {_without_query(url)}: "
                f"it is not on {_without_query(self.base_url)}"
            )

    def _redact(self, text: str) -> str:
        return text.replace(self.token, "***") if self.token else text


def _without_query(url: str) -> str:
    """``url`` as an error message shows it: no query, no fragment, no user or password."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=host, query="", fragment="").geturl()


def _api_message(raw: bytes) -> str:
    """The ``message`` (GitHub) or ``message``/``error`` (GitLab) of an error body, one line."""
    try:
        data = json.loads(raw)
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    text = data.get("message") or data.get("error") or ""
    if not isinstance(text, str):
        text = json.dumps(text)
    return " ".join(text.split())[:300]
