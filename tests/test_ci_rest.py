"""phasectl.ci.rest against a real HTTP server on the loopback interface."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from phasectl.ci.rest import ApiError, RestClient, next_link

from support.ci_api import Forge, loopback_forge

LIST = "/repos/octo/calc/issues/7/comments"


@pytest.fixture
def forge(monkeypatch: pytest.MonkeyPatch) -> Iterator[Forge]:
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    with loopback_forge() as found:
        yield found


def client(forge: Forge) -> RestClient:
    return RestClient(f"{forge.url}/api/v3", forge.credential)


def test_every_page_is_read(forge: Forge) -> None:
    keys = [forge.add("octo/calc#7", f"comment {n}") for n in range(5)]
    items = client(forge).get_all(f"{LIST}?per_page=100")
    assert [item["id"] for item in items] == keys
    assert [r.query.get("page") for r in forge.requests] == [None, ["2"], ["3"]]
    assert all(r.query["per_page"] == ["100"] for r in forge.requests)
    assert {r.headers["authorization"] for r in forge.requests} == {f"Bearer {forge.credential}"}
    assert {r.headers["user-agent"] for r in forge.requests} == {"phasectl"}


def test_create_and_update(forge: Forge) -> None:
    api = client(forge)
    created = api.request("POST", LIST, {"body": "hello"})
    assert created.status == 201
    key = created.data["id"]
    updated = api.request("PATCH", f"/repos/octo/calc/issues/comments/{key}", {"body": "bye"})
    assert updated.status == 200
    assert forge.comments["octo/calc#7"][0]["body"] == "bye"
    assert forge.requests[0].headers["content-type"] == "application/json"


def test_an_error_carries_its_status_and_never_the_token(forge: Forge) -> None:
    forge.refuse_writes = 403
    with pytest.raises(ApiError) as caught:
        client(forge).request("POST", LIST, {"body": "x"})
    assert caught.value.status == 403
    message = str(caught.value)
    assert message.startswith(f"POST {forge.url}/api/v3{LIST}: HTTP 403 Forbidden: Resource not")
    assert forge.credential not in message
    assert "Bearer ***" in message  # the server quoted it back; phasectl does not


def test_the_token_is_not_in_the_clients_repr(forge: Forge) -> None:
    assert forge.credential not in repr(client(forge))


def test_a_bad_token_is_a_401(forge: Forge) -> None:
    with pytest.raises(ApiError) as caught:
        RestClient(f"{forge.url}/api/v3", "wrong-token").get_all(LIST)
    assert caught.value.status == 401
    assert "wrong-token" not in str(caught.value)


def test_no_token_follows_a_redirect_or_a_link_elsewhere(forge: Forge) -> None:
    with loopback_forge() as elsewhere:
        forge.redirect_to = elsewhere.url
        with pytest.raises(ApiError) as caught:
            client(forge).request("GET", LIST)
        assert caught.value.status == 307
        forge.redirect_to = None
        # A next-page link to another host is refused before anything is sent there.
        forge.link_base = elsewhere.url
        for text in "abc":
            forge.add("octo/calc#7", text)
        with pytest.raises(ApiError, match="refusing to send the token"):
            client(forge).get_all(LIST)
        assert elsewhere.requests == []


def test_an_unreachable_api_has_no_status() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ApiError) as caught:
        RestClient(f"http://127.0.0.1:{port}", "t0ken-value").request("GET", "/x")
    assert caught.value.status is None
    assert "t0ken-value" not in str(caught.value)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            '<https://a/x?page=2>; rel="next", <https://a/x?page=9>; rel="last"',
            "https://a/x?page=2",
        ),
        ('<https://a/x?page=1>; rel="prev", <https://a/x?page=3>; rel=next', "https://a/x?page=3"),
        ('<https://a/x?page=3>; rel="last next"', "https://a/x?page=3"),
        ('<https://a/x?page=9>; rel="last"', None),
        ("", None),
        (None, None),
    ],
)
def test_next_link(header: str | None, expected: str | None) -> None:
    assert next_link(header) == expected


def test_not_an_http_url() -> None:
    with pytest.raises(ApiError, match="not an http"):
        RestClient("file:///etc", "x")


@pytest.mark.parametrize("token", ["", "two words", "line\nbreak", "caf\u00e9"])
def test_a_token_a_header_cannot_carry_is_refused_first(token: str) -> None:
    with pytest.raises(ApiError, match="cannot carry") as caught:
        RestClient("https://api.github.com", token)
    assert token.strip() == "" or token not in str(caught.value)
