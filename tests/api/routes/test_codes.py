"""Album codes attacked through a real server: another service's (or album's) code answers byte
for byte as a missing one and stays active; album names and the admin token's service are checked
before a code is made; bodies are strict; no error repeats a secret."""

from __future__ import annotations

import httpx
import pytest

from tests.api.routes.tenants import (
    PASTED,
    Tenants,
    answer,
    assert_json_error,
    assert_not_repeated,
    bearer,
    new_album,
)

pytestmark = pytest.mark.integration


def _share(tenants: Tenants, album: str, key: str, **body: object) -> httpx.Response:
    return httpx.post(f"{tenants.api}/v1/albums/{album}/codes", json=body, headers=bearer(key))


def _missing_code_id(tenants: Tenants) -> str:
    """A code id of the right shape that no code has."""
    listed = httpx.get(
        f"{tenants.api}/v1/albums/{new_album()}/codes",
        params={"all": "true"},
        headers=tenants.server.headers,
    )
    assert listed.status_code == 200
    for candidate in ("2222", "3333", "4444", "5555"):
        found = httpx.delete(f"{tenants.api}/v1/codes/{candidate}", headers=bearer(tenants.b))
        if found.json()["error"]["code"] == "code.not_found":
            return candidate
    raise AssertionError("no free code id")


@pytest.mark.parametrize("attacker", ["another service", "another album"])
def test_revoking_a_code_one_cannot_reach_answers_as_a_missing_code(
    tenants: Tenants, attacker: str
) -> None:
    album = new_album()
    made = _share(tenants, album, tenants.a).json()
    key = tenants.b if attacker == "another service" else tenants.a_other_album
    missing = _missing_code_id(tenants)

    theirs = httpx.delete(f"{tenants.api}/v1/codes/{made['code_id']}", headers=bearer(key))
    absent = httpx.delete(f"{tenants.api}/v1/codes/{missing}", headers=bearer(key))

    assert_json_error(theirs, 404, "code.not_found")
    assert answer(theirs) == (
        absent.status_code,
        absent.content.replace(missing.encode(), made["code_id"].encode()),
    )
    listed = httpx.get(f"{tenants.api}/v1/albums/{album}/codes", headers=bearer(tenants.a))
    assert [(c["code_id"], c["state"]) for c in listed.json()["items"]] == [
        (made["code_id"], "active")
    ]
    session = httpx.post(f"{tenants.api}/v1/parent/session", json={"code": made["code"]})
    assert session.status_code == 201, session.text  # the code still opens the album


def test_listings_are_scoped_to_the_service(tenants: Tenants) -> None:
    album = new_album()
    _share(tenants, album, tenants.a).raise_for_status()
    _share(tenants, album, tenants.b).raise_for_status()

    ours = httpx.get(f"{tenants.api}/v1/albums/{album}/codes", headers=bearer(tenants.a))
    theirs = httpx.get(f"{tenants.api}/v1/albums/{album}/codes", headers=bearer(tenants.b))

    assert [c["service"] for c in ours.json()["items"]] == ["school-a"]
    assert [c["service"] for c in theirs.json()["items"]] == ["school-b"]
    other_album = httpx.get(
        f"{tenants.api}/v1/albums/{album}/codes", headers=bearer(tenants.a_other_album)
    )
    assert_json_error(other_album, 404, "album.not_found")


@pytest.mark.parametrize("kind", sorted(PASTED))
def test_an_album_named_after_a_secret_is_not_shared_nor_repeated(
    tenants: Tenants, kind: str
) -> None:
    pasted = PASTED[kind]
    for response in (
        _share(tenants, pasted, tenants.a),
        _share(tenants, pasted, tenants.server.admin_token, service="school-a"),
        httpx.get(f"{tenants.api}/v1/albums/{pasted}/codes", headers=bearer(tenants.a)),
        httpx.delete(f"{tenants.api}/v1/codes/{pasted}", headers=bearer(tenants.a)),
        _share(tenants, new_album(), tenants.a, expires=pasted),
        _share(tenants, new_album(), tenants.server.admin_token, service=pasted),
    ):
        assert response.status_code in (400, 404), response.text
        assert response.headers["content-type"].startswith("application/json")
        assert_not_repeated(response, pasted)


@pytest.mark.parametrize(
    ("album", "status", "code"),
    [
        ("a" * 200, 404, "album.not_found"),
        ("-leading-dash", 404, "album.not_found"),
        ("sp ace", 404, "album.not_found"),
    ],
)
def test_album_names_are_checked_before_a_code_is_made(
    tenants: Tenants, album: str, status: int, code: str
) -> None:
    for key in (tenants.a, tenants.server.admin_token):
        response = (
            _share(tenants, album, key, service="school-a")
            if key != tenants.a
            else (_share(tenants, album, key))
        )
        assert_json_error(response, status, code)


@pytest.mark.parametrize("service", ["School A", "", "a" * 33, "school_a"])
def test_the_admin_token_names_a_valid_service(tenants: Tenants, service: str) -> None:
    response = _share(tenants, new_album(), tenants.server.admin_token, service=service)
    error = assert_json_error(response, 400, "request.invalid")
    assert error["field"] == "service"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"expires": 30}, "expires"),
        ({"expires": True}, "expires"),
        ({"note": 5}, "note"),
        ({"expiry": "30d"}, "expiry"),
    ],
)
def test_a_share_request_is_strictly_typed(
    tenants: Tenants, body: dict[str, object], field: str
) -> None:
    error = assert_json_error(
        _share(tenants, new_album(), tenants.a, **body), 400, "request.invalid"
    )
    assert error["field"] == field


@pytest.mark.parametrize(
    "note",
    ["class 3B\x1b[2J\x1b[31mrevoked", "3B\x00", "3B\u202eevil", "3B\u200b", "3B\r\nforged line"],
)
def test_a_note_with_control_or_invisible_characters_is_refused(
    tenants: Tenants, note: str
) -> None:
    """A note is printed to operators' terminals (bakusoku albums codes) and kept in the audit
    log: an escape sequence there would rewrite what the operator sees."""
    album = new_album()
    refused = _share(tenants, album, tenants.a, note=note)
    error = assert_json_error(refused, 400, "request.invalid")
    assert error["field"] == "note"
    listed = httpx.get(f"{tenants.api}/v1/albums/{album}/codes", headers=bearer(tenants.a))
    assert listed.json()["items"] == []
    made = _share(tenants, album, tenants.a, note="クラス 3B — 運動会")
    assert made.status_code == 201 and made.json()["note"] == "クラス 3B — 運動会"
