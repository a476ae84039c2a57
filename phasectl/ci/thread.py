"""The one comment phasectl keeps in a pull or merge request's thread: found again by its
marker (``phasectl.ci.comment.is_marked``), edited in place, else created."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from phasectl.ci.comment import marked
from phasectl.ci.rest import RestClient


def upsert_comment(
    client: RestClient,
    list_path: str,
    create_path: str,
    update_path: Callable[[int], str],
    update_method: str,
    body: str,
) -> tuple[Literal["created", "updated"], Any]:
    """Read every page of ``list_path``; edit the first marked comment with
    ``update_method`` at ``update_path(id)``, else POST a new one to ``create_path``.
    Returns what was done and the forge's JSON of the comment."""
    found = marked(client.get_all(list_path))
    if found is None:
        return "created", client.request("POST", create_path, {"body": body}).data
    response = client.request(update_method, update_path(found["id"]), {"body": body})
    return "updated", response.data
